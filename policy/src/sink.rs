//! The dangerous calls librasp guards, as the detectors see them.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

/// SQL dialect of a database sink, chosen from the client library or wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SqlDialect {
    /// SQLite (`[ident]`, `` `ident` ``, no backslash escapes).
    Sqlite,
    /// PostgreSQL (`$tag$…$tag$`, `E'…'`).
    Postgresql,
    /// MySQL and MariaDB (`#` comments, backslash escapes, `"…"` strings).
    Mysql,
    /// Unknown client: ANSI-ish.
    Generic,
}

/// One call at a sink, borrowed from the hook's arguments.
#[derive(Debug, Clone, Copy)]
pub enum Sink<'a> {
    /// A command line interpreted by a shell: `system`, `popen`, or `sh -c SCRIPT`.
    Shell {
        /// The hooked function (`system`, `popen`, `execve`…).
        function: &'a str,
        /// The shell script text.
        command: &'a str,
    },
    /// A program run with an argument vector and no shell in between (exec family, posix_spawn).
    Exec {
        /// The hooked function.
        function: &'a str,
        /// The program path (or name, for the `p` variants).
        path: &'a str,
        /// The argument vector, `argv[0]` included.
        argv: &'a [String],
    },
    /// A file opened by path (open family, fopen family).
    Open {
        /// The hooked function.
        function: &'a str,
        /// The path as passed by the application.
        path: &'a str,
        /// Whether the file is opened for writing or created.
        write: bool,
    },
    /// A shared library loaded by path.
    Dlopen {
        /// The path or file name passed to `dlopen`.
        path: &'a str,
    },
    /// An outbound connection.
    Connect {
        /// The address actually connected to.
        addr: IpAddr,
        /// The destination port.
        port: u16,
        /// The host name that `getaddrinfo` last resolved to `addr`, if any.
        host: Option<&'a str>,
    },
    /// SQL text sent to a database.
    Sql {
        /// The hooked function or protocol message (`sqlite3_prepare_v2`, `PQexec`, `pg.Query`…).
        function: &'a str,
        /// The dialect to tokenize with.
        dialect: SqlDialect,
        /// The SQL text.
        query: &'a str,
    },
}

/// The family of a sink, as named in policies and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// [`Sink::Shell`].
    Shell,
    /// [`Sink::Exec`].
    Exec,
    /// [`Sink::Open`].
    Open,
    /// [`Sink::Dlopen`].
    Dlopen,
    /// [`Sink::Connect`].
    Connect,
    /// [`Sink::Sql`].
    Sql,
}

impl Sink<'_> {
    /// The sink's family.
    pub fn kind(&self) -> SinkKind {
        match self {
            Sink::Shell { .. } => SinkKind::Shell,
            Sink::Exec { .. } => SinkKind::Exec,
            Sink::Open { .. } => SinkKind::Open,
            Sink::Dlopen { .. } => SinkKind::Dlopen,
            Sink::Connect { .. } => SinkKind::Connect,
            Sink::Sql { .. } => SinkKind::Sql,
        }
    }

    /// The hooked function's name.
    pub fn function(&self) -> &str {
        match self {
            Sink::Shell { function, .. }
            | Sink::Exec { function, .. }
            | Sink::Open { function, .. }
            | Sink::Sql { function, .. } => function,
            Sink::Dlopen { .. } => "dlopen",
            Sink::Connect { .. } => "connect",
        }
    }
}

impl SinkKind {
    /// The lowercase name used in policies and events.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Shell => "shell",
            SinkKind::Exec => "exec",
            SinkKind::Open => "open",
            SinkKind::Dlopen => "dlopen",
            SinkKind::Connect => "connect",
            SinkKind::Sql => "sql",
        }
    }
}

impl fmt::Display for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

//! Database drivers that speak the wire protocol themselves (PHP mysqlnd, PyMySQL, pg8000,
//! node-postgres, JDBC, statically linked clients such as the `mariadb` shell) never call a
//! client library: their SQL is read from the bytes the process writes to its outbound
//! connections, with the policy crate's PostgreSQL/MySQL recognisers ([`policy::wire`]).
//!
//! Every outbound connection gets a small recogniser at `connect`. Its first bytes (and, for
//! MySQL, whose server speaks first, the greeting it reads) classify it; once it is known not
//! to be a database its fd kind becomes [`FdKind::OutboundOther`] and later writes cost one
//! table lookup; once known to be one it becomes [`FdKind::OutboundDb`] and its reads (result
//! rows) are no longer looked at. SQL found in a write is checked before the write happens; a refused statement
//! fails the write with EACCES, so the driver raises its normal I/O error (the connection is
//! then lost — the driver cannot be asked to fail one statement). TLS-encrypted database
//! connections are opaque and not inspected.

use policy::Sink;
use policy::wire::{Protocol, SqlMessage, WireState};

use crate::fdslots::FdSlots;
use crate::fdtable::{self, FdKind};
use crate::sinks::{self, Delivery, Verdict};
use crate::trylock::TryLock;

/// One outbound connection's recogniser.
type Slot = TryLock<WireState>;

static SLOTS: FdSlots<Slot> = FdSlots::new();

fn slot(fd: i32) -> Option<&'static Slot> {
    SLOTS.get_or_insert_with(fd, || Slot::new(WireState::new()))
}

/// `fd` was just connected: start recognising its traffic afresh.
pub(crate) fn connected(fd: i32) {
    if let Some(s) = slot(fd) {
        s.with(|st| *st = WireState::new());
    }
}

/// The process is about to send `bytes` on outbound `fd`: `Verdict::Block` when a statement
/// in them must be refused. Decided on a copy of the recogniser, because the kernel may take
/// only part of the write and the application then sends the rest again; [`sent`] advances
/// the real one by what was actually written.
pub(crate) fn before_send(fd: i32, bytes: &[u8]) -> Verdict {
    let Some(s) = slot(fd) else {
        return Verdict::Allow;
    };
    let Some(messages) = s.with(|st| {
        let mut probe = st.clone();
        probe.on_send(bytes)
    }) else {
        return Verdict::Allow;
    };
    let mut verdict = Verdict::Allow;
    for m in &messages {
        let sink = Sink::Sql {
            function: function_name(m),
            dialect: m.dialect(),
            query: &m.sql,
        };
        if sinks::check(&sink, Delivery::Queued) == Verdict::Block {
            verdict = Verdict::Block;
        }
    }
    verdict
}

/// `bytes` were written to outbound `fd`.
pub(crate) fn sent(fd: i32, bytes: &[u8]) {
    let Some(s) = slot(fd) else { return };
    if let Some(protocol) = s.with(|st| {
        st.on_send(bytes);
        settled(st)
    }) {
        record(fd, protocol);
    }
}

/// Once classified, the connection's fd kind says what later calls must do: nothing (not a
/// database), or check writes only (a database: its reads are result rows).
fn settled(st: &WireState) -> Option<FdKind> {
    if st.is_settled_not_database() {
        Some(FdKind::OutboundOther)
    } else if matches!(st.protocol(), Protocol::Postgres | Protocol::Mysql) {
        Some(FdKind::OutboundDb)
    } else {
        None
    }
}

fn record(fd: i32, kind: Option<FdKind>) {
    if let Some(kind) = kind {
        fdtable::set(fd, kind);
    }
}

/// The process received `bytes` on an outbound `fd` not yet classified (MySQL's server speaks
/// first).
pub(crate) fn on_recv(fd: i32, bytes: &[u8]) {
    let Some(s) = slot(fd) else { return };
    if let Some(kind) = s.with(|st| {
        st.on_recv(bytes);
        settled(st)
    }) {
        record(fd, kind);
    }
}

/// The sink function named in events: the protocol message that carried the SQL.
fn function_name(m: &SqlMessage) -> &'static str {
    match (m.protocol, m.kind) {
        (Protocol::Postgres, "Parse") => "postgres-wire:Parse",
        (Protocol::Postgres, _) => "postgres-wire:Query",
        (_, "COM_STMT_PREPARE") => "mysql-wire:COM_STMT_PREPARE",
        _ => "mysql-wire:COM_QUERY",
    }
}

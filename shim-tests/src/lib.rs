//! Harness for the shim tests: run real programs under `LD_PRELOAD=librasp.so` with a private
//! policy and event log, talk to them over loopback, and read what the agent reported.
//!
//! The agent under test is `$RASP_LIB`, or `target/debug/librasp.so` of this workspace
//! (`make test` builds it first). Victim C programs are compiled by this crate's build script.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a victim may take to start or answer before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The agent library under test.
pub fn agent() -> PathBuf {
    if let Some(p) = std::env::var_os("RASP_LIB") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let lib = target.join("debug/librasp.so");
    assert!(
        lib.exists(),
        "{} is missing: run `cargo build -p librasp-agent` (make test does)",
        lib.display()
    );
    lib
}

/// A compiled victim program (from `victims/NAME.c`).
pub fn victim(name: &str) -> PathBuf {
    Path::new(env!("VICTIM_DIR")).join(name)
}

/// A victim script's source path (from `victims/`).
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("victims")
        .join(name)
}

/// The real Python interpreter (not a version-manager shim script, which would run a dozen
/// shell processes under the agent before Python starts).
pub fn python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is installed");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The Python of the project's virtual environment (`.venv`, made by `make deps`), which holds
/// the database drivers in `shim-tests/requirements.txt`.
pub fn venv_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(p.exists(), "{} is missing: run `make deps`", p.display());
    p
}

/// Panics with a clear message unless a server accepts TCP connections on 127.0.0.1:`port`.
/// `.ci/run` starts PostgreSQL and MariaDB; a test never passes silently without its server.
pub fn require_server(name: &str, port: u16) {
    if TcpStream::connect(("127.0.0.1", port)).is_err() {
        panic!(
            "{name} is not reachable on 127.0.0.1:{port}: run `make services` (scripts/start-services.sh)"
        );
    }
}

/// A private directory with a policy file, an event log and a document root.
pub struct Sandbox {
    /// The sandbox root (removed on drop).
    pub dir: PathBuf,
    /// The policy file the agent reads.
    pub policy: PathBuf,
    /// The event log the policy names.
    pub events: PathBuf,
    /// A directory the victims serve files from; holds `hello.txt`.
    pub docroot: PathBuf,
}

impl Sandbox {
    /// Creates a sandbox whose policy is `mode = "<mode>"`, `extra` TOML, and the telemetry
    /// path.
    pub fn new(mode: &str, extra: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "librasp-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let docroot = dir.join("www/files");
        std::fs::create_dir_all(&docroot).expect("create sandbox");
        std::fs::write(docroot.join("hello.txt"), "hello file\n").expect("write docroot file");
        let events = dir.join("events.jsonl");
        let policy = dir.join("policy.toml");
        let sb = Sandbox {
            dir,
            policy,
            events,
            docroot,
        };
        sb.write_policy(mode, extra);
        sb
    }

    /// Rewrites the policy file.
    pub fn write_policy(&self, mode: &str, extra: &str) {
        let text = format!(
            "mode = \"{mode}\"\n{extra}\n[telemetry]\npath = \"{}\"\n",
            self.events.display()
        );
        std::fs::write(&self.policy, text).expect("write policy");
    }

    /// A command for `program` with the agent preloaded and this sandbox's policy.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("LD_PRELOAD", agent())
            .env("RASP_POLICY", &self.policy)
            .env_remove("RASP_MODE");
        cmd
    }

    /// The multi-threaded C victim server (`victims/http_server.c`) under the agent.
    pub fn c_server(&self) -> Server {
        let mut cmd = self.command(victim("http_server"));
        cmd.arg(&self.docroot);
        Server::start(cmd)
    }

    /// The Python victim app (`victims/app.py`) under the agent.
    pub fn py_server(&self) -> Server {
        let mut cmd = self.command(python());
        cmd.arg(script("app.py")).arg(&self.docroot);
        Server::start(cmd)
    }

    /// Every event written so far.
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Detection events (alerts and blocks; not lifecycle events).
    pub fn detections(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"]["kind"] == "alert")
            .collect()
    }

    /// Waits until a detection matching `pred` is written; panics after [`PATIENCE`].
    pub fn wait_detection(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some(e) = self.detections().into_iter().find(|e| pred(e)) {
                return e;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "no detection {what}; events: {:#?}",
                self.events()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Gives the asynchronous writer time to flush, then asserts there is no detection.
    pub fn assert_no_detection(&self, why: &str) {
        std::thread::sleep(Duration::from_millis(300));
        let d = self.detections();
        assert!(d.is_empty(), "{why}: unexpected detections {d:#?}");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server started under the agent; killed on drop.
pub struct Server {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
}

impl Server {
    /// Starts `cmd`, which must print `PORT <n>` on stdout once listening.
    pub fn start(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("victim starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                let port = line
                    .strip_prefix("PORT ")
                    .and_then(|p| p.trim().parse::<u16>().ok());
                if let Some(port) = port {
                    let _ = tx.send(port);
                }
            }
        });
        match rx.recv_timeout(PATIENCE) {
            Ok(port) => Server { child, port },
            Err(_) => {
                let _ = child.kill();
                panic!("victim did not report its port within {PATIENCE:?}");
            }
        }
    }

    /// Sends `GET path` on a new connection and returns the response.
    pub fn get(&self, path: &str) -> Response {
        http(
            self.port,
            &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    /// Status code (0 if the connection closed without a complete header).
    pub status: u16,
    /// The body.
    pub body: String,
}

/// Sends raw request bytes to 127.0.0.1:`port` and reads one response.
pub fn http(port: u16, request: &str) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to victim");
    s.set_read_timeout(Some(PATIENCE)).expect("set timeout");
    s.write_all(request.as_bytes()).expect("send request");
    read_response(&mut s)
}

/// Reads one response (by Content-Length, or to EOF) from `s`.
pub fn read_response(s: &mut TcpStream) -> Response {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, length) = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let len = head.lines().find_map(|l| {
                l.strip_prefix("content-length:")
                    .and_then(|v| v.trim().parse::<usize>().ok())
            });
            break (i + 4, len);
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => {
                let body = String::from_utf8_lossy(&buf).into_owned();
                return Response { status: 0, body };
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    while length.is_none_or(|l| buf.len() < head_end + l) {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let status = String::from_utf8_lossy(&buf[..head_end])
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    Response { status, body }
}

/// Percent-encodes a query value.
pub fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

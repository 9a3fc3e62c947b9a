//! The event pipeline: a bounded channel to one background writer thread per process.
//!
//! The application never waits: [`emit`] is a `try_send`; a full queue drops the event and
//! counts it. The writer thread starts lazily on the first event of each process (so plain
//! commands that never detect anything stay single-threaded), and again in a forked child —
//! the child never touches the parent's channel, whose internal state it cannot trust; the old
//! pipeline is simply leaked. Events that must survive an `exec` or `_exit` are written
//! synchronously from the calling thread with [`emit_now`] (one `O_APPEND` write per line, so
//! lines never interleave). At exit, [`flush`] waits a bounded time for the queue to drain.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::guard::Guard;
use crate::{diag, lifecycle, settings, stats};

enum Msg {
    Line(String),
    Flush(Arc<AtomicBool>),
}

struct Pipeline {
    pid: i32,
    tx: Sender<Msg>,
}

static PIPELINE: AtomicPtr<Pipeline> = AtomicPtr::new(std::ptr::null_mut());
static CREATING: AtomicBool = AtomicBool::new(false);

/// Fork child: forget the parent's pipeline (async-signal-safe: two atomic stores).
pub(crate) fn after_fork() {
    PIPELINE.store(std::ptr::null_mut(), Ordering::Release);
    CREATING.store(false, Ordering::Release);
}

fn current() -> Option<&'static Pipeline> {
    // SAFETY: non-null pointers come from `Box::into_raw` below and are never freed.
    let p = unsafe { PIPELINE.load(Ordering::Acquire).as_ref() }?;
    (p.pid == lifecycle::pid()).then_some(p)
}

fn pipeline() -> Option<&'static Pipeline> {
    if let Some(p) = current() {
        return Some(p);
    }
    if CREATING.swap(true, Ordering::AcqRel) {
        return None; // another thread is starting it; this event is dropped and counted
    }
    let queue = settings::loaded().map_or(4096, |l| l.engine.policy().telemetry.queue.max(16));
    let (tx, rx) = crossbeam_channel::bounded(queue);
    let started = std::thread::Builder::new()
        .name("librasp-events".into())
        .spawn(move || writer(rx));
    let result = match started {
        Ok(_) => {
            let p = Box::into_raw(Box::new(Pipeline {
                pid: lifecycle::pid(),
                tx,
            }));
            PIPELINE.store(p, Ordering::Release);
            // SAFETY: just created from a Box and never freed.
            Some(unsafe { &*p })
        }
        Err(e) => {
            diag::say(&format!("cannot start the event writer: {e}"));
            None
        }
    };
    CREATING.store(false, Ordering::Release);
    result
}

/// Queues an event line; never blocks.
pub(crate) fn emit(line: String) {
    let Some(p) = pipeline() else {
        stats::EVENTS_DROPPED.bump();
        return;
    };
    match p.tx.try_send(Msg::Line(line)) {
        Ok(()) => {}
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => stats::EVENTS_DROPPED.bump(),
    }
}

/// Writes an event line synchronously from the calling thread (exec sinks, forked children
/// about to `_exit`).
pub(crate) fn emit_now(line: &str) {
    let mut out = Output::open();
    out.write_line(line);
}

/// Writes a lifecycle event (agent start) synchronously, to the log file only: unlike a
/// detection, it is not worth printing on the stderr of every process when the log is missing.
pub(crate) fn emit_lifecycle(line: &str) {
    let out = Output::open();
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    if let Some(mut f) = out.file {
        let _ = f.write_all(text.as_bytes());
    }
    if out.also_stderr {
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}

/// Waits up to `timeout` for queued events to be written.
pub(crate) fn flush(timeout: Duration) {
    let Some(p) = current() else { return };
    if p.tx.is_empty() {
        return;
    }
    let done = Arc::new(AtomicBool::new(false));
    if p.tx.try_send(Msg::Flush(Arc::clone(&done))).is_err() {
        return;
    }
    let start = Instant::now();
    while !done.load(Ordering::Acquire) && start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn writer(rx: Receiver<Msg>) {
    Guard::enter_forever();
    let mut out = Output::open();
    for msg in rx {
        match msg {
            Msg::Line(line) => out.write_line(&line),
            Msg::Flush(done) => done.store(true, Ordering::Release),
        }
    }
}

/// Where event lines go: the policy's file (reopened if rotated away) and/or stderr.
struct Output {
    path: PathBuf,
    file: Option<File>,
    also_stderr: bool,
}

impl Output {
    fn open() -> Self {
        let (path, also_stderr) = settings::loaded().map_or_else(
            || (PathBuf::from("/var/log/librasp/events.jsonl"), false),
            |l| {
                let t = &l.engine.policy().telemetry;
                (t.path.clone(), t.stderr)
            },
        );
        let file = open_log(&path);
        Self {
            path,
            file,
            also_stderr,
        }
    }

    fn write_line(&mut self, line: &str) {
        self.reopen_if_rotated();
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        let wrote = self
            .file
            .as_mut()
            .is_some_and(|f| f.write_all(text.as_bytes()).is_ok());
        if !wrote {
            stats::FAIL_OPEN.bump();
        }
        if self.also_stderr || !wrote {
            // Falls back to stderr so a detection is never lost silently.
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
    }

    /// logrotate moves the file away: when the path no longer names our inode, reopen.
    fn reopen_if_rotated(&mut self) {
        let current = std::fs::symlink_metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        let ours = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| (m.dev(), m.ino()));
        if current.is_none() || current != ours {
            self.file = open_log(&self.path);
        }
    }
}

/// Opens the event log append-only, 0640, refusing to follow a symlink planted in its place.
fn open_log(path: &Path) -> Option<File> {
    let r = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path);
    match r {
        Ok(f) => Some(f),
        Err(e) => {
            diag::say(&format!("cannot open event log {}: {e}", path.display()));
            None
        }
    }
}

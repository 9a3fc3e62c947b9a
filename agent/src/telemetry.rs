//! The event pipeline: a bounded channel to one background writer thread per process.
//!
//! The application never waits: [`emit`] is a `try_send`; a full queue drops the event and
//! counts it. The writer thread starts lazily — on the first event, or the first inbound
//! request so that servers report periodic `stats` — so plain commands that never serve or
//! detect anything stay single-threaded. A forked child starts its own on first use and never
//! touches the parent's channel, whose internal state it cannot trust (the old pipeline is
//! simply leaked). Events that must survive an `exec` or `_exit` are written synchronously
//! from the calling thread with [`emit_now`] (one `O_APPEND` write per line, so lines never
//! interleave). At exit, [`at_exit`] queues a final `stats` and waits a bounded time.
//!
//! Outputs, from the policy's `[telemetry]`: the JSON-lines file (created 0640, never through
//! a symlink, reopened when logrotate moves it away), stderr (also used, and counted, when the
//! file cannot be written), and syslog ([`crate::syslog`]).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::event::{self, Record};
use crate::guard::Guard;
use crate::syslog::Syslog;
use crate::{diag, lifecycle, settings, stats};

enum Msg {
    Record(Record),
    Flush(Arc<AtomicBool>),
}

struct Pipeline {
    pid: i32,
    tx: Sender<Msg>,
    /// Events queued but not yet written. An empty channel is not enough to know the log is
    /// up to date: the writer may hold an event it has taken but not written yet.
    pending: &'static AtomicUsize,
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
    let pending: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    let started = std::thread::Builder::new()
        .name("librasp-events".into())
        .spawn(move || writer(rx, pending));
    let result = match started {
        Ok(_) => {
            let p = Box::into_raw(Box::new(Pipeline {
                pid: lifecycle::pid(),
                tx,
                pending,
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

/// Starts the writer thread if this process has none (servers: for periodic `stats`).
pub(crate) fn ensure_started() {
    if current().is_none() {
        let _ = pipeline();
    }
}

/// Queues an event; never blocks.
pub(crate) fn emit(record: Record) {
    let Some(p) = pipeline() else {
        stats::EVENTS_DROPPED.bump();
        return;
    };
    p.pending.fetch_add(1, Ordering::AcqRel);
    match p.tx.try_send(Msg::Record(record)) {
        Ok(()) => {}
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
            p.pending.fetch_sub(1, Ordering::AcqRel);
            stats::EVENTS_DROPPED.bump();
        }
    }
}

/// Writes an event synchronously from the calling thread (exec sinks, forked children about to
/// `_exit`).
pub(crate) fn emit_now(record: &Record) {
    let mut out = Output::open();
    out.write(record);
}

/// Writes a lifecycle event (agent start) synchronously, to the log file only: unlike a
/// detection, it is not worth printing on the stderr of every process when the log is missing.
pub(crate) fn emit_lifecycle(record: &Record) {
    let out = Output::open();
    let text = line_of(record);
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
    if p.pending.load(Ordering::Acquire) == 0 {
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

/// Process exit: a last `stats` from processes that ran a writer, then a bounded flush.
pub(crate) fn at_exit(timeout: Duration) {
    if current().is_none() {
        return;
    }
    if let Some(loaded) = settings::loaded() {
        if loaded.engine.policy().telemetry.stats_interval_secs > 0 {
            emit(event::stats(loaded, "exit"));
        }
    }
    flush(timeout);
}

fn writer(rx: Receiver<Msg>, pending: &AtomicUsize) {
    Guard::enter_forever();
    let mut out = Output::open();
    let interval =
        settings::loaded().map_or(60, |l| l.engine.policy().telemetry.stats_interval_secs);
    let every = (interval > 0).then(|| Duration::from_secs(interval));
    let mut next_stats = every.map(|d| Instant::now() + d);
    loop {
        let msg = match next_stats {
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match rx.recv() {
                Ok(msg) => Some(msg),
                Err(_) => return,
            },
        };
        match msg {
            Some(Msg::Record(record)) => {
                out.write(&record);
                pending.fetch_sub(1, Ordering::AcqRel);
            }
            Some(Msg::Flush(done)) => done.store(true, Ordering::Release),
            None => {
                if let Some(loaded) = settings::loaded() {
                    out.write(&event::stats(loaded, "interval"));
                }
                next_stats = every.map(|d| Instant::now() + d);
            }
        }
    }
}

fn line_of(record: &Record) -> String {
    let mut text = String::with_capacity(record.text.len() + 1);
    text.push_str(&record.text);
    text.push('\n');
    text
}

/// Where event lines go: the policy's file (reopened if rotated away), stderr, syslog.
struct Output {
    path: PathBuf,
    file: Option<File>,
    also_stderr: bool,
    syslog: Option<Syslog>,
}

impl Output {
    fn open() -> Self {
        let telemetry = settings::loaded().map(|l| &l.engine.policy().telemetry);
        let path = telemetry.map_or_else(
            || PathBuf::from("/var/log/librasp/events.jsonl"),
            |t| t.path.clone(),
        );
        let also_stderr = telemetry.is_some_and(|t| t.stderr);
        let syslog = telemetry.and_then(|t| t.syslog.as_ref()).map(Syslog::new);
        let file = open_log(&path);
        Self {
            path,
            file,
            also_stderr,
            syslog,
        }
    }

    fn write(&mut self, record: &Record) {
        self.reopen_if_rotated();
        let text = line_of(record);
        let wrote = self
            .file
            .as_mut()
            .is_some_and(|f| f.write_all(text.as_bytes()).is_ok());
        if !wrote {
            stats::LOG_WRITE_ERRORS.bump();
        }
        if self.also_stderr || !wrote {
            // Falls back to stderr so a detection is never lost silently.
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
        if let Some(syslog) = &mut self.syslog {
            syslog.send(record);
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

//! Agent diagnostics: a `librasp:` line on stderr, off unless `RASP_DEBUG=1`.
//!
//! Written with a raw `write(2)` syscall: no stdio buffers, no locks, no re-entry into our hooks.

use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns diagnostics on (from the environment snapshot).
pub(crate) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Writes `librasp: <msg>` to stderr when diagnostics are on.
pub(crate) fn say(msg: &str) {
    if ENABLED.load(Ordering::Relaxed) {
        write_stderr(msg);
    }
}

/// Writes `librasp: <msg>` to stderr unconditionally (configuration errors an operator must see).
pub(crate) fn warn(msg: &str) {
    write_stderr(msg);
}

fn write_stderr(msg: &str) {
    let line = format!("librasp: {msg}\n");
    // SAFETY: the buffer is valid for its length; a failed or short write is ignored.
    unsafe { libc::syscall(libc::SYS_write, 2, line.as_ptr(), line.len()) };
}

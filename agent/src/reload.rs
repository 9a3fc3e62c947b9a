//! Live policy: edits apply without restarting the application.
//!
//! There is no watcher thread (many protected processes are short-lived commands that should
//! stay single-threaded). Instead the work the agent already does — every sink check and every
//! new request — calls [`maybe_reload`], which at most once per second compares the policy
//! file's metadata with what was loaded: one atomic load on the fast path, one `stat` per
//! second otherwise. A changed file is parsed and compiled on the calling thread and swapped
//! in atomically ([`settings::install`]); it takes effect for the next decision.
//!
//! Failure keeps the last good policy: an invalid edit, or a file that became unsafe to trust
//! (when running as root: not owned by root, or writable by group or others) is reported as a
//! `policy_error` event naming `file:line:col` and is otherwise ignored. A file deleted while
//! running also keeps the last good policy (deleting a file must not silently switch blocking
//! off); at start, a missing file means built-in defaults.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::capture::now_ms;
use crate::settings::{self, Loaded, PolicySource};
use crate::{event, telemetry};

/// How often the policy file's metadata is compared, at most.
const CHECK_EVERY_MS: u64 = 1000;

/// Identity and version of the file last seen: (dev, inode, size, mtime ns, ctime ns).
type Stamp = (u64, u64, u64, i128, i128);

static NEXT_CHECK_MS: AtomicU64 = AtomicU64::new(0);
static LAST_STAMP: Mutex<Option<Stamp>> = Mutex::new(None);

fn stamp_of(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
    Some((
        m.dev(),
        m.ino(),
        m.size(),
        ns(m.mtime(), m.mtime_nsec()),
        ns(m.ctime(), m.ctime_nsec()),
    ))
}

/// Refuses a policy file that someone other than root could have written, when we are root.
pub(crate) fn check_trust(path: &Path) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let Ok(m) = std::fs::metadata(path) else {
        return Ok(());
    };
    if m.uid() != 0 {
        return Err(format!(
            "{}: not owned by root (uid {}); refusing it",
            path.display(),
            m.uid()
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Err(format!(
            "{}: writable by group or others (mode {:o}); refusing it",
            path.display(),
            m.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Loads the policy at start: the file, defaults when it is missing, defaults plus an error
/// when it is invalid or untrusted.
pub(crate) fn load_initial(path: &Path) -> (Loaded, Result<&'static str, String>) {
    remember(stamp_of(path));
    if let Err(why) = check_trust(path) {
        return (settings::defaults(), Err(why));
    }
    match settings::read_policy(path) {
        PolicySource::File(p, version) => (settings::compile(*p, version), Ok("policy file")),
        PolicySource::Defaults => (settings::defaults(), Ok("built-in defaults")),
        PolicySource::Invalid(why) => (settings::defaults(), Err(why)),
    }
}

fn remember(stamp: Option<Stamp>) {
    if let Ok(mut last) = LAST_STAMP.try_lock() {
        *last = stamp;
    }
}

/// Reloads the policy if its file changed; cheap enough to call on every sink check.
pub(crate) fn maybe_reload() {
    let now = now_ms();
    let next = NEXT_CHECK_MS.load(Ordering::Relaxed);
    if now < next
        || NEXT_CHECK_MS
            .compare_exchange(
                next,
                now + CHECK_EVERY_MS,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_err()
    {
        return;
    }
    let Some(info) = settings::info() else { return };
    let path = info.policy_path.as_path();
    let stamp = stamp_of(path);
    {
        let Ok(mut last) = LAST_STAMP.try_lock() else {
            return;
        };
        if *last == stamp {
            return;
        }
        *last = stamp;
    }
    if stamp.is_none() {
        report_error(&format!(
            "{}: file removed; keeping the last good policy",
            path.display()
        ));
        return;
    }
    if let Err(why) = check_trust(path) {
        report_error(&format!("{why}; keeping the last good policy"));
        return;
    }
    match settings::read_policy(path) {
        PolicySource::File(p, version) => {
            let loaded = settings::compile(*p, version);
            let line = event::policy_loaded(&loaded);
            settings::install(loaded);
            telemetry::emit(line);
        }
        PolicySource::Defaults => {}
        PolicySource::Invalid(why) => report_error(&format!("{why}; keeping the last good policy")),
    }
}

fn report_error(message: &str) {
    crate::diag::say(message);
    if let Some(loaded) = settings::loaded() {
        telemetry::emit(event::policy_error(loaded, message));
    }
}

//! A lock that never waits: a bounded spin, then give up.
//!
//! Hooks may run in signal handlers, and a child forked while another thread held a lock
//! inherits it held forever. So agent state touched from hooks sits behind this lock, held
//! only for memcpy-sized work; a caller that cannot get it within a few hundred spins skips
//! its work (fail open, counted) instead of blocking the application.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::stats;

/// Spins before giving up.
const SPINS: usize = 256;

/// `T` behind a non-blocking lock.
pub(crate) struct TryLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reached through `with`, which holds `locked`; `T: Send` because the
// value is touched from whichever thread takes the lock.
unsafe impl<T: Send> Sync for TryLock<T> {}

impl<T> TryLock<T> {
    /// An unlocked `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` with the lock held, or returns `None` (counted as fail-open) after a bounded
    /// spin.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        for _ in 0..SPINS {
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: we hold the lock, so no other reference to `value` exists.
                let r = f(unsafe { &mut *self.value.get() });
                self.locked.store(false, Ordering::Release);
                return Some(r);
            }
            std::hint::spin_loop();
        }
        stats::FAIL_OPEN.bump();
        None
    }
}

//! Process-wide counters, reported in `stats` events. Relaxed atomics: counts, not ordering.

use std::sync::atomic::{AtomicU64, Ordering};

/// One counter.
pub(crate) struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Adds one.
    #[inline]
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sink calls that were checked against the policy.
pub(crate) static SINK_CHECKS: Counter = Counter::new();
/// Findings reported (alert or block).
pub(crate) static DETECTIONS: Counter = Counter::new();
/// Calls refused.
pub(crate) static BLOCKS: Counter = Counter::new();
/// Events dropped because the queue was full or the writer could not start.
pub(crate) static EVENTS_DROPPED: Counter = Counter::new();
/// Panics caught in hooks (each one failed open).
pub(crate) static PANICS: Counter = Counter::new();
/// Other internal errors that made a hook fail open (lock contention, fd out of range…).
pub(crate) static FAIL_OPEN: Counter = Counter::new();
/// Request bytes not captured because the connection buffer was full.
pub(crate) static CAPTURE_TRUNCATED: Counter = Counter::new();

//! Process-wide counters, reported in `stats` events. Relaxed atomics: counts, not ordering.
//! Nothing here is bumped on the plain read path (a per-read atomic would bounce a cache line
//! between every thread of a busy server): reads are counted per request.

use std::sync::atomic::{AtomicU64, Ordering};

use policy::sink::SinkKind;
use serde_json::{Value, json};

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

    /// Current value.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Requests captured on inbound connections.
pub(crate) static REQUESTS: Counter = Counter::new();
/// Sink calls checked, by family (shell, exec, open, dlopen, connect, sql).
static CHECKS_BY_FAMILY: [Counter; 6] = [const { Counter::new() }; 6];
/// Findings reported (alert or block).
pub(crate) static DETECTIONS: Counter = Counter::new();
/// Calls refused.
pub(crate) static BLOCKS: Counter = Counter::new();
/// Events dropped because the queue was full or the writer could not start.
pub(crate) static EVENTS_DROPPED: Counter = Counter::new();
/// Detection events held back by the per-rule rate limit.
pub(crate) static EVENTS_SUPPRESSED: Counter = Counter::new();
/// Panics caught in hooks (each one failed open).
pub(crate) static PANICS: Counter = Counter::new();
/// Other internal errors that made a hook fail open (lock contention, fd out of range…).
pub(crate) static FAIL_OPEN: Counter = Counter::new();
/// Event lines that could not be written to the log file (stderr was used instead).
pub(crate) static LOG_WRITE_ERRORS: Counter = Counter::new();
/// Request bytes not captured because the connection buffer was full.
pub(crate) static CAPTURE_TRUNCATED: Counter = Counter::new();

const FAMILIES: [SinkKind; 6] = [
    SinkKind::Shell,
    SinkKind::Exec,
    SinkKind::Open,
    SinkKind::Dlopen,
    SinkKind::Connect,
    SinkKind::Sql,
];

/// Counts one sink check of `kind`.
#[inline]
pub(crate) fn checked(kind: SinkKind) {
    if let Some(c) = FAMILIES
        .iter()
        .position(|k| *k == kind)
        .and_then(|i| CHECKS_BY_FAMILY.get(i))
    {
        c.bump();
    }
}

/// Every counter, as the `librasp.stats` object of a `stats` event.
pub(crate) fn snapshot() -> Value {
    let by_family: serde_json::Map<String, Value> = FAMILIES
        .iter()
        .zip(CHECKS_BY_FAMILY.iter())
        .map(|(k, c)| (k.as_str().to_owned(), json!(c.get())))
        .collect();
    json!({
        "requests": REQUESTS.get(),
        "sink_checks": by_family,
        "detections": DETECTIONS.get(),
        "blocks": BLOCKS.get(),
        "events_dropped": EVENTS_DROPPED.get(),
        "events_suppressed": EVENTS_SUPPRESSED.get(),
        "internal_errors": PANICS.get(),
        "fail_open": FAIL_OPEN.get(),
        "log_write_errors": LOG_WRITE_ERRORS.get(),
        "capture_truncated": CAPTURE_TRUNCATED.get(),
    })
}

//! The decision point shared by every sink hook: correlate, ask the policy engine, report,
//! and tell the hook whether to refuse the call.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use policy::engine::{Decision, RequestContext};
use policy::{Action, Sink};

use crate::{capture, event, settings, stats, telemetry};

/// The last reported detection (signature, time): a program that retries one call — CPython's
/// subprocess tries `execv` on every PATH entry — reports it once, not once per attempt.
static LAST_REPORTED: Mutex<Option<(u64, u64)>> = Mutex::new(None);

/// How long an identical detection stays suppressed.
const REPEAT_WINDOW_MS: u64 = 2000;

/// True when this detection repeats the previous one within the window.
fn is_repeat(sink: &Sink<'_>, decision: &Decision) -> bool {
    let mut h = DefaultHasher::new();
    sink.kind().hash(&mut h);
    for f in &decision.findings {
        f.rule_id.hash(&mut h);
        f.input.as_ref().map(|i| (&i.origin, &i.value)).hash(&mut h);
    }
    let sig = h.finish();
    let now = capture::now_ms();
    let Ok(mut last) = LAST_REPORTED.try_lock() else {
        return false;
    };
    let repeat =
        matches!(*last, Some((s, t)) if s == sig && now.saturating_sub(t) < REPEAT_WINDOW_MS);
    *last = Some((sig, now));
    repeat
}

/// What the hook must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Call the real function.
    Allow,
    /// Refuse the call with the family's error contract.
    Block,
}

/// How the event of a detection is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Through the background writer (the application never waits).
    Queued,
    /// Written before returning: the call replaces or ends the process image (exec family),
    /// so a queued event would be lost.
    Immediate,
}

/// Checks one sink call against the policy and reports any finding.
pub(crate) fn check(sink: &Sink<'_>, delivery: Delivery) -> Verdict {
    match check_detailed(sink, delivery) {
        Some(_) => Verdict::Block,
        None => Verdict::Allow,
    }
}

/// Like [`check`]; when the call must be refused, returns the id of the deciding rule (the
/// database hooks put it in the error the application sees).
pub(crate) fn check_detailed(sink: &Sink<'_>, delivery: Delivery) -> Option<String> {
    crate::reload::maybe_reload();
    let loaded = settings::loaded()?;
    stats::SINK_CHECKS.bump();
    let requests = capture::correlated(&loaded.engine);
    let contexts: Vec<&RequestContext> = requests.iter().map(|r| &*r.ctx).collect();
    let decision = loaded.engine.decide(sink, &contexts);
    if decision.action == Action::Allow {
        return None;
    }
    stats::DETECTIONS.bump();
    if !is_repeat(sink, &decision) {
        let request = decision.request.and_then(|i| requests.get(i));
        let line = event::detection(sink, &decision, request, loaded);
        match delivery {
            Delivery::Queued => telemetry::emit(line),
            Delivery::Immediate => telemetry::emit_now(&line),
        }
    }
    if decision.action == Action::Block {
        stats::BLOCKS.bump();
        decision.findings.first().map(|f| f.rule_id.to_string())
    } else {
        None
    }
}

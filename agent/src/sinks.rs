//! The decision point shared by every sink hook: correlate, ask the policy engine, report,
//! and tell the hook whether to refuse the call.
//!
//! Reporting is bounded twice: an identical detection repeated within two seconds (CPython's
//! subprocess tries `execv` on every PATH entry) is reported once, and each rule may report at
//! most `telemetry.rate_limit.burst` events per `per_secs` window — the rest are counted and
//! summarised in one `rate_limited` event when the window closes. Blocking is never limited.
//!
//! Responses (the policy's `response` for the deciding detector or rule): `deny` fails the
//! call with its errno; `drop-connection` also shuts down the inbound connection that carried
//! the input, so the attacker gets nothing back; `respond-403` first writes a minimal 403 on
//! it (only when the application has not started answering); `kill` writes the event, then
//! ends the process with SIGKILL. The connection is shut down, never closed: the fd stays the
//! application's, and its next write simply fails.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use policy::engine::{Decision, RequestContext};
use policy::{Action, Response, Sink};

use crate::settings::Loaded;
use crate::{capture, event, settings, stack, stats, telemetry};

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

thread_local! {
    /// The errno of this thread's latest refusal, read by the hook right after [`check`].
    static REFUSAL_ERRNO: Cell<i32> = const { Cell::new(libc::EACCES) };
}

/// The errno a refused call must fail with (EACCES unless the policy says otherwise).
pub(crate) fn refusal_errno() -> i32 {
    REFUSAL_ERRNO.with(Cell::get)
}

/// The last reported detection (signature, time).
static LAST_REPORTED: Mutex<Option<(u64, u64)>> = Mutex::new(None);

/// How long an identical detection stays suppressed.
const REPEAT_WINDOW_MS: u64 = 2000;

/// One rule's rate-limit window: (start ms, events reported, events suppressed).
type Window = (u64, u32, u64);

/// Per-rule windows, by rule id.
static WINDOWS: Mutex<Option<HashMap<String, Window>>> = Mutex::new(None);

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
    stats::checked(sink.kind());
    let requests = capture::correlated(&loaded.engine);
    let contexts: Vec<&RequestContext> = requests.iter().map(|r| &*r.ctx).collect();
    let decision = loaded.engine.decide(sink, &contexts);
    if decision.action == Action::Allow {
        return None;
    }
    stats::DETECTIONS.bump();
    let request = decision.request.and_then(|i| requests.get(i));
    let blocked = decision.action == Action::Block;
    // A kill must not lose its event: write it synchronously whatever the sink.
    let delivery = if blocked && decision.response == Response::Kill {
        Delivery::Immediate
    } else {
        delivery
    };
    if !is_repeat(sink, &decision) && within_rate(loaded, &decision) {
        if let Some(record) = event::detection(sink, &decision, request, loaded, stack::capture()) {
            match delivery {
                Delivery::Queued => telemetry::emit(record),
                Delivery::Immediate => telemetry::emit_now(&record),
            }
        }
    }
    if !blocked {
        return None;
    }
    stats::BLOCKS.bump();
    let errno = match decision.response {
        Response::Deny { errno } => errno,
        _ => libc::EACCES,
    };
    REFUSAL_ERRNO.with(|e| e.set(errno));
    respond(decision.response, request.map_or(-1, |r| r.fd));
    decision.findings.first().map(|f| f.rule_id.to_string())
}

/// Carries out a response beyond failing the call.
fn respond(response: Response, fd: i32) {
    match response {
        Response::Deny { .. } => {}
        Response::DropConnection => shutdown(fd),
        Response::Respond403 => {
            if fd >= 0 && !capture::answered(fd) {
                let body = "Forbidden\n";
                let reply = format!(
                    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                // SAFETY: writing our own buffer to the connection's fd; a short or failed write
                // only means the peer sees less.
                unsafe { libc::write(fd, reply.as_ptr().cast(), reply.len()) };
            }
            shutdown(fd);
        }
        Response::Kill => {
            telemetry::flush(std::time::Duration::from_millis(500));
            // SAFETY: ending our own process is the configured response.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        }
    }
}

fn shutdown(fd: i32) {
    if fd >= 0 {
        // SAFETY: shutdown on the application's inbound socket; the fd stays open and theirs.
        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
    }
}

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
    if repeat {
        stats::EVENTS_SUPPRESSED.bump();
    }
    repeat
}

/// The per-rule rate limit: true when this detection may be reported. Closing a window with
/// suppressed events emits their summary.
fn within_rate(loaded: &Loaded, decision: &Decision) -> bool {
    let Some(rule) = decision.findings.first().map(|f| f.rule_id.to_string()) else {
        return true;
    };
    let limit = loaded.engine.policy().telemetry.rate_limit;
    let window_ms = limit.per_secs.max(1).saturating_mul(1000);
    let now = capture::now_ms();
    let Ok(mut windows) = WINDOWS.try_lock() else {
        return true;
    };
    let entry = windows
        .get_or_insert_with(HashMap::new)
        .entry(rule.clone())
        .or_insert((now, 0, 0));
    if now.saturating_sub(entry.0) >= window_ms {
        if entry.2 > 0 {
            telemetry::emit(event::rate_limited(loaded, &rule, entry.2, limit.per_secs));
        }
        *entry = (now, 0, 0);
    }
    if entry.1 < limit.burst {
        entry.1 += 1;
        true
    } else {
        entry.2 += 1;
        stats::EVENTS_SUPPRESSED.bump();
        false
    }
}

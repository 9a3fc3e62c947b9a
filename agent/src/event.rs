//! Event building: one internal shape (a JSON value with Elastic Common Schema field names
//! plus a `librasp.*` namespace), rendered as a JSON line or, when the policy asks, as a CEF
//! line ([`crate::cef`]). Every event carries the time, the process, the host and the agent;
//! detections add what an analyst needs to go from the alert to the request, the input, the
//! sink and the code location without reading our source.
//!
//! Privacy: every copied string is capped at `telemetry.max_field_bytes`; with
//! `telemetry.redact` the sink argument keeps only the span the input covered and the query
//! string is left out, so personal data in the rest of a request stays out of the logs.

use std::time::{SystemTime, UNIX_EPOCH};

use policy::engine::Decision;
use policy::{Action, DetectorKind, Sink};
use serde_json::{Value, json};

use crate::capture::Correlated;
use crate::settings::{self, Loaded};
use crate::stats;

/// The agent's version, as reported in every event.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Longest command line copied into an event.
const MAX_COMMAND_LINE: usize = 1024;

/// Syslog severities (RFC 5424) used for our events.
const SEVERITY_WARNING: u8 = 4;
const SEVERITY_NOTICE: u8 = 5;
const SEVERITY_INFO: u8 = 6;
const SEVERITY_ERROR: u8 = 3;

/// A rendered event: its text (JSON or CEF) and its syslog severity.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The line, without a trailing newline.
    pub(crate) text: String,
    /// RFC 5424 severity.
    pub(crate) severity: u8,
}

/// A detection event (alert or block) for one sink call; `stack` is the call's native stack.
pub(crate) fn detection(
    sink: &Sink<'_>,
    decision: &Decision,
    request: Option<&Correlated>,
    loaded: &Loaded,
    stack: Vec<String>,
) -> Option<Record> {
    let finding = decision.findings.first()?;
    let telemetry = &loaded.engine.policy().telemetry;
    let max = telemetry.max_field_bytes.max(16);
    let blocked = decision.action == Action::Block;
    let verb = if blocked { "blocked" } else { "detected" };
    let (technique, technique_name) = match finding.detector {
        DetectorKind::Shell | DetectorKind::Command => {
            ("T1059", "Command and Scripting Interpreter")
        }
        _ => ("T1190", "Exploit Public-Facing Application"),
    };
    let argument = sink_argument(sink);
    let argument = if telemetry.redact {
        redact_around(&argument, finding.span)
    } else {
        cap(&argument, max).to_owned()
    };
    let input = finding.input.as_ref().map(|input| {
        let span = finding.span.map(|(start, end)| json!([start, end]));
        json!({ "origin": input.origin, "value": cap(&input.value, max), "span": span })
    });
    let mut ev = base("alert", "librasp.detection");
    let obj = ev.as_object_mut()?;
    obj.insert(
        "message".into(),
        json!(format!(
            "{} {verb} at {}(): {}",
            finding.detector,
            sink.function(),
            finding.reason
        )),
    );
    obj.insert(
        "event".into(),
        json!({
            "kind": "alert",
            "category": ["intrusion_detection", family(sink)],
            "type": [if blocked { "denied" } else { "info" }],
            "action": format!("{}-{verb}", finding.detector),
            "outcome": if blocked { "failure" } else { "success" },
            "severity": if blocked { 73 } else { 47 },
            "module": "librasp",
            "dataset": "librasp.detection",
        }),
    );
    obj.insert(
        "rule".into(),
        json!({ "id": finding.rule_id, "name": finding.rule_id, "ruleset": "librasp" }),
    );
    obj.insert(
        "threat".into(),
        json!({ "framework": "MITRE ATT&CK", "technique": { "id": technique, "name": technique_name } }),
    );
    if let Some(req) = request {
        if let Some(peer) = req.peer {
            obj.insert(
                "source".into(),
                json!({ "ip": peer.ip().to_string(), "port": peer.port() }),
            );
        }
        if let Some(http) = &req.ctx.http {
            obj.insert(
                "http".into(),
                json!({ "request": { "method": http.method } }),
            );
            let query = http
                .query
                .as_deref()
                .filter(|_| !telemetry.redact)
                .map(|q| cap(q, max));
            obj.insert(
                "url".into(),
                json!({ "path": cap(&http.path, max), "query": query }),
            );
        }
    }
    match *sink {
        Sink::Open { path, .. } | Sink::Dlopen { path } if !telemetry.redact => {
            obj.insert("file".into(), json!({ "path": cap(path, max) }));
        }
        Sink::Connect { addr, port, host } => {
            obj.insert(
                "destination".into(),
                json!({ "ip": addr.to_string(), "port": port, "domain": host }),
            );
        }
        _ => {}
    }
    obj.insert(
        "librasp".into(),
        json!({
            "sink": {
                "kind": sink.kind().as_str(),
                "function": sink.function(),
                "argument": argument,
                "argv": match sink { Sink::Exec { argv, .. } if !telemetry.redact => Some(*argv), _ => None },
            },
            "input": input,
            "detector": finding.detector.as_str(),
            "reason": cap(&finding.reason, max),
            "confidence": finding.confidence,
            "mode": loaded.engine.policy().mode.as_str(),
            "decision": decision.action.as_str(),
            "policy": { "version": loaded.version },
            "stack": stack,
        }),
    );
    let severity = if blocked {
        SEVERITY_WARNING
    } else {
        SEVERITY_NOTICE
    };
    Some(render(ev, loaded, severity))
}

/// `agent_start`: one per process, so a process where the agent did not load is noticed by its
/// silence.
pub(crate) fn agent_start(loaded: &Loaded, policy_note: &str) -> Record {
    let policy_path = settings::info().map(|i| i.policy_path.display().to_string());
    let ev = with(
        base("event", "librasp.agent"),
        &format!("librasp {VERSION} active ({policy_note})"),
        json!({
            "kind": "event", "category": ["process"], "type": ["start"],
            "action": "agent_start", "module": "librasp", "dataset": "librasp.agent",
        }),
        json!({
            "mode": loaded.engine.policy().mode.as_str(),
            "policy": { "path": policy_path, "version": loaded.version, "status": policy_note },
        }),
    );
    render(ev, loaded, SEVERITY_INFO)
}

/// `policy_loaded`: a new policy took effect (hot reload).
pub(crate) fn policy_loaded(loaded: &Loaded) -> Record {
    policy_event(
        loaded,
        "policy_loaded",
        &format!("policy {} loaded", loaded.version),
    )
}

/// `policy_error`: a policy file was rejected; the message names file:line:col and why.
pub(crate) fn policy_error(loaded: &Loaded, message: &str) -> Record {
    policy_event(loaded, "policy_error", message)
}

fn policy_event(loaded: &Loaded, action: &str, message: &str) -> Record {
    let error = action == "policy_error";
    let policy_path = settings::info().map(|i| i.policy_path.display().to_string());
    let ev = with(
        base("event", "librasp.agent"),
        message,
        json!({
            "kind": "event", "category": ["configuration"],
            "type": [if error { "error" } else { "change" }],
            "action": action, "module": "librasp", "dataset": "librasp.agent",
        }),
        json!({
            "mode": loaded.engine.policy().mode.as_str(),
            "policy": { "path": policy_path, "version": loaded.version },
        }),
    );
    render(
        ev,
        loaded,
        if error { SEVERITY_ERROR } else { SEVERITY_INFO },
    )
}

/// `stats`: the agent's own health counters (`reason` is `interval` or `exit`).
pub(crate) fn stats(loaded: &Loaded, reason: &str) -> Record {
    let ev = with(
        base("metric", "librasp.stats"),
        &format!("librasp counters ({reason})"),
        json!({
            "kind": "metric", "category": ["process"], "type": ["info"],
            "action": "stats", "module": "librasp", "dataset": "librasp.stats",
        }),
        json!({ "stats": stats::snapshot(), "policy": { "version": loaded.version } }),
    );
    render(ev, loaded, SEVERITY_INFO)
}

/// `agent_error`: the agent failed internally and let the call through (fail open).
pub(crate) fn agent_error(loaded: &Loaded, message: &str) -> Record {
    let ev = with(
        base("event", "librasp.agent"),
        message,
        json!({
            "kind": "event", "category": ["process"], "type": ["error"],
            "action": "agent_error", "module": "librasp", "dataset": "librasp.agent",
        }),
        json!({ "policy": { "version": loaded.version } }),
    );
    render(ev, loaded, SEVERITY_ERROR)
}

/// `rate_limited`: a summary of detection events of `rule` suppressed in the last window.
pub(crate) fn rate_limited(
    loaded: &Loaded,
    rule: &str,
    suppressed: u64,
    window_secs: u64,
) -> Record {
    let ev = with(
        base("event", "librasp.detection"),
        &format!(
            "{suppressed} more `{rule}` detections in the last {window_secs} s were not reported individually"
        ),
        json!({
            "kind": "event", "category": ["intrusion_detection"], "type": ["info"],
            "action": "rate_limited", "module": "librasp", "dataset": "librasp.detection",
        }),
        json!({ "rate_limit": { "rule": rule, "suppressed": suppressed, "window_secs": window_secs } }),
    );
    render(ev, loaded, SEVERITY_WARNING)
}

/// Adds `message`, `event` and `librasp` to a base event.
fn with(mut ev: Value, message: &str, event: Value, librasp: Value) -> Value {
    if let Some(obj) = ev.as_object_mut() {
        obj.insert("message".into(), json!(message));
        obj.insert("event".into(), event);
        obj.insert("librasp".into(), librasp);
    }
    ev
}

/// Renders in the policy's format.
fn render(ev: Value, loaded: &Loaded, severity: u8) -> Record {
    let text = match loaded.engine.policy().telemetry.format {
        policy::config::EventFormat::Json => ev.to_string(),
        policy::config::EventFormat::Cef => crate::cef::line(&ev),
    };
    Record { text, severity }
}

/// The sink argument reduced to the span the input covered, the rest replaced by its length.
fn redact_around(argument: &str, span: Option<(usize, usize)>) -> String {
    match span
        .and_then(|(s, e)| Some((argument.get(..s)?, argument.get(s..e)?, argument.get(e..)?)))
    {
        Some((before, matched, after)) => {
            format!("[{} bytes]{matched}[{} bytes]", before.len(), after.len())
        }
        None => format!("[{} bytes redacted]", argument.len()),
    }
}

/// Fields every event carries: time, process, host, agent.
fn base(kind: &str, dataset: &str) -> Value {
    let info = settings::info();
    // SAFETY: getppid/gettid have no preconditions.
    let (ppid, tid) = unsafe { (libc::getppid(), libc::gettid()) };
    json!({
        "@timestamp": timestamp(),
        "event": { "kind": kind, "dataset": dataset },
        "process": {
            "pid": crate::lifecycle::pid(),
            "executable": info.map(|i| i.executable.as_str()),
            "command_line": info.map(|i| cap(&i.command_line, MAX_COMMAND_LINE)),
            "thread": { "id": tid },
            "parent": { "pid": ppid },
        },
        "host": { "name": info.map(|i| i.hostname.as_str()) },
        "agent": { "type": "librasp", "version": VERSION },
    })
}

fn family(sink: &Sink<'_>) -> &'static str {
    match sink {
        Sink::Shell { .. } | Sink::Exec { .. } => "process",
        Sink::Open { .. } | Sink::Dlopen { .. } => "file",
        Sink::Connect { .. } => "network",
        Sink::Sql { .. } => "database",
    }
}

/// The text a finding's span refers to: the command line, the `sh -c` script, the path, the
/// SQL. For a plain argv exec it is the program; the span then refers to the argv element
/// named in the reason, and `librasp.sink.argv` holds the whole vector.
fn sink_argument(sink: &Sink<'_>) -> String {
    match *sink {
        Sink::Shell { command, .. } => command.to_owned(),
        Sink::Exec { path, argv, .. } => policy::detect::command::shell_script(path, argv)
            .unwrap_or(path)
            .to_owned(),
        Sink::Open { path, .. } | Sink::Dlopen { path } => path.to_owned(),
        Sink::Connect { addr, port, .. } => std::net::SocketAddr::new(addr, port).to_string(),
        Sink::Sql { query, .. } => query.to_owned(),
    }
}

/// Truncates to `max` bytes at a char boundary (the policy's `telemetry.max_field_bytes`).
fn cap(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-29T03:30:51.123Z`.
pub(crate) fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

//! Event serialisation: JSON lines with Elastic Common Schema field names, plus `librasp.*`.

use std::time::{SystemTime, UNIX_EPOCH};

use policy::engine::Decision;
use policy::{Action, DetectorKind, Sink};
use serde_json::{Value, json};

use crate::capture::Correlated;
use crate::settings::{self, Loaded};

/// Longest sink argument or input value copied into an event.
const MAX_FIELD: usize = 2048;

/// The agent's version, as reported in every event.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A detection event (alert or block) for one sink call.
pub(crate) fn detection(
    sink: &Sink<'_>,
    decision: &Decision,
    request: Option<&Correlated>,
    loaded: &Loaded,
) -> String {
    let Some(finding) = decision.findings.first() else {
        return String::new();
    };
    let blocked = decision.action == Action::Block;
    let family = family(sink);
    let verb = if blocked { "blocked" } else { "detected" };
    let mut ev = base("alert", "librasp.detection");
    let (technique, technique_name) = match finding.detector {
        DetectorKind::Shell | DetectorKind::Command => {
            ("T1059", "Command and Scripting Interpreter")
        }
        _ => ("T1190", "Exploit Public-Facing Application"),
    };
    let argument = sink_argument(sink);
    let mut lib = json!({
        "sink": { "kind": sink.kind().as_str(), "function": sink.function(), "argument": cap(&argument) },
        "detector": finding.detector.as_str(),
        "reason": finding.reason,
        "confidence": finding.confidence,
        "mode": loaded.engine.policy().mode.as_str(),
        "decision": decision.action.as_str(),
        "policy": { "version": loaded.version },
    });
    if let (Some(input), Some(obj)) = (&finding.input, lib.as_object_mut()) {
        let span = finding.span.map(|(start, end)| json!([start, end]));
        obj.insert(
            "input".into(),
            json!({ "origin": input.origin, "value": cap(&input.value), "span": span }),
        );
    }
    let obj = ev.as_object_mut();
    if let Some(obj) = obj {
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
                "category": ["intrusion_detection", family],
                "type": [if blocked { "denied" } else { "info" }],
                "action": format!("{}-{verb}", finding.detector),
                "outcome": if blocked { "failure" } else { "success" },
                "module": "librasp",
                "dataset": "librasp.detection",
            }),
        );
        obj.insert(
            "rule".into(),
            json!({
                "id": finding.rule_id,
                "name": finding.rule_id,
                "ruleset": "librasp",
            }),
        );
        obj.insert(
            "threat".into(),
            json!({
                "framework": "MITRE ATT&CK",
                "technique": { "id": technique, "name": technique_name },
            }),
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
                let query = http.query.as_deref().map(cap);
                obj.insert("url".into(), json!({ "path": http.path, "query": query }));
            }
        }
        match *sink {
            Sink::Open { path, .. } | Sink::Dlopen { path } => {
                obj.insert("file".into(), json!({ "path": cap(path) }));
            }
            Sink::Connect { addr, port, host } => {
                obj.insert(
                    "destination".into(),
                    json!({ "ip": addr.to_string(), "port": port, "domain": host }),
                );
            }
            _ => {}
        }
        obj.insert("librasp".into(), lib);
    }
    ev.to_string()
}

/// `agent_start`: one per process, so a process where the agent did not load is noticed by its
/// silence.
pub(crate) fn agent_start(loaded: &Loaded, policy_note: &str) -> String {
    let mut ev = base("event", "librasp.agent");
    let policy_path = settings::info().map(|i| i.policy_path.display().to_string());
    if let Some(obj) = ev.as_object_mut() {
        obj.insert(
            "message".into(),
            json!(format!("librasp {VERSION} active ({policy_note})")),
        );
        obj.insert(
            "event".into(),
            json!({
                "kind": "event", "category": ["process"], "type": ["start"],
                "action": "agent_start", "module": "librasp", "dataset": "librasp.agent",
            }),
        );
        obj.insert(
            "librasp".into(),
            json!({
                "mode": loaded.engine.policy().mode.as_str(),
                "policy": { "path": policy_path, "version": loaded.version, "status": policy_note },
            }),
        );
    }
    ev.to_string()
}

/// `policy_loaded`: a new policy took effect (hot reload).
pub(crate) fn policy_loaded(loaded: &Loaded) -> String {
    policy_event(
        loaded,
        "policy_loaded",
        "info",
        &format!("policy {} loaded", loaded.version),
    )
}

/// `policy_error`: a policy file was rejected; the message names file:line:col and why.
pub(crate) fn policy_error(loaded: &Loaded, message: &str) -> String {
    policy_event(loaded, "policy_error", "error", message)
}

fn policy_event(loaded: &Loaded, action: &str, kind: &str, message: &str) -> String {
    let mut ev = base("event", "librasp.agent");
    let policy_path = settings::info().map(|i| i.policy_path.display().to_string());
    if let Some(obj) = ev.as_object_mut() {
        obj.insert("message".into(), json!(message));
        obj.insert("event".into(), json!({
            "kind": "event", "category": ["configuration"], "type": [if kind == "error" { "error" } else { "change" }],
            "action": action, "module": "librasp", "dataset": "librasp.agent",
        }));
        obj.insert(
            "librasp".into(),
            json!({
                "mode": loaded.engine.policy().mode.as_str(),
                "policy": { "path": policy_path, "version": loaded.version },
            }),
        );
    }
    ev.to_string()
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
            "command_line": info.map(|i| cap(&i.command_line)),
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

fn sink_argument(sink: &Sink<'_>) -> String {
    match *sink {
        Sink::Shell { command, .. } => command.to_owned(),
        Sink::Exec { path, argv, .. } => {
            let mut s = path.to_owned();
            s.push_str(" [");
            s.push_str(&argv.join(", "));
            s.push(']');
            s
        }
        Sink::Open { path, .. } | Sink::Dlopen { path } => path.to_owned(),
        Sink::Connect { addr, port, .. } => std::net::SocketAddr::new(addr, port).to_string(),
        Sink::Sql { query, .. } => query.to_owned(),
    }
}

/// Truncates to [`MAX_FIELD`] bytes at a char boundary.
fn cap(s: &str) -> &str {
    if s.len() <= MAX_FIELD {
        return s;
    }
    let mut end = MAX_FIELD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-29T03:30:51.123Z`.
fn timestamp() -> String {
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

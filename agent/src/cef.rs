//! ArcSight Common Event Format (CEF:0) rendering of an event, for SIEMs that ingest CEF.
//!
//! `CEF:0|librasp|librasp|<version>|<signature>|<name>|<severity>|<extension>` where the
//! signature is the rule id (or the event action), the name the event message, and the
//! extension carries the same facts as the JSON form under CEF's standard keys (`src`, `spt`,
//! `request`, `dproc`, `act`, …) and labelled custom strings (`cs1` input, `cs2` sink
//! argument, `cs3` reason, `cs4` input origin). Escaping follows the CEF specification: `\`
//! and `|` in header fields; `\`, `=` and line breaks in extension values.

use serde_json::Value;

/// The CEF line for `ev`.
pub(crate) fn line(ev: &Value) -> String {
    // JSON pointers into the event; a missing field is simply left out.
    let s = |path: &str| {
        let v = ev.pointer(path)?;
        v.as_str()
            .map(str::to_owned)
            .or_else(|| v.as_u64().map(|n| n.to_string()))
    };
    let signature = s("/rule/id")
        .or_else(|| s("/event/action"))
        .unwrap_or_default();
    let severity = match s("/librasp/decision").as_deref() {
        Some("block") => 8,
        Some("alert") => 5,
        _ => 3,
    };
    let fields: [(&str, Option<String>); 20] = [
        ("rt", s("/@timestamp")),
        ("act", s("/librasp/decision")),
        ("cat", s("/event/dataset")),
        ("src", s("/source/ip")),
        ("spt", s("/source/port")),
        ("requestMethod", s("/http/request/method")),
        ("request", s("/url/path")),
        ("dst", s("/destination/ip")),
        ("dpt", s("/destination/port")),
        ("dhost", s("/destination/domain")),
        ("filePath", s("/file/path")),
        ("dproc", s("/process/executable")),
        ("dpid", s("/process/pid")),
        ("dvchost", s("/host/name")),
        ("cs1", s("/librasp/input/value")),
        ("cs2", s("/librasp/sink/argument")),
        ("cs3", s("/librasp/reason")),
        ("cs4", s("/librasp/input/origin")),
        ("cs5", s("/librasp/sink/function")),
        ("cs6", s("/librasp/policy/version")),
    ];
    let labels = [
        ("cs1Label", "input"),
        ("cs2Label", "sinkArgument"),
        ("cs3Label", "reason"),
        ("cs4Label", "inputOrigin"),
        ("cs5Label", "sinkFunction"),
        ("cs6Label", "policyVersion"),
    ];
    let mut ext: Vec<String> = fields
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", escape_ext(v))))
        .collect();
    for (k, label) in labels {
        let key = k.trim_end_matches("Label");
        if ext.iter().any(|e| e.starts_with(&format!("{key}="))) {
            ext.push(format!("{k}={label}"));
        }
    }
    format!(
        "CEF:0|librasp|librasp|{}|{}|{}|{severity}|{}",
        escape_header(crate::event::VERSION),
        escape_header(&signature),
        escape_header(&s("/message").unwrap_or_default()),
        ext.join(" ")
    )
}

fn escape_header(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn escape_ext(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
}

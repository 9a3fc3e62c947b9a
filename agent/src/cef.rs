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
    let s = |v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .or_else(|| v.as_u64().map(|n| n.to_string()))
    };
    let lib = &ev["librasp"];
    let signature = s(&ev["rule"]["id"])
        .or_else(|| s(&ev["event"]["action"]))
        .unwrap_or_default();
    let severity = match lib["decision"].as_str() {
        Some("block") => 8,
        Some("alert") => 5,
        _ => 3,
    };
    let fields: [(&str, Option<String>); 20] = [
        ("rt", s(&ev["@timestamp"])),
        ("act", s(&lib["decision"])),
        ("cat", s(&ev["event"]["dataset"])),
        ("src", s(&ev["source"]["ip"])),
        ("spt", s(&ev["source"]["port"])),
        ("requestMethod", s(&ev["http"]["request"]["method"])),
        ("request", s(&ev["url"]["path"])),
        ("dst", s(&ev["destination"]["ip"])),
        ("dpt", s(&ev["destination"]["port"])),
        ("dhost", s(&ev["destination"]["domain"])),
        ("filePath", s(&ev["file"]["path"])),
        ("dproc", s(&ev["process"]["executable"])),
        ("dpid", s(&ev["process"]["pid"])),
        ("dvchost", s(&ev["host"]["name"])),
        ("cs1", s(&lib["input"]["value"])),
        ("cs2", s(&lib["sink"]["argument"])),
        ("cs3", s(&lib["reason"])),
        ("cs4", s(&lib["input"]["origin"])),
        ("cs5", s(&lib["sink"]["function"])),
        ("cs6", s(&lib["policy"]["version"])),
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
        escape_header(&s(&ev["message"]).unwrap_or_default()),
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

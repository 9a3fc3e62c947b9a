//! The operator's policy: a TOML file, every key optional, unknown keys rejected.
//!
//! The smallest valid policy is `mode = "block"`; a missing file means [`Policy::default`]
//! (monitor mode, every detector on). Every default is documented on its field and in
//! [`DEFAULT_POLICY_TOML`], which `rasp policy default` prints.
//!
//! Layout of a policy file:
//!
//! * `mode`, `[telemetry]`, `[capture]`, `[extraction]` — global settings;
//! * `[detectors.<name>]` — per detector: `enabled`, `action` (`block`/`alert`/`ignore`,
//!   overriding the mode except that monitor mode never blocks), thresholds, lists, and the
//!   `response`/`errno` used when it blocks (see [`crate::response`] for when each is safe);
//! * `[[allow]]` — exemptions (see [`crate::allow`]);
//! * `[[rule]]` — static rules needing no input (see [`crate::rules`]);
//! * `[program."<glob>"]` — overrides for one protected executable (see [`crate::program`]).
//!
//! Errors carry the file-relative line:col of the offending key or value and, for a misspelt
//! key or value, a "did you mean" hint computed over the names valid at that place.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::allow::AllowEntry;
use crate::pattern::PathPattern;
pub use crate::program::ProgramSection;
use crate::response::{Errno, ResponseKind};
use crate::rules::RuleEntry;
use crate::suggest;

/// What the agent does with findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Report only; never changes the application's behaviour.
    #[default]
    Monitor,
    /// Refuse every detected call.
    Block,
    /// Block high-confidence findings, report the rest.
    Hybrid,
}

impl Mode {
    /// The lowercase name used in policies and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Monitor => "monitor",
            Mode::Block => "block",
            Mode::Hybrid => "hybrid",
        }
    }
}

/// A detector's own action, overriding the mode (except that monitor mode never blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorAction {
    /// Refuse the call.
    Block,
    /// Report only.
    Alert,
    /// Drop the finding silently.
    Ignore,
}

/// The whole policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// `monitor` (default), `block` or `hybrid`.
    pub mode: Mode,
    /// Where events go.
    pub telemetry: TelemetrySettings,
    /// How much of each request is kept and how sinks are correlated with requests.
    pub capture: CaptureSettings,
    /// Limits of input extraction.
    pub extraction: ExtractionSettings,
    /// Per-detector settings.
    pub detectors: Detectors,
    /// `[[allow]]` exemptions, in file order (see [`crate::allow`]).
    pub allow: Vec<AllowEntry>,
    /// `[[rule]]` static rules (see [`crate::rules`]).
    pub rule: Vec<RuleEntry>,
    /// `[program."<glob>"]` sections overriding settings per protected executable
    /// (see [`crate::program`] and [`Policy::for_program`]).
    pub program: BTreeMap<String, ProgramSection>,
}

/// Event output settings. The agent's telemetry implements them; the policy only models,
/// validates and documents them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// JSON-lines event file; default `/var/log/librasp/events.jsonl`, falling back to stderr
    /// when it cannot be opened.
    pub path: PathBuf,
    /// Also write every event to stderr (containers, `rasp run`). Default false.
    pub stderr: bool,
    /// Capacity of the in-memory event queue; when full, events are dropped and counted.
    /// Default 4096.
    pub queue: usize,
    /// Replace input values and sink arguments in events by their length and a hash
    /// (personal data stays out of logs). Default false.
    pub redact: bool,
    /// Longest input value or sink argument copied into an event, in bytes. Default 2048.
    pub max_field_bytes: usize,
    /// Also send events to syslog: `unix:/dev/log`, `udp:HOST:PORT` or `tcp:HOST:PORT`.
    /// Default: off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syslog: Option<SyslogTarget>,
    /// Event encoding: `json` (ECS field names, default) or `cef` (ArcSight CEF).
    pub format: EventFormat,
    /// Seconds between `stats` events (counters of checks, detections, drops); 0 disables
    /// them. Default 60.
    pub stats_interval_secs: u64,
    /// Cap on detection events, so an attack flood cannot flood the log.
    pub rate_limit: RateLimit,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            path: PathBuf::from("/var/log/librasp/events.jsonl"),
            stderr: false,
            queue: 4096,
            redact: false,
            max_field_bytes: 2048,
            syslog: None,
            format: EventFormat::Json,
            stats_interval_secs: 60,
            rate_limit: RateLimit::default(),
        }
    }
}

/// Encoding of events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventFormat {
    /// One JSON object per line, Elastic Common Schema names.
    #[default]
    Json,
    /// ArcSight Common Event Format lines.
    Cef,
}

/// Token bucket for detection events: at most `burst` events, refilled to `burst` every
/// `per_secs` seconds; suppressed events are counted in the next `stats` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    /// Events allowed per period. Default 20.
    pub burst: u32,
    /// Period length in seconds. Default 60.
    pub per_secs: u64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            burst: 20,
            per_secs: 60,
        }
    }
}

/// Where syslog messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogTarget {
    /// A local datagram socket, e.g. `/dev/log`.
    Unix(PathBuf),
    /// A remote collector over UDP.
    Udp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A remote collector over TCP (RFC 6587 octet counting).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
}

impl SyslogTarget {
    /// Parses `unix:PATH`, `udp:HOST:PORT` or `tcp:HOST:PORT` (IPv6 hosts in brackets).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad =
            || format!("syslog target `{text}` must be unix:PATH, udp:HOST:PORT or tcp:HOST:PORT");
        let (scheme, rest) = text.split_once(':').ok_or_else(bad)?;
        let host_port = |rest: &str| -> Result<(String, u16), String> {
            let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = port.parse::<u16>().map_err(|_| bad())?;
            if host.is_empty() || port == 0 {
                return Err(bad());
            }
            Ok((host.to_owned(), port))
        };
        match scheme {
            "unix" if rest.starts_with('/') => Ok(SyslogTarget::Unix(PathBuf::from(rest))),
            "udp" => host_port(rest).map(|(host, port)| SyslogTarget::Udp { host, port }),
            "tcp" => host_port(rest).map(|(host, port)| SyslogTarget::Tcp { host, port }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bracket = |host: &str| {
            if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_owned()
            }
        };
        match self {
            SyslogTarget::Unix(path) => write!(f, "unix:{}", path.display()),
            SyslogTarget::Udp { host, port } => write!(f, "udp:{}:{port}", bracket(host)),
            SyslogTarget::Tcp { host, port } => write!(f, "tcp:{}:{port}", bracket(host)),
        }
    }
}

impl Serialize for SyslogTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SyslogTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SyslogTarget::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Request capture and sink↔request correlation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSettings {
    /// Bytes of the current request kept per inbound connection. Default 65536.
    pub buffer_bytes: usize,
    /// A sink on a thread that did not read the request is correlated with the process's
    /// requests read within this many milliseconds. Default 2000.
    pub window_ms: u64,
    /// …and with at most this many recent requests. Default 32 (at most 256).
    pub window_requests: usize,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            buffer_bytes: 64 * 1024,
            window_ms: 2000,
            window_requests: 32,
        }
    }
}

/// Bounds on what extraction produces from one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractionSettings {
    /// At most this many inputs per request. Default 512.
    pub max_inputs: usize,
    /// JSON nesting deeper than this stops extending origins: deeper values are still extracted
    /// (so nesting cannot hide a payload) under the deepest tracked ancestor. Default 32.
    pub max_depth: usize,
    /// Total decoded bytes of all inputs. Default 1 MiB.
    pub max_total_bytes: usize,
    /// Non-HTTP traffic: minimum length of a common substring between received bytes and a
    /// sink argument that counts as an input. Default 8.
    pub raw_min_match: usize,
}

impl Default for ExtractionSettings {
    fn default() -> Self {
        Self {
            max_inputs: 512,
            max_depth: 32,
            max_total_bytes: 1 << 20,
            raw_min_match: 8,
        }
    }
}

/// Settings of every detector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Detectors {
    /// SQL injection.
    pub sqli: DetectorSettings,
    /// Shell injection (system, popen, `sh -c`).
    pub shell: DetectorSettings,
    /// Command and argument injection (argv execs).
    pub command: DetectorSettings,
    /// Path traversal (open family).
    pub path: DetectorSettings,
    /// SSRF (connect).
    pub ssrf: SsrfSettings,
    /// Sensitive files, no input needed; alerts by default.
    pub sensitive_files: SensitiveFilesSettings,
    /// Libraries loaded from input-controlled paths.
    pub dlopen: DetectorSettings,
}

/// Settings shared by the input-driven detectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorSettings {
    /// Default true.
    pub enabled: bool,
    /// Overrides the mode for this detector's findings; default: follow the mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<DetectorAction>,
    /// Inputs shorter than this many bytes are ignored. Default 3.
    pub min_input_len: usize,
    /// How a blocked call is refused; default `deny` (see [`crate::response`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseKind>,
    /// errno of `deny`: a name (`"EPERM"`) or a number; default `EACCES` (13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<Errno>,
}

impl Default for DetectorSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            action: None,
            min_input_len: 3,
            response: None,
            errno: None,
        }
    }
}

/// SSRF detector settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsrfSettings {
    /// Default true.
    pub enabled: bool,
    /// Overrides the mode; default: follow the mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<DetectorAction>,
    /// Inputs shorter than this many bytes are ignored. Default 3.
    pub min_input_len: usize,
    /// Address ranges that count as internal. Default: loopback, RFC 1918, link-local,
    /// 100.64/10, 0/8, 198.18/15, multicast and reserved, `::`, `::1`, `fc00::/7`, `fe80::/10`
    /// (IPv4-mapped IPv6 addresses are checked as IPv4).
    pub internal_ranges: Vec<ipnet::IpNet>,
    /// Cloud metadata addresses, reported even without an input match.
    pub metadata_addresses: Vec<std::net::IpAddr>,
    /// How a blocked call is refused; default `deny`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseKind>,
    /// errno of `deny`; default `EACCES`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<Errno>,
}

impl Default for SsrfSettings {
    fn default() -> Self {
        let nets = [
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "224.0.0.0/4",
            "240.0.0.0/4",
            "::/128",
            "::1/128",
            "fc00::/7",
            "fe80::/10",
        ];
        let addrs = ["169.254.169.254", "fd00:ec2::254", "100.100.100.200"];
        Self {
            enabled: true,
            action: None,
            min_input_len: 3,
            internal_ranges: nets.iter().filter_map(|n| n.parse().ok()).collect(),
            metadata_addresses: addrs.iter().filter_map(|a| a.parse().ok()).collect(),
            response: None,
            errno: None,
        }
    }
}

/// Sensitive-file rule settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SensitiveFilesSettings {
    /// Default true.
    pub enabled: bool,
    /// Default `alert`: the application itself may legitimately read these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<DetectorAction>,
    /// Glob patterns of sensitive paths (matched against the normalised absolute path).
    pub paths: Vec<String>,
    /// How a blocked call is refused; default `deny`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseKind>,
    /// errno of `deny`; default `EACCES`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<Errno>,
}

impl Default for SensitiveFilesSettings {
    fn default() -> Self {
        let paths = [
            "/etc/shadow",
            "/etc/gshadow",
            "/etc/sudoers",
            "/proc/self/environ",
            "/proc/*/environ",
            "/proc/self/mem",
            "/proc/*/mem",
            "/root/.ssh/*",
            "/home/*/.ssh/id_*",
            "**/id_rsa",
            "**/id_ecdsa",
            "**/id_ed25519",
            "/etc/ssl/private/*",
        ];
        Self {
            enabled: true,
            action: Some(DetectorAction::Alert),
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            response: None,
            errno: None,
        }
    }
}

/// A policy file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// What is wrong, with line:col where the parser knows it.
    pub message: String,
    /// 1-based line and column of the error, when known.
    pub location: Option<(usize, usize)>,
    /// A suggestion, e.g. ``did you mean `buffer_bytes`?`` for a misspelt key or value.
    pub hint: Option<String>,
}

impl PolicyError {
    fn from_toml(text: &str, e: &toml::de::Error) -> Self {
        let message = e.message().trim_end().to_owned();
        Self {
            hint: suggest::hint_for(&message),
            location: e.span().map(|span| line_col(text, span.start)),
            message,
        }
    }
}

/// Where each array entry and program section starts, for errors found after parsing.
/// Unknown keys are ignored here: the typed parse has already rejected them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Layout {
    allow: Vec<toml::Spanned<toml::Table>>,
    rule: Vec<toml::Spanned<toml::Table>>,
    program: BTreeMap<String, toml::Spanned<toml::Table>>,
}

/// A part of the policy a validation problem belongs to.
enum Place<'a> {
    Allow(usize),
    Rule(usize),
    Program(&'a str),
}

impl Policy {
    /// Parses a policy from TOML text; on error, the first problem.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        Self::from_toml_all(text).map_err(|mut errors| {
            if errors.is_empty() {
                PolicyError {
                    message: "invalid policy".to_owned(),
                    location: None,
                    hint: None,
                }
            } else {
                errors.swap_remove(0)
            }
        })
    }

    /// Parses a policy from TOML text, reporting every problem found after a successful TOML
    /// parse (a syntax or type error stops at the first one). Besides types and unknown keys
    /// this rejects allow entries without a match field, rules without exactly one kind or
    /// with a duplicate id, and program sections whose key is not a valid glob.
    pub fn from_toml_all(text: &str) -> Result<Self, Vec<PolicyError>> {
        let mut policy: Policy =
            toml::from_str(text).map_err(|e| vec![PolicyError::from_toml(text, &e)])?;
        let layout: Layout =
            toml::from_str(text).map_err(|e| vec![PolicyError::from_toml(text, &e)])?;
        for (key, section) in &mut policy.program {
            if let Some(table) = layout.program.get(key) {
                section.set_overlay(table.get_ref().clone());
            }
        }
        let errors: Vec<PolicyError> = policy
            .problems()
            .into_iter()
            .map(|(place, message)| {
                let span = match place {
                    Place::Allow(i) => layout.allow.get(i).map(toml::Spanned::span),
                    Place::Rule(i) => layout.rule.get(i).map(toml::Spanned::span),
                    Place::Program(key) => layout.program.get(key).map(toml::Spanned::span),
                };
                PolicyError {
                    message,
                    location: span.map(|s| line_col(text, s.start)),
                    hint: None,
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(policy)
        } else {
            Err(errors)
        }
    }

    /// Problems the types cannot express, with the part of the policy they belong to.
    fn problems(&self) -> Vec<(Place<'_>, String)> {
        let mut out = Vec::new();
        let mut ids: Vec<&str> = Vec::new();
        for (i, entry) in self.allow.iter().enumerate() {
            if !entry.has_matcher() {
                out.push((Place::Allow(i), NO_MATCHER.to_owned()));
            }
        }
        for (i, rule) in self.rule.iter().enumerate() {
            out.extend(rule.problems().into_iter().map(|m| (Place::Rule(i), m)));
            if !rule.id.is_empty() && ids.contains(&rule.id.as_str()) {
                out.push((Place::Rule(i), format!("duplicate rule id `{}`", rule.id)));
            }
            ids.push(&rule.id);
        }
        for (key, section) in &self.program {
            let at = || Place::Program(key.as_str());
            if let Err(e) = PathPattern::parse(key) {
                out.push((at(), format!("program section: {e}")));
            }
            if section.allow().iter().any(|a| !a.has_matcher()) {
                out.push((at(), format!("program section `{key}`: {NO_MATCHER}")));
            }
            for rule in section.rules() {
                for m in rule.problems() {
                    out.push((at(), format!("program section `{key}`: {m}")));
                }
            }
        }
        out
    }
}

const NO_MATCHER: &str = "allow entry sets no match field (detector, rule, sink, url_path, \
                          origin, executable, file, destination, port, program), so it would \
                          exempt every finding";

/// The default policy as commented TOML: every key, its default and its meaning. Printed by
/// `rasp policy default`; parses to [`Policy::default`] (a test keeps the two in step).
pub const DEFAULT_POLICY_TOML: &str = include_str!("default_policy.toml");

/// 1-based line and column of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_policy_is_one_line() {
        let p = Policy::from_toml("mode = \"block\"\n").expect("valid");
        assert_eq!(p.mode, Mode::Block);
        assert_eq!(p.capture, CaptureSettings::default());
    }

    #[test]
    fn unknown_key_reports_line_and_column() {
        let err =
            Policy::from_toml("mode = \"block\"\n\n[capture]\nbufer_bytes = 5\n").unwrap_err();
        assert_eq!(err.location, Some((4, 1)));
        assert!(err.message.contains("bufer_bytes"), "{}", err.message);
    }

    #[test]
    fn unknown_key_has_a_hint() {
        let err = Policy::from_toml("[capture]\nbufer_bytes = 5\n").unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("did you mean `buffer_bytes`?"));
        let err = Policy::from_toml("mode = \"blok\"\n").unwrap_err();
        assert_eq!(err.location, Some((1, 8)));
        assert_eq!(err.hint.as_deref(), Some("did you mean `block`?"));
    }

    #[test]
    fn default_text_is_the_default_policy() {
        let parsed = Policy::from_toml(DEFAULT_POLICY_TOML).expect("default parses");
        assert_eq!(parsed, Policy::default());
    }

    /// Every key that `Policy::default()` serialises is written out in the documented default.
    #[test]
    fn default_text_sets_every_key() {
        fn keys(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
            for (k, v) in table {
                let path = format!("{prefix}{k}");
                if let toml::Value::Table(t) = v {
                    keys(&format!("{path}."), t, out);
                } else {
                    out.push(path);
                }
            }
        }
        let written: toml::Table = toml::from_str(DEFAULT_POLICY_TOML).expect("toml");
        let defaults = toml::Table::try_from(Policy::default()).expect("serialises");
        let (mut want, mut have) = (Vec::new(), Vec::new());
        keys("", &defaults, &mut want);
        keys("", &written, &mut have);
        for key in want {
            let empty_collection = ["allow", "rule", "program"].contains(&key.as_str());
            assert!(empty_collection || have.contains(&key), "{key} missing");
        }
    }

    #[test]
    fn syslog_targets() {
        for (text, want) in [
            (
                "unix:/dev/log",
                SyslogTarget::Unix(PathBuf::from("/dev/log")),
            ),
            (
                "udp:logs.example:514",
                SyslogTarget::Udp {
                    host: "logs.example".into(),
                    port: 514,
                },
            ),
            (
                "tcp:[::1]:6514",
                SyslogTarget::Tcp {
                    host: "::1".into(),
                    port: 6514,
                },
            ),
        ] {
            let parsed = SyslogTarget::parse(text).expect(text);
            assert_eq!(parsed, want);
            assert_eq!(parsed.to_string(), text);
        }
        for bad in [
            "unix:dev/log",
            "udp:host",
            "tcp::514",
            "http://x",
            "udp:h:0",
        ] {
            assert!(SyslogTarget::parse(bad).is_err(), "{bad}");
        }
    }
}

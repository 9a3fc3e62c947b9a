//! The operator's policy: a TOML file, every key optional, unknown keys rejected.
//!
//! The smallest valid policy is `mode = "block"`; a missing file means [`Policy::default`]
//! (monitor mode, every detector on). Every default is documented on its field and printed by
//! `rasp policy default`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
}

/// Event output settings.
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
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            path: PathBuf::from("/var/log/librasp/events.jsonl"),
            stderr: false,
            queue: 4096,
        }
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
    pub action: Option<DetectorAction>,
    /// Inputs shorter than this many bytes are ignored. Default 3.
    pub min_input_len: usize,
}

impl Default for DetectorSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            action: None,
            min_input_len: 3,
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
    pub action: Option<DetectorAction>,
    /// Inputs shorter than this many bytes are ignored. Default 3.
    pub min_input_len: usize,
    /// Address ranges that count as internal. Default: loopback, RFC 1918, link-local,
    /// 100.64/10, 0/8, 198.18/15, multicast and reserved, `::`, `::1`, `fc00::/7`, `fe80::/10`
    /// (IPv4-mapped IPv6 addresses are checked as IPv4).
    pub internal_ranges: Vec<ipnet::IpNet>,
    /// Cloud metadata addresses, reported even without an input match.
    pub metadata_addresses: Vec<std::net::IpAddr>,
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
    pub action: Option<DetectorAction>,
    /// Glob patterns of sensitive paths (matched against the normalised absolute path).
    pub paths: Vec<String>,
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
        }
    }
}

/// A policy file that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// What is wrong, with line:col where the parser knows it.
    pub message: String,
    /// 1-based line and column of the error, when known.
    pub location: Option<(usize, usize)>,
}

impl Policy {
    /// Parses a policy from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        toml::from_str(text).map_err(|e| {
            let location = e.span().map(|span| line_col(text, span.start));
            PolicyError {
                message: e.message().to_owned(),
                location,
            }
        })
    }
}

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
}

//! `[[allow]]` exemptions: findings the operator has reviewed and accepts.
//!
//! An entry names any combination of match fields; a finding is exempt when **every** field the
//! entry sets matches (fields it leaves out match anything). An entry must set at least one
//! match field — an entry with none would silently disable all protection, so the policy is
//! rejected instead. An exempt finding is dropped from the decision and recorded, with the
//! entry's `id` (or `allow[N]`, its position), in [`Decision::allowed`](crate::Decision).
//!
//! Invariant: allow entries only ever remove findings; they cannot create one or raise an
//! action. They are evaluated only after a detector or rule has produced a finding, so they
//! cost nothing on the common path.
//!
//! Attacker-influenced fields are normalised before matching so an exemption cannot be reached
//! by spelling: request paths are percent-decoded and lexically normalised, file paths are
//! normalised (`/srv/up/../../etc/passwd` is not under `/srv/up/**`).

use serde::{Deserialize, Serialize};

use crate::extract::HttpSummary;
use crate::finding::{DetectorKind, Finding};
use crate::pattern::{
    Destination, DestinationMatcher, NamePattern, PathMatcher, PathPattern, UrlPathMatcher,
    UrlPathPattern,
};
use crate::sink::{Sink, SinkKind};

/// One `[[allow]]` entry as written in the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllowEntry {
    /// Name reported when the entry exempts a finding; default `allow[N]` (0-based position).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Free text for reviewers (why this is safe, ticket, owner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Detector of the finding: `sqli`, `shell`, `command`, `path`, `ssrf`,
    /// `sensitive_files`, `dlopen`, or `rule` for `[[rule]]` findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector: Option<DetectorKind>,
    /// Rule id of the finding: exact (`sqli.tautology`, or a `[[rule]]` id), or a prefix
    /// ending in `.` (`sqli.`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Sink family: `shell`, `exec`, `open`, `dlopen`, `connect`, `sql`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink: Option<SinkKind>,
    /// Request path: a glob (`/admin/*`) or a segment-wise prefix (`/admin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_path: Option<UrlPathPattern>,
    /// Origin of the input that reached the sink (`query.sort`, `json.filter.*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<NamePattern>,
    /// Program run by an exec sink (`/usr/bin/convert`, or a bare name such as `convert`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<PathPattern>,
    /// File of an open or dlopen sink (`/var/www/uploads/**`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathPattern>,
    /// Destination of a connect sink: address, CIDR block or host name (`*.internal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    /// Destination port of a connect sink.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The protected process's own executable (`/usr/sbin/nginx`, `php-fpm*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<PathPattern>,
}

impl AllowEntry {
    /// True when the entry sets at least one match field (`id` and `comment` do not count).
    pub fn has_matcher(&self) -> bool {
        self.detector.is_some()
            || self.rule.is_some()
            || self.sink.is_some()
            || self.url_path.is_some()
            || self.origin.is_some()
            || self.executable.is_some()
            || self.file.is_some()
            || self.destination.is_some()
            || self.port.is_some()
            || self.program.is_some()
    }
}

/// An allow entry compiled for matching.
#[derive(Debug, Clone)]
pub struct CompiledAllow {
    /// The entry's id, or `allow[N]`.
    pub id: String,
    detector: Option<DetectorKind>,
    rule: Option<String>,
    sink: Option<SinkKind>,
    url_path: Option<UrlPathMatcher>,
    origin: Option<Option<globset::GlobMatcher>>,
    executable: Option<PathMatcher>,
    file: Option<PathMatcher>,
    destination: Option<DestinationMatcher>,
    port: Option<u16>,
}

/// What an allow entry can look at besides the finding itself.
#[derive(Debug, Clone, Copy)]
pub struct AllowContext<'a> {
    /// The sink call.
    pub sink: &'a Sink<'a>,
    /// The HTTP request the finding is attributed to, if any.
    pub http: Option<&'a HttpSummary>,
}

impl CompiledAllow {
    /// Compiles the entry at `index` for a process running `program` (`None` when unknown).
    /// Returns `None` when the entry's `program` field excludes this process: it can never
    /// match, so it is not kept.
    pub fn compile(entry: &AllowEntry, index: usize, program: Option<&str>) -> Option<Self> {
        if let Some(pattern) = &entry.program {
            if !program.is_some_and(|exe| pattern.compile().is_match(exe)) {
                return None;
            }
        }
        Some(Self {
            id: entry
                .id
                .clone()
                .unwrap_or_else(|| format!("allow[{index}]")),
            detector: entry.detector,
            rule: entry.rule.clone(),
            sink: entry.sink,
            url_path: entry.url_path.as_ref().map(UrlPathPattern::compile),
            origin: entry.origin.as_ref().map(|o| o.compile(false)),
            executable: entry.executable.as_ref().map(PathPattern::compile),
            file: entry.file.as_ref().map(PathPattern::compile),
            destination: entry.destination.as_ref().map(Destination::compile),
            port: entry.port,
        })
    }

    /// True when every field the entry sets matches `finding` in `cx`.
    pub fn matches(&self, finding: &Finding, cx: AllowContext<'_>) -> bool {
        let sink = cx.sink;
        self.detector.is_none_or(|d| d == finding.detector)
            && self
                .rule
                .as_deref()
                .is_none_or(|r| rule_matches(r, &finding.rule_id))
            && self.sink.is_none_or(|k| k == sink.kind())
            && self
                .url_path
                .as_ref()
                .is_none_or(|m| cx.http.is_some_and(|h| m.is_match(&h.path)))
            && self
                .origin
                .as_ref()
                .is_none_or(|m| match (m, &finding.input) {
                    (Some(glob), Some(input)) => glob.is_match(&input.origin),
                    _ => false,
                })
            && self.executable.as_ref().is_none_or(|m| match *sink {
                Sink::Exec { path, .. } => m.is_match(path),
                _ => false,
            })
            && self.file.as_ref().is_none_or(|m| match *sink {
                Sink::Open { path, .. } | Sink::Dlopen { path } => m.is_match(path),
                _ => false,
            })
            && self.destination.as_ref().is_none_or(|m| match *sink {
                Sink::Connect { addr, host, .. } => m.is_match(addr, host),
                _ => false,
            })
            && self.port.is_none_or(|p| match *sink {
                Sink::Connect { port, .. } => port == p,
                _ => false,
            })
    }
}

/// `pattern` is an exact rule id, or a prefix ending in `.`.
fn rule_matches(pattern: &str, rule_id: &str) -> bool {
    pattern == rule_id || (pattern.ends_with('.') && rule_id.starts_with(pattern))
}

//! `[[rule]]` static rules: findings that need no input match.
//!
//! Detectors ask "did an input change this call's structure?"; a rule asks only "is this call
//! allowed at all?" — a web server should never start a shell, read `/etc/shadow`, load a
//! library from `/tmp`, or connect anywhere but its database. Each rule has exactly one kind:
//!
//! * `deny_exec` — program patterns ([`PathPattern`]) that must not be executed. `system()`
//!   and `popen()` run `/bin/sh`, so they count as an exec of `/bin/sh`.
//! * `deny_open` — file patterns that must not be opened (any access mode).
//! * `egress_allow` — the only destinations ([`EgressTarget`]) connections may go to; every
//!   other connect is a finding. Remember the DNS resolver (`127.0.0.53:53`, …).
//! * `dlopen_allow_dirs` — absolute directories libraries may be loaded from. A path is checked
//!   after lexical normalisation; a bare name (`libssl.so.3`, no `/`) is resolved by the
//!   loader's own search path and is not checked.
//!
//! A rule finding has detector [`DetectorKind::Rule`], `rule_id` = the rule's `id`,
//! confidence high (the call is exactly what the operator forbade), and no input.
//!
//! Invariant: a rule's check is a handful of compiled glob or CIDR matches on the sink
//! argument, so rules run on every call of their sink family.

use serde::{Deserialize, Serialize};

use crate::config::DetectorAction;
use crate::detect::path::normalize;
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::pattern::{EgressTarget, PathMatcher, PathPattern};
use crate::response::{Errno, Response, ResponseKind};
use crate::sink::Sink;

/// The program `system()` and `popen()` run.
const SYSTEM_SHELL: &str = "/bin/sh";

/// A rule's own action, overriding the mode (monitor mode still never blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Refuse the call.
    Block,
    /// Report only.
    Alert,
}

impl From<RuleAction> for DetectorAction {
    fn from(a: RuleAction) -> Self {
        match a {
            RuleAction::Block => DetectorAction::Block,
            RuleAction::Alert => DetectorAction::Alert,
        }
    }
}

/// One `[[rule]]` as written in the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleEntry {
    /// Required, unique: reported as the finding's rule id (`rule.id` in events).
    pub id: String,
    /// Reported as the finding's reason; default: a description of the match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `block` or `alert`; default: follow the mode (`hybrid` blocks, rule findings being
    /// high-confidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    /// How a blocked call is refused; default `deny`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseKind>,
    /// errno of `deny`; default `EACCES`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<Errno>,
    /// Programs that must not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_exec: Option<Vec<PathPattern>>,
    /// Files that must not be opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_open: Option<Vec<PathPattern>>,
    /// The only allowed connection destinations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress_allow: Option<Vec<EgressTarget>>,
    /// The only directories libraries may be loaded from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dlopen_allow_dirs: Option<Vec<String>>,
}

impl RuleEntry {
    /// Problems that make the rule unusable: no id, not exactly one kind, a relative
    /// `dlopen_allow_dirs` entry.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.id.trim().is_empty() {
            out.push("rule needs a non-empty `id`".to_owned());
        }
        let kinds = [
            self.deny_exec.is_some(),
            self.deny_open.is_some(),
            self.egress_allow.is_some(),
            self.dlopen_allow_dirs.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            out.push(format!(
                "rule `{}` must set exactly one of `deny_exec`, `deny_open`, `egress_allow`, \
                 `dlopen_allow_dirs`",
                self.id
            ));
        }
        for dir in self.dlopen_allow_dirs.iter().flatten() {
            if !dir.starts_with('/') {
                out.push(format!(
                    "rule `{}`: dlopen_allow_dirs entry `{dir}` must be absolute",
                    self.id
                ));
            }
        }
        out
    }
}

/// What a compiled rule checks.
#[derive(Debug, Clone)]
enum Check {
    DenyExec(Vec<(PathMatcher, String)>),
    DenyOpen(Vec<(PathMatcher, String)>),
    Egress(Vec<EgressTarget>),
    DlopenDirs(Vec<String>),
}

/// A rule compiled for checking.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    id: String,
    message: Option<String>,
    /// The rule's action override.
    pub action: Option<DetectorAction>,
    /// How a blocked call is refused.
    pub response: Response,
    check: Check,
}

impl CompiledRule {
    /// Compiles `entry`; `None` when it sets no kind (rejected when the policy is parsed).
    pub fn compile(entry: &RuleEntry) -> Option<Self> {
        let globs = |pats: &[PathPattern]| -> Vec<(PathMatcher, String)> {
            pats.iter().map(|p| (p.compile(), p.to_string())).collect()
        };
        let check = if let Some(p) = &entry.deny_exec {
            Check::DenyExec(globs(p))
        } else if let Some(p) = &entry.deny_open {
            Check::DenyOpen(globs(p))
        } else if let Some(t) = &entry.egress_allow {
            Check::Egress(t.clone())
        } else {
            let dirs = entry.dlopen_allow_dirs.as_ref()?;
            Check::DlopenDirs(dirs.iter().map(|d| normalize(d).to_string()).collect())
        };
        Some(Self {
            id: entry.id.clone(),
            message: entry.message.clone(),
            action: entry.action.map(DetectorAction::from),
            response: Response::resolve(entry.response, entry.errno),
            check,
        })
    }

    /// The finding for `sink`, when the rule forbids the call.
    pub fn check(&self, sink: &Sink<'_>) -> Option<Finding> {
        let reason = match (&self.check, *sink) {
            (Check::DenyExec(globs), Sink::Exec { path, .. }) => deny_match(globs, path)
                .map(|g| format!("exec of `{path}` matches deny_exec pattern `{g}`"))?,
            (Check::DenyExec(globs), Sink::Shell { function, .. }) => {
                deny_match(globs, SYSTEM_SHELL).map(|g| {
                    format!(
                        "{function}() runs `{SYSTEM_SHELL}`, which matches deny_exec pattern `{g}`"
                    )
                })?
            }
            (Check::DenyOpen(globs), Sink::Open { path, .. }) => deny_match(globs, path)
                .map(|g| format!("open of `{path}` matches deny_open pattern `{g}`"))?,
            (Check::Egress(targets), Sink::Connect { addr, port, .. }) => {
                if targets.iter().any(|t| t.is_match(addr, port)) {
                    return None;
                }
                let dest = std::net::SocketAddr::new(addr, port);
                format!("connection to {dest} is not in egress_allow")
            }
            (Check::DlopenDirs(dirs), Sink::Dlopen { path }) => {
                if !path.contains('/') {
                    return None;
                }
                let normal = normalize(path);
                let inside = dirs.iter().any(|d| normal.is_within(&normalize(d)));
                if inside {
                    return None;
                }
                format!("library `{path}` is outside dlopen_allow_dirs")
            }
            _ => return None,
        };
        Some(Finding {
            detector: DetectorKind::Rule,
            rule_id: self.id.clone().into(),
            input: None,
            span: None,
            reason: self.message.clone().unwrap_or(reason),
            confidence: Confidence::High,
        })
    }
}

fn deny_match<'a>(globs: &'a [(PathMatcher, String)], path: &str) -> Option<&'a str> {
    globs
        .iter()
        .find(|(m, _)| m.is_match(path))
        .map(|(_, text)| text.as_str())
}

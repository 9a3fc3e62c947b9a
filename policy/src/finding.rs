//! What a detector reports: enough for an analyst to see why, without reading our source.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::input::Input;

/// The detector that produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// SQL injection.
    Sqli,
    /// Shell injection into a command line.
    Shell,
    /// Command / argument injection into an argv exec.
    Command,
    /// Path traversal.
    Path,
    /// Server-side request forgery.
    Ssrf,
    /// Access to a sensitive file (no input needed).
    SensitiveFiles,
    /// Library loaded from an input-controlled path.
    Dlopen,
    /// A static `[[rule]]` of the policy (no input needed); the finding's `rule_id` is the
    /// rule's own `id`.
    Rule,
}

impl DetectorKind {
    /// The name used in policies (`[detectors.<name>]`) and events.
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorKind::Sqli => "sqli",
            DetectorKind::Shell => "shell",
            DetectorKind::Command => "command",
            DetectorKind::Path => "path",
            DetectorKind::Ssrf => "ssrf",
            DetectorKind::SensitiveFiles => "sensitive_files",
            DetectorKind::Dlopen => "dlopen",
            DetectorKind::Rule => "rule",
        }
    }
}

impl fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure a detector is; the `hybrid` mode blocks only [`Confidence::High`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Suspicious but plausibly benign (e.g. an untokenizable query containing an input).
    Low,
    /// Probably an attack.
    Medium,
    /// The input demonstrably changed the sink's structure.
    High,
}

/// One detection, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which detector fired.
    pub detector: DetectorKind,
    /// Stable rule id, e.g. `sqli.tautology`, `shell.command-separator`, `path.traversal`;
    /// for [`DetectorKind::Rule`] the `id` the operator gave the policy rule. Built-in ids
    /// are borrowed, so detectors never allocate for them.
    pub rule_id: Cow<'static, str>,
    /// The input that reached the sink, when the rule needs one.
    pub input: Option<Input>,
    /// Byte range `[start, end)` of the sink argument that the input covered.
    pub span: Option<(usize, usize)>,
    /// Human-readable reason, e.g. "input spans 4 tokens and adds the operator `;`".
    pub reason: String,
    /// How sure the detector is.
    pub confidence: Confidence,
}

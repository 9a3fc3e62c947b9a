//! Path traversal and sensitive files (placeholder).

use crate::config::DetectorSettings;
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::input::Input;

/// Checks a path against the inputs that occur in it.
pub fn check(path: &str, candidates: &[&Input], cfg: &DetectorSettings) -> Option<Finding> {
    let input = candidates
        .iter()
        .find(|i| i.value.len() >= cfg.min_input_len && i.value.contains(".."))?;
    let start = path.find(&input.value)?;
    Some(Finding {
        detector: DetectorKind::Path,
        rule_id: "path.traversal",
        input: Some((*input).clone()),
        span: Some((start, start + input.value.len())),
        reason: "input adds '..' segments".into(),
        confidence: Confidence::High,
    })
}

/// Matches paths against the sensitive-file globs.
#[derive(Debug, Clone)]
pub struct SensitiveMatcher;

impl SensitiveMatcher {
    /// Compiles the globs.
    pub fn new(_globs: &[String]) -> Self {
        Self
    }

    /// A finding when `path` is sensitive.
    pub fn check(&self, _path: &str) -> Option<Finding> {
        None
    }
}

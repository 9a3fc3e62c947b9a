//! Shell injection (placeholder; being replaced by the POSIX-lexer detector).

use crate::config::DetectorSettings;
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::input::Input;

/// Checks a shell command line against the inputs that occur in it.
pub fn check(command: &str, candidates: &[&Input], cfg: &DetectorSettings) -> Option<Finding> {
    let input = candidates.iter().find(|i| {
        i.value.len() >= cfg.min_input_len && i.value.contains([';', '|', '&', '`', '$', '\n'])
    })?;
    let start = command.find(&input.value)?;
    Some(Finding {
        detector: DetectorKind::Shell,
        rule_id: "shell.injection",
        input: Some((*input).clone()),
        span: Some((start, start + input.value.len())),
        reason: "input adds shell operators".into(),
        confidence: Confidence::High,
    })
}

//! Command injection into argv execs (placeholder).

use crate::config::DetectorSettings;
use crate::finding::Finding;
use crate::input::Input;

/// The script argument when `prog` is a shell run with `-c`.
pub fn shell_script<'a>(prog: &str, argv: &'a [String]) -> Option<&'a str> {
    let name = prog.rsplit('/').next().unwrap_or(prog);
    if !matches!(name, "sh" | "bash" | "dash" | "zsh" | "ash" | "ksh") {
        return None;
    }
    let pos = argv.iter().position(|a| a == "-c")?;
    argv.get(pos + 1).map(String::as_str)
}

/// Checks an argv exec.
pub fn check(
    _prog: &str,
    _argv: &[String],
    _candidates: &[&Input],
    _cfg: &DetectorSettings,
) -> Option<Finding> {
    None
}

//! SQL injection (placeholder).

use crate::config::DetectorSettings;
use crate::finding::Finding;
use crate::input::Input;
use crate::sink::SqlDialect;

/// Checks SQL text against the inputs that occur in it.
pub fn check(
    _query: &str,
    _dialect: SqlDialect,
    _candidates: &[&Input],
    _cfg: &DetectorSettings,
) -> Option<Finding> {
    None
}

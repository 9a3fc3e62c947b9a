//! Raw correlation for traffic we do not parse (placeholder).

use crate::input::Input;

/// Maximal common substrings of at least `min` bytes between `raw` and `arg`.
pub fn common_substrings(_raw: &[u8], _arg: &str, _min: usize) -> Vec<Input> {
    Vec::new()
}

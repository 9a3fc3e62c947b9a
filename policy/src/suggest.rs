//! "Did you mean …?" hints for misspelt policy keys and values.
//!
//! serde reports an unknown key as ``unknown field `bufer_bytes`, expected one of
//! `buffer_bytes`, `window_ms`, …`` (and an unknown enum value as ``unknown variant …``). The
//! list of known names of that very table is already in the message, so the hint is computed
//! from it: the known name with the smallest edit distance (Levenshtein plus adjacent swaps),
//! if it is close enough to be a plausible typo. Nothing here depends on serde's wording
//! beyond the backtick quoting; a message we cannot read simply gets no hint.

/// The hint for a deserialisation error message, e.g. ``did you mean `buffer_bytes`?``.
pub fn hint_for(message: &str) -> Option<String> {
    let (unknown, expected) = parse_unknown(message)?;
    let best = closest(unknown, &expected)?;
    Some(format!("did you mean `{best}`?"))
}

/// The known name closest to `word`, when the distance is small relative to its length
/// (at most one edit per three characters, and at least one edit is tolerated).
pub fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (edit_distance(&word_lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Splits ``unknown field `x`, expected one of `a`, `b` `` into `("x", ["a", "b"])`.
fn parse_unknown(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message
        .strip_prefix("unknown field ")
        .or_else(|| message.strip_prefix("unknown variant "))?;
    let (unknown_part, expected_part) = rest.split_once(", expected")?;
    let unknown = unknown_part.strip_prefix('`')?.strip_suffix('`')?;
    // Names are the odd-numbered pieces between backticks.
    let expected: Vec<&str> = expected_part.split('`').skip(1).step_by(2).collect();
    if expected.is_empty() {
        return None;
    }
    Some((unknown, expected))
}

/// Edit distance counting insertions, deletions, substitutions and swaps of two adjacent
/// characters (optimal string alignment: `burts` is one edit from `burst`), over chars, in
/// O(|a|·|b|) time.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // Row-major (|a|+1) × (|b|+1) table; `at` reads a cell, treating a missing one as far.
    let mut d: Vec<usize> = vec![0; (a.len() + 1) * width];
    let at = |d: &[usize], i: usize, j: usize| d.get(i * width + j).copied().unwrap_or(usize::MAX);
    for (i, ca) in std::iter::once(None).chain(a.iter().map(Some)).enumerate() {
        for (j, cb) in std::iter::once(None).chain(b.iter().map(Some)).enumerate() {
            let value = match (ca, cb) {
                (None, _) => j,
                (_, None) => i,
                (Some(x), Some(y)) => {
                    let cost = usize::from(x != y);
                    let mut v = (at(&d, i - 1, j - 1).saturating_add(cost))
                        .min(at(&d, i - 1, j).saturating_add(1))
                        .min(at(&d, i, j - 1).saturating_add(1));
                    let swapped =
                        i > 1 && j > 1 && a.get(i - 2) == Some(y) && b.get(j - 2) == Some(x);
                    if swapped {
                        v = v.min(at(&d, i - 2, j - 2).saturating_add(1));
                    }
                    v
                }
            };
            if let Some(cell) = d.get_mut(i * width + j) {
                *cell = value;
            }
        }
    }
    at(&d, a.len(), b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("bufer_bytes", "buffer_bytes"), 1);
        assert_eq!(edit_distance("blok", "block"), 1);
        assert_eq!(edit_distance("burts", "burst"), 1);
        assert_eq!(edit_distance("ca", "abc"), 3);
    }

    #[test]
    fn hints_from_serde_messages() {
        let m = "unknown field `bufer_bytes`, expected one of `buffer_bytes`, `window_ms`, \
                 `window_requests`";
        assert_eq!(hint_for(m).as_deref(), Some("did you mean `buffer_bytes`?"));
        let m = "unknown variant `blok`, expected one of `monitor`, `block`, `hybrid`";
        assert_eq!(hint_for(m).as_deref(), Some("did you mean `block`?"));
        let m = "unknown field `enabld`, expected `enabled` or `action`";
        assert_eq!(hint_for(m).as_deref(), Some("did you mean `enabled`?"));
    }

    #[test]
    fn no_hint_for_distant_or_unreadable() {
        let m = "unknown field `zzzzzz`, expected one of `mode`, `capture`";
        assert_eq!(hint_for(m), None);
        assert_eq!(hint_for("invalid type: integer"), None);
        assert_eq!(hint_for("unknown field `x`, there are no fields"), None);
    }
}

//! User inputs: decoded values that arrived from the network, each tagged with where it came from.
//!
//! An [`InputSet`] is built once per request (the agent caches it) and answers the hot question
//! "which inputs occur verbatim in this sink argument?" with a single Aho-Corasick pass, so a
//! sink that contains none of them costs one scan, independent of the number of inputs.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Serialize;

/// One user-controlled value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    /// Where the value came from, e.g. `query.id`, `json.user.name`, `header.user-agent`,
    /// `cookie.sid`, `path[2]`, `multipart.file.filename`, `raw` for non-HTTP traffic.
    pub origin: String,
    /// The decoded value as the application sees it (lossy UTF-8).
    pub value: String,
}

impl Input {
    /// Builds an input from an origin and a value.
    pub fn new(origin: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            value: value.into(),
        }
    }
}

/// The inputs of one request plus a matcher over their values.
#[derive(Debug, Clone)]
pub struct InputSet {
    inputs: Vec<Input>,
    /// Indices into `inputs` of the patterns in `matcher` (only values of at least `min_len`).
    pattern_to_input: Vec<usize>,
    matcher: Option<AhoCorasick>,
}

impl InputSet {
    /// Builds the set; values shorter than `min_len` bytes are kept but never matched
    /// (a one-letter value occurs in almost every sink and proves nothing).
    pub fn new(inputs: Vec<Input>, min_len: usize) -> Self {
        let mut pattern_to_input = Vec::new();
        let mut patterns = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            if input.value.len() >= min_len.max(1) {
                pattern_to_input.push(i);
                patterns.push(input.value.as_bytes());
            }
        }
        let matcher = if patterns.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .ok()
        };
        Self {
            inputs,
            pattern_to_input,
            matcher,
        }
    }

    /// An empty set (no request correlated).
    pub fn empty() -> Self {
        Self {
            inputs: Vec::new(),
            pattern_to_input: Vec::new(),
            matcher: None,
        }
    }

    /// All inputs, matched or not.
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// True when there are no inputs at all.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The distinct inputs whose value occurs verbatim in `haystack`, in input order.
    pub fn occurring_in(&self, haystack: &str) -> Vec<&Input> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        let mut hits: Vec<usize> = Vec::new();
        for m in matcher.find_overlapping_iter(haystack.as_bytes()) {
            if let Some(&idx) = self.pattern_to_input.get(m.pattern().as_usize()) {
                if !hits.contains(&idx) {
                    hits.push(idx);
                }
            }
        }
        hits.sort_unstable();
        hits.iter().filter_map(|&i| self.inputs.get(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_inputs_present_and_long_enough() {
        let set = InputSet::new(
            vec![
                Input::new("query.a", "x"),
                Input::new("query.b", "etc/passwd"),
                Input::new("query.c", "absent"),
                Input::new("query.d", "passwd"),
            ],
            3,
        );
        let hits: Vec<_> = set
            .occurring_in("cat /etc/passwd")
            .iter()
            .map(|i| i.origin.clone())
            .collect();
        assert_eq!(hits, vec!["query.b", "query.d"]);
    }

    #[test]
    fn empty_set_matches_nothing() {
        assert!(InputSet::empty().occurring_in("anything").is_empty());
    }
}

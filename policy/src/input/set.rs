//! The inputs of one request plus the matcher that finds them in sink arguments.
//!
//! An [`InputSet`] is built once per request (the agent caches it) and answers the hot question
//! "which inputs occur verbatim in this sink argument?".
//!
//! Why not a plain Aho-Corasick automaton: building one costs tens of microseconds for a
//! typical request's inputs (hundreds for its DFA), which every request would pay even though
//! most sink calls contain no input at all. Instead the set keeps a 512-byte fingerprint
//! table of every value's first few bytes, built with a few passes over the values and a
//! counting sort of them by fingerprint (under a microsecond for a hundred values). A sink argument
//! is scanned once, fingerprinting each position; only positions whose fingerprint is in the
//! table are compared against the values that share it. Verification work is bounded by a
//! budget proportional to the argument's length: past it (a hostile argument whose every
//! position looks like an input) the set builds an Aho-Corasick automaton once and answers
//! with it, so the time stays linear in the argument whatever its content.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{InputRef, Inputs};

/// The inputs of one request plus a matcher over their values.
#[derive(Debug, Clone)]
pub struct InputSet {
    inputs: Inputs,
    /// Indices into `inputs` of the matched values (those of at least `min_len` bytes), in
    /// input order; a pattern is identified by its position here.
    pattern_to_input: Vec<u32>,
    /// `None` when no value is long enough to be matched.
    matcher: Option<Box<Matcher>>,
}

/// log2 of the number of bits in the fingerprint table.
const TABLE_BITS: u32 = 12;

/// Words of the fingerprint table.
const TABLE_WORDS: usize = (1 << TABLE_BITS) / 64;

/// Bytes of values that verification may compare, per byte of the sink argument, before the
/// automaton takes over.
const VERIFY_BUDGET_PER_BYTE: usize = 8;

/// Verification bytes always allowed, so short arguments never build the automaton.
const VERIFY_BUDGET_BASE: usize = 4096;

/// log2 of the number of groups the patterns are sorted into by fingerprint.
const GROUP_BITS: u32 = 6;

/// Fingerprints of the matched values' first bytes, and the automaton built on demand.
#[derive(Debug, Clone)]
struct Matcher {
    /// Bytes fingerprinted: the shortest matched value's length, at most 4.
    width: usize,
    /// Keeps the low `width` bytes of a little-endian 4-byte window.
    key_mask: u32,
    /// Bit `h` is set when some value's fingerprint is `h`.
    table: [u64; TABLE_WORDS],
    /// Patterns grouped by the high `GROUP_BITS` bits of their fingerprint (a counting sort:
    /// a comparison sort cost a third of building the set), in pattern order within a group:
    /// group `g` is `grouped[starts[g]..starts[g + 1]]`.
    grouped: Vec<Entry>,
    starts: [u32; GROUPS + 1],
    /// Built the first time verification exceeds its budget.
    automaton: OnceLock<Option<AhoCorasick>>,
}

/// One pattern in [`Matcher::grouped`].
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    pattern: u32,
    fingerprint: u16,
}

/// Groups of [`Matcher::grouped`].
const GROUPS: usize = 1 << GROUP_BITS;

impl Matcher {
    /// The matcher of `patterns` (pattern `p` is the `p`-th); `None` when there is none or
    /// one is empty.
    fn new<'v, I>(patterns: I) -> Option<Self>
    where
        I: ExactSizeIterator<Item = &'v [u8]> + Clone,
    {
        let width = patterns.clone().map(<[u8]>::len).min()?.min(4);
        if width == 0 {
            return None;
        }
        let key_mask = u32::MAX >> (8 * (4 - width));
        let mut table = [0u64; TABLE_WORDS];
        let mut starts = [0u32; GROUPS + 1];
        for p in patterns.clone() {
            let h = fingerprint(key_of(p, width));
            if let Some(word) = table.get_mut(usize::from(h) / 64) {
                *word |= 1 << (h % 64);
            }
            if let Some(n) = starts.get_mut(group(h) + 1) {
                *n += 1;
            }
        }
        let mut total = 0;
        for n in &mut starts {
            total += *n;
            *n = total;
        }
        // The fingerprints are computed again rather than kept: cheaper than a buffer.
        let mut next = starts;
        let mut grouped = vec![Entry::default(); patterns.len()];
        for (pattern, p) in (0..u32::try_from(patterns.len()).ok()?).zip(patterns) {
            let fingerprint = fingerprint(key_of(p, width));
            if let Some(at) = next.get_mut(group(fingerprint)) {
                if let Some(slot) = grouped.get_mut(*at as usize) {
                    *slot = Entry {
                        pattern,
                        fingerprint,
                    };
                }
                *at += 1;
            }
        }
        Some(Self {
            width,
            key_mask,
            table,
            grouped,
            starts,
            automaton: OnceLock::new(),
        })
    }

    /// The patterns whose fingerprint is in the group of `h` (callers check the fingerprint).
    fn group_of(&self, h: u16) -> &[Entry] {
        let g = group(h);
        let (start, end) = (self.starts.get(g), self.starts.get(g + 1));
        match (start, end) {
            (Some(&start), Some(&end)) => self.grouped.get(start as usize..end as usize),
            _ => None,
        }
        .unwrap_or_default()
    }

    /// The fingerprint of the `width` bytes whose little-endian key is `key` (higher bytes are
    /// ignored), when some value may start with them.
    fn maybe(&self, key: u32) -> Option<u16> {
        let h = fingerprint(key & self.key_mask);
        let word = self.table.get(usize::from(h) / 64)?;
        (word & (1 << (h % 64)) != 0).then_some(h)
    }
}

/// Little-endian key of the first `width` (≤ 4) bytes of `bytes`.
fn key_of(bytes: &[u8], width: usize) -> u32 {
    match bytes.first_chunk::<4>() {
        // The common case: one load, the bytes past `width` masked off.
        Some(four) => {
            let mask = u32::MAX
                .checked_shr(8 * (4 - width.min(4) as u32))
                .unwrap_or(0);
            u32::from_le_bytes(*four) & mask
        }
        None => bytes
            .iter()
            .take(width)
            .enumerate()
            .fold(0, |key, (j, &b)| key | u32::from(b) << (8 * j)),
    }
}

/// The group of fingerprint `h` (its high `GROUP_BITS` bits).
fn group(h: u16) -> usize {
    usize::from(h >> (TABLE_BITS - GROUP_BITS))
}

/// Multiplicative hash of a key onto the table.
fn fingerprint(key: u32) -> u16 {
    // The shift leaves `TABLE_BITS` (< 16) bits.
    (key.wrapping_mul(0x9E37_79B1) >> (32 - TABLE_BITS)) as u16
}

/// Patterns found so far, as a bit set over pattern numbers.
struct Found {
    bits: Vec<u64>,
    count: usize,
}

impl Found {
    fn new(patterns: usize) -> Self {
        Self {
            bits: vec![0; patterns.div_ceil(64)],
            count: 0,
        }
    }

    fn contains(&self, p: usize) -> bool {
        self.bits
            .get(p / 64)
            .is_some_and(|w| w & (1 << (p % 64)) != 0)
    }

    fn insert(&mut self, p: usize) {
        if let Some(w) = self.bits.get_mut(p / 64) {
            if *w & (1 << (p % 64)) == 0 {
                *w |= 1 << (p % 64);
                self.count += 1;
            }
        }
    }

    /// The pattern numbers, ascending.
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(i, &w)| {
            (0..64)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| i * 64 + b)
        })
    }
}

impl InputSet {
    /// Builds the set; values shorter than `min_len` bytes are kept but never matched
    /// (a one-letter value occurs in almost every sink and proves nothing).
    pub fn new(inputs: Inputs, min_len: usize) -> Self {
        let mut pattern_to_input = Vec::with_capacity(inputs.len());
        for i in 0..inputs.len() {
            let long_enough = inputs.value_bytes(i).len() >= min_len.max(1);
            if let (true, Ok(i)) = (long_enough, u32::try_from(i)) {
                pattern_to_input.push(i);
            }
        }
        let patterns = pattern_to_input
            .iter()
            .map(|&i| inputs.value_bytes(i as usize));
        let matcher = Matcher::new(patterns).map(Box::new);
        Self {
            inputs,
            pattern_to_input,
            matcher,
        }
    }

    /// An empty set (no request correlated).
    pub fn empty() -> Self {
        Self {
            inputs: Inputs::default(),
            pattern_to_input: Vec::new(),
            matcher: None,
        }
    }

    /// All inputs, matched or not.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// True when there are no inputs at all.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The distinct inputs whose value occurs verbatim in `haystack`, in input order.
    pub fn occurring_in(&self, haystack: &str) -> Vec<InputRef<'_>> {
        let Some(m) = &self.matcher else {
            return Vec::new();
        };
        let hay = haystack.as_bytes();
        let mut scan = Scan {
            set: self,
            m,
            hay,
            found: None,
            budget: hay
                .len()
                .saturating_mul(VERIFY_BUDGET_PER_BYTE)
                .saturating_add(VERIFY_BUDGET_BASE),
        };
        let complete = scan.run();
        let found = if complete {
            scan.found
        } else {
            Some(self.find_with_automaton(m, hay))
        };
        let Some(found) = found else {
            return Vec::new();
        };
        found
            .iter()
            .filter_map(|p| self.pattern_to_input.get(p))
            .filter_map(|&i| self.inputs.get(i as usize))
            .collect()
    }

    /// The value of pattern `p`.
    fn pattern(&self, p: usize) -> &[u8] {
        self.pattern_to_input
            .get(p)
            .map_or(b"", |&i| self.inputs.value(i as usize).as_bytes())
    }

    /// Every pattern occurring in `hay`, with one overlapping Aho-Corasick pass.
    #[cold]
    fn find_with_automaton(&self, m: &Matcher, hay: &[u8]) -> Found {
        let mut found = Found::new(self.pattern_to_input.len());
        let automaton = m.automaton.get_or_init(|| {
            let patterns = (0..self.pattern_to_input.len()).map(|p| self.pattern(p));
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(patterns)
                .ok()
        });
        match automaton {
            Some(ac) => {
                for hit in ac.find_overlapping_iter(hay) {
                    found.insert(hit.pattern().as_usize());
                    if found.count == self.pattern_to_input.len() {
                        break;
                    }
                }
            }
            // The automaton could not be built (too large): search each value on its own.
            None => {
                for p in 0..self.pattern_to_input.len() {
                    if memchr::memmem::find(hay, self.pattern(p)).is_some() {
                        found.insert(p);
                    }
                }
            }
        }
        found
    }
}

/// One fingerprint scan of a sink argument.
struct Scan<'a> {
    set: &'a InputSet,
    m: &'a Matcher,
    hay: &'a [u8],
    /// Allocated at the first verified match.
    found: Option<Found>,
    /// Bytes of values that may still be compared.
    budget: usize,
}

impl Scan<'_> {
    /// Scans every position; false when the verification budget ran out.
    fn run(&mut self) -> bool {
        let (m, hay) = (self.m, self.hay);
        if hay.len() < m.width {
            return true;
        }
        for (at, window) in hay.windows(4).enumerate() {
            let key = u32::from_le_bytes(<[u8; 4]>::try_from(window).unwrap_or_default());
            if let Some(h) = m.maybe(key) {
                if !self.verify(at, h) {
                    return false;
                }
            }
        }
        // Positions too close to the end for a whole 4-byte window.
        for at in hay.len().saturating_sub(3)..=hay.len() - m.width {
            let key = key_of(hay.get(at..).unwrap_or(b""), m.width);
            if let Some(h) = m.maybe(key) {
                if !self.verify(at, h) {
                    return false;
                }
            }
        }
        true
    }

    /// Compares the values fingerprinted `h` with the argument at `at`; false when the
    /// budget ran out.
    #[inline(never)]
    fn verify(&mut self, at: usize, h: u16) -> bool {
        let rest = self.hay.get(at..).unwrap_or(b"");
        for entry in self.m.group_of(h) {
            let p = entry.pattern as usize;
            if entry.fingerprint != h || self.found.as_ref().is_some_and(|f| f.contains(p)) {
                continue;
            }
            let value = self.set.pattern(p);
            let Some(budget) = self.budget.checked_sub(value.len()) else {
                return false;
            };
            self.budget = budget;
            if rest.starts_with(value) {
                self.found
                    .get_or_insert_with(|| Found::new(self.set.pattern_to_input.len()))
                    .insert(p);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Input;

    /// An input set of these inputs.
    fn set_of(inputs: impl IntoIterator<Item = Input>, min_len: usize) -> InputSet {
        InputSet::new(inputs.into_iter().collect(), min_len)
    }

    #[test]
    fn finds_only_inputs_present_and_long_enough() {
        let set = set_of(
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
            .map(|i| i.origin.to_owned())
            .collect();
        assert_eq!(hits, vec!["query.b", "query.d"]);
    }

    #[test]
    fn empty_set_matches_nothing() {
        assert!(InputSet::empty().occurring_in("anything").is_empty());
    }

    /// Origins of the inputs of `values` (named by position) found in `haystack`.
    fn found(values: &[&str], min_len: usize, haystack: &str) -> Vec<String> {
        let inputs = values
            .iter()
            .enumerate()
            .map(|(i, v)| Input::new(format!("i{i}"), *v));
        set_of(inputs, min_len)
            .occurring_in(haystack)
            .iter()
            .map(|i| i.origin.to_owned())
            .collect()
    }

    #[test]
    fn values_at_the_very_end_and_shorter_than_a_window_are_found() {
        assert_eq!(found(&["ab", "xyz"], 1, "..ab"), ["i0"]);
        assert_eq!(found(&["ab", "xyz"], 1, "ab"), ["i0"]);
        assert_eq!(found(&["xyz", "abcdef"], 1, "--xyz"), ["i0"]);
        assert_eq!(found(&["a"], 1, "ba"), ["i0"]);
        assert!(found(&["abc"], 1, "ab").is_empty());
    }

    #[test]
    fn equal_values_from_different_origins_are_all_reported() {
        assert_eq!(
            found(&["secret", "x", "secret"], 2, "a secret"),
            ["i0", "i2"]
        );
    }

    #[test]
    fn overlapping_and_nested_values_are_all_reported() {
        let hits = found(
            &["passwd", "etc/pass", "etc/passwd", "tc/p"],
            3,
            "/etc/passwd",
        );
        assert_eq!(hits, ["i0", "i1", "i2", "i3"]);
    }

    #[test]
    fn a_hostile_argument_falls_back_to_the_automaton_with_the_same_answer() {
        // Every position of the argument shares its fingerprint with every value, and no
        // value occurs until the end: verification runs out of budget.
        let inputs =
            (0..300).map(|i| Input::new(format!("i{i}"), format!("{}{i}", "a".repeat(40))));
        let set = set_of(inputs, 3);
        let hits = set.occurring_in(&format!("{}7", "a".repeat(5000)));
        let origins: Vec<&str> = hits.iter().map(|i| i.origin).collect();
        assert_eq!(origins, ["i7"]);
        let built = set.matcher.as_ref().and_then(|m| m.automaton.get());
        assert!(built.is_some_and(Option::is_some));
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_a_naive_search(
            values in proptest::collection::vec("[ab/.]{0,6}", 0..12),
            haystack in "[ab/.]{0,40}",
            min_len in 0usize..4,
        ) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let expected: Vec<String> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.len() >= min_len.max(1) && haystack.contains(v.as_str()))
                .map(|(i, _)| format!("i{i}"))
                .collect();
            proptest::prop_assert_eq!(found(&refs, min_len, &haystack), expected);
        }
    }
}

//! Raw correlation for traffic we do not parse: the long common substrings between what a
//! connection received and what reached a sink.
//!
//! Without a protocol parser we cannot say which received bytes are "the input", but a run of
//! at least `min` bytes (default 8) that appears both in the received bytes and in the sink
//! argument is very likely to have travelled from one to the other.
//!
//! Method: a suffix automaton of the shorter of the two strings, then one pass over the other,
//! tracking at each position the longest suffix that occurs in the automaton's string. A run
//! that cannot be extended to the right is a maximal common substring. Build and scan are
//! linear, so time is `O(|raw| + |arg|)` whatever the content — unlike a k-gram index, which
//! degrades to quadratic on repetitive text (`aaaa…` on both sides). Inputs longer than
//! [`MAX_SCAN`] are cut (the most recent received bytes, the start of the argument) to bound
//! memory.
//!
//! Output invariants: every value is a substring of `arg` cut on char boundaries (so the
//! engine finds it verbatim), at least `min` bytes long, distinct, not contained in a longer
//! returned match; at most [`MAX_MATCHES`] values, longest first, all with origin `raw`.

use std::collections::HashSet;

use crate::input::Input;

/// Most values returned per call.
pub const MAX_MATCHES: usize = 16;

/// Longest stretch of either string that is scanned, in bytes.
pub const MAX_SCAN: usize = 64 * 1024;

/// One automaton state: the set of substrings that end at the same positions.
struct State {
    /// Length of the longest substring in the state.
    len: u32,
    /// Suffix link (`u32::MAX` for the root).
    link: u32,
    /// End offset (exclusive) of the first occurrence of the state's substrings.
    first_end: u32,
    /// Outgoing transitions, sorted by byte.
    next: Vec<(u8, u32)>,
}

const NO_LINK: u32 = u32::MAX;

/// The suffix automaton of a byte string (at most `2n` states).
struct Automaton {
    states: Vec<State>,
}

impl Automaton {
    fn new(text: &[u8]) -> Self {
        let mut a = Automaton {
            states: Vec::with_capacity(text.len() * 2 + 1),
        };
        a.states.push(State {
            len: 0,
            link: NO_LINK,
            first_end: 0,
            next: Vec::new(),
        });
        let mut last = 0u32;
        for (i, &b) in text.iter().enumerate() {
            last = a.extend(last, b, u32::try_from(i + 1).unwrap_or(u32::MAX));
        }
        a
    }

    fn state(&self, s: u32) -> Option<&State> {
        self.states.get(s as usize)
    }

    fn go(&self, s: u32, b: u8) -> Option<u32> {
        let next = &self.state(s)?.next;
        next.binary_search_by_key(&b, |&(k, _)| k)
            .ok()
            .and_then(|i| next.get(i))
            .map(|&(_, t)| t)
    }

    fn set(&mut self, s: u32, b: u8, target: u32) {
        if let Some(state) = self.states.get_mut(s as usize) {
            match state.next.binary_search_by_key(&b, |&(k, _)| k) {
                Ok(i) => {
                    if let Some(slot) = state.next.get_mut(i) {
                        slot.1 = target;
                    }
                }
                Err(i) => state.next.insert(i, (b, target)),
            }
        }
    }

    fn link(&self, s: u32) -> u32 {
        self.state(s).map_or(NO_LINK, |st| st.link)
    }

    fn len(&self, s: u32) -> u32 {
        self.state(s).map_or(0, |st| st.len)
    }

    fn set_link(&mut self, s: u32, link: u32) {
        if let Some(st) = self.states.get_mut(s as usize) {
            st.link = link;
        }
    }

    fn push(&mut self, state: State) -> u32 {
        self.states.push(state);
        u32::try_from(self.states.len() - 1).unwrap_or(NO_LINK)
    }

    /// The textbook online construction step: appends byte `b` ending at offset `end`.
    fn extend(&mut self, last: u32, b: u8, end: u32) -> u32 {
        let cur = self.push(State {
            len: self.len(last) + 1,
            link: 0,
            first_end: end,
            next: Vec::new(),
        });
        let mut p = last;
        while p != NO_LINK && self.go(p, b).is_none() {
            self.set(p, b, cur);
            p = self.link(p);
        }
        if p == NO_LINK {
            return cur;
        }
        let Some(q) = self.go(p, b) else {
            return cur;
        };
        if self.len(p) + 1 == self.len(q) {
            self.set_link(cur, q);
            return cur;
        }
        let Some(q_state) = self.state(q) else {
            return cur;
        };
        let clone = State {
            len: self.len(p) + 1,
            link: q_state.link,
            first_end: q_state.first_end,
            next: q_state.next.clone(),
        };
        let clone = self.push(clone);
        while p != NO_LINK && self.go(p, b) == Some(q) {
            self.set(p, b, clone);
            p = self.link(p);
        }
        self.set_link(q, clone);
        self.set_link(cur, clone);
        cur
    }
}

/// Maximal common substrings (≥ `min` bytes) between the received bytes `raw` and a sink
/// argument `arg`, as inputs with origin `raw`, longest first (see the module invariants).
pub fn common_substrings(raw: &[u8], arg: &str, min: usize) -> Vec<Input> {
    let min = min.max(1);
    let raw = raw.get(raw.len().saturating_sub(MAX_SCAN)..).unwrap_or(raw);
    let arg_bytes = arg.as_bytes();
    let arg_bytes = arg_bytes.get(..MAX_SCAN).unwrap_or(arg_bytes);
    if raw.len() < min || arg_bytes.len() < min {
        return Vec::new();
    }

    // Automaton over the shorter string; scan the longer one.
    let arg_is_indexed = arg_bytes.len() <= raw.len();
    let (indexed, scanned) = if arg_is_indexed {
        (arg_bytes, raw)
    } else {
        (raw, arg_bytes)
    };
    let automaton = Automaton::new(indexed);

    // Candidate spans in `arg`, one per distinct value: a value is identified by the first
    // end offset of its automaton state and its length.
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut record = |state: u32, len: u32, scan_end: usize| {
        if (len as usize) < min {
            return;
        }
        let Some(first_end) = automaton.state(state).map(|s| s.first_end) else {
            return;
        };
        if !seen.insert((first_end, len)) {
            return;
        }
        let end = if arg_is_indexed {
            first_end as usize
        } else {
            scan_end
        };
        spans.push((end.saturating_sub(len as usize), end));
    };

    let (mut state, mut len) = (0u32, 0u32);
    for (i, &b) in scanned.iter().enumerate() {
        let (prev_state, prev_len) = (state, len);
        while state != 0 && automaton.go(state, b).is_none() {
            state = automaton.link(state);
            len = automaton.len(state);
        }
        match automaton.go(state, b) {
            Some(next) => {
                state = next;
                len += 1;
            }
            None => {
                state = 0;
                len = 0;
            }
        }
        // The previous run could not be extended by `b`: it was maximal.
        if len != prev_len + 1 {
            record(prev_state, prev_len, i);
        }
    }
    record(state, len, scanned.len());

    select(arg, spans, min)
}

/// Cuts spans to char boundaries, drops short and contained ones, keeps the longest.
fn select(arg: &str, spans: Vec<(usize, usize)>, min: usize) -> Vec<Input> {
    let mut spans: Vec<(usize, usize)> = spans
        .into_iter()
        .filter_map(|(mut start, mut end)| {
            while start < end && !arg.is_char_boundary(start) {
                start += 1;
            }
            while end > start && !arg.is_char_boundary(end) {
                end -= 1;
            }
            (end - start >= min).then_some((start, end))
        })
        .collect();
    spans.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));

    let mut kept: Vec<(usize, usize)> = Vec::new();
    let mut out = Vec::new();
    for (start, end) in spans {
        if out.len() >= MAX_MATCHES {
            break;
        }
        if kept.iter().any(|&(s, e)| s <= start && end <= e) {
            continue;
        }
        let Some(value) = arg.get(start..end) else {
            continue;
        };
        if out.iter().any(|i: &Input| i.value == value) {
            continue;
        }
        kept.push((start, end));
        out.push(Input::new("raw", value));
    }
    out
}

//! The bounded, deduplicating sink every carrier parser writes its inputs into.
//!
//! Invariants, whatever the request looks like:
//! * never more than `max_inputs` inputs, never more than `max_total_bytes` bytes of values;
//! * no empty value, and no `(origin, value)` pair twice;
//! * when the count limit is reached, a new value longer than the shortest kept value replaces
//!   it. Why: the engine ignores very short values anyway, so without this an attacker could
//!   pad a request with hundreds of one-byte parameters and push the real payload out of the
//!   set. Values that do not fit the byte budget are skipped, not truncated (a truncated value
//!   is no longer what the application sees).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{BuildHasher, RandomState};

use super::decode::{MAX_NAME_IN_ORIGIN, Scratch, lossy, truncate_str};
use crate::config::ExtractionSettings;
use crate::input::{Inputs, OriginWriter};

/// Inputs of an ordinary request (a 2 KiB form or JSON request yields about 120); the first
/// allocations are sized for it so that the common case never regrows.
const TYPICAL_INPUTS: usize = 128;

/// What became of a pushed input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Kept (possibly in place of a shorter one).
    Added,
    /// The same origin and value are already kept.
    Duplicate,
    /// Empty, or over a limit.
    Dropped,
}

/// Collects the inputs of every request in one captured buffer.
pub(crate) struct Collector {
    max_inputs: usize,
    max_total_bytes: usize,
    inputs: Inputs,
    /// Bytes of the values kept (origins not counted).
    total_bytes: usize,
    /// Every kept input, by a hash of its value, to spot duplicate pairs.
    seen: Seen,
    /// Per-call seed of that hash, so that a sender cannot aim for collisions.
    seed: u64,
    /// Reused decoding buffers.
    scratch: Scratch,
    /// `(value length, index)` of every kept input; built once the count limit is reached.
    shortest: Option<BinaryHeap<Reverse<(usize, usize)>>>,
}

impl Collector {
    /// An empty collector bounded by `limits`, sized for a buffer of `buffer_len` bytes.
    pub(crate) fn new(limits: &ExtractionSettings, buffer_len: usize) -> Self {
        // Values are mostly shorter than on the wire, but origins repeat parameter names and
        // several carriers report a value twice (the raw query string and its parameters).
        let arena = buffer_len
            .saturating_mul(2)
            .min(limits.max_total_bytes.saturating_mul(2));
        Self {
            max_inputs: limits.max_inputs,
            max_total_bytes: limits.max_total_bytes,
            inputs: Inputs::with_capacity(TYPICAL_INPUTS.min(limits.max_inputs), arena),
            total_bytes: 0,
            seen: Seen::with_capacity(TYPICAL_INPUTS.min(limits.max_inputs)),
            seed: RandomState::new().hash_one(0x5eed_u64) | 1,
            scratch: Scratch::default(),
            shortest: None,
        }
    }

    /// Adds one input unless it is empty, a duplicate, or over the limits.
    pub(crate) fn push(&mut self, origin: &str, value: &str) -> Pushed {
        self.push_with(|o| o.push_str(origin), value)
    }

    /// Adds `value` under an origin that `write_origin` writes straight into the arena; the
    /// input is stored first and taken back when it turns out to be a duplicate or to lose
    /// against the count limit (both rare), so the common case copies each byte once.
    fn push_with(
        &mut self,
        write_origin: impl FnOnce(&mut OriginWriter<'_>),
        value: &str,
    ) -> Pushed {
        let len = value.len();
        if len == 0 || self.max_inputs == 0 || len > self.max_total_bytes {
            return Pushed::Dropped;
        }
        let at_limit = self.inputs.len() >= self.max_inputs;
        if !at_limit && self.total_bytes + len > self.max_total_bytes {
            return Pushed::Dropped;
        }
        let Some(idx) = self.inputs.push_with(write_origin, value) else {
            return Pushed::Dropped;
        };
        let Some((origin, value)) = self.inputs.bytes(idx) else {
            return Pushed::Dropped;
        };
        let hash = value_hash(self.seed, value);
        let inputs = &self.inputs;
        let same = |kept: usize| inputs.bytes(kept) == Some((origin, value));
        if self.seen.find(hash, same).is_some() {
            self.inputs.pop();
            return Pushed::Duplicate;
        }
        if at_limit {
            return self.replace_shortest(hash);
        }
        self.insert_seen(hash, idx);
        self.total_bytes += len;
        if let Some(heap) = &mut self.shortest {
            heap.push(Reverse((len, idx)));
        }
        Pushed::Added
    }

    /// Records input `idx` under `hash`, growing the table when half full.
    fn insert_seen(&mut self, hash: u64, idx: usize) {
        if self.seen.needs_growth() {
            let (seed, inputs) = (self.seed, &self.inputs);
            self.seen
                .grow(|i| inputs.bytes(i).map_or(0, |(_, v)| value_hash(seed, v)));
        }
        self.seen.insert(hash, idx);
    }

    /// The reusable decoding buffers, to give back with [`Self::return_scratch`] so that
    /// their allocations serve the whole request.
    pub(crate) fn take_scratch(&mut self) -> Scratch {
        std::mem::take(&mut self.scratch)
    }

    /// Gives back the buffers taken with [`Self::take_scratch`].
    pub(crate) fn return_scratch(&mut self, scratch: Scratch) {
        self.scratch = scratch;
    }

    /// Decodes `bytes` as lossy UTF-8 and adds the result.
    pub(crate) fn push_bytes(&mut self, origin: &str, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.push(origin, &lossy(bytes));
        }
    }

    /// Adds `value` under the origin `prefix` + `name` (the prefix ends with its separator, as
    /// in `form.`), `name` cut to [`MAX_NAME_IN_ORIGIN`] bytes (and ASCII-lowercased when
    /// `lowercase`).
    pub(crate) fn push_named(
        &mut self,
        prefix: &str,
        name: &str,
        lowercase: bool,
        value: &str,
    ) -> Pushed {
        let name = truncate_str(name, MAX_NAME_IN_ORIGIN);
        self.push_with(
            |o| {
                o.push_str(prefix);
                if lowercase {
                    o.push_lowercase(name);
                } else {
                    o.push_str(name);
                }
            },
            value,
        )
    }

    /// The count limit is reached and the last input is new: it replaces the shortest kept
    /// value if it is longer (and fits the byte budget), and is dropped otherwise.
    fn replace_shortest(&mut self, hash: u64) -> Pushed {
        let last = self.inputs.len() - 1;
        let len = self.inputs.value(last).len();
        let inputs = &self.inputs;
        let heap = self.shortest.get_or_insert_with(|| {
            (0..last)
                .map(|i| Reverse((inputs.value(i).len(), i)))
                .collect()
        });
        let shortest = heap.peek().map(|&Reverse(entry)| entry);
        let Some((old_len, idx)) = shortest.filter(|&(old_len, _)| {
            len > old_len && self.total_bytes - old_len + len <= self.max_total_bytes
        }) else {
            self.inputs.pop();
            return Pushed::Dropped;
        };
        heap.pop();
        // The evicted input's table entry now points at its replacement, which `find`
        // compares in full: it can never be taken for the evicted pair.
        self.inputs.move_last_to(idx);
        self.total_bytes = self.total_bytes - old_len + len;
        heap.push(Reverse((len, idx)));
        self.insert_seen(hash, idx);
        Pushed::Added
    }

    /// The collected inputs, in the order they were found (replacements take the evicted
    /// input's place).
    pub(crate) fn into_inputs(self) -> Inputs {
        self.inputs
    }
}

/// Seeded hash of a value: a folded multiply per 8-byte word, several times cheaper than
/// SipHash on these short strings. Origins are left out: equal values under different
/// origins only cost a comparison.
fn value_hash(seed: u64, value: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = seed;
    let mut rest = value;
    while let Some((word, tail)) = rest.split_first_chunk::<8>() {
        h = fold(h ^ u64::from_le_bytes(*word), K);
        rest = tail;
    }
    fold(h ^ tail_word(rest), K ^ value.len() as u64)
}

/// Up to 7 bytes as one word, read as two overlapping halves instead of byte by byte (the
/// length, hashed separately, disambiguates the overlap).
fn tail_word(b: &[u8]) -> u64 {
    match (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        (Some(first), Some(last)) => {
            u64::from(u32::from_le_bytes(*first)) << 32 | u64::from(u32::from_le_bytes(*last))
        }
        // 0 to 3 bytes: the first, middle and last byte cover them all.
        _ => {
            let byte = |i: usize| u64::from(b.get(i).copied().unwrap_or(0));
            let n = b.len();
            byte(0) << 16 | byte(n / 2) << 8 | byte(n.saturating_sub(1))
        }
    }
}

/// 64×64→128-bit multiply, folded back to 64 bits.
fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// An open-addressing table of input indices by value hash (linear probing, never more than
/// half full). Entries are never removed: one that points at a replaced input is compared
/// with the replacement and simply does not match.
struct Seen {
    /// `index + 1` of an input, 0 for an empty slot; the length is a power of two.
    slots: Vec<u32>,
    used: usize,
}

impl Seen {
    fn with_capacity(inputs: usize) -> Self {
        Self {
            slots: vec![0; (inputs * 2).next_power_of_two().max(16)],
            used: 0,
        }
    }

    /// The first slot to probe for `hash`; probing goes on at the next slot, wrapping.
    fn home(&self, hash: u64) -> usize {
        // The high bits are the best mixed by the folded multiply.
        (hash >> 32) as usize & (self.slots.len() - 1)
    }

    /// An input for which `same` holds among those recorded under `hash`.
    fn find(&self, hash: u64, same: impl Fn(usize) -> bool) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut slot = self.home(hash);
        // The table is never full, so an empty slot ends every probe sequence.
        loop {
            match self.slots.get(slot).copied() {
                None | Some(0) => return None,
                Some(entry) => {
                    let idx = entry as usize - 1;
                    if same(idx) {
                        return Some(idx);
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    fn needs_growth(&self) -> bool {
        (self.used + 1) * 2 > self.slots.len()
    }

    /// Records `idx` under `hash` (the caller keeps the table at most half full).
    fn insert(&mut self, hash: u64, idx: usize) {
        let Ok(entry) = u32::try_from(idx + 1) else {
            return;
        };
        let mask = self.slots.len() - 1;
        let mut slot = self.home(hash);
        while let Some(taken) = self.slots.get_mut(slot) {
            if *taken == 0 {
                *taken = entry;
                self.used += 1;
                return;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Doubles the table, re-recording every entry with `hash_of(index)`.
    #[cold]
    fn grow(&mut self, hash_of: impl Fn(usize) -> u64) {
        let doubled = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.used = 0;
        for entry in old.into_iter().filter(|&e| e != 0) {
            let idx = entry as usize - 1;
            self.insert(hash_of(idx), idx);
        }
    }
}

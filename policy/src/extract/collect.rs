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

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use super::decode::{MAX_NAME_IN_ORIGIN, lossy, truncate_str};
use crate::config::ExtractionSettings;
use crate::input::Input;

/// Inputs of an ordinary request (a 2 KiB form or JSON request yields about 120); the first
/// allocations are sized for it so that the common case never regrows.
const TYPICAL_INPUTS: usize = 128;

/// Collects the inputs of every request in one captured buffer.
pub(crate) struct Collector {
    max_inputs: usize,
    max_total_bytes: usize,
    inputs: Vec<Input>,
    total_bytes: usize,
    /// Hash of `(origin, value)` → index in `inputs`. A collision only costs a duplicate
    /// input (the pair is compared before being dropped); the hash is seeded per call, so a
    /// sender cannot aim for collisions.
    seen: HashMap<u64, usize, BuildHasherDefault<PassThrough>>,
    seed: u64,
    /// Reused buffer for origins built from a prefix and a name.
    scratch: String,
    /// Reused buffer for the name hashes of a urlencoded list.
    hashes: Vec<u64>,
    /// `(value length, index)` of every kept input; built once the count limit is reached.
    shortest: Option<BinaryHeap<Reverse<(usize, usize)>>>,
}

impl Collector {
    /// An empty collector bounded by `limits`.
    pub(crate) fn new(limits: &ExtractionSettings) -> Self {
        Self {
            max_inputs: limits.max_inputs,
            max_total_bytes: limits.max_total_bytes,
            inputs: Vec::with_capacity(TYPICAL_INPUTS.min(limits.max_inputs)),
            total_bytes: 0,
            seen: HashMap::with_capacity_and_hasher(
                TYPICAL_INPUTS.min(limits.max_inputs),
                BuildHasherDefault::default(),
            ),
            seed: RandomState::new().hash_one(0x5eed_u64) | 1,
            scratch: String::new(),
            hashes: Vec::new(),
            shortest: None,
        }
    }

    /// Adds one input unless it is empty, a duplicate, or over the limits.
    pub(crate) fn push(&mut self, origin: &str, value: Cow<'_, str>) {
        let len = value.len();
        if len == 0 || self.max_inputs == 0 || len > self.max_total_bytes {
            return;
        }
        let hash = pair_hash(self.seed, origin, &value);
        if self.inputs.len() >= self.max_inputs {
            let duplicate = self.seen.get(&hash).is_some_and(|&idx| {
                self.inputs
                    .get(idx)
                    .is_some_and(|i| i.origin == origin && i.value == value)
            });
            if !duplicate {
                self.replace_shortest(origin, value, hash);
            }
            return;
        }
        if self.total_bytes + len > self.max_total_bytes {
            return;
        }
        let idx = self.inputs.len();
        match self.seen.entry(hash) {
            Entry::Occupied(kept) => {
                let duplicate = self
                    .inputs
                    .get(*kept.get())
                    .is_some_and(|i| i.origin == origin && i.value == value);
                if duplicate {
                    return;
                }
                // A hash collision: keep both inputs, the table keeps pointing at the first.
            }
            Entry::Vacant(slot) => {
                slot.insert(idx);
            }
        }
        self.inputs.push(Input::new(origin, value));
        self.total_bytes += len;
        if let Some(heap) = &mut self.shortest {
            heap.push(Reverse((len, idx)));
        }
    }

    /// Seeded hash of one string (names, to spot repeated parameters).
    pub(crate) fn hash_str(&self, s: &str) -> u64 {
        pair_hash(self.seed, "", s)
    }

    /// An empty buffer for [`Self::hash_str`] values, to give back with
    /// [`Self::return_hashes`] so that its allocation is reused.
    pub(crate) fn take_hashes(&mut self) -> Vec<u64> {
        let mut hashes = std::mem::take(&mut self.hashes);
        hashes.clear();
        hashes
    }

    /// Gives back the buffer taken with [`Self::take_hashes`].
    pub(crate) fn return_hashes(&mut self, hashes: Vec<u64>) {
        self.hashes = hashes;
    }

    /// Decodes `bytes` as lossy UTF-8 and adds the result.
    pub(crate) fn push_bytes(&mut self, origin: &str, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.push(origin, lossy(bytes));
        }
    }

    /// Adds `value` under the origin `prefix.name`, `name` cut to [`MAX_NAME_IN_ORIGIN`] bytes
    /// (and ASCII-lowercased when `lowercase`), without allocating the origin unless kept.
    pub(crate) fn push_named(
        &mut self,
        prefix: &str,
        name: &str,
        lowercase: bool,
        value: Cow<'_, str>,
    ) {
        if value.is_empty() {
            return;
        }
        let mut origin = std::mem::take(&mut self.scratch);
        origin.clear();
        origin.push_str(prefix);
        origin.push('.');
        let start = origin.len();
        origin.push_str(truncate_str(name, MAX_NAME_IN_ORIGIN));
        if lowercase {
            if let Some(tail) = origin.get_mut(start..) {
                tail.make_ascii_lowercase();
            }
        }
        self.push(&origin, value);
        self.scratch = origin;
    }

    /// The count limit is reached: evict the shortest kept value if the new one is longer.
    fn replace_shortest(&mut self, origin: &str, value: Cow<'_, str>, hash: u64) {
        let inputs = &self.inputs;
        let heap = self.shortest.get_or_insert_with(|| {
            inputs
                .iter()
                .enumerate()
                .map(|(i, input)| Reverse((input.value.len(), i)))
                .collect()
        });
        let Some(&Reverse((old_len, idx))) = heap.peek() else {
            return;
        };
        let len = value.len();
        if len <= old_len || self.total_bytes - old_len + len > self.max_total_bytes {
            return;
        }
        let Some(slot) = self.inputs.get_mut(idx) else {
            return;
        };
        heap.pop();
        let old_hash = pair_hash(self.seed, &slot.origin, &slot.value);
        if self.seen.get(&old_hash) == Some(&idx) {
            self.seen.remove(&old_hash);
        }
        *slot = Input::new(origin, value);
        self.total_bytes = self.total_bytes - old_len + len;
        self.seen.entry(hash).or_insert(idx);
        heap.push(Reverse((len, idx)));
    }

    /// The collected inputs, in the order they were found (replacements take the evicted
    /// input's place).
    pub(crate) fn into_inputs(self) -> Vec<Input> {
        self.inputs
    }
}

/// Seeded hash of an `(origin, value)` pair: a folded multiply per 8-byte word, about ten
/// times cheaper than SipHash on these short strings.
fn pair_hash(seed: u64, origin: &str, value: &str) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = seed;
    for part in [origin.as_bytes(), value.as_bytes()] {
        let mut words = part.chunks_exact(8);
        for w in words.by_ref() {
            let word = <[u8; 8]>::try_from(w).unwrap_or_default();
            h = fold(h ^ u64::from_le_bytes(word), K);
        }
        let mut buf = [0u8; 8];
        for (d, s) in buf.iter_mut().zip(words.remainder()) {
            *d = *s;
        }
        // The length separates origin from value (`ab`+`c` ≠ `a`+`bc`).
        h = fold(h ^ u64::from_le_bytes(buf), K ^ part.len() as u64);
    }
    fold(h, seed)
}

/// 64×64→128-bit multiply, folded back to 64 bits.
fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// Hasher for keys that already are seeded hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

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
//!
//! Cost, which is most of extraction: the arena starts with a copy of the captured bytes, so a
//! value taken verbatim from the request (a header, a JSON string without escapes) is a range
//! of that copy, found by its address; only decoded values and built origins are appended.
//! Duplicates are found through a bitmap of pair hashes ([`Seen`]).

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{BuildHasher, RandomState};

use super::decode::{MAX_NAME_IN_ORIGIN, Scratch, Validated, lossy, offset_in, truncate_str};
use crate::config::ExtractionSettings;
use crate::input::{Inputs, Text, TextWriter};

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
///
/// Lives for one [`super::extract_http`] call and borrows the captured bytes for it: text is
/// found in them by address ([`Collector::place`]).
pub(crate) struct Collector<'a> {
    max_inputs: usize,
    max_total_bytes: usize,
    inputs: Inputs,
    /// The captured bytes' valid UTF-8 prefix, whose copy starts the arena: text that lies
    /// there is shared, not copied (and needs no second validation).
    source: &'a str,
    /// Bytes of the values kept (origins not counted).
    total_bytes: usize,
    /// A hash of every kept input, to spot duplicate pairs.
    seen: Seen,
    /// Per-call seed of that hash, so that a sender cannot aim for collisions.
    seed: u64,
    /// Reused decoding buffers.
    scratch: Scratch,
    /// `(value length, index)` of every kept input; built once the count limit is reached.
    shortest: Option<BinaryHeap<Reverse<(usize, usize)>>>,
}

impl<'a> Collector<'a> {
    /// An empty collector bounded by `limits`, for the captured `bytes`.
    pub(crate) fn new(limits: &ExtractionSettings, bytes: &'a [u8]) -> Self {
        let valid = match std::str::from_utf8(bytes) {
            Ok(all) => all,
            Err(e) => std::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default())
                .unwrap_or_default(),
        };
        // Decoded values are mostly shorter than on the wire; origins repeat parameter names.
        let extra = bytes
            .len()
            .saturating_mul(2)
            .min(limits.max_total_bytes.saturating_mul(2));
        let count = TYPICAL_INPUTS.min(limits.max_inputs);
        let (inputs, source) = match Inputs::with_source(valid, count, extra) {
            Some(inputs) => (inputs, valid),
            None => (Inputs::with_capacity(count, extra), ""),
        };
        Self {
            max_inputs: limits.max_inputs,
            max_total_bytes: limits.max_total_bytes,
            inputs,
            source,
            total_bytes: 0,
            seen: Seen::with_capacity(count),
            seed: RandomState::new().hash_one(0x5eed_u64) | 1,
            scratch: Scratch::default(),
            shortest: None,
        }
    }

    /// Adds one input unless it is empty, a duplicate, or over the limits.
    pub(crate) fn push(&mut self, origin: &str, value: &str) -> Pushed {
        self.push_with(value.len(), |c| Some((c.place(origin)?, c.place(value)?)))
    }

    /// Adds `value` under an origin already in the arena (see [`Collector::append`]).
    pub(crate) fn push_value(&mut self, origin: Text, value: &str) -> Pushed {
        self.push_with(value.len(), |c| Some((origin, c.place(value)?)))
    }

    /// Adds `value`, text already in the arena, under `origin`, which is appended to it.
    fn push_origin(&mut self, origin: &str, value: Text) -> Pushed {
        self.push_with(value.len(), |c| Some((c.inputs.append(origin)?, value)))
    }

    /// Adds an input made of text already in the arena (see [`Collector::append`]).
    pub(crate) fn push_text(&mut self, origin: Text, value: Text) -> Pushed {
        self.push_with(value.len(), |_| Some((origin, value)))
    }

    /// Adds the input whose origin and value (of `len` bytes) `place` puts in the arena,
    /// unless it is empty, over a limit or a duplicate; text `place` appended leaves with a
    /// dropped input.
    #[inline(always)]
    fn push_with(
        &mut self,
        len: usize,
        place: impl FnOnce(&mut Self) -> Option<(Text, Text)>,
    ) -> Pushed {
        let Some(at_limit) = self.admits(len) else {
            return Pushed::Dropped;
        };
        let mark = self.inputs.text_len();
        match place(self) {
            Some((origin, value)) => self.add(origin, value, mark, at_limit),
            None => {
                self.inputs.truncate_text(mark);
                Pushed::Dropped
            }
        }
    }

    /// Appends `s` to the arena, for inputs that share it ([`Collector::push_text`]).
    pub(crate) fn append(&mut self, s: &str) -> Option<Text> {
        self.inputs.append(s)
    }

    /// Appends the origin that `write` builds, for the inputs that `push` adds under it
    /// (`push` says whether it kept any). An origin no kept input uses is taken back, so that
    /// inputs dropped over a limit leave no text behind; the origin is returned when kept.
    pub(crate) fn push_under(
        &mut self,
        write: impl FnOnce(&mut TextWriter<'_>),
        push: impl FnOnce(&mut Self, Text) -> bool,
    ) -> Option<Text> {
        let origin = self.inputs.append_with(write)?;
        if push(self, origin) {
            Some(origin)
        } else {
            // Dropped inputs took back what they appended: the origin is last again.
            self.inputs.discard(origin);
            None
        }
    }

    /// Takes back `t`, the text appended last, which no kept input uses.
    pub(crate) fn discard(&mut self, t: Text) {
        self.inputs.discard(t);
    }

    /// The text of a range of the arena.
    pub(crate) fn slice(&self, t: Text) -> &str {
        self.inputs.slice(t)
    }

    /// Whether a value of `len` bytes may be added: `None` when it is empty or over the byte
    /// budget, else whether the count limit is reached (it then has to replace an input).
    fn admits(&self, len: usize) -> Option<bool> {
        if len == 0 || self.max_inputs == 0 || len > self.max_total_bytes {
            return None;
        }
        let at_limit = self.inputs.len() >= self.max_inputs;
        (at_limit || self.total_bytes + len <= self.max_total_bytes).then_some(at_limit)
    }

    /// `bytes`, validated as UTF-8: without a second validation when they lie in the source.
    pub(crate) fn validated(&self, bytes: &'a [u8]) -> Validated<'a> {
        let placed = offset_in(self.source.as_bytes(), bytes).and_then(|at| {
            let end = at + bytes.len();
            self.source.get(at..end).zip(self.inputs.str_at(at, end))
        });
        match placed {
            Some((text, arena)) => Validated::in_arena(bytes, text, arena),
            None => Validated::new(bytes),
        }
    }

    /// `bytes` as lossy UTF-8, borrowed without a second validation when they lie in the
    /// source.
    pub(crate) fn text(&self, bytes: &'a [u8]) -> Cow<'a, str> {
        self.validated(bytes).text(bytes)
    }

    /// `s` as a range of the arena: found in the source copy when `s` lies in the captured
    /// bytes, appended otherwise.
    fn place(&mut self, s: &str) -> Option<Text> {
        // A `&str` inside valid UTF-8 starts and ends on its char boundaries.
        offset_in(self.source.as_bytes(), s.as_bytes())
            .and_then(|at| self.inputs.str_at(at, at + s.len()))
            .or_else(|| self.inputs.append(s))
    }

    /// Adds the input `(origin, value)` unless it duplicates a kept one, or loses against the
    /// count limit; text appended since `mark` is dropped with it.
    fn add(&mut self, origin: Text, value: Text, mark: usize, at_limit: bool) -> Pushed {
        let (o, v) = (
            self.inputs.text_bytes(origin),
            self.inputs.text_bytes(value),
        );
        let hash = pair_hash(self.seed, o, v);
        let inputs = &self.inputs;
        let same = |kept: usize| inputs.bytes(kept) == Some((o, v));
        if self.seen.contains(hash, same) {
            self.inputs.truncate_text(mark);
            return Pushed::Duplicate;
        }
        if at_limit {
            return self.replace_shortest(origin, value, hash, mark);
        }
        let idx = self.inputs.push_span(origin, value);
        self.seen.push(hash);
        self.total_bytes += value.len();
        if let Some(heap) = &mut self.shortest {
            heap.push(Reverse((value.len(), idx)));
        }
        Pushed::Added
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
        self.push_named_with(prefix, name, lowercase, value.len(), |c| c.place(value))
    }

    /// Adds bytes `start..end` of `region` under `origin`: as a range of the arena when the
    /// region lies there (the caller knows both ends to be char boundaries: next to an ASCII
    /// delimiter, or the region's ends), else as lossy text.
    pub(crate) fn push_region(
        &mut self,
        origin: &str,
        region: &Validated<'_>,
        start: usize,
        end: usize,
    ) -> Pushed {
        match region.arena_at(start, end) {
            Some(value) => self.push_origin(origin, value),
            None => self.push(origin, &region.text_at(start, end)),
        }
    }

    /// [`Collector::push_named`] for `part`, a slice of `region` (as in
    /// [`Collector::push_region`]).
    pub(crate) fn push_named_region<'r>(
        &mut self,
        prefix: &str,
        name: &str,
        lowercase: bool,
        region: &Validated<'r>,
        part: &'r [u8],
    ) -> Pushed {
        match region.arena_of(part) {
            Some(value) => self.push_named_text(prefix, name, lowercase, value),
            None => self.push_named(prefix, name, lowercase, &region.text(part)),
        }
    }

    /// [`Collector::push_named`] for a value already in the arena.
    fn push_named_text(
        &mut self,
        prefix: &str,
        name: &str,
        lowercase: bool,
        value: Text,
    ) -> Pushed {
        self.push_named_with(prefix, name, lowercase, value.len(), |_| Some(value))
    }

    /// Builds the origin of [`Collector::push_named`], then places the value (`len` bytes).
    fn push_named_with(
        &mut self,
        prefix: &str,
        name: &str,
        lowercase: bool,
        len: usize,
        place: impl FnOnce(&mut Self) -> Option<Text>,
    ) -> Pushed {
        let name = truncate_str(name, MAX_NAME_IN_ORIGIN);
        self.push_with(len, |c| {
            let origin = c.inputs.append_with(|w| {
                w.push_str(prefix);
                if lowercase {
                    w.push_lowercase(name);
                } else {
                    w.push_str(name);
                }
            })?;
            Some((origin, place(c)?))
        })
    }

    /// The count limit is reached and `(origin, value)` is new: it replaces the shortest kept
    /// value if it is longer (and fits the byte budget), and is dropped otherwise (with the
    /// text appended since `mark`).
    #[cold]
    #[inline(never)]
    fn replace_shortest(&mut self, origin: Text, value: Text, hash: u64, mark: usize) -> Pushed {
        let len = value.len();
        let inputs = &self.inputs;
        let heap = self.shortest.get_or_insert_with(|| {
            (0..inputs.len())
                .map(|i| Reverse((inputs.value(i).len(), i)))
                .collect()
        });
        let shortest = heap.peek().map(|&Reverse(entry)| entry);
        let Some((old_len, idx)) = shortest.filter(|&(old_len, _)| {
            len > old_len && self.total_bytes - old_len + len <= self.max_total_bytes
        }) else {
            self.inputs.truncate_text(mark);
            return Pushed::Dropped;
        };
        heap.pop();
        self.inputs.set_span(idx, origin, value);
        self.total_bytes = self.total_bytes - old_len + len;
        heap.push(Reverse((len, idx)));
        self.seen.replace(idx, hash);
        Pushed::Added
    }

    /// The collected inputs, in the order they were found (replacements take the evicted
    /// input's place).
    pub(crate) fn into_inputs(self) -> Inputs {
        self.inputs
    }
}

/// Seeded hash of an `(origin, value)` pair. Both parts count: equal values under different
/// origins (a city in the shipping and the billing address) are common, and would otherwise
/// all look like duplicates worth a full comparison. Every byte counts too: with a part left
/// out, a sender could make all its inputs collide without knowing the seed.
///
/// Each part is one chain of 64-bit multiplies (the two chains run in parallel), finished by
/// one 128-bit folded multiply: several times cheaper than SipHash on these short strings,
/// and keyed by the per-call seed.
fn pair_hash(seed: u64, origin: &[u8], value: &[u8]) -> u64 {
    let ho = part_hash(seed, origin);
    let hv = part_hash(seed.rotate_left(32), value);
    fold(ho ^ hv.rotate_left(29), K)
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// One part of [`pair_hash`]; its length is mixed in, which separates `ab`+`c` from
/// `a`+`bc` and disambiguates the overlapping reads. Parts of up to 32 bytes (nearly every
/// origin and most values) take a fixed number of overlapping words and no loop, so there is
/// no loop exit to mispredict.
fn part_hash(seed: u64, part: &[u8]) -> u64 {
    let n = part.len();
    let word = |at: usize| {
        part.get(at..)
            .and_then(<[u8]>::first_chunk::<8>)
            .map_or(0, |w| u64::from_le_bytes(*w))
    };
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K);
    let h = seed ^ n as u64;
    match n {
        0..8 => mix(h, tail_word(part)),
        8..=16 => mix(mix(h, word(0)), word(n - 8)),
        17..=32 => {
            let h = mix(mix(h, word(0)), word(8));
            mix(mix(h, word(n - 16)), word(n - 8))
        }
        _ => {
            // Whole words, then the last eight bytes, which cover the remainder.
            let last = mix(seed, word(n - 8));
            part.chunks_exact(8)
                .map(|w| u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default()))
                .fold(h, mix)
                ^ last
        }
    }
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

/// The hashes of the kept inputs, with a bitmap of the hashes seen so far.
///
/// Why not a hash table: probing one costs a mispredicted branch per insert (a variable
/// number of probes), which was a sixth of the extraction time. Here the common case is one
/// bitmap test that comes out "never seen" (a well-predicted branch); only when the bit is
/// already set (a duplicate, or about one input in a hundred by chance) are the recorded
/// hashes scanned. The scan is linear, so a request of `n` inputs that are all duplicates
/// costs `n²/2` word comparisons at worst (about 130,000 for the default limit of 512:
/// tens of microseconds).
///
/// A replaced hash cannot be taken out of the bitmap (another hash may share its bit), so
/// the bitmap is rebuilt from the recorded hashes once as many have been replaced as are
/// recorded. Without that, a large body past the count limit set nearly every bit, and each
/// further input scanned all 512 hashes (this was 44 % of extracting a 64 KiB body).
struct Seen {
    /// Bit `hash >> (64 - SEEN_BITS)` is set for every recorded hash, and for hashes
    /// replaced since the last rebuild (inline: one heap allocation less per request).
    bits: [u64; SEEN_WORDS],
    /// `hashes[i]` is the hash of input `i`.
    hashes: Vec<u64>,
    /// Hashes replaced since the bitmap was last rebuilt.
    replaced: usize,
}

/// log2 of the bitmap's size in bits (1 KiB).
const SEEN_BITS: u32 = 13;

/// Words of the bitmap.
const SEEN_WORDS: usize = (1 << SEEN_BITS) / 64;

impl Seen {
    fn with_capacity(inputs: usize) -> Self {
        Self {
            bits: [0; SEEN_WORDS],
            hashes: Vec::with_capacity(inputs),
            replaced: 0,
        }
    }

    /// The bitmap word and bit of `hash`.
    fn bit(hash: u64) -> (usize, u64) {
        // The high bits are the best mixed by the folded multiply.
        let b = (hash >> (64 - SEEN_BITS)) as usize;
        (b / 64, 1 << (b % 64))
    }

    /// Whether a recorded input hashed `hash` is one for which `same` holds.
    fn contains(&self, hash: u64, same: impl Fn(usize) -> bool) -> bool {
        let (word, bit) = Self::bit(hash);
        self.bits.get(word).is_some_and(|w| w & bit != 0) && self.scan(hash, &same)
    }

    /// The slow path of [`Seen::contains`]: the bitmap says `hash` may have been seen.
    #[cold]
    #[inline(never)]
    fn scan(&self, hash: u64, same: &dyn Fn(usize) -> bool) -> bool {
        self.hashes
            .iter()
            .enumerate()
            .any(|(i, &h)| h == hash && same(i))
    }

    /// Sets the bitmap bit of `hash`.
    fn mark(&mut self, hash: u64) {
        let (word, bit) = Self::bit(hash);
        if let Some(w) = self.bits.get_mut(word) {
            *w |= bit;
        }
    }

    /// Records `hash` as the next input's.
    fn push(&mut self, hash: u64) {
        self.mark(hash);
        self.hashes.push(hash);
    }

    /// Records `hash` as that of input `idx`, which replaces the one recorded there.
    fn replace(&mut self, idx: usize, hash: u64) {
        self.mark(hash);
        if let Some(h) = self.hashes.get_mut(idx) {
            *h = hash;
        }
        self.replaced += 1;
        if self.replaced >= self.hashes.len() {
            self.rebuild();
        }
    }

    /// Clears the bits of replaced hashes: as many as there are recorded hashes have been
    /// replaced, so the rebuild costs O(1) per replacement.
    #[cold]
    fn rebuild(&mut self) {
        self.bits = [0; SEEN_WORDS];
        for i in 0..self.hashes.len() {
            if let Some(&h) = self.hashes.get(i) {
                self.mark(h);
            }
        }
        self.replaced = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the count limit each longer value replaces the shortest kept one. After far more
    /// replacements than kept inputs, duplicates of the kept pairs are still found, and the
    /// bitmap never holds more than twice as many bits as inputs are kept (it is rebuilt).
    #[test]
    fn duplicates_are_found_after_many_replacements() {
        let limits = ExtractionSettings {
            max_inputs: 8,
            ..ExtractionSettings::default()
        };
        let mut c = Collector::new(&limits, b"");
        for len in 1..=200 {
            assert_eq!(c.push("query.v", &"v".repeat(len)), Pushed::Added, "{len}");
            let set: u32 = c.seen.bits.iter().map(|w| w.count_ones()).sum();
            assert!(set as usize <= 2 * limits.max_inputs, "{set} bits at {len}");
        }
        assert_eq!(c.push("query.v", &"v".repeat(200)), Pushed::Duplicate);
        assert_eq!(c.push("query.v", &"v".repeat(193)), Pushed::Duplicate);
        assert_eq!(c.push("query.w", &"v".repeat(199)), Pushed::Added);
        let inputs = c.into_inputs();
        let kept: Vec<usize> = inputs.iter().map(|i| i.value.len()).collect();
        assert_eq!(kept.len(), 8);
        assert!(kept.iter().all(|&len| len >= 194), "{kept:?}");
    }
}

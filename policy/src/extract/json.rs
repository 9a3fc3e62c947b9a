//! A tolerant, iterative JSON scanner that reports every string, number, boolean and object
//! key of a body, at any depth.
//!
//! Why not `serde_json::Value`: it recurses (a hostile `[[[[…` needs a depth pre-check), it
//! rejects a body cut off by the capture cap or still arriving, and it rejects invalid UTF-8
//! and lone surrogates that lenient application parsers accept. This scanner never recurses,
//! keeps what it read before a syntax error or the end of the buffer, and decodes strings
//! lossily.
//!
//! Origins: a value at `{"a":{"b":[x]}}` is `json.a.b[0]`; a top-level scalar is `json`. An
//! object key is reported with the path of the object that holds it under the `jsonkey`
//! prefix: the key `b` above is `jsonkey.a`, the key `a` is `jsonkey`.
//!
//! Depth: containers nested deeper than `max_depth` add no segment to the origin — their
//! values are still reported, attributed to the deepest tracked ancestor. Why: nesting must not
//! hide a payload from detection (the application's parser may well accept it), while origins
//! stay bounded (`max_depth` segments of at most 64-byte names). Memory is one byte per
//! nesting level beyond `max_depth`, time is linear in the body.
//!
//! Several top-level values in a row (JSON lines) are all scanned.

use super::collect::{Collector, Pushed};
use super::decode::{MAX_NAME_IN_ORIGIN, Validated, lossy, truncate_str};
use crate::input::Text;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Array,
}

/// A container whose members get their own origin segment.
struct Tracked {
    /// Length of the origin path of the container itself.
    mark: usize,
    /// Index of the current element (arrays).
    index: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value,
    FirstKeyOrEnd,
    Key,
    Colon,
    FirstValueOrEnd,
    CommaOrEnd,
}

/// Where the text of a string is.
enum StrText {
    /// In the body, at this byte range (no escape).
    Body(usize, usize),
    /// Decoded into the caller's buffer.
    Decoded,
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of the block of [`BLOCK`] bytes that `specials` describes (`usize::MAX` before
    /// the first).
    block: usize,
    /// Bit `i` is set when byte `block + i` is a quote or a backslash.
    specials: u64,
}

/// Bytes whose quotes and backslashes are found in one go: a bit per byte in a `u64`.
const BLOCK: usize = 64;

impl Scanner<'_> {
    /// Consumes `b` when it is the next byte.
    fn eat(&mut self, b: u8) -> bool {
        let next = self.bytes.get(self.pos) == Some(&b);
        self.pos += usize::from(next);
        next
    }

    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.pos += 1;
        }
    }

    /// Reads a string starting at its opening quote. Returns where its text is (left in the
    /// body when it has no escape, else decoded into `out` as raw UTF-8 bytes), and false
    /// when the buffer ends first.
    fn string(&mut self, out: &mut Vec<u8>) -> (StrText, bool) {
        let start = self.pos + 1;
        match self.next_quote_or_backslash(start) {
            Some(stop) if self.bytes.get(stop) == Some(&b'"') => {
                self.pos = stop + 1;
                (StrText::Body(start, stop), true)
            }
            None => {
                self.pos = self.bytes.len();
                (StrText::Body(start, self.bytes.len()), false)
            }
            Some(_) => {
                self.pos = start;
                out.clear();
                let complete = self.escaped_string(out);
                (StrText::Decoded, complete)
            }
        }
    }

    /// Offset of the first quote or backslash at or after `from`.
    ///
    /// Why by blocks: a body holds dozens of short strings, and searching each one for its
    /// end cost a call and a partly used 8-byte step per string. Marking the quotes and
    /// backslashes of a whole block at once ([`special_bits`]) leaves one bit search per
    /// string; the block is computed once and serves every string that lies in it.
    fn next_quote_or_backslash(&mut self, from: usize) -> Option<usize> {
        let mut at = from;
        loop {
            let block = at & !(BLOCK - 1);
            if block != self.block {
                self.specials = special_bits(self.bytes.get(block..)?);
                self.block = block;
            }
            // `at - block < BLOCK`: the shift is in range.
            let bits = self.specials >> (at - block);
            if bits != 0 {
                return Some(at + bits.trailing_zeros() as usize);
            }
            at = block + BLOCK;
        }
    }

    /// The slow path of [`Scanner::string`]: decodes escapes into `out`. Out of line, so
    /// that the common string without escapes costs no register saves.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, out: &mut Vec<u8>) -> bool {
        loop {
            let rest = self.bytes.get(self.pos..).unwrap_or(b"");
            let Some(stop) = self.next_quote_or_backslash(self.pos) else {
                out.extend_from_slice(rest);
                self.pos = self.bytes.len();
                return false;
            };
            out.extend_from_slice(rest.get(..stop - self.pos).unwrap_or(b""));
            self.pos = stop;
            if self.bytes.get(self.pos) == Some(&b'"') {
                self.pos += 1;
                return true;
            }
            let Some(&esc) = self.bytes.get(self.pos + 1) else {
                self.pos = self.bytes.len();
                return false;
            };
            self.pos += 2;
            let simple = match esc {
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'b' => Some(0x08),
                b'f' => Some(0x0c),
                b'u' => None,
                other => Some(other),
            };
            match simple {
                Some(b) => out.push(b),
                None => {
                    let ch = self.unicode_escape();
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }

    /// Decodes the `XXXX` after `\u` (and a following low surrogate); malformed or lone
    /// surrogates become U+FFFD, as lenient parsers do.
    fn unicode_escape(&mut self) -> char {
        let Some(hi) = self.hex4() else {
            return char::REPLACEMENT_CHARACTER;
        };
        if (0xD800..0xDC00).contains(&hi) {
            let next_is_escape = self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u");
            if next_is_escape {
                let save = self.pos;
                self.pos += 2;
                if let Some(lo) = self.hex4().filter(|lo| (0xDC00..0xE000).contains(lo)) {
                    let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
                }
                self.pos = save;
            }
            return char::REPLACEMENT_CHARACTER;
        }
        char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER)
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        let mut v = 0u32;
        for &d in digits {
            v = (v << 4) | char::from(d).to_digit(16)?;
        }
        self.pos += 4;
        Some(v)
    }

    /// Reads a bare literal (a number, `true`, `false` or `null`) and returns its byte range.
    /// Returns `None` (consuming nothing) for anything else, so trailing garbage after a
    /// document is not reported.
    fn literal(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        let mut end = start;
        while self
            .bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            end += 1;
        }
        let lit = self.bytes.get(start..end)?;
        let numeric = lit
            .first()
            .is_some_and(|b| b.is_ascii_digit() || *b == b'-');
        if !numeric && !matches!(lit, b"true" | b"false" | b"null") {
            return None;
        }
        self.pos = end;
        Some((start, end))
    }
}

/// The quotes and backslashes among the first [`BLOCK`] bytes of `rest`, bit `i` for byte
/// `i`: eight bytes per step, as flags that [`flags_to_bits`] packs. Out of line, so that
/// the string search that calls it once per block stays small.
#[inline(never)]
fn special_bits(rest: &[u8]) -> u64 {
    let words_bits = |words: std::slice::ChunksExact<'_, u8>| {
        words.enumerate().fold(0, |bits, (i, w)| {
            let w = u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default());
            bits | flags_to_bits(quote_or_backslash(w)) << (8 * i)
        })
    };
    if let Some(block) = rest.first_chunk::<BLOCK>() {
        // A whole block: a fixed number of words, unrolled.
        return words_bits(block.chunks_exact(8));
    }
    let words = rest.chunks_exact(8);
    let (whole, tail) = (rest.len() - words.remainder().len(), words.remainder());
    tail.iter()
        .enumerate()
        .fold(words_bits(words), |bits, (i, b)| {
            bits | u64::from(matches!(b, b'"' | b'\\')) << (whole + i)
        })
}

/// Bit 7 of each byte of the little-endian word `w` that is a quote or a backslash. Unlike
/// [`super::decode::word_flags`], every flag is exact (the test adds within each byte and
/// never borrows across bytes), as a mask of all the matches needs.
fn quote_or_backslash(w: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Bit 7 of a byte is clear exactly when the byte is zero.
    let nonzero = |x: u64| ((x & LOW7) + LOW7) | x;
    let quotes = w ^ (ONES * u64::from(b'"'));
    let backslashes = w ^ (ONES * u64::from(b'\\'));
    !(nonzero(quotes) & nonzero(backslashes)) & !LOW7
}

/// Packs the bit-7 flags of a word's eight bytes into its low eight bits, byte `i` to bit
/// `i`: a multiply that moves each flag to bit `56 + i` without carries.
fn flags_to_bits(flags: u64) -> u64 {
    (flags >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Origin paths and the container stack of one scan.
struct Paths {
    /// `json` followed by the segments of the current value.
    path: String,
    /// The arena text of the innermost object's `jsonkey` origin, once one of its keys is
    /// kept: its other keys share it. Reset whenever a container opens or closes.
    key_origin: Option<Text>,
    /// Every open container, innermost last (one byte per level).
    kinds: Vec<Kind>,
    /// The open containers at depth `1..=max_depth`.
    tracked: Vec<Tracked>,
    max_depth: usize,
}

impl Paths {
    fn open(&mut self, kind: Kind) {
        self.key_origin = None;
        self.kinds.push(kind);
        if self.kinds.len() <= self.max_depth {
            self.tracked.push(Tracked {
                mark: self.path.len(),
                index: 0,
            });
        }
    }

    fn close(&mut self) {
        self.key_origin = None;
        self.kinds.pop();
        if self.tracked.len() > self.kinds.len() {
            if let Some(t) = self.tracked.pop() {
                self.path.truncate(t.mark);
            }
        }
    }

    /// The innermost container, if its members get origin segments.
    fn current_tracked(&mut self) -> Option<&mut Tracked> {
        if self.tracked.len() == self.kinds.len() {
            self.tracked.last_mut()
        } else {
            None
        }
    }

    fn set_key(&mut self, key: &str) {
        if let Some(mark) = self.current_tracked().map(|t| t.mark) {
            self.path.truncate(mark);
            self.path.push('.');
            self.path.push_str(truncate_str(key, MAX_NAME_IN_ORIGIN));
        }
    }

    fn set_index(&mut self, next: bool) {
        if let Some(t) = self.current_tracked() {
            if next {
                t.index += 1;
            }
            let (mark, index) = (t.mark, t.index);
            self.path.truncate(mark);
            self.path.push('[');
            self.path.push_str(itoa::Buffer::new().format(index));
            self.path.push(']');
        }
    }

    /// Adds an object key: under the origin its siblings share, or under a new one, kept only
    /// if the key is ([`Collector::push_under`]).
    fn push_key(&mut self, c: &mut Collector<'_>, key: Text) -> Pushed {
        if let Some(origin) = self.key_origin {
            return c.push_text(origin, key);
        }
        let end = match self.current_tracked() {
            Some(t) => t.mark,
            None => self.path.len(),
        };
        let tail = self.path.get("json".len()..end).unwrap_or("");
        let mut pushed = Pushed::Dropped;
        self.key_origin = c.push_under(
            |w| {
                w.push_str("jsonkey");
                w.push_str(tail);
            },
            |c, origin| {
                pushed = c.push_text(origin, key);
                pushed == Pushed::Added
            },
        );
        pushed
    }
}

/// Origin bytes an ordinary document's paths fit in.
const TYPICAL_PATH: usize = 128;

/// Nesting an ordinary document stays within.
const TYPICAL_DEPTH: usize = 16;

/// Scans `body` and adds its values and keys to `c`. Returns false when not a single value
/// could be read (the body is not JSON after all).
pub(crate) fn extract(body_text: &Validated<'_>, max_depth: usize, c: &mut Collector<'_>) -> bool {
    let body = body_text.bytes();
    let mut s = Scanner {
        bytes: body,
        pos: 0,
        block: usize::MAX,
        specials: 0,
    };
    // Sized for ordinary documents up front: growing them from empty cost a handful of
    // reallocations per request.
    let mut path = String::with_capacity(TYPICAL_PATH);
    path.push_str("json");
    let mut p = Paths {
        path,
        key_origin: None,
        kinds: Vec::with_capacity(TYPICAL_DEPTH),
        tracked: Vec::with_capacity(TYPICAL_DEPTH.min(max_depth)),
        max_depth,
    };
    let mut decoded = Vec::new();
    let mut read_any = false;
    let mut expect = Expect::Value;
    loop {
        s.skip_ws();
        let Some(&b) = s.bytes.get(s.pos) else {
            break;
        };
        match expect {
            Expect::Value => match b {
                b'{' => {
                    s.pos += 1;
                    p.open(Kind::Object);
                    expect = Expect::FirstKeyOrEnd;
                }
                b'[' => {
                    s.pos += 1;
                    p.open(Kind::Array);
                    expect = Expect::FirstValueOrEnd;
                }
                b'"' => {
                    let (at, complete) = s.string(&mut decoded);
                    match at {
                        // Next to a quote or at the end of the body: char boundaries.
                        StrText::Body(start, end) => c.push_region(&p.path, body_text, start, end),
                        StrText::Decoded => c.push(&p.path, &lossy(&decoded)),
                    };
                    read_any = true;
                    if !complete {
                        break;
                    }
                    expect = Expect::CommaOrEnd;
                }
                // `]` right after `,` is a trailing comma.
                b']' if p.kinds.last() == Some(&Kind::Array) => {
                    s.pos += 1;
                    p.close();
                    expect = Expect::CommaOrEnd;
                }
                _ => {
                    let Some(lit) = s.literal() else {
                        break;
                    };
                    read_any = true;
                    if body.get(lit.0..lit.1) != Some(b"null") {
                        // ASCII: char boundaries.
                        c.push_region(&p.path, body_text, lit.0, lit.1);
                    }
                    expect = Expect::CommaOrEnd;
                }
            },
            Expect::FirstKeyOrEnd | Expect::Key => match b {
                b'"' => {
                    let (at, complete) = s.string(&mut decoded);
                    // A decoded key goes to the arena first, and leaves it if it is not kept.
                    let (key, appended) = match at {
                        StrText::Body(start, end) => match body_text.arena_at(start, end) {
                            Some(key) => (Some(key), false),
                            None => (c.append(&body_text.text_at(start, end)), true),
                        },
                        StrText::Decoded => (c.append(&lossy(&decoded)), true),
                    };
                    if let Some(key) = key {
                        let pushed = p.push_key(c, key);
                        p.set_key(c.slice(key));
                        if appended && pushed != Pushed::Added {
                            c.discard(key);
                        }
                    }
                    read_any = true;
                    if !complete {
                        break;
                    }
                    // The usual `":` right after the key: skip a round of the loop.
                    expect = if s.eat(b':') {
                        Expect::Value
                    } else {
                        Expect::Colon
                    };
                }
                // `}` right after `,` is a trailing comma: lenient parsers accept it.
                b'}' => {
                    s.pos += 1;
                    p.close();
                    expect = Expect::CommaOrEnd;
                }
                _ => break,
            },
            Expect::Colon => {
                if b != b':' {
                    break;
                }
                s.pos += 1;
                expect = Expect::Value;
            }
            Expect::FirstValueOrEnd => {
                if b == b']' {
                    s.pos += 1;
                    p.close();
                    expect = Expect::CommaOrEnd;
                } else {
                    p.set_index(false);
                    expect = Expect::Value;
                }
            }
            Expect::CommaOrEnd => match (p.kinds.last(), b) {
                (None, _) => expect = Expect::Value,
                (Some(Kind::Object), b',') => {
                    s.pos += 1;
                    expect = Expect::Key;
                }
                (Some(Kind::Array), b',') => {
                    s.pos += 1;
                    p.set_index(true);
                    expect = Expect::Value;
                }
                (Some(Kind::Object), b'}') | (Some(Kind::Array), b']') => {
                    s.pos += 1;
                    p.close();
                }
                _ => break,
            },
        }
    }
    read_any
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExtractionSettings;

    /// Deep, long-named objects make long origins; a body of many small objects there must
    /// not make the arena grow by an origin per object once the inputs are no longer kept.
    #[test]
    fn origins_of_dropped_inputs_do_not_accumulate() {
        let name = "n".repeat(MAX_NAME_IN_ORIGIN);
        let depth = 30;
        let mut body = String::new();
        for _ in 0..depth {
            body.push_str(&format!("{{\"{name}\":"));
        }
        body.push('[');
        for i in 0..8000 {
            body.push_str(if i == 0 { "{\"k\":1}" } else { ",{\"k\":1}" });
        }
        body.push(']');
        body.push_str(&"}".repeat(depth));
        let limits = ExtractionSettings::default();
        let mut c = Collector::new(&limits, body.as_bytes());
        let text = c.validated(body.as_bytes());
        assert!(extract(&text, limits.max_depth, &mut c));
        let inputs = c.into_inputs();
        assert_eq!(inputs.len(), limits.max_inputs);
        // Kept origins are about 2 KiB each here; dropped ones must leave nothing behind.
        let kept_origins = inputs.iter().map(|i| i.origin.len()).sum::<usize>();
        assert!(
            inputs.text_len() <= body.len() + kept_origins + 64 * 1024,
            "arena {} for a body of {} and kept origins of {kept_origins}",
            inputs.text_len(),
            body.len(),
        );
    }

    proptest::proptest! {
        /// Every quote and backslash is found, from any start, in bodies of a few blocks
        /// whose bytes are mostly the ones the packed flags could confuse with them.
        #[test]
        fn block_search_finds_every_quote_and_backslash(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"\"\\#]!\x00\x7f\xa2\xdc a".to_vec()),
                0..200,
            ),
            starts in proptest::collection::vec(0..220usize, 1..8),
        ) {
            let mut s = Scanner { bytes: &bytes, pos: 0, block: usize::MAX, specials: 0 };
            for from in starts {
                let want = bytes
                    .iter()
                    .skip(from)
                    .position(|b| matches!(b, b'"' | b'\\'))
                    .map(|at| from + at);
                proptest::prop_assert_eq!(s.next_quote_or_backslash(from), want);
            }
        }
    }
}

//! Decoding the way web frameworks decode: percent escapes, `+` as space, `key=value` lists.
//!
//! Why two rounds: applications (and proxies in front of them) often decode twice, so
//! `%2527` reaches the sink as `'`. When the once-decoded text still holds a valid `%XX`
//! escape we report the twice-decoded value *and* the once-decoded one (either may be what the
//! application used). Malformed escapes (`%zz`, a trailing `%`) stay literal, as in every
//! mainstream framework. Nothing here panics or allocates when there is nothing to decode.

use std::borrow::Cow;

use super::collect::{Collector, Pushed};
use crate::input::Text;

/// Longest parameter, cookie or JSON key name kept in an origin, in bytes. Origins identify
/// where a value came from; a 60 KiB key name would only bloat events.
pub(crate) const MAX_NAME_IN_ORIGIN: usize = 64;

/// Offset of the next `%` (or `+` when `plus_as_space`) in `bytes`.
fn next_special(bytes: &[u8], plus_as_space: bool) -> Option<usize> {
    find_any(bytes, if plus_as_space { b"%+" } else { b"%" })
}

/// Appends `input` with its `%XX` escapes decoded (and `+` as space when `plus_as_space`) to
/// `out`; false, with nothing appended, when `input` holds nothing to decode.
fn percent_decode_into(input: &[u8], plus_as_space: bool, out: &mut Vec<u8>) -> bool {
    let Some(mut at) = next_special(input, plus_as_space) else {
        return false;
    };
    out.reserve(input.len());
    let mut rest = input;
    loop {
        // Copy the run up to the special byte whole.
        out.extend_from_slice(rest.get(..at).unwrap_or(b""));
        let used = match rest.get(at) {
            Some(b'+') => {
                out.push(b' ');
                1
            }
            _ => match escape_at(rest, at) {
                Some(v) => {
                    out.push(v);
                    3
                }
                None => {
                    out.push(b'%');
                    1
                }
            },
        };
        rest = rest.get(at + used..).unwrap_or(b"");
        match next_special(rest, plus_as_space) {
            Some(next) => at = next,
            None => {
                out.extend_from_slice(rest);
                return true;
            }
        }
    }
}

/// Decodes `%XX` escapes (and `+` as space when `plus_as_space`); borrows when unchanged.
pub(crate) fn percent_decode(input: &[u8], plus_as_space: bool) -> Cow<'_, [u8]> {
    let mut out = Vec::new();
    if percent_decode_into(input, plus_as_space, &mut out) {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(input)
    }
}

/// The byte encoded by a valid `%XX` escape starting at `i`.
fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    let hi = hex_value(*bytes.get(i + 1)?)?;
    let lo = hex_value(*bytes.get(i + 2)?)?;
    Some((hi << 4) | lo)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// True when `bytes` holds at least one valid `%XX` escape.
pub(crate) fn has_escape(bytes: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = bytes.get(from..).and_then(|rest| find_any(rest, b"%")) {
        if escape_at(bytes, from + at).is_some() {
            return true;
        }
        from += at + 1;
    }
    false
}

/// Lossy UTF-8 that borrows valid text (`from_utf8` is much faster than the lossy scan).
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// A buffer validated as UTF-8 once, so that text taken from it needs no validation of its
/// own (`from_utf8` costs about a hundred instructions per call on a short value, which adds
/// up over a hundred inputs).
#[derive(Clone, Copy)]
pub(crate) struct Validated<'a> {
    bytes: &'a [u8],
    /// `bytes` as text, when it is valid UTF-8.
    text: Option<&'a str>,
    /// Where `text` lies in the collector's arena, when it is part of the captured bytes'
    /// copy there (see [`Collector::validated`]).
    arena: Option<Text>,
}

impl<'a> Validated<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
            arena: None,
        }
    }

    /// `bytes` known to be the valid UTF-8 `text`, which is `arena` in the collector's arena.
    pub(crate) fn in_arena(bytes: &'a [u8], text: &'a str, arena: Text) -> Self {
        Self {
            bytes,
            text: Some(text),
            arena: Some(arena),
        }
    }

    /// The buffer.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Bytes `start..end` of this buffer as a range of the arena, when the buffer lies there.
    /// The caller knows both ends to be char boundaries (next to an ASCII delimiter, or the
    /// buffer's ends); other ranges would read as empty text.
    pub(crate) fn arena_at(&self, start: usize, end: usize) -> Option<Text> {
        self.arena?.within(start, end)
    }

    /// `part`, a slice of this buffer, as a range of the arena, when the buffer lies there.
    /// The caller knows both ends of `part` to be char boundaries (as [`Self::arena_at`]).
    pub(crate) fn arena_of(&self, part: &[u8]) -> Option<Text> {
        let at = offset_in(self.bytes, part)?;
        self.arena_at(at, at + part.len())
    }

    /// Bytes `start..end` of this buffer as lossy UTF-8, borrowed without another validation
    /// when the buffer is valid and the range ends on char boundaries.
    pub(crate) fn text_at(&self, start: usize, end: usize) -> Cow<'a, str> {
        match self.text.and_then(|all| all.get(start..end)) {
            Some(s) => Cow::Borrowed(s),
            None => lossy(self.bytes.get(start..end).unwrap_or_default()),
        }
    }

    /// `part`, a slice of this buffer, as lossy UTF-8: borrowed without another validation
    /// when the buffer is valid and `part` starts and ends on char boundaries.
    pub(crate) fn text(&self, part: &'a [u8]) -> Cow<'a, str> {
        let within = self
            .text
            .zip(offset_in(self.bytes, part))
            .and_then(|(all, at)| all.get(at..at + part.len()));
        match within {
            Some(s) => Cow::Borrowed(s),
            None => lossy(part),
        }
    }
}

/// Where `part` lies in `outer`, when it is a slice of it (compared by address, so no byte
/// is read).
pub(crate) fn offset_in(outer: &[u8], part: &[u8]) -> Option<usize> {
    let offset = (part.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
    offset
        .checked_add(part.len())
        .is_some_and(|end| end <= outer.len())
        .then_some(offset)
}

/// A value as the application most likely sees it: decoded once, and decoded again when that
/// still leaves an escape.
pub(crate) struct Decoded<'a> {
    /// The final value.
    pub(crate) value: Cow<'a, str>,
    /// The once-decoded form, when a second round changed it (either may be what the
    /// application used).
    pub(crate) once: Option<Cow<'a, str>>,
}

/// Reusable buffers for [`DecodeBuf::decode`], so that decoding allocates only while the
/// buffers grow.
#[derive(Default)]
pub(crate) struct DecodeBuf {
    once: Vec<u8>,
    twice: Vec<u8>,
}

impl DecodeBuf {
    /// Decodes `raw`, a slice of `region` (see [`Decoded`]); borrows `raw` when it holds
    /// nothing to decode.
    pub(crate) fn decode<'a>(
        &'a mut self,
        raw: &'a [u8],
        region: &Validated<'a>,
        plus_as_space: bool,
    ) -> Decoded<'a> {
        self.once.clear();
        if !percent_decode_into(raw, plus_as_space, &mut self.once) {
            return Decoded {
                value: region.text(raw),
                once: None,
            };
        }
        self.twice.clear();
        if has_escape(&self.once) && percent_decode_into(&self.once, plus_as_space, &mut self.twice)
        {
            Decoded {
                value: lossy(&self.twice),
                once: Some(lossy(&self.once)),
            }
        } else {
            Decoded {
                value: lossy(&self.once),
                once: None,
            }
        }
    }
}

/// Reusable decoding buffers of one request (taken from and given back to the
/// [`Collector`]).
#[derive(Default)]
pub(crate) struct Scratch {
    /// For single values (path segments, cookies).
    value: DecodeBuf,
    /// A urlencoded list decoded once in one pass: each name preceded by the carrier prefix
    /// and each name and value followed by `&`, so that every part is valid UTF-8 on its own
    /// when the whole is (a multi-byte sequence cannot span an ASCII byte), and one validation
    /// covers the list.
    list: Vec<u8>,
    /// Where each parameter's parts lie in `list`.
    params: Vec<ParamSpan>,
}

/// One parameter of a decoded list: byte ranges of its name and value in [`Scratch::list`],
/// and whether each still holds a `%` after one round (it may need a second).
#[derive(Clone, Copy)]
struct ParamSpan {
    /// Where the carrier prefix written before the name starts (`form.` + name is the
    /// origin of the value).
    origin: usize,
    name: (usize, usize),
    value: (usize, usize),
    name_percent: bool,
    value_percent: bool,
}

/// Adds the percent-decoded forms of `raw` (`+` stays literal, as in paths), a slice of
/// `region` whose ends are next to ASCII bytes (or the region's ends), under `origin`, text
/// already in the arena (see [`Decoded`]); true when one of them is kept.
pub(crate) fn push_decoded<'a>(
    c: &mut Collector<'_>,
    origin: Text,
    raw: &'a [u8],
    region: &Validated<'a>,
) -> bool {
    if raw.is_empty() {
        return false;
    }
    // Nothing to decode (the usual case): the raw text, without the scratch buffers.
    let plain = next_special(raw, false).is_none();
    if let Some(text) = region.arena_of(raw).filter(|_| plain) {
        return c.push_text(origin, text) == Pushed::Added;
    }
    let mut scratch = c.take_scratch();
    let d = scratch.value.decode(raw, region, false);
    let mut kept = c.push_value(origin, &d.value) == Pushed::Added;
    if let Some(once) = &d.once {
        kept |= c.push_value(origin, once) == Pushed::Added;
    }
    c.return_scratch(scratch);
    kept
}

/// `prefix.name`, with `name` cut to [`MAX_NAME_IN_ORIGIN`] bytes on a char boundary.
pub(crate) fn origin(prefix: &str, name: &str) -> String {
    let name = truncate_str(name, MAX_NAME_IN_ORIGIN);
    let mut s = String::with_capacity(prefix.len() + 1 + name.len());
    s.push_str(prefix);
    s.push('.');
    s.push_str(name);
    s
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// The raw `(name, value)` pairs of a urlencoded list, empty pairs skipped; a pair without
/// `=` has an empty value.
fn pairs(text: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    text.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match memchr::memchr(b'=', pair) {
            Some(eq) => (
                pair.get(..eq).unwrap_or(b""),
                pair.get(eq + 1..).unwrap_or(b""),
            ),
            None => (pair, &b""[..]),
        })
}

/// Flags (bit 7 of a byte) the bytes of the little-endian word `w` that equal one of
/// `needles`: the classic "has zero byte" test on `w` XOR each needle. Only the lowest flag is
/// exact (a borrow can flag a byte above a real match), which is the one callers use.
pub(crate) fn word_flags(w: u64, needles: &[u8]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    needles.iter().fold(0, |flags, &b| {
        let x = w ^ ONES.wrapping_mul(u64::from(b));
        flags | (x.wrapping_sub(ONES) & !x & HIGH)
    })
}

/// Offset of the first byte of `bytes` that is one of `needles`, eight bytes at a time:
/// cheaper than `memchr` on the short strings of a request, where its vector set-up
/// dominates.
pub(crate) fn find_any(bytes: &[u8], needles: &[u8]) -> Option<usize> {
    let mut skipped = 0;
    let mut rest = bytes;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        let found = word_flags(u64::from_le_bytes(*chunk), needles);
        if found != 0 {
            return Some(skipped + (found.trailing_zeros() / 8) as usize);
        }
        skipped += 8;
        rest = tail;
    }
    rest.iter()
        .position(|b| needles.contains(b))
        .map(|at| skipped + at)
}

/// A write position in a buffer sized in advance. A write costs a bounds check instead of a
/// `Vec` capacity check and length update, which were most of the cost of decoding a form.
/// Writes that do not fit are dropped: callers size the buffer so that none are.
struct Cursor<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Cursor<'_> {
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn extend(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    /// Writes the first `keep` bytes of `word` (all eight when there is room: cheaper than a
    /// variable-length copy, and the rest is overwritten next).
    fn word(&mut self, word: &[u8; 8], keep: usize) {
        match self.buf.get_mut(self.len..self.len + 8) {
            Some(dst) => {
                dst.copy_from_slice(word);
                self.len += keep;
            }
            None => self.extend(word.get(..keep).unwrap_or_default()),
        }
    }
}

/// Copies the bytes of `text` before its first `&`, `=`, `%` or `+` to `out`; returns how
/// many there were.
///
/// Eight bytes at a time: each word is tested for the four bytes at once ([`word_flags`]) and
/// written whole, keeping only the run. Form text has a special byte every few bytes, so this
/// saves both a per-byte loop and a `memcpy` call per run.
fn copy_run(text: &[u8], out: &mut Cursor<'_>) -> usize {
    const SPECIAL: &[u8] = b"&=%+";
    let mut copied = 0;
    let mut rest = text;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        let found = word_flags(u64::from_le_bytes(*chunk), SPECIAL);
        if found != 0 {
            let run = (found.trailing_zeros() / 8) as usize;
            out.word(chunk, run);
            return copied + run;
        }
        out.word(chunk, 8);
        copied += 8;
        rest = tail;
    }
    let run = rest
        .iter()
        .position(|b| SPECIAL.contains(b))
        .unwrap_or(rest.len());
    out.extend(rest.get(..run).unwrap_or_default());
    copied + run
}

/// Decodes a urlencoded list once, in one pass, into `list` (see [`Scratch::list`]), writing
/// `prefix` before each name, and records each non-empty `name[=value]` pair in `params`.
/// Runs of literal bytes are copied by [`copy_run`]; only `&`, `=`, `%` and `+` are looked at
/// one by one.
fn decode_list(text: &[u8], prefix: &[u8], list: &mut Vec<u8>, params: &mut Vec<ParamSpan>) {
    params.clear();
    // Sized once: no byte decodes to more than one, and each pair adds its prefix and at most
    // two `&`; eight more for the whole-word writes of `copy_run`.
    let pairs = memchr::memchr_iter(b'&', text).count() + 1;
    list.clear();
    list.resize(text.len() + pairs * (prefix.len() + 2) + 8, 0);
    params.reserve(pairs);
    let mut out = Cursor { buf: list, len: 0 };
    let begin = |out: &mut Cursor<'_>| {
        let origin = out.len;
        out.extend(prefix);
        origin
    };
    let mut origin = begin(&mut out);
    let mut pair_start = 0;
    let mut name_end = None;
    let mut name_percent = false;
    let mut percent = false;
    let mut i = 0;
    loop {
        i += copy_run(text.get(i..).unwrap_or_default(), &mut out);
        match text.get(i) {
            None | Some(b'&') => {
                if i > pair_start {
                    let (name_end, name_percent, value_percent) = match name_end {
                        Some(end) => (end, name_percent, percent),
                        None => {
                            let end = out.len;
                            out.push(b'&');
                            (end, percent, false)
                        }
                    };
                    params.push(ParamSpan {
                        origin,
                        name: (origin + prefix.len(), name_end),
                        value: (name_end + 1, out.len),
                        name_percent,
                        value_percent,
                    });
                    out.push(b'&');
                } else {
                    // An empty pair: take its prefix back.
                    out.len = origin;
                }
                if i >= text.len() {
                    break;
                }
                i += 1;
                pair_start = i;
                name_end = None;
                percent = false;
                origin = begin(&mut out);
            }
            Some(b'=') if name_end.is_none() => {
                name_end = Some(out.len);
                name_percent = percent;
                percent = false;
                out.push(b'&');
                i += 1;
            }
            Some(b'+') => {
                out.push(b' ');
                i += 1;
            }
            Some(b'%') => match escape_at(text, i) {
                Some(v) => {
                    percent |= v == b'%';
                    out.push(v);
                    i += 3;
                }
                // Not an escape: the `%` stays literal.
                None => {
                    percent = true;
                    out.push(b'%');
                    i += 1;
                }
            },
            // A second `=` belongs to the value.
            Some(&b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    let len = out.len;
    list.truncate(len);
}

/// The second round of decoding, when the once-decoded `once` still holds a valid escape.
fn second_round(once: &str) -> Option<String> {
    has_escape(once.as_bytes())
        .then(|| String::from_utf8_lossy(&percent_decode(once.as_bytes(), true)).into_owned())
}

/// Where a urlencoded list was found.
#[derive(Clone, Copy)]
pub(crate) enum Carrier {
    /// The query string of the request target.
    Query,
    /// An `application/x-www-form-urlencoded` body.
    Form,
}

impl Carrier {
    /// The origin of the values, before the parameter name.
    fn prefix(self) -> &'static str {
        match self {
            Self::Query => "query.",
            Self::Form => "form.",
        }
    }

    /// The origin of the parameter names.
    fn key_origin(self) -> &'static str {
        match self {
            Self::Query => "querykey",
            Self::Form => "formkey",
        }
    }
}

/// Extracts an `application/x-www-form-urlencoded` list (query string or form body).
///
/// Produces `<carrier>key` = each parameter name, `<carrier>.<name>` = each value (see
/// [`Decoded`]), and, for a name given more than once, `<carrier>.<name>` = the values
/// joined with `,` — what many frameworks (Spring, ASP.NET, Express handlers that call
/// `String()`) hand to code that reads a repeated parameter as one string.
///
/// Cost: the whole list is decoded in one pass, validated as UTF-8 once and appended to the
/// arena once; every name, value and origin is then a range of that text (the decoded list
/// holds `form.name&value&…`, so `form.name` is contiguous). A repeated name shows as a
/// duplicate name input (so a repeat past the input limit may go unnoticed); only then is the
/// list decoded again to join the values.
pub(crate) fn push_urlencoded(c: &mut Collector, carrier: Carrier, text: &[u8]) {
    let (prefix, key_origin) = (carrier.prefix(), carrier.key_origin());
    let mut scratch = c.take_scratch();
    let Scratch { list, params, .. } = &mut scratch;
    decode_list(text, prefix.as_bytes(), list, params);
    let shared = match std::str::from_utf8(list) {
        Ok(all) if !params.is_empty() => c.append(all).zip(c.append(key_origin)),
        _ => None,
    };
    let mut repeated = false;
    for p in params.iter() {
        let fast = shared.and_then(|(region, key)| push_param_text(c, region, key, p));
        repeated |= match fast {
            Some(repeat) => repeat,
            None => {
                // The general path: the list is not valid UTF-8, or the name or value needs
                // a second decoding round.
                let part =
                    |(start, end): (usize, usize)| lossy(list.get(start..end).unwrap_or(b""));
                push_param(c, carrier, &part(p.name), &part(p.value), p)
            }
        };
    }
    c.return_scratch(scratch);
    if repeated {
        push_joined(c, prefix, text);
    }
}

/// Pushes parameter `p` as ranges of `region` (the decoded list in the arena), `key` being
/// the key origin's text; true when its name was given before. `None`, with nothing pushed,
/// when its name or value needs a second decoding round ([`push_param`] does that).
fn push_param_text(c: &mut Collector, region: Text, key: Text, p: &ParamSpan) -> Option<bool> {
    let name = region.within(p.name.0, p.name.1)?;
    let value = region.within(p.value.0, p.value.1)?;
    let twice = |percent: bool, t: Text| percent && has_escape(c.slice(t).as_bytes());
    if twice(p.name_percent, name) || twice(p.value_percent, value) {
        return None;
    }
    let cut = truncate_str(c.slice(name), MAX_NAME_IN_ORIGIN).len();
    let origin = region.within(p.origin, p.name.0 + cut)?;
    c.push_text(origin, value);
    Some(c.push_text(key, name) == Pushed::Duplicate)
}

/// Pushes one parameter given as text (see [`push_urlencoded`]); true when its name was
/// given before.
fn push_param(c: &mut Collector, carrier: Carrier, name: &str, value: &str, p: &ParamSpan) -> bool {
    let name = match p.name_percent.then(|| second_round(name)).flatten() {
        Some(twice) => Cow::Owned(twice),
        None => Cow::Borrowed(name),
    };
    if let Some(twice) = p.value_percent.then(|| second_round(value)).flatten() {
        c.push_named(carrier.prefix(), &name, false, &twice);
    }
    c.push_named(carrier.prefix(), &name, false, value);
    c.push(carrier.key_origin(), &name) == Pushed::Duplicate
}

/// For every name given more than once, `<prefix><name>` = its values joined with `,`, in
/// name order.
#[cold]
fn push_joined(c: &mut Collector, prefix: &str, text: &[u8]) {
    let region = Validated::new(text);
    let decode = |raw| {
        DecodeBuf::default()
            .decode(raw, &region, true)
            .value
            .into_owned()
    };
    let mut params: Vec<(String, String)> = pairs(text)
        .map(|(name, value)| (decode(name), decode(value)))
        .collect();
    // Stable: values keep their order within a name.
    params.sort_by(|a, b| a.0.cmp(&b.0));
    for group in params.chunk_by(|a, b| a.0 == b.0) {
        if group.len() > 1 {
            let values: Vec<&str> = group.iter().map(|p| p.1.as_str()).collect();
            let name = group.first().map_or("", |p| p.0.as_str());
            c.push_named(prefix, name, false, &values.join(","));
        }
    }
}

/// Extracts a `Cookie` header: `cookie.<name>` = the value as sent (surrounding quotes
/// removed) and, when it holds escapes, its percent-decoded forms too (most cookie parsers
/// decode; `+` stays literal in cookies). `header` is a slice of `head`.
pub(crate) fn push_cookies<'h>(c: &mut Collector, head: &Validated<'h>, header: &'h [u8]) {
    let mut rest = Some(header);
    while let Some(list) = rest {
        let pair = match memchr::memchr(b';', list) {
            Some(semi) => {
                rest = list.get(semi + 1..);
                list.get(..semi).unwrap_or_default()
            }
            None => {
                rest = None;
                list
            }
        };
        let pair = pair.trim_ascii();
        let Some(eq) = memchr::memchr(b'=', pair) else {
            continue;
        };
        let name = head.text(pair.get(..eq).unwrap_or(b"").trim_ascii());
        let value = pair.get(eq + 1..).unwrap_or(b"").trim_ascii();
        let value = value
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(value);
        // Delimited by ASCII (`=`, `;`, `"`, spaces): the ends are char boundaries.
        c.push_named_region("cookie.", &name, false, head, value);
        if has_escape(value) {
            let mut scratch = c.take_scratch();
            let decoded = scratch.value.decode(value, head, false);
            c.push_named("cookie.", &name, false, &decoded.value);
            if let Some(once) = &decoded.once {
                c.push_named("cookie.", &name, false, once);
            }
            c.return_scratch(scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pairs of `text` decoded by [`decode_list`], as `(name, value)` byte strings.
    fn decoded_pairs(text: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let (mut list, mut params) = (Vec::new(), Vec::new());
        decode_list(text, b"q.", &mut list, &mut params);
        let part = |(start, end): (usize, usize)| list.get(start..end).unwrap_or_default().to_vec();
        for p in &params {
            // The origin is the prefix and the name, contiguous.
            assert_eq!(
                part((p.origin, p.name.1)),
                [&b"q."[..], &part(p.name)].concat()
            );
        }
        params
            .iter()
            .map(|p| (part(p.name), part(p.value)))
            .collect()
    }

    /// The same, one pair at a time with the reference decoder.
    fn reference_pairs(text: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs(text)
            .map(|(n, v)| {
                (
                    percent_decode(n, true).to_vec(),
                    percent_decode(v, true).to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn list_decoding_handles_edge_pairs() {
        let got = decoded_pairs(b"a&&b=&=c&d=1=2&%zz=%41%2541+x&e%");
        let want: Vec<(&[u8], &[u8])> = vec![
            (b"a", b""),
            (b"b", b""),
            (b"", b"c"),
            (b"d", b"1=2"),
            (b"%zz", b"A%41 x"),
            (b"e%", b""),
        ];
        let got: Vec<(&[u8], &[u8])> = got.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn copy_run_stops_at_the_first_special_byte() {
        for (text, run) in [
            (&b""[..], 0),
            (b"abc", 3),
            (b"abcdefgh", 8),
            (b"abcdefgh&", 8),
            (b"abcdefg+h", 7),
            (b"%", 0),
            (b"0123456789abcdef=x", 16),
            (b"\xff\xfe\x80=", 3),
        ] {
            // With room for whole-word writes, and with exactly enough.
            for size in [2 + text.len() + 8, 2 + run] {
                let mut buf = vec![b'.'; size];
                let mut out = Cursor {
                    buf: &mut buf,
                    len: 0,
                };
                out.extend(b"xy");
                assert_eq!(copy_run(text, &mut out), run, "{text:?}");
                let len = out.len;
                assert_eq!(buf[..len], [&b"xy"[..], &text[..run]].concat());
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn find_any_finds_the_first_needle(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let want = bytes.iter().position(|b| b"\"\\".contains(b));
            proptest::prop_assert_eq!(find_any(&bytes, b"\"\\"), want);
        }

        #[test]
        fn list_decoding_matches_decoding_each_pair(text in "[ab=&%+2-5A-Fé]{0,40}") {
            proptest::prop_assert_eq!(
                decoded_pairs(text.as_bytes()),
                reference_pairs(text.as_bytes())
            );
        }
    }
}

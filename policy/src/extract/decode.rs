//! Decoding the way web frameworks decode: percent escapes, `+` as space, `key=value` lists.
//!
//! Why two rounds: applications (and proxies in front of them) often decode twice, so
//! `%2527` reaches the sink as `'`. When the once-decoded text still holds a valid `%XX`
//! escape we report the twice-decoded value *and* the once-decoded one (either may be what the
//! application used). Malformed escapes (`%zz`, a trailing `%`) stay literal, as in every
//! mainstream framework. Nothing here panics or allocates when there is nothing to decode.

use std::borrow::Cow;

use super::collect::Collector;

/// Longest parameter, cookie or JSON key name kept in an origin, in bytes. Origins identify
/// where a value came from; a 60 KiB key name would only bloat events.
pub(crate) const MAX_NAME_IN_ORIGIN: usize = 64;

/// Below this many bytes a plain loop finds a byte faster than `memchr`'s vector set-up.
const SHORT_SCAN: usize = 32;

/// Offset of the next `%` (or `+` when `plus_as_space`) in `bytes`.
fn next_special(bytes: &[u8], plus_as_space: bool) -> Option<usize> {
    if bytes.len() < SHORT_SCAN {
        bytes
            .iter()
            .position(|&b| b == b'%' || (plus_as_space && b == b'+'))
    } else if plus_as_space {
        memchr::memchr2(b'%', b'+', bytes)
    } else {
        memchr::memchr(b'%', bytes)
    }
}

/// Decodes `%XX` escapes (and `+` as space when `plus_as_space`); borrows when unchanged.
pub(crate) fn percent_decode(input: &[u8], plus_as_space: bool) -> Cow<'_, [u8]> {
    let Some(mut at) = next_special(input, plus_as_space) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
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
                return Cow::Owned(out);
            }
        }
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
    memchr::memchr_iter(b'%', bytes).any(|i| escape_at(bytes, i).is_some())
}

/// Lossy UTF-8 that borrows valid text (`from_utf8` is much faster than the lossy scan).
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// Lossy UTF-8 of decoded bytes, reusing an owned buffer when it is valid.
fn lossy_cow(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => lossy(b),
        Cow::Owned(v) => Cow::Owned(
            String::from_utf8(v)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

/// The value as the application most likely sees it: decoded once, and decoded again when
/// that still leaves an escape. Returns `(final, once_decoded_if_different)`.
pub(crate) fn decode_value(raw: &[u8], plus_as_space: bool) -> (Cow<'_, str>, Option<String>) {
    let once = percent_decode(raw, plus_as_space);
    // Left borrowed, `raw` holds no `%` at all.
    if matches!(once, Cow::Owned(_)) && has_escape(&once) {
        let twice = lossy_cow(percent_decode(&once, plus_as_space)).into_owned();
        (Cow::Owned(twice), Some(lossy(&once).into_owned()))
    } else {
        (lossy_cow(once), None)
    }
}

/// Adds the decoded forms of `raw` under `origin` (see [`decode_value`]).
pub(crate) fn push_decoded(c: &mut Collector, origin: &str, raw: &[u8], plus_as_space: bool) {
    if raw.is_empty() {
        return;
    }
    let (value, once) = decode_value(raw, plus_as_space);
    c.push(origin, value);
    if let Some(once) = once {
        c.push(origin, Cow::Owned(once));
    }
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

/// One decoded `name=value` parameter of a query string or urlencoded form.
struct Param<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
}

/// The non-empty `name=value` pairs of a urlencoded list, decoded (see [`decode_value`]);
/// the once-decoded form of a twice-decoded value is returned with it.
fn params(text: &[u8]) -> impl Iterator<Item = (Param<'_>, Option<String>)> {
    text.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match memchr::memchr(b'=', pair) {
                Some(eq) => (pair.get(..eq).unwrap_or(b""), pair.get(eq + 1..)),
                None => (pair, None),
            };
            let (name, _) = decode_value(name, true);
            let (value, once) = decode_value(value.unwrap_or(b""), true);
            (Param { name, value }, once)
        })
}

/// Extracts an `application/x-www-form-urlencoded` list (query string or form body).
///
/// Produces `<carrier>key` = each parameter name, `<carrier>.<name>` = each value (see
/// [`decode_value`]), and, for a name given more than once, `<carrier>.<name>` = the values
/// joined with `,` — what many frameworks (Spring, ASP.NET, Express handlers that call
/// `String()`) hand to code that reads a repeated parameter as one string.
///
/// Cost: one decoding pass that reports the values as it goes; repeated names are spotted by
/// a hash of each name, and only then is the list decoded again to join their values.
pub(crate) fn push_urlencoded(c: &mut Collector, carrier: &str, text: &[u8]) {
    let key_origin: Cow<'_, str> = match carrier {
        "query" => Cow::Borrowed("querykey"),
        "form" => Cow::Borrowed("formkey"),
        _ => Cow::Owned(format!("{carrier}key")),
    };
    let mut name_hashes = c.take_hashes();
    for (p, once) in params(text) {
        name_hashes.push(c.hash_str(&p.name));
        c.push_named(carrier, &p.name, false, p.value);
        if let Some(once) = once {
            c.push_named(carrier, &p.name, false, Cow::Owned(once));
        }
        c.push(&key_origin, p.name);
    }
    name_hashes.sort_unstable();
    let repeated = name_hashes.windows(2).any(|w| w.first() == w.get(1));
    c.return_hashes(name_hashes);
    if repeated {
        push_joined(c, carrier, text);
    }
}

/// For every name given more than once, `<carrier>.<name>` = its values joined with `,`,
/// in name order.
#[cold]
fn push_joined(c: &mut Collector, carrier: &str, text: &[u8]) {
    let params: Vec<Param> = params(text).map(|(p, _)| p).collect();
    let mut by_name: Vec<&Param> = params.iter().collect();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    for group in by_name.chunk_by(|a, b| a.name == b.name) {
        if group.len() > 1 {
            let values: Vec<&str> = group.iter().map(|p| p.value.as_ref()).collect();
            let name = group.first().map_or("", |p| &p.name);
            c.push(&origin(carrier, name), Cow::Owned(values.join(",")));
        }
    }
}

/// Extracts a `Cookie` header: `cookie.<name>` = the value as sent (surrounding quotes
/// removed) and, when it holds escapes, its percent-decoded forms too (most cookie parsers
/// decode; `+` stays literal in cookies).
pub(crate) fn push_cookies(c: &mut Collector, header: &[u8]) {
    for pair in header.split(|&b| b == b';') {
        let pair = pair.trim_ascii();
        let Some(eq) = memchr::memchr(b'=', pair) else {
            continue;
        };
        let name = lossy(pair.get(..eq).unwrap_or(b"").trim_ascii());
        let value = pair.get(eq + 1..).unwrap_or(b"").trim_ascii();
        let value = value
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(value);
        c.push_named("cookie", &name, false, lossy(value));
        if has_escape(value) {
            let (decoded, once) = decode_value(value, false);
            c.push_named("cookie", &name, false, decoded);
            if let Some(once) = once {
                c.push_named("cookie", &name, false, Cow::Owned(once));
            }
        }
    }
}

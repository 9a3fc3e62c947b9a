//! Input extraction: from the bytes captured on an inbound connection to the decoded values an
//! application framework would hand to its code.
//!
//! We see bytes, sinks see decoded values: `%27%20OR%201%3D1` on the wire is `' OR 1=1` in the
//! query. So this module does what a framework does, for HTTP/1.0 and 1.1:
//!
//! * framing — request line, headers (parsed by `httparse`), body by `Content-Length` or
//!   chunked coding, several pipelined requests, a final request still arriving or cut off by
//!   the capture cap (whatever has arrived is used);
//! * carriers — query parameters (`query.<name>`, names as `querykey`, the raw query string
//!   as `query`), path segments (`path[N]`, 0-based over non-empty segments, and the whole
//!   decoded path as `path`), urlencoded forms (`form.<name>`, `formkey`), multipart fields
//!   and file names (`multipart.<name>`, `multipart.<name>.filename`), JSON values and keys
//!   (`json.a.b[0]`, `jsonkey.a.b`; past `max_depth` the origin stops growing but values are
//!   still reported), other bodies whole (`body`), cookies (`cookie.<name>`), and headers
//!   that carry user data (`header.<lowercase-name>`);
//! * decoding — percent escapes (a second round when the result still holds `%XX`), `+` as
//!   space in queries and forms but not paths, JSON escapes, lossy UTF-8.
//!
//! Invariants: nothing panics on any byte sequence; time is linear in the buffer; the output
//! obeys [`ExtractionSettings`] (count, bytes, JSON depth), holds no empty value and no
//! duplicate `(origin, value)` pair. [`extract_http`] returns `None` only when the buffer does
//! not start with an HTTP/1.x request line, so the engine can fall back to [`raw`]
//! correlation.
//!
//! Why the request line is read by hand: `httparse` rejects a target holding bytes that are not
//! UTF-8, which many servers accept; rejecting the request here would downgrade a parseable
//! attack to raw correlation. The line is read tolerantly, and `httparse` parses the headers.

mod collect;
mod decode;
mod json;
mod multipart;
pub mod raw;

use std::borrow::Cow;

use serde::Serialize;

use crate::config::ExtractionSettings;
use crate::input::{Inputs, TextWriter};
use collect::Collector;
use decode::{Carrier, Validated, push_cookies, push_decoded, push_urlencoded};

/// What events report of an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpSummary {
    /// Request method.
    pub method: String,
    /// Path part of the request target (not decoded; lossy UTF-8).
    pub path: String,
    /// Query string without `?`, if any (not decoded; lossy UTF-8).
    pub query: Option<String>,
}

/// The inputs of all requests found in a buffer.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// One summary per request that has at least a complete request line, in wire order.
    pub requests: Vec<HttpSummary>,
    /// Every input of every request, bounded by the limits.
    pub inputs: Inputs,
}

/// Extracts inputs from bytes captured on an inbound connection; `None` when they are not
/// HTTP/1.x (the buffer does not start with a complete `METHOD target HTTP/1.x` line).
pub fn extract_http(bytes: &[u8], limits: &ExtractionSettings) -> Option<Extracted> {
    let mut collector = Collector::new(limits, bytes);
    let mut requests = Vec::new();
    let mut rest = skip_empty_lines(bytes);
    while !rest.is_empty() {
        let Some(request) = extract_request(rest, limits, &mut collector) else {
            break;
        };
        requests.push(request.summary);
        match request.consumed {
            Some(n) if n > 0 => rest = skip_empty_lines(rest.get(n..).unwrap_or(b"")),
            _ => break,
        }
    }
    if requests.is_empty() {
        return None;
    }
    Some(Extracted {
        requests,
        inputs: collector.into_inputs(),
    })
}

/// Bytes of `buf` after any leading empty lines (allowed between pipelined requests).
fn skip_empty_lines(mut buf: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = buf.strip_prefix(b"\r\n") {
            buf = rest;
        } else if let Some(rest) = buf.strip_prefix(b"\n") {
            buf = rest;
        } else {
            return buf;
        }
    }
}

/// Longest method token accepted; real methods are short, and this keeps binary protocols
/// that happen to contain a space and `HTTP/1.` from being taken for HTTP.
const MAX_METHOD_LEN: usize = 32;

/// A tolerantly read request line.
struct RequestLine<'a> {
    method: &'a [u8],
    target: &'a [u8],
    /// Offset just after the line's `\n`.
    end: usize,
}

fn is_tchar(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b)
}

/// `METHOD SP target SP HTTP/1.x`, with runs of spaces tolerated and any bytes in the target.
fn request_line(buf: &[u8]) -> Option<RequestLine<'_>> {
    let nl = memchr::memchr(b'\n', buf)?;
    let line = buf.get(..nl)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let sp = memchr::memchr(b' ', line)?;
    let method = line.get(..sp)?;
    if method.is_empty() || method.len() > MAX_METHOD_LEN || !method.iter().all(is_tchar) {
        return None;
    }
    let rest = line.get(sp..)?.trim_ascii();
    let vsp = memchr::memrchr(b' ', rest)?;
    let version = rest.get(vsp + 1..)?;
    let minor_ok = version.len() == 8 && version.get(7).is_some_and(u8::is_ascii_digit);
    if !version.starts_with(b"HTTP/1.") || !minor_ok {
        return None;
    }
    let target = rest.get(..vsp)?.trim_ascii();
    if target.is_empty() {
        return None;
    }
    Some(RequestLine {
        method,
        target,
        end: nl + 1,
    })
}

/// Where the header block of a request ends.
enum HeadEnd {
    /// Offset just after the blank line.
    Complete(usize),
    /// No blank line yet; offset just after the last complete header line.
    Partial(usize),
}

fn head_end(buf: &[u8], from: usize) -> HeadEnd {
    let mut line_start = from;
    loop {
        let rest = buf.get(line_start..).unwrap_or(b"");
        if rest.starts_with(b"\n") {
            return HeadEnd::Complete(line_start + 1);
        }
        if rest.starts_with(b"\r\n") {
            return HeadEnd::Complete(line_start + 2);
        }
        match memchr::memchr(b'\n', rest) {
            Some(nl) => line_start += nl + 1,
            None => return HeadEnd::Partial(line_start),
        }
    }
}

/// What the headers say about the body.
#[derive(Default)]
struct BodyInfo<'h> {
    /// `Some(None)`: a `Content-Length` that is not a number.
    content_length: Option<Option<usize>>,
    chunked: bool,
    /// A transfer coding other than chunked: the body runs to the end of the connection.
    other_transfer_coding: bool,
    /// A content coding (gzip, …) we do not undo: the body is opaque.
    content_encoded: bool,
    content_type: Option<&'h [u8]>,
}

/// Longest header name that [`read_headers`] looks up (`upgrade-insecure-requests`); longer
/// names are all user data.
const MAX_KNOWN_HEADER: usize = 32;

/// What a header is to extraction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HeaderKind {
    ContentLength,
    TransferEncoding,
    ContentEncoding,
    ContentType,
    Cookie,
    /// Protocol machinery, set by clients and proxies rather than carrying application data.
    Machinery,
    /// `X-Forwarded-For`: user data, and a list whose elements applications take one by one.
    ForwardedFor,
    /// Everything else — `User-Agent`, `Referer`, `Origin`, `X-*`, custom headers.
    UserData,
}

/// The kind of header `name`, `lower` being its ASCII-lowercased form (`None` when it is
/// longer than any exact name below, so only the prefixes apply). `Authorization` counts as
/// machinery on purpose: credentials must not end up in events.
fn header_kind(name: &str, lower: Option<&[u8]>) -> HeaderKind {
    let Some(lower) = lower else {
        return if has_machinery_prefix(name.as_bytes()) {
            HeaderKind::Machinery
        } else {
            HeaderKind::UserData
        };
    };
    match lower {
        b"content-length" => HeaderKind::ContentLength,
        b"transfer-encoding" => HeaderKind::TransferEncoding,
        b"content-encoding" => HeaderKind::ContentEncoding,
        b"content-type" => HeaderKind::ContentType,
        b"cookie" => HeaderKind::Cookie,
        b"x-forwarded-for" => HeaderKind::ForwardedFor,
        b"host"
        | b"connection"
        | b"keep-alive"
        | b"proxy-connection"
        | b"upgrade"
        | b"te"
        | b"trailer"
        | b"cache-control"
        | b"pragma"
        | b"authorization"
        | b"proxy-authorization"
        | b"range"
        | b"expect"
        | b"date"
        | b"dnt"
        | b"priority"
        | b"max-forwards"
        | b"upgrade-insecure-requests" => HeaderKind::Machinery,
        _ if has_machinery_prefix(lower) => HeaderKind::Machinery,
        _ => HeaderKind::UserData,
    }
}

/// `Accept*`, `If-*` and `Sec-*` headers (any case) are protocol machinery.
fn has_machinery_prefix(name: &[u8]) -> bool {
    [&b"accept"[..], b"if-", b"sec-"].iter().any(|p| {
        name.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    })
}

/// Reports header inputs and returns what the headers say about the body.
fn read_headers<'h>(
    headers: &[httparse::Header<'h>],
    head: &Validated<'h>,
    c: &mut Collector<'_>,
) -> BodyInfo<'h> {
    let mut info = BodyInfo::default();
    let mut buf = [0u8; MAX_KNOWN_HEADER];
    for h in headers {
        let name = h.name;
        let value = h.value.trim_ascii();
        // Names are matched in lowercase; a longer name is no header we know.
        let lower = buf.get_mut(..name.len()).map(|lower| {
            lower.copy_from_slice(name.as_bytes());
            lower.make_ascii_lowercase();
            &*lower
        });
        match header_kind(name, lower) {
            HeaderKind::ContentLength => {
                if info.content_length.is_none() {
                    let parsed = std::str::from_utf8(value)
                        .ok()
                        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|v| v.parse().ok());
                    info.content_length = Some(parsed);
                }
            }
            HeaderKind::TransferEncoding => {
                let last = value
                    .rsplit(|&b| b == b',')
                    .next()
                    .unwrap_or(b"")
                    .trim_ascii();
                if last.eq_ignore_ascii_case(b"chunked") {
                    info.chunked = true;
                } else if !last.eq_ignore_ascii_case(b"identity") {
                    info.other_transfer_coding = true;
                }
            }
            HeaderKind::ContentEncoding => {
                info.content_encoded |=
                    !value.is_empty() && !value.eq_ignore_ascii_case(b"identity");
            }
            HeaderKind::ContentType => {
                info.content_type.get_or_insert(value);
            }
            HeaderKind::Cookie => push_cookies(c, head, value),
            HeaderKind::Machinery => {}
            // Values are trimmed and ended by ASCII (spaces, `,`, CR LF): char boundaries.
            kind @ (HeaderKind::UserData | HeaderKind::ForwardedFor) => {
                c.push_named_region("header.", name, true, head, value);
                if kind == HeaderKind::ForwardedFor && memchr::memchr(b',', value).is_some() {
                    // Applications take one element of the list (usually the first).
                    for part in value.split(|&b| b == b',') {
                        c.push_named_region("header.", name, true, head, part.trim_ascii());
                    }
                }
            }
        }
    }
    info
}

/// Parses the header block with `httparse`; `None` when it refuses it.
fn parse_headers<'h, R>(
    head: &'h [u8],
    f: impl FnOnce(&[httparse::Header<'h>]) -> R,
) -> Option<(R, usize)> {
    /// Headers parsed without a heap allocation; more fall back to one sized by the block.
    const INLINE_HEADERS: usize = 64;
    let mut config = httparse::ParserConfig::default();
    config
        .ignore_invalid_headers_in_requests(true)
        .allow_multiple_spaces_in_request_line_delimiters(true);
    // Left uninitialised: httparse writes the headers it parses (2 KiB of stores saved).
    let mut inline = [std::mem::MaybeUninit::uninit(); INLINE_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    match config.parse_request_with_uninit_headers(&mut req, head, &mut inline) {
        Ok(httparse::Status::Complete(n)) => Some((f(req.headers), n)),
        Err(httparse::Error::TooManyHeaders) => {
            let lines = memchr::memchr_iter(b'\n', head).count();
            let mut heap = vec![httparse::EMPTY_HEADER; lines];
            let mut req = httparse::Request::new(&mut heap);
            match config.parse_request(&mut req, head) {
                Ok(httparse::Status::Complete(n)) => Some((f(req.headers), n)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// One request found in the buffer.
struct Request {
    summary: HttpSummary,
    /// Bytes this request occupies; `None` when it is incomplete (nothing can follow it).
    consumed: Option<usize>,
}

/// Extracts the request at the start of `buf`; `None` when there is no request line.
fn extract_request<'a>(
    buf: &'a [u8],
    limits: &ExtractionSettings,
    c: &mut Collector<'a>,
) -> Option<Request> {
    let line = request_line(buf)?;
    let (path, query) = split_target(line.target);
    let summary = HttpSummary {
        method: c.text(line.method).into_owned(),
        path: c.text(path).into_owned(),
        query: query.map(|q| c.text(q).into_owned()),
    };
    push_path(c, path);
    if let Some(query) = query {
        let whole = c.validated(query);
        c.push_region("query", &whole, 0, query.len());
        push_urlencoded(c, Carrier::Query, query);
    }

    // The common case: httparse parses the head in place and says where it ends.
    let fast = parse_headers(buf, |hs| read_headers(hs, &c.validated(buf), c));
    // Holds the rebuilt head of the slow path below while its headers are in use.
    let fallback_head;
    let (info, end) = match fast {
        Some((info, n)) => (info, HeadEnd::Complete(n)),
        None => {
            // httparse refused the request line, or the head is incomplete: parse the complete
            // header lines behind a neutral request line.
            let end = head_end(buf, line.end);
            let (block_end, partial) = match end {
                HeadEnd::Complete(n) => (n, false),
                HeadEnd::Partial(n) => (n, true),
            };
            let block = buf.get(line.end..block_end).unwrap_or(b"");
            let mut head = Vec::with_capacity(block.len() + 18);
            head.extend_from_slice(b"GET / HTTP/1.1\r\n");
            head.extend_from_slice(block);
            if partial {
                head.extend_from_slice(b"\r\n");
            }
            fallback_head = head;
            let head = &fallback_head;
            let info = parse_headers(head, |hs| read_headers(hs, &Validated::new(head), c));
            (info.map(|(info, _)| info).unwrap_or_default(), end)
        }
    };

    let HeadEnd::Complete(body_start) = end else {
        return Some(Request {
            summary,
            consumed: None,
        });
    };
    let available = buf.get(body_start..).unwrap_or(b"");
    let (body, consumed): (Cow<'_, [u8]>, Option<usize>) = if info.chunked {
        let (body, used) = dechunk(available);
        (Cow::Owned(body), used.map(|u| body_start + u))
    } else if info.other_transfer_coding {
        (Cow::Borrowed(&[][..]), None)
    } else {
        match info.content_length {
            None | Some(Some(0)) => (Cow::Borrowed(&[][..]), Some(body_start)),
            Some(Some(len)) if len <= available.len() => (
                Cow::Borrowed(available.get(..len).unwrap_or(b"")),
                Some(body_start + len),
            ),
            // Still arriving or cut off: use what is there.
            Some(Some(_)) => (Cow::Borrowed(available), None),
            // Unreadable length: what follows cannot be framed; treat it all as body.
            Some(None) => (Cow::Borrowed(available), None),
        }
    };
    if !info.content_encoded {
        let body = match &body {
            Cow::Borrowed(b) => c.validated(b),
            Cow::Owned(b) => Validated::new(b),
        };
        push_body(c, info.content_type, &body, limits);
    }
    Some(Request { summary, consumed })
}

/// Splits a request target into path and query, dropping the scheme and authority of an
/// absolute-form target (`http://host/p?q`).
fn split_target(target: &[u8]) -> (&[u8], Option<&[u8]>) {
    let mut rest = target;
    for scheme in [&b"http://"[..], b"https://"] {
        let has_scheme = rest
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme));
        if has_scheme {
            let after = rest.get(scheme.len()..).unwrap_or(b"");
            let authority_end = after
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(after.len());
            rest = after.get(authority_end..).unwrap_or(b"");
            break;
        }
    }
    let rest = match memchr::memchr(b'#', rest) {
        Some(i) => rest.get(..i).unwrap_or(rest),
        None => rest,
    };
    match memchr::memchr(b'?', rest) {
        Some(q) => (rest.get(..q).unwrap_or(b""), rest.get(q + 1..)),
        None => (rest, None),
    }
}

/// `path[N]` for every non-empty segment and `path` for the whole decoded path. The whole
/// path matters for servers that map it onto the file system: `/../../etc/passwd` is one
/// input there, while its segments are too short to match anything.
fn push_path<'a>(c: &mut Collector<'a>, path: &'a [u8]) {
    let region = c.validated(path);
    let segments = path.split(|&b| b == b'/').filter(|s| !s.is_empty());
    let mut index = itoa::Buffer::new();
    for (i, segment) in segments.enumerate() {
        let origin = |w: &mut TextWriter<'_>| {
            w.push_str("path[");
            w.push_str(index.format(i));
            w.push_str("]");
        };
        c.push_under(origin, |c, origin| {
            push_decoded(c, origin, segment, &region)
        });
    }
    if path.len() > 1 {
        let origin = |w: &mut TextWriter<'_>| w.push_str("path");
        c.push_under(origin, |c, origin| push_decoded(c, origin, path, &region));
    }
}

/// Decodes a chunked body as far as it has arrived. Returns the data and, when the final
/// chunk and trailers are complete, the number of bytes the coded body occupies.
fn dechunk(coded: &[u8]) -> (Vec<u8>, Option<usize>) {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let rest = coded.get(pos..).unwrap_or(b"");
        let Ok(httparse::Status::Complete((size_len, size))) = httparse::parse_chunk_size(rest)
        else {
            return (body, None);
        };
        pos += size_len;
        if size == 0 {
            let trailers = coded.get(pos..).unwrap_or(b"");
            let used = match head_end(trailers, 0) {
                HeadEnd::Complete(n) => Some(pos + n),
                HeadEnd::Partial(_) => None,
            };
            return (body, used);
        }
        let available = coded.get(pos..).unwrap_or(b"");
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > available.len() {
            body.extend_from_slice(available);
            return (body, None);
        }
        body.extend_from_slice(available.get(..size).unwrap_or(b""));
        pos += size;
        let after = coded.get(pos..).unwrap_or(b"");
        if after.starts_with(b"\r\n") {
            pos += 2;
        } else if after.starts_with(b"\n") {
            pos += 1;
        } else {
            return (body, None);
        }
    }
}

/// Reports the inputs of a body according to its `Content-Type` (or its look, for JSON).
fn push_body(
    c: &mut Collector<'_>,
    content_type: Option<&[u8]>,
    text: &Validated<'_>,
    limits: &ExtractionSettings,
) {
    let body = text.bytes();
    if body.is_empty() {
        return;
    }
    let mime = content_type
        .and_then(|ct| ct.split(|&b| b == b';').next())
        .unwrap_or(b"")
        .trim_ascii();
    if mime.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
        push_urlencoded(c, Carrier::Form, body);
        return;
    }
    let multipart = mime
        .get(..b"multipart/".len())
        .is_some_and(|p| p.eq_ignore_ascii_case(b"multipart/"));
    if multipart {
        if let Some(boundary) = content_type.and_then(multipart::boundary) {
            multipart::extract(body, &boundary, c);
            return;
        }
    }
    let json_type = mime.windows(4).any(|w| w.eq_ignore_ascii_case(b"json"));
    let looks_json = matches!(body.trim_ascii_start().first(), Some(b'{' | b'['));
    if (json_type || looks_json) && json::extract(text, limits.max_depth, c) {
        return;
    }
    if memchr::memchr(0, body).is_none() {
        c.push_region("body", text, 0, body.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path of thousands of one-byte segments goes past the count limit: the `path[N]`
    /// origins of the dropped segments must not stay in the arena.
    #[test]
    fn origins_of_dropped_path_segments_do_not_accumulate() {
        let request = format!("GET {} HTTP/1.1\r\n\r\n", "/a".repeat(20_000));
        let limits = ExtractionSettings::default();
        let e = extract_http(request.as_bytes(), &limits).expect("an HTTP request");
        assert_eq!(e.inputs.len(), limits.max_inputs);
        assert!(e.inputs.iter().any(|i| i.origin == "path"));
        let kept_origins = e.inputs.iter().map(|i| i.origin.len()).sum::<usize>();
        assert!(
            e.inputs.text_len() <= request.len() + kept_origins + 1024,
            "arena {} for a request of {} and kept origins of {kept_origins}",
            e.inputs.text_len(),
            request.len(),
        );
    }
}

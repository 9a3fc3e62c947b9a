//! `multipart/form-data` bodies: field values and upload file names.
//!
//! Each part yields `multipart.<name>` = its content when the part is text (no part
//! `Content-Type`, `text/*`, or a JSON/XML/urlencoded type, and no NUL byte), cut to
//! [`MAX_PART_VALUE`] bytes; and `multipart.<name>.filename` = the file name as sent (both the
//! `filename` and the RFC 5987 `filename*` forms). File names matter on their own: they are
//! the classic path-traversal carrier (`../../etc/cron.d/x`).
//!
//! Tolerance: a preamble before the first delimiter is skipped, a body cut off mid-part keeps
//! what arrived, and parts are found with a single forward `memmem` search, so time is linear
//! in the body.

use std::borrow::Cow;

use memchr::memmem;

use super::collect::Collector;
use super::decode::{origin, percent_decode};

/// Longest part content reported as a value, in bytes. Text fields are short; a large text
/// upload is file content, not a parameter an application splices into a command.
pub(crate) const MAX_PART_VALUE: usize = 4096;

/// Parameters of a header value such as `form-data; name="a"; filename="b"`: `(name, value)`
/// pairs after the first `;`, quoted strings unquoted (`\x` → `x`).
pub(crate) fn header_params(value: &[u8]) -> Vec<(&[u8], Cow<'_, [u8]>)> {
    let mut out = Vec::new();
    let Some(first) = memchr::memchr(b';', value) else {
        return out;
    };
    let mut pos = first + 1;
    while pos < value.len() {
        let rest = value.get(pos..).unwrap_or(b"");
        let name_end = rest
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(rest.len());
        let name = rest.get(..name_end).unwrap_or(b"").trim_ascii();
        pos += name_end;
        if value.get(pos) != Some(&b'=') {
            pos += 1;
            continue;
        }
        pos += 1;
        while value.get(pos).is_some_and(u8::is_ascii_whitespace) {
            pos += 1;
        }
        let param = if value.get(pos) == Some(&b'"') {
            pos += 1;
            let mut unquoted = Vec::new();
            while let Some(&b) = value.get(pos) {
                pos += 1;
                match b {
                    b'"' => break,
                    b'\\' => {
                        if let Some(&next) = value.get(pos) {
                            unquoted.push(next);
                            pos += 1;
                        }
                    }
                    _ => unquoted.push(b),
                }
            }
            Cow::Owned(unquoted)
        } else {
            let rest = value.get(pos..).unwrap_or(b"");
            let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
            pos += end;
            Cow::Borrowed(rest.get(..end).unwrap_or(b"").trim_ascii())
        };
        // Skip to the next parameter.
        let rest = value.get(pos..).unwrap_or(b"");
        pos += memchr::memchr(b';', rest).map_or(rest.len(), |i| i + 1);
        if !name.is_empty() {
            out.push((name, param));
        }
    }
    out
}

/// The `boundary` parameter of a multipart `Content-Type`.
pub(crate) fn boundary(content_type: &[u8]) -> Option<Vec<u8>> {
    header_params(content_type)
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(b"boundary"))
        .map(|(_, v)| v.into_owned())
        .filter(|b| !b.is_empty())
}

/// Whether a part with this `Content-Type` (if any) carries text worth reporting.
fn is_textual(content_type: Option<&[u8]>) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let mime = ct.split(|&b| b == b';').next().unwrap_or(b"").trim_ascii();
    let lower = mime.to_ascii_lowercase();
    lower.starts_with(b"text/")
        || [&b"json"[..], b"xml", b"x-www-form-urlencoded"]
            .iter()
            .any(|t| memmem::find(&lower, t).is_some())
}

/// Extracts every part of a multipart body delimited by `boundary`.
pub(crate) fn extract(body: &[u8], boundary: &[u8], c: &mut Collector) {
    let mut delimiter = Vec::with_capacity(boundary.len() + 2);
    delimiter.extend_from_slice(b"--");
    delimiter.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&delimiter);

    let Some(mut at) = finder.find(body) else {
        return;
    };
    loop {
        let after = at + delimiter.len();
        let rest = body.get(after..).unwrap_or(b"");
        if rest.starts_with(b"--") {
            return; // close delimiter
        }
        // The rest of the delimiter line is transport padding.
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            return;
        };
        let part_start = after + nl + 1;
        let part_area = body.get(part_start..).unwrap_or(b"");
        let next = finder.find(part_area);
        let part = match next {
            Some(end) => strip_line_end(part_area.get(..end).unwrap_or(b"")),
            None => part_area,
        };
        extract_part(part, c);
        match next {
            Some(end) => at = part_start + end,
            None => return,
        }
    }
}

/// Removes the line break that belongs to the following delimiter.
fn strip_line_end(part: &[u8]) -> &[u8] {
    part.strip_suffix(b"\r\n")
        .or_else(|| part.strip_suffix(b"\n"))
        .unwrap_or(part)
}

/// One part: its headers, then (after a blank line) its content.
fn extract_part(part: &[u8], c: &mut Collector) {
    let mut name: Option<Cow<'_, [u8]>> = None;
    let mut filenames: Vec<Cow<'_, [u8]>> = Vec::new();
    let mut content_type: Option<&[u8]> = None;
    let mut pos = 0;
    let mut content = None;
    while let Some(nl) = memchr::memchr(b'\n', part.get(pos..).unwrap_or(b"")) {
        let line = part.get(pos..pos + nl).unwrap_or(b"");
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += nl + 1;
        if line.is_empty() {
            content = part.get(pos..);
            break;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let header = line.get(..colon).unwrap_or(b"").trim_ascii();
        let value = line.get(colon + 1..).unwrap_or(b"").trim_ascii();
        if header.eq_ignore_ascii_case(b"content-disposition") {
            for (param, v) in header_params(value) {
                if param.eq_ignore_ascii_case(b"name") {
                    name = Some(v);
                } else if param.eq_ignore_ascii_case(b"filename") {
                    filenames.push(v);
                } else if param.eq_ignore_ascii_case(b"filename*") {
                    filenames.push(Cow::Owned(extended_value(&v)));
                }
            }
        } else if header.eq_ignore_ascii_case(b"content-type") {
            content_type = Some(value);
        }
    }

    let name = name.map(|n| String::from_utf8_lossy(&n).into_owned());
    let field = origin("multipart", name.as_deref().unwrap_or(""));
    if !filenames.is_empty() {
        let file_origin = format!("{field}.filename");
        for f in &filenames {
            c.push_bytes(&file_origin, f);
        }
    }
    if let Some(content) = content {
        if is_textual(content_type) && memchr::memchr(0, content).is_none() {
            c.push_bytes(&field, utf8_prefix(content, MAX_PART_VALUE));
        }
    }
}

/// Decodes an RFC 5987 value `charset'language'percent-encoded` (charset assumed UTF-8).
fn extended_value(v: &[u8]) -> Vec<u8> {
    let encoded = v.splitn(3, |&b| b == b'\'').nth(2).unwrap_or(v);
    percent_decode(encoded, false).into_owned()
}

/// At most `max` bytes of `bytes`, not cutting a UTF-8 sequence in two.
fn utf8_prefix(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let mut end = max;
    // Step back over continuation bytes (at most three for valid UTF-8).
    while end > 0 && end + 3 > max && bytes.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    bytes.get(..end).unwrap_or(b"")
}

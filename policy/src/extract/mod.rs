//! Input extraction from captured request bytes (placeholder: query string only).

pub mod raw;

use serde::Serialize;

use crate::config::ExtractionSettings;
use crate::input::Input;

/// What events report of an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpSummary {
    /// Request method.
    pub method: String,
    /// Path part of the request target (not decoded).
    pub path: String,
    /// Query string without `?`, if any.
    pub query: Option<String>,
}

/// The inputs of all requests found in a buffer.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// One summary per request that has at least a complete request line.
    pub requests: Vec<HttpSummary>,
    /// Every input of every request, bounded by the limits.
    pub inputs: Vec<Input>,
}

/// Extracts inputs from bytes captured on an inbound connection; `None` when they are not HTTP.
pub fn extract_http(bytes: &[u8], _limits: &ExtractionSettings) -> Option<Extracted> {
    let line_end = memchr::memmem::find(bytes, b"\r\n")?;
    let line = std::str::from_utf8(bytes.get(..line_end)?).ok()?;
    let mut parts = line.split(' ');
    let method = parts.next()?.to_owned();
    let target = parts.next()?;
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let mut inputs = Vec::new();
    for pair in query.as_deref().unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        inputs.push(Input::new(format!("query.{k}"), decode(v)));
    }
    Some(Extracted {
        requests: vec![HttpSummary {
            method,
            path,
            query,
        }],
        inputs,
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b);
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

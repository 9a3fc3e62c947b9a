//! Which host does a piece of user text name?
//!
//! Inputs name hosts in many shapes: a bare host (`10.0.0.5`, `metadata.internal`), an
//! authority (`redis:6379`, `user:pw@[::1]:8080`), a URL (`http://127.1/admin`,
//! `gopher://…`, scheme-relative `//host/x`, `http:\\host` as browsers accept it), or any of
//! these inside longer text. [`authority_host`] reads one piece of text the way URL parsers
//! do; [`embedded_hosts`] finds the URL-like pieces inside free text.
//!
//! Each result says whether the text was *URL-like* (had a scheme, `//`, userinfo, a port or a
//! path). Detection uses that to stay quiet on prose: a bare word inside a sentence is not a
//! request for a connection, a URL is.
//!
//! Bounds: only the first [`MAX_SCAN_BYTES`] of an input are scanned, and at most
//! [`MAX_HOSTS`] candidate hosts are produced per input.

use std::borrow::Cow;

/// Bytes of one input examined for embedded URLs.
pub const MAX_SCAN_BYTES: usize = 8 * 1024;
/// Candidate hosts produced from one input.
pub const MAX_HOSTS: usize = 256;

/// Schemes whose URLs may omit `//` or use `\` (WHATWG "special" schemes and curl's usual
/// protocols), so `http:127.0.0.1` and `http:\\127.0.0.1` still name a host.
const LENIENT_SCHEMES: &[&str] = &[
    "http", "https", "ws", "wss", "ftp", "ftps", "gopher", "dict", "ldap", "tftp", "file",
];

/// A host named by a piece of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRef<'a> {
    /// The host as written (brackets removed from IPv6, percent-escapes decoded).
    pub host: Cow<'a, str>,
    /// The text had a scheme, `//`, userinfo, a port or a path, not just a bare name.
    pub url_like: bool,
}

/// Reads `text` as a URL, an authority or a bare host, and returns its host.
///
/// The authority ends at the first `/`, `\`, `?` or `#`; userinfo ends at its last `@` (and
/// needs a scheme: `name@domain` is an e-mail address); a port must be decimal; the host must
/// be name characters or IPv6 text. `None` when no host can be read.
pub fn authority_host(text: &str) -> Option<HostRef<'_>> {
    let (rest, has_scheme) = strip_scheme(text);
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let mut url_like = has_scheme || end < rest.len();
    let mut auth = rest.get(..end)?;
    if let Some(at) = auth.rfind('@') {
        // Without a scheme, `name@domain` is an e-mail address, not a request to connect.
        if !has_scheme {
            return None;
        }
        auth = auth.get(at + 1..)?;
    }
    let host = if let Some(inner) = auth.strip_prefix('[') {
        let close = inner.find(']')?;
        let after = inner.get(close + 1..)?;
        if !after.is_empty() {
            is_port(after.strip_prefix(':')?).then_some(())?;
            url_like = true;
        }
        inner.get(..close)?
    } else if auth.bytes().filter(|&b| b == b':').count() == 1 {
        let (host, port) = auth.split_once(':')?;
        if !port.is_empty() && !is_port(port) {
            return None;
        }
        url_like = true;
        host
    } else {
        // No colon, or several: a bare IPv6 address is the whole authority.
        auth
    };
    let name_like = host
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '%'));
    if host.is_empty() || !(name_like || host.contains(':')) {
        return None;
    }
    Some(HostRef {
        host: percent_decode(host),
        url_like,
    })
}

/// Hosts of the URL-like pieces of free text: every word (split at whitespace, quotes,
/// brackets and similar delimiters), every `scheme://` inside a word, and, in words holding a
/// `://`, whatever follows an `@` (so `http://a.example#@10.0.0.1/` yields both hosts,
/// whichever one a client picks). Bare words and e-mail addresses are skipped.
pub fn embedded_hosts<'a>(text: &'a str) -> Vec<HostRef<'a>> {
    let text = head(text, MAX_SCAN_BYTES);
    let mut out = Vec::new();
    let is_delim = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | '<' | '>' | '(' | ')' | '{' | '}' | '|' | '^' | ',' | ';'
            )
    };
    for word in text.split(is_delim).filter(|w| !w.is_empty()) {
        let mut push = |piece: &'a str, url: bool| {
            if let Some(mut found) = authority_host(piece) {
                found.url_like |= url;
                if found.url_like {
                    out.push(found);
                }
            }
        };
        push(word, false);
        let mut has_url = false;
        for (i, _) in word.match_indices("://") {
            has_url = true;
            // Re-read from the scheme's start: back up over scheme characters.
            let start = word
                .get(..i)
                .and_then(|before| before.rfind(|c: char| !is_scheme_char(c)))
                .map_or(0, |j| j + 1);
            if start > 0 {
                push(word.get(start..).unwrap_or_default(), true);
            }
        }
        if has_url {
            for (i, _) in word.match_indices('@') {
                push(word.get(i + 1..).unwrap_or_default(), true);
            }
        }
        if out.len() >= MAX_HOSTS {
            out.truncate(MAX_HOSTS);
            break;
        }
    }
    out
}

/// Removes `scheme://`, `//`, or `scheme:` of a lenient scheme (with any run of `/` and `\`);
/// the flag says whether anything was removed.
fn strip_scheme(text: &str) -> (&str, bool) {
    if let Some((scheme, rest)) = text.split_once(':') {
        if is_scheme(scheme) {
            if let Some(after) = rest.strip_prefix("//") {
                return (after, true);
            }
            if LENIENT_SCHEMES
                .iter()
                .any(|s| s.eq_ignore_ascii_case(scheme))
            {
                return (rest.trim_start_matches(['/', '\\']), true);
            }
        }
    }
    match text.strip_prefix("//") {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(is_scheme_char)
}

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn head(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Decodes `%XX` escapes in a host (URL parsers do); invalid escapes and non-UTF-8 results
/// leave the text as written.
fn percent_decode(host: &str) -> Cow<'_, str> {
    if !host.contains('%') || host.contains(':') {
        return Cow::Borrowed(host);
    }
    let bytes = host.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_or(Cow::Borrowed(host), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> Option<(String, bool)> {
        authority_host(text).map(|h| (h.host.into_owned(), h.url_like))
    }

    #[test]
    fn reads_urls_and_authorities() {
        let cases = [
            ("http://127.0.0.1:8080/admin", "127.0.0.1", true),
            ("HTTPS://user:pw@10.0.0.5/x?y#z", "10.0.0.5", true),
            ("gopher://[::1]:70/_x", "::1", true),
            ("//metadata.internal/latest", "metadata.internal", true),
            ("http:\\\\127.1\\admin", "127.1", true),
            ("http:127.0.0.1", "127.0.0.1", true),
            ("redis:6379", "redis", true),
            ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", false),
            ("fe80::1%eth0", "fe80::1%eth0", false),
            ("localhost", "localhost", false),
            ("localhost/admin", "localhost", true),
            ("http://%31%32%37.0.0.1/", "127.0.0.1", true),
        ];
        for (text, want, url_like) in cases {
            assert_eq!(host(text), Some((want.to_owned(), url_like)), "{text}");
        }
    }

    #[test]
    fn rejects_non_hosts() {
        for text in [
            "",
            "http://",
            "profile:edit",
            "alice@mail.example",
            "url=https:",
            "a b",
        ] {
            assert_eq!(host(text), None, "{text}");
        }
        assert_eq!(host("/admin/users"), None);
        assert_eq!(host("[::1"), None);
        assert_eq!(host("[::1]x"), None);
    }

    #[test]
    fn finds_urls_in_text_but_not_bare_words() {
        let hosts: Vec<String> = embedded_hosts(
            "see <http://10.0.0.5/x> or \"url=https://a.example#@192.168.1.1/\", not 10.9.9.9",
        )
        .into_iter()
        .map(|h| h.host.into_owned())
        .collect();
        assert_eq!(hosts, ["10.0.0.5", "a.example", "192.168.1.1"]);
    }

    #[test]
    fn scanning_is_bounded() {
        let long = "http://x.example/ ".repeat(10_000);
        assert_eq!(embedded_hosts(&long).len(), MAX_HOSTS);
        assert_eq!(head("aé", 2), "a");
    }
}

//! The value types of policy patterns, validated when the policy is parsed and compiled once
//! by the engine.
//!
//! Every pattern type deserialises from a string and rejects malformed text with a message the
//! TOML parser places at the value's line:col, so a policy that loads never carries a pattern
//! that cannot be compiled.
//!
//! Matching semantics, shared by allow entries, rules and `[program."…"]` sections:
//!
//! * [`PathPattern`] — a glob over Linux paths where `*` and `?` stay within one segment and
//!   `**` crosses segments. A pattern containing `/` matches the whole path after lexical
//!   normalisation (`//`, `.` and `..` resolved, so `/srv/up/../../etc/passwd` cannot pass as
//!   `/srv/up/**`); a pattern without `/` matches the file name only (`bash` matches
//!   `/usr/bin/bash` and a bare `bash` given to `execvp`).
//! * [`NamePattern`] — a glob with `*` and `?` only; every other character is literal, so input
//!   origins such as `json.items[0].id` need no escaping. Used for origins and host names.
//! * [`Destination`] — an IP address, a CIDR block or a host-name pattern.
//! * [`EgressTarget`] — `ADDR`, `CIDR`, `*`, each optionally followed by `:PORT` (IPv6 in
//!   brackets when a port follows: `[fd00::/8]:443`).

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use globset::{Glob, GlobBuilder, GlobMatcher};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::detect::path::{needs_normalizing, normalize};
use crate::detect::ssrf::addr::canonical;

/// Implements `Serialize`/`Deserialize` as a string through `parse`/`Display`.
macro_rules! string_serde {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                <$ty>::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A glob over file or program paths (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern(String);

impl PathPattern {
    /// Validates `text` as a glob.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("empty path pattern".to_owned());
        }
        path_glob(text)
            .map(|_| Self(text.to_owned()))
            .map_err(|e| format!("invalid glob `{text}`: {e}"))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compiles the pattern.
    pub fn compile(&self) -> PathMatcher {
        PathMatcher {
            by_name: !self.0.contains('/'),
            glob: path_glob(&self.0).ok().map(|g| g.compile_matcher()),
        }
    }

    /// A rough measure of how specific the pattern is: its count of literal characters.
    /// Used to order `[program."…"]` sections (less specific first).
    pub fn specificity(&self) -> usize {
        self.0
            .chars()
            .filter(|c| !matches!(c, '*' | '?' | '[' | ']' | '{' | '}'))
            .count()
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(PathPattern);

fn path_glob(text: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(text).literal_separator(true).build()
}

/// A compiled [`PathPattern`].
#[derive(Debug, Clone)]
pub struct PathMatcher {
    by_name: bool,
    /// `None` only for a pattern that did not compile, which then matches nothing.
    glob: Option<GlobMatcher>,
}

impl PathMatcher {
    /// True when `path` (normalised first) matches.
    pub fn is_match(&self, path: &str) -> bool {
        let Some(glob) = &self.glob else {
            return false;
        };
        // Ordinary absolute paths are already normal: no allocation on the common path.
        let normal: Cow<'_, str> = if path.starts_with('/') && !needs_normalizing(path) {
            Cow::Borrowed(path)
        } else {
            Cow::Owned(normalize(path).to_string())
        };
        if self.by_name {
            let name = normal.rsplit('/').next().unwrap_or(&normal);
            glob.is_match(name)
        } else {
            glob.is_match(normal.as_ref())
        }
    }
}

/// A glob with `*` and `?` only (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern(String);

impl NamePattern {
    /// Accepts any non-empty text.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("empty pattern".to_owned());
        }
        Ok(Self(text.to_owned()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compiles the pattern, case-sensitively or not.
    pub fn compile(&self, case_insensitive: bool) -> Option<GlobMatcher> {
        let mut escaped = String::with_capacity(self.0.len() + 4);
        for c in self.0.chars() {
            if matches!(c, '[' | ']' | '{' | '}' | '\\') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        GlobBuilder::new(&escaped)
            .backslash_escape(true)
            .case_insensitive(case_insensitive)
            .build()
            .ok()
            .map(|g| g.compile_matcher())
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(NamePattern);

/// A request path pattern: a glob when it contains a wildcard (`/admin/*`), otherwise a prefix
/// that ends at a segment boundary (`/admin` matches `/admin` and `/admin/x`, not
/// `/administrator`). Matched against the request path after percent-decoding and lexical
/// normalisation, so `/admin/..%2fapi` is `/api`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPathPattern(String);

impl UrlPathPattern {
    /// Validates `text`: it must start with `/` and, as a glob, compile.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.starts_with('/') {
            return Err(format!("url_path `{text}` must start with `/`"));
        }
        if is_glob(text) {
            path_glob(text).map_err(|e| format!("invalid glob `{text}`: {e}"))?;
        }
        Ok(Self(text.to_owned()))
    }

    /// Compiles the pattern.
    pub fn compile(&self) -> UrlPathMatcher {
        if is_glob(&self.0) {
            UrlPathMatcher::Glob(path_glob(&self.0).ok().map(|g| g.compile_matcher()))
        } else {
            UrlPathMatcher::Prefix(self.0.trim_end_matches('/').to_owned())
        }
    }
}

impl fmt::Display for UrlPathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(UrlPathPattern);

fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

/// A compiled [`UrlPathPattern`].
#[derive(Debug, Clone)]
pub enum UrlPathMatcher {
    /// Segment-aware prefix, without trailing `/` (empty for `/`).
    Prefix(String),
    /// Glob; `None` never matches.
    Glob(Option<GlobMatcher>),
}

impl UrlPathMatcher {
    /// True when the raw request `path` (as on the wire) matches.
    pub fn is_match(&self, path: &str) -> bool {
        let decoded = percent_decode(path);
        let normal = normalize(&decoded).to_string();
        match self {
            UrlPathMatcher::Prefix(prefix) => normal
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || prefix.is_empty()),
            UrlPathMatcher::Glob(glob) => glob.as_ref().is_some_and(|g| g.is_match(&normal)),
        }
    }
}

/// Decodes `%XX` escapes (lossy UTF-8), once; `+` stays literal as in paths.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Both digits are < 16, so the value fits in a byte.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A connection destination: an address, a CIDR block, or a host-name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An address or block (an address is a /32 or /128 block).
    Net(IpNet),
    /// A host name as resolved by the application (`*` and `?` wildcards, case-insensitive).
    Host(NamePattern),
}

impl Destination {
    /// Parses an address, a CIDR block or a host name.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(net) = parse_net(text) {
            return Ok(Destination::Net(net));
        }
        let valid = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*' | '?'));
        if valid {
            NamePattern::parse(text).map(Destination::Host)
        } else {
            Err(format!(
                "destination `{text}` is neither an address, a CIDR block nor a host name"
            ))
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Net(net) => write!(f, "{net}"),
            Destination::Host(host) => write!(f, "{host}"),
        }
    }
}

string_serde!(Destination);

/// A compiled [`Destination`].
#[derive(Debug, Clone)]
pub enum DestinationMatcher {
    /// Address block.
    Net(IpNet),
    /// Host-name glob; `None` never matches.
    Host(Option<GlobMatcher>),
}

impl Destination {
    /// Compiles the destination.
    pub fn compile(&self) -> DestinationMatcher {
        match self {
            Destination::Net(net) => DestinationMatcher::Net(*net),
            Destination::Host(host) => DestinationMatcher::Host(host.compile(true)),
        }
    }
}

impl DestinationMatcher {
    /// True when the connection to `addr` (for `host`, if known) matches.
    pub fn is_match(&self, addr: IpAddr, host: Option<&str>) -> bool {
        match self {
            DestinationMatcher::Net(net) => net_contains(net, addr),
            DestinationMatcher::Host(glob) => match (glob, host) {
                (Some(glob), Some(host)) => glob.is_match(host.trim_end_matches('.')),
                _ => false,
            },
        }
    }
}

/// True when `net` holds `addr`, comparing IPv4-mapped IPv6 addresses as IPv4.
fn net_contains(net: &IpNet, addr: IpAddr) -> bool {
    net.contains(&addr) || net.contains(&canonical(addr))
}

/// An address or block (`10.0.0.0/8`, `10.1.2.3`, `::1`).
fn parse_net(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// One entry of an `egress_allow` rule (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EgressTarget {
    /// The allowed block; `None` for any address (`*`).
    pub net: Option<IpNet>,
    /// The allowed port; `None` for any port.
    pub port: Option<u16>,
}

impl EgressTarget {
    /// Parses `ADDR`, `CIDR`, `*`, optionally followed by `:PORT`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "egress target `{text}` must be ADDR, CIDR or `*`, optionally with :PORT \
                 (IPv6 in brackets when a port follows)"
            )
        };
        let net_or_any = |t: &str| -> Result<Option<IpNet>, String> {
            if t == "*" {
                Ok(None)
            } else {
                parse_net(t).map(Some).ok_or_else(bad)
            }
        };
        let port = |t: &str| t.parse::<u16>().map_err(|_| bad());
        if let Some(rest) = text.strip_prefix('[') {
            let (inner, after) = rest.split_once(']').ok_or_else(bad)?;
            let net = net_or_any(inner)?;
            return match after {
                "" => Ok(Self { net, port: None }),
                p => Ok(Self {
                    net,
                    port: Some(port(p.strip_prefix(':').ok_or_else(bad)?)?),
                }),
            };
        }
        if let Ok(net) = net_or_any(text) {
            return Ok(Self { net, port: None });
        }
        let (addr, p) = text.rsplit_once(':').ok_or_else(bad)?;
        Ok(Self {
            net: net_or_any(addr)?,
            port: Some(port(p)?),
        })
    }

    /// True when a connection to `addr:port` is allowed by this entry.
    pub fn is_match(&self, addr: IpAddr, port: u16) -> bool {
        self.net.as_ref().is_none_or(|net| net_contains(net, addr))
            && self.port.is_none_or(|p| p == port)
    }
}

impl fmt::Display for EgressTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.net, self.port) {
            (None, None) => f.write_str("*"),
            (None, Some(p)) => write!(f, "*:{p}"),
            (Some(net), None) => write!(f, "{net}"),
            (Some(IpNet::V6(net)), Some(p)) => write!(f, "[{net}]:{p}"),
            (Some(net), Some(p)) => write!(f, "{net}:{p}"),
        }
    }
}

string_serde!(EgressTarget);

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> PathMatcher {
        PathPattern::parse(p).expect("valid").compile()
    }

    #[test]
    fn path_patterns_normalise_and_match_names() {
        assert!(path("/srv/up/**").is_match("/srv/up/a/b.png"));
        assert!(!path("/srv/up/**").is_match("/srv/up/../../etc/passwd"));
        assert!(!path("/srv/*").is_match("/srv/a/b"));
        assert!(path("bash").is_match("/usr/bin/bash"));
        assert!(path("bash").is_match("bash"));
        assert!(path("*sh").is_match("/bin/dash"));
        assert!(PathPattern::parse("/a/[").is_err());
        assert!(PathPattern::parse("").is_err());
    }

    #[test]
    fn name_patterns_are_literal_but_for_wildcards() {
        let m = NamePattern::parse("json.items[0].*")
            .expect("valid")
            .compile(false)
            .expect("compiles");
        assert!(m.is_match("json.items[0].id"));
        assert!(!m.is_match("json.items0.id"));
    }

    #[test]
    fn url_paths() {
        let prefix = UrlPathPattern::parse("/admin").expect("valid").compile();
        assert!(prefix.is_match("/admin"));
        assert!(prefix.is_match("/admin/users"));
        assert!(!prefix.is_match("/administrator"));
        assert!(!prefix.is_match("/admin/..%2fapi"));
        let glob = UrlPathPattern::parse("/admin/*").expect("valid").compile();
        assert!(glob.is_match("/admin/x"));
        assert!(!glob.is_match("/admin/x/y"));
        assert!(UrlPathPattern::parse("admin").is_err());
        let root = UrlPathPattern::parse("/").expect("valid").compile();
        assert!(root.is_match("/anything"));
    }

    #[test]
    fn destinations() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let net = Destination::parse("10.0.0.0/8").expect("valid").compile();
        assert!(net.is_match(ip("10.1.2.3"), None));
        assert!(net.is_match(ip("::ffff:10.1.2.3"), None));
        assert!(!net.is_match(ip("11.0.0.1"), None));
        let host = Destination::parse("*.Example.com")
            .expect("valid")
            .compile();
        assert!(host.is_match(ip("1.2.3.4"), Some("api.example.com")));
        assert!(!host.is_match(ip("1.2.3.4"), None));
        assert!(Destination::parse("a b").is_err());
    }

    #[test]
    fn egress_targets() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let t = |s: &str| EgressTarget::parse(s).expect(s);
        assert!(t("10.0.0.0/8:5432").is_match(ip("10.2.3.4"), 5432));
        assert!(!t("10.0.0.0/8:5432").is_match(ip("10.2.3.4"), 80));
        assert!(t("*:443").is_match(ip("8.8.8.8"), 443));
        assert!(t("[fd00::/8]:443").is_match(ip("fd00::1"), 443));
        assert!(t("::1").is_match(ip("::1"), 1));
        assert!(t("127.0.0.53").is_match(ip("127.0.0.53"), 53));
        for bad in ["10.0.0.0/8:x", "host:80", "[::1", "*:99999"] {
            assert!(EgressTarget::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(t("[fd00::/8]:443").to_string(), "[fd00::/8]:443");
        assert_eq!(t("*:443").to_string(), "*:443");
    }
}

//! Server-side request forgery at `connect`.
//!
//! The relation is the reverse of the other detectors: instead of finding an input inside the
//! sink argument, we ask whether some input *names the host* that was connected to, and whether
//! the address actually connected to is internal ([`SsrfSettings::internal_ranges`]).
//!
//! * **The address decides internal-ness.** Checking the address the socket really reaches
//!   defeats DNS rebinding and every spelling of an IPv4 address at once. IPv4-mapped IPv6
//!   (`::ffff:127.0.0.1`) is checked as IPv4.
//! * **The input decides attribution.** An input names the host when its host part — read as a
//!   URL, an authority or a bare host ([`authority`]) — equals the name `getaddrinfo` resolved
//!   (`host`), or, parsed as an IP address with the C `inet_aton` rules or as IPv6
//!   ([`addr`]), equals the address connected to. So `127.1`, `2130706433`, `0x7f.0.0.1` and
//!   `http://[::ffff:127.0.0.1]:8080/` all name 127.0.0.1, while an input `8080` or `/admin`
//!   does not.
//! * **Confidence.** [`Confidence::High`] when the whole input is the host, authority or URL;
//!   [`Confidence::Medium`] when a URL inside longer text names it. Bare words inside text are
//!   not matched, and a bare single-label name (`redis`, `db`) as a whole input only counts
//!   when it resolved to loopback (`localhost`, `ip6-localhost`): such names are everyday
//!   words, and an application that looks a word up in its own cache would otherwise be
//!   flagged. `redis:6379` or `http://redis/` count.
//! * **Loopback without a matching input is benign**: applications talk to their own database
//!   and cache all the time. Only cloud metadata addresses are reported without an input
//!   ([`check_metadata`]).
//! * Inputs from headers that proxies and browsers fill with the server's own or the client's
//!   address (`Host`, `Referer`, `Origin`, `X-Forwarded-*`, `X-Real-IP`, `Forwarded`, …) are
//!   not attributed: in development they are `localhost:8080` on every request, which would
//!   flag every connection to a local database.
//!
//! Cost: the internal-range check runs first and ends the common case (public address).
//! Inputs are then read at most [`authority::MAX_SCAN_BYTES`] each.

pub mod addr;
pub mod authority;

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::SsrfSettings;
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::input::InputRef;
use authority::{HostRef, authority_host, embedded_hosts};

/// Origins whose values describe the connection itself rather than a destination the client
/// asks for (see the module docs).
const ADDRESSING_HEADERS: &[&str] = &[
    "header.host",
    "header.referer",
    "header.origin",
    "header.forwarded",
    "header.via",
    "header.x-forwarded-for",
    "header.x-forwarded-host",
    "header.x-forwarded-server",
    "header.x-forwarded-proto",
    "header.x-real-ip",
    "header.x-client-ip",
    "header.true-client-ip",
    "header.cf-connecting-ip",
];

/// How an input named the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    /// As an IP address equal to the one connected to.
    Address,
    /// As the host name that resolved to it.
    Name,
}

/// The destination of one `connect`, prepared for comparisons.
struct Target<'a> {
    /// The address connected to, IPv4-mapped turned into IPv4.
    addr: IpAddr,
    /// The destination port (for the reason).
    port: u16,
    /// The resolved name, without a trailing dot.
    host: Option<&'a str>,
    /// The internal range `addr` lies in.
    range: &'a IpNet,
    /// Whether `addr` is a cloud metadata address.
    metadata: bool,
}

impl Target<'_> {
    /// Whether `found` names this destination, and how.
    fn named_by(&self, found: &HostRef<'_>, whole_input: bool) -> Option<Named> {
        let text = found.host.as_ref();
        if addr::parse_host_ip(text).is_some_and(|ip| addr::canonical(ip) == self.addr) {
            return Some(Named::Address);
        }
        let host = self.host?;
        let text = text.strip_suffix('.').unwrap_or(text);
        if !text.eq_ignore_ascii_case(host) {
            return None;
        }
        // A bare single-label word only counts for a loopback alias (module docs).
        let distinctive = found.url_like || text.contains('.') || self.addr.is_loopback();
        (distinctive && (whole_input || found.url_like)).then_some(Named::Name)
    }

    /// The finding for `input`, which named this destination as `found`.
    fn finding(
        &self,
        input: InputRef<'_>,
        named: Named,
        found: &HostRef<'_>,
        confidence: Confidence,
    ) -> Finding {
        let rule_id = match (self.metadata, named) {
            (true, _) => "ssrf.cloud-metadata",
            (false, Named::Address) => "ssrf.internal-address",
            (false, Named::Name) => "ssrf.internal-host",
        };
        let what = match named {
            Named::Address => "the address",
            Named::Name => "the host",
        };
        let how = match (confidence, found.url_like) {
            (Confidence::High, false) => "is",
            (Confidence::High, true) => "is a URL or authority naming",
            _ => "contains a URL naming",
        };
        let kind = if self.metadata {
            "a cloud metadata address"
        } else {
            "internal"
        };
        Finding {
            detector: DetectorKind::Ssrf,
            rule_id: rule_id.into(),
            input: Some(input.to_input()),
            span: None,
            reason: format!(
                "input {how} {what} `{}`; the connection goes to {} port {}, {kind} (range {})",
                found.host, self.addr, self.port, self.range
            ),
            confidence,
        }
    }
}

/// Checks a `connect` against **all** inputs of the request (see the module docs).
///
/// `host` is the name `getaddrinfo` last resolved to `addr`, `None` when the application
/// connected to an address it already had (a literal, or a cached resolution).
pub fn check(
    addr: IpAddr,
    port: u16,
    host: Option<&str>,
    inputs: &[InputRef<'_>],
    cfg: &SsrfSettings,
) -> Option<Finding> {
    let range = addr::range_of(addr, &cfg.internal_ranges)?;
    let canon = addr::canonical(addr);
    let target = Target {
        addr: canon,
        port,
        host: host
            .map(|h| h.strip_suffix('.').unwrap_or(h))
            .filter(|h| !h.is_empty()),
        range,
        metadata: is_metadata(canon, cfg),
    };
    let mut medium: Option<Finding> = None;
    for input in inputs.iter().copied() {
        if input.value.len() < cfg.min_input_len.max(1)
            || ADDRESSING_HEADERS
                .iter()
                .any(|h| h.eq_ignore_ascii_case(input.origin))
        {
            continue;
        }
        if let Some(found) = authority_host(input.value.trim()) {
            if let Some(named) = target.named_by(&found, true) {
                return Some(target.finding(input, named, &found, Confidence::High));
            }
        }
        // Every URL-like piece has one of these characters; plain words skip the scan.
        let may_hold_url = |b: &u8| matches!(b, b':' | b'/' | b'\\' | b'?' | b'#');
        if medium.is_none() && input.value.as_bytes().iter().any(may_hold_url) {
            medium = embedded_hosts(input.value).iter().find_map(|found| {
                let named = target.named_by(found, false)?;
                Some(target.finding(input, named, found, Confidence::Medium))
            });
        }
    }
    medium
}

/// Whether `addr` (canonical) is one of the configured metadata addresses.
fn is_metadata(addr: IpAddr, cfg: &SsrfSettings) -> bool {
    cfg.metadata_addresses
        .iter()
        .any(|m| addr::canonical(*m) == addr)
}

/// Reports a connection to a cloud metadata address, with or without a matching input:
/// credentials live there, and few applications have a reason to ask.
pub fn check_metadata(
    addr: IpAddr,
    port: u16,
    host: Option<&str>,
    cfg: &SsrfSettings,
) -> Option<Finding> {
    let canon = addr::canonical(addr);
    if !is_metadata(canon, cfg) {
        return None;
    }
    let via = host.map_or_else(String::new, |h| format!(" (resolved from `{h}`)"));
    Some(Finding {
        detector: DetectorKind::Ssrf,
        rule_id: "ssrf.cloud-metadata".into(),
        input: None,
        span: None,
        reason: format!("connection to the cloud metadata address {canon} port {port}{via}"),
        confidence: Confidence::Medium,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Input;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn run(addr: &str, host: Option<&str>, origin: &str, value: &str) -> Option<Finding> {
        let input = Input::new(origin, value);
        check(
            ip(addr),
            80,
            host,
            &[input.view()],
            &SsrfSettings::default(),
        )
    }

    fn rule(addr: &str, host: Option<&str>, value: &str) -> Option<(&'static str, Confidence)> {
        run(addr, host, "query.url", value).map(|f| {
            let id = match f.rule_id {
                std::borrow::Cow::Borrowed(id) => id,
                std::borrow::Cow::Owned(_) => unreachable!("built-in rule ids are static"),
            };
            (id, f.confidence)
        })
    }

    const HIGH_ADDR: Option<(&str, Confidence)> = Some(("ssrf.internal-address", Confidence::High));

    #[test]
    fn every_ipv4_spelling_names_the_literal_address() {
        for value in [
            "127.0.0.1",
            "127.1",
            "2130706433",
            "0x7f.0.0.1",
            "0177.0.0.1",
            "0x7f000001",
            "http://127.1:8080/admin",
            "http://user:pw@2130706433/",
            "[::ffff:127.0.0.1]",
            "http://[::ffff:7f00:1]/",
        ] {
            assert_eq!(rule("127.0.0.1", None, value), HIGH_ADDR, "{value}");
        }
    }

    #[test]
    fn mapped_connect_address_is_checked_as_ipv4() {
        assert_eq!(rule("::ffff:10.0.0.5", None, "10.0.0.5"), HIGH_ADDR);
        assert_eq!(rule("::1", None, "http://[::1]:9000/"), HIGH_ADDR);
    }

    #[test]
    fn resolved_names_match_the_input_host() {
        let named = Some(("ssrf.internal-host", Confidence::High));
        assert_eq!(rule("10.1.2.3", Some("db.corp"), "http://db.corp/x"), named);
        assert_eq!(rule("10.1.2.3", Some("db.corp."), "DB.CORP"), named);
        assert_eq!(rule("127.0.0.1", Some("localhost"), "localhost"), named);
        assert_eq!(rule("172.18.0.3", Some("redis"), "redis:6379"), named);
        assert_eq!(rule("::1", Some("ip6-localhost"), "ip6-localhost"), named);
        // A bare word equal to a single-label name is not attributed.
        assert_eq!(rule("172.18.0.3", Some("redis"), "redis"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(value in ".{0,64}", host in proptest::option::of("[a-z0-9.:-]{0,16}"),
                        a in proptest::num::u32::ANY) {
            let input = Input::new("query.x", value);
            let cfg = SsrfSettings::default();
            let addr = IpAddr::from(std::net::Ipv4Addr::from(a));
            let _ = check(addr, 80, host.as_deref(), &[input.view()], &cfg);
            let _ = check_metadata(addr, 80, host.as_deref(), &cfg);
        }

        #[test]
        fn any_spelling_of_an_internal_address_is_attributed(a in proptest::num::u32::ANY) {
            let addr = std::net::Ipv4Addr::from((a & 0x00ff_ffff) | 0x0a00_0000);
            let cfg = SsrfSettings::default();
            for text in [addr.to_string(), u32::from(addr).to_string(),
                         format!("0x{:x}", u32::from(addr)), format!("http://{addr}:81/")] {
                let input = Input::new("query.x", text.clone());
                let found = check(IpAddr::V4(addr), 81, None, &[input.view()], &cfg);
                proptest::prop_assert!(found.is_some(), "{}", text);
            }
        }
    }

    #[test]
    fn urls_inside_text_are_medium() {
        assert_eq!(
            rule("10.0.0.9", None, "preview http://10.0.0.9/x please"),
            Some(("ssrf.internal-address", Confidence::Medium))
        );
        assert_eq!(rule("10.0.0.9", None, "server 10.0.0.9 is down"), None);
    }

    #[test]
    fn metadata_addresses() {
        assert_eq!(
            rule("169.254.169.254", None, "http://169.254.169.254/latest/"),
            Some(("ssrf.cloud-metadata", Confidence::High))
        );
        let cfg = SsrfSettings::default();
        let f = check_metadata(ip("::ffff:169.254.169.254"), 80, None, &cfg).expect("metadata");
        assert_eq!(f.rule_id, "ssrf.cloud-metadata");
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(check_metadata(ip("fd00:ec2::254"), 80, Some("x"), &cfg).is_some());
        assert!(check_metadata(ip("169.254.1.1"), 80, None, &cfg).is_none());
    }

    #[test]
    fn benign_connections() {
        // Public address named by the input.
        assert_eq!(rule("93.184.216.34", None, "http://93.184.216.34/"), None);
        // Loopback, but the input names something else or nothing.
        assert_eq!(rule("127.0.0.1", None, "8080"), None);
        assert_eq!(rule("127.0.0.1", None, "/admin"), None);
        assert_eq!(
            rule("127.0.0.1", Some("localhost"), "http://example.com/"),
            None
        );
        assert_eq!(rule("10.0.0.5", None, "alice@10.0.0.5"), None);
        // Addressing headers are the connection's own business.
        assert!(
            run(
                "127.0.0.1",
                Some("localhost"),
                "header.host",
                "localhost:8080"
            )
            .is_none()
        );
        assert!(run("127.0.0.1", None, "header.X-Forwarded-For", "127.0.0.1").is_none());
    }

    #[test]
    fn reason_explains_the_match() {
        let f = run("127.0.0.1", None, "json.url", "http://0x7f.1/").expect("hit");
        assert!(f.reason.contains("`0x7f.1`"), "{}", f.reason);
        assert!(f.reason.contains("127.0.0.0/8"), "{}", f.reason);
        assert_eq!(f.input.map(|i| i.origin).as_deref(), Some("json.url"));
    }
}

//! IP address text as C resolvers read it, and the canonical form addresses are compared in.
//!
//! `inet_aton` (used by `getaddrinfo`, `gethostbyname`, curl and most C clients for numeric
//! hosts) accepts far more than dotted quads: one to four parts, each decimal, octal (leading
//! `0`) or hexadecimal (`0x`), the last part filling all remaining bytes. `127.1`,
//! `2130706433`, `0x7f.0.0.1`, `0177.0.0.1` and `0x7f000001` are all 127.0.0.1. Peers that
//! parse only dotted quads miss these; [`inet_aton`] follows the C rules so an input spelled
//! any of these ways is recognised as naming the address actually connected to.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) reach the IPv4 host, so [`canonical`]
//! turns them into IPv4 before any comparison or range check. IPv4-*compatible* addresses
//! (`::127.0.0.1`, deprecated) are left as IPv6: Linux does not route them to IPv4, and
//! treating them as IPv4 would make `::1` equal to `0.0.0.1`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// `addr` with IPv4-mapped IPv6 turned into IPv4.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

/// The first range of `ranges` containing `addr`, tried in canonical form and as given (so an
/// operator's `::ffff:0:0/96` entry still matches a mapped address).
pub fn range_of(addr: IpAddr, ranges: &[IpNet]) -> Option<&IpNet> {
    let canon = canonical(addr);
    ranges
        .iter()
        .find(|net| net.contains(&canon) || net.contains(&addr))
}

/// Parses IPv4 text with the C `inet_aton` rules (see the module docs); `None` for anything
/// else, including parts that overflow their bytes, empty parts and trailing garbage.
pub fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let mut parts = [0u32; 4];
    let mut count = 0usize;
    for part in text.split('.') {
        let slot = parts.get_mut(count)?;
        *slot = aton_part(part)?;
        count += 1;
    }
    let [a, b, c, d] = parts;
    let value = match count {
        1 => a,
        2 if a <= 0xff && b <= 0xff_ffff => (a << 24) | b,
        3 if a <= 0xff && b <= 0xff && c <= 0xffff => (a << 24) | (b << 16) | c,
        4 if [a, b, c, d].iter().all(|&p| p <= 0xff) => (a << 24) | (b << 16) | (c << 8) | d,
        _ => return None,
    };
    Some(Ipv4Addr::from(value))
}

/// One `inet_aton` part: `0x…` hex (`0x` alone is 0, as in glibc), `0…` octal, else decimal.
fn aton_part(part: &str) -> Option<u32> {
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            if hex.is_empty() {
                return Some(0);
            }
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (part.get(1..)?, 8)
        } else {
            (part, 10)
        };
    // `from_str_radix` would accept a leading `+`; C does not.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// Parses the host part of a URL or authority as an IP address: `[v6]`, bare IPv6 (with an
/// optional `%zone`), or IPv4 by [`inet_aton`]. One trailing dot (`127.0.0.1.`) is ignored.
pub fn parse_host_ip(host: &str) -> Option<IpAddr> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return parse_v6(inner).map(IpAddr::V6);
    }
    if host.contains(':') {
        return parse_v6(host).map(IpAddr::V6);
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    inet_aton(host).map(IpAddr::V4)
}

/// IPv6 text without brackets; a `%zone` suffix (`fe80::1%eth0`, `%25eth0` in URLs) is dropped.
fn parse_v6(text: &str) -> Option<Ipv6Addr> {
    let addr = text.split_once('%').map_or(text, |(a, _)| a);
    addr.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Option<String> {
        inet_aton(s).map(|a| a.to_string())
    }

    #[test]
    fn inet_aton_accepts_every_c_spelling() {
        for s in [
            "127.0.0.1",
            "127.1",
            "127.0.1",
            "2130706433",
            "0x7f000001",
            "0X7F.0.0.1",
            "0x7f.1",
            "0177.0.0.1",
            "0177.0.0.01",
            "017700000001",
            "127.0x0.0.1",
        ] {
            assert_eq!(v4(s).as_deref(), Some("127.0.0.1"), "{s}");
        }
        assert_eq!(v4("10.1.2").as_deref(), Some("10.1.0.2"));
        assert_eq!(v4("0").as_deref(), Some("0.0.0.0"));
        assert_eq!(v4("0x.0x.0x.0x").as_deref(), Some("0.0.0.0"));
        assert_eq!(v4("192.168.65535").as_deref(), Some("192.168.255.255"));
    }

    #[test]
    fn inet_aton_rejects_non_addresses() {
        for s in [
            "",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.256",
            "1.16777216",
            "4294967296",
            "08.1.1.1",
            "0x1g",
            "+1.2.3.4",
            "1..2",
            "1.2.3.",
            "localhost",
            "1.2.3.4 ",
            "٣.1.1.1",
        ] {
            assert_eq!(v4(s), None, "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn inet_aton_round_trips(a in proptest::num::u32::ANY) {
            let addr = Ipv4Addr::from(a);
            proptest::prop_assert_eq!(inet_aton(&addr.to_string()), Some(addr));
            proptest::prop_assert_eq!(inet_aton(&a.to_string()), Some(addr));
            proptest::prop_assert_eq!(inet_aton(&format!("0x{a:x}")), Some(addr));
            proptest::prop_assert_eq!(inet_aton(&format!("0{a:o}")), Some(addr));
            let [p, q, r, s] = addr.octets();
            let two = format!("{p}.{}", (u32::from(q) << 16) | (u32::from(r) << 8) | u32::from(s));
            proptest::prop_assert_eq!(inet_aton(&two), Some(addr));
        }

        #[test]
        fn inet_aton_never_panics(text in "[0-9xX.a-f+ ]{0,24}") {
            let _ = inet_aton(&text);
            let _ = parse_host_ip(&text);
        }
    }

    #[test]
    fn host_ip_handles_brackets_zones_and_mapped() {
        let p = |s: &str| parse_host_ip(s).map(|a| canonical(a).to_string());
        assert_eq!(p("[::1]").as_deref(), Some("::1"));
        assert_eq!(p("::1").as_deref(), Some("::1"));
        assert_eq!(p("[::ffff:127.0.0.1]").as_deref(), Some("127.0.0.1"));
        assert_eq!(p("::ffff:7f00:1").as_deref(), Some("127.0.0.1"));
        assert_eq!(p("fe80::1%eth0").as_deref(), Some("fe80::1"));
        assert_eq!(p("[fe80::1%25eth0]").as_deref(), Some("fe80::1"));
        assert_eq!(p("127.0.0.1.").as_deref(), Some("127.0.0.1"));
        assert_eq!(p("[127.0.0.1]"), None);
        assert_eq!(p("example.com"), None);
    }

    #[test]
    fn mapped_addresses_are_checked_as_ipv4() {
        let ranges: Vec<IpNet> = ["127.0.0.0/8", "::1/128"]
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect();
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().expect("literal");
        assert_eq!(canonical(mapped), IpAddr::from([127, 0, 0, 2]));
        assert!(range_of(mapped, &ranges).is_some());
        // IPv4-compatible `::127.0.0.2` is IPv6, not loopback.
        let compat: IpAddr = "::127.0.0.2".parse().expect("literal");
        assert!(range_of(compat, &ranges).is_none());
        let public: IpAddr = "::ffff:93.184.216.34".parse().expect("literal");
        assert!(range_of(public, &ranges).is_none());
    }
}

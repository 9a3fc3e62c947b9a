//! Conversions from C socket addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Converts an AF_INET/AF_INET6 `sockaddr` to a `SocketAddr`; `None` for other families or a
/// too-short length.
///
/// # Safety
/// `addr` must be null or point to at least `len` readable bytes.
pub(crate) unsafe fn to_std(
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> Option<SocketAddr> {
    if addr.is_null() || (len as usize) < size_of::<libc::sa_family_t>() {
        return None;
    }
    // SAFETY: at least the family field is readable (checked above); unaligned-safe read.
    let family = unsafe { std::ptr::addr_of!((*addr).sa_family).read_unaligned() };
    match i32::from(family) {
        libc::AF_INET if len as usize >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the buffer holds a full sockaddr_in (checked length).
            let sin = unsafe { addr.cast::<libc::sockaddr_in>().read_unaligned() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 if len as usize >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the buffer holds a full sockaddr_in6 (checked length).
            let sin6 = unsafe { addr.cast::<libc::sockaddr_in6>().read_unaligned() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::new(
                IpAddr::V6(ip),
                u16::from_be(sin6.sin6_port),
            ))
        }
        _ => None,
    }
}

/// The peer address of a connected socket.
pub(crate) fn peer_of(fd: i32) -> Option<SocketAddr> {
    let _errno = crate::errno::Saved::now();
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `ss`/`len` are valid out-parameters of the declared size.
    let rc = unsafe { libc::getpeername(fd, (&raw mut ss).cast(), &mut len) };
    if rc != 0 {
        return None;
    }
    // SAFETY: getpeername filled `len` bytes of `ss`.
    unsafe { to_std((&raw const ss).cast(), len) }
}

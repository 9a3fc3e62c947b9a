//! Outbound connections: `connect` (the SSRF sink) and `getaddrinfo` (which tells `connect`
//! what host name an address was resolved from).
//!
//! `getaddrinfo` is never failed or altered; it runs with the agent guard held so the files
//! and sockets NSS opens inside it are not mistaken for application sinks.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int};
use std::net::IpAddr;
use std::sync::Mutex;

use libc::{addrinfo, sockaddr, socklen_t};
use policy::Sink;

use super::{c_str, refuse, run};
use crate::fdtable::{self, FdKind};
use crate::real::reals;
use crate::sinks::{self, Delivery, Verdict};
use crate::{errno, lifecycle, sockaddr as sa};

reals! {
    REAL_CONNECT: unsafe extern "C" fn(c_int, *const sockaddr, socklen_t) -> c_int = c"connect";
    REAL_GETADDRINFO: unsafe extern "C" fn(*const c_char, *const c_char, *const addrinfo, *mut *mut addrinfo) -> c_int = c"getaddrinfo";
}

/// Recent resolutions, newest last: address → the host name that produced it.
static RESOLVED: Mutex<VecDeque<(IpAddr, String)>> = Mutex::new(VecDeque::new());
const RESOLVED_MAX: usize = 64;

/// The host name most recently resolved to `addr`, if any. Never waits for the lock.
fn host_for(addr: IpAddr) -> Option<String> {
    let list = RESOLVED.try_lock().ok()?;
    list.iter()
        .rev()
        .find(|(a, _)| *a == addr)
        .map(|(_, h)| h.clone())
}

/// Interposes `connect(2)`: a refused connect returns -1 with errno `EACCES`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let refused = run(|| {
        fdtable::set(fd, FdKind::Outbound);
        crate::wire::connected(fd);
        // SAFETY: the caller passes `len` readable bytes at `addr`.
        let dest = unsafe { sa::to_std(addr, len) }?;
        if !lifecycle::in_own_process() {
            return None;
        }
        let ip = match dest.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let host = host_for(ip).or_else(|| host_for(dest.ip()));
        let sink = Sink::Connect {
            addr: dest.ip(),
            port: dest.port(),
            host: host.as_deref(),
        };
        Some(sinks::check(&sink, Delivery::Queued) == Verdict::Block)
    });
    if refused.flatten() == Some(true) {
        return refuse(-1);
    }
    match REAL_CONNECT.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, addr, len) },
        // SAFETY: as above, straight to the kernel before initialisation.
        None => unsafe { libc::syscall(libc::SYS_connect, fd, addr, len) as c_int },
    }
}

/// Interposes `getaddrinfo(3)`: records host → addresses; the result is the real one.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    let Some(real) = REAL_GETADDRINFO.get_or_resolve() else {
        return libc::EAI_SYSTEM;
    };
    let call = || {
        // SAFETY: forwarding the caller's arguments to the real function.
        unsafe { real(node, service, hints, res) }
    };
    // Hold the guard across the real call: NSS's own opens/connects are not application sinks.
    let outcome = run(|| {
        let rc = call();
        let saved = errno::Saved::now();
        if rc == 0 && !res.is_null() {
            // SAFETY: on success `*res` is a valid addrinfo list owned by the caller.
            unsafe { record(node, *res) };
        }
        drop(saved);
        (rc, errno::get())
    });
    match outcome {
        Some((rc, e)) => {
            errno::set(e);
            rc
        }
        None => call(),
    }
}

/// Remembers which host name produced each address of a successful resolution.
///
/// # Safety
/// `node` must be null or a C string; `list` a valid addrinfo list.
unsafe fn record(node: *const c_char, list: *const addrinfo) {
    // SAFETY: per the contract.
    let Some(host) = (unsafe { c_str(node) }) else {
        return;
    };
    let Ok(mut resolved) = RESOLVED.try_lock() else {
        return;
    };
    let mut cur = list;
    let mut n = 0;
    while !cur.is_null() && n < 16 {
        // SAFETY: `cur` is a node of the valid list.
        let ai = unsafe { &*cur };
        // SAFETY: ai_addr holds ai_addrlen bytes.
        if let Some(addr) = unsafe { sa::to_std(ai.ai_addr, ai.ai_addrlen) } {
            if !resolved.iter().any(|(a, h)| *a == addr.ip() && *h == host) {
                if resolved.len() >= RESOLVED_MAX {
                    resolved.pop_front();
                }
                resolved.push_back((addr.ip(), host.clone().into_owned()));
            }
        }
        cur = ai.ai_next;
        n += 1;
    }
}

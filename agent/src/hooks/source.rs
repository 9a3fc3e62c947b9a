//! Request sources and connection lifetime: accept, the read family, writes (which end a
//! request), close and dup.
//!
//! Hot path: a read on a file or pipe costs one atomic load of the fd's kind; a read on an
//! inbound socket adds a bounded copy. Before initialisation these hooks make the raw syscall.

use std::ffi::{c_int, c_void};

use libc::{iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};

use super::run;
use crate::capture;
use crate::fdtable::{self, FdKind};
use crate::real::reals;
use crate::settings;

reals! {
    REAL_ACCEPT: unsafe extern "C" fn(c_int, *mut sockaddr, *mut socklen_t) -> c_int = c"accept";
    REAL_ACCEPT4: unsafe extern "C" fn(c_int, *mut sockaddr, *mut socklen_t, c_int) -> c_int = c"accept4";
    REAL_READ: unsafe extern "C" fn(c_int, *mut c_void, size_t) -> ssize_t = c"read";
    REAL_READV: unsafe extern "C" fn(c_int, *const iovec, c_int) -> ssize_t = c"readv";
    REAL_RECV: unsafe extern "C" fn(c_int, *mut c_void, size_t, c_int) -> ssize_t = c"recv";
    REAL_RECVFROM: unsafe extern "C" fn(c_int, *mut c_void, size_t, c_int, *mut sockaddr, *mut socklen_t) -> ssize_t = c"recvfrom";
    REAL_RECVMSG: unsafe extern "C" fn(c_int, *mut msghdr, c_int) -> ssize_t = c"recvmsg";
    REAL_WRITE: unsafe extern "C" fn(c_int, *const c_void, size_t) -> ssize_t = c"write";
    REAL_WRITEV: unsafe extern "C" fn(c_int, *const iovec, c_int) -> ssize_t = c"writev";
    REAL_SEND: unsafe extern "C" fn(c_int, *const c_void, size_t, c_int) -> ssize_t = c"send";
    REAL_SENDTO: unsafe extern "C" fn(c_int, *const c_void, size_t, c_int, *const sockaddr, socklen_t) -> ssize_t = c"sendto";
    REAL_SENDMSG: unsafe extern "C" fn(c_int, *const msghdr, c_int) -> ssize_t = c"sendmsg";
    REAL_CLOSE: unsafe extern "C" fn(c_int) -> c_int = c"close";
    REAL_DUP2: unsafe extern "C" fn(c_int, c_int) -> c_int = c"dup2";
    REAL_DUP3: unsafe extern "C" fn(c_int, c_int, c_int) -> c_int = c"dup3";
}

/// Raw syscall returning `ssize_t` (pre-initialisation pass-through).
macro_rules! sys {
    ($nr:expr $(, $a:expr)*) => {
        // SAFETY: the arguments are the hook's own, forwarded unchanged to the kernel.
        unsafe { libc::syscall($nr $(, $a)*) as ssize_t }
    };
}

/// The buffers a read filled: one, or an iovec array.
#[derive(Clone, Copy)]
enum Bufs {
    One(*const u8, usize),
    Iov(*const iovec, usize),
}

impl Bufs {
    /// The `i`-th buffer as (pointer, length).
    ///
    /// # Safety
    /// For `Iov`, the pointer must reference at least the given number of valid iovecs.
    unsafe fn get(self, i: usize) -> Option<(*const u8, usize)> {
        match self {
            Bufs::One(p, n) => (i == 0).then_some((p, n)),
            Bufs::Iov(iov, n) if i < n && !iov.is_null() => {
                // SAFETY: `i < n` and `iov` points to `n` valid iovecs (contract).
                let v = unsafe { *iov.add(i) };
                Some((v.iov_base as *const u8, v.iov_len))
            }
            Bufs::Iov(..) => None,
        }
    }
}

/// Copies what the application just read, if `fd` is an inbound connection. No allocation
/// happens unless it is.
///
/// # Safety
/// `bufs` must describe the buffers the real call filled with `total` bytes.
#[inline]
unsafe fn observe_read(fd: c_int, bufs: Bufs, total: ssize_t) {
    let Ok(mut left) = usize::try_from(total) else {
        return;
    };
    let kind = fdtable::kind(fd);
    if left == 0
        || matches!(
            kind,
            FdKind::Plain | FdKind::OtherSocket | FdKind::OutboundOther | FdKind::OutboundDb
        )
    {
        return;
    }
    if kind == FdKind::Outbound {
        run(|| {
            // SAFETY: `bufs` is valid per this function's contract.
            if let Some((ptr, len)) = unsafe { bufs.get(0) }.filter(|(p, _)| !p.is_null()) {
                // SAFETY: the real call wrote at least min(len, total) bytes here.
                let bytes = unsafe { std::slice::from_raw_parts(ptr, len.min(left)) };
                crate::wire::on_recv(fd, bytes);
            }
        });
        return;
    }
    run(|| {
        if fdtable::classify(fd) != FdKind::Inbound {
            return;
        }
        let cap = settings::loaded().map_or(64 * 1024, |l| l.engine.policy().capture.buffer_bytes);
        let mut i = 0;
        // SAFETY: `bufs` is valid per this function's contract.
        while let Some((ptr, len)) = unsafe { bufs.get(i) } {
            let n = len.min(left);
            if n == 0 || ptr.is_null() {
                break;
            }
            // SAFETY: the real call wrote `total` bytes into these buffers in order, and `n`
            // exceeds neither this buffer's length nor what remains of `total`.
            let bytes = unsafe { std::slice::from_raw_parts(ptr, n) };
            capture::append(fd, bytes, cap);
            left -= n;
            i += 1;
        }
    });
}

/// What a write on `fd` means to the agent, before it happens: on an inbound connection it
/// answers the request; on an outbound one it may carry SQL ([`crate::wire`]). Returns the
/// bytes to report as sent afterwards (outbound only), or `Err(())` when the write must be
/// refused.
///
/// # Safety
/// `bufs` must describe the `total` readable bytes the application passed.
#[inline]
unsafe fn before_write(fd: c_int, bufs: Bufs, total: usize) -> Result<Option<Vec<u8>>, ()> {
    match fdtable::kind(fd) {
        FdKind::Inbound => {
            run(|| {
                // SAFETY: per this function's contract.
                let first = unsafe { bufs.get(0) };
                let prefix = match first {
                    Some((p, n)) if !p.is_null() && n > 0 => {
                        // SAFETY: the application passed `n` readable bytes at `p`.
                        unsafe { std::slice::from_raw_parts(p, n.min(16)) }
                    }
                    _ => &[][..],
                };
                capture::mark_responded(fd, prefix);
            });
            Ok(None)
        }
        FdKind::Outbound | FdKind::OutboundDb => {
            let outcome = super::run_in_own_process(|| {
                // SAFETY: per this function's contract.
                let bytes = unsafe { gather(bufs, total) };
                if crate::wire::before_send(fd, &bytes) == crate::sinks::Verdict::Block {
                    Err(())
                } else {
                    Ok(Some(bytes))
                }
            });
            outcome.unwrap_or(Ok(None))
        }
        _ => Ok(None),
    }
}

/// After a write: advances the outbound recogniser by what the kernel took.
fn after_write(fd: c_int, pending: Option<Vec<u8>>, written: ssize_t) {
    if let (Some(bytes), Ok(n)) = (pending, usize::try_from(written)) {
        run(|| crate::wire::sent(fd, bytes.get(..n.min(bytes.len())).unwrap_or_default()));
    }
}

/// Copies the bytes of `bufs`, at most `total` (and at most 1 MiB + a header: larger
/// statements are skipped by the recogniser anyway).
///
/// # Safety
/// As [`before_write`].
unsafe fn gather(bufs: Bufs, total: usize) -> Vec<u8> {
    let cap = total.min(policy::wire::MAX_MESSAGE_BYTES + 64);
    let mut out = Vec::with_capacity(cap);
    let mut i = 0;
    // SAFETY: per the contract.
    while let Some((p, n)) = unsafe { bufs.get(i) } {
        let take = n.min(cap - out.len());
        if p.is_null() || take == 0 {
            break;
        }
        // SAFETY: the application passed `n` readable bytes at `p`.
        out.extend_from_slice(unsafe { std::slice::from_raw_parts(p, take) });
        i += 1;
    }
    out
}

/// Total length of an iovec array.
///
/// # Safety
/// `iov` must be null or point to `cnt` valid iovecs.
unsafe fn iov_total(iov: *const iovec, cnt: usize) -> usize {
    if iov.is_null() {
        return 0;
    }
    // SAFETY: per the contract.
    unsafe { std::slice::from_raw_parts(iov, cnt) }
        .iter()
        .map(|v| v.iov_len)
        .sum()
}

fn on_accepted(fd: c_int, addr: *const sockaddr, len: *const socklen_t) {
    if fd < 0 {
        return;
    }
    run(|| {
        fdtable::set(fd, FdKind::Inbound);
        let peer = if addr.is_null() || len.is_null() {
            None
        } else {
            // SAFETY: accept filled `*len` bytes of `addr` (possibly truncated, which to_std checks).
            unsafe { crate::sockaddr::to_std(addr, *len) }
        };
        capture::accepted(fd, peer);
    });
}

/// Forgets `fd`'s state before it is closed or replaced.
fn on_fd_gone(fd: c_int) {
    match fdtable::kind(fd) {
        FdKind::Unknown => {}
        FdKind::Inbound => {
            // In a vfork child the connection table is the parent's: leave it alone.
            super::run_in_own_process(|| {
                fdtable::set(fd, FdKind::Unknown);
                capture::forget(fd);
            });
        }
        // One atomic store, no getpid: `Unknown` only means "classify again", which is
        // harmless even in a vfork child sharing the parent's table.
        _ => fdtable::set(fd, FdKind::Unknown),
    }
}

/// Interposes `accept(2)`: an accepted fd is an inbound connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    let r = match REAL_ACCEPT.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, addr, len) },
        None => sys!(libc::SYS_accept, fd, addr, len) as c_int,
    };
    on_accepted(r, addr, len);
    r
}

/// Interposes `accept4(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    let r = match REAL_ACCEPT4.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, addr, len, flags) },
        None => sys!(libc::SYS_accept4, fd, addr, len, flags) as c_int,
    };
    on_accepted(r, addr, len);
    r
}

/// Interposes `read(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t {
    let r = match REAL_READ.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, buf, count) },
        None => sys!(libc::SYS_read, fd, buf, count),
    };
    // SAFETY: `buf` is the buffer the real read filled.
    unsafe { observe_read(fd, Bufs::One(buf as *const u8, count), r) };
    r
}

/// Interposes `readv(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, cnt: c_int) -> ssize_t {
    let r = match REAL_READV.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, iov, cnt) },
        None => sys!(libc::SYS_readv, fd, iov, cnt),
    };
    let n = usize::try_from(cnt).unwrap_or(0);
    // SAFETY: the caller passed `cnt` valid iovecs, which the real call filled.
    unsafe { observe_read(fd, Bufs::Iov(iov, n), r) };
    r
}

/// Interposes `recv(2)`; `MSG_PEEK` data is read again later, so it is not captured.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    let r = match REAL_RECV.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, buf, len, flags) },
        None => sys!(libc::SYS_recvfrom, fd, buf, len, flags, 0usize, 0usize),
    };
    if flags & libc::MSG_PEEK == 0 {
        // SAFETY: `buf` is the buffer the real call filled.
        unsafe { observe_read(fd, Bufs::One(buf as *const u8, len), r) };
    }
    r
}

/// Interposes `recvfrom(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    let r = match REAL_RECVFROM.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, buf, len, flags, addr, alen) },
        None => sys!(libc::SYS_recvfrom, fd, buf, len, flags, addr, alen),
    };
    if flags & libc::MSG_PEEK == 0 {
        // SAFETY: `buf` is the buffer the real call filled.
        unsafe { observe_read(fd, Bufs::One(buf as *const u8, len), r) };
    }
    r
}

/// Interposes `recvmsg(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    let r = match REAL_RECVMSG.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, msg, flags) },
        None => sys!(libc::SYS_recvmsg, fd, msg, flags),
    };
    if r > 0 && flags & libc::MSG_PEEK == 0 && !msg.is_null() {
        // SAFETY: `msg` is the caller's valid msghdr; its iovecs received `r` bytes.
        unsafe { observe_read(fd, Bufs::Iov((*msg).msg_iov, (*msg).msg_iovlen), r) };
    }
    r
}

/// Interposes `write(2)`: an answer on an inbound connection ends its request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t {
    // SAFETY: the caller passes `count` readable bytes at `buf`.
    let Ok(pending) = (unsafe { before_write(fd, Bufs::One(buf.cast(), count), count) }) else {
        return super::refuse(-1);
    };
    let r = match REAL_WRITE.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, buf, count) },
        None => sys!(libc::SYS_write, fd, buf, count),
    };
    after_write(fd, pending, r);
    r
}

/// Interposes `writev(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, cnt: c_int) -> ssize_t {
    let n = usize::try_from(cnt).unwrap_or(0);
    // SAFETY: the caller passes `cnt` valid iovecs.
    let bufs = (Bufs::Iov(iov, n), unsafe { iov_total(iov, n) });
    // SAFETY: as above.
    let Ok(pending) = (unsafe { before_write(fd, bufs.0, bufs.1) }) else {
        return super::refuse(-1);
    };
    let r = match REAL_WRITEV.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, iov, cnt) },
        None => sys!(libc::SYS_writev, fd, iov, cnt),
    };
    after_write(fd, pending, r);
    r
}

/// Interposes `send(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: the caller passes `len` readable bytes at `buf`.
    let Ok(pending) = (unsafe { before_write(fd, Bufs::One(buf.cast(), len), len) }) else {
        return super::refuse(-1);
    };
    let r = match REAL_SEND.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, buf, len, flags) },
        None => sys!(libc::SYS_sendto, fd, buf, len, flags, 0usize, 0usize),
    };
    after_write(fd, pending, r);
    r
}

/// Interposes `sendto(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    // SAFETY: the caller passes `len` readable bytes at `buf`.
    let Ok(pending) = (unsafe { before_write(fd, Bufs::One(buf.cast(), len), len) }) else {
        return super::refuse(-1);
    };
    let r = match REAL_SENDTO.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, buf, len, flags, addr, alen) },
        None => sys!(libc::SYS_sendto, fd, buf, len, flags, addr, alen),
    };
    after_write(fd, pending, r);
    r
}

/// Interposes `sendmsg(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    let (iov, n) = if msg.is_null() {
        (std::ptr::null(), 0)
    } else {
        // SAFETY: `msg` is the caller's valid msghdr.
        unsafe { ((*msg).msg_iov.cast_const(), (*msg).msg_iovlen) }
    };
    // SAFETY: the msghdr's iovecs are valid.
    let total = unsafe { iov_total(iov, n) };
    // SAFETY: as above.
    let Ok(pending) = (unsafe { before_write(fd, Bufs::Iov(iov, n), total) }) else {
        return super::refuse(-1);
    };
    let r = match REAL_SENDMSG.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, msg, flags) },
        None => sys!(libc::SYS_sendmsg, fd, msg, flags),
    };
    after_write(fd, pending, r);
    r
}

/// Interposes `close(2)`: the connection's request is forgotten before the fd can be reused.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    on_fd_gone(fd);
    match REAL_CLOSE.get() {
        // SAFETY: forwarding the caller's argument to the real function.
        Some(f) => unsafe { f(fd) },
        None => sys!(libc::SYS_close, fd) as c_int,
    }
}

/// Interposes `dup2(2)`: `new` takes `old`'s kind with an empty request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    if old != new {
        on_fd_gone(new);
    }
    let r = match REAL_DUP2.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(old, new) },
        None if old == new => sys!(libc::SYS_fcntl, old, libc::F_GETFD) as c_int,
        None => sys!(libc::SYS_dup3, old, new, 0) as c_int,
    };
    if r >= 0 && old != new {
        super::run_in_own_process(|| fdtable::set(new, fdtable::kind(old)));
    }
    r
}

/// Interposes `dup3(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    on_fd_gone(new);
    let r = match REAL_DUP3.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(old, new, flags) },
        None => sys!(libc::SYS_dup3, old, new, flags) as c_int,
    };
    if r >= 0 {
        super::run_in_own_process(|| fdtable::set(new, fdtable::kind(old)));
    }
    r
}

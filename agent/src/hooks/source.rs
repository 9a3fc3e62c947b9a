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
    if left == 0
        || matches!(
            fdtable::kind(fd),
            FdKind::Plain | FdKind::Outbound | FdKind::OtherSocket
        )
    {
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

/// Notes that the application answered on `fd` (ends the current request).
#[inline]
fn observe_write(fd: c_int, first: *const u8, len: usize) {
    if fdtable::kind(fd) != FdKind::Inbound {
        return;
    }
    run(|| {
        let n = len.min(16);
        let prefix = if first.is_null() || n == 0 {
            &[][..]
        } else {
            // SAFETY: the application passed `len` readable bytes at `first`.
            unsafe { std::slice::from_raw_parts(first, n) }
        };
        capture::mark_responded(fd, prefix);
    });
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
        _ => {
            super::run_in_own_process(|| fdtable::set(fd, FdKind::Unknown));
        }
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
    observe_write(fd, buf.cast(), count);
    match REAL_WRITE.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, buf, count) },
        None => sys!(libc::SYS_write, fd, buf, count),
    }
}

/// Interposes `writev(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, cnt: c_int) -> ssize_t {
    if fdtable::kind(fd) == FdKind::Inbound && !iov.is_null() && cnt > 0 {
        // SAFETY: the caller passed at least one valid iovec.
        let first = unsafe { *iov };
        observe_write(fd, first.iov_base.cast(), first.iov_len);
    }
    match REAL_WRITEV.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, iov, cnt) },
        None => sys!(libc::SYS_writev, fd, iov, cnt),
    }
}

/// Interposes `send(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    observe_write(fd, buf.cast(), len);
    match REAL_SEND.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, buf, len, flags) },
        None => sys!(libc::SYS_sendto, fd, buf, len, flags, 0usize, 0usize),
    }
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
    observe_write(fd, buf.cast(), len);
    match REAL_SENDTO.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, buf, len, flags, addr, alen) },
        None => sys!(libc::SYS_sendto, fd, buf, len, flags, addr, alen),
    }
}

/// Interposes `sendmsg(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    if fdtable::kind(fd) == FdKind::Inbound && !msg.is_null() {
        // SAFETY: `msg` is the caller's valid msghdr.
        let (iov, n) = unsafe { ((*msg).msg_iov, (*msg).msg_iovlen) };
        if !iov.is_null() && n > 0 {
            // SAFETY: at least one valid iovec.
            let first = unsafe { *iov };
            observe_write(fd, first.iov_base.cast(), first.iov_len);
        }
    }
    match REAL_SENDMSG.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, msg, flags) },
        None => sys!(libc::SYS_sendmsg, fd, msg, flags),
    }
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

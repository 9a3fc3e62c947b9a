//! What each file descriptor is, so a `read` on a file or pipe costs one atomic load.
//!
//! One byte per fd below [`MAX_FDS`] in static memory (no allocation, fork-safe). An fd is
//! classified once — by the hook that created it (accept → inbound, connect → outbound,
//! open → plain) or, for fds we did not see created (inherited, socket-activated, created by
//! libc internally), by one `fstat` + `getsockopt` on first use — and reset on close/dup.
//! fds at or above `MAX_FDS` are never tracked (counted as fail-open).

use std::sync::atomic::{AtomicU8, Ordering};

/// fds tracked; higher fds pass through unobserved.
pub(crate) const MAX_FDS: usize = 65536;

/// Classification of one fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum FdKind {
    /// Not seen yet.
    Unknown = 0,
    /// A file, pipe, tty… — nothing to capture.
    Plain = 1,
    /// A connection accepted by this process (or an inherited TCP connection): its reads are
    /// requests.
    Inbound = 2,
    /// A connection this process opened, not (yet) known to be anything but a database: its
    /// writes are watched for SQL ([`crate::wire`]); its reads are never user input.
    Outbound = 3,
    /// A listening socket, or a socket we do not capture (e.g. an inherited AF_UNIX socket).
    OtherSocket = 4,
    /// An outbound connection known not to be a database (or encrypted): nothing to watch.
    OutboundOther = 5,
    /// An outbound connection known to be a database: its writes are checked, its reads
    /// (result rows) are not looked at.
    OutboundDb = 6,
}

static KINDS: [AtomicU8; MAX_FDS] = [const { AtomicU8::new(0) }; MAX_FDS];

fn slot(fd: i32) -> Option<&'static AtomicU8> {
    usize::try_from(fd).ok().and_then(|i| KINDS.get(i))
}

/// The recorded kind, without classifying.
#[inline]
pub(crate) fn kind(fd: i32) -> FdKind {
    match slot(fd).map(|s| s.load(Ordering::Relaxed)) {
        Some(1) => FdKind::Plain,
        Some(2) => FdKind::Inbound,
        Some(3) => FdKind::Outbound,
        Some(4) => FdKind::OtherSocket,
        Some(5) => FdKind::OutboundOther,
        Some(6) => FdKind::OutboundDb,
        _ => FdKind::Unknown,
    }
}

/// Records `kind` for `fd`.
#[inline]
pub(crate) fn set(fd: i32, kind: FdKind) {
    if let Some(s) = slot(fd) {
        s.store(kind as u8, Ordering::Relaxed);
    }
}

/// The kind of `fd`, classifying it with `fstat`/`getsockopt` the first time.
#[inline]
pub(crate) fn classify(fd: i32) -> FdKind {
    match kind(fd) {
        FdKind::Unknown => {
            let k = probe(fd);
            set(fd, k);
            k
        }
        k => k,
    }
}

#[cold]
fn probe(fd: i32) -> FdKind {
    let _errno = crate::errno::Saved::now();
    // SAFETY: `st` is a valid out-buffer; fstat on a bad fd just fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return FdKind::Plain;
    }
    if sockopt(fd, libc::SO_ACCEPTCONN) == Some(1) {
        return FdKind::OtherSocket;
    }
    // An fd we did not see created: only TCP/UDP counts as inbound traffic. AF_UNIX pairs are
    // mostly internal IPC (worker pipes, event loops), not attacker input.
    match sockopt(fd, libc::SO_DOMAIN) {
        Some(libc::AF_INET | libc::AF_INET6) => FdKind::Inbound,
        _ => FdKind::OtherSocket,
    }
}

fn sockopt(fd: i32, opt: libc::c_int) -> Option<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v`/`len` are valid out-parameters of the right size.
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, opt, (&raw mut v).cast(), &mut len) };
    (rc == 0).then_some(v)
}

//! Request capture: a bounded copy of what each inbound connection delivered since the
//! application last answered on it.
//!
//! Read path (every `read`/`recv*` on an inbound socket): append up to the policy's
//! `capture.buffer_bytes` into the connection's buffer — no parsing. A write on the connection
//! marks the request answered; the next read starts a new request (keep-alive). Pipelined
//! requests that arrive together stay in one buffer and are all extracted. `close` clears it.
//!
//! Sink path ([`correlated`]): the request last read on this thread plus the process's most
//! recent requests (a short window, for handlers that run on other threads) are parsed lazily
//! by the policy engine and the result cached until the buffer changes.
//!
//! Concurrency: each connection sits behind a [`TryLock`], held only for memcpy-sized work and
//! never waited on, so a hook interrupted by a signal, or a child forked while another thread
//! held the lock, cannot deadlock.
//! Connection slots live in an [`FdSlots`] table: allocated on first use, never freed.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

use policy::Engine;
use policy::engine::RequestContext;

use crate::fdslots::FdSlots;
use crate::sockaddr;
use crate::stats;
use crate::trylock::TryLock;

/// Most requests the recent-requests window can remember.
const RING_SIZE: usize = 256;

/// One inbound connection's current request.
struct Conn {
    /// Set by a write on the connection: the next read starts a new request.
    responded: AtomicBool,
    data: TryLock<ConnData>,
}

#[derive(Default)]
struct ConnData {
    buf: Vec<u8>,
    generation: u64,
    peer: Option<SocketAddr>,
    last_read_ms: u64,
    cache: Option<(u64, usize, Arc<RequestContext>)>,
}

impl Conn {
    /// Runs `f` with the connection locked, or `None` after a bounded spin.
    fn with<R>(&self, f: impl FnOnce(&mut ConnData) -> R) -> Option<R> {
        self.data.with(f)
    }
}

static CONNS: FdSlots<Conn> = FdSlots::new();
static RING: [AtomicI32; RING_SIZE] = [const { AtomicI32::new(-1) }; RING_SIZE];
static RING_NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The inbound fd this thread read from last.
    static LAST_FD: Cell<i32> = const { Cell::new(-1) };
}

fn existing(fd: i32) -> Option<&'static Conn> {
    CONNS.get(fd)
}

fn get_or_create(fd: i32) -> Option<&'static Conn> {
    CONNS.get_or_insert_with(fd, || Conn {
        responded: AtomicBool::new(false),
        data: TryLock::new(ConnData::default()),
    })
}

/// Milliseconds on the monotonic clock (vDSO, no syscall).
pub(crate) fn now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1000) + (ts.tv_nsec as u64) / 1_000_000
}

/// Appends bytes the application just read from inbound connection `fd`.
pub(crate) fn append(fd: i32, bytes: &[u8], cap: usize) {
    let Some(conn) = get_or_create(fd) else {
        stats::FAIL_OPEN.bump();
        return;
    };
    let responded = conn.responded.swap(false, Ordering::AcqRel);
    let new_request = conn.with(|d| {
        let new_request = responded || d.buf.is_empty();
        if responded {
            d.buf.clear();
            d.generation += 1;
            d.cache = None;
        }
        let room = cap.saturating_sub(d.buf.len());
        let take = bytes.len().min(room);
        if take < bytes.len() {
            stats::CAPTURE_TRUNCATED.bump();
        }
        d.buf
            .extend_from_slice(bytes.get(..take).unwrap_or_default());
        d.last_read_ms = now_ms();
        if new_request && d.peer.is_none() {
            d.peer = sockaddr::peer_of(fd);
        }
        new_request
    });
    if new_request == Some(true) {
        stats::REQUESTS.bump();
        crate::telemetry::ensure_started();
        crate::reload::maybe_reload();
        let i = RING_NEXT.fetch_add(1, Ordering::Relaxed) % RING_SIZE;
        if let Some(slot) = RING.get(i) {
            slot.store(fd, Ordering::Relaxed);
        }
    }
    LAST_FD.with(|l| l.set(fd));
}

/// The application wrote `bytes` to inbound connection `fd`: its request has been answered.
pub(crate) fn mark_responded(fd: i32, bytes: &[u8]) {
    // An interim `100 Continue` precedes the body of the same request.
    if bytes.starts_with(b"HTTP/1.1 100") || bytes.starts_with(b"HTTP/1.0 100") {
        return;
    }
    if let Some(conn) = existing(fd) {
        conn.responded.store(true, Ordering::Release);
    }
}

/// Whether the application has started answering on `fd` (a 403 would then be corrupt).
pub(crate) fn answered(fd: i32) -> bool {
    existing(fd).is_some_and(|c| c.responded.load(Ordering::Acquire))
}

/// `fd` was closed (or replaced by dup2): forget its request and release its memory.
pub(crate) fn forget(fd: i32) {
    if let Some(conn) = existing(fd) {
        conn.responded.store(false, Ordering::Release);
        conn.with(|d| {
            let generation = d.generation + 1;
            *d = ConnData {
                generation,
                ..ConnData::default()
            };
        });
    }
    LAST_FD.with(|l| {
        if l.get() == fd {
            l.set(-1);
        }
    });
}

/// Records the peer of a freshly accepted connection.
pub(crate) fn accepted(fd: i32, peer: Option<SocketAddr>) {
    forget(fd);
    if let (Some(conn), Some(peer)) = (get_or_create(fd), peer) {
        conn.with(|d| d.peer = Some(peer));
    }
}

/// Sets `fd`'s current request to `bytes` (a request that did not arrive on a socket: CGI).
pub(crate) fn prefill(fd: i32, bytes: &[u8], peer: Option<SocketAddr>) {
    if let Some(conn) = get_or_create(fd) {
        conn.with(|d| {
            d.buf.clear();
            d.buf.extend_from_slice(bytes);
            d.peer = peer;
            d.last_read_ms = now_ms();
        });
    }
    LAST_FD.with(|l| l.set(fd));
}

/// A request correlated with a sink call.
pub(crate) struct Correlated {
    /// The connection it arrived on (-1 when it did not arrive on a socket: CGI).
    pub(crate) fd: i32,
    /// Who sent it.
    pub(crate) peer: Option<SocketAddr>,
    /// Its extracted inputs.
    pub(crate) ctx: Arc<RequestContext>,
}

/// The requests a sink on this thread may have been fed by: this thread's last request first,
/// then the process's recent requests (at most `window_requests`, read within `window_ms`).
pub(crate) fn correlated(engine: &Engine) -> Vec<Correlated> {
    let settings = &engine.policy().capture;
    let mut fds: Vec<i32> = Vec::new();
    let own = LAST_FD.with(Cell::get);
    if own >= 0 {
        fds.push(own);
    }
    let window = settings.window_requests.min(RING_SIZE);
    let next = RING_NEXT.load(Ordering::Relaxed);
    for back in 1..=window {
        let Some(i) = next.checked_sub(back) else {
            break;
        };
        let fd = RING
            .get(i % RING_SIZE)
            .map_or(-1, |s| s.load(Ordering::Relaxed));
        if fd >= 0 && !fds.contains(&fd) {
            fds.push(fd);
        }
    }
    let now = now_ms();
    let mut found: Vec<Correlated> = fds
        .into_iter()
        .filter_map(|fd| {
            let conn = existing(fd)?;
            let fresh_enough =
                |last: u64| fd == own || now.saturating_sub(last) <= settings.window_ms;
            context_of(conn, engine, fresh_enough).map(|(peer, ctx)| Correlated { fd, peer, ctx })
        })
        .collect();
    found.extend(crate::cgi::correlated(engine));
    found
}

/// Parses (or reuses the cached parse of) one connection's request.
fn context_of(
    conn: &Conn,
    engine: &Engine,
    fresh_enough: impl Fn(u64) -> bool,
) -> Option<(Option<SocketAddr>, Arc<RequestContext>)> {
    enum Snapshot {
        Cached(Option<SocketAddr>, Arc<RequestContext>),
        Copy(Option<SocketAddr>, u64, Vec<u8>),
    }
    let snap = conn.with(|d| {
        if d.buf.is_empty() || !fresh_enough(d.last_read_ms) {
            return None;
        }
        match &d.cache {
            Some((g, len, ctx)) if *g == d.generation && *len == d.buf.len() => {
                Some(Snapshot::Cached(d.peer, Arc::clone(ctx)))
            }
            _ => Some(Snapshot::Copy(d.peer, d.generation, d.buf.clone())),
        }
    })??;
    match snap {
        Snapshot::Cached(peer, ctx) => Some((peer, ctx)),
        Snapshot::Copy(peer, generation, bytes) => {
            // Parse outside the lock: a concurrent read on this connection is never delayed.
            let ctx = Arc::new(engine.context(&bytes));
            let cached = Arc::clone(&ctx);
            conn.with(|d| {
                if d.generation == generation && d.buf.len() == bytes.len() {
                    d.cache = Some((generation, bytes.len(), cached));
                }
            });
            Some((peer, ctx))
        }
    }
}

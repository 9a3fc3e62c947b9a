//! Database wire-protocol recognisers: from the bytes a process writes to an outbound
//! connection to the SQL texts it sends.
//!
//! Drivers that speak the protocol themselves (mysqlnd, PyMySQL, node-postgres, JDBC, pg8000)
//! never call a client library the agent could hook, so the agent watches the bytes instead:
//! one [`WireState`] per outbound connection, fed every chunk the process sends
//! ([`WireState::on_send`]) and, until the connection is classified, every chunk it receives
//! ([`WireState::on_recv`]).
//!
//! # Classification
//!
//! * **PostgreSQL** (protocol 3.x, `postgres.rs`): the client speaks first with an untyped
//!   StartupMessage, SSLRequest, GSSENCRequest or CancelRequest; its first 8 bytes (length and
//!   code) decide.
//! * **MySQL / MariaDB** (protocol 10, `mysql.rs`): the server speaks first with its Initial
//!   Handshake (`len:3 seq=0 0x0a version NUL thread-id:4 scramble:8 0x00 caps:2 … caps:2`),
//!   seen through `on_recv`. If the agent missed it, the client's HandshakeResponse41
//!   (`len:3 seq=1 caps:4 max-packet:4 charset:1` and 19 zero filler bytes) classifies too.
//! * Anything else is [`Protocol::NotDatabase`] within the first few bytes: a PostgreSQL
//!   startup length starts with two zero bytes and a HandshakeResponse has a zero third byte
//!   and sequence id 1, so `GET `, `POST`, a TLS ClientHello (`16 03 …`) or a server that
//!   speaks first with anything but a MySQL greeting (SSH, SMTP) are rejected by their third
//!   byte; any client stream is decided by byte 36.
//! * A database connection whose SQL we cannot read becomes [`Protocol::Opaque`]: upgraded to
//!   TLS (SSLRequest answered by a ClientHello, MySQL's SSLRequest packet), GSSAPI-encrypted,
//!   MySQL compression negotiated, or framing lost (a length that cannot be valid).
//!
//! # Invariants
//!
//! * No panic on any byte sequence, however it is cut into chunks.
//! * Chunking does not matter: a stream yields the same [`SqlMessage`]s whether it arrives in
//!   one chunk or byte by byte.
//! * Memory is bounded: an unclassified connection holds a few dozen bytes inline and nothing on
//!   the heap; a classified one holds at most one partial message of at most
//!   [`MAX_MESSAGE_BYTES`] ([`WireState::buffered`]). Messages that carry no SQL (Bind,
//!   CopyData, COM_STMT_SEND_LONG_DATA, auth exchanges…) are skipped by counting, never copied.
//! * A message over [`MAX_MESSAGE_BYTES`] is skipped the same way and reported **nothing**:
//!   buffering it would make memory depend on the peer. The agent cannot inspect such a
//!   statement; that is the price of the bound. MySQL packets of `0xFFFFFF` bytes (payloads of
//!   16 MiB and more, split over several packets) always exceed the cap, so a split payload is
//!   skipped as a whole and its continuation packets are never mistaken for commands.
//! * Time is linear in the bytes fed.

mod mysql;
mod postgres;

use std::borrow::Cow;

use crate::sink::SqlDialect;

/// The largest message (PostgreSQL message body, MySQL command payload) whose SQL is reported.
///
/// Larger messages are skipped without buffering (see the module docs).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// What a connection has been recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Not classified yet: too few bytes seen.
    Unknown,
    /// PostgreSQL frontend/backend protocol 3.x.
    Postgres,
    /// MySQL / MariaDB client/server protocol (protocol version 10).
    Mysql,
    /// A database connection whose SQL cannot be read: TLS or GSSAPI encryption, MySQL
    /// compression, or framing lost. Settled: nothing more will be reported.
    Opaque,
    /// Not a database connection. Settled: nothing will be reported.
    NotDatabase,
}

/// One SQL text the process sent to its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlMessage {
    /// [`Protocol::Postgres`] or [`Protocol::Mysql`].
    pub protocol: Protocol,
    /// The message that carried it: `"Query"` or `"Parse"` (PostgreSQL), `"COM_QUERY"` or
    /// `"COM_STMT_PREPARE"` (MySQL).
    pub kind: &'static str,
    /// The SQL text, decoded as lossy UTF-8.
    pub sql: String,
}

impl SqlMessage {
    /// Builds a message from the raw SQL bytes.
    fn new(protocol: Protocol, kind: &'static str, sql: &[u8]) -> Self {
        Self {
            protocol,
            kind,
            sql: String::from_utf8_lossy(sql).into_owned(),
        }
    }

    /// The SQL dialect to tokenize [`SqlMessage::sql`] with.
    pub fn dialect(&self) -> SqlDialect {
        match self.protocol {
            Protocol::Postgres => SqlDialect::Postgresql,
            Protocol::Mysql => SqlDialect::Mysql,
            Protocol::Unknown | Protocol::Opaque | Protocol::NotDatabase => SqlDialect::Generic,
        }
    }
}

/// The recogniser for one outbound connection.
///
/// Create it when the connection is made, feed it every chunk sent and (until
/// [`WireState::protocol`] is no longer [`Protocol::Unknown`]) every chunk received, and drop it
/// when the connection closes. Stop feeding once [`WireState::is_settled_not_database`].
#[derive(Debug, Default, Clone)]
pub struct WireState {
    state: State,
}

/// The state proper; the database variants are boxed so an unclassified or settled connection
/// stays small.
#[derive(Debug, Clone)]
enum State {
    Sniffing(Sniff),
    Postgres(Box<postgres::Postgres>),
    Mysql(Box<mysql::Mysql>),
    Opaque,
    NotDatabase,
}

impl Default for State {
    fn default() -> Self {
        Self::Sniffing(Sniff::default())
    }
}

impl WireState {
    /// A recogniser for a new connection: [`Protocol::Unknown`], nothing on the heap.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the connection has been recognised as so far.
    pub fn protocol(&self) -> Protocol {
        match self.state {
            State::Sniffing(_) => Protocol::Unknown,
            State::Postgres(_) => Protocol::Postgres,
            State::Mysql(_) => Protocol::Mysql,
            State::Opaque => Protocol::Opaque,
            State::NotDatabase => Protocol::NotDatabase,
        }
    }

    /// True once nothing more will ever be reported ([`Protocol::NotDatabase`] or
    /// [`Protocol::Opaque`]): the agent can stop feeding the connection.
    pub fn is_settled_not_database(&self) -> bool {
        matches!(self.state, State::Opaque | State::NotDatabase)
    }

    /// Heap bytes held for a message still arriving; never more than [`MAX_MESSAGE_BYTES`].
    pub fn buffered(&self) -> usize {
        match &self.state {
            State::Postgres(pg) => pg.buffered(),
            State::Mysql(my) => my.buffered(),
            State::Sniffing(_) | State::Opaque | State::NotDatabase => 0,
        }
    }

    /// Bytes the process sent on the connection (one `write`/`send`/`writev` call; it may hold
    /// several messages, or part of one). Returns the SQL texts completed by these bytes, in
    /// order.
    pub fn on_send(&mut self, bytes: &[u8]) -> Vec<SqlMessage> {
        let mut out = Vec::new();
        let mut input = bytes;
        if let State::Sniffing(sniff) = &mut self.state {
            let (verdict, used) = sniff.client(input);
            input = input.get(used..).unwrap_or_default();
            self.state = match verdict {
                Verdict::Pending => return out,
                Verdict::Classified(state) => state,
            };
        }
        let flow = match &mut self.state {
            State::Postgres(pg) => pg.feed(input, &mut out),
            State::Mysql(my) => my.feed(input, &mut out),
            State::Sniffing(_) | State::Opaque | State::NotDatabase => Flow::Continue,
        };
        if flow == Flow::Opaque {
            self.state = State::Opaque;
        }
        out
    }

    /// Bytes the process received on the connection. Only the server's first bytes matter
    /// (MySQL's greeting); once classified, or once the client has spoken first, they are
    /// ignored.
    pub fn on_recv(&mut self, bytes: &[u8]) {
        if let State::Sniffing(sniff) = &mut self.state
            && let Verdict::Classified(state) = sniff.server(bytes)
        {
            self.state = state;
        }
    }
}

/// What classification concluded.
enum Verdict {
    /// Not enough bytes yet.
    Pending,
    /// The connection's new state.
    Classified(State),
}

/// Whether a protocol state machine can go on reading the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Framing intact.
    Continue,
    /// The rest of the stream is unreadable (encrypted, compressed, or framing lost).
    Opaque,
}

/// Classification of an unknown connection, one byte at a time so chunking cannot matter.
///
/// Only the facts needed later are stored: the client's first 8 bytes (a PostgreSQL startup
/// header, or a MySQL packet header and capability flags) and the few fields of a MySQL greeting
/// that matter (its length, where the version string ends, the server capability flags).
#[derive(Debug, Default, Clone)]
struct Sniff {
    /// The client's first bytes.
    head: [u8; 8],
    /// How many client bytes have been seen (classification ends by byte 36).
    sent: u8,
    /// The client's bytes can no longer be a PostgreSQL startup header.
    not_pg: bool,
    /// The client's bytes can no longer be a MySQL HandshakeResponse41.
    not_mysql: bool,
    /// The server greeting seen so far.
    greeting: Greeting,
}

/// A MySQL Initial Handshake (protocol 10) being recognised.
#[derive(Debug, Default, Clone)]
struct Greeting {
    /// Bytes seen.
    seen: u32,
    /// Payload length (from the 3-byte header).
    len: u32,
    /// Stream offset of the NUL ending the server version; 0 while still in the version.
    version_end: u32,
    /// Server capability flags, little-endian: lower two bytes then upper two.
    caps: [u8; 4],
}

/// Longest server version string accepted in a greeting (real ones are under 64 bytes).
const MAX_VERSION_LEN: u32 = 96;

impl Sniff {
    /// Feeds the client's bytes; returns the verdict and how many bytes classification used
    /// (the rest belongs to the classified protocol).
    fn client(&mut self, input: &[u8]) -> (Verdict, usize) {
        for (i, &b) in input.iter().enumerate() {
            let p = usize::from(self.sent);
            self.sent = self.sent.saturating_add(1);
            if let Some(slot) = self.head.get_mut(p) {
                *slot = b;
            }
            // PostgreSQL: the startup length (at most 10 000) starts with two zero bytes.
            if matches!(p, 0 | 1) && b != 0 {
                self.not_pg = true;
            }
            if !self.not_mysql && !mysql::handshake_byte_ok(&self.head, p, b) {
                self.not_mysql = true;
            }
            if p == 7 && !self.not_pg {
                match postgres::Postgres::after_first_header(self.head) {
                    Some(pg) => return (Verdict::Classified(State::Postgres(Box::new(pg))), i + 1),
                    None => self.not_pg = true,
                }
            }
            if p + 1 == mysql::HANDSHAKE_SNIFF_LEN && !self.not_mysql {
                let state = match mysql::Mysql::after_handshake_prefix(self.head) {
                    Some(my) => State::Mysql(Box::new(my)),
                    None => State::Opaque,
                };
                return (Verdict::Classified(state), i + 1);
            }
            if self.not_pg && self.not_mysql {
                return (Verdict::Classified(State::NotDatabase), i + 1);
            }
        }
        (Verdict::Pending, input.len())
    }

    /// Feeds the server's bytes: a MySQL greeting classifies, anything else rules a database
    /// out. Ignored once the client has spoken (the server's bytes are then a reply).
    fn server(&mut self, input: &[u8]) -> Verdict {
        if self.sent > 0 {
            return Verdict::Pending;
        }
        for &b in input {
            match self.greeting.byte(b) {
                Some(true) => {
                    let caps = u32::from_le_bytes(self.greeting.caps);
                    return Verdict::Classified(State::Mysql(Box::new(
                        mysql::Mysql::after_greeting(caps),
                    )));
                }
                Some(false) => return Verdict::Classified(State::NotDatabase),
                None => {}
            }
        }
        Verdict::Pending
    }
}

impl Greeting {
    /// Feeds one byte: `Some(true)` once the greeting is recognised, `Some(false)` once it
    /// cannot be one, `None` while undecided.
    fn byte(&mut self, b: u8) -> Option<bool> {
        let p = self.seen;
        self.seen = self.seen.saturating_add(1);
        match p {
            0 | 1 => {
                self.len |= u32::from(b) << (8 * p);
                return None;
            }
            // Length under 64 KiB, sequence id 0, protocol version 10.
            2 | 3 => return if b == 0 { None } else { Some(false) },
            4 => return if b == 0x0a { None } else { Some(false) },
            _ => {}
        }
        if self.version_end == 0 {
            if b == 0 {
                if p == 5 {
                    return Some(false);
                }
                self.version_end = p;
            } else if !(0x20..=0x7e).contains(&b) || p > 4 + MAX_VERSION_LEN {
                return Some(false);
            }
        } else {
            // After the version: thread id (4), scramble (8), filler 0x00, caps low (2),
            // charset (1), status (2), caps high (2).
            match p - self.version_end {
                13 if b != 0 => return Some(false),
                off @ (14 | 15) => self.store_cap(off - 14, b),
                off @ (19 | 20) => self.store_cap(off - 17, b),
                _ => {}
            }
            if p - self.version_end == 20 {
                return Some(true);
            }
        }
        // The payload ends here: a greeting that stops after the low capability flags is an
        // old but valid one; shorter is not a greeting.
        if p + 1 >= 4 + self.len {
            return Some(self.version_end != 0 && p - self.version_end >= 15);
        }
        None
    }

    fn store_cap(&mut self, index: u32, b: u8) {
        if let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|i| self.caps.get_mut(i))
        {
            *slot = b;
        }
    }
}

/// A fixed-size message header being assembled across chunks.
#[derive(Debug, Default, Clone)]
struct Header {
    bytes: [u8; 8],
    have: usize,
}

impl Header {
    /// Takes bytes from `input` until `need` (at most 8) header bytes are held, then returns the
    /// header. It stays held (asking for more is allowed) until [`Header::clear`].
    fn fill(&mut self, input: &mut &[u8], need: usize) -> Option<[u8; 8]> {
        let want = need.saturating_sub(self.have).min(input.len());
        let (now, rest) = input.split_at(want);
        if let Some(dst) = self.bytes.get_mut(self.have..self.have + want) {
            dst.copy_from_slice(now);
        }
        self.have += want;
        *input = rest;
        (self.have >= need).then_some(self.bytes)
    }

    /// Forgets the header (zeroing it, so a shorter next header never shows stale bytes).
    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// The body of the message being read: bytes still expected and, for a message that is
/// reported (`kind` is `Some`), the bytes so far.
#[derive(Debug, Clone)]
struct Body<K> {
    kind: Option<K>,
    remaining: usize,
    kept: Vec<u8>,
}

/// Progress of a [`Body`].
enum Step<'a, K> {
    /// `input` is exhausted and the body is not complete.
    Partial,
    /// The body is complete: its kind and bytes if it is reported.
    Done(Option<(K, Cow<'a, [u8]>)>),
}

impl<K: Copy> Body<K> {
    /// A body of `len` bytes; reported as `kind`, or skipped when `kind` is `None` or `len`
    /// exceeds [`MAX_MESSAGE_BYTES`].
    fn new(kind: Option<K>, len: usize) -> Self {
        Self {
            kind: kind.filter(|_| len <= MAX_MESSAGE_BYTES),
            remaining: len,
            kept: Vec::new(),
        }
    }

    /// Consumes body bytes from `input`. A body that lies whole in `input` is returned borrowed,
    /// without a copy; one spread over chunks is gathered (capacity reserved exactly once, so
    /// `kept` never exceeds the body length).
    fn feed<'a>(&mut self, input: &mut &'a [u8]) -> Step<'a, K> {
        let take = self.remaining.min(input.len());
        let (now, rest) = input.split_at(take);
        *input = rest;
        self.remaining -= take;
        let Some(kind) = self.kind else {
            return if self.remaining == 0 {
                Step::Done(None)
            } else {
                Step::Partial
            };
        };
        if self.remaining == 0 && self.kept.is_empty() {
            return Step::Done(Some((kind, Cow::Borrowed(now))));
        }
        if self.kept.is_empty() {
            self.kept.reserve_exact(take + self.remaining);
        }
        self.kept.extend_from_slice(now);
        if self.remaining == 0 {
            Step::Done(Some((kind, Cow::Owned(std::mem::take(&mut self.kept)))))
        } else {
            Step::Partial
        }
    }

    /// Heap bytes held.
    fn buffered(&self) -> usize {
        self.kept.capacity()
    }
}

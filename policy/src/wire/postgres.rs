//! PostgreSQL frontend/backend protocol 3.x, client side.
//!
//! The stream has two phases:
//!
//! * **startup** — untyped messages `length:i32 code:i32 …` (big-endian, length includes
//!   itself). A StartupMessage (code `3 << 16 | minor`, length at most 10 000) ends the phase.
//!   An SSLRequest or GSSENCRequest (length 8) keeps it: if the server declines, a
//!   StartupMessage follows in clear; if it accepts, a TLS ClientHello or GSSAPI token follows,
//!   which is not a valid startup header, so the connection becomes opaque. A CancelRequest
//!   (length 16) is all the connection will carry.
//! * **messages** — typed messages `type:u8 length:i32 body` (length includes itself but not the
//!   type). Reported: `Q` (Query: `sql NUL`) and `P` (Parse: `name NUL sql NUL n:i16 oids…`).
//!   Everything else (Bind, Execute, Sync, CopyData, password and SASL messages…) is skipped by
//!   length. A length below 4 cannot be valid: framing is lost and the connection becomes opaque.

use super::{Body, Flow, Header, Protocol, SqlMessage, Step};

/// CancelRequest code (`1234 << 16 | 5678`).
const CANCEL_REQUEST: u32 = 80_877_102;
/// SSLRequest code (`1234 << 16 | 5679`).
const SSL_REQUEST: u32 = 80_877_103;
/// GSSENCRequest code (`1234 << 16 | 5680`).
const GSSENC_REQUEST: u32 = 80_877_104;
/// The major protocol version in a StartupMessage's code (upper 16 bits).
const PROTOCOL_MAJOR: u32 = 3;
/// The largest StartupMessage servers accept.
const MAX_STARTUP_LEN: u32 = 10_000;

/// The client side of one PostgreSQL connection.
#[derive(Debug, Clone)]
pub(super) struct Postgres {
    phase: Phase,
    header: Header,
    body: Option<Body<Kind>>,
}

/// Where in the protocol the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Untyped messages: after an SSLRequest or GSSENCRequest.
    Startup,
    /// Typed messages: after the StartupMessage.
    Messages,
    /// After a CancelRequest: nothing more is expected; bytes are ignored.
    Closed,
}

/// The reported message types.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Query,
    Parse,
}

impl Postgres {
    /// The state after the client's first 8 bytes, or `None` if they are no startup-phase
    /// header.
    pub(super) fn after_first_header(head: [u8; 8]) -> Option<Self> {
        let mut pg = Self {
            phase: Phase::Startup,
            header: Header::default(),
            body: None,
        };
        (pg.startup(head) == Flow::Continue).then_some(pg)
    }

    /// Heap bytes held for a partial message.
    pub(super) fn buffered(&self) -> usize {
        self.body.as_ref().map_or(0, Body::buffered)
    }

    /// Interprets an untyped startup-phase header (`length code`).
    fn startup(&mut self, head: [u8; 8]) -> Flow {
        let [l0, l1, l2, l3, c0, c1, c2, c3] = head;
        let len = u32::from_be_bytes([l0, l1, l2, l3]);
        let code = u32::from_be_bytes([c0, c1, c2, c3]);
        let (phase, rest) = match code {
            SSL_REQUEST | GSSENC_REQUEST if len == 8 => (Phase::Startup, 0),
            CANCEL_REQUEST if len == 16 => (Phase::Closed, 8),
            _ if code >> 16 == PROTOCOL_MAJOR && (8..=MAX_STARTUP_LEN).contains(&len) => {
                (Phase::Messages, len - 8)
            }
            _ => return Flow::Opaque,
        };
        self.phase = phase;
        self.body = Some(Body::new(None, widen(rest)));
        Flow::Continue
    }

    /// Reads the client's bytes, appending the SQL of every completed Query and Parse to `out`.
    pub(super) fn feed(&mut self, mut input: &[u8], out: &mut Vec<SqlMessage>) -> Flow {
        loop {
            if let Some(body) = &mut self.body {
                match body.feed(&mut input) {
                    Step::Partial => return Flow::Continue,
                    Step::Done(done) => {
                        self.body = None;
                        if let Some((kind, bytes)) = done {
                            out.extend(message(kind, &bytes));
                        }
                    }
                }
                continue;
            }
            if input.is_empty() {
                return Flow::Continue;
            }
            let flow = match self.phase {
                Phase::Closed => return Flow::Continue,
                Phase::Startup => match self.header.fill(&mut input, 8) {
                    Some(head) => {
                        self.header.clear();
                        self.startup(head)
                    }
                    None => return Flow::Continue,
                },
                Phase::Messages => match self.header.fill(&mut input, 5) {
                    Some([tag, l0, l1, l2, l3, ..]) => {
                        self.header.clear();
                        self.typed(tag, u32::from_be_bytes([l0, l1, l2, l3]))
                    }
                    None => return Flow::Continue,
                },
            };
            if flow == Flow::Opaque {
                return Flow::Opaque;
            }
        }
    }

    /// Starts the body of a typed message.
    fn typed(&mut self, tag: u8, len: u32) -> Flow {
        let Some(rest) = len.checked_sub(4) else {
            return Flow::Opaque;
        };
        let kind = match tag {
            b'Q' => Some(Kind::Query),
            b'P' => Some(Kind::Parse),
            _ => None,
        };
        self.body = Some(Body::new(kind, widen(rest)));
        Flow::Continue
    }
}

/// The SQL of a complete Query or Parse body; `None` for a Parse without its name terminator.
fn message(kind: Kind, body: &[u8]) -> Option<SqlMessage> {
    let mut fields = body.split(|&b| b == 0);
    let (name, sql) = match kind {
        Kind::Query => ("Query", fields.next()?),
        Kind::Parse => {
            fields.next()?;
            ("Parse", fields.next()?)
        }
    };
    Some(SqlMessage::new(Protocol::Postgres, name, sql))
}

/// A 32-bit length as `usize` (saturating on 16-bit targets, where it is over the cap anyway).
fn widen(len: u32) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

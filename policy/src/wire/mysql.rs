//! MySQL / MariaDB client/server protocol, client side.
//!
//! Every packet is `payload-length:u24 (little-endian) sequence-id:u8 payload`. A payload of
//! `0xFFFFFF` bytes or more is split: each full packet is followed by one more, the last shorter
//! than `0xFFFFFF` (possibly empty). The client's packets are:
//!
//! * first, the HandshakeResponse, whose payload opens with the client capability flags
//!   (`u32`, or `u16` before protocol 4.1). A 32-byte one with `CLIENT_SSL` is the SSLRequest:
//!   TLS follows and the connection becomes opaque. So does one negotiating compression
//!   (`CLIENT_COMPRESS`, `CLIENT_ZSTD_COMPRESSION_ALGORITHM`), which wraps every later packet;
//! * then commands: sequence id 0 (it resets per command), `payload[0]` the command. Reported:
//!   `COM_QUERY` (0x03) and `COM_STMT_PREPARE` (0x16), whose rest is the SQL text;
//! * packets with a sequence id other than 0 (authentication exchanges, LOAD DATA LOCAL file
//!   contents) and continuation packets of a split payload, skipped by length.
//!
//! With `CLIENT_QUERY_ATTRIBUTES` negotiated, a COM_QUERY's SQL follows a parameter block
//! (`count:lenenc sets:lenenc`, then, when count > 0, a NULL bitmap, a bind flag, each
//! parameter's type and name, and each non-NULL value in binary-protocol form). The block is
//! parsed; an attribute of a type whose binary size is unknown makes the query unreadable and it
//! is not reported. Capabilities are the client's flags masked by the server's when the greeting
//! was seen, the client's alone otherwise.

use super::{Body, Flow, Header, MAX_MESSAGE_BYTES, Protocol, SqlMessage, Step};

const CLIENT_COMPRESS: u32 = 0x20;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SSL: u32 = 0x800;
const CLIENT_ZSTD_COMPRESSION_ALGORITHM: u32 = 1 << 26;
const CLIENT_QUERY_ATTRIBUTES: u32 = 1 << 27;

const COM_QUERY: u8 = 0x03;
const COM_STMT_PREPARE: u8 = 0x16;

/// The payload length of a full packet, followed by a continuation.
const MAX_PACKET: usize = 0xFF_FFFF;
/// The payload length of an SSLRequest (and the fixed part of a HandshakeResponse41).
const SSL_REQUEST_LEN: usize = 32;

// A split payload is always over the cap, so it never has to be reassembled.
const _: () = assert!(MAX_MESSAGE_BYTES < MAX_PACKET);

/// Client bytes needed to recognise a HandshakeResponse41 without the greeting: header (4),
/// capability flags (4), max packet size (4), charset (1), filler (23).
pub(super) const HANDSHAKE_SNIFF_LEN: usize = 4 + SSL_REQUEST_LEN;

/// Whether byte `b` at stream offset `p` (with the first 8 bytes in `head`) can still belong to
/// a HandshakeResponse41: length under 64 KiB and at least 32, sequence id 1,
/// `CLIENT_PROTOCOL_41` set, and zero filler. MariaDB keeps extended capabilities in the
/// filler's last 4 bytes, so only the first 19 are checked.
pub(super) fn handshake_byte_ok(head: &[u8; 8], p: usize, b: u8) -> bool {
    match p {
        2 => b == 0,
        3 => b == 1 && packet_len(head) >= SSL_REQUEST_LEN,
        5 => (u32::from(b) << 8) & CLIENT_PROTOCOL_41 != 0,
        13..=31 => b == 0,
        _ => true,
    }
}

/// The client side of one MySQL connection.
#[derive(Debug, Clone)]
pub(super) struct Mysql {
    /// Server capability flags, from the greeting when it was seen.
    server_caps: Option<u32>,
    /// Negotiated capability flags; `None` until the HandshakeResponse.
    caps: Option<u32>,
    header: Header,
    body: Option<Body<Kind>>,
    /// The last packet was full (`0xFFFFFF` bytes): the next continues its payload.
    continuing: bool,
}

/// The reported commands.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Query,
    Prepare,
}

impl Mysql {
    /// The state after the server's greeting, awaiting the HandshakeResponse.
    pub(super) fn after_greeting(server_caps: u32) -> Self {
        Self {
            server_caps: Some(server_caps),
            caps: None,
            header: Header::default(),
            body: None,
            continuing: false,
        }
    }

    /// The state after the first [`HANDSHAKE_SNIFF_LEN`] bytes of a HandshakeResponse41
    /// (header and capability flags in `head`), or `None` when it is an SSLRequest or
    /// negotiates compression (the connection is opaque).
    pub(super) fn after_handshake_prefix(head: [u8; 8]) -> Option<Self> {
        let [_, _, _, _, c0, c1, c2, c3] = head;
        let len = packet_len(&head);
        let mut my = Self {
            server_caps: None,
            caps: None,
            header: Header::default(),
            body: Some(Body::new(None, len.saturating_sub(SSL_REQUEST_LEN))),
            continuing: len == MAX_PACKET,
        };
        (my.handshake(len, u32::from_le_bytes([c0, c1, c2, c3])) == Flow::Continue).then_some(my)
    }

    /// Heap bytes held for a partial packet.
    pub(super) fn buffered(&self) -> usize {
        self.body.as_ref().map_or(0, Body::buffered)
    }

    /// Records the HandshakeResponse's capability flags.
    fn handshake(&mut self, len: usize, client_caps: u32) -> Flow {
        let client = if client_caps & CLIENT_PROTOCOL_41 != 0 {
            client_caps
        } else {
            client_caps & 0xFFFF
        };
        if len == SSL_REQUEST_LEN && client & CLIENT_SSL != 0 {
            return Flow::Opaque;
        }
        let caps = client & self.server_caps.unwrap_or(u32::MAX);
        if caps & (CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION_ALGORITHM) != 0 {
            return Flow::Opaque;
        }
        self.caps = Some(caps);
        Flow::Continue
    }

    /// Reads the client's bytes, appending the SQL of every completed COM_QUERY and
    /// COM_STMT_PREPARE to `out`.
    pub(super) fn feed(&mut self, mut input: &[u8], out: &mut Vec<SqlMessage>) -> Flow {
        loop {
            if let Some(body) = &mut self.body {
                match body.feed(&mut input) {
                    Step::Partial => return Flow::Continue,
                    Step::Done(done) => {
                        self.body = None;
                        if let Some((kind, bytes)) = done {
                            out.extend(self.message(kind, &bytes));
                        }
                    }
                }
                continue;
            }
            if input.is_empty() {
                return Flow::Continue;
            }
            let Some(head) = self.header.fill(&mut input, 4) else {
                return Flow::Continue;
            };
            let len = packet_len(&head);
            let [_, _, _, seq, ..] = head;
            // Read with the header what decides the packet: the HandshakeResponse's capability
            // flags, or a command's command byte.
            let extra = match self.caps {
                None => len.min(4),
                Some(_) if !self.continuing && seq == 0 && len > 0 => 1,
                Some(_) => 0,
            };
            let Some(head) = self.header.fill(&mut input, 4 + extra) else {
                return Flow::Continue;
            };
            self.header.clear();
            let [_, _, _, _, b4, b5, b6, b7] = head;
            let continued = std::mem::replace(&mut self.continuing, len == MAX_PACKET);
            let kind = if self.caps.is_none() {
                if self.handshake(len, u32::from_le_bytes([b4, b5, b6, b7])) == Flow::Opaque {
                    return Flow::Opaque;
                }
                None
            } else if continued || extra == 0 {
                None
            } else {
                match b4 {
                    COM_QUERY => Some(Kind::Query),
                    COM_STMT_PREPARE => Some(Kind::Prepare),
                    _ => None,
                }
            };
            self.body = Some(Body::new(kind, len - extra));
        }
    }

    /// The SQL of a complete command payload (after the command byte).
    fn message(&self, kind: Kind, payload: &[u8]) -> Option<SqlMessage> {
        let (name, sql) = match kind {
            Kind::Query => {
                let attributes = self.caps.unwrap_or(0) & CLIENT_QUERY_ATTRIBUTES != 0;
                let sql = if attributes {
                    skip_query_attributes(payload)?
                } else {
                    payload
                };
                ("COM_QUERY", sql)
            }
            Kind::Prepare => ("COM_STMT_PREPARE", payload),
        };
        Some(SqlMessage::new(Protocol::Mysql, name, sql))
    }
}

/// The 3-byte little-endian payload length of a packet header.
fn packet_len(head: &[u8; 8]) -> usize {
    let [l0, l1, l2, ..] = *head;
    usize::from(l0) | (usize::from(l1) << 8) | (usize::from(l2) << 16)
}

/// The SQL after a COM_QUERY's query-attribute block, or `None` if the block is malformed or
/// holds a value of unknown binary size.
fn skip_query_attributes(payload: &[u8]) -> Option<&[u8]> {
    let (count, rest) = lenenc_int(payload)?;
    let (_sets, mut rest) = lenenc_int(rest)?;
    if count == 0 {
        return Some(rest);
    }
    // Every parameter takes at least two type bytes, so a larger count is malformed (and this
    // bounds the loops below).
    let count = usize::try_from(count).ok().filter(|&c| c <= rest.len())?;
    let (nulls, after) = rest.split_at_checked(count.div_ceil(8))?;
    let (&bind_flag, after) = after.split_first()?;
    if bind_flag != 1 {
        return None;
    }
    rest = after;
    let mut types = Vec::with_capacity(count);
    for _ in 0..count {
        let (&ty, after) = rest.split_first()?;
        let (_unsigned, after) = after.split_first()?;
        let (_name, after) = lenenc_bytes(after)?;
        types.push(ty);
        rest = after;
    }
    for (i, &ty) in types.iter().enumerate() {
        let null = nulls
            .get(i / 8)
            .is_some_and(|&byte| (byte >> (i % 8)) & 1 == 1);
        if !null {
            rest = skip_binary_value(ty, rest)?;
        }
    }
    Some(rest)
}

/// Skips one binary-protocol value of column type `ty`.
fn skip_binary_value(ty: u8, input: &[u8]) -> Option<&[u8]> {
    let fixed = match ty {
        // TINY
        0x01 => 1,
        // SHORT, YEAR
        0x02 | 0x0d => 2,
        // LONG, FLOAT, INT24
        0x03 | 0x04 | 0x09 => 4,
        // DOUBLE, LONGLONG
        0x05 | 0x08 => 8,
        // NULL
        0x06 => 0,
        // TIMESTAMP, DATE, TIME, DATETIME: a length byte, then that many bytes.
        0x07 | 0x0a | 0x0b | 0x0c => {
            let (&n, rest) = input.split_first()?;
            return rest.get(usize::from(n)..);
        }
        // DECIMAL, VARCHAR, BIT, VECTOR, JSON, NEWDECIMAL, ENUM, SET, the BLOBs, VAR_STRING,
        // STRING, GEOMETRY: length-encoded strings.
        0x00 | 0x0f | 0x10 | 0xf2 | 0xf5..=0xff => {
            return lenenc_bytes(input).map(|(_, rest)| rest);
        }
        _ => return None,
    };
    input.get(fixed..)
}

/// A length-encoded integer and the bytes after it.
fn lenenc_int(input: &[u8]) -> Option<(u64, &[u8])> {
    let (&first, rest) = input.split_first()?;
    let width = match first {
        0..=0xfa => return Some((u64::from(first), rest)),
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        // 0xfb is NULL and 0xff an error marker: neither is a length.
        0xfb | 0xff => return None,
    };
    let (bytes, rest) = rest.split_at_checked(width)?;
    let value = bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    Some((value, rest))
}

/// A length-encoded string and the bytes after it.
fn lenenc_bytes(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = lenenc_int(input)?;
    rest.split_at_checked(usize::try_from(len).ok()?)
}

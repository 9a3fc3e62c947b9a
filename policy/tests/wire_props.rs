//! Property tests of the database wire recognisers: arbitrary bytes, however chunked and on
//! either direction, never panic and never buffer past the cap; a valid PostgreSQL or MySQL
//! stream yields exactly the SQL it carries, and the same SQL wherever it is cut.

use policy::wire::{MAX_MESSAGE_BYTES, Protocol, SqlMessage, WireState};
use proptest::prelude::*;

/// SQL-ish text without NUL (PostgreSQL terminates strings with it), multi-byte UTF-8 included.
fn sql_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 '\"`;,=*()?$@\\\\é☃-]{0,40}"
}

/// Splits `bytes` at the given points (taken modulo its length).
fn cut(bytes: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in at.into_iter().chain([bytes.len()]) {
        chunks.push(bytes.get(start..p).unwrap_or_default().to_vec());
        start = p;
    }
    chunks
}

/// Feeds the client's chunks, checking the bounds after each, and collects the SQL.
fn feed(w: &mut WireState, chunks: &[Vec<u8>]) -> Vec<SqlMessage> {
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(w.on_send(chunk));
        assert!(w.buffered() <= MAX_MESSAGE_BYTES);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// One client message after startup.
#[derive(Debug, Clone)]
enum PgMsg {
    Query(String),
    Parse(String, String, u8),
    /// A message that carries no SQL: tag and body.
    Other(u8, Vec<u8>),
}

fn pg_msg() -> impl Strategy<Value = PgMsg> {
    prop_oneof![
        sql_text().prop_map(PgMsg::Query),
        ("[a-z0-9_]{0,8}", sql_text(), 0u8..4).prop_map(|(n, s, k)| PgMsg::Parse(n, s, k)),
        (
            proptest::sample::select(&b"BEDSHCcdfFpX"[..]),
            proptest::collection::vec(any::<u8>(), 0..48)
        )
            .prop_map(|(t, b)| PgMsg::Other(t, b)),
    ]
}

fn pg_typed(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(u32::try_from(4 + body.len()).unwrap().to_be_bytes());
    out.extend(body);
    out
}

fn pg_untyped(code: u32, body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(8 + body.len())
        .unwrap()
        .to_be_bytes()
        .to_vec();
    out.extend(code.to_be_bytes());
    out.extend(body);
    out
}

/// The stream (optionally after a declined SSLRequest and GSSENCRequest) and its SQL.
fn pg_stream(negotiate: bool, msgs: &[PgMsg]) -> (Vec<u8>, Vec<SqlMessage>) {
    let mut bytes = Vec::new();
    if negotiate {
        bytes.extend(pg_untyped(80_877_104, b""));
        bytes.extend(pg_untyped(80_877_103, b""));
    }
    bytes.extend(pg_untyped(196_608, b"user\0app\0\0"));
    let mut sql = Vec::new();
    let expect = |kind, text: &str| SqlMessage {
        protocol: Protocol::Postgres,
        kind,
        sql: text.to_owned(),
    };
    for m in msgs {
        match m {
            PgMsg::Query(text) => {
                bytes.extend(pg_typed(b'Q', &[text.as_bytes(), b"\0"].concat()));
                sql.push(expect("Query", text));
            }
            PgMsg::Parse(name, text, params) => {
                let mut body = [name.as_bytes(), b"\0", text.as_bytes(), b"\0"].concat();
                body.extend(u16::from(*params).to_be_bytes());
                for _ in 0..*params {
                    body.extend(25u32.to_be_bytes());
                }
                bytes.extend(pg_typed(b'P', &body));
                sql.push(expect("Parse", text));
            }
            PgMsg::Other(tag, body) => bytes.extend(pg_typed(*tag, body)),
        }
    }
    (bytes, sql)
}

// ---------------------------------------------------------------------------------------------
// MySQL

const CLIENT_CAPS: u32 = 0x200 | 0x8000 | 0x8_0000;
const CLIENT_QUERY_ATTRIBUTES: u32 = 1 << 27;

/// One client packet after the handshake.
#[derive(Debug, Clone)]
enum MyMsg {
    Query(String),
    Prepare(String),
    /// Another command: command byte and the rest of the payload.
    Command(u8, Vec<u8>),
    /// A packet with a non-zero sequence id (auth exchange, LOAD DATA LOCAL contents).
    Continuation(u8, Vec<u8>),
}

fn my_msg() -> impl Strategy<Value = MyMsg> {
    prop_oneof![
        sql_text().prop_map(MyMsg::Query),
        sql_text().prop_map(MyMsg::Prepare),
        (
            proptest::sample::select(&[0x01u8, 0x02, 0x0e, 0x17, 0x18, 0x19, 0x1a, 0x1f][..]),
            proptest::collection::vec(any::<u8>(), 0..32)
        )
            .prop_map(|(c, b)| MyMsg::Command(c, b)),
        (1u8..=255, proptest::collection::vec(any::<u8>(), 0..32))
            .prop_map(|(s, b)| MyMsg::Continuation(s, b)),
    ]
}

fn my_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_le_bytes();
    let mut out = vec![len[0], len[1], len[2], seq];
    out.extend(payload);
    out
}

fn my_greeting(caps: u32) -> Vec<u8> {
    let caps = caps.to_le_bytes();
    let mut p = b"\x0a8.0.36\0\x01\0\0\0abcdefgh\0".to_vec();
    p.extend(&caps[..2]);
    p.extend(b"\xff\x02\0");
    p.extend(&caps[2..]);
    p.extend(b"\x15\0\0\0\0\0\0\0\0\0\0ijklmnopqrst\0mysql_native_password\0");
    my_packet(0, &p)
}

/// The client's stream (HandshakeResponse41, then `msgs`) and its SQL; with `attributes`,
/// every COM_QUERY carries a query-attribute block (empty or one string attribute).
fn my_stream(caps: u32, msgs: &[MyMsg]) -> (Vec<u8>, Vec<SqlMessage>) {
    let mut p = caps.to_le_bytes().to_vec();
    p.extend(b"\0\0\0\x01\xff");
    p.extend([0; 23]);
    p.extend(b"app\0\x14aaaaaaaaaaaaaaaaaaaa");
    let mut bytes = my_packet(1, &p);
    let mut sql = Vec::new();
    let expect = |kind, text: &str| SqlMessage {
        protocol: Protocol::Mysql,
        kind,
        sql: text.to_owned(),
    };
    for (i, m) in msgs.iter().enumerate() {
        match m {
            MyMsg::Query(text) => {
                let mut payload = vec![0x03];
                if caps & CLIENT_QUERY_ATTRIBUTES != 0 {
                    if i % 2 == 0 {
                        payload.extend(b"\x00\x01");
                    } else {
                        payload.extend(b"\x01\x01\x00\x01\xfe\x00\x03key\x05value");
                    }
                }
                payload.extend(text.as_bytes());
                bytes.extend(my_packet(0, &payload));
                sql.push(expect("COM_QUERY", text));
            }
            MyMsg::Prepare(text) => {
                bytes.extend(my_packet(0, &[b"\x16", text.as_bytes()].concat()));
                sql.push(expect("COM_STMT_PREPARE", text));
            }
            MyMsg::Command(cmd, rest) => bytes.extend(my_packet(0, &[&[*cmd], &rest[..]].concat())),
            MyMsg::Continuation(seq, payload) => bytes.extend(my_packet(*seq, payload)),
        }
    }
    (bytes, sql)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary chunks in either direction: no panic, bounded buffer, SQL only from a
    /// database connection and labelled with its protocol.
    #[test]
    fn arbitrary_bytes_are_harmless(
        chunks in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..12),
    ) {
        let mut w = WireState::new();
        for (recv, chunk) in &chunks {
            if *recv {
                w.on_recv(chunk);
            } else {
                for m in w.on_send(chunk) {
                    prop_assert_eq!(m.protocol, w.protocol());
                }
            }
            prop_assert!(w.buffered() <= MAX_MESSAGE_BYTES);
        }
    }

    /// Arbitrary bytes once classified (after a PostgreSQL startup, or a MySQL greeting and
    /// handshake), so the per-protocol framing sees hostile input too.
    #[test]
    fn arbitrary_bytes_after_classification_are_harmless(
        mysql in any::<bool>(),
        tail in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..12),
    ) {
        let mut w = WireState::new();
        if mysql {
            w.on_recv(&my_greeting(CLIENT_CAPS | CLIENT_QUERY_ATTRIBUTES));
            w.on_send(&my_stream(CLIENT_CAPS | CLIENT_QUERY_ATTRIBUTES, &[]).0);
        } else {
            w.on_send(&pg_stream(false, &[]).0);
        }
        let expected = if mysql { Protocol::Mysql } else { Protocol::Postgres };
        prop_assert_eq!(w.protocol(), expected);
        for m in feed(&mut w, &tail) {
            prop_assert_eq!(m.protocol, expected);
        }
    }

    /// Valid streams with bytes overwritten (lengths, tags, capability flags…), cut anywhere:
    /// no panic, bounded buffer.
    #[test]
    fn mutated_streams_are_harmless(
        mysql in any::<bool>(),
        pg_msgs in proptest::collection::vec(pg_msg(), 0..6),
        my_msgs in proptest::collection::vec(my_msg(), 0..6),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        points in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut w = WireState::new();
        let mut bytes = if mysql {
            w.on_recv(&my_greeting(CLIENT_CAPS | CLIENT_QUERY_ATTRIBUTES));
            my_stream(CLIENT_CAPS | CLIENT_QUERY_ATTRIBUTES, &my_msgs).0
        } else {
            pg_stream(true, &pg_msgs).0
        };
        let len = bytes.len();
        for (at, value) in edits {
            if let Some(b) = bytes.get_mut(at % len) {
                *b = value;
            }
        }
        feed(&mut w, &cut(&bytes, &points));
    }

    /// A valid PostgreSQL stream yields exactly its SQL, however it is cut.
    #[test]
    fn postgres_stream_is_cut_invariant(
        negotiate in any::<bool>(),
        msgs in proptest::collection::vec(pg_msg(), 0..12),
        points in proptest::collection::vec(any::<usize>(), 0..16),
    ) {
        let (bytes, expected) = pg_stream(negotiate, &msgs);
        let whole = feed(&mut WireState::new(), std::slice::from_ref(&bytes));
        prop_assert_eq!(&whole, &expected);
        let mut w = WireState::new();
        prop_assert_eq!(feed(&mut w, &cut(&bytes, &points)), expected);
        prop_assert_eq!(w.protocol(), Protocol::Postgres);
        prop_assert_eq!(w.buffered(), 0);
    }

    /// A valid MySQL stream (greeting seen or not, query attributes or not) yields exactly its
    /// SQL, however it is cut, the greeting included.
    #[test]
    fn mysql_stream_is_cut_invariant(
        greeting in any::<bool>(),
        attributes in any::<bool>(),
        msgs in proptest::collection::vec(my_msg(), 0..12),
        points in proptest::collection::vec(any::<usize>(), 0..16),
        greeting_points in proptest::collection::vec(any::<usize>(), 0..4),
    ) {
        let caps = if attributes { CLIENT_CAPS | CLIENT_QUERY_ATTRIBUTES } else { CLIENT_CAPS };
        let (bytes, expected) = my_stream(caps, &msgs);
        let start = || {
            let mut w = WireState::new();
            if greeting {
                for chunk in cut(&my_greeting(caps), &greeting_points) {
                    w.on_recv(&chunk);
                }
            }
            w
        };
        let whole = feed(&mut start(), std::slice::from_ref(&bytes));
        prop_assert_eq!(&whole, &expected);
        let mut w = start();
        prop_assert_eq!(feed(&mut w, &cut(&bytes, &points)), expected);
        prop_assert_eq!(w.protocol(), Protocol::Mysql);
        prop_assert_eq!(w.buffered(), 0);
    }
}

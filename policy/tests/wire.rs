//! Database wire-protocol recognisers on literal byte strings: PostgreSQL startup, simple and
//! extended queries, negotiation (SSL, GSS, cancel); MySQL greeting, handshake, commands, query
//! attributes, split packets; rejection of other protocols; the caps.

use policy::SqlDialect;
use policy::wire::{MAX_MESSAGE_BYTES, Protocol, SqlMessage, WireState};

// ---------------------------------------------------------------------------------------------
// PostgreSQL helpers

const PG_SSL_REQUEST: u32 = 80_877_103;
const PG_GSSENC_REQUEST: u32 = 80_877_104;
const PG_CANCEL_REQUEST: u32 = 80_877_102;

/// An untyped startup-phase message: length, code, body.
fn pg_untyped(code: u32, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(8 + body.len()).unwrap();
    let mut out = len.to_be_bytes().to_vec();
    out.extend(code.to_be_bytes());
    out.extend(body);
    out
}

/// A protocol 3.0 StartupMessage for user `app` on database `shop`.
fn pg_startup() -> Vec<u8> {
    pg_untyped(196_608, b"user\0app\0database\0shop\0\0")
}

/// A typed message: tag, length (including itself), body.
fn pg_msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(u32::try_from(4 + body.len()).unwrap().to_be_bytes());
    out.extend(body);
    out
}

fn pg_query(sql: &str) -> Vec<u8> {
    pg_msg(b'Q', &[sql.as_bytes(), b"\0"].concat())
}

/// A Parse message declaring one parameter type per entry of `oids`.
fn pg_parse(name: &str, sql: &str, oids: &[u32]) -> Vec<u8> {
    let mut body = [name.as_bytes(), b"\0", sql.as_bytes(), b"\0"].concat();
    body.extend(u16::try_from(oids.len()).unwrap().to_be_bytes());
    for oid in oids {
        body.extend(oid.to_be_bytes());
    }
    pg_msg(b'P', &body)
}

/// Bind (unnamed portal, statement `stmt`, one text parameter), Describe, Execute, Sync.
fn pg_bind_execute_sync(stmt: &str, value: &str) -> Vec<u8> {
    let mut bind = [b"\0", stmt.as_bytes(), b"\0"].concat();
    bind.extend(0u16.to_be_bytes()); // parameter formats: all text
    bind.extend(1u16.to_be_bytes()); // one parameter
    bind.extend(u32::try_from(value.len()).unwrap().to_be_bytes());
    bind.extend(value.as_bytes());
    bind.extend(0u16.to_be_bytes()); // result formats
    [
        pg_msg(b'B', &bind),
        pg_msg(b'D', b"P\0"),
        pg_msg(b'E', b"\0\0\0\0\0"),
        pg_msg(b'S', b""),
    ]
    .concat()
}

fn pg(sql: &str, kind: &'static str) -> SqlMessage {
    SqlMessage {
        protocol: Protocol::Postgres,
        kind,
        sql: sql.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// MySQL helpers

const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
const CLIENT_COMPRESS: u32 = 0x20;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SSL: u32 = 0x800;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;
const CLIENT_QUERY_ATTRIBUTES: u32 = 1 << 27;
/// What a typical modern client asks for.
const CLIENT_CAPS: u32 =
    CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_WITH_DB;

/// A packet: 3-byte little-endian length, sequence id, payload.
fn my_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_le_bytes();
    let mut out = vec![len[0], len[1], len[2], seq];
    out.extend(payload);
    out
}

/// A protocol-10 Initial Handshake packet advertising `caps`.
fn my_greeting(version: &str, caps: u32) -> Vec<u8> {
    let caps = caps.to_le_bytes();
    let mut p = vec![0x0a];
    p.extend(version.as_bytes());
    p.push(0);
    p.extend(7u32.to_le_bytes()); // thread id
    p.extend(b"abcdefgh"); // scramble, part 1
    p.push(0); // filler
    p.extend(&caps[..2]);
    p.push(0xff); // charset
    p.extend(2u16.to_le_bytes()); // status
    p.extend(&caps[2..]);
    p.push(21); // scramble length
    p.extend([0; 10]);
    p.extend(b"ijklmnopqrst\0");
    p.extend(b"caching_sha2_password\0");
    my_packet(0, &p)
}

/// A HandshakeResponse41 with `caps`, user `app`, a 20-byte auth response and database `shop`.
fn my_handshake_response(caps: u32) -> Vec<u8> {
    let mut p = caps.to_le_bytes().to_vec();
    p.extend(16_777_216u32.to_le_bytes()); // max packet
    p.push(0xff); // charset
    p.extend([0; 23]);
    p.extend(b"app\0");
    p.push(20);
    p.extend([0x5a; 20]);
    p.extend(b"shop\0");
    p.extend(b"caching_sha2_password\0");
    my_packet(1, &p)
}

/// An SSLRequest: the first 32 bytes of a HandshakeResponse41, with `CLIENT_SSL`.
fn my_ssl_request(caps: u32) -> Vec<u8> {
    let mut p = (caps | CLIENT_SSL).to_le_bytes().to_vec();
    p.extend(16_777_216u32.to_le_bytes());
    p.push(0xff);
    p.extend([0; 23]);
    my_packet(1, &p)
}

fn my_command(cmd: u8, body: &[u8]) -> Vec<u8> {
    my_packet(0, &[&[cmd], body].concat())
}

fn my_query(sql: &str) -> Vec<u8> {
    my_command(0x03, sql.as_bytes())
}

fn my_prepare(sql: &str) -> Vec<u8> {
    my_command(0x16, sql.as_bytes())
}

fn my(sql: &str, kind: &'static str) -> SqlMessage {
    SqlMessage {
        protocol: Protocol::Mysql,
        kind,
        sql: sql.to_owned(),
    }
}

/// A MySQL connection past the greeting and handshake, with `caps` on both sides.
fn mysql_session(caps: u32) -> WireState {
    let mut w = WireState::new();
    w.on_recv(&my_greeting("8.0.36", caps));
    assert_eq!(w.on_send(&my_handshake_response(caps)), vec![]);
    assert_eq!(w.protocol(), Protocol::Mysql);
    w
}

/// A PostgreSQL connection past the StartupMessage.
fn postgres_session() -> WireState {
    let mut w = WireState::new();
    assert_eq!(w.on_send(&pg_startup()), vec![]);
    assert_eq!(w.protocol(), Protocol::Postgres);
    w
}

/// Feeds `bytes` one byte per call, collecting the SQL.
fn byte_by_byte(w: &mut WireState, bytes: &[u8]) -> Vec<SqlMessage> {
    bytes.chunks(1).flat_map(|b| w.on_send(b)).collect()
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

#[test]
fn pg_startup_then_simple_query() {
    let mut w = WireState::new();
    assert_eq!(w.protocol(), Protocol::Unknown);
    assert_eq!(w.on_send(&pg_startup()), vec![]);
    assert_eq!(w.protocol(), Protocol::Postgres);
    assert!(!w.is_settled_not_database());
    // The server's replies (AuthenticationOk, ParameterStatus…) change nothing.
    w.on_recv(b"R\0\0\0\x08\0\0\0\0");
    let got = w.on_send(&pg_query("SELECT * FROM users WHERE id = 1"));
    assert_eq!(got, vec![pg("SELECT * FROM users WHERE id = 1", "Query")]);
    assert_eq!(got[0].dialect(), SqlDialect::Postgresql);
}

#[test]
fn pg_protocol_3_2_is_accepted() {
    let mut w = WireState::new();
    w.on_send(&pg_untyped(196_610, b"user\0app\0\0"));
    assert_eq!(
        w.on_send(&pg_query("SELECT 1")),
        vec![pg("SELECT 1", "Query")]
    );
}

#[test]
fn pg_password_exchange_is_ignored() {
    let mut w = postgres_session();
    assert_eq!(w.on_send(&pg_msg(b'p', b"secret\0")), vec![]);
    assert_eq!(
        w.on_send(&pg_query("SELECT 2")),
        vec![pg("SELECT 2", "Query")]
    );
}

#[test]
fn pg_extended_query_reports_parse_only() {
    let mut w = postgres_session();
    let stream = [
        pg_parse("", "SELECT name FROM users WHERE id = $1", &[23]),
        pg_bind_execute_sync("", "42"),
    ]
    .concat();
    assert_eq!(
        w.on_send(&stream),
        vec![pg("SELECT name FROM users WHERE id = $1", "Parse")]
    );
}

#[test]
fn pg_named_statement_with_several_params() {
    let mut w = postgres_session();
    let got = w.on_send(&pg_parse(
        "stmt_7",
        "UPDATE t SET a = $1, b = $2 WHERE c = $3",
        &[25, 23, 0],
    ));
    assert_eq!(
        got,
        vec![pg("UPDATE t SET a = $1, b = $2 WHERE c = $3", "Parse")]
    );
}

#[test]
fn pg_startup_and_several_messages_in_one_write() {
    let mut w = WireState::new();
    let stream = [
        pg_startup(),
        pg_msg(b'p', b"secret\0"),
        pg_query("BEGIN"),
        pg_parse("s1", "INSERT INTO t VALUES ($1)", &[]),
        pg_bind_execute_sync("s1", "x"),
        pg_query("COMMIT"),
        pg_msg(b'X', b""),
    ]
    .concat();
    assert_eq!(
        w.on_send(&stream),
        vec![
            pg("BEGIN", "Query"),
            pg("INSERT INTO t VALUES ($1)", "Parse"),
            pg("COMMIT", "Query"),
        ]
    );
}

#[test]
fn pg_messages_split_byte_by_byte() {
    let stream = [
        pg_startup(),
        pg_query("SELECT 'a;b'"),
        pg_parse("", "DELETE FROM t WHERE id = $1", &[23]),
        pg_bind_execute_sync("", "1"),
    ]
    .concat();
    let mut w = WireState::new();
    assert_eq!(
        byte_by_byte(&mut w, &stream),
        vec![
            pg("SELECT 'a;b'", "Query"),
            pg("DELETE FROM t WHERE id = $1", "Parse"),
        ]
    );
    assert_eq!(w.buffered(), 0);
}

#[test]
fn pg_query_split_across_two_writes() {
    let mut w = postgres_session();
    let q = pg_query("SELECT * FROM orders");
    let (a, b) = q.split_at(9);
    assert_eq!(w.on_send(a), vec![]);
    assert!(w.buffered() > 0);
    assert_eq!(w.on_send(b), vec![pg("SELECT * FROM orders", "Query")]);
    assert_eq!(w.buffered(), 0);
}

#[test]
fn pg_ssl_request_then_tls_is_opaque() {
    let mut w = WireState::new();
    w.on_send(&pg_untyped(PG_SSL_REQUEST, b""));
    assert_eq!(w.protocol(), Protocol::Postgres);
    w.on_recv(b"S");
    // TLS ClientHello record.
    assert_eq!(
        w.on_send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
        vec![]
    );
    assert_eq!(w.protocol(), Protocol::Opaque);
    assert!(w.is_settled_not_database());
    assert_eq!(w.on_send(&pg_query("SELECT 1")), vec![]);
}

#[test]
fn pg_ssl_request_declined_then_startup() {
    let mut w = WireState::new();
    w.on_send(&pg_untyped(PG_SSL_REQUEST, b""));
    w.on_recv(b"N");
    w.on_send(&pg_startup());
    assert_eq!(
        w.on_send(&pg_query("SELECT 1")),
        vec![pg("SELECT 1", "Query")]
    );
}

#[test]
fn pg_gssenc_then_ssl_declined_then_startup_in_one_write() {
    let mut w = WireState::new();
    let stream = [
        pg_untyped(PG_GSSENC_REQUEST, b""),
        pg_untyped(PG_SSL_REQUEST, b""),
        pg_startup(),
        pg_query("SELECT 3"),
    ]
    .concat();
    assert_eq!(w.on_send(&stream), vec![pg("SELECT 3", "Query")]);
}

#[test]
fn pg_cancel_request_carries_nothing() {
    let mut w = WireState::new();
    w.on_send(&pg_untyped(PG_CANCEL_REQUEST, &[0, 0, 0, 9, 1, 2, 3, 4]));
    assert_eq!(w.protocol(), Protocol::Postgres);
    assert_eq!(w.on_send(&pg_query("SELECT 1")), vec![]);
}

#[test]
fn pg_invalid_message_length_loses_framing() {
    let mut w = postgres_session();
    assert_eq!(w.on_send(b"Q\0\0\0\x02"), vec![]);
    assert_eq!(w.protocol(), Protocol::Opaque);
    assert!(w.is_settled_not_database());
}

#[test]
fn pg_unterminated_and_odd_bodies() {
    let mut w = postgres_session();
    // Query without its NUL: the whole body; Parse without the name's NUL: nothing.
    assert_eq!(
        w.on_send(&pg_msg(b'Q', b"SELECT 5")),
        vec![pg("SELECT 5", "Query")]
    );
    assert_eq!(w.on_send(&pg_msg(b'P', b"name-only")), vec![]);
    // Empty Query body, invalid UTF-8 decoded lossily.
    assert_eq!(w.on_send(&pg_msg(b'Q', b"")), vec![pg("", "Query")]);
    assert_eq!(
        w.on_send(&pg_msg(b'Q', b"SELECT '\xff'\0")),
        vec![pg("SELECT '\u{fffd}'", "Query")]
    );
}

#[test]
fn pg_copy_data_is_skipped_without_buffering() {
    let mut w = postgres_session();
    w.on_send(&pg_query("COPY t FROM STDIN"));
    let copy = pg_msg(b'd', &vec![b'Q'; 3 * MAX_MESSAGE_BYTES]);
    for chunk in copy.chunks(64 * 1024) {
        assert_eq!(w.on_send(chunk), vec![]);
        assert_eq!(w.buffered(), 0);
    }
    assert_eq!(w.on_send(&pg_msg(b'c', b"")), vec![]);
    assert_eq!(
        w.on_send(&pg_query("SELECT 6")),
        vec![pg("SELECT 6", "Query")]
    );
}

#[test]
fn pg_query_at_the_cap_is_reported_over_it_skipped() {
    let mut w = postgres_session();
    let at_cap = format!("SELECT '{}'", "a".repeat(MAX_MESSAGE_BYTES - 10));
    let msg = pg_query(&at_cap);
    assert_eq!(msg.len(), 5 + MAX_MESSAGE_BYTES);
    let got: Vec<_> = msg.chunks(4096).flat_map(|c| w.on_send(c)).collect();
    assert_eq!(got, vec![pg(&at_cap, "Query")]);

    let over = format!("SELECT '{}'", "a".repeat(MAX_MESSAGE_BYTES));
    for chunk in pg_query(&over).chunks(4096) {
        assert_eq!(w.on_send(chunk), vec![]);
        assert_eq!(w.buffered(), 0);
    }
    assert_eq!(
        w.on_send(&pg_query("SELECT 7")),
        vec![pg("SELECT 7", "Query")]
    );
}

#[test]
fn pg_partial_message_buffer_is_bounded_by_the_message() {
    let mut w = postgres_session();
    let q = pg_query(&"x".repeat(1000));
    w.on_send(&q[..100]);
    assert!(w.buffered() <= q.len());
    assert!(w.buffered() >= 95);
}

// ---------------------------------------------------------------------------------------------
// MySQL

#[test]
fn mysql_greeting_handshake_and_commands() {
    let mut w = WireState::new();
    w.on_recv(&my_greeting("8.0.36-0ubuntu0.22.04.1", CLIENT_CAPS));
    assert_eq!(w.protocol(), Protocol::Mysql);
    assert_eq!(w.on_send(&my_handshake_response(CLIENT_CAPS)), vec![]);
    let got = w.on_send(&my_query("SELECT * FROM users WHERE name = 'bob'"));
    assert_eq!(
        got,
        vec![my("SELECT * FROM users WHERE name = 'bob'", "COM_QUERY")]
    );
    assert_eq!(got[0].dialect(), SqlDialect::Mysql);
    assert_eq!(
        w.on_send(&my_prepare("SELECT * FROM t WHERE id = ?")),
        vec![my("SELECT * FROM t WHERE id = ?", "COM_STMT_PREPARE")]
    );
}

#[test]
fn mysql_other_commands_and_non_command_packets_are_ignored() {
    let mut w = WireState::new();
    w.on_recv(&my_greeting("5.5.5-10.11.6-MariaDB-0+deb12u1", CLIENT_CAPS));
    let stream = [
        my_handshake_response(CLIENT_CAPS),
        // Auth continuation (sequence 3) whose payload happens to start with 0x03.
        my_packet(3, b"\x03not a query"),
        my_command(0x0e, b""),                   // COM_PING
        my_command(0x02, b"shop"),               // COM_INIT_DB
        my_command(0x17, &[1, 0, 0, 0, 0]),      // COM_STMT_EXECUTE
        my_command(0x18, b"\x01\0\0\0\0\0blob"), // COM_STMT_SEND_LONG_DATA
        my_packet(0, b""),                       // empty payload
        my_query("SELECT 1"),
        my_command(0x01, b""), // COM_QUIT
    ]
    .concat();
    assert_eq!(w.on_send(&stream), vec![my("SELECT 1", "COM_QUERY")]);
}

#[test]
fn mysql_greeting_read_in_pieces() {
    let greeting = my_greeting("8.4.0", CLIENT_CAPS);
    let mut w = WireState::new();
    // PyMySQL-style: the 4-byte header, then the payload, here even byte by byte.
    w.on_recv(&greeting[..4]);
    assert_eq!(w.protocol(), Protocol::Unknown);
    for b in greeting[4..].chunks(1) {
        w.on_recv(b);
    }
    assert_eq!(w.protocol(), Protocol::Mysql);
}

#[test]
fn mysql_old_greeting_without_upper_capabilities() {
    let mut p = vec![0x0a];
    p.extend(b"5.0.96\0");
    p.extend(1u32.to_le_bytes());
    p.extend(b"abcdefgh\0");
    p.extend(CLIENT_PROTOCOL_41.to_le_bytes()[..2].iter());
    let mut w = WireState::new();
    w.on_recv(&my_packet(0, &p));
    assert_eq!(w.protocol(), Protocol::Mysql);
}

#[test]
fn mysql_handshake_and_commands_split_byte_by_byte() {
    let mut w = WireState::new();
    w.on_recv(&my_greeting("8.0.36", CLIENT_CAPS));
    let stream = [
        my_handshake_response(CLIENT_CAPS),
        my_query("INSERT INTO t VALUES ('x')"),
        my_command(0x0e, b""),
        my_prepare("SELECT ?"),
    ]
    .concat();
    assert_eq!(
        byte_by_byte(&mut w, &stream),
        vec![
            my("INSERT INTO t VALUES ('x')", "COM_QUERY"),
            my("SELECT ?", "COM_STMT_PREPARE"),
        ]
    );
}

#[test]
fn mysql_classified_from_handshake_response_without_greeting() {
    let mut w = WireState::new();
    let response = my_handshake_response(CLIENT_CAPS);
    assert_eq!(w.on_send(&response[..20]), vec![]);
    assert_eq!(w.protocol(), Protocol::Unknown);
    let rest = [&response[20..], &my_query("SELECT 8")[..]].concat();
    assert_eq!(w.on_send(&rest), vec![my("SELECT 8", "COM_QUERY")]);
    assert_eq!(w.protocol(), Protocol::Mysql);
}

#[test]
fn mysql_ssl_request_is_opaque() {
    let mut w = WireState::new();
    w.on_recv(&my_greeting("8.0.36", CLIENT_CAPS | CLIENT_SSL));
    w.on_send(&my_ssl_request(CLIENT_CAPS));
    assert_eq!(w.protocol(), Protocol::Opaque);
    assert!(w.is_settled_not_database());
    assert_eq!(w.on_send(&my_query("SELECT 1")), vec![]);

    // Without the greeting too.
    let mut w = WireState::new();
    w.on_send(&my_ssl_request(CLIENT_CAPS));
    assert_eq!(w.protocol(), Protocol::Opaque);
}

#[test]
fn mysql_compression_is_opaque_only_when_negotiated() {
    let mut w = WireState::new();
    w.on_recv(&my_greeting("8.0.36", CLIENT_CAPS | CLIENT_COMPRESS));
    w.on_send(&my_handshake_response(CLIENT_CAPS | CLIENT_COMPRESS));
    assert_eq!(w.protocol(), Protocol::Opaque);

    // The client asks, the server does not offer: no compression.
    let mut w = WireState::new();
    w.on_recv(&my_greeting("8.0.36", CLIENT_CAPS));
    w.on_send(&my_handshake_response(CLIENT_CAPS | CLIENT_COMPRESS));
    assert_eq!(w.protocol(), Protocol::Mysql);
    assert_eq!(
        w.on_send(&my_query("SELECT 9")),
        vec![my("SELECT 9", "COM_QUERY")]
    );
}

#[test]
fn mysql_query_attributes() {
    let caps = CLIENT_CAPS | CLIENT_QUERY_ATTRIBUTES;
    let mut w = mysql_session(caps);
    // No attributes: parameter count 0, one parameter set.
    assert_eq!(
        w.on_send(&my_command(0x03, b"\x00\x01SELECT 10")),
        vec![my("SELECT 10", "COM_QUERY")]
    );
    // One string attribute `a` = "1" (the documented example).
    assert_eq!(
        w.on_send(&my_command(
            0x03,
            b"\x01\x01\x00\x01\xfe\x00\x01a\x011select @@version_comment limit 1"
        )),
        vec![my("select @@version_comment limit 1", "COM_QUERY")]
    );
    // Three attributes: a LONGLONG, a NULL one (bitmap bit 1), a DATETIME.
    let mut body = vec![0x03, 0x01, 0b010, 0x01];
    body.extend(b"\x08\x00\x02id\x06\x00\x01n\x0c\x00\x02ts");
    body.extend(42u64.to_le_bytes());
    body.extend(b"\x04\xe8\x07\x01\x02");
    body.extend(b"SELECT 11");
    assert_eq!(
        w.on_send(&my_command(0x03, &body)),
        vec![my("SELECT 11", "COM_QUERY")]
    );
    // An attribute of a type with no known binary size: not readable, not reported.
    assert_eq!(
        w.on_send(&my_command(
            0x03,
            b"\x01\x01\x00\x01\x14\x00\x01a\x00SELECT 12"
        )),
        vec![]
    );
    // Prepared statements carry no attributes.
    assert_eq!(
        w.on_send(&my_prepare("SELECT ?")),
        vec![my("SELECT ?", "COM_STMT_PREPARE")]
    );
}

#[test]
fn mysql_query_attributes_need_both_sides() {
    // The client offers attributes but the server does not: the SQL starts right away.
    let mut w = WireState::new();
    w.on_recv(&my_greeting("8.0.36", CLIENT_CAPS));
    w.on_send(&my_handshake_response(
        CLIENT_CAPS | CLIENT_QUERY_ATTRIBUTES,
    ));
    assert_eq!(
        w.on_send(&my_query("SELECT 13")),
        vec![my("SELECT 13", "COM_QUERY")]
    );
}

#[test]
fn mysql_split_payload_is_skipped_and_continuations_are_not_commands() {
    let mut w = mysql_session(CLIENT_CAPS);
    // A 16 MiB COM_QUERY: one full packet, then the rest in a continuation.
    let mut first = vec![0xff, 0xff, 0xff, 0x00, 0x03];
    first.resize(4 + 0xFF_FFFF, b'a');
    for chunk in first.chunks(1 << 20) {
        assert_eq!(w.on_send(chunk), vec![]);
        assert_eq!(w.buffered(), 0);
    }
    assert_eq!(w.on_send(&my_packet(1, b"aaaa")), vec![]);
    assert_eq!(
        w.on_send(&my_query("SELECT 14")),
        vec![my("SELECT 14", "COM_QUERY")]
    );

    // A full packet whose continuation carries sequence id 0 (ids wrap at 256) and starts with
    // 0x03: still a continuation, not a command.
    let mut full = vec![0xff, 0xff, 0xff, 0xff];
    full.resize(4 + 0xFF_FFFF, 0);
    assert_eq!(w.on_send(&full), vec![]);
    assert_eq!(w.on_send(&my_packet(0, b"\x03SELECT 'hidden'")), vec![]);
    assert_eq!(
        w.on_send(&my_query("SELECT 15")),
        vec![my("SELECT 15", "COM_QUERY")]
    );
}

#[test]
fn mysql_query_over_the_cap_is_skipped() {
    let mut w = mysql_session(CLIENT_CAPS);
    let at_cap = "b".repeat(MAX_MESSAGE_BYTES);
    assert_eq!(
        w.on_send(&my_query(&at_cap)),
        vec![my(&at_cap, "COM_QUERY")]
    );
    let over = my_query(&"c".repeat(MAX_MESSAGE_BYTES + 1));
    for chunk in over.chunks(1000) {
        assert_eq!(w.on_send(chunk), vec![]);
        assert_eq!(w.buffered(), 0);
    }
    assert_eq!(
        w.on_send(&my_query("SELECT 16")),
        vec![my("SELECT 16", "COM_QUERY")]
    );
}

// ---------------------------------------------------------------------------------------------
// Not a database

/// Feeds `bytes` one at a time and returns how many it took to settle as not a database.
fn settles_after(bytes: &[u8], recv: bool) -> Option<usize> {
    let mut w = WireState::new();
    for (i, b) in bytes.chunks(1).enumerate() {
        if recv {
            w.on_recv(b);
        } else {
            assert_eq!(w.on_send(b), vec![]);
        }
        if w.is_settled_not_database() {
            assert_eq!(w.protocol(), Protocol::NotDatabase);
            return Some(i + 1);
        }
    }
    None
}

#[test]
fn other_protocols_are_rejected_within_a_few_bytes() {
    for client in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"POST /api HTTP/1.1\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"*1\r\n$4\r\nPING\r\n",
        b"\0\0\0\x08\0\0\0\0", // a zero code: neither startup nor request
        b"\0\0\x01\x01\0\0\0\0",
    ] {
        let n = settles_after(client, false);
        assert!(n.is_some_and(|n| n <= 8), "{client:?}: {n:?}");
    }
    for server in [
        &b"SSH-2.0-OpenSSH_9.6\r\n"[..],
        b"220 mail.example.com ESMTP\r\n",
        b"\x05\0\0\x00\x0a\x00", // empty server version
        b"\x05\0\0\x01\x0a",     // sequence id 1
    ] {
        let n = settles_after(server, true);
        assert!(n.is_some_and(|n| n <= 6), "{server:?}: {n:?}");
    }
}

#[test]
fn a_client_that_speaks_first_decides() {
    let mut w = WireState::new();
    w.on_send(b"\0\0");
    // A reply to an unclassified client is not looked at.
    w.on_recv(&my_greeting("8.0.36", CLIENT_CAPS));
    assert_eq!(w.protocol(), Protocol::Unknown);
    w.on_send(&pg_startup()[2..]);
    assert_eq!(w.protocol(), Protocol::Postgres);
}

#[test]
fn empty_chunks_change_nothing() {
    let mut w = WireState::new();
    assert_eq!(w.on_send(b""), vec![]);
    w.on_recv(b"");
    assert_eq!(w.protocol(), Protocol::Unknown);
    assert!(!w.is_settled_not_database());
}

#[test]
fn state_is_small_until_classified() {
    assert!(size_of::<WireState>() <= 40, "{}", size_of::<WireState>());
    let w = WireState::new();
    assert_eq!(w.buffered(), 0);
}

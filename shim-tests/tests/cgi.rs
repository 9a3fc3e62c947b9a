//! CGI: the request reaches a script through its environment (RFC 3875), and the script runs a
//! database command-line client with SQL built from it. The agent in the client process
//! rebuilds the request from the inherited environment, so the sqlite3, psql and mariadb
//! shells are protected like any in-process driver (the mariadb shell on the wire): benign lookups work, injected SQL is
//! refused inside the client, and the event names the input and the client's peer.

use std::process::Command;

use shim::{Sandbox, Server, enc, python, require_server};

const TAUTOLOGY: &str = "x' OR '1'='1";

fn cgi_host(sb: &Sandbox) -> Server {
    let mut cmd = sb.command(python());
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/victims/cgi/cgi_host.py"
    ))
    .env("NOTES_DB", sb.dir.join("notes.db"));
    Server::start(cmd)
}

/// Runs `sql` with a client, without the agent (test setup).
fn setup(program: &str, args: &[&str], sql: &str) {
    let out = Command::new(program)
        .args(args)
        .arg(sql)
        .output()
        .expect("client runs");
    assert!(out.status.success(), "{program} setup failed: {out:?}");
}

const NOTES: &str = "CREATE TABLE IF NOT EXISTS librasp_cgi_notes (title VARCHAR(64), body VARCHAR(64)); \
    DELETE FROM librasp_cgi_notes; \
    INSERT INTO librasp_cgi_notes VALUES ('welcome', 'hello notes'), ('secret', 'top secret');";

/// Benign lookup, then the injection: refused with `refusal` in the client's output.
fn exercise(sb: &Sandbox, script: &str, refusal: &str) {
    let server = cgi_host(sb);
    let r = server.get(&format!("/cgi-bin/{script}?title=welcome"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "hello notes\n"),
        "{script} benign"
    );
    let r = server.get(&format!("/cgi-bin/{script}?title={}", enc(TAUTOLOGY)));
    assert!(r.body.contains(refusal), "{script}: {r:?}");
    assert!(
        !r.body.contains("top secret"),
        "{script}: no rows leaked: {r:?}"
    );
    let ev = sb.wait_detection(script, |e| e["librasp"]["detector"] == "sqli");
    assert_eq!(ev["librasp"]["input"]["origin"], "query.title");
    assert_eq!(ev["librasp"]["decision"], "block");
    assert_eq!(
        ev["source"]["ip"], "127.0.0.1",
        "REMOTE_ADDR becomes source.ip"
    );
}

#[test]
fn sqlite3_shell_in_a_cgi_script_refuses_injected_sql() {
    let sb = Sandbox::new("block", "");
    setup(
        "sqlite3",
        &[sb.dir.join("notes.db").to_str().expect("utf-8 path")],
        NOTES,
    );
    exercise(&sb, "notes-sqlite3.sh", "not authorized");
}

#[test]
fn psql_in_a_cgi_script_refuses_injected_sql() {
    require_server("PostgreSQL", 5432);
    let sb = Sandbox::new("block", "");
    setup(
        "psql",
        &[
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-q",
            "-c",
        ],
        NOTES,
    );
    exercise(&sb, "notes-psql.sh", "librasp blocked sqli.tautology");
}

#[test]
fn mariadb_shell_with_its_static_client_is_caught_on_the_wire() {
    // The mariadb shell links its client library statically: no client function can be
    // interposed, so the statement is read from the MySQL protocol bytes it writes.
    require_server("MariaDB", 3306);
    let sb = Sandbox::new("block", "");
    setup(
        "mariadb",
        &["-h", "127.0.0.1", "-u", "root", "test", "-e"],
        NOTES,
    );
    exercise(&sb, "notes-mariadb.sh", "Server has gone away");
}

//! SQLite through its client library: the C server (libsqlite3 linked normally), CPython's
//! sqlite3 module (libsqlite3 loaded RTLD_LOCAL, out of RTLD_NEXT's reach) and the sqlite3
//! command-line shell. Injected SQL is refused by SQLite itself ("not authorized"),
//! parameterised queries stay quiet, and benign queries run normally.

use std::process::Command;

use shim::{Sandbox, enc};

const TAUTOLOGY: &str = "x' OR '1'='1";

fn sqli_event(sb: &Sandbox, decision: &str) -> serde_json::Value {
    sb.wait_detection(&format!("sqli {decision}"), |e| {
        e["librasp"]["detector"] == "sqli" && e["librasp"]["decision"] == decision
    })
}

#[test]
fn c_server_injected_query_fails_with_sqlites_own_not_authorized() {
    let sb = Sandbox::new("block", "");
    let server = sb.c_server();
    let r = server.get(&format!("/sqlite?arg={}", enc(TAUTOLOGY)));
    assert_eq!(r.status, 500, "{r:?}");
    assert!(
        r.body.contains("rc=23 not authorized"),
        "SQLITE_AUTH with SQLite's message: {r:?}"
    );
    let ev = sqli_event(&sb, "block");
    assert_eq!(ev["librasp"]["sink"]["function"], "sqlite3_prepare_v2");
    assert_eq!(ev["event"]["category"][1], "database");
    let benign = server.get("/sqlite?arg=welcome");
    assert_eq!(
        (benign.status, benign.body.as_str()),
        (200, "hello notes\n")
    );
}

#[test]
fn python_sqlite3_module_raises_database_error_when_blocked() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let r = server.get(&format!("/sqlite?arg={}", enc(TAUTOLOGY)));
    assert!(
        r.body.contains("DatabaseError: not authorized"),
        "a normal DatabaseError: {r:?}"
    );
    sqli_event(&sb, "block");
    // The connection keeps working for the next, benign, query.
    let r = server.get("/sqlite?arg=welcome");
    assert_eq!((r.status, r.body.as_str()), (200, "hello notes\n"));
}

#[test]
fn python_parameterised_query_with_the_same_value_is_not_flagged() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let r = server.get(&format!("/sqlite_param?arg={}", enc(TAUTOLOGY)));
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, ""),
        "bound parameters are data"
    );
    sb.assert_no_detection("parameterised query");
}

#[test]
fn python_monitor_mode_returns_the_injected_rows_and_reports() {
    let sb = Sandbox::new("monitor", "");
    let server = sb.py_server();
    let r = server.get(&format!("/sqlite?arg={}", enc(TAUTOLOGY)));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains("top secret"),
        "monitor mode never changes behaviour: {r:?}"
    );
    let ev = sqli_event(&sb, "alert");
    assert_eq!(ev["librasp"]["input"]["value"], TAUTOLOGY);
}

#[test]
fn sqlite3_command_line_shell_runs_benign_queries_unchanged() {
    if Command::new("sqlite3").arg("--version").output().is_err() {
        panic!("the sqlite3 CLI is missing: `make deps` installs it");
    }
    let sb = Sandbox::new("block", "");
    let db = sb.dir.join("cli.db");
    let out = sb
        .command("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t(x); INSERT INTO t VALUES ('it''s fine'); SELECT x FROM t;")
        .output()
        .expect("sqlite3 runs");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "it's fine\n");
    sb.assert_no_detection("no request, no detection");
}

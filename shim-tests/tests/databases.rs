//! PostgreSQL and MariaDB through real drivers against the real servers on this machine:
//! client libraries (psycopg2's bundled libpq, mysqlclient's libmariadb) and drivers that speak
//! the wire protocol themselves (pg8000, PyMySQL). For each: a benign query runs normally, an
//! injected query arriving in an HTTP request is blocked with the driver's own error naming
//! librasp, and the same hostile value bound as a parameter is not flagged.

use shim::{Sandbox, Server, enc, require_server, script, venv_python};

const TAUTOLOGY: &str = "x' OR '1'='1";

fn db_app(sb: &Sandbox) -> Server {
    require_server("PostgreSQL", 5432);
    require_server("MariaDB", 3306);
    let mut cmd = sb.command(venv_python());
    cmd.arg(script("db_app.py"));
    Server::start(cmd)
}

/// Runs the benign, injected and parameterised requests for `driver` and checks each outcome;
/// `refusal` is what the driver's error must contain when blocked.
fn exercise(driver: &str, dialect_function: &str, refusal: &[&str]) {
    let sb = Sandbox::new("block", "");
    let server = db_app(&sb);
    let benign = server.get(&format!("/{driver}?arg=welcome"));
    assert_eq!(
        (benign.status, benign.body.as_str()),
        (200, "hello notes\n"),
        "{driver} benign"
    );

    let attack = server.get(&format!("/{driver}?arg={}", enc(TAUTOLOGY)));
    assert_eq!(attack.status, 500, "{driver}: {attack:?}");
    for needle in refusal {
        assert!(
            attack.body.contains(needle),
            "{driver}: expected {needle:?} in {attack:?}"
        );
    }
    assert!(
        !attack.body.contains("top secret"),
        "{driver}: no rows leaked"
    );
    let ev = sb.wait_detection(driver, |e| e["librasp"]["detector"] == "sqli");
    assert_eq!(ev["librasp"]["decision"], "block");
    assert_eq!(
        ev["librasp"]["sink"]["function"], dialect_function,
        "{driver}: {ev:#}"
    );
    assert_eq!(ev["librasp"]["input"]["origin"], "query.arg");

    let param = server.get(&format!("/{driver}_param?arg={}", enc(TAUTOLOGY)));
    assert_eq!(
        (param.status, param.body.as_str()),
        (200, ""),
        "{driver}: bound parameters are data"
    );
    assert_eq!(
        sb.detections().len(),
        1,
        "{driver}: the parameterised query was not flagged"
    );
}

#[test]
fn psycopg2_bundled_libpq_fails_the_injected_query_through_libpq() {
    exercise(
        "psycopg2",
        "PQexec",
        &[
            "UndefinedColumn",
            "column \"librasp blocked sqli.tautology\" does not exist",
            "[connection usable]",
        ],
    );
}

#[test]
fn mysqlclient_libmariadb_fails_the_injected_query_through_the_client() {
    exercise(
        "mysqlclient",
        "mysql_real_query",
        &[
            "OperationalError",
            "Unknown column 'librasp blocked sqli.tautology'",
            "[connection usable]",
        ],
    );
}

#[test]
fn pg8000_wire_protocol_write_is_refused_with_eacces() {
    // The driver sees its socket write fail and raises its normal network error.
    exercise(
        "pg8000",
        "postgres-wire:Query",
        &["InterfaceError", "network error"],
    );
}

#[test]
fn pymysql_wire_protocol_write_is_refused_with_eacces() {
    exercise(
        "pymysql",
        "mysql-wire:COM_QUERY",
        &["OperationalError", "Permission denied"],
    );
}

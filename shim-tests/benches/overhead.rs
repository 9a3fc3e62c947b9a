//! What the agent costs a real server: round trips to the multi-threaded C victim server over
//! one keep-alive connection, with and without `LD_PRELOAD=librasp.so` (block mode, default
//! detectors), for a request that reaches no sink and for one whose handler opens a file
//! with a request input in its path (capture, correlation, extraction and a path check).
//!
//! Run with `make bench`, which builds the release agent and points `RASP_LIB` at it; the
//! difference between the `plain` and `agent` lines is the agent's overhead per request.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use criterion::Criterion;
use shim::{Sandbox, Server, read_response, victim};

/// Sends `GET path` on the keep-alive connection and reads the answer.
fn round_trip(conn: &mut TcpStream, path: &str) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
    conn.write_all(request.as_bytes()).expect("send");
    let r = read_response(conn);
    assert_eq!(r.status, 200, "{r:?}");
}

/// The same requests against the server with and without the agent.
fn overhead(c: &mut Criterion) {
    let sb = Sandbox::new("block", "");
    let plain = {
        let mut cmd = Command::new(victim("http_server"));
        cmd.arg(&sb.docroot);
        Server::start(cmd)
    };
    let agent = sb.c_server();
    for (name, server) in [("plain", &plain), ("agent", &agent)] {
        let mut conn = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        conn.set_nodelay(true).expect("nodelay");
        let mut group = c.benchmark_group(format!("http_server/{name}"));
        group.bench_function("no_sink", |b| b.iter(|| round_trip(&mut conn, "/health")));
        group.bench_function("open_with_input", |b| {
            b.iter(|| round_trip(&mut conn, "/open?arg=hello.txt"))
        });
        group.finish();
    }
    assert!(sb.detections().is_empty(), "benign requests only");
}

/// Runs the benches with a short warm-up and measurement (overridable on the command line),
/// as `criterion_main!` would.
fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    overhead(&mut c);
    c.final_summary();
}

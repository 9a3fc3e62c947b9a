//! Every hook family end to end, through the two victims (a multi-threaded C server and a
//! Python `http.server` app): block mode refuses attacks with the errno contract, monitor mode
//! lets the same attack through and reports it, and benign requests are untouched and silent.

use shim::{Sandbox, enc};

/// Harmless payloads: they only ever print the user id or read the host name.
const CMD_INJECTION: &str = "world; id";
const TRAVERSAL: &str = "../../../../../etc/hostname";

fn uri(endpoint: &str, arg: &str) -> String {
    format!("/{endpoint}?arg={}", enc(arg))
}

/// The detection for `function` with the expected decision; panics with the events otherwise.
fn expect_detection(sb: &Sandbox, function: &str, decision: &str) -> serde_json::Value {
    let ev = sb.wait_detection(&format!("{decision} at {function}"), |e| {
        e["librasp"]["sink"]["function"] == function && e["librasp"]["decision"] == decision
    });
    assert_eq!(
        ev["source"]["ip"], "127.0.0.1",
        "the event names the peer: {ev:#}"
    );
    assert!(
        ev["url"]["path"].is_string(),
        "the event names the request path: {ev:#}"
    );
    assert!(
        ev["librasp"]["input"]["origin"]
            .as_str()
            .is_some_and(|o| o.starts_with("query.")),
        "{ev:#}"
    );
    ev
}

#[test]
fn c_server_block_mode_refuses_command_injection_at_every_process_sink_with_eacces() {
    for (endpoint, function) in [
        ("system", "system"),
        ("popen", "popen"),
        ("exec", "execve"),
        ("spawn", "posix_spawn"),
    ] {
        let sb = Sandbox::new("block", "");
        let server = sb.c_server();
        let r = server.get(&uri(endpoint, CMD_INJECTION));
        assert!(
            r.body.contains("errno=13"),
            "{endpoint}: the app must see EACCES, got {r:?}"
        );
        assert!(
            !r.body.contains("uid="),
            "{endpoint}: the injected command must not run: {r:?}"
        );
        expect_detection(&sb, function, "block");
    }
}

#[test]
fn c_server_monitor_mode_lets_command_injection_run_and_reports_it() {
    for (endpoint, function) in [
        ("system", "system"),
        ("popen", "popen"),
        ("exec", "execve"),
        ("spawn", "posix_spawn"),
    ] {
        let sb = Sandbox::new("monitor", "");
        let server = sb.c_server();
        let r = server.get(&uri(endpoint, CMD_INJECTION));
        assert_eq!(
            r.status, 200,
            "{endpoint}: monitor mode never changes behaviour: {r:?}"
        );
        if endpoint != "system" {
            assert!(
                r.body.contains("uid="),
                "{endpoint}: the command ran: {r:?}"
            );
        }
        let ev = expect_detection(&sb, function, "alert");
        assert_eq!(ev["event"]["type"][0], "info");
    }
}

#[test]
fn c_server_benign_process_requests_are_untouched_and_silent() {
    let sb = Sandbox::new("block", "");
    let server = sb.c_server();
    for endpoint in ["system", "popen", "exec", "spawn"] {
        let r = server.get(&uri(endpoint, "world"));
        assert_eq!(r.status, 200, "{endpoint}: {r:?}");
        if endpoint != "system" {
            assert_eq!(r.body, "hello world\n", "{endpoint}");
        }
    }
    sb.assert_no_detection("benign commands");
}

#[test]
fn c_server_path_traversal_is_blocked_at_fopen_and_open() {
    for (endpoint, function) in [("fopen", "fopen"), ("open", "open")] {
        let sb = Sandbox::new("block", "");
        let server = sb.c_server();
        let r = server.get(&uri(endpoint, TRAVERSAL));
        assert_eq!(r.status, 500, "{endpoint}: {r:?}");
        assert!(
            r.body.contains("errno=13"),
            "{endpoint}: the app must see EACCES: {r:?}"
        );
        let ev = expect_detection(&sb, function, "block");
        assert_eq!(ev["librasp"]["detector"], "path");
        assert!(
            ev["file"]["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("etc/hostname")),
            "{ev:#}"
        );
    }
}

#[test]
fn c_server_monitor_mode_serves_the_traversal_and_reports_it() {
    let sb = Sandbox::new("monitor", "");
    let server = sb.c_server();
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let r = server.get(&uri("fopen", TRAVERSAL));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, hostname);
    expect_detection(&sb, "fopen", "alert");
}

#[test]
fn c_server_benign_file_requests_are_untouched_and_silent() {
    let sb = Sandbox::new("block", "");
    let server = sb.c_server();
    for endpoint in ["fopen", "open"] {
        let r = server.get(&uri(endpoint, "hello.txt"));
        assert_eq!(
            (r.status, r.body.as_str()),
            (200, "hello file\n"),
            "{endpoint}"
        );
    }
    sb.assert_no_detection("benign file reads");
}

#[test]
fn c_server_dlopen_of_a_traversed_library_path_is_blocked() {
    let sb = Sandbox::new("block", "");
    let server = sb.c_server();
    let r = server.get(&uri("dlopen", "../../../../../tmp/evil.so"));
    assert!(r.body.contains("errno=13"), "{r:?}");
    expect_detection(&sb, "dlopen", "block");
}

#[test]
fn c_server_monitor_mode_loads_a_traversed_library_and_reports_it() {
    let sb = Sandbox::new("monitor", "");
    let server = sb.c_server();
    // The docroot is five levels below /: climb to / and name a real library.
    let lib = shim::victim("libearly.so");
    let arg = format!("../../../../..{}", lib.display());
    let r = server.get(&uri("dlopen", &arg));
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "loaded\n"),
        "monitor mode loads it: {r:?}"
    );
    expect_detection(&sb, "dlopen", "alert");
}

#[test]
fn c_server_keeps_serving_on_a_keep_alive_connection_after_a_block() {
    use std::io::Write;
    let sb = Sandbox::new("block", "");
    let server = sb.c_server();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    s.set_read_timeout(Some(shim::PATIENCE)).expect("timeout");
    let attack = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\n\r\n",
        uri("popen", CMD_INJECTION)
    );
    s.write_all(attack.as_bytes()).expect("send");
    let r = shim::read_response(&mut s);
    assert!(r.body.contains("errno=13"), "{r:?}");
    let benign = format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", uri("popen", "again"));
    s.write_all(benign.as_bytes()).expect("send");
    let r = shim::read_response(&mut s);
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "hello again\n"),
        "the next request is a new one"
    );
}

#[test]
fn python_app_block_mode_refuses_command_injection_and_path_traversal() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    // CPython's subprocess searches PATH itself and calls execv() on each candidate.
    for (endpoint, function) in [("popen", "execv"), ("exec", "execv")] {
        let r = server.get(&uri(endpoint, CMD_INJECTION));
        assert!(
            r.body.contains("errno=13"),
            "{endpoint}: Python must raise PermissionError: {r:?}"
        );
        expect_detection(&sb, function, "block");
    }
    let r = server.get(&uri("system", CMD_INJECTION));
    assert!(
        r.body.contains("rc=-1"),
        "os.system sees system() fail: {r:?}"
    );
    expect_detection(&sb, "system", "block");
    let r = server.get(&uri("fopen", TRAVERSAL));
    assert!(
        r.body.contains("errno=13"),
        "open() must raise PermissionError: {r:?}"
    );
    expect_detection(&sb, "open64", "block");
}

#[test]
fn python_app_monitor_mode_reports_without_changing_behaviour() {
    let sb = Sandbox::new("monitor", "");
    let server = sb.py_server();
    let r = server.get(&uri("exec", CMD_INJECTION));
    assert!(r.body.contains("uid="), "{r:?}");
    expect_detection(&sb, "execv", "alert");
}

#[test]
fn python_app_benign_requests_are_untouched_and_silent() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    for endpoint in ["popen", "exec"] {
        let r = server.get(&uri(endpoint, "world"));
        assert_eq!(
            (r.status, r.body.as_str()),
            (200, "hello world\n"),
            "{endpoint}"
        );
    }
    let r = server.get(&uri("fopen", "hello.txt"));
    assert_eq!((r.status, r.body.as_str()), (200, "hello file\n"));
    sb.assert_no_detection("benign Python requests");
}

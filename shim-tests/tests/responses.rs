//! Responses and policy rules end to end, observed from the client's side: a configured errno,
//! dropping the attacker's connection, a 403 on it, killing the process, static rules that need
//! no input match, and allow-list exemptions (also edited live).

use std::time::{Duration, Instant};

use shim::{Sandbox, Server, enc, http, victim};

const TRAVERSAL: &str = "../../../../../etc/hostname";

fn traversal(server: &Server) -> shim::Response {
    server.get(&format!("/fopen?arg={}", enc(TRAVERSAL)))
}

#[test]
fn deny_with_a_configured_errno() {
    let sb = Sandbox::new("block", "[detectors.path]\nerrno = \"ENOENT\"\n");
    let server = sb.c_server();
    let r = traversal(&server);
    assert!(r.body.contains("errno=2"), "the app sees ENOENT: {r:?}");
}

#[test]
fn drop_connection_leaves_the_attacker_without_an_answer() {
    let sb = Sandbox::new(
        "block",
        "[detectors.path]\nresponse = \"drop-connection\"\n",
    );
    let server = sb.c_server();
    let r = traversal(&server);
    assert_eq!(
        (r.status, r.body.as_str()),
        (0, ""),
        "nothing comes back: {r:?}"
    );
    let ev = sb.wait_detection("drop", |e| e["librasp"]["decision"] == "block");
    assert_eq!(ev["librasp"]["detector"], "path");
    // The server itself keeps serving others.
    let ok = server.get("/fopen?arg=hello.txt");
    assert_eq!(ok.body, "hello file\n");
}

#[test]
fn respond_403_answers_forbidden_on_the_attackers_connection() {
    let sb = Sandbox::new("block", "[detectors.path]\nresponse = \"respond-403\"\n");
    let server = sb.c_server();
    let r = traversal(&server);
    assert_eq!((r.status, r.body.as_str()), (403, "Forbidden\n"), "{r:?}");
    let ok = server.get("/fopen?arg=hello.txt");
    assert_eq!(ok.body, "hello file\n");
}

#[test]
fn kill_ends_the_process_after_writing_the_event() {
    let sb = Sandbox::new("block", "[detectors.path]\nresponse = \"kill\"\n");
    let server = sb.c_server();
    let r = traversal(&server);
    assert_eq!(r.status, 0, "the process died before answering: {r:?}");
    let ev = sb.wait_detection("kill", |e| e["librasp"]["decision"] == "block");
    assert_eq!(ev["librasp"]["detector"], "path");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", server.port)).is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the server is still accepting"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn deny_exec_rule_refuses_a_shell_without_any_input() {
    let rule = "[[rule]]\nid = \"no-shells\"\ndeny_exec = [\"sh\", \"bash\", \"dash\"]\nmessage = \"web servers start no shells\"\n";
    let sb = Sandbox::new("block", rule);
    let server = sb.c_server();
    let r = server.get("/popen?arg=world");
    assert!(
        r.body.contains("popen failed") && r.body.contains("errno=13"),
        "{r:?}"
    );
    let ev = sb.wait_detection("rule", |e| e["rule"]["id"] == "no-shells");
    assert_eq!(ev["librasp"]["detector"], "rule");
}

#[test]
fn an_allow_entry_exempts_one_endpoint_and_applies_live() {
    let sb = Sandbox::new("block", "");
    let server = sb.c_server();
    assert!(traversal(&server).body.contains("errno=13"));
    let allow = "[[allow]]\nid = \"legacy-export\"\nrule = \"path.\"\nurl_path = \"/fopen\"\norigin = \"query.arg\"\n";
    sb.write_policy("block", allow);
    let start = Instant::now();
    loop {
        let r = traversal(&server);
        if r.status == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "allow entry not applied: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Other endpoints stay protected.
    let r = http(
        server.port,
        &format!(
            "GET /open?arg={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            enc(TRAVERSAL)
        ),
    );
    assert!(r.body.contains("errno=13"), "{r:?}");
}

#[test]
fn a_program_section_overrides_the_mode_for_that_executable_only() {
    let sb = Sandbox::new("monitor", "[program.\"http_server\"]\nmode = \"block\"\n");
    let server = sb.c_server();
    assert!(
        traversal(&server).body.contains("errno=13"),
        "the section applies to http_server"
    );
    // Another program under the same policy file stays in monitor mode.
    let out = sb
        .command(victim("flood"))
        .arg("1")
        .output()
        .expect("flood runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "refused 0\n",
        "{out:?}"
    );
}

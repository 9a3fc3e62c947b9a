//! Outbound connects (`getaddrinfo` + `connect`), the SSRF sink. Every case runs inside a
//! private network namespace with only loopback up (`unshare --net`), so no packet can leave
//! the machine whatever address a request names.

use std::process::Output;

use shim::{Sandbox, victim};

/// Runs `net_probe HOST PORT` under the agent inside a fresh network namespace.
fn probe(sb: &Sandbox, host: &str, port: &str) -> String {
    let mut cmd = sb.command("unshare");
    cmd.args([
        "--net",
        "sh",
        "-c",
        "ip link set lo up && exec \"$0\" \"$1\" \"$2\"",
    ])
    .arg(victim("net_probe"))
    .args([host, port]);
    let out: Output = cmd
        .output()
        .expect("unshare runs (root is required for network namespaces)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn block_mode_refuses_a_connect_to_an_internal_address_named_by_the_request() {
    let sb = Sandbox::new("block", "");
    assert_eq!(probe(&sb, "10.20.30.40", "80"), "connect errno=13\n");
    let ev = sb.wait_detection("ssrf block", |e| e["librasp"]["detector"] == "ssrf");
    assert_eq!(ev["destination"]["ip"], "10.20.30.40");
    assert_eq!(ev["destination"]["port"], 80);
    assert_eq!(ev["librasp"]["input"]["origin"], "query.host");
}

#[test]
fn a_host_name_resolving_to_loopback_is_refused_and_named_in_the_event() {
    let sb = Sandbox::new("block", "");
    assert_eq!(probe(&sb, "localhost", "6553"), "connect errno=13\n");
    let ev = sb.wait_detection("ssrf via a name", |e| e["librasp"]["detector"] == "ssrf");
    assert_eq!(
        ev["destination"]["domain"], "localhost",
        "getaddrinfo told connect the name"
    );
}

#[test]
fn a_public_destination_passes_through_with_the_kernels_own_error() {
    let sb = Sandbox::new("block", "");
    // TEST-NET-3 is not internal; inside the namespace the kernel answers ENETUNREACH.
    assert_eq!(probe(&sb, "203.0.113.7", "80"), "connect errno=101\n");
    sb.assert_no_detection("public destination");
}

#[test]
fn monitor_mode_lets_the_internal_connect_happen_and_reports_it() {
    let sb = Sandbox::new("monitor", "");
    // Nothing listens on that loopback port: the kernel refuses, not the agent.
    assert_eq!(probe(&sb, "127.0.0.1", "9"), "connect errno=111\n");
    sb.wait_detection("ssrf alert", |e| {
        e["librasp"]["detector"] == "ssrf" && e["librasp"]["decision"] == "alert"
    });
}

//! Live policy: an edit takes effect within seconds without restarting the application; an
//! invalid or untrusted edit keeps the last good policy and is reported with file:line:col.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use shim::{Sandbox, Server, enc, victim};

const TRAVERSAL: &str = "../../../../../etc/hostname";

/// Sends the traversal until `blocked` matches the outcome, for at most 5 s (the agent checks
/// the policy file at most once a second).
fn attack_until(server: &Server, blocked: bool) -> Duration {
    let start = Instant::now();
    loop {
        let r = server.get(&format!("/fopen?arg={}", enc(TRAVERSAL)));
        if r.body.contains("errno=13") == blocked {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "policy edit not applied: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn switching_monitor_to_block_applies_live_and_reports_policy_loaded() {
    let sb = Sandbox::new("monitor", "");
    let server = sb.c_server();
    attack_until(&server, false);
    sb.write_policy("block", "");
    let took = attack_until(&server, true);
    assert!(
        took < Duration::from_secs(3),
        "applied within about 2 s, took {took:?}"
    );
    let loaded: Vec<_> = sb
        .events()
        .into_iter()
        .filter(|e| e["event"]["action"] == "policy_loaded")
        .collect();
    assert_eq!(loaded.len(), 1, "{loaded:#?}");
    assert_eq!(loaded[0]["librasp"]["mode"], "block");
}

#[test]
fn an_invalid_edit_keeps_the_last_good_policy_and_names_the_line() {
    let sb = Sandbox::new("block", "");
    let server = sb.c_server();
    attack_until(&server, true);
    std::fs::write(
        &sb.policy,
        "mode = \"block\"\n[capture]\nbuffer_bytes = \"lots\"\n",
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(1200));
    attack_until(&server, true);
    let start = Instant::now();
    let err = loop {
        if let Some(e) = sb
            .events()
            .into_iter()
            .find(|e| e["event"]["action"] == "policy_error")
        {
            break e;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no policy_error event"
        );
        let _ = server.get("/health");
        std::thread::sleep(Duration::from_millis(200));
    };
    let message = err["message"].as_str().unwrap_or_default();
    let location = format!("{}:3:", sb.policy.display());
    assert!(
        message.contains(&location),
        "names file:line:col: {message}"
    );
    assert!(
        message.contains("keeping the last good policy"),
        "{message}"
    );
}

#[test]
fn a_world_writable_policy_is_refused_when_running_as_root() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } != 0 {
        panic!("this test checks root-only behaviour; run the suite as root (CI does)");
    }
    let sb = Sandbox::new("block", "");
    std::fs::set_permissions(&sb.policy, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = sb
        .command(victim("errno_probe"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("writable by group or others"), "{stderr}");
    assert!(stderr.contains("built-in defaults"), "{stderr}");
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

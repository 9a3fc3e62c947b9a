//! The agent never crashes, hangs or alters a host: early constructors, fork from a busy
//! multi-threaded process, vfork, posix_spawn, the execl family, concurrency, closed stdio,
//! and errno.

use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shim::{Sandbox, Server, enc, victim};

/// Runs `cmd` to completion, failing the test if it takes longer than `limit` (a hang).
fn run_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{cmd:?} hung for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_library_constructor_doing_io_before_ours_works_unchanged() {
    let sb = Sandbox::new("block", "");
    let out = run_within(sb.command(victim("early_ctor")), Duration::from_secs(30));
    let hostname = std::fs::read_to_string("/etc/hostname").expect("hostname");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        hostname,
        "the early open/read returned the real data"
    );
}

#[test]
fn fork_from_sixteen_busy_threads_then_exec_never_hangs() {
    let sb = Sandbox::new("block", "");
    let out = run_within(sb.command(victim("fork_threads")), Duration::from_secs(120));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "ok\n");
}

#[test]
fn vfork_posix_spawn_and_the_execl_family_run_their_children() {
    let sb = Sandbox::new("block", "");
    let out = run_within(sb.command(victim("spawners")), Duration::from_secs(30));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        "vfork-ok\nspawn-ok\nspawnp-ok\nexeclp-ok\nexecle-ok\n"
    );
}

#[test]
fn errno_is_exactly_what_libc_leaves_across_every_family() {
    let plain = run_within(Command::new(victim("errno_probe")), Duration::from_secs(30));
    let sb = Sandbox::new("block", "");
    let hooked = run_within(sb.command(victim("errno_probe")), Duration::from_secs(30));
    assert!(
        plain.status.success() && hooked.status.success(),
        "{plain:?} {hooked:?}"
    );
    assert_eq!(
        stdout(&hooked),
        stdout(&plain),
        "errno differs under the agent"
    );
}

#[test]
fn a_program_with_stdio_closed_runs_unchanged() {
    let sb = Sandbox::new("block", "");
    let report = sb.dir.join("report.txt");
    let mut cmd = sb.command("/bin/sh");
    cmd.arg("-c").arg(format!(
        "exec {} {} <&- >&- 2>&-",
        victim("stdio_closed").display(),
        report.display()
    ));
    let out = run_within(cmd, Duration::from_secs(30));
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&report).expect("report written");
    assert_eq!(
        text, "fd=0 system=0 piped=piped\n",
        "the program's own files are intact"
    );
}

#[test]
fn thirty_two_threads_hitting_sinks_concurrently_get_their_own_verdicts() {
    let sb = Sandbox::new("block", "");
    let mut cmd = sb.command(victim("http_server"));
    cmd.arg(&sb.docroot);
    let server = Arc::new(Server::start(cmd));
    let workers: Vec<_> = (0..32)
        .map(|t| {
            let server = Arc::clone(&server);
            std::thread::spawn(move || {
                for i in 0..6 {
                    let word = format!("w{t}x{i}");
                    let benign = server.get(&format!("/popen?arg={word}"));
                    assert_eq!(
                        benign.body,
                        format!("hello {word}\n"),
                        "benign request {t}/{i}"
                    );
                    let attack = server.get(&format!(
                        "/fopen?arg={}",
                        enc("../../../../../etc/hostname")
                    ));
                    assert!(
                        attack.body.contains("errno=13"),
                        "attack {t}/{i}: {attack:?}"
                    );
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker thread");
    }
    let blocks = sb.detections().len();
    assert!(blocks >= 1, "the attacks were reported");
    assert!(
        sb.detections()
            .iter()
            .all(|e| e["librasp"]["sink"]["function"] == "fopen"),
        "no benign popen was flagged"
    );
}

#[test]
fn rasp_disable_loads_the_agent_but_changes_and_reports_nothing() {
    let sb = Sandbox::new("block", "");
    let plain = run_within(Command::new(victim("errno_probe")), Duration::from_secs(30));
    let mut cmd = sb.command(victim("errno_probe"));
    cmd.env("RASP_DISABLE", "1");
    let disabled = run_within(cmd, Duration::from_secs(30));
    assert_eq!(stdout(&disabled), stdout(&plain));
    let mut flood = sb.command(victim("flood"));
    flood.env("RASP_DISABLE", "1").arg("1");
    let out = run_within(flood, Duration::from_secs(30));
    assert_eq!(stdout(&out), "refused 0\n", "nothing is blocked");
    assert!(
        sb.events().is_empty(),
        "not even agent_start: {:?}",
        sb.events()
    );
}

#[test]
fn rasp_mode_overrides_the_policy_file() {
    let sb = Sandbox::new("monitor", "");
    let mut flood = sb.command(victim("flood"));
    flood.env("RASP_MODE", "block").arg("1");
    let out = run_within(flood, Duration::from_secs(30));
    assert_eq!(stdout(&out), "refused 1\n");
    let start = sb
        .events()
        .into_iter()
        .find(|e| e["event"]["action"] == "agent_start")
        .expect("announced");
    assert_eq!(start["librasp"]["mode"], "block");
}

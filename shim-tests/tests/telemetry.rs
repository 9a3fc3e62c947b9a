//! Telemetry end to end: every output (file, CEF, syslog over UDP, TCP and a local socket to a
//! real rsyslog), log rotation, an attack flood (rate limit and counters), events from forked
//! children, a log that cannot be written, redaction, call stacks and the exit `stats`.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use shim::{Sandbox, Server, enc, victim};

const TRAVERSAL: &str = "../../../../../etc/hostname";

fn attack(server: &Server) -> shim::Response {
    server.get(&format!("/fopen?arg={}", enc(TRAVERSAL)))
}

/// Polls `cond` for up to 10 s.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn detection_events_carry_the_call_stack_and_the_request() {
    let sb = Sandbox::new("block", "");
    let server = sb.c_server();
    attack(&server);
    let ev = sb.wait_detection("traversal", |e| e["librasp"]["detector"] == "path");
    let stack: Vec<&str> = ev["librasp"]["stack"]
        .as_array()
        .map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect());
    assert!(
        stack.iter().any(|f| f.contains("http_server")),
        "the app's own frames: {stack:?}"
    );
    assert!(
        stack.iter().all(|f| !f.contains("librasp.so")),
        "our frames are dropped: {stack:?}"
    );
    assert_eq!(ev["http"]["request"]["method"], "GET");
    assert_eq!(ev["url"]["path"], "/fopen");
    assert_eq!(ev["rule"]["ruleset"], "librasp");
    assert_eq!(ev["threat"]["technique"]["id"], "T1190");
}

#[test]
fn a_forked_child_reports_its_own_events() {
    let sb = Sandbox::new("block", "");
    let server = sb.c_server();
    let r = server.get(&format!("/exec?arg={}", enc("x; id")));
    assert!(r.body.contains("errno=13"), "{r:?}");
    let ev = sb.wait_detection("exec in child", |e| {
        e["librasp"]["sink"]["function"] == "execve"
    });
    let parent = sb
        .events()
        .into_iter()
        .find(|e| {
            e["event"]["action"] == "agent_start"
                && e["process"]["executable"]
                    .as_str()
                    .is_some_and(|x| x.ends_with("http_server"))
        })
        .expect("the server announced itself");
    assert_ne!(
        ev["process"]["pid"], parent["process"]["pid"],
        "written by the child"
    );
    assert_eq!(ev["process"]["parent"]["pid"], parent["process"]["pid"]);
}

#[test]
fn cef_format_writes_cef_lines() {
    let sb = Sandbox::new("block", "");
    // The sandbox's policy has its own [telemetry] table: write the whole policy here.
    std::fs::write(
        &sb.policy,
        format!(
            "mode = \"block\"\n[telemetry]\nformat = \"cef\"\npath = \"{}\"\n",
            sb.events.display()
        ),
    )
    .expect("policy");
    let server = sb.c_server();
    attack(&server);
    eventually("a CEF detection", || {
        std::fs::read_to_string(&sb.events)
            .unwrap_or_default()
            .lines()
            .any(|l| {
                l.starts_with("CEF:0|librasp|librasp|")
                    && l.contains("|path.traversal|")
                    && l.contains("act=block")
            })
    });
}

#[test]
fn redaction_keeps_only_the_matched_span() {
    let sb = Sandbox::new("block", "");
    std::fs::write(
        &sb.policy,
        format!(
            "mode = \"block\"\n[telemetry]\nredact = true\npath = \"{}\"\n",
            sb.events.display()
        ),
    )
    .expect("policy");
    let server = sb.c_server();
    attack(&server);
    let ev = sb.wait_detection("redacted", |e| e["librasp"]["detector"] == "path");
    let arg = ev["librasp"]["sink"]["argument"]
        .as_str()
        .unwrap_or_default();
    assert!(
        arg.starts_with('[') && arg.contains(" bytes]") && arg.contains(TRAVERSAL),
        "{arg}"
    );
    assert!(
        !arg.contains("www/files"),
        "the application's own path is gone: {arg}"
    );
    assert!(
        ev["url"]["query"].is_null() && ev["file"].is_null(),
        "{ev:#}"
    );
}

#[test]
fn a_rotated_log_is_reopened() {
    let sb = Sandbox::new("monitor", "");
    let server = sb.c_server();
    attack(&server);
    sb.wait_detection("first", |_| true);
    let rotated = sb.dir.join("events.jsonl.1");
    std::fs::rename(&sb.events, &rotated).expect("rotate");
    // A different input, so the repeat filter does not hold the second detection back.
    server.get(&format!(
        "/fopen?arg={}",
        enc("../../../../../etc/os-release")
    ));
    eventually("a detection in the new file", || {
        !sb.detections().is_empty()
    });
    assert_eq!(
        read_events(&rotated)
            .iter()
            .filter(|e| e["event"]["kind"] == "alert")
            .count(),
        1
    );
}

fn read_events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn an_attack_flood_is_rate_limited_and_counted_without_affecting_the_app() {
    let sb = Sandbox::new("block", "");
    let out = sb
        .command(victim("flood"))
        .arg("100000")
        .output()
        .expect("flood runs");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "refused 100000\n",
        "every call was refused"
    );
    let detections = sb.detections().len();
    assert!(
        (1..=20).contains(&detections),
        "at most the burst is written: {detections}"
    );
    let stats: Vec<Value> = sb
        .events()
        .into_iter()
        .filter(|e| e["event"]["action"] == "stats")
        .collect();
    let last = stats.last().expect("a stats event at exit");
    assert_eq!(last["librasp"]["stats"]["detections"], 100_000);
    assert_eq!(last["librasp"]["stats"]["blocks"], 100_000);
    let suppressed = last["librasp"]["stats"]["events_suppressed"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        suppressed >= 99_980 - 20,
        "suppressed events are counted: {suppressed}"
    );
}

#[test]
fn an_unwritable_log_falls_back_to_stderr_and_the_app_is_unaffected() {
    let sb = Sandbox::new("block", "");
    std::fs::write(
        &sb.policy,
        "mode = \"block\"\n[telemetry]\npath = \"/proc/librasp-cannot-write/events.jsonl\"\n",
    )
    .expect("policy");
    let out = sb
        .command(victim("flood"))
        .arg("3")
        .stderr(Stdio::piped())
        .output()
        .expect("flood runs");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "refused 3\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"path.traversal\""),
        "the detection reached stderr: {stderr}"
    );
    assert!(
        stderr.contains("\"log_write_errors\":"),
        "the exit stats count the failure: {stderr}"
    );
}

/// A private rsyslogd listening on loopback UDP and TCP and on a local socket, writing every
/// message to a file.
struct Rsyslog {
    child: Child,
    out: PathBuf,
    udp: u16,
    tcp: u16,
    socket: PathBuf,
}

impl Rsyslog {
    fn start(dir: &Path) -> Rsyslog {
        let rsyslogd = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("rsyslog is missing: run `make deps`");
        let udp = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("port")
            .port();
        let tcp = TcpListener::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("port")
            .port();
        let out = dir.join("rsyslog.out");
        let socket = dir.join("log.sock");
        let work = dir.join("rsyslog-work");
        std::fs::create_dir_all(&work).expect("work dir");
        let conf = dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                "global(workDirectory=\"{work}\")\n\
                 module(load=\"imudp\")\nmodule(load=\"imtcp\")\nmodule(load=\"imuxsock\" SysSock.Use=\"off\")\n\
                 input(type=\"imudp\" address=\"127.0.0.1\" port=\"{udp}\")\n\
                 input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{tcp}\")\n\
                 input(type=\"imuxsock\" socket=\"{sock}\" useSpecialParser=\"off\" parseHostname=\"on\")\n\
                 template(name=\"raw\" type=\"string\" string=\"%inputname% %app-name% %msg%\\n\")\n\
                 *.* action(type=\"omfile\" file=\"{out}\" template=\"raw\")\n",
                work = work.display(),
                sock = socket.display(),
                out = out.display(),
            ),
        )
        .expect("rsyslog config");
        let child = Command::new(rsyslogd)
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslog.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rsyslogd starts");
        let rs = Rsyslog {
            child,
            out,
            udp,
            tcp,
            socket,
        };
        eventually("rsyslog listening", || {
            std::net::TcpStream::connect(("127.0.0.1", rs.tcp)).is_ok() && rs.socket.exists()
        });
        rs
    }

    fn received(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn syslog_over_udp_tcp_and_a_local_socket_reaches_a_real_rsyslog() {
    let sb = Sandbox::new("block", "");
    let rs = Rsyslog::start(&sb.dir);
    let targets = [
        ("imudp", format!("udp:127.0.0.1:{}", rs.udp)),
        ("imtcp", format!("tcp:127.0.0.1:{}", rs.tcp)),
        ("imuxsock", format!("unix:{}", rs.socket.display())),
    ];
    for (input, target) in &targets {
        std::fs::write(
            &sb.policy,
            format!(
                "mode = \"block\"\n[telemetry]\nsyslog = \"{target}\"\npath = \"{}\"\n",
                sb.events.display()
            ),
        )
        .expect("policy");
        let out = sb
            .command(victim("flood"))
            .arg("1")
            .output()
            .expect("flood runs");
        assert!(out.status.success(), "{out:?}");
        eventually(&format!("a detection via {input}"), || {
            rs.received().lines().any(|l| {
                l.starts_with(&format!("{input} librasp "))
                    && l.contains("\"rule\":{\"id\":\"path.traversal\"")
            })
        });
    }
}

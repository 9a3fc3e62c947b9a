//! `rasp events` end to end: the built binary on fixture logs — the table, `--rule`, `--since`,
//! `--json`, malformed lines, and `--follow` across appends, rotation and truncation.

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::{Value, json};

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("events-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A detection event as the agent writes it.
fn detection(time: &str, rule: &str, decision: &str, function: &str, value: &str) -> String {
    json!({
        "@timestamp": time,
        "event": { "kind": "alert", "action": "x-blocked", "dataset": "librasp.detection" },
        "rule": { "id": rule, "name": rule, "ruleset": "librasp" },
        "source": { "ip": "203.0.113.7", "port": 40000 },
        "url": { "path": "/search", "query": "q=1" },
        "http": { "request": { "method": "GET" } },
        "process": { "pid": 42, "executable": "/srv/bin/notes-app" },
        "librasp": {
            "decision": decision,
            "mode": "block",
            "sink": { "function": function, "argument": value, "kind": "sql" },
            "input": { "origin": "query.q", "value": value, "span": [0, value.len()] },
            "reason": "because",
            "policy": { "version": "abc" },
        },
    })
    .to_string()
}

fn agent_start(time: &str) -> String {
    json!({
        "@timestamp": time,
        "event": { "kind": "event", "action": "agent_start" },
        "process": { "pid": 42, "executable": "/srv/bin/notes-app" },
    })
    .to_string()
}

/// Four detections (two old, two dated far ahead), an agent start, a blank line and three
/// malformed lines (bad JSON, a JSON array, bad UTF-8).
fn fixture(dir: &Path) -> PathBuf {
    let path = dir.join("events.jsonl");
    let mut log = Vec::new();
    for line in [
        agent_start("2000-01-01T00:00:00Z"),
        detection(
            "2000-01-01T00:00:01.5Z",
            "sqli.tautology",
            "block",
            "sqlite3_prepare_v2",
            "' OR 1=1",
        ),
        "{\"@timestamp\": \"2000-01-01T00:00:02Z\", \"event\": ".to_owned(),
        detection(
            "2000-01-01T00:00:03Z",
            "shell.operator",
            "alert",
            "popen",
            "x; id",
        ),
        String::new(),
        "[1, 2]".to_owned(),
        detection(
            "2999-01-01T00:00:00Z",
            "sqli.comment",
            "block",
            "mysql_query",
            "1 --",
        ),
        detection(
            "2999-01-02T00:00:00+02:00",
            "path.traversal",
            "block",
            "open",
            "../../etc/passwd",
        ),
    ] {
        log.extend_from_slice(line.as_bytes());
        log.push(b'\n');
    }
    log.extend_from_slice(b"\xff\xfe not utf-8\n");
    fs::write(&path, log).unwrap();
    path
}

fn rasp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rasp"))
        .args(args)
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The table rows (without the header).
fn rows(out: &Output) -> Vec<String> {
    stdout(out).lines().skip(1).map(str::to_owned).collect()
}

#[test]
fn table_shows_one_line_per_detection_and_counts_malformed_lines() {
    let dir = scratch("table");
    let log = fixture(&dir);
    let out = rasp(&["events", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let header = text.lines().next().unwrap();
    for column in [
        "TIME", "ACTION", "RULE", "SINK", "SOURCE", "PATH", "INPUT", "EXE",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let rows = rows(&out);
    assert_eq!(rows.len(), 4, "{text}");
    let first = &rows[0];
    for cell in [
        "2000-01-01 00:00:01",
        "block",
        "sqli.tautology",
        "sqlite3_prepare_v2()",
        "203.0.113.7",
        "/search",
        "query.q=' OR 1=1",
        "notes-app",
    ] {
        assert!(first.contains(cell), "{cell:?} missing from {first:?}");
    }
    assert!(rows[1].contains("alert") && rows[1].contains("popen()"));
    // The offset is applied: 2999-01-02T00:00:00+02:00 is 22:00 UTC the day before.
    assert!(rows[3].contains("2999-01-01 22:00:00"), "{}", rows[3]);
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");
    assert!(
        stderr(&out).contains("skipped 3 malformed lines"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rule_filter_takes_an_id_or_a_prefix() {
    let dir = scratch("rule");
    let log = fixture(&dir);
    let out = rasp(&["events", log.to_str().unwrap(), "--rule", "sqli."]);
    let sqli = rows(&out);
    assert_eq!(sqli.len(), 2);
    assert!(sqli.iter().all(|r| r.contains("sqli.")));
    let out = rasp(&["events", log.to_str().unwrap(), "--rule", "shell.operator"]);
    assert_eq!(rows(&out).len(), 1);
}

#[test]
fn since_takes_times_dates_and_durations() {
    let dir = scratch("since");
    let log = fixture(&dir);
    let log = log.to_str().unwrap();
    for (since, expected) in [
        ("2000-01-01T00:00:02Z", 3),
        ("2000-01-01T01:00:00+01:00", 4),
        ("2000-01-02", 2),
        ("2999-01-01T21:00:00Z", 1),
        ("10m", 2),
        ("1d", 2),
    ] {
        let out = rasp(&["events", log, "--since", since]);
        assert!(out.status.success(), "{since}: {}", stderr(&out));
        assert_eq!(rows(&out).len(), expected, "--since {since}");
    }
    let out = rasp(&["events", log, "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("duration ago"), "{}", stderr(&out));
}

#[test]
fn json_mode_prints_the_matching_events_unchanged() {
    let dir = scratch("json");
    let log = fixture(&dir);
    let out = rasp(&["events", log.to_str().unwrap(), "--json", "--rule", "sqli"]);
    assert!(out.status.success());
    let original = fs::read(&log).unwrap();
    let original = String::from_utf8_lossy(&original);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        assert!(
            original.lines().any(|l| l == line),
            "{line} is not a log line"
        );
        let event: Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["event"]["kind"], "alert");
        assert!(event["rule"]["id"].as_str().unwrap().starts_with("sqli"));
    }
    assert!(stderr(&out).contains("skipped 3 malformed lines"));
}

#[test]
fn long_and_hostile_cells_are_cut_and_defused() {
    let dir = scratch("cut");
    let log = dir.join("events.jsonl");
    let value = format!("\x1b]0;pwned\x07\x1b[2J{}", "A".repeat(500));
    fs::write(
        &log,
        detection(
            "2026-01-01T00:00:00Z",
            "shell.operator",
            "block",
            "system",
            &value,
        ) + "\n",
    )
    .unwrap();
    for width in [170, 220] {
        let out = rasp(&[
            "events",
            log.to_str().unwrap(),
            "--width",
            &width.to_string(),
        ]);
        let text = stdout(&out);
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        let row = &rows(&out)[0];
        assert!(row.contains("query.q=\\u{1b}]0;pwned\\u{7}"), "{row}");
        assert!(row.contains("A…"), "{row}");
        assert!(
            row.chars().count() <= width,
            "{} > {width}",
            row.chars().count()
        );
    }
    // $COLUMNS sets the width when --width does not.
    let out = Command::new(env!("CARGO_BIN_EXE_rasp"))
        .args(["events", log.to_str().unwrap()])
        .env("COLUMNS", "150")
        .output()
        .unwrap();
    let row = &rows(&out)[0];
    // The full width, but for the padding after the last cell (`notes-app` in 14 columns).
    assert_eq!(row.chars().count(), 150 - (14 - "notes-app".len()));
}

/// `rasp events --follow --json` on `log`, its output lines sent to the receiver.
fn follow(log: &Path) -> (Child, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rasp"))
        .args(["events", "--follow", "--json", log.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The rule id of the next event `rasp` prints, within a generous delay.
fn next_rule(rx: &Receiver<String>) -> String {
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("rasp events --follow printed nothing");
    let event: Value = serde_json::from_str(&line).unwrap();
    event["rule"]["id"].as_str().unwrap().to_owned()
}

fn append(log: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn event(rule: &str) -> String {
    detection("2026-01-01T00:00:00Z", rule, "block", "popen", "x") + "\n"
}

#[test]
fn follow_survives_rotation_and_truncation() {
    let dir = scratch("follow");
    let log = dir.join("events.jsonl");
    fs::write(&log, event("r.before")).unwrap();
    let (mut child, rx) = follow(&log);
    assert_eq!(next_rule(&rx), "r.before");

    // Appended, including a line written in two pieces.
    append(&log, &event("r.appended"));
    assert_eq!(next_rule(&rx), "r.appended");
    let split = event("r.split");
    let (head, tail) = split.split_at(split.len() / 2);
    append(&log, head);
    std::thread::sleep(Duration::from_millis(600));
    append(&log, tail);
    assert_eq!(next_rule(&rx), "r.split");

    // Rotated like logrotate: renamed away, a new file created in its place.
    fs::rename(&log, dir.join("events.jsonl.1")).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    fs::write(&log, event("r.rotated")).unwrap();
    assert_eq!(next_rule(&rx), "r.rotated");

    // Truncated in place (copytruncate), then written again.
    fs::write(&log, "").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    append(&log, &event("r.truncated"));
    assert_eq!(next_rule(&rx), "r.truncated");

    child.kill().unwrap();
    child.wait().unwrap();
    assert!(rx.try_recv().is_err(), "nothing printed twice");
}

//! `rasp report` end to end: the built binary on a fixture log full of hostile payloads; the
//! page's structure and escaping, then the page as headless Chromium renders it (DOM and a
//! screenshot). Chromium is required: without it the test fails and says how to install it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

/// Would run in the page if any event text escaped into markup.
const SCRIPT: &str = "<script>document.body.setAttribute('data-pwned','1')</script>";
/// An attribute injection in a request path.
const IMG: &str = "/x\"><img src=x onerror=alert(1)>";

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// `YYYY-MM-DDTHH:MM:SSZ` for `seconds` after 2026-11-28T09:00:00Z (within that day and the next).
fn at(seconds: u64) -> String {
    let (day, rest) = (28 + seconds / 86_400, seconds % 86_400);
    let (h, m, s) = (9 + rest / 3_600, rest % 3_600 / 60, rest % 60);
    let (day, h) = if h >= 24 { (day + 1, h - 24) } else { (day, h) };
    format!("2026-11-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

struct Fixture {
    log: PathBuf,
    detections: usize,
    blocked: usize,
}

/// 131 detections over three hours (four rules, five sources, four endpoints, two programs),
/// one of them hostile everywhere; three agent starts, a stats and a policy error event; and a
/// blank line plus three malformed lines.
fn fixture(dir: &Path) -> Fixture {
    let rules = [
        (
            "sqli.tautology",
            "sqli",
            "sqlite3_prepare_v2",
            "/search",
            "block",
        ),
        ("shell.operator", "shell", "popen", "/greet", "block"),
        ("path.traversal", "path", "fopen", "/files", "alert"),
        ("ssrf.private", "ssrf", "connect", "/fetch", "alert"),
    ];
    let mut lines = vec![
        json!({
            "@timestamp": at(0),
            "event": { "kind": "event", "action": "agent_start" },
            "process": { "pid": 100, "executable": "/srv/notes/app" },
            "host": { "name": "web-1" },
            "librasp": { "mode": "block", "policy": { "version": "p1" } },
            "message": "librasp 0.1.0 active (policy file)",
        }),
        json!({
            "@timestamp": at(5),
            "event": { "kind": "event", "action": "agent_start" },
            "process": { "pid": 101, "executable": "/usr/bin/dash" },
            "host": { "name": "web-1" },
            "message": "librasp 0.1.0 active (policy file)",
        }),
        json!({
            "@timestamp": at(6),
            "event": { "kind": "event", "action": "agent_start" },
            "process": { "pid": 102, "executable": format!("/tmp/{IMG}") },
            "message": SCRIPT,
        }),
    ];
    let (mut detections, mut blocked) = (0, 0);
    for i in 0..130u64 {
        let (rule, detector, function, path, decision) = rules[(i % 4) as usize];
        let value = format!("payload-{i}");
        let argument = format!("call({value})");
        lines.push(json!({
            "@timestamp": at(i * 83),
            "event": { "kind": "alert", "action": format!("{detector}-x") },
            "rule": { "id": rule },
            "threat": { "technique": { "id": "T1190" } },
            "source": { "ip": format!("198.51.100.{}", i % 5), "port": 50000 + i },
            "url": { "path": path, "query": format!("q={value}") },
            "http": { "request": { "method": "GET" } },
            "process": { "pid": 100, "executable": "/srv/notes/app" },
            "host": { "name": "web-1" },
            "librasp": {
                "decision": decision, "mode": "block", "detector": detector,
                "reason": format!("input {value} changes the call"),
                "sink": { "function": function, "argument": argument },
                "input": { "origin": "query.q", "value": value, "span": [5, 5 + value.len()] },
                "policy": { "version": "p1" },
            },
        }));
        detections += 1;
        blocked += usize::from(decision == "block");
    }
    // The hostile one, latest of all: markup in every field an attacker or a hostile process
    // could shape.
    let argument = format!("echo {SCRIPT}");
    lines.push(json!({
        "@timestamp": at(3 * 3_600),
        "event": { "kind": "alert" },
        "rule": { "id": "<b>rule</b>" },
        "source": { "ip": "<i>ip</i>", "port": 1 },
        "url": { "path": IMG, "query": "q=</td></tr></table><h1>broken</h1>" },
        "http": { "request": { "method": "<u>GET</u>" } },
        "process": { "pid": 102, "executable": format!("/tmp/{IMG}") },
        "librasp": {
            "decision": "block", "mode": "<s>block</s>", "detector": "shell",
            "reason": format!("input {SCRIPT} adds ' and \" and & to the command"),
            "sink": { "function": "system", "argument": argument },
            "input": { "origin": "json.<name>", "value": SCRIPT, "span": [5, 5 + SCRIPT.len()] },
            "policy": { "version": "{{latest}}" },
        },
    }));
    detections += 1;
    blocked += 1;
    lines.push(json!({
        "@timestamp": at(3 * 3_600 + 60),
        "event": { "kind": "metric", "action": "stats" },
        "message": "counters",
    }));
    lines.push(json!({
        "@timestamp": at(3 * 3_600 + 61),
        "event": { "kind": "event", "action": "policy_error" },
        "message": "policy.toml:3:1: unknown key",
    }));
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        text.push_str(&line.to_string());
        text.push('\n');
        match i {
            10 => text.push_str("{\"@timestamp\": \"2026-11-28T09:00:00Z\", \"ev\n"),
            20 => text.push_str("\n\"just a string\"\n"),
            _ => {}
        }
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"{\"bad utf-8\": \"\xff\"}\n");
    let log = dir.join("events.jsonl");
    fs::write(&log, bytes).unwrap();
    Fixture {
        log,
        detections,
        blocked,
    }
}

/// Runs `rasp report` and returns the page.
fn report(dir: &Path, log: &Path, extra: &[&str]) -> (String, Output) {
    let page = dir.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_rasp"))
        .arg("report")
        .arg(log)
        .arg("-o")
        .arg(&page)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (fs::read_to_string(&page).unwrap(), out)
}

/// The text of the section `id="…"`, up to the next section.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no id=\"{id}\""));
    let rest = &page[start..];
    let end = rest.find("</section>").unwrap_or(rest.len());
    &rest[..end]
}

/// The number in the summary card `id`.
fn card(page: &str, id: &str) -> usize {
    let card = section(page, &format!("count-{id}"));
    let value = &card[card.find("class=\"value\">").unwrap() + "class=\"value\">".len()..];
    value[..value.find('<').unwrap()].parse().unwrap()
}

/// Asserts that no hostile markup became markup, in the page or in Chromium's DOM.
fn assert_no_injection(html: &str) {
    let lower = html.to_lowercase();
    for bad in [
        "<script",
        "<img",
        "<b>rule",
        "<i>ip",
        "<u>get",
        "<s>block",
        "<h1>broken",
        "<name>",
        "data-pwned=\"1\"",
    ] {
        assert!(!lower.contains(bad), "{bad} was not escaped");
    }
}

#[test]
fn report_summarises_and_escapes_everything() {
    let dir = scratch("static");
    let fixture = fixture(&dir);
    let (page, out) = report(&dir, &fixture.log, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipped 3 malformed lines"), "{stderr}");

    for id in [
        "summary",
        "timeline",
        "by-rule",
        "by-endpoint",
        "by-source",
        "by-program",
        "agent-events",
        "latest",
    ] {
        assert!(page.contains(&format!("<section id=\"{id}\">")), "no {id}");
    }
    assert_eq!(card(&page, "detections"), fixture.detections);
    assert_eq!(card(&page, "blocked"), fixture.blocked);
    assert_eq!(card(&page, "alerted"), fixture.detections - fixture.blocked);
    assert_eq!(card(&page, "processes"), 3);
    assert!(section(&page, "malformed").starts_with("id=\"malformed\" class=\"warn\">3<"));

    // Self-contained: no script, nothing fetched.
    assert_no_injection(&page);
    for external in ["src=\"", "<link", "href=\"http", "url(", "@import"] {
        assert!(!page.contains(external), "{external}");
    }
    assert!(page.contains("Content-Security-Policy"));

    // Hostile text is shown, as text.
    assert!(page.contains(
        "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;"
    ));
    assert!(page.contains("/x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("&lt;b&gt;rule&lt;/b&gt;"));
    assert!(
        page.contains("<code>{{latest}}</code>"),
        "placeholders in values stay text"
    );
    // The matched span is highlighted in the sink argument, escaped.
    assert!(page.contains(
        "<span class=\"arg\">echo <mark>&lt;script&gt;document.body.setAttribute(\
         &#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;</mark></span>"
    ));
    assert!(page.contains("<span class=\"arg\">call(<mark>payload-129</mark>)</span>"));

    // Tables: four rules, the hostile one; 100 latest detections, newest (the hostile one) first.
    let by_rule = section(&page, "by-rule");
    assert_eq!(by_rule.matches("<tr>").count(), 1 + 5);
    let latest = section(&page, "latest");
    assert_eq!(latest.matches("<tbody class=\"event ").count(), 100);
    let first = latest.find("<tbody class=\"event ").unwrap();
    let newest = &latest[first..];
    let newest = &newest[..newest.find("</tr>").unwrap()];
    assert!(newest.starts_with("<tbody class=\"event blocked\">"));
    assert!(newest.contains("2026-11-28</span> 12:00:00"), "{newest}");
    let by_program = section(&page, "by-program");
    assert!(by_program.contains("<span class=\"prog\">dash</span>"));
    let agent = section(&page, "agent-events");
    for action in ["agent_start", "policy_error", "stats"] {
        assert!(
            agent.contains(&format!("<code>{action}</code>")),
            "{action}"
        );
    }

    // The chart: stacked bars, at most 60, in 5-minute buckets over three hours.
    let timeline = section(&page, "timeline");
    assert!(timeline.contains("<svg"));
    let bars = timeline.matches("<g class=\"bucket\">").count();
    assert!((30..=37).contains(&bars), "{bars} bars");
    assert!(timeline.contains("one bar per 5 minutes"));

    let (page, _) = report(&dir, &fixture.log, &["--latest", "7"]);
    let latest = section(&page, "latest");
    assert_eq!(latest.matches("<tbody class=\"event ").count(), 7);
    assert!(latest.contains("The 7 most recent of 131 detections"));
}

#[test]
fn empty_log_gives_an_empty_report() {
    let dir = scratch("empty");
    let log = dir.join("events.jsonl");
    fs::write(&log, "").unwrap();
    let (page, _) = report(&dir, &log, &[]);
    assert_eq!(card(&page, "detections"), 0);
    assert!(section(&page, "timeline").contains("No timed detections"));
    assert!(section(&page, "latest").contains("No detections in this log."));
}

/// The Chromium binary, or a failure that says how to get it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("chromium missing: run make deps"))
}

/// Runs headless Chromium on `page` with `args` and a profile directory named `run`; its
/// stdout (through a file: a pipe would fill up while the run is timed).
fn headless(dir: &Path, run: &str, page: &Path, args: &[&str]) -> String {
    let profile = dir.join(run);
    let stdout = dir.join(format!("{run}.out"));
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("chromium did not finish within 2 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium failed: {status}");
    fs::read_to_string(&stdout).unwrap()
}

#[test]
fn report_renders_in_chromium() {
    let dir = scratch("chromium");
    let fixture = fixture(&dir);
    report(&dir, &fixture.log, &[]);
    let page = dir.join("report.html");

    let dom = headless(&dir, "dom", &page, &["--dump-dom"]);
    assert!(dom.contains("<body"), "no DOM dumped");
    assert_no_injection(&dom);
    assert!(!dom.contains("data-pwned=\"1\""), "a payload's script ran");
    let timeline = section(&dom, "timeline");
    let svg = &timeline[timeline.find("<svg").expect("no chart")..];
    assert!(svg.matches("<rect class=\"bar blocked\"").count() >= 20);
    assert!(svg.matches("<rect class=\"bar alerted\"").count() >= 20);
    let latest = section(&dom, "latest");
    assert_eq!(latest.matches("<tbody class=\"event ").count(), 100);
    assert_eq!(latest.matches("<tr class=\"what\">").count(), 100);
    assert!(section(&dom, "by-rule").contains("sqli.tautology"));

    let png = dir.join("report.png");
    headless(
        &dir,
        "screenshot",
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
            "--hide-scrollbars",
        ],
    );
    let image = fs::read(&png).expect("no screenshot");
    assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let (width, height) = (&image[16..20], &image[20..24]);
    assert_eq!(u32::from_be_bytes(width.try_into().unwrap()), 1280);
    assert_eq!(u32::from_be_bytes(height.try_into().unwrap()), 2000);
    assert!(
        image.len() > 50_000,
        "a {} byte screenshot is blank",
        image.len()
    );
}

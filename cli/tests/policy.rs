//! `rasp policy check|default|explain` end to end, and the example policies.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rasp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rasp"))
        .args(args)
        .output()
        .expect("rasp runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("policy-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies")
}

#[test]
fn every_example_policy_is_accepted() {
    let mut names = Vec::new();
    for entry in fs::read_dir(examples()).expect("examples/policies") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = fs::read_to_string(&path).expect("readable");
            if let Err(e) = policy::Policy::from_toml(&text) {
                panic!("{}: {e} at {:?}", path.display(), e.location);
            }
            let out = rasp(&["policy", "check", path.to_str().expect("utf-8")]);
            assert!(out.status.success(), "{}: {}", path.display(), stdout(&out));
            assert!(stdout(&out).ends_with(": ok\n"));
            names.push(
                path.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "cgi-host.toml",
            "default.toml",
            "strict-web.toml",
            "tuned.toml"
        ]
    );
}

#[test]
fn default_prints_the_commented_default_policy() {
    let out = rasp(&["policy", "default"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("# What the agent does with findings"));
    let parsed = policy::Policy::from_toml(&text).expect("round-trips");
    assert_eq!(parsed, policy::Policy::default());
    let example = fs::read_to_string(examples().join("default.toml")).expect("default.toml");
    assert_eq!(
        example, text,
        "examples/policies/default.toml is `rasp policy default`"
    );
}

#[test]
fn check_reports_file_line_col_and_hint() {
    let dir = scratch("check");
    let file = dir.join("bad.toml");
    fs::write(
        &file,
        "mode = \"block\"\n\n[detectors.sqli]\nenabeld = true\n",
    )
    .expect("write");
    let out = rasp(&["policy", "check", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let want = format!("{}:4:1: unknown field `enabeld`", file.display());
    assert!(text.starts_with(&want), "{text}");
    assert!(
        text.contains("\n  hint: did you mean `enabled`?\n"),
        "{text}"
    );

    // Problems found after parsing are all listed.
    fs::write(
        &file,
        "[[allow]]\ncomment = \"x\"\n\n[[rule]]\nid = \"r\"\n",
    )
    .expect("write");
    let out = rasp(&["policy", "check", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("bad.toml:1:1: allow entry sets no match field"));
    assert!(lines[1].contains("bad.toml:4:1: rule `r` must set exactly one of"));

    let out = rasp(&["policy", "check", "/nonexistent/policy.toml"]);
    assert_eq!(out.status.code(), Some(2));
}

const EXPLAIN_POLICY: &str = r#"
mode = "block"

[[allow]]
id = "sort-ok"
origin = "query.sort"

[[rule]]
id = "no-shell"
deny_exec = ["sh"]
response = "kill"

[detectors.shell]
response = "respond-403"

[program."*nginx"]
mode = "monitor"
"#;

fn explain_setup(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let policy = dir.join("policy.toml");
    fs::write(&policy, EXPLAIN_POLICY).expect("write");
    let request = dir.join("request.http");
    fs::write(
        &request,
        "GET /tools/ping?host=x%3B%20id&sort=name%2C%20id HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .expect("write");
    (policy, request)
}

#[test]
fn explain_shows_every_step_of_a_block() {
    let (policy, request) = explain_setup("explain-shell");
    let out = rasp(&[
        "policy",
        "explain",
        policy.to_str().expect("utf-8"),
        "--request",
        request.to_str().expect("utf-8"),
        "--sink",
        "shell",
        "--arg",
        "ping -c 1 x; id",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    for line in [
        "mode: block",
        "request: GET /tools/ping?host=x%3B%20id&sort=name%2C%20id",
        "  query.host = \"x; id\"",
        "sink: shell system(\"ping -c 1 x; id\")",
        "  shell.operator [shell] confidence high: ",
        "    input query.host = \"x; id\"\n    span 10..15",
        "  no-shell [rule] confidence high: system() runs `/bin/sh`",
        "rules: `no-shell`",
        "decision: block",
        "response: respond-403",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let in_sink = text
        .split_once("inputs in sink argument:\n")
        .and_then(|(_, rest)| rest.split_once("findings:"))
        .map(|(section, _)| section)
        .expect("sections");
    assert_eq!(in_sink, "  path[1] = \"ping\"\n  query.host = \"x; id\"\n");
}

#[test]
fn explain_shows_allow_hits_and_program_sections() {
    let (policy, request) = explain_setup("explain-sql");
    let out = rasp(&[
        "policy",
        "explain",
        policy.to_str().expect("utf-8"),
        "--request",
        request.to_str().expect("utf-8"),
        "--sink",
        "sql",
        "--dialect",
        "sqlite",
        "--arg",
        "SELECT * FROM t ORDER BY name, id",
        "--program",
        "/usr/sbin/nginx",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    for line in [
        "mode: monitor",
        "program: /usr/sbin/nginx (sections: `*nginx`)",
        "  query.sort = \"name, id\"",
        "findings:\n  (none)",
        "decision: allow",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }

    // An argv exec: the first --arg is the program, and an allow entry exempting the finding.
    let out = rasp(&[
        "policy",
        "explain",
        policy.to_str().expect("utf-8"),
        "--request",
        request.to_str().expect("utf-8"),
        "--sink",
        "exec",
        "--arg",
        "/bin/ls",
        "--arg",
        "-l",
        "--arg",
        "x; id",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("sink: exec execve(\"/bin/ls\", \"-l\", \"x; id\")"),
        "{text}"
    );

    // connect: the address and the resolved host name.
    let out = rasp(&[
        "policy",
        "explain",
        policy.to_str().expect("utf-8"),
        "--request",
        request.to_str().expect("utf-8"),
        "--sink",
        "connect",
        "--arg",
        "169.254.169.254:80",
        "--host",
        "metadata",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("sink: connect connect(169.254.169.254:80, host \"metadata\")"));
    assert!(text.contains("ssrf.cloud-metadata [ssrf]"), "{text}");
    assert!(
        text.contains("decision: block\nresponse: deny (errno 13 EACCES)"),
        "{text}"
    );
}

#[test]
fn explain_reports_an_allow_entry_that_dropped_a_finding() {
    let dir = scratch("explain-allow");
    let policy = dir.join("policy.toml");
    fs::write(
        &policy,
        "mode = \"block\"\n[[allow]]\nid = \"ping-tool\"\nurl_path = \"/tools\"\n",
    )
    .expect("write");
    let request = dir.join("request.http");
    fs::write(&request, "GET /tools/ping?host=x%3B%20id HTTP/1.1\r\n\r\n").expect("write");
    let out = rasp(&[
        "policy",
        "explain",
        policy.to_str().expect("utf-8"),
        "--request",
        request.to_str().expect("utf-8"),
        "--sink",
        "shell",
        "--arg",
        "ping -c 1 x; id",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("allow-list:\n  allowed by `ping-tool`:\n  shell.operator [shell]"),
        "{text}"
    );
    assert!(text.contains("decision: allow"), "{text}");
}

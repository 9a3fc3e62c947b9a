//! The engine under a policy: allow entries field by field, static rules, actions, responses,
//! and raw correlation for traffic that is not HTTP.

use policy::engine::RequestContext;
use policy::{Action, Decision, DetectorKind, Engine, Policy, Response, Sink, SqlDialect};

fn engine(text: &str) -> Engine {
    Engine::new(Policy::from_toml(text).unwrap_or_else(|e| panic!("{e}")))
}

fn request(engine: &Engine, target: &str) -> RequestContext {
    engine.context(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
}

/// A shell injection through `query.host` on `target`.
fn shell_attack(engine: &Engine, target: &str) -> Decision {
    let req = request(engine, target);
    let sink = Sink::Shell {
        function: "system",
        command: "ping -c 1 x; id",
    };
    engine.decide(&sink, &[&req])
}

const SHELL_TARGET: &str = "/tools/ping?host=x%3B%20id";

fn allowed_by(d: &Decision) -> Vec<&str> {
    d.allowed.iter().map(|a| a.by.as_str()).collect()
}

#[test]
fn without_allow_entries_the_attack_blocks_with_deny_eacces() {
    let e = engine("mode = \"block\"\n");
    let d = shell_attack(&e, SHELL_TARGET);
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.response, Response::Deny { errno: 13 });
    assert_eq!(d.request, Some(0));
    assert!(d.allowed.is_empty());
}

#[test]
fn allow_fields_on_the_finding_and_request() {
    let exempt = [
        "detector = \"shell\"",
        "rule = \"shell.operator\"",
        "rule = \"shell.\"",
        "sink = \"shell\"",
        "url_path = \"/tools\"",
        "url_path = \"/tools/*\"",
        "origin = \"query.host\"",
        "origin = \"query.*\"",
        "detector = \"shell\"\nsink = \"shell\"\norigin = \"query.host\"",
    ];
    for fields in exempt {
        let e = engine(&format!(
            "mode = \"block\"\n[[allow]]\nid = \"x\"\n{fields}\n"
        ));
        let d = shell_attack(&e, SHELL_TARGET);
        assert_eq!(d.action, Action::Allow, "{fields}");
        assert_eq!(allowed_by(&d), ["x"], "{fields}");
        assert!(d.findings.is_empty());
    }
    let not_exempt = [
        "detector = \"sqli\"",
        "rule = \"shell.op\"",
        "rule = \"sqli.\"",
        "sink = \"exec\"",
        "url_path = \"/tool\"",
        "url_path = \"/admin/*\"",
        "origin = \"query.hos\"",
        "origin = \"cookie.*\"",
        // Every given field must match.
        "detector = \"shell\"\norigin = \"query.other\"",
        // Fields about other sink families never match a shell call.
        "file = \"**\"",
        "executable = \"*\"",
        "destination = \"0.0.0.0/0\"",
        "port = 80",
    ];
    for fields in not_exempt {
        let e = engine(&format!("mode = \"block\"\n[[allow]]\n{fields}\n"));
        let d = shell_attack(&e, SHELL_TARGET);
        assert_eq!(d.action, Action::Block, "{fields}");
        assert!(d.allowed.is_empty(), "{fields}");
    }
}

#[test]
fn url_path_is_normalised_before_matching() {
    let e = engine("mode = \"block\"\n[[allow]]\nurl_path = \"/static\"\n");
    // `/static/..%2ftools/ping` is `/tools/ping`: not exempt.
    let d = shell_attack(&e, "/static/..%2ftools/ping?host=x%3B%20id");
    assert_eq!(d.action, Action::Block);
    let d = shell_attack(&e, "/static/ping?host=x%3B%20id");
    assert_eq!(d.action, Action::Allow);
    assert_eq!(allowed_by(&d), ["allow[0]"]);
}

#[test]
fn allow_executable_file_destination_port() {
    let e = engine(
        r#"
mode = "block"
[[allow]]
id = "convert"
executable = "convert"
[[allow]]
id = "uploads"
file = "/srv/uploads/**"
[[allow]]
id = "internal-api"
destination = "10.0.0.0/8"
port = 8080
[[allow]]
id = "named"
destination = "*.corp.example"
"#,
    );
    // exec: command injection via the executable itself.
    let req = request(&e, "/x?cmd=%2Fusr%2Fbin%2Fconvert");
    let argv = vec!["/usr/bin/convert".to_owned()];
    let exec = Sink::Exec {
        function: "execve",
        path: "/usr/bin/convert",
        argv: &argv,
    };
    let d = e.decide(&exec, &[&req]);
    assert_eq!(allowed_by(&d), ["convert"], "{d:?}");

    // open: traversal that stays inside the allowed tree is exempt, one that leaves is not.
    let req = request(&e, "/x?f=..%2Fb%2Fc.png");
    let inside = Sink::Open {
        function: "open",
        path: "/srv/uploads/a/../b/c.png",
        write: false,
    };
    let d = e.decide(&inside, &[&req]);
    assert!(d.action == Action::Allow, "{d:?}");
    let req = request(&e, "/x?f=..%2F..%2Fetc%2Fpasswd");
    let outside = Sink::Open {
        function: "open",
        path: "/srv/uploads/../../etc/passwd",
        write: false,
    };
    let d = e.decide(&outside, &[&req]);
    assert_eq!(d.action, Action::Block, "{d:?}");

    // connect: SSRF to an internal address.
    let req = request(&e, "/x?url=http%3A%2F%2F10.1.2.3%3A8080%2F");
    let connect = |port, host| Sink::Connect {
        addr: "10.1.2.3".parse().expect("ip"),
        port,
        host,
    };
    let d = e.decide(&connect(8080, None), &[&req]);
    assert_eq!(allowed_by(&d), ["internal-api"], "{d:?}");
    let d = e.decide(&connect(22, None), &[&req]);
    assert_eq!(d.action, Action::Block, "{d:?}");
    let req = request(&e, "/x?url=http%3A%2F%2Fdb.corp.example%2F");
    let d = e.decide(&connect(22, Some("db.corp.example")), &[&req]);
    assert_eq!(allowed_by(&d), ["named"], "{d:?}");
}

#[test]
fn allow_program_needs_the_engine_to_know_the_program() {
    let text = "mode = \"block\"\n[[allow]]\nid = \"p\"\nprogram = \"/usr/sbin/nginx\"\n";
    let policy = Policy::from_toml(text).expect("valid");
    let d = shell_attack(&Engine::new(policy.clone()), SHELL_TARGET);
    assert_eq!(d.action, Action::Block);
    let d = shell_attack(&Engine::for_program(&policy, "/usr/bin/php"), SHELL_TARGET);
    assert_eq!(d.action, Action::Block);
    let nginx = Engine::for_program(&policy, "/usr/sbin/nginx");
    assert_eq!(nginx.program(), Some("/usr/sbin/nginx"));
    let d = shell_attack(&nginx, SHELL_TARGET);
    assert_eq!(allowed_by(&d), ["p"]);
}

const RULES: &str = r#"
mode = "block"

[[rule]]
id = "no-shell"
deny_exec = ["sh", "bash", "/usr/bin/python*"]
message = "the web server never starts a shell"

[[rule]]
id = "no-shadow"
action = "alert"
deny_open = ["/etc/shadow"]

[[rule]]
id = "egress"
egress_allow = ["10.0.0.0/8:5432", "127.0.0.53:53"]
response = "drop-connection"

[[rule]]
id = "libs"
dlopen_allow_dirs = ["/usr/lib", "/opt/app/lib"]
errno = "EPERM"
"#;

fn rule_ids(d: &Decision) -> Vec<&str> {
    d.findings
        .iter()
        .filter(|f| f.detector == DetectorKind::Rule)
        .map(|f| f.rule_id.as_ref())
        .collect()
}

#[test]
fn rules_fire_without_any_input() {
    let e = engine(RULES);
    let decide = |sink: Sink<'_>| e.decide(&sink, &[]);

    let argv = vec!["bash".to_owned(), "-c".to_owned(), "true".to_owned()];
    let d = decide(Sink::Exec {
        function: "execvp",
        path: "bash",
        argv: &argv,
    });
    assert_eq!(rule_ids(&d), ["no-shell"]);
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.findings[0].reason, "the web server never starts a shell");
    assert_eq!(d.request, None);
    let d = decide(Sink::Shell {
        function: "popen",
        command: "ls",
    });
    assert_eq!(rule_ids(&d), ["no-shell"]);
    let d = decide(Sink::Exec {
        function: "execve",
        path: "/usr/bin/python3.12",
        argv: &argv,
    });
    assert_eq!(rule_ids(&d), ["no-shell"]);
    let d = decide(Sink::Exec {
        function: "execve",
        path: "/usr/bin/convert",
        argv: &argv,
    });
    assert_eq!(d.action, Action::Allow);

    let open = |path| Sink::Open {
        function: "open",
        path,
        write: false,
    };
    let d = decide(open("/var/../etc//shadow"));
    assert_eq!(rule_ids(&d), ["no-shadow"]);
    assert_eq!(d.action, Action::Alert);
    assert_eq!(decide(open("/etc/passwd")).action, Action::Allow);

    let connect = |addr: &str, port| Sink::Connect {
        addr: addr.parse().expect("ip"),
        port,
        host: None,
    };
    assert_eq!(decide(connect("10.9.9.9", 5432)).action, Action::Allow);
    assert_eq!(
        decide(connect("::ffff:10.9.9.9", 5432)).action,
        Action::Allow
    );
    assert_eq!(decide(connect("127.0.0.53", 53)).action, Action::Allow);
    let d = decide(connect("93.184.216.34", 443));
    assert_eq!(rule_ids(&d), ["egress"]);
    assert_eq!(d.response, Response::DropConnection);
    assert!(d.findings[0].reason.contains("93.184.216.34:443"));

    let dl = |path| Sink::Dlopen { path };
    assert_eq!(
        decide(dl("/usr/lib/x86_64-linux-gnu/libm.so.6")).action,
        Action::Allow
    );
    assert_eq!(decide(dl("libssl.so.3")).action, Action::Allow);
    let d = decide(dl("/opt/app/lib/../../../tmp/evil.so"));
    assert_eq!(rule_ids(&d), ["libs"]);
    assert_eq!(d.response, Response::Deny { errno: 1 });
    assert_eq!(rule_ids(&decide(dl("./evil.so"))), ["libs"]);
}

#[test]
fn monitor_mode_never_blocks_rules_or_detectors() {
    let text = RULES.replace("mode = \"block\"", "mode = \"monitor\"")
        + "[detectors.shell]\naction = \"block\"\n";
    let e = engine(&text);
    let argv = vec!["/bin/sh".to_owned()];
    let exec = Sink::Exec {
        function: "execve",
        path: "/bin/sh",
        argv: &argv,
    };
    assert_eq!(e.decide(&exec, &[]).action, Action::Alert);
    assert_eq!(shell_attack(&e, SHELL_TARGET).action, Action::Alert);
}

#[test]
fn a_rule_can_be_exempted_by_id() {
    let e = engine(&format!(
        "{RULES}\n[[allow]]\nid = \"ok\"\nrule = \"egress\"\nport = 443\n"
    ));
    let connect = Sink::Connect {
        addr: "93.184.216.34".parse().expect("ip"),
        port: 443,
        host: None,
    };
    let d = e.decide(&connect, &[]);
    assert_eq!(d.action, Action::Allow);
    assert_eq!(allowed_by(&d), ["ok"]);
    assert_eq!(d.allowed[0].finding.rule_id, "egress");
}

#[test]
fn responses_follow_the_deciding_finding() {
    let cases = [
        ("response = \"drop-connection\"", Response::DropConnection),
        ("response = \"respond-403\"", Response::Respond403),
        ("response = \"kill\"", Response::Kill),
        (
            "response = \"deny\"\nerrno = \"EPERM\"",
            Response::Deny { errno: 1 },
        ),
        ("errno = 38", Response::Deny { errno: 38 }),
        ("", Response::Deny { errno: 13 }),
    ];
    for (keys, want) in cases {
        let e = engine(&format!("mode = \"block\"\n[detectors.shell]\n{keys}\n"));
        let d = shell_attack(&e, SHELL_TARGET);
        assert_eq!(d.action, Action::Block, "{keys}");
        assert_eq!(d.response, want, "{keys}");
    }
}

#[test]
fn hybrid_blocks_high_confidence_rule_findings() {
    let e = engine("mode = \"hybrid\"\n[[rule]]\nid = \"r\"\ndeny_open = [\"/etc/shadow\"]\n");
    let open = Sink::Open {
        function: "open",
        path: "/etc/shadow",
        write: false,
    };
    let d = e.decide(&open, &[]);
    // The rule blocks; the default sensitive-files finding (alert) is reported too.
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.findings[0].rule_id, "r");
    assert!(
        d.findings
            .iter()
            .any(|f| f.detector == DetectorKind::SensitiveFiles)
    );
}

#[test]
fn sql_findings_exempted_for_one_form_field_of_one_page() {
    let e = engine(
        "mode = \"block\"\n[[allow]]\nid = \"report\"\ndetector = \"sqli\"\n\
         url_path = \"/admin/report\"\norigin = \"form.q\"\n",
    );
    let body = "q=1+OR+1%3D1";
    let raw = format!(
        "POST /admin/report HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let req = e.context(raw.as_bytes());
    let sql = Sink::Sql {
        function: "sqlite3_prepare_v2",
        dialect: SqlDialect::Sqlite,
        query: "SELECT * FROM t WHERE id = 1 OR 1=1",
    };
    let d = e.decide(&sql, &[&req]);
    assert_eq!(d.action, Action::Allow, "{d:?}");
    assert_eq!(allowed_by(&d), ["report"]);
    assert_eq!(d.allowed[0].finding.detector, DetectorKind::Sqli);
    // The same input on another page is still blocked.
    let other = e.context(raw.replace("/admin/report", "/search").as_bytes());
    assert_eq!(e.decide(&sql, &[&other]).action, Action::Block);
}

/// A custom TCP protocol (not HTTP): the bytes the process received are correlated with each
/// sink's arguments, so a payload that crosses into a shell command, an argv option or a
/// path is still caught, and attributed to the `raw` origin.
#[test]
fn raw_correlation_protects_a_non_http_protocol() {
    let e = engine("mode = \"block\"\n");
    let req = e.context(
        b"\x02JOB\x00host=x; cat /etc/hostname\x00out=--output=/tmp/rasp-x\x00\
          file=../../../../etc/hostname\x03",
    );
    assert!(req.http.is_none());
    let argv: Vec<String> = ["curl", "--output=/tmp/rasp-x", "http://example.org/"]
        .map(String::from)
        .into();
    let sinks = [
        (
            Sink::Shell {
                function: "system",
                command: "ping -c 1 x; cat /etc/hostname",
            },
            DetectorKind::Shell,
            "x; cat /etc/hostname",
        ),
        (
            Sink::Exec {
                function: "execve",
                path: "/usr/bin/curl",
                argv: &argv,
            },
            DetectorKind::Command,
            "--output=/tmp/rasp-x",
        ),
        (
            Sink::Open {
                function: "open",
                path: "/srv/jobs/files/../../../../etc/hostname",
                write: false,
            },
            DetectorKind::Path,
            "../../../../etc/hostname",
        ),
    ];
    for (sink, detector, value) in sinks {
        let d = e.decide(&sink, &[&req]);
        assert_eq!(d.action, Action::Block, "{sink:?}: {d:?}");
        let f = &d.findings[0];
        assert_eq!(f.detector, detector, "{f:?}");
        let input = f.input.as_ref().expect("an input");
        assert_eq!(
            (input.origin.as_str(), input.value.as_str()),
            ("raw", value)
        );
    }
}

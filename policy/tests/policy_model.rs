//! The policy model: every key parses, errors carry line:col and hints, program sections merge.

use std::net::IpAddr;
use std::path::PathBuf;

use policy::config::{DetectorAction, EventFormat, PolicyError, SyslogTarget};
use policy::finding::DetectorKind;
use policy::pattern::EgressTarget;
use policy::response::{Errno, ResponseKind};
use policy::rules::RuleAction;
use policy::sink::SinkKind;
use policy::{Mode, Policy};

fn parse(text: &str) -> Policy {
    Policy::from_toml(text).unwrap_or_else(|e| panic!("{e} at {:?}", e.location))
}

fn error(text: &str) -> PolicyError {
    match Policy::from_toml(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

const EVERY_KEY: &str = r#"
mode = "hybrid"

[telemetry]
path = "/tmp/ev.jsonl"
stderr = true
queue = 10
redact = true
max_field_bytes = 100
syslog = "udp:127.0.0.1:514"
format = "cef"
stats_interval_secs = 0
rate_limit = { burst = 5, per_secs = 10 }

[capture]
buffer_bytes = 1024
window_ms = 10
window_requests = 2

[extraction]
max_inputs = 7
max_depth = 3
max_total_bytes = 99
raw_min_match = 12

[detectors.sqli]
enabled = false
action = "block"
min_input_len = 4
response = "respond-403"

[detectors.shell]
action = "ignore"
response = "deny"
errno = "EPERM"

[detectors.command]
min_input_len = 5
errno = 1

[detectors.path]
action = "alert"
response = "drop-connection"

[detectors.ssrf]
internal_ranges = ["10.0.0.0/8"]
metadata_addresses = ["169.254.169.254"]
response = "kill"

[detectors.sensitive_files]
paths = ["/etc/secret"]
action = "block"

[detectors.dlopen]
enabled = false

[[allow]]
id = "a1"
comment = "reviewed"
detector = "sqli"
rule = "sqli."
sink = "sql"
url_path = "/admin/*"
origin = "query.sort"
executable = "convert"
file = "/srv/**"
destination = "10.0.0.0/8"
port = 5432
program = "*/php-fpm*"

[[rule]]
id = "r1"
message = "no shells"
action = "alert"
response = "deny"
errno = "ENOENT"
deny_exec = ["sh", "/usr/bin/*sh"]

[[rule]]
id = "r2"
deny_open = ["/etc/shadow"]

[[rule]]
id = "r3"
egress_allow = ["10.0.0.0/8:5432", "*:53"]

[[rule]]
id = "r4"
dlopen_allow_dirs = ["/usr/lib"]

[program."/usr/sbin/nginx"]
mode = "block"
"#;

#[test]
fn every_key_parses() {
    let p = parse(EVERY_KEY);
    assert_eq!(p.mode, Mode::Hybrid);
    let t = &p.telemetry;
    assert_eq!(t.path, PathBuf::from("/tmp/ev.jsonl"));
    assert!(t.stderr && t.redact);
    assert_eq!(
        (t.queue, t.max_field_bytes, t.stats_interval_secs),
        (10, 100, 0)
    );
    assert_eq!(
        t.syslog,
        Some(SyslogTarget::Udp {
            host: "127.0.0.1".into(),
            port: 514
        })
    );
    assert_eq!(t.format, EventFormat::Cef);
    assert_eq!((t.rate_limit.burst, t.rate_limit.per_secs), (5, 10));
    assert_eq!(
        (
            p.capture.buffer_bytes,
            p.capture.window_ms,
            p.capture.window_requests
        ),
        (1024, 10, 2)
    );
    let x = &p.extraction;
    assert_eq!(
        (
            x.max_inputs,
            x.max_depth,
            x.max_total_bytes,
            x.raw_min_match
        ),
        (7, 3, 99, 12)
    );
    let d = &p.detectors;
    assert!(!d.sqli.enabled);
    assert_eq!(d.sqli.action, Some(DetectorAction::Block));
    assert_eq!(d.sqli.min_input_len, 4);
    assert_eq!(d.sqli.response, Some(ResponseKind::Respond403));
    assert_eq!(d.shell.action, Some(DetectorAction::Ignore));
    assert_eq!(d.shell.errno, Some(Errno(1)));
    assert_eq!(d.command.errno, Some(Errno(1)));
    assert_eq!(d.command.min_input_len, 5);
    assert_eq!(d.path.response, Some(ResponseKind::DropConnection));
    assert_eq!(d.ssrf.internal_ranges.len(), 1);
    assert_eq!(
        d.ssrf.metadata_addresses,
        vec!["169.254.169.254".parse::<IpAddr>().expect("ip")]
    );
    assert_eq!(d.ssrf.response, Some(ResponseKind::Kill));
    assert_eq!(d.sensitive_files.paths, vec!["/etc/secret"]);
    assert_eq!(d.sensitive_files.action, Some(DetectorAction::Block));
    assert!(!d.dlopen.enabled);

    let [a] = p.allow.as_slice() else {
        panic!("one allow entry")
    };
    assert_eq!(a.id.as_deref(), Some("a1"));
    assert_eq!(a.comment.as_deref(), Some("reviewed"));
    assert_eq!(a.detector, Some(DetectorKind::Sqli));
    assert_eq!(a.rule.as_deref(), Some("sqli."));
    assert_eq!(a.sink, Some(SinkKind::Sql));
    assert_eq!(
        a.url_path.as_ref().map(ToString::to_string).as_deref(),
        Some("/admin/*")
    );
    assert_eq!(a.origin.as_ref().map(|o| o.as_str()), Some("query.sort"));
    assert_eq!(a.executable.as_ref().map(|o| o.as_str()), Some("convert"));
    assert_eq!(a.file.as_ref().map(|o| o.as_str()), Some("/srv/**"));
    assert_eq!(
        a.destination.as_ref().map(ToString::to_string).as_deref(),
        Some("10.0.0.0/8")
    );
    assert_eq!(a.port, Some(5432));
    assert_eq!(a.program.as_ref().map(|o| o.as_str()), Some("*/php-fpm*"));

    let ids: Vec<&str> = p.rule.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "r3", "r4"]);
    let r1 = &p.rule[0];
    assert_eq!(r1.message.as_deref(), Some("no shells"));
    assert_eq!(r1.action, Some(RuleAction::Alert));
    assert_eq!(r1.response, Some(ResponseKind::Deny));
    assert_eq!(r1.errno, Some(Errno(2)));
    assert_eq!(r1.deny_exec.as_ref().map(Vec::len), Some(2));
    assert_eq!(
        p.rule[2].egress_allow.as_deref(),
        Some(
            &[
                EgressTarget::parse("10.0.0.0/8:5432").expect("valid"),
                EgressTarget::parse("*:53").expect("valid")
            ][..]
        )
    );
    assert_eq!(
        p.rule[3].dlopen_allow_dirs.as_deref(),
        Some(&["/usr/lib".to_owned()][..])
    );
    assert_eq!(p.program.len(), 1);
}

#[test]
fn serialised_policy_round_trips() {
    for p in [Policy::default(), parse(EVERY_KEY).for_program("/bin/true")] {
        let text = toml::to_string(&p).expect("serialises");
        assert_eq!(parse(&text), p, "{text}");
    }
}

#[test]
fn unknown_keys_point_at_the_key_with_a_hint() {
    let cases = [
        ("[detectors.sqli]\nenabld = true\n", (2, 1), "`enabled`"),
        (
            "[telemetry]\nrate_limit = { burts = 1 }\n",
            (2, 16),
            "`burst`",
        ),
        ("[[allow]]\norigni = \"query.a\"\n", (2, 1), "`origin`"),
        (
            "[[rule]]\nid = \"x\"\ndeny_exce = [\"sh\"]\n",
            (3, 1),
            "`deny_exec`",
        ),
        ("[program.\"nginx\"]\nmod = \"block\"\n", (2, 1), "`mode`"),
        (
            "[program.\"nginx\".detectors.ssrf]\nenabeld = false\n",
            (2, 1),
            "`enabled`",
        ),
        (
            "[detectors.path]\nresponse = \"respond-404\"\n",
            (2, 12),
            "`respond-403`",
        ),
        ("[[allow]]\ndetector = \"sqlli\"\n", (2, 12), "`sqli`"),
    ];
    for (text, at, hint) in cases {
        let e = error(text);
        assert_eq!(e.location, Some(at), "{text}: {}", e.message);
        let got = e.hint.unwrap_or_default();
        assert!(got.contains(hint), "{text}: hint {got:?} for {}", e.message);
    }
}

#[test]
fn bad_values_point_at_the_value() {
    let cases = [
        (
            "[detectors.sqli]\nerrno = \"EFOO\"\n",
            (2, 9),
            "unknown errno",
        ),
        ("[detectors.sqli]\nerrno = 0\n", (2, 9), "1..=4095"),
        ("[[allow]]\nfile = \"/a/[\"\n", (2, 8), "invalid glob"),
        (
            "[[allow]]\nurl_path = \"admin\"\n",
            (2, 12),
            "must start with",
        ),
        ("[[allow]]\ndestination = \"a b\"\n", (2, 15), "destination"),
        (
            "[[rule]]\nid = \"e\"\negress_allow = [\"host:80\"]\n",
            (3, 16),
            "egress target",
        ),
        (
            "[telemetry]\nsyslog = \"http://x\"\n",
            (2, 10),
            "syslog target",
        ),
    ];
    for (text, at, words) in cases {
        let e = error(text);
        assert_eq!(e.location, Some(at), "{text}: {}", e.message);
        assert!(e.message.contains(words), "{text}: {}", e.message);
    }
}

#[test]
fn structural_problems_are_all_reported() {
    let text = "[[allow]]\nid = \"empty\"\n\n[[rule]]\nid = \"two\"\ndeny_exec = [\"sh\"]\n\
                deny_open = [\"/x\"]\n\n[[rule]]\nid = \"d\"\ndlopen_allow_dirs = [\"lib\"]\n\n\
                [[rule]]\nid = \"d\"\ndeny_open = [\"/y\"]\n\n[program.\"/a/[\"]\nmode = \"block\"\n";
    let errors = Policy::from_toml_all(text).expect_err("invalid");
    let got: Vec<(Option<(usize, usize)>, &str)> = errors
        .iter()
        .map(|e| (e.location, e.message.as_str()))
        .collect();
    assert!(
        got[0].1.contains("no match field") && got[0].0 == Some((1, 1)),
        "{got:?}"
    );
    assert!(
        got[1].1.contains("exactly one") && got[1].0 == Some((4, 1)),
        "{got:?}"
    );
    assert!(
        got[2].1.contains("must be absolute") && got[2].0 == Some((9, 1)),
        "{got:?}"
    );
    assert!(
        got[3].1.contains("duplicate rule id") && got[3].0 == Some((13, 1)),
        "{got:?}"
    );
    assert!(
        got[4].1.contains("invalid glob") && got[4].0 == Some((17, 1)),
        "{got:?}"
    );
    assert_eq!(got.len(), 5);
}

const PROGRAMS: &str = r#"
mode = "monitor"

[detectors.sqli]
min_input_len = 5
action = "alert"

[detectors.sensitive_files]
paths = ["/etc/a"]

[[allow]]
id = "global"
origin = "query.sort"

[[rule]]
id = "global-rule"
deny_open = ["/etc/shadow"]

[program."*"]
mode = "hybrid"

[program."nginx"]
mode = "block"

[program."nginx".detectors.sqli]
action = "block"

[program."nginx".detectors.sensitive_files]
paths = ["/etc/b"]

[[program."nginx".allow]]
id = "nginx-only"
url_path = "/health"

[[program."nginx".rule]]
id = "nginx-no-shell"
deny_exec = ["sh"]

[program."/usr/sbin/nginx"]
mode = "monitor"
"#;

#[test]
fn program_sections_merge_key_by_key() {
    let p = parse(PROGRAMS);
    assert_eq!(
        p.program_sections_for("/usr/sbin/nginx"),
        vec!["*", "nginx", "/usr/sbin/nginx"]
    );

    let nginx = p.for_program("/usr/sbin/nginx");
    // The most specific section's mode wins.
    assert_eq!(nginx.mode, Mode::Monitor);
    // A nested key is replaced, its siblings keep the top-level values.
    assert_eq!(nginx.detectors.sqli.action, Some(DetectorAction::Block));
    assert_eq!(nginx.detectors.sqli.min_input_len, 5);
    // Lists are replaced whole.
    assert_eq!(nginx.detectors.sensitive_files.paths, vec!["/etc/b"]);
    // allow and rule arrays are appended.
    let allow: Vec<_> = nginx.allow.iter().filter_map(|a| a.id.as_deref()).collect();
    assert_eq!(allow, ["global", "nginx-only"]);
    let rules: Vec<_> = nginx.rule.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(rules, ["global-rule", "nginx-no-shell"]);
    assert!(nginx.program.is_empty());

    // By file name, in another directory: `*` and `nginx` apply, not the full path.
    let other = p.for_program("/opt/nginx");
    assert_eq!(other.mode, Mode::Block);

    // Only the catch-all.
    let php = p.for_program("/usr/sbin/php-fpm");
    assert_eq!(php.mode, Mode::Hybrid);
    assert_eq!(php.detectors.sqli.action, Some(DetectorAction::Alert));
    assert_eq!(php.allow.len(), 1);

    // No section: the top level, without program sections.
    let mut top = parse("mode = \"block\"\n[program.\"x\"]\nmode = \"monitor\"\n");
    let plain = top.for_program("/bin/y");
    top.program.clear();
    assert_eq!(plain, top);
}

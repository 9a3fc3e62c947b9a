//! The labelled detection corpus: every line of `tests/corpus/*.jsonl` is one sink call with one
//! input, labelled `attack` or `benign` with the reason. The engine runs in block mode with
//! default settings; an attack must produce a finding (of the expected detector), a benign case
//! none at all. All failures are listed together so a regression shows its whole blast radius.
//!
//! Line format (fields other than `sink`, `arg`, `expect`, `why` are optional):
//! `{"sink":"sql","dialect":"mysql","arg":"SELECT …","input":"1 OR 1=1","origin":"query.id",
//!   "expect":"attack","detector":"sqli","why":"tautology"}`
//! * `sink`: `sql` | `shell` | `exec` | `open` | `dlopen` | `connect`
//! * `exec`: `arg` is the program, `argv` the argument vector
//! * `connect`: `arg` is the address connected to, `port`, `host` the name resolved to it
//! * `input` may be absent for rules that need none (sensitive files, cloud metadata).

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::path::Path;

use policy::engine::RequestContext;
use policy::{Engine, Input, InputSet, Mode, Policy, Sink, SqlDialect};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    sink: String,
    #[serde(default)]
    dialect: Option<String>,
    arg: String,
    #[serde(default)]
    argv: Vec<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    origin: Option<String>,
    expect: String,
    #[serde(default)]
    detector: Option<String>,
    why: String,
}

fn dialect(name: Option<&str>) -> SqlDialect {
    match name {
        Some("sqlite") => SqlDialect::Sqlite,
        Some("postgresql") => SqlDialect::Postgresql,
        Some("mysql") => SqlDialect::Mysql,
        _ => SqlDialect::Generic,
    }
}

/// Runs one case; `Err` explains a wrong verdict.
fn run(engine: &Engine, case: &Case) -> Result<(), String> {
    let inputs: Vec<Input> = case
        .input
        .iter()
        .map(|v| {
            Input::new(
                case.origin.clone().unwrap_or_else(|| "query.q".into()),
                v.clone(),
            )
        })
        .collect();
    let ctx = RequestContext {
        http: None,
        inputs: InputSet::new(inputs.into_iter().collect(), 1),
        raw: Vec::new(),
    };
    let addr: IpAddr;
    let sink = match case.sink.as_str() {
        "sql" => Sink::Sql {
            function: "test",
            dialect: dialect(case.dialect.as_deref()),
            query: &case.arg,
        },
        "shell" => Sink::Shell {
            function: "system",
            command: &case.arg,
        },
        "exec" => Sink::Exec {
            function: "execve",
            path: &case.arg,
            argv: &case.argv,
        },
        "open" => Sink::Open {
            function: "open",
            path: &case.arg,
            write: false,
        },
        "dlopen" => Sink::Dlopen { path: &case.arg },
        "connect" => {
            addr = case.arg.parse().map_err(|e| format!("bad address: {e}"))?;
            Sink::Connect {
                addr,
                port: case.port.unwrap_or(80),
                host: case.host.as_deref(),
            }
        }
        other => return Err(format!("unknown sink {other}")),
    };
    let decision = engine.decide(&sink, &[&ctx]);
    match case.expect.as_str() {
        "attack" => {
            let Some(first) = decision.findings.first() else {
                return Err("missed attack".into());
            };
            if let Some(want) = &case.detector {
                if !decision
                    .findings
                    .iter()
                    .any(|f| f.detector.as_str() == want)
                {
                    return Err(format!(
                        "flagged by {} ({}), expected {want}",
                        first.detector, first.rule_id
                    ));
                }
            }
            Ok(())
        }
        "benign" => match decision.findings.first() {
            None => Ok(()),
            Some(f) => Err(format!(
                "false positive: {} {}: {}",
                f.detector, f.rule_id, f.reason
            )),
        },
        other => Err(format!("unknown expectation {other}")),
    }
}

#[test]
fn corpus_has_no_misses_and_no_false_positives() {
    let engine = Engine::new(Policy {
        mode: Mode::Block,
        ..Policy::default()
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut failures = Vec::new();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_owned();
        let text = fs::read_to_string(file).expect("readable corpus file");
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let case: Case = match serde_json::from_str(line) {
                Ok(c) => c,
                Err(e) => {
                    failures.push(format!(
                        "{}:{}: unparsable line: {e}",
                        file.display(),
                        n + 1
                    ));
                    continue;
                }
            };
            let entry = counts.entry(name.clone()).or_default();
            if case.expect == "attack" {
                entry.0 += 1
            } else {
                entry.1 += 1
            }
            if let Err(why) = run(&engine, &case) {
                failures.push(format!(
                    "{name}.jsonl:{}: {why} — case: {} ({})",
                    n + 1,
                    case.arg,
                    case.why
                ));
            }
        }
    }
    for (name, (attacks, benign)) in &counts {
        if *attacks < 200 || *benign < 200 {
            failures.push(format!(
                "{name}.jsonl has {attacks} attacks and {benign} benign cases; 200 of each needed"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

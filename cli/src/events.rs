//! `rasp events`: detections from a JSON-lines event log, one line each.

use std::io::{BufRead, BufReader, IsTerminal, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

/// Arguments of `rasp events`.
#[derive(clap::Args)]
pub struct Args {
    /// The event log (JSON lines).
    file: PathBuf,
    /// Keep reading as events are appended, like `tail -f`.
    #[arg(long)]
    follow: bool,
    /// Only this rule id (e.g. `shell.injection`), or a prefix of it (`shell.`).
    #[arg(long)]
    rule: Option<String>,
    /// Print matching events as JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

/// Prints the detections of `args.file`.
pub fn run(args: &Args) -> Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let mut reader = BufReader::new(file);
    let colour = std::io::stdout().is_terminal() && !args.json;
    if !args.json {
        let header = format!(
            "{:<24} {:<7} {:<22} {:<22} {:<16} INPUT",
            "TIME", "ACTION", "RULE", "SINK", "SOURCE"
        );
        println!("{header}");
    }
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            if !args.follow {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
            let pos = reader.stream_position()?;
            reader.seek(SeekFrom::Start(pos))?;
            continue;
        }
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["event"]["kind"] != "alert" {
            continue;
        }
        let rule = event["rule"]["id"].as_str().unwrap_or("");
        if args.rule.as_deref().is_some_and(|r| !rule.starts_with(r)) {
            continue;
        }
        if args.json {
            println!("{}", line.trim_end());
        } else {
            println!("{}", row(&event, rule, colour));
        }
    }
}

fn row(e: &Value, rule: &str, colour: bool) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let decision = s(&e["librasp"]["decision"]);
    let action = match (colour, decision.as_str()) {
        (true, "block") => format!("\x1b[31m{decision:<7}\x1b[0m"),
        (true, _) => format!("\x1b[33m{decision:<7}\x1b[0m"),
        _ => format!("{decision:<7}"),
    };
    let input = format!(
        "{}={:?}",
        s(&e["librasp"]["input"]["origin"]),
        s(&e["librasp"]["input"]["value"])
    );
    format!(
        "{:<24} {action} {:<22} {:<22} {:<16} {input}",
        s(&e["@timestamp"]),
        rule,
        format!("{}()", s(&e["librasp"]["sink"]["function"])),
        s(&e["source"]["ip"]),
    )
}

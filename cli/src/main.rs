//! `rasp`: the operator's tool for librasp — validate policies and read the agent's events.
//!
//! A thin binary over the `policy` crate: no detection logic lives here.

mod events;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use policy::Policy;

#[derive(Parser)]
#[command(
    name = "rasp",
    version,
    about = "librasp: runtime application self-protection for native Linux processes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Show detections from an event log as a table.
    Events(events::Args),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file: exit 0, or 1 with each error as file:line:col.
    Check {
        /// The policy file.
        file: PathBuf,
    },
    /// Print the built-in default policy.
    Default,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rasp: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            match Policy::from_toml(&text) {
                Ok(_) => {
                    println!("{}: ok", file.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    let (line, col) = e.location.unwrap_or((1, 1));
                    println!("{}:{line}:{col}: {}", file.display(), e.message);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Policy {
            command: PolicyCommand::Default,
        } => {
            print!("{}", toml::to_string_pretty(&Policy::default())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Events(args) => events::run(&args).map(|()| ExitCode::SUCCESS),
    }
}

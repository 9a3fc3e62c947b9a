//! `rasp`: the operator's tool for librasp — validate, print and dry-run policies, and read the
//! agent's events.
//!
//! A thin binary over the `policy` crate: no detection logic lives here.

mod events;
mod policy_cmd;
mod report;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
        command: policy_cmd::Command,
    },
    /// Show detections from an event log as a table.
    Events(events::Args),
    /// Write a self-contained HTML report of an event log, for reviews and audits.
    Report(report::Args),
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
        Command::Policy { command } => policy_cmd::run(command),
        Command::Events(args) => events::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Report(args) => report::run(&args).map(|()| ExitCode::SUCCESS),
    }
}

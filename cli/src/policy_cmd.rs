//! `rasp policy …`: validate a policy, print the documented default, and dry-run a decision.
//!
//! `explain` runs the very engine the agent runs (same extraction, detectors, allow-lists,
//! rules and merge of `[program."…"]` sections) on a captured request and one sink call given on
//! the command line, and prints every step: the inputs, which of them occur in the sink
//! argument, the findings, the allow entries that exempted findings, and the final action and
//! response. Nothing is executed, opened or connected.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use policy::config::DEFAULT_POLICY_TOML;
use policy::engine::RequestContext;
use policy::{Action, Engine, Finding, Policy, Sink, SqlDialect};

/// `rasp policy` subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Validate a policy file: exit 0, or 1 with each error as file:line:col.
    Check {
        /// The policy file.
        file: PathBuf,
    },
    /// Print the built-in default policy, every key commented.
    Default,
    /// Dry-run one sink call against a captured request and print how it was decided.
    Explain(ExplainArgs),
}

/// Arguments of `rasp policy explain`.
#[derive(Args)]
pub struct ExplainArgs {
    /// The policy file.
    file: PathBuf,
    /// File holding the raw bytes of the request (as read from the socket).
    #[arg(long)]
    request: PathBuf,
    /// The sink family.
    #[arg(long, value_enum)]
    sink: SinkArg,
    /// The sink argument: the command, path, query or ADDR:PORT. Repeat it for `exec`: the
    /// first is the program (and argv[0]), the others the rest of argv in order.
    #[arg(long = "arg", required = true, allow_hyphen_values = true)]
    args: Vec<String>,
    /// SQL dialect of a `sql` sink.
    #[arg(long, value_enum, default_value = "generic")]
    dialect: DialectArg,
    /// The host name a `connect` sink resolved (as passed to getaddrinfo).
    #[arg(long)]
    host: Option<String>,
    /// The file of an `open` sink is opened for writing.
    #[arg(long)]
    write: bool,
    /// The protected program's executable: applies matching `[program."…"]` sections.
    #[arg(long)]
    program: Option<String>,
}

/// Sink families on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum SinkArg {
    Shell,
    Exec,
    Open,
    Dlopen,
    Connect,
    Sql,
}

/// SQL dialects on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum DialectArg {
    Sqlite,
    Postgresql,
    Mysql,
    Generic,
}

impl From<DialectArg> for SqlDialect {
    fn from(d: DialectArg) -> Self {
        match d {
            DialectArg::Sqlite => SqlDialect::Sqlite,
            DialectArg::Postgresql => SqlDialect::Postgresql,
            DialectArg::Mysql => SqlDialect::Mysql,
            DialectArg::Generic => SqlDialect::Generic,
        }
    }
}

/// Runs a `rasp policy` subcommand.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Check { file } => {
            let result = load(&file)?;
            match result {
                Ok(_) => {
                    println!("{}: ok", file.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    print!("{}", render_errors(&file, &errors));
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Default => {
            print!("{DEFAULT_POLICY_TOML}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain(args) => {
            let result = load(&args.file)?;
            match result {
                Ok(policy) => {
                    print!("{}", explain(&args, &policy)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    print!("{}", render_errors(&args.file, &errors));
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

type Loaded = Result<Policy, Vec<policy::config::PolicyError>>;

fn load(file: &Path) -> Result<Loaded> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    Ok(Policy::from_toml_all(&text))
}

/// `file:line:col: message`, then `  hint: …` when there is one, per error.
fn render_errors(file: &Path, errors: &[policy::config::PolicyError]) -> String {
    let mut out = String::new();
    for e in errors {
        let (line, col) = e.location.unwrap_or((1, 1));
        let _ = writeln!(out, "{}:{line}:{col}: {}", file.display(), e.message);
        if let Some(hint) = &e.hint {
            let _ = writeln!(out, "  hint: {hint}");
        }
    }
    out
}

/// The sink call described by the arguments; owns what the borrowed [`Sink`] points at.
enum SinkCall {
    Shell(String),
    Exec(Vec<String>),
    Open(String),
    Dlopen(String),
    Connect(SocketAddr),
    Sql(String),
}

impl SinkCall {
    fn new(args: &ExplainArgs) -> Result<Self> {
        let first = args.args.first().cloned().unwrap_or_default();
        if !matches!(args.sink, SinkArg::Exec) && args.args.len() > 1 {
            bail!("only an exec sink takes several --arg values");
        }
        Ok(match args.sink {
            SinkArg::Shell => SinkCall::Shell(first),
            SinkArg::Exec => SinkCall::Exec(args.args.clone()),
            SinkArg::Open => SinkCall::Open(first),
            SinkArg::Dlopen => SinkCall::Dlopen(first),
            SinkArg::Connect => SinkCall::Connect(
                first
                    .parse()
                    .with_context(|| format!("--arg `{first}` is not ADDR:PORT"))?,
            ),
            SinkArg::Sql => SinkCall::Sql(first),
        })
    }

    fn sink<'a>(&'a self, args: &'a ExplainArgs) -> Sink<'a> {
        match self {
            SinkCall::Shell(command) => Sink::Shell {
                function: "system",
                command,
            },
            SinkCall::Exec(argv) => Sink::Exec {
                function: "execve",
                path: argv.first().map_or("", String::as_str),
                argv,
            },
            SinkCall::Open(path) => Sink::Open {
                function: "open",
                path,
                write: args.write,
            },
            SinkCall::Dlopen(path) => Sink::Dlopen { path },
            SinkCall::Connect(addr) => Sink::Connect {
                addr: addr.ip(),
                port: addr.port(),
                host: args.host.as_deref(),
            },
            SinkCall::Sql(query) => Sink::Sql {
                function: "sql",
                dialect: args.dialect.into(),
                query,
            },
        }
    }

    /// The texts the detectors search for inputs.
    fn haystacks<'a>(&'a self, args: &'a ExplainArgs) -> Vec<&'a str> {
        match self {
            SinkCall::Connect(_) => args.host.as_deref().into_iter().collect(),
            SinkCall::Exec(argv) => argv.iter().map(String::as_str).collect(),
            SinkCall::Shell(text)
            | SinkCall::Open(text)
            | SinkCall::Dlopen(text)
            | SinkCall::Sql(text) => vec![text.as_str()],
        }
    }

    /// The arguments as printed: quoted strings, or the address and host.
    fn describe(&self, args: &ExplainArgs) -> String {
        match self {
            SinkCall::Connect(addr) => match &args.host {
                Some(host) => format!("{addr}, host {host:?}"),
                None => addr.to_string(),
            },
            _ => self
                .haystacks(args)
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// The explanation of one dry-run decision, as printed.
fn explain(args: &ExplainArgs, policy: &Policy) -> Result<String> {
    let bytes = std::fs::read(&args.request)
        .with_context(|| format!("reading {}", args.request.display()))?;
    let engine = match &args.program {
        Some(exe) => Engine::for_program(policy, exe),
        None => Engine::new(policy.clone()),
    };
    let call = SinkCall::new(args)?;
    let sink = call.sink(args);
    let ctx = engine.context(&bytes);
    let decision = engine.decide(&sink, &[&ctx]);

    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "policy: {}", args.file.display());
    let _ = writeln!(w, "mode: {}", engine.policy().mode.as_str());
    if let Some(exe) = &args.program {
        let sections = policy.program_sections_for(exe);
        if sections.is_empty() {
            let _ = writeln!(w, "program: {exe} (no program section applies)");
        } else {
            let _ = writeln!(w, "program: {exe} (sections: {})", quoted(&sections));
        }
    }
    write_request(w, &ctx);
    let _ = writeln!(
        w,
        "sink: {} {}({})",
        sink.kind(),
        sink.function(),
        call.describe(args)
    );
    let _ = writeln!(w, "inputs in sink argument:");
    let mut any = false;
    for hay in call.haystacks(args) {
        for input in ctx.inputs.occurring_in(hay) {
            any = true;
            let _ = writeln!(w, "  {} = {:?}", input.origin, input.value);
        }
    }
    if !any {
        let _ = writeln!(w, "  (none)");
    }
    let _ = writeln!(w, "findings:");
    if decision.findings.is_empty() {
        let _ = writeln!(w, "  (none)");
    }
    for f in &decision.findings {
        write_finding(w, f);
    }
    let _ = writeln!(w, "allow-list:");
    if decision.allowed.is_empty() {
        let _ = writeln!(w, "  (no finding exempted)");
    }
    for a in &decision.allowed {
        let _ = writeln!(w, "  allowed by `{}`:", a.by);
        write_finding(w, &a.finding);
    }
    let rules: Vec<&str> = decision
        .findings
        .iter()
        .chain(decision.allowed.iter().map(|a| &a.finding))
        .filter(|f| f.detector == policy::DetectorKind::Rule)
        .map(|f| f.rule_id.as_ref())
        .collect();
    let _ = writeln!(
        w,
        "rules: {}",
        if rules.is_empty() {
            "(none matched)".to_owned()
        } else {
            quoted(&rules)
        }
    );
    let _ = writeln!(w, "decision: {}", decision.action.as_str());
    if decision.action == Action::Block {
        let _ = writeln!(w, "response: {}", decision.response);
    }
    Ok(out)
}

fn write_request(w: &mut String, ctx: &RequestContext) {
    match &ctx.http {
        Some(http) => {
            let query = http
                .query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let _ = writeln!(w, "request: {} {}{query}", http.method, http.path);
        }
        None => {
            let _ = writeln!(
                w,
                "request: not HTTP ({} bytes, raw correlation)",
                ctx.raw.len()
            );
        }
    }
    let _ = writeln!(w, "inputs ({}):", ctx.inputs.inputs().len());
    for input in ctx.inputs.inputs().iter() {
        let _ = writeln!(w, "  {} = {:?}", input.origin, input.value);
    }
}

fn write_finding(w: &mut String, f: &Finding) {
    let confidence = match f.confidence {
        policy::Confidence::Low => "low",
        policy::Confidence::Medium => "medium",
        policy::Confidence::High => "high",
    };
    let _ = writeln!(
        w,
        "  {} [{}] confidence {confidence}: {}",
        f.rule_id, f.detector, f.reason
    );
    if let Some(input) = &f.input {
        let _ = writeln!(w, "    input {} = {:?}", input.origin, input.value);
    }
    if let Some((start, end)) = f.span {
        let _ = writeln!(w, "    span {start}..{end}");
    }
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

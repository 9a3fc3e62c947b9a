//! `rasp report`: a self-contained HTML page summarising an event log, for reviews and audits.
//!
//! One pass over the log gathers the counts (detections, blocked and alerted, processes that
//! started the agent), the detections over time, tallies by rule, endpoint, source address and
//! program, the agent's own events, and the latest detections with their explanations. The page
//! has inline CSS, an inline SVG chart and no script (its Content-Security-Policy forbids any),
//! so it opens offline and can be archived as it is. All event text is HTML-escaped: inputs,
//! paths and even rule ids come from attacker-controlled requests or untrusted processes.

mod chart;
mod html;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::events::{self, Line, LogReader, Utc};
use html::{esc, fill};

/// The page, with `{{name}}` placeholders for the sections.
const TEMPLATE: &str = include_str!("report/template.html");

/// Rows shown in each "by …" table; the others are summed up in a last row.
const TABLE_ROWS: usize = 25;

/// Items listed in a table cell (rules of an endpoint, …) before "+N more".
const CELL_ITEMS: usize = 4;

/// Characters of a sink argument shown on each side of the input's span.
const CONTEXT: usize = 160;

/// Characters of a sink argument, span or input value shown before cutting with an ellipsis.
const SHOWN: usize = 400;

/// Arguments of `rasp report`.
#[derive(clap::Args)]
pub struct Args {
    /// The event log (JSON lines).
    file: PathBuf,
    /// Where to write the HTML page.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// How many of the latest detections to list with their explanations.
    #[arg(long, default_value_t = 100, value_name = "N")]
    latest: usize,
}

/// Reads `args.file` and writes the report to `args.output`.
pub fn run(args: &Args) -> Result<()> {
    let name = args.file.display();
    let mut log = LogReader::open(&args.file, false).with_context(|| format!("opening {name}"))?;
    let mut summary = Summary::new(args.latest);
    let mut line = Vec::new();
    while log
        .next_line(&mut line)
        .with_context(|| format!("reading {name}"))?
    {
        match events::parse_line(&line) {
            Line::Blank => {}
            Line::Malformed => summary.malformed += 1,
            Line::Event(event) => summary.add(&event),
        }
    }
    let page = summary.render(&name.to_string());
    std::fs::write(&args.output, page)
        .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "rasp: wrote {} ({} detections, {} blocked)",
        args.output.display(),
        summary.detections,
        summary.blocked
    );
    if summary.malformed > 0 {
        let s = if summary.malformed == 1 { "" } else { "s" };
        eprintln!(
            "rasp: skipped {} malformed line{s} in {name}",
            summary.malformed
        );
    }
    Ok(())
}

/// A JSON value as display text: strings as they are, numbers and booleans written out, and
/// anything else (missing, null, objects) empty.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// One detection, reduced to what the page shows.
struct Detection {
    time: Option<i64>,
    /// `@timestamp` as written, shown when it does not parse.
    timestamp: String,
    decision: String,
    blocked: bool,
    mode: String,
    rule: String,
    detector: String,
    technique: String,
    reason: String,
    origin: String,
    value: String,
    /// Byte range of the argument that the input covered.
    span: Option<(usize, usize)>,
    function: String,
    argument: String,
    method: String,
    path: String,
    query: String,
    source: String,
    port: String,
    executable: String,
    pid: String,
    host: String,
    policy: String,
}

impl Detection {
    fn new(e: &Value) -> Self {
        let lib = &e["librasp"];
        let span = &lib["input"]["span"];
        let offset = |v: &Value| v.as_u64().and_then(|n| usize::try_from(n).ok());
        let decision = text(&lib["decision"]);
        Detection {
            time: events::event_time(e),
            timestamp: text(&e["@timestamp"]),
            blocked: decision == "block",
            decision,
            mode: text(&lib["mode"]),
            rule: text(&e["rule"]["id"]),
            detector: text(&lib["detector"]),
            technique: text(&e["threat"]["technique"]["id"]),
            reason: text(&lib["reason"]),
            origin: text(&lib["input"]["origin"]),
            value: text(&lib["input"]["value"]),
            span: offset(&span[0]).zip(offset(&span[1])),
            function: text(&lib["sink"]["function"]),
            argument: text(&lib["sink"]["argument"]),
            method: text(&e["http"]["request"]["method"]),
            path: text(&e["url"]["path"]),
            query: text(&e["url"]["query"]),
            source: text(&e["source"]["ip"]),
            port: text(&e["source"]["port"]),
            executable: text(&e["process"]["executable"]),
            pid: text(&e["process"]["pid"]),
            host: text(&e["host"]["name"]),
            policy: text(&lib["policy"]["version"]),
        }
    }
}

/// Counts for one row of a "by …" table.
#[derive(Default)]
struct Tally {
    detections: u64,
    blocked: u64,
    /// `agent_start` events (for programs).
    starts: u64,
    first: Option<i64>,
    last: Option<i64>,
    rules: BTreeSet<String>,
    endpoints: BTreeSet<String>,
    sources: BTreeSet<String>,
    detector: String,
    technique: String,
}

impl Tally {
    fn seen(&mut self, time: Option<i64>) {
        if let Some(t) = time {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    fn add(&mut self, d: &Detection) {
        self.detections += 1;
        self.blocked += u64::from(d.blocked);
        self.seen(d.time);
        self.rules.insert(d.rule.clone());
        self.endpoints
            .insert(or(&d.path, "(no request)").to_owned());
        self.sources.insert(or(&d.source, "(no peer)").to_owned());
        self.detector.clone_from(&d.detector);
        self.technique.clone_from(&d.technique);
    }
}

/// `s`, or `missing` when it is empty.
fn or<'a>(s: &'a str, missing: &'a str) -> &'a str {
    if s.is_empty() { missing } else { s }
}

/// The agent's own events (start, stats, policy loaded or rejected, errors) of one action.
#[derive(Default)]
struct AgentTally {
    kind: String,
    count: u64,
    last: Option<i64>,
    message: String,
}

/// Everything the page shows, gathered in one pass over the log.
struct Summary {
    events: u64,
    malformed: u64,
    detections: u64,
    blocked: u64,
    starts: u64,
    first: Option<i64>,
    last: Option<i64>,
    /// Each timed detection: its time and whether it was blocked.
    times: Vec<(i64, bool)>,
    by_rule: BTreeMap<String, Tally>,
    by_endpoint: BTreeMap<String, Tally>,
    by_source: BTreeMap<String, Tally>,
    by_program: BTreeMap<String, Tally>,
    agent: BTreeMap<String, AgentTally>,
    hosts: BTreeSet<String>,
    policies: BTreeSet<String>,
    modes: BTreeSet<String>,
    /// The last `keep` detections of the log, in log order.
    latest: VecDeque<Detection>,
    keep: usize,
}

impl Summary {
    fn new(keep: usize) -> Self {
        Summary {
            events: 0,
            malformed: 0,
            detections: 0,
            blocked: 0,
            starts: 0,
            first: None,
            last: None,
            times: Vec::new(),
            by_rule: BTreeMap::new(),
            by_endpoint: BTreeMap::new(),
            by_source: BTreeMap::new(),
            by_program: BTreeMap::new(),
            agent: BTreeMap::new(),
            hosts: BTreeSet::new(),
            policies: BTreeSet::new(),
            modes: BTreeSet::new(),
            latest: VecDeque::new(),
            keep,
        }
    }

    fn add(&mut self, e: &Value) {
        self.events += 1;
        let time = events::event_time(e);
        if let Some(t) = time {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        for (set, v) in [
            (&mut self.hosts, &e["host"]["name"]),
            (&mut self.policies, &e["librasp"]["policy"]["version"]),
            (&mut self.modes, &e["librasp"]["mode"]),
        ] {
            let v = text(v);
            if !v.is_empty() {
                set.insert(v);
            }
        }
        if e["event"]["kind"] == "alert" {
            self.detection(Detection::new(e));
            return;
        }
        let action = or(&text(&e["event"]["action"]), "(no action)").to_owned();
        if action == "agent_start" {
            self.starts += 1;
            let program = or(&text(&e["process"]["executable"]), "(unknown)").to_owned();
            let tally = self.by_program.entry(program).or_default();
            tally.starts += 1;
            tally.seen(time);
        }
        let agent = self.agent.entry(action).or_default();
        agent.count += 1;
        agent.kind = text(&e["event"]["kind"]);
        if time >= agent.last {
            agent.last = time;
            agent.message = text(&e["message"]);
        }
    }

    fn detection(&mut self, d: Detection) {
        self.detections += 1;
        self.blocked += u64::from(d.blocked);
        if let Some(t) = d.time {
            self.times.push((t, d.blocked));
        }
        for (map, key) in [
            (&mut self.by_rule, or(&d.rule, "(no rule)")),
            (&mut self.by_endpoint, or(&d.path, "(no request)")),
            (&mut self.by_source, or(&d.source, "(no peer)")),
            (&mut self.by_program, or(&d.executable, "(unknown)")),
        ] {
            map.entry(key.to_owned()).or_default().add(&d);
        }
        if self.keep > 0 {
            if self.latest.len() == self.keep {
                self.latest.pop_front();
            }
            self.latest.push_back(d);
        }
    }

    /// The HTML page; `source` names the log.
    fn render(&self, source: &str) -> String {
        let generated = Utc::from_millis(events::now_millis());
        let mut meta = format!(
            "<span>Log <code>{}</code></span><span>generated {generated} UTC</span>",
            esc(source)
        );
        if let (Some(first), Some(last)) = (self.first, self.last) {
            let _ = write!(
                meta,
                "<span>events from {} to {} UTC</span>",
                Utc::from_millis(first),
                Utc::from_millis(last)
            );
        }
        let version = env!("CARGO_PKG_VERSION");
        fill(
            TEMPLATE,
            &[
                ("version", version),
                ("meta", &meta),
                ("summary", &self.summary_cards()),
                ("timeline", &chart::timeline(&self.times)),
                ("by_rule", &self.rule_table()),
                ("by_endpoint", &self.endpoint_table()),
                ("by_source", &self.source_table()),
                ("by_program", &self.program_table()),
                ("agent_events", &self.agent_table()),
                ("latest_count", &self.latest.len().to_string()),
                ("detections", &self.detections.to_string()),
                ("latest", &self.latest_table()),
            ],
        )
    }

    fn summary_cards(&self) -> String {
        let alerted = self.detections - self.blocked;
        let programs = self.by_program.len();
        let sources = self.by_source.keys().filter(|k| *k != "(no peer)").count();
        let cards = [
            (
                "detections",
                "Detections",
                self.detections.to_string(),
                String::new(),
            ),
            (
                "blocked",
                "Blocked",
                self.blocked.to_string(),
                percent(self.blocked, self.detections),
            ),
            (
                "alerted",
                "Alerted only",
                alerted.to_string(),
                percent(alerted, self.detections),
            ),
            (
                "processes",
                "Processes protected",
                self.starts.to_string(),
                format!("{programs} program{}", plural(programs)),
            ),
            (
                "sources",
                "Source addresses",
                sources.to_string(),
                format!(
                    "{} endpoint{}",
                    self.by_endpoint.len(),
                    plural(self.by_endpoint.len())
                ),
            ),
        ];
        let mut out = String::from("<div class=\"cards\">");
        for (id, label, value, note) in cards {
            let _ = write!(
                out,
                "<div class=\"card {id}\" id=\"count-{id}\"><div class=\"label\">{label}</div>\
                 <div class=\"value\">{value}</div><div class=\"note\">{}</div></div>",
                esc(&note)
            );
        }
        out.push_str("</div><dl class=\"facts\">");
        for (term, set) in [
            ("Policy versions", &self.policies),
            ("Modes", &self.modes),
            ("Hosts", &self.hosts),
        ] {
            let _ = write!(out, "<dt>{term}</dt><dd>{}</dd>", list(set, 8));
        }
        let _ = write!(
            out,
            "<dt>Events read</dt><dd>{}</dd><dt>Malformed lines skipped</dt>\
             <dd id=\"malformed\" class=\"{}\">{}</dd></dl>",
            self.events,
            if self.malformed > 0 { "warn" } else { "" },
            self.malformed
        );
        out
    }

    fn rule_table(&self) -> String {
        table(
            &[
                "Rule",
                "Detections",
                "Blocked",
                "Alerted",
                "Detector",
                "Technique",
                "Endpoints",
                "Last seen",
            ],
            rows(&self.by_rule, |key, t, max| {
                format!(
                    "<td><code>{}</code></td>{}<td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td>{}</td><td>{}</td><td>{}</td><td class=\"time\">{}</td>",
                    esc(key),
                    count_cell(t.detections, max),
                    t.blocked,
                    t.detections - t.blocked,
                    esc(&t.detector),
                    esc(&t.technique),
                    list(&t.endpoints, CELL_ITEMS),
                    time_cell(t.last),
                )
            }),
        )
    }

    fn endpoint_table(&self) -> String {
        table(
            &[
                "Endpoint (url.path)",
                "Detections",
                "Blocked",
                "Rules",
                "Sources",
                "Last seen",
            ],
            rows(&self.by_endpoint, |key, t, max| {
                format!(
                    "<td><code>{}</code></td>{}<td class=\"num\">{}</td><td>{}</td>\
                     <td>{}</td><td class=\"time\">{}</td>",
                    esc(key),
                    count_cell(t.detections, max),
                    t.blocked,
                    list(&t.rules, CELL_ITEMS),
                    list(&t.sources, CELL_ITEMS),
                    time_cell(t.last),
                )
            }),
        )
    }

    fn source_table(&self) -> String {
        table(
            &[
                "Source address",
                "Detections",
                "Blocked",
                "Endpoints",
                "Rules",
                "First seen",
                "Last seen",
            ],
            rows(&self.by_source, |key, t, max| {
                format!(
                    "<td><code>{}</code></td>{}<td class=\"num\">{}</td><td>{}</td><td>{}</td>\
                     <td class=\"time\">{}</td><td class=\"time\">{}</td>",
                    esc(key),
                    count_cell(t.detections, max),
                    t.blocked,
                    list(&t.endpoints, CELL_ITEMS),
                    list(&t.rules, CELL_ITEMS),
                    time_cell(t.first),
                    time_cell(t.last),
                )
            }),
        )
    }

    fn program_table(&self) -> String {
        table(
            &[
                "Program",
                "Detections",
                "Blocked",
                "Processes started",
                "Rules",
                "Last seen",
            ],
            rows(&self.by_program, |key, t, max| {
                format!(
                    "<td>{}</td>{}<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>\
                     <td class=\"time\">{}</td>",
                    program(key),
                    count_cell(t.detections, max),
                    t.blocked,
                    t.starts,
                    list(&t.rules, CELL_ITEMS),
                    time_cell(t.last),
                )
            }),
        )
    }

    fn agent_table(&self) -> String {
        if self.agent.is_empty() {
            return "<p class=\"empty\">No agent events: no process reported starting the \
                    agent.</p>"
                .to_owned();
        }
        let mut body = String::new();
        for (action, a) in &self.agent {
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"time\">{}</td><td class=\"message\">{}</td></tr>",
                esc(action),
                esc(&a.kind),
                a.count,
                time_cell(a.last),
                esc(&cut(&a.message, SHOWN)),
            );
        }
        table(
            &["Action", "Kind", "Count", "Last seen", "Last message"],
            body,
        )
    }

    fn latest_table(&self) -> String {
        if self.latest.is_empty() {
            return "<p class=\"empty\">No detections in this log.</p>".to_owned();
        }
        let mut latest: Vec<&Detection> = self.latest.iter().collect();
        latest.sort_by_key(|d| std::cmp::Reverse(d.time));
        let mut out = String::from(
            "<table class=\"events\"><thead><tr><th>Time (UTC)</th><th>Decision</th>\
             <th>Rule</th><th>Request</th><th>Input</th><th>Process</th></tr></thead>",
        );
        for d in latest {
            out.push_str(&event_rows(d));
        }
        out.push_str("</table>");
        out
    }
}

/// The two rows of one detection: what happened, then why (the sink call with the input's
/// span highlighted, and the detector's reason).
fn event_rows(d: &Detection) -> String {
    let class = if d.blocked { "blocked" } else { "alerted" };
    let when = match d.time.map(Utc::from_millis) {
        Some(t) => format!(
            "<span class=\"date\">{:04}-{:02}-{:02}</span> {:02}:{:02}:{:02}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        ),
        None => esc(or(&d.timestamp, "-")).to_string(),
    };
    let mut request = format!(
        "<code>{} {}</code>",
        esc(&d.method),
        esc(or(&d.path, "(no request)"))
    );
    if !d.query.is_empty() {
        let _ = write!(
            request,
            "<div class=\"sub\"><code>?{}</code></div>",
            esc(&cut(&d.query, 120))
        );
    }
    if !d.source.is_empty() {
        let peer = if d.port.is_empty() {
            d.source.clone()
        } else {
            format!("{}:{}", d.source, d.port)
        };
        let _ = write!(request, "<div class=\"sub\">from {}</div>", esc(&peer));
    }
    let input = if d.origin.is_empty() {
        "<span class=\"muted\">none</span>".to_owned()
    } else {
        format!(
            "<span class=\"origin\">{}</span><code class=\"value\">{}</code>",
            esc(&d.origin),
            esc(&cut(&d.value, SHOWN))
        )
    };
    let mut process = program(&d.executable);
    let _ = write!(
        process,
        "<div class=\"sub\">pid {}{}{}</div>",
        esc(or(&d.pid, "?")),
        if d.host.is_empty() { "" } else { " · " },
        esc(&d.host)
    );
    format!(
        "<tbody class=\"event {class}\"><tr class=\"what\"><td class=\"time\">{when}</td>\
         <td><span class=\"badge {class}\">{}</span><div class=\"sub\">mode {}</div></td>\
         <td><code>{}</code><div class=\"sub\">{}{}{}</div></td><td>{request}</td>\
         <td>{input}</td><td>{process}</td></tr>\
         <tr class=\"why\"><td colspan=\"6\"><div class=\"call\"><span class=\"fn\">{}</span>(\
         <span class=\"arg\">{}</span>)</div><p class=\"reason\">{}</p>\
         <div class=\"sub\">policy <code>{}</code></div></td></tr></tbody>",
        esc(or(&d.decision, "alert")),
        esc(or(&d.mode, "?")),
        esc(or(&d.rule, "(no rule)")),
        esc(&d.detector),
        if d.technique.is_empty() { "" } else { " · " },
        esc(&d.technique),
        esc(or(&d.function, "?")),
        highlight(&d.argument, d.span),
        esc(&d.reason),
        esc(or(&d.policy, "?")),
    )
}

/// The sink argument as HTML, the input's byte `span` in `<mark>`, long text cut around it.
/// A span that does not fall on character boundaries of the argument is not highlighted.
fn highlight(argument: &str, span: Option<(usize, usize)>) -> String {
    let parts = span.and_then(|(start, end)| {
        let end = end.min(argument.len());
        let (before, rest) = argument.split_at_checked(start)?;
        let (marked, after) = rest.split_at_checked(end.checked_sub(start)?)?;
        (!marked.is_empty()).then_some((before, marked, after))
    });
    match parts {
        Some((before, marked, after)) => {
            let skip = before.chars().count().saturating_sub(CONTEXT);
            let before: String = before.chars().skip(skip).collect();
            format!(
                "{}{}<mark>{}</mark>{}",
                if skip > 0 { "…" } else { "" },
                esc(&before),
                esc(&cut(marked, SHOWN)),
                esc(&cut(after, CONTEXT))
            )
        }
        None => esc(&cut(argument, SHOWN)).to_string(),
    }
}

/// The first `max` characters of `s`, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", s.get(..at).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// A table with a header row and `body` rows.
fn table(headers: &[&str], body: String) -> String {
    if body.is_empty() {
        return "<p class=\"empty\">No detections.</p>".to_owned();
    }
    let mut out = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{h}</th>");
    }
    let _ = write!(out, "</tr></thead><tbody>{body}</tbody></table>");
    out
}

/// The rows of a "by …" table: most detections first (then most processes started), at most
/// [`TABLE_ROWS`], then one row counting the rest. `cells` makes a row's cells from its key,
/// its tally and the largest count (for the bars).
fn rows(map: &BTreeMap<String, Tally>, cells: impl Fn(&str, &Tally, u64) -> String) -> String {
    let mut sorted: Vec<(&String, &Tally)> = map.iter().collect();
    sorted.sort_by_key(|(_, t)| std::cmp::Reverse((t.detections, t.starts)));
    let max = sorted.first().map_or(0, |(_, t)| t.detections);
    let mut out = String::new();
    for (key, tally) in sorted.iter().take(TABLE_ROWS) {
        let _ = write!(out, "<tr>{}</tr>", cells(key, tally, max));
    }
    if let Some(rest) = sorted.len().checked_sub(TABLE_ROWS).filter(|&n| n > 0) {
        let count: u64 = sorted
            .iter()
            .skip(TABLE_ROWS)
            .map(|(_, t)| t.detections)
            .sum();
        let _ = write!(
            out,
            "<tr class=\"more\"><td>and {rest} more</td><td class=\"num\">{count}</td></tr>"
        );
    }
    out
}

/// A count with a bar proportional to `max`.
fn count_cell(count: u64, max: u64) -> String {
    let width = (count * 100).checked_div(max).unwrap_or(0);
    format!(
        "<td class=\"num count\"><div class=\"meter\"><span class=\"track\">\
         <span class=\"fill\" style=\"width:{width}%\"></span></span>\
         <span class=\"n\">{count}</span></div></td>"
    )
}

/// A program's basename, with its full path below.
fn program(executable: &str) -> String {
    let name = executable.rsplit('/').next().unwrap_or_default();
    if name.is_empty() || name == executable {
        return format!(
            "<span class=\"prog\">{}</span>",
            esc(or(executable, "(unknown)"))
        );
    }
    format!(
        "<span class=\"prog\">{}</span><div class=\"sub path\">{}</div>",
        esc(name),
        esc(executable)
    )
}

/// Up to `max` items of `set` as HTML code, then "+N more".
fn list(set: &BTreeSet<String>, max: usize) -> String {
    if set.is_empty() {
        return "<span class=\"muted\">none</span>".to_owned();
    }
    let mut out = String::new();
    for (i, item) in set.iter().take(max).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "<code>{}</code>", esc(item));
    }
    if set.len() > max {
        let _ = write!(
            out,
            " <span class=\"muted\">+{} more</span>",
            set.len() - max
        );
    }
    out
}

fn time_cell(t: Option<i64>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| Utc::from_millis(t).to_string())
}

fn percent(part: u64, whole: u64) -> String {
    (part * 100)
        .checked_div(whole)
        .map_or_else(String::new, |p| format!("{p}% of detections"))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_marks_the_span_escaped() {
        assert_eq!(
            highlight("echo <b>; rm", Some((5, 12))),
            "echo <mark>&lt;b&gt;; rm</mark>"
        );
        // A span past the (capped) argument ends with it; one inside a character is ignored.
        assert_eq!(highlight("ab", Some((1, 9))), "a<mark>b</mark>");
        assert_eq!(highlight("é<", Some((1, 2))), "é&lt;");
        assert_eq!(highlight("abc", None), "abc");
    }

    #[test]
    fn long_arguments_are_cut_around_the_span() {
        let arg = format!("{}X{}", "a".repeat(1_000), "b".repeat(1_000));
        let html = highlight(&arg, Some((1_000, 1_001)));
        assert!(html.starts_with('…'));
        assert!(html.ends_with('…'));
        assert!(html.contains("<mark>X</mark>"));
        assert!(html.chars().count() < 2 * CONTEXT + 20);
    }

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("héllo", 2), "hé…");
        assert_eq!(cut("hé", 2), "hé");
    }
}

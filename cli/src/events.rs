//! `rasp events`: detections from a JSON-lines event log, one table line each.
//!
//! Also home of what every reader of the log shares, so that `rasp report` reads it the same
//! way: [`LogReader`] (lines as bytes, optionally followed across rotations like `tail -F`),
//! [`parse_line`] (malformed lines are classified, never fatal) and the UTC time helpers
//! ([`parse_rfc3339`], [`Utc`]).

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde_json::Value;

/// How often `--follow` looks for new lines or a rotated log.
const POLL: Duration = Duration::from_millis(250);

/// Table width when neither `--width` nor `$COLUMNS` says.
const DEFAULT_WIDTH: usize = 160;

/// Arguments of `rasp events`.
#[derive(clap::Args)]
pub struct Args {
    /// The event log (JSON lines).
    file: PathBuf,
    /// Keep reading as events are appended, like `tail -F`; survives the log being rotated
    /// (replaced or truncated).
    #[arg(long, short)]
    follow: bool,
    /// Only this rule id (e.g. `shell.operator`), or a prefix of it (`shell.`).
    #[arg(long)]
    rule: Option<String>,
    /// Only events at or after this time: RFC 3339 (`2026-11-29T03:00:00Z`), a date
    /// (`2026-11-29`), or a duration ago (`30s`, `10m`, `2h`, `1d`, `1w`).
    #[arg(long, value_parser = parse_since, value_name = "TIME")]
    since: Option<i64>,
    /// Print matching events as JSON lines (unchanged) instead of a table.
    #[arg(long)]
    json: bool,
    /// Table width in columns; longer cells are cut with an ellipsis (default: `$COLUMNS`,
    /// else 160).
    #[arg(long)]
    width: Option<usize>,
}

/// Prints the detections of `args.file`; malformed lines are skipped and counted on stderr.
pub fn run(args: &Args) -> Result<()> {
    let mut log = LogReader::open(&args.file, args.follow)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let table = Table::new(
        args.width.or_else(columns).unwrap_or(DEFAULT_WIDTH),
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    );
    if !args.json {
        println!("{}", table.header());
    }
    let mut malformed = 0u64;
    let mut line = Vec::new();
    while log
        .next_line(&mut line)
        .with_context(|| format!("reading {}", args.file.display()))?
    {
        let event = match parse_line(&line) {
            Line::Blank => continue,
            Line::Malformed => {
                malformed += 1;
                if args.follow {
                    eprintln!(
                        "rasp: {}:{}: malformed event skipped",
                        args.file.display(),
                        log.line_number()
                    );
                }
                continue;
            }
            Line::Event(event) => event,
        };
        if !selected(&event, args) {
            continue;
        }
        if args.json {
            println!("{}", String::from_utf8_lossy(&line).trim_end());
        } else {
            println!("{}", table.row(&event));
        }
    }
    if malformed > 0 {
        let s = if malformed == 1 { "" } else { "s" };
        eprintln!(
            "rasp: skipped {malformed} malformed line{s} in {}",
            args.file.display()
        );
    }
    Ok(())
}

/// Whether `event` is a detection that passes the `--rule` and `--since` filters.
fn selected(event: &Value, args: &Args) -> bool {
    if event["event"]["kind"] != "alert" {
        return false;
    }
    let rule = event["rule"]["id"].as_str().unwrap_or("");
    if args.rule.as_deref().is_some_and(|r| !rule.starts_with(r)) {
        return false;
    }
    match args.since {
        Some(since) => event_time(event).is_some_and(|t| t >= since),
        None => true,
    }
}

/// The terminal width from `$COLUMNS`, when the shell exports it.
fn columns() -> Option<usize> {
    std::env::var("COLUMNS").ok()?.trim().parse().ok()
}

/// The table's column widths: every column but the input one is fixed; the input column takes
/// what is left of the width.
struct Table {
    input: usize,
    colour: bool,
}

/// Fixed columns, in order: (title, width). The input column comes before the last one.
const COLUMNS: [(&str, usize); 7] = [
    ("TIME (UTC)", 19),
    ("ACTION", 6),
    ("RULE", 18),
    ("SINK", 20),
    ("SOURCE", 15),
    ("PATH", 18),
    ("EXE", 14),
];

/// Spaces between columns.
const GAP: &str = "  ";

/// The narrowest input column, however narrow the terminal.
const MIN_INPUT: usize = 16;

impl Table {
    fn new(width: usize, colour: bool) -> Self {
        let fixed: usize =
            COLUMNS.iter().map(|(_, w)| w).sum::<usize>() + GAP.len() * COLUMNS.len();
        Table {
            input: width.saturating_sub(fixed).max(MIN_INPUT),
            colour,
        }
    }

    fn header(&self) -> String {
        let [time, action, rule, sink, source, path, exe] = COLUMNS.map(|(t, w)| fit(t, w));
        let input = fit("INPUT", self.input);
        let line = [time, action, rule, sink, source, path, input, exe].join(GAP);
        let line = line.trim_end();
        if self.colour {
            format!("\x1b[1m{line}\x1b[0m")
        } else {
            line.to_owned()
        }
    }

    fn row(&self, e: &Value) -> String {
        let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
        let [time, action, rule, sink, source, path, exe] = COLUMNS.map(|(_, w)| w);
        let decision = e["librasp"]["decision"].as_str().unwrap_or("alert");
        let when =
            event_time(e).map_or_else(|| s(&e["@timestamp"]), |t| Utc::from_millis(t).to_string());
        let origin = &e["librasp"]["input"]["origin"];
        let input = if origin.is_string() {
            format!("{}={}", s(origin), s(&e["librasp"]["input"]["value"]))
        } else {
            "-".to_owned()
        };
        let exe_path = s(&e["process"]["executable"]);
        let exe_name = exe_path.rsplit('/').next().unwrap_or_default();
        let cells = [
            self.paint(fit(&when, time), "2"),
            self.paint(
                fit(decision, action),
                if decision == "block" { "1;31" } else { "33" },
            ),
            fit(&s(&e["rule"]["id"]), rule),
            fit(&format!("{}()", s(&e["librasp"]["sink"]["function"])), sink),
            fit(&s(&e["source"]["ip"]), source),
            fit(&s(&e["url"]["path"]), path),
            fit(&input, self.input),
            fit(exe_name, exe),
        ];
        cells.join(GAP).trim_end().to_owned()
    }

    /// Wraps `cell` in the SGR sequence `sgr` when colouring.
    fn paint(&self, cell: String, sgr: &str) -> String {
        if self.colour {
            format!("\x1b[{sgr}m{cell}\x1b[0m")
        } else {
            cell
        }
    }
}

/// `text` made safe for a terminal and exactly `width` characters wide: control characters
/// (an attacker's escape sequences) are shown escaped, longer text is cut with an ellipsis,
/// shorter text padded.
fn fit(text: &str, width: usize) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            safe.extend(c.escape_debug());
        } else {
            safe.push(c);
        }
    }
    let len = safe.chars().count();
    if len > width {
        let mut cut: String = safe.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        format!("{safe:<width$}")
    }
}

/// Parses `--since`: an absolute time, or a duration before now; milliseconds since the epoch.
fn parse_since(s: &str) -> Result<i64, String> {
    const EXPECTED: &str = "expected an RFC 3339 time (2026-11-29T03:00:00Z), a date (2026-11-29) or a duration ago \
         (30s, 10m, 2h, 1d, 1w)";
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    if s.len() == 10
        && let Some(t) = parse_rfc3339(&format!("{s}T00:00:00Z"))
    {
        return Ok(t);
    }
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(format!("`{s}`: {EXPECTED}")),
    };
    number
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .map(|ago| now_millis().saturating_sub(ago))
        .ok_or_else(|| format!("`{s}`: {EXPECTED}"))
}

/// What one line of the event log holds.
pub(crate) enum Line {
    /// Only white space: ignored, not counted.
    Blank,
    /// A JSON object: an event.
    Event(Value),
    /// Anything else (bad JSON, bad UTF-8, a JSON value that is not an object, a cut line).
    Malformed,
}

/// Classifies one line of the log (without its line feed).
pub(crate) fn parse_line(bytes: &[u8]) -> Line {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Line::Blank;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(event @ Value::Object(_)) => Line::Event(event),
        _ => Line::Malformed,
    }
}

/// An event's `@timestamp`, in milliseconds since the epoch.
pub(crate) fn event_time(event: &Value) -> Option<i64> {
    event["@timestamp"].as_str().and_then(parse_rfc3339)
}

/// Reads a log line by line, as bytes (a line that is not UTF-8 is the caller's malformed
/// line, not an I/O error). When following, waits at the end for more lines, and reopens the
/// path when the log is rotated: replaced by another file (its inode changes) or truncated
/// (it becomes shorter than what was read).
pub(crate) struct LogReader {
    path: PathBuf,
    reader: BufReader<File>,
    /// Device and inode of the open file.
    id: (u64, u64),
    /// Bytes of the open file consumed so far.
    pos: u64,
    /// Number of the last line returned, counted from the start of the open file.
    line: u64,
    follow: bool,
    /// A line being written: read up to the end of the file without its line feed yet.
    pending: Vec<u8>,
}

impl LogReader {
    /// Opens `path`; with `follow`, [`next_line`](Self::next_line) waits for more instead of
    /// ending.
    pub(crate) fn open(path: &Path, follow: bool) -> io::Result<Self> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        Ok(LogReader {
            path: path.to_owned(),
            reader: BufReader::new(file),
            id: (meta.dev(), meta.ino()),
            pos: 0,
            line: 0,
            follow,
            pending: Vec::new(),
        })
    }

    /// The number of the line last returned by [`next_line`](Self::next_line) (from 1, counted
    /// again from 1 after a rotation).
    pub(crate) fn line_number(&self) -> u64 {
        self.line
    }

    /// Puts the next line, without its line ending, in `line`; `false` at the end of the log
    /// (never when following). A last line without a line feed counts as a line when not
    /// following; when following it is awaited until complete or until the log is rotated.
    pub(crate) fn next_line(&mut self, line: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            let n = self.read()?;
            if self.complete(line) {
                return Ok(true);
            }
            // At the end of the open file.
            if !self.follow {
                return Ok(!self.pending.is_empty() && self.take(line));
            }
            if n > 0 || !self.rotated()? {
                std::thread::sleep(POLL);
                continue;
            }
            // Rotated; the old file may have grown between the read and the check.
            if self.read()? > 0 {
                if self.complete(line) {
                    return Ok(true);
                }
                continue;
            }
            // The old file is read to its end: what is left of it is a whole line.
            let last = !self.pending.is_empty() && self.take(line);
            self.reopen()?;
            if last {
                return Ok(true);
            }
        }
    }

    /// Reads up to the next line feed or the end of the file, after the pending bytes.
    fn read(&mut self) -> io::Result<usize> {
        let n = self.reader.read_until(b'\n', &mut self.pending)?;
        self.pos += n as u64;
        Ok(n)
    }

    /// When the pending bytes are a whole line, moves it without its line ending to `line`.
    fn complete(&mut self, line: &mut Vec<u8>) -> bool {
        if self.pending.last() != Some(&b'\n') {
            return false;
        }
        self.pending.pop();
        if self.pending.last() == Some(&b'\r') {
            self.pending.pop();
        }
        self.take(line)
    }

    /// Moves the pending bytes to `line`; always `true`.
    fn take(&mut self, line: &mut Vec<u8>) -> bool {
        line.clear();
        std::mem::swap(line, &mut self.pending);
        self.line += 1;
        true
    }

    /// Whether the path now names another file, or a file shorter than what was read. A
    /// missing path (between the rename and the creation of the new log) is not yet a rotation.
    fn rotated(&self) -> io::Result<bool> {
        match std::fs::metadata(&self.path) {
            Ok(meta) => Ok((meta.dev(), meta.ino()) != self.id || meta.len() < self.pos),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn reopen(&mut self) -> io::Result<()> {
        *self = LogReader::open(&self.path, self.follow)?;
        Ok(())
    }
}

/// Now, in milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Parses an RFC 3339 time (`2026-11-29T04:02:02.627Z`, `2026-11-29T05:02:02+01:00`; `t`, `z`
/// and a space separator accepted) to milliseconds since the epoch.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    let num = |from: usize, to: usize| -> Option<i64> {
        let digits = s.get(from..to)?;
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse().ok()
        } else {
            None
        }
    };
    let sep = |at: usize, ok: &[u8]| s.as_bytes().get(at).is_some_and(|b| ok.contains(b));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if digits == 0 {
            return None;
        }
        let (frac, tail) = fraction.split_at(digits);
        millis = frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(3)
            .fold(0, |ms, b| ms * 10 + i64::from(b - b'0'));
        rest = tail;
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let (h, m) = rest.get(1..).and_then(|o| o.split_once(':'))?;
            if h.len() != 2
                || m.len() != 2
                || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
            {
                return None;
            }
            sign * (h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// A UTC calendar time, to the second; displays as `2026-11-29 04:02:02`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Utc {
    /// Year, e.g. 2026.
    pub(crate) year: i64,
    /// Month, 1 to 12.
    pub(crate) month: i64,
    /// Day of the month, from 1.
    pub(crate) day: i64,
    /// Hour, 0 to 23.
    pub(crate) hour: i64,
    /// Minute, 0 to 59.
    pub(crate) minute: i64,
    /// Second, 0 to 59.
    pub(crate) second: i64,
}

impl Utc {
    /// The calendar time of `millis` milliseconds since the epoch.
    pub(crate) fn from_millis(millis: i64) -> Self {
        let secs = millis.div_euclid(1_000);
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        Utc {
            year,
            month,
            day,
            hour: rem / 3_600,
            minute: rem % 3_600 / 60,
            second: rem % 60,
        }
    }
}

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// (year, month, day) → days since 1970-01-01, proleptic Gregorian (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 → (year, month, day), the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_through_the_calendar() {
        let t = parse_rfc3339("2026-11-29T04:02:02.627Z").unwrap();
        assert_eq!(t % 1_000, 627);
        assert_eq!(Utc::from_millis(t).to_string(), "2026-11-29 04:02:02");
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00.5Z"),
            Some(951_782_400_500)
        );
        assert_eq!(
            parse_rfc3339("2026-11-29T05:02:02+01:00"),
            parse_rfc3339("2026-11-29T04:02:02Z")
        );
        assert_eq!(Utc::from_millis(-1).to_string(), "1969-12-31 23:59:59");
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for bad in [
            "",
            "2026-11-29",
            "2026-11-29T04:02:02",
            "2026-13-29T04:02:02Z",
            "2026-11-29T04:02:02.Z",
            "2026-11-29T04:02:02+1:00",
            "2026-11-29T04:02:02Zjunk",
            "２０２６-11-29T04:02:02Z",
            "+026-11-29T04:02:02Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn since_accepts_times_dates_and_durations() {
        let now = now_millis();
        let ten_minutes_ago = parse_since("10m").unwrap();
        assert!((now - 600_000 - ten_minutes_ago).abs() < 5_000);
        assert!(parse_since("1d").unwrap() < parse_since("2h").unwrap());
        assert_eq!(parse_since("1970-01-02"), Ok(86_400_000));
        assert_eq!(parse_since("1970-01-01T00:00:01Z"), Ok(1_000));
        for bad in ["", "10", "m", "10 m", "10y", "-5m", "99999999999999999999d"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cells_are_cut_padded_and_defused() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("\x1b[2Jx", 20), "\\u{1b}[2Jx          ");
        assert_eq!(fit("a\nb", 4), "a\\nb");
    }

    #[test]
    fn lines_are_classified() {
        assert!(matches!(parse_line(b"  \t"), Line::Blank));
        assert!(matches!(parse_line(b"{\"a\":1}"), Line::Event(_)));
        for bad in [&b"[1]"[..], b"{\"a\":", b"\xff\xfe", b"42"] {
            assert!(matches!(parse_line(bad), Line::Malformed));
        }
    }
}

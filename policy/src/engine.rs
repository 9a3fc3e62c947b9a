//! The decision point: one call per sink, from the agent, with the correlated requests.
//!
//! Order of work, cheapest first: find which inputs occur in the sink argument (one
//! Aho-Corasick pass); only then tokenize the argument with the sink's grammar. Checks that
//! need no input (sensitive files, cloud metadata, the policy's `[[rule]]`s) run on every call
//! and are a few compiled glob or CIDR matches.
//!
//! Then, only when something was found: `[[allow]]` entries drop the findings they exempt
//! (recorded in [`Decision::allowed`]), each remaining finding gets its action (the detector's
//! or rule's `action`, else the mode; monitor mode never blocks) and the strongest one decides
//! the [`Decision`]'s action and [`Response`].
//!
//! The engine knows the protected program when built with [`Engine::for_program`]: the
//! policy's `[program."…"]` sections are merged in, and allow entries with a `program` field
//! apply only when it matches (with [`Engine::new`] such entries never apply).

use serde::Serialize;

use crate::allow::{AllowContext, CompiledAllow};
use crate::config::{DetectorAction, Mode, Policy};
use crate::detect::{command, path, shell, sql, ssrf};
use crate::extract::{self, HttpSummary};
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::input::{Input, InputRef, InputSet};
use crate::response::Response;
use crate::rules::CompiledRule;
use crate::sink::Sink;

/// What the agent must do with the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Run the call; nothing to report.
    Allow,
    /// Run the call and report it.
    Alert,
    /// Refuse the call and report it.
    Block,
}

impl Action {
    /// The lowercase name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Alert => "alert",
            Action::Block => "block",
        }
    }
}

/// The verdict on one sink call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The strongest action among the findings (`Allow` when there are none).
    pub action: Action,
    /// The findings that were not ignored, strongest first.
    pub findings: Vec<Finding>,
    /// Index (into the `requests` passed to [`Engine::decide`]) of the request that carried
    /// the input of the first finding that has one.
    pub request: Option<usize>,
    /// How to refuse the call: the response of the first (deciding) finding. Meaningful only
    /// when `action` is [`Action::Block`]; `deny` with `EACCES` otherwise.
    pub response: Response,
    /// Findings dropped by `[[allow]]` entries, with the entry that exempted each.
    pub allowed: Vec<Allowed>,
}

/// A finding exempted by an `[[allow]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allowed {
    /// The entry's `id`, or `allow[N]` (its 0-based position) when it has none.
    pub by: String,
    /// The finding it exempted.
    pub finding: Finding,
}

impl Decision {
    fn allow() -> Self {
        Self {
            action: Action::Allow,
            findings: Vec::new(),
            request: None,
            response: Response::default(),
            allowed: Vec::new(),
        }
    }
}

/// Where a finding came from, to look up its action and response.
#[derive(Debug, Clone, Copy)]
enum Source {
    Detector,
    Rule(usize),
}

/// A finding before allow-lists and actions are applied.
struct Candidate {
    finding: Finding,
    request: Option<usize>,
    source: Source,
}

/// What one captured request offers to the detectors.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Method, path and query of the (last) HTTP request, for events; `None` for non-HTTP.
    pub http: Option<HttpSummary>,
    /// The extracted inputs.
    pub inputs: InputSet,
    /// Non-HTTP traffic only: the received bytes, for raw correlation.
    pub raw: Vec<u8>,
}

/// The policy, compiled for fast decisions.
#[derive(Debug, Clone)]
pub struct Engine {
    policy: Policy,
    program: Option<String>,
    sensitive: path::SensitiveMatcher,
    allow: Vec<CompiledAllow>,
    rules: Vec<CompiledRule>,
}

impl Engine {
    /// Compiles `policy` for a process whose executable is unknown: `[program."…"]` sections
    /// are not applied and allow entries with a `program` field never match.
    pub fn new(policy: Policy) -> Self {
        Self::compile(policy, None)
    }

    /// Compiles the effective policy of the process running executable `exe` (its
    /// `/proc/self/exe`): [`Policy::for_program`], with allow entries' `program` fields
    /// matched against `exe`.
    pub fn for_program(policy: &Policy, exe: &str) -> Self {
        Self::compile(policy.for_program(exe), Some(exe.to_owned()))
    }

    fn compile(policy: Policy, program: Option<String>) -> Self {
        let sensitive = path::SensitiveMatcher::new(&policy.detectors.sensitive_files.paths);
        let allow = policy
            .allow
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| CompiledAllow::compile(entry, i, program.as_deref()))
            .collect();
        let rules = policy
            .rule
            .iter()
            .filter_map(CompiledRule::compile)
            .collect();
        Self {
            policy,
            program,
            sensitive,
            allow,
            rules,
        }
    }

    /// The policy this engine enforces (program sections already merged when built with
    /// [`Engine::for_program`]).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The protected program's executable, when the engine was built for one.
    pub fn program(&self) -> Option<&str> {
        self.program.as_deref()
    }

    /// Extracts the inputs of captured request bytes with this policy's limits.
    pub fn context(&self, bytes: &[u8]) -> RequestContext {
        let limits = &self.policy.extraction;
        match extract::extract_http(bytes, limits) {
            Some(mut extracted) => RequestContext {
                http: extracted.requests.pop(),
                inputs: InputSet::new(extracted.inputs, self.min_input_len()),
                raw: Vec::new(),
            },
            None => RequestContext {
                http: None,
                inputs: InputSet::empty(),
                raw: bytes.to_vec(),
            },
        }
    }

    fn min_input_len(&self) -> usize {
        let d = &self.policy.detectors;
        [
            d.sqli.min_input_len,
            d.shell.min_input_len,
            d.command.min_input_len,
            d.path.min_input_len,
        ]
        .into_iter()
        .chain([d.ssrf.min_input_len, d.dlopen.min_input_len])
        .min()
        .unwrap_or(3)
        .max(1)
    }

    /// Decides one sink call against the requests correlated with it.
    pub fn decide(&self, sink: &Sink<'_>, requests: &[&RequestContext]) -> Decision {
        let mut found: Vec<Candidate> = Vec::new();
        for (i, req) in requests.iter().enumerate() {
            found.extend(
                self.check_request(sink, req)
                    .into_iter()
                    .map(|finding| Candidate {
                        finding,
                        request: Some(i),
                        source: Source::Detector,
                    }),
            );
            if !found.is_empty() {
                break;
            }
        }
        if found.is_empty() {
            if let Some(finding) = self.check_without_input(sink) {
                found.push(Candidate {
                    finding,
                    request: None,
                    source: Source::Detector,
                });
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if let Some(finding) = rule.check(sink) {
                found.push(Candidate {
                    finding,
                    request: None,
                    source: Source::Rule(i),
                });
            }
        }
        if found.is_empty() {
            return Decision::allow();
        }
        self.judge(sink, requests, found)
    }

    /// Applies allow entries and actions to the findings of one call.
    fn judge(
        &self,
        sink: &Sink<'_>,
        requests: &[&RequestContext],
        found: Vec<Candidate>,
    ) -> Decision {
        let mut decision = Decision::allow();
        let any_http = requests.iter().find_map(|r| r.http.as_ref());
        let mut scored: Vec<(Action, Response, Candidate)> = Vec::new();
        for c in found {
            let http = c
                .request
                .and_then(|i| requests.get(i))
                .and_then(|r| r.http.as_ref())
                .or(any_http);
            let cx = AllowContext { sink, http };
            if let Some(entry) = self.allow.iter().find(|a| a.matches(&c.finding, cx)) {
                decision.allowed.push(Allowed {
                    by: entry.id.clone(),
                    finding: c.finding,
                });
                continue;
            }
            if let Some((action, response)) = self.action_for(&c) {
                scored.push((action, response, c));
            }
        }
        scored.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.2.finding.confidence.cmp(&a.2.finding.confidence))
        });
        if let Some((action, response, _)) = scored.first() {
            decision.action = *action;
            decision.response = *response;
        }
        decision.request = scored.iter().find_map(|(_, _, c)| c.request);
        decision.findings = scored.into_iter().map(|(_, _, c)| c.finding).collect();
        decision
    }

    /// Input-driven detectors for one request.
    fn check_request(&self, sink: &Sink<'_>, req: &RequestContext) -> Vec<Finding> {
        let d = &self.policy.detectors;
        let mut out = Vec::new();
        match *sink {
            Sink::Shell { command, .. } if d.shell.enabled => {
                out.extend(
                    self.correlated(req, [command], |c| shell::check(command, &c, &d.shell)),
                );
            }
            Sink::Exec {
                path: prog, argv, ..
            } => {
                if let Some(script) = command::shell_script(prog, argv) {
                    if d.shell.enabled {
                        out.extend(
                            self.correlated(req, [script], |c| shell::check(script, &c, &d.shell)),
                        );
                    }
                } else if d.command.enabled {
                    let args = std::iter::once(prog).chain(argv.iter().map(String::as_str));
                    out.extend(
                        self.correlated(req, args, |c| command::check(prog, argv, &c, &d.command)),
                    );
                }
            }
            Sink::Open { path: p, .. } if d.path.enabled => {
                out.extend(self.correlated(req, [p], |c| {
                    path::check(p, &with_bare_dotdot(c, req, p), &d.path)
                }));
            }
            Sink::Dlopen { path: p } if d.dlopen.enabled => {
                let found = self.correlated(req, [p], |c| {
                    path::check(p, &with_bare_dotdot(c, req, p), &d.dlopen)
                });
                out.extend(found.map(|mut f| {
                    f.detector = DetectorKind::Dlopen;
                    f
                }));
            }
            Sink::Connect { addr, port, host } if d.ssrf.enabled => {
                // Every input: the host may have been derived from one (see the detector).
                let raw = self.raw_matches(req, host);
                let all: Vec<InputRef<'_>> = req
                    .inputs
                    .inputs()
                    .iter()
                    .chain(raw.iter().map(Input::view))
                    .collect();
                out.extend(ssrf::check(addr, port, host, &all, &d.ssrf));
            }
            Sink::Sql { dialect, query, .. } if d.sqli.enabled => {
                out.extend(
                    self.correlated(req, [query], |c| sql::check(query, dialect, &c, &d.sqli)),
                );
            }
            _ => {}
        }
        out
    }

    /// Runs `check` on the candidates for a call whose arguments are `args`: the distinct
    /// inputs of `req` that occur in any of them, then its raw-correlation matches.
    fn correlated<'s, A, T>(
        &self,
        req: &RequestContext,
        args: A,
        check: impl FnOnce(Vec<InputRef<'_>>) -> T,
    ) -> T
    where
        A: IntoIterator<Item = &'s str> + Clone,
    {
        let raw = self.raw_matches(req, args.clone());
        check(candidates(req, args, &raw))
    }

    /// Raw correlation (non-HTTP traffic): the long common substrings of the bytes `req`
    /// received and each of `args`. They are owned, so the caller keeps them while the
    /// detectors borrow them.
    fn raw_matches<'s>(
        &self,
        req: &RequestContext,
        args: impl IntoIterator<Item = &'s str>,
    ) -> Vec<Input> {
        if req.raw.is_empty() {
            return Vec::new();
        }
        let min = self.policy.extraction.raw_min_match;
        args.into_iter()
            .flat_map(|arg| extract::raw::common_substrings(&req.raw, arg, min))
            .collect()
    }

    /// Rules that need no input: sensitive files and cloud metadata addresses.
    fn check_without_input(&self, sink: &Sink<'_>) -> Option<Finding> {
        let d = &self.policy.detectors;
        match *sink {
            Sink::Open { path: p, .. } if d.sensitive_files.enabled => self.sensitive.check(p),
            Sink::Connect { addr, port, host } if d.ssrf.enabled => {
                ssrf::check_metadata(addr, port, host, &d.ssrf)
            }
            _ => None,
        }
    }

    /// Maps a finding to its action under the mode and the detector's or rule's override,
    /// with the response to use if it blocks; `None` when the detector is set to `ignore`.
    fn action_for(&self, c: &Candidate) -> Option<(Action, Response)> {
        let d = &self.policy.detectors;
        let (over, response) = match c.source {
            Source::Rule(i) => {
                let rule = self.rules.get(i)?;
                (rule.action, rule.response)
            }
            Source::Detector => {
                let (action, kind, errno) = match c.finding.detector {
                    DetectorKind::Sqli => (d.sqli.action, d.sqli.response, d.sqli.errno),
                    DetectorKind::Shell => (d.shell.action, d.shell.response, d.shell.errno),
                    DetectorKind::Command => {
                        (d.command.action, d.command.response, d.command.errno)
                    }
                    DetectorKind::Path => (d.path.action, d.path.response, d.path.errno),
                    DetectorKind::Ssrf => (d.ssrf.action, d.ssrf.response, d.ssrf.errno),
                    DetectorKind::SensitiveFiles => {
                        let s = &d.sensitive_files;
                        (s.action, s.response, s.errno)
                    }
                    DetectorKind::Dlopen => (d.dlopen.action, d.dlopen.response, d.dlopen.errno),
                    // Rule findings always come with `Source::Rule`.
                    DetectorKind::Rule => (None, None, None),
                };
                (action, Response::resolve(kind, errno))
            }
        };
        let action = match over {
            Some(DetectorAction::Ignore) => return None,
            Some(DetectorAction::Alert) => Action::Alert,
            Some(DetectorAction::Block) => Action::Block,
            None => match self.policy.mode {
                Mode::Monitor => Action::Alert,
                Mode::Block => Action::Block,
                Mode::Hybrid if c.finding.confidence == Confidence::High => Action::Block,
                Mode::Hybrid => Action::Alert,
            },
        };
        // Monitor mode never changes the application's behaviour.
        let action = if self.policy.mode == Mode::Monitor {
            action.min(Action::Alert)
        } else {
            action
        };
        Some((action, response))
    }
}

/// The distinct inputs of the request that occur in any of `args`, then the raw-correlation
/// matches, in that order.
fn candidates<'a, 'b>(
    req: &'a RequestContext,
    args: impl IntoIterator<Item = &'b str>,
    raw: &'a [Input],
) -> Vec<InputRef<'a>> {
    let mut c: Vec<InputRef<'a>> = Vec::new();
    for arg in args {
        for input in req.inputs.occurring_in(arg) {
            if !c.contains(&input) {
                c.push(input);
            }
        }
    }
    for input in raw.iter().map(Input::view) {
        if !c.contains(&input) {
            c.push(input);
        }
    }
    c
}

/// Adds inputs that are exactly `..`: shorter than any sensible minimum length, yet a whole
/// traversal when the application uses the value as a directory (`base/<dir>/file`).
fn with_bare_dotdot<'a>(
    mut c: Vec<InputRef<'a>>,
    req: &'a RequestContext,
    path: &str,
) -> Vec<InputRef<'a>> {
    if path.contains("..") {
        for input in req.inputs.inputs().iter().filter(|i| i.value == "..") {
            if !c.contains(&input) {
                c.push(input);
            }
        }
    }
    c
}

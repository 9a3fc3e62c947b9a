//! The decision point: one call per sink, from the agent, with the correlated requests.
//!
//! Order of work, cheapest first: find which inputs occur in the sink argument (one
//! Aho-Corasick pass); only then tokenize the argument with the sink's grammar. Rules that need
//! no input (sensitive files, cloud metadata) run on every call and are cheap string checks.

use serde::Serialize;

use crate::config::{DetectorAction, Mode, Policy};
use crate::detect::{command, path, shell, sql, ssrf};
use crate::extract::{self, HttpSummary};
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::input::{Input, InputSet};
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
    /// the first finding's input.
    pub request: Option<usize>,
}

impl Decision {
    fn allow() -> Self {
        Self {
            action: Action::Allow,
            findings: Vec::new(),
            request: None,
        }
    }
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
    sensitive: path::SensitiveMatcher,
}

impl Engine {
    /// Compiles `policy`.
    pub fn new(policy: Policy) -> Self {
        let sensitive = path::SensitiveMatcher::new(&policy.detectors.sensitive_files.paths);
        Self { policy, sensitive }
    }

    /// The policy this engine enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Extracts the inputs of captured request bytes with this policy's limits.
    pub fn context(&self, bytes: &[u8]) -> RequestContext {
        let limits = &self.policy.extraction;
        match extract::extract_http(bytes, limits) {
            Some(extracted) => RequestContext {
                http: extracted.requests.last().cloned(),
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
        let mut findings: Vec<(Finding, Option<usize>)> = Vec::new();
        for (i, req) in requests.iter().enumerate() {
            for f in self.check_request(sink, req) {
                findings.push((f, Some(i)));
            }
            if !findings.is_empty() {
                break;
            }
        }
        if findings.is_empty() {
            if let Some(f) = self.check_without_input(sink) {
                findings.push((f, None));
            }
        }
        let mut decision = Decision::allow();
        let mut scored: Vec<(Action, Finding, Option<usize>)> = findings
            .into_iter()
            .filter_map(|(f, r)| self.action_for(&f).map(|a| (a, f, r)))
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.confidence.cmp(&a.1.confidence)));
        if let Some((action, _, req)) = scored.first() {
            decision.action = *action;
            decision.request = *req;
        }
        decision.findings = scored.into_iter().map(|(_, f, _)| f).collect();
        decision
    }

    /// Input-driven detectors for one request.
    fn check_request(&self, sink: &Sink<'_>, req: &RequestContext) -> Vec<Finding> {
        let d = &self.policy.detectors;
        let raw_min = self.policy.extraction.raw_min_match;
        let candidates = |arg: &str| -> Vec<Input> {
            let mut c: Vec<Input> = req.inputs.occurring_in(arg).into_iter().cloned().collect();
            if !req.raw.is_empty() {
                c.extend(extract::raw::common_substrings(&req.raw, arg, raw_min));
            }
            c
        };
        let mut out = Vec::new();
        match *sink {
            Sink::Shell { command, .. } if d.shell.enabled => {
                let c = candidates(command);
                out.extend(shell::check(command, &refs(&c), &d.shell));
            }
            Sink::Exec {
                path: prog, argv, ..
            } => {
                if let Some(script) = command::shell_script(prog, argv) {
                    if d.shell.enabled {
                        let c = candidates(script);
                        out.extend(shell::check(script, &refs(&c), &d.shell));
                    }
                } else if d.command.enabled {
                    let mut c = candidates(prog);
                    for arg in argv {
                        for input in candidates(arg) {
                            if !c.contains(&input) {
                                c.push(input);
                            }
                        }
                    }
                    out.extend(command::check(prog, argv, &refs(&c), &d.command));
                }
            }
            Sink::Open { path: p, .. } if d.path.enabled => {
                let c = with_bare_dotdot(candidates(p), req, p);
                out.extend(path::check(p, &refs(&c), &d.path));
            }
            Sink::Dlopen { path: p } if d.dlopen.enabled => {
                let c = with_bare_dotdot(candidates(p), req, p);
                out.extend(path::check(p, &refs(&c), &d.dlopen).map(|mut f| {
                    f.detector = DetectorKind::Dlopen;
                    f
                }));
            }
            Sink::Connect { addr, port, host } if d.ssrf.enabled => {
                let mut all: Vec<&Input> = req.inputs.inputs().iter().collect();
                let raw_inputs: Vec<Input> = match host {
                    Some(h) if !req.raw.is_empty() => {
                        extract::raw::common_substrings(&req.raw, h, raw_min)
                    }
                    _ => Vec::new(),
                };
                all.extend(raw_inputs.iter());
                out.extend(ssrf::check(addr, port, host, &all, &d.ssrf));
            }
            Sink::Sql { dialect, query, .. } if d.sqli.enabled => {
                let c = candidates(query);
                out.extend(sql::check(query, dialect, &refs(&c), &d.sqli));
            }
            _ => {}
        }
        out
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

    /// Maps a finding to an action under the mode and the detector's override;
    /// `None` when the detector is set to `ignore`.
    fn action_for(&self, f: &Finding) -> Option<Action> {
        let d = &self.policy.detectors;
        let over = match f.detector {
            DetectorKind::Sqli => d.sqli.action,
            DetectorKind::Shell => d.shell.action,
            DetectorKind::Command => d.command.action,
            DetectorKind::Path => d.path.action,
            DetectorKind::Ssrf => d.ssrf.action,
            DetectorKind::SensitiveFiles => d.sensitive_files.action,
            DetectorKind::Dlopen => d.dlopen.action,
        };
        let action = match over {
            Some(DetectorAction::Ignore) => return None,
            Some(DetectorAction::Alert) => Action::Alert,
            Some(DetectorAction::Block) => Action::Block,
            None => match self.policy.mode {
                Mode::Monitor => Action::Alert,
                Mode::Block => Action::Block,
                Mode::Hybrid if f.confidence == Confidence::High => Action::Block,
                Mode::Hybrid => Action::Alert,
            },
        };
        // Monitor mode never changes the application's behaviour.
        Some(if self.policy.mode == Mode::Monitor {
            action.min(Action::Alert)
        } else {
            action
        })
    }
}

/// Adds inputs that are exactly `..`: shorter than any sensible minimum length, yet a whole
/// traversal when the application uses the value as a directory (`base/<dir>/file`).
fn with_bare_dotdot(mut c: Vec<Input>, req: &RequestContext, path: &str) -> Vec<Input> {
    if path.contains("..") {
        for input in req.inputs.inputs().iter().filter(|i| i.value == "..") {
            if !c.contains(input) {
                c.push(input.clone());
            }
        }
    }
    c
}

fn refs(inputs: &[Input]) -> Vec<&Input> {
    inputs.iter().collect()
}

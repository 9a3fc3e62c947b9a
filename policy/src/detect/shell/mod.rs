//! Shell injection: does a request input change the structure of a command line given to
//! `system`, `popen` or `sh -c`?
//!
//! The command is lexed once ([`lexer::lex`]) into tokens with byte spans. For every candidate
//! input (a value that occurs verbatim in the command) and every place it occurs, the detector
//! looks at the structural bytes inside that span — operators, redirections, substitution and
//! quote delimiters, escapes, blanks between words, command words — and reports the
//! occurrence when the input *produced* structure rather than data:
//!
//! | rule | the input… | confidence |
//! |------|-----------|------------|
//! | `shell.substitution` | contains a `$(`, `` ` ``, `<(` delimiter | High |
//! | `shell.operator` | contains `;` `&` `&&` `\|\|` `\|` newline `(` `)` | High |
//! | `shell.redirection` | contains `>` `>>` `<` `2>&1` `<<`… | High |
//! | `shell.command-word` | forms a command word with `/`, quotes, globs, `$`, braces; or the whole word | High; Medium for a plain whole word |
//! | `shell.argument-injection` | starts an argument that is an option (`-x`, `--x=…`) before `--` | High with a value or path or as an extra word, else Medium |
//! | `shell.multi-token` | contains a blank that splits words — never reported alone (extra plain arguments are data), but it makes a command word or option it comes with High | – |
//! | `shell.assignment` | writes `NAME=` before the command | High |
//! | `shell.expansion` | contains `$NAME`, `${…}`, `$((…))`; `$IFS` | Medium; High for `$IFS` |
//! | `shell.comment` | starts a `#` comment | Medium |
//! | `shell.brace-expansion` | contains `{`, `,`, `}` of an unquoted brace expansion | Medium |
//! | `shell.quote-break` | contains one delimiter of a quote pair, or a trailing backslash | Medium |
//! | `shell.unbalanced` | the command does not lex and the input contributes quoting | Medium; High when nested deeper than [`lexer::MAX_DEPTH`] |
//!
//! An input that stays inside one properly quoted word, or is a plain unquoted word, has none
//! of these and is data.
//!
//! Two guards against coincidences, because inputs are matched as substrings: an input of
//! plain characters that is only *part* of a command word proves nothing (`bin` in
//! `/usr/bin/convert`); and when a plain input equals a whole command word (or an option) but
//! also occurs elsewhere as ordinary data (`git grep 'git'` for the search term `git`), the
//! command-position occurrence is taken as coincidence.
//!
//! Cost: one lex of the command, then for each occurrence a binary search into sorted
//! structural marks and a walk over the marks inside the span — linear in the command for
//! non-overlapping occurrences, which are capped at [`MAX_OCCURRENCES`] per input.

pub mod lexer;
pub(crate) mod prefix;

use memchr::memmem;

use crate::config::DetectorSettings;
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::input::InputRef;

use lexer::{ExpansionKind, Lexed, Operator, Token, TokenKind, WordRole};

/// Occurrences of one input examined per command.
pub const MAX_OCCURRENCES: usize = 1024;

/// Evidence items kept per occurrence (for the reason text).
const MAX_EVIDENCE: usize = 6;

/// Characters that make a command word more than a plain program name.
const COMMAND_WORD_SPECIALS: &[u8] = b"/'\"\\$`*?[]{}~ \t\n";

/// Characters an input needs to leave a command unlexable.
const QUOTING_CHARS: [char; 6] = ['\'', '"', '`', '\\', '$', '('];

/// Checks a shell command line against the inputs that occur in it.
///
/// Returns the strongest finding over all candidates (stopping at the first high-confidence
/// one); `None` when every occurrence of every input is data.
pub fn check(
    command: &str,
    candidates: &[InputRef<'_>],
    cfg: &DetectorSettings,
) -> Option<Finding> {
    let min = cfg.min_input_len.max(1);
    let inputs: Vec<InputRef<'_>> = candidates
        .iter()
        .copied()
        .filter(|i| i.value.len() >= min)
        .collect();
    if inputs.is_empty() {
        return None;
    }
    let lexed = lexer::lex(command);
    let index = Index::new(command, &lexed);
    let mut best: Option<Finding> = None;
    for input in inputs {
        let Some(finding) = index.judge(input) else {
            continue;
        };
        if best
            .as_ref()
            .is_none_or(|b| finding.confidence > b.confidence)
        {
            let high = finding.confidence == Confidence::High;
            best = Some(finding);
            if high {
                break;
            }
        }
    }
    best
}

/// Rules, strongest first (the order breaks ties between equally confident evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    Substitution,
    Operator,
    Redirection,
    CommandWord,
    ArgumentInjection,
    Assignment,
    MultiToken,
    Expansion,
    Comment,
    BraceExpansion,
    QuoteBreak,
    Unbalanced,
}

impl Rule {
    fn id(self) -> &'static str {
        match self {
            Rule::Substitution => "shell.substitution",
            Rule::Operator => "shell.operator",
            Rule::Redirection => "shell.redirection",
            Rule::CommandWord => "shell.command-word",
            Rule::ArgumentInjection => "shell.argument-injection",
            Rule::Assignment => "shell.assignment",
            Rule::MultiToken => "shell.multi-token",
            Rule::Expansion => "shell.expansion",
            Rule::Comment => "shell.comment",
            Rule::BraceExpansion => "shell.brace-expansion",
            Rule::QuoteBreak => "shell.quote-break",
            Rule::Unbalanced => "shell.unbalanced",
        }
    }
}

/// One structural effect of an input occurrence.
#[derive(Debug, Clone)]
struct Evidence {
    rule: Rule,
    confidence: Confidence,
    /// A verb phrase: "adds the control operator `;`".
    what: String,
    /// The token that shows it (for de-duplication).
    token: usize,
    /// Plausibly a coincidence of a plain input with the application's own word.
    coincidental: bool,
    /// For a command word: the word, so the phrase can be restated when it is upgraded.
    word: Option<String>,
}

impl Evidence {
    fn new(rule: Rule, confidence: Confidence, what: String, token: usize) -> Self {
        Self {
            rule,
            confidence,
            what,
            token,
            coincidental: false,
            word: None,
        }
    }

    /// A command word the input adds.
    fn command_word(word: &str, confidence: Confidence, token: usize) -> Self {
        let shown_word = shown(word, 40);
        let what = if confidence == Confidence::High {
            format!("adds the command word `{shown_word}`")
        } else {
            format!("is the whole command word `{shown_word}` (the request chooses the program)")
        };
        Self {
            coincidental: confidence != Confidence::High,
            word: Some(shown_word),
            ..Self::new(Rule::CommandWord, confidence, what, token)
        }
    }

    fn strength(&self) -> (Confidence, std::cmp::Reverse<Rule>) {
        (self.confidence, std::cmp::Reverse(self.rule))
    }
}

/// Adds `item` unless it repeats what is known: the same token and rule, the same phrase,
/// or a second instance of a rule whose repetition adds nothing (several blanks, quotes…).
/// Keeps the strongest [`MAX_EVIDENCE`] items.
fn add(evidence: &mut Vec<Evidence>, item: Evidence) {
    let repeatable = matches!(
        item.rule,
        Rule::Operator | Rule::CommandWord | Rule::Redirection
    );
    if let Some(same) = evidence.iter_mut().find(|e| {
        (e.token == item.token || e.what == item.what || !repeatable) && e.rule == item.rule
    }) {
        if item.strength() > same.strength() {
            *same = item;
        }
        return;
    }
    if evidence.len() < MAX_EVIDENCE {
        evidence.push(item);
    } else if let Some(weakest) = evidence.iter_mut().min_by_key(|e| e.strength()) {
        if item.strength() > weakest.strength() {
            *weakest = item;
        }
    }
}

/// What a structural byte position is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MarkKind {
    /// A byte of an operator or redirection.
    Structure,
    /// First byte of a quote or substitution.
    Opener,
    /// Last byte of a quote or substitution.
    Closer,
    /// The `$` of an expansion.
    Dollar,
    /// The `#` of a comment.
    Comment,
    /// The backslash of an escape.
    Backslash,
    /// The start of a blank run.
    Blank,
    /// A brace-expansion `{`, `,`, `..` or `}`.
    Brace,
    /// The first byte of a word.
    WordStart,
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    pos: usize,
    token: usize,
    kind: MarkKind,
}

/// The lexed command, indexed for span queries.
struct Index<'a> {
    src: &'a str,
    lexed: &'a Lexed,
    /// Structural positions, sorted.
    marks: Vec<Mark>,
    /// Word token indices per depth, each sorted by start (words of one depth never overlap).
    words_by_depth: Vec<Vec<usize>>,
}

impl<'a> Index<'a> {
    fn new(src: &'a str, lexed: &'a Lexed) -> Self {
        let mut marks = Vec::with_capacity(lexed.tokens.len() * 2);
        let mut words_by_depth: Vec<Vec<usize>> = Vec::new();
        for (i, t) in lexed.tokens.iter().enumerate() {
            let mut mark = |pos, kind| {
                marks.push(Mark {
                    pos,
                    token: i,
                    kind,
                })
            };
            match t.kind {
                TokenKind::Operator(_) | TokenKind::Redirect(_) => {
                    (t.start..t.end).for_each(|p| mark(p, MarkKind::Structure));
                }
                TokenKind::Quote(_) | TokenKind::Substitution(_) => {
                    mark(t.start, MarkKind::Opener);
                    mark(t.end.saturating_sub(1), MarkKind::Closer);
                }
                TokenKind::Expansion(_) => mark(t.start, MarkKind::Dollar),
                TokenKind::Escape => mark(t.start, MarkKind::Backslash),
                TokenKind::Comment => mark(t.start, MarkKind::Comment),
                TokenKind::Blank => mark(t.start, MarkKind::Blank),
                TokenKind::Brace(_) => mark(t.start, MarkKind::Brace),
                TokenKind::Word(_) => {
                    mark(t.start, MarkKind::WordStart);
                    let depth = usize::from(t.depth);
                    if words_by_depth.len() <= depth {
                        words_by_depth.resize_with(depth + 1, Vec::new);
                    }
                    if let Some(words) = words_by_depth.get_mut(depth) {
                        words.push(i);
                    }
                }
                TokenKind::HeredocBody => {}
            }
        }
        marks.sort_by_key(|m| m.pos);
        Self {
            src,
            lexed,
            marks,
            words_by_depth,
        }
    }

    fn token(&self, i: usize) -> Option<&Token> {
        self.lexed.tokens.get(i)
    }

    /// The verdict on one input over all its occurrences.
    fn judge(&self, input: InputRef<'_>) -> Option<Finding> {
        let value = input.value;
        let mut best: Option<(Vec<Evidence>, usize)> = None;
        let mut clean_occurrence = false;
        let mut occurrences = Vec::new();
        for s in memmem::find_iter(self.src.as_bytes(), value.as_bytes()).take(MAX_OCCURRENCES) {
            occurrences.push(s);
            let mut evidence = self.evaluate(s, s + value.len());
            // Word splitting alone only adds plain arguments (`hello Zoe Smith`): data, not
            // structure. It still raises a command word or option it comes with (`evaluate`).
            evidence.retain(|e| e.rule != Rule::MultiToken);
            if evidence.is_empty() {
                clean_occurrence = true;
                continue;
            }
            let strength = |ev: &[Evidence]| ev.iter().map(Evidence::strength).max();
            if best
                .as_ref()
                .is_none_or(|(b, _)| strength(&evidence) > strength(b))
            {
                best = Some((evidence, s));
            }
        }
        if let Some(err) = self.lexed.error {
            let containing = occurrences
                .iter()
                .copied()
                .find(|&s| (s..s + value.len()).contains(&err.at));
            if containing.is_some() || value.contains(QUOTING_CHARS) {
                let at = containing
                    .or_else(|| best.as_ref().map(|(_, s)| *s))
                    .or_else(|| occurrences.first().copied());
                if let Some(at) = at {
                    // Real commands never nest that deep; a parse that merely failed is weaker.
                    let confidence = if err.kind == lexer::LexErrorKind::TooDeep {
                        Confidence::High
                    } else {
                        Confidence::Medium
                    };
                    let item = Evidence::new(
                        Rule::Unbalanced,
                        confidence,
                        format!(
                            "leaves the command unparsable ({} at byte {})",
                            describe_error(err.kind),
                            err.at
                        ),
                        usize::MAX,
                    );
                    match &mut best {
                        Some((ev, s)) if *s == at => add(ev, item),
                        Some(_) => {}
                        None => best = Some((vec![item], at)),
                    }
                }
            }
        }
        let (evidence, start) = best?;
        if clean_occurrence && evidence.iter().all(|e| e.coincidental) {
            return None;
        }
        let strongest = evidence.iter().max_by_key(|e| e.strength())?;
        let phrases: Vec<&str> = evidence.iter().map(|e| e.what.as_str()).collect();
        Some(Finding {
            detector: DetectorKind::Shell,
            rule_id: strongest.rule.id().into(),
            input: Some(input.to_input()),
            span: Some((start, start + value.len())),
            reason: format!("input `{}` {}", shown(value, 80), join(&phrases)),
            confidence: strongest.confidence,
        })
    }

    /// The structural effects of the input occurrence `[s, e)`.
    fn evaluate(&self, s: usize, e: usize) -> Vec<Evidence> {
        let mut evidence = Vec::new();
        let first = self.marks.partition_point(|m| m.pos < s);
        let in_span = self
            .marks
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|m| m.pos < e);
        for mark in in_span {
            let Some(token) = self.token(mark.token) else {
                continue;
            };
            if let Some(item) = self.mark_evidence(mark, token, s, e) {
                add(&mut evidence, item);
            }
        }
        for words in &self.words_by_depth {
            let before = words.partition_point(|&w| self.token(w).is_some_and(|t| t.start < s));
            let Some(&w) = before.checked_sub(1).and_then(|i| words.get(i)) else {
                continue;
            };
            let Some(word) = self.token(w) else { continue };
            if word.end <= s {
                continue;
            }
            if let Some(item) = self.word_evidence(w, word, s, e) {
                add(&mut evidence, item);
            }
        }
        // A command word or an option that the input writes together with more structure is
        // no coincidence.
        let more_structure = evidence.iter().any(|e| {
            matches!(
                e.rule,
                Rule::MultiToken | Rule::Operator | Rule::Substitution | Rule::Redirection
            ) || (e.rule == Rule::ArgumentInjection && e.confidence == Confidence::High)
        });
        if more_structure {
            for item in evidence
                .iter_mut()
                .filter(|e| matches!(e.rule, Rule::CommandWord | Rule::ArgumentInjection))
            {
                item.confidence = Confidence::High;
                item.coincidental = false;
                if let Some(word) = &item.word {
                    item.what = format!("adds the command word `{word}`");
                }
            }
        }
        evidence
    }

    /// Evidence from one structural mark inside the span `[s, e)`.
    fn mark_evidence(&self, mark: &Mark, token: &Token, s: usize, e: usize) -> Option<Evidence> {
        let text = token.text(self.src);
        let i = mark.token;
        let high = Confidence::High;
        let medium = Confidence::Medium;
        match (mark.kind, token.kind) {
            (MarkKind::Structure, TokenKind::Operator(op)) => {
                let what = match op {
                    Operator::Newline => "adds a newline, which starts a new command".to_owned(),
                    Operator::OpenParen | Operator::CloseParen => {
                        format!("adds the subshell parenthesis `{text}`")
                    }
                    _ => format!("adds the control operator `{text}`"),
                };
                Some(Evidence::new(Rule::Operator, high, what, i))
            }
            (MarkKind::Structure, TokenKind::Redirect(_)) => {
                let what = format!("adds the redirection `{}`", shown(text, 12));
                Some(Evidence::new(Rule::Redirection, high, what, i))
            }
            (MarkKind::Opener | MarkKind::Closer, TokenKind::Substitution(_)) => {
                let what = format!("adds the command substitution `{}`", shown(text, 40));
                Some(Evidence::new(Rule::Substitution, high, what, i))
            }
            (MarkKind::Opener | MarkKind::Closer, TokenKind::Quote(_)) => {
                let partner = if mark.kind == MarkKind::Opener {
                    token.end.saturating_sub(1)
                } else {
                    token.start
                };
                if (s..e).contains(&partner) {
                    return None;
                }
                let what = format!(
                    "breaks out of the application's quoting (the quote pair `{}`)",
                    shown(text, 40)
                );
                Some(Evidence::new(Rule::QuoteBreak, medium, what, i))
            }
            (MarkKind::Dollar, TokenKind::Expansion(kind)) => {
                let (confidence, what) = match kind {
                    ExpansionKind::Special => return None,
                    _ if is_ifs(text) => (
                        high,
                        format!("adds `{text}`, which splits words like a blank"),
                    ),
                    ExpansionKind::Arithmetic => (
                        medium,
                        format!("adds the arithmetic expansion `{}`", shown(text, 40)),
                    ),
                    ExpansionKind::Named | ExpansionKind::Braced => (
                        medium,
                        format!("adds the parameter expansion `{}`", shown(text, 40)),
                    ),
                };
                Some(Evidence::new(Rule::Expansion, confidence, what, i))
            }
            (MarkKind::Comment, _) => {
                let what = "starts a `#` comment that discards the rest of the line".to_owned();
                Some(Evidence::new(Rule::Comment, medium, what, i))
            }
            (MarkKind::Backslash, _) if token.end > e => {
                let what =
                    "ends with a backslash that escapes the application's next character".into();
                Some(Evidence::new(Rule::QuoteBreak, medium, what, i))
            }
            (MarkKind::Blank, _) => self.blank_evidence(token, i, e),
            (MarkKind::Brace, _) => {
                let what =
                    "adds an unquoted brace expansion, which expands to several words".to_owned();
                Some(Evidence::new(Rule::BraceExpansion, medium, what, i))
            }
            (MarkKind::WordStart, _) => self.word_evidence(i, token, s, e),
            _ => None,
        }
    }

    /// A blank inside the span splits the text into more words than the application wrote.
    fn blank_evidence(&self, blank: &Token, i: usize, e: usize) -> Option<Evidence> {
        if blank.end >= e || !self.ends_word(blank.start) {
            return None;
        }
        let next = self.lexed.tokens.partition_point(|t| t.start < blank.end);
        let word = self
            .lexed
            .tokens
            .get(next..)
            .unwrap_or_default()
            .iter()
            .take_while(|t| t.start == blank.end)
            .find(|t| matches!(t.kind, TokenKind::Word(_)))?;
        let text = word.text(self.src);
        Some(match option_of(word, text) {
            Some(option) => Evidence::new(
                Rule::ArgumentInjection,
                Confidence::High,
                format!(
                    "adds the option `{}` as an extra argument",
                    shown(&option, 40)
                ),
                i,
            ),
            None => Evidence::new(
                Rule::MultiToken,
                Confidence::Medium,
                format!(
                    "splits into several words (adds the word `{}`)",
                    shown(text, 40)
                ),
                i,
            ),
        })
    }

    /// True when the byte before `at` belongs to a word (a blank at `at` ends that word).
    fn ends_word(&self, at: usize) -> bool {
        at.checked_sub(1)
            .and_then(|p| self.src.as_bytes().get(p))
            .is_some_and(|b| !b" \t\n;&|()<>`".contains(b))
    }

    /// Evidence from a word that the span `[s, e)` overlaps.
    fn word_evidence(&self, i: usize, word: &Token, s: usize, e: usize) -> Option<Evidence> {
        let TokenKind::Word(role) = word.kind else {
            return None;
        };
        let text = word.text(self.src);
        match role {
            WordRole::Command | WordRole::Reserved => {
                let part = self
                    .src
                    .get(s.max(word.start)..e.min(word.end))
                    .unwrap_or("");
                let special = part
                    .bytes()
                    .any(|b| COMMAND_WORD_SPECIALS.contains(&b) || b.is_ascii_control());
                if special {
                    Some(Evidence::command_word(text, Confidence::High, i))
                } else if s <= word.start && e >= word.end {
                    Some(Evidence::command_word(text, Confidence::Medium, i))
                } else {
                    None
                }
            }
            WordRole::Assignment { eq } if s <= eq && eq < e => {
                let name = self.src.get(word.start..=eq).unwrap_or("");
                let what = format!("adds the variable assignment `{}`", shown(name, 40));
                Some(Evidence::new(Rule::Assignment, Confidence::High, what, i))
            }
            WordRole::Argument {
                after_end_of_options: false,
            } => {
                let lead = self.src.get(word.start..s).unwrap_or("x");
                if !lead.bytes().all(|b| b == b'\'' || b == b'"') {
                    return None;
                }
                let option = option_of(word, text)?;
                let what = format!("starts the option `{}`", shown(&option, 40));
                // An option carrying a value or a path does something; a bare flag may not.
                let confidence = if option.contains(['=', '/']) {
                    Confidence::High
                } else {
                    Confidence::Medium
                };
                let mut item = Evidence::new(Rule::ArgumentInjection, confidence, what, i);
                item.coincidental = true;
                Some(item)
            }
            _ => None,
        }
    }
}

/// The option an argument word spells (`-x`, `--out=…`), if it is one.
fn option_of(word: &Token, text: &str) -> Option<String> {
    if !matches!(
        word.kind,
        TokenKind::Word(WordRole::Argument {
            after_end_of_options: false
        })
    ) {
        return None;
    }
    let lit = lexer::literal(text);
    let rest = lit.strip_prefix('-')?;
    let negative_number = rest.bytes().any(|b| b.is_ascii_digit())
        && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (!rest.is_empty() && rest != "-" && !negative_number).then(|| lit.into_owned())
}

/// `$IFS` or `${IFS…}`.
fn is_ifs(expansion: &str) -> bool {
    let name = expansion
        .trim_start_matches('$')
        .trim_start_matches('{')
        .trim_start_matches(['#', '!']);
    name.starts_with("IFS")
        && !name
            .as_bytes()
            .get(3)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

fn describe_error(kind: lexer::LexErrorKind) -> &'static str {
    use lexer::LexErrorKind as K;
    match kind {
        K::UnterminatedQuote => "unterminated quote",
        K::UnterminatedSubstitution => "unterminated command substitution",
        K::UnterminatedExpansion => "unterminated expansion",
        K::UnclosedParen => "unclosed parenthesis",
        K::TooDeep => "nesting too deep",
    }
}

/// `text` truncated to `max` characters, control characters escaped.
fn shown(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// "a", "a and b", "a, b and c".
fn join(phrases: &[&str]) -> String {
    match phrases {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Input;

    fn run(command: &str, value: &str) -> Option<Finding> {
        let input = Input::new("query.q", value);
        check(command, &[input.view()], &DetectorSettings::default())
    }

    /// Asserts a finding with `rule` and `confidence`, and returns its reason.
    fn flagged(command: &str, value: &str, rule: &str, confidence: Confidence) -> String {
        let f = run(command, value).unwrap_or_else(|| panic!("missed: {command:?} / {value:?}"));
        assert_eq!(
            (f.rule_id.as_ref(), f.confidence),
            (rule, confidence),
            "{command:?} / {value:?}: {}",
            f.reason
        );
        f.reason
    }

    fn benign(command: &str, value: &str) {
        if let Some(f) = run(command, value) {
            panic!(
                "false positive on {command:?} / {value:?}: {} {}",
                f.rule_id, f.reason
            );
        }
    }

    const HIGH: Confidence = Confidence::High;
    const MEDIUM: Confidence = Confidence::Medium;

    #[test]
    fn operators_and_substitutions() {
        let reason = flagged("ping -c 1 x; id", "x; id", "shell.operator", HIGH);
        assert_eq!(
            reason,
            "input `x; id` adds the control operator `;` and adds the command word `id`"
        );
        flagged("ping -c 1 x && id", "x && id", "shell.operator", HIGH);
        flagged("ping -c 1 x | id", "x | id", "shell.operator", HIGH);
        flagged("ping -c 1 x\nid", "x\nid", "shell.operator", HIGH);
        flagged("ping -c 1 $(id)", "$(id)", "shell.substitution", HIGH);
        flagged("ping -c 1 `id`", "`id`", "shell.substitution", HIGH);
        flagged("echo \"hi $(id)\"", "hi $(id)", "shell.substitution", HIGH);
        flagged("cat <(id)", "<(id)", "shell.substitution", HIGH);
    }

    #[test]
    fn spans_point_at_the_input() {
        let f = run("ping -c 1 8.8.8.8; id", "8.8.8.8; id").expect("flagged");
        assert_eq!(f.span, Some((10, 21)));
        assert_eq!(f.input.map(|i| i.origin), Some("query.q".to_owned()));
    }

    #[test]
    fn redirections_and_comments() {
        flagged("echo x > /tmp/x", "x > /tmp/x", "shell.redirection", HIGH);
        flagged("cat a 2>&1", "a 2>&1", "shell.redirection", HIGH);
        flagged("grep x # --count f", "x #", "shell.comment", MEDIUM);
        assert!(
            run("echo hello Zoe Smith", "Zoe Smith").is_none(),
            "plain words splitting into arguments are data"
        );
    }

    #[test]
    fn quote_breaking() {
        flagged("echo 'a'; id #'", "a'; id #", "shell.operator", HIGH);
        flagged(
            "echo \"a\"; id; \"\"",
            "a\"; id; \"",
            "shell.operator",
            HIGH,
        );
        flagged("echo 'it's'", "it's", "shell.quote-break", MEDIUM);
        flagged("echo 'O'Brien's'", "O'Brien's", "shell.quote-break", MEDIUM);
        flagged("echo \"ab\\\" c", "ab\\", "shell.quote-break", MEDIUM);
        flagged(
            "echo 'x' '-rf'",
            "x' '-rf",
            "shell.argument-injection",
            HIGH,
        );
    }

    #[test]
    fn evasions() {
        flagged(
            "cat${IFS}/etc/hostname",
            "cat${IFS}/etc/hostname",
            "shell.command-word",
            HIGH,
        );
        flagged("ls x${IFS}/etc", "x${IFS}/etc", "shell.expansion", HIGH);
        flagged(
            "{cat,/etc/hostname}",
            "{cat,/etc/hostname}",
            "shell.command-word",
            HIGH,
        );
        flagged("ls {a,b}", "{a,b}", "shell.brace-expansion", MEDIUM);
        flagged(
            "c'a't /etc/hostname",
            "c'a't /etc/hostname",
            "shell.command-word",
            HIGH,
        );
        flagged("i\"\"d", "i\"\"d", "shell.command-word", HIGH);
        flagged(
            "/???/c?t /etc/hostname",
            "/???/c?t /etc/hostname",
            "shell.command-word",
            HIGH,
        );
        flagged("time id", "time id", "shell.command-word", HIGH);
        flagged("nice -n 5 ./x", "./x", "shell.command-word", HIGH);
        flagged(
            "ca\\\nt /etc/hostname",
            "ca\\\nt /etc/hostname",
            "shell.command-word",
            HIGH,
        );
        flagged(
            "LD_PRELOAD=/tmp/x.so ls",
            "LD_PRELOAD=/tmp/x.so",
            "shell.assignment",
            HIGH,
        );
        flagged("echo $HOME", "$HOME", "shell.expansion", MEDIUM);
    }

    #[test]
    fn whole_plain_command_word_is_medium() {
        flagged("uptime", "uptime", "shell.command-word", MEDIUM);
        flagged("sudo -u www uptime", "uptime", "shell.command-word", MEDIUM);
    }

    #[test]
    fn unparsable_commands_with_input_quotes() {
        flagged("echo 'ab", "'ab", "shell.unbalanced", MEDIUM);
        flagged("echo $(((", "$(((", "shell.unbalanced", MEDIUM);
        let deep = format!("echo {}", "$(".repeat(40));
        flagged(&deep, &"$(".repeat(40), "shell.unbalanced", HIGH);
    }

    #[test]
    fn data_stays_data() {
        benign("echo 'hello world'", "hello world");
        benign("grep \"it's\" notes.txt", "it's");
        benign("ping -c 1 example.com", "example.com");
        benign("convert a.png b.jpg", "a.png");
        benign("git log --author=\"Jane Doe\"", "Jane Doe");
        benign("echo 'a; id | $(x) `y` > z'", "a; id | $(x) `y` > z");
        benign("echo \"a; id | > z\"", "a; id | > z");
        benign("grep -r -- '-v' .", "-v");
        benign("git grep -n 'git'", "git");
        benign("/usr/bin/convert in.png out.png", "bin");
        benign("echo \"price: $5\"", "price: $5");
        benign("echo 'naïve café'", "naïve café");
        benign("head -n -5 f", "-5");
        benign("cat <<'EOF'\n$(id); x\nEOF\n", "$(id); x");
        benign("echo x ", "x ");
    }

    #[test]
    fn options_before_end_of_options() {
        flagged(
            "tar -xf '--to-command=id'",
            "--to-command=id",
            "shell.argument-injection",
            HIGH,
        );
        flagged(
            "grep -r \"-v\" /srv",
            "-v\"",
            "shell.argument-injection",
            MEDIUM,
        );
        flagged(
            "curl -o /tmp/x u",
            "-o /tmp/x",
            "shell.argument-injection",
            HIGH,
        );
    }

    #[test]
    fn short_inputs_are_ignored() {
        benign("echo a;b", ";b");
    }

    #[test]
    fn helpers() {
        assert!(is_ifs("$IFS"));
        assert!(is_ifs("${IFS}"));
        assert!(is_ifs("${IFS:0:1}"));
        assert!(!is_ifs("$IFSX"));
        assert_eq!(join(&["a", "b", "c"]), "a, b and c");
        assert_eq!(shown("a\nb", 10), "a\\nb");
        assert_eq!(shown("abcdef", 3), "abc…");
    }
}

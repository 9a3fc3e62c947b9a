//! SQL injection: did a user input change the structure of the statement?
//!
//! The engine hands over only the *candidates*: inputs whose value occurs verbatim in the query.
//! The query is tokenized once per call by [`lexer`] (dialect-aware: MySQL `#` comments,
//! backslash escapes and `"…"` strings, PostgreSQL `E'…'` and `$tag$…$tag$`, SQLite `[ident]`)
//! and every occurrence of every candidate is judged against that single token list.
//!
//! # What counts as injection
//! An occurrence that lies inside one token is data: a value inside one string literal, quoted
//! identifier or comment, a number, a single identifier or keyword (a sort column `price`, a
//! direction `DESC`). The exceptions are an occurrence that *supplies* a comment delimiter
//! (`sqli.comment`) and one whose trailing backslash escapes the literal's closing quote
//! (`sqli.quote-break`, the MySQL `\'` trick). An occurrence spanning several tokens is judged
//! by what it adds, strongest rule first:
//!
//! | rule | confidence | the input … |
//! |---|---|---|
//! | `sqli.stacked-query` | High | contains a `;` followed by more code |
//! | `sqli.union` | High | contains the keyword `UNION` |
//! | `sqli.comment` | High | opens a comment (`--`, MySQL `#`, `/*`, `/*!`) or closes the application's |
//! | `sqli.tautology` | High | adds `OR`/`XOR` (MySQL `\|\|`) whose operand is constant: `OR 1=1`, `OR 'a'='a`, `OR TRUE` |
//! | `sqli.quote-break` | High | starts inside a string literal or quoted identifier and ends outside it |
//! | `sqli.inline-comment` | High | uses a `/**/` comment as whitespace (`UNION/**/SELECT`) |
//! | `sqli.multi-token` | Medium | is not a plain list and covers ≥ 4 tokens or adds a keyword, operator, call or bracket |
//! | `sqli.untokenizable` | Medium | occurs in a query that does not tokenize (unterminated quote) |
//!
//! A *plain list* — literals, identifiers (dotted), sort modifiers and commas, e.g. `1, 2, 3`,
//! `'a','b'`, `name DESC, id` — never counts as a structure change: that is how IN lists and
//! ORDER BY column lists reach a query. ORDER BY *expressions* (`(CASE WHEN …)`, `IF(…)`,
//! `price LIMIT 1`) are not plain and are flagged.
//!
//! # Policy choices
//! * **Whole-query inputs are not flagged.** An input that covers the entire statement
//!   (surrounding whitespace and a trailing `;` aside) is an application that runs user SQL by
//!   design — a DB admin console, a report builder. Blocking it would break such tools
//!   without stopping anything: whoever can send the whole query needs no injection.
//! * **Untokenizable is never a free pass.** A query with an unterminated literal that contains
//!   a candidate is reported (`sqli.untokenizable`, Medium). The unterminated rest is first
//!   read as one literal and analysed like any query, so an input that broke out of a quote is
//!   still reported by its strongest High rule. A query without any candidate is the
//!   application's own bug and is left to the database.
//! * Inputs shorter than `min_input_len` bytes are ignored: short values occur by coincidence.
//!
//! # Cost
//! Nothing is tokenized unless a long-enough candidate exists. Then: one lexer pass (one `Vec`
//! of 24-byte tokens), one `memmem` search per candidate, and per occurrence a binary search plus
//! a walk over the tokens it covers. The first 64 occurrences of a candidate are searched
//! overlapping (a periodic input cannot hide its real occurrence behind an overlapping decoy);
//! later ones non-overlapping, which keeps the total work linear in the query length.
//! Nothing panics: every index into the query or the token list goes through `get`.

mod keywords;
pub mod lexer;

use memchr::memmem;

use self::keywords::{WordClass, classify};
use self::lexer::{LexError, Token, TokenKind};
use crate::config::DetectorSettings;
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::input::InputRef;
use crate::sink::SqlDialect;

/// Non-plain spans covering at least this many tokens are a structure change on their own.
const MULTI_TOKEN_THRESHOLD: usize = 4;

/// Occurrences of one candidate searched overlapping before switching to non-overlapping.
const OVERLAP_LIMIT: usize = 64;

/// Tokens looked at after `OR` to decide whether its operand is constant.
const OPERAND_LOOKAHEAD: usize = 8;

/// Characters shown of an input in a reason.
const SHOWN_CHARS: usize = 60;

/// Checks SQL text against the inputs that occur in it.
///
/// Returns the strongest finding (the first High one, else the first Medium one), with the
/// byte span of the offending occurrence in `query`.
pub fn check(
    query: &str,
    dialect: SqlDialect,
    candidates: &[InputRef<'_>],
    cfg: &DetectorSettings,
) -> Option<Finding> {
    let min_len = cfg.min_input_len.max(1);
    let inputs: Vec<InputRef<'_>> = candidates
        .iter()
        .copied()
        .filter(|i| i.value.len() >= min_len)
        .collect();
    if inputs.is_empty() {
        return None;
    }
    let mut tokens = Vec::with_capacity(query.len() / 3 + 4);
    let lex_error = lexer::tokenize(query, dialect, &mut tokens).err();
    if lex_error.is_some() {
        // Best effort: read the unterminated rest as one literal, so an input that broke out
        // of a quote is still explained by its strongest rule.
        let from = tokens.last().map_or(0, |t| t.end);
        tokens.push(Token {
            kind: TokenKind::String,
            start: from,
            end: query.len(),
        });
    }
    let q = Query::new(query, dialect, tokens);
    let mut best: Option<Finding> = None;
    for &input in &inputs {
        for (s, e) in occurrences(query, input.value) {
            let Some(v) = analyze(&q, s, e) else {
                continue;
            };
            let finding = Finding {
                detector: DetectorKind::Sqli,
                rule_id: v.rule.into(),
                input: Some(input.to_input()),
                span: Some((s, e)),
                reason: format!(
                    "input `{}` ({}) at bytes {s}..{e} {}",
                    show(input.value),
                    input.origin,
                    v.why
                ),
                confidence: v.confidence,
            };
            if finding.confidence == Confidence::High {
                return Some(finding);
            }
            best.get_or_insert(finding);
        }
    }
    match lex_error {
        Some(err) => untokenizable(query, dialect, err, &inputs).or(best),
        None => best,
    }
}

/// The tokenized query and a few facts precomputed once for all occurrences.
struct Query<'q> {
    text: &'q str,
    dialect: SqlDialect,
    tokens: Vec<Token>,
    /// Byte range of the statement without surrounding whitespace and trailing `;`.
    content: Option<(usize, usize)>,
    /// Index of the last token that is code (not whitespace, comment or `;`).
    last_code: Option<usize>,
}

impl<'q> Query<'q> {
    fn new(text: &'q str, dialect: SqlDialect, tokens: Vec<Token>) -> Self {
        let is_code = |t: &Token| {
            !matches!(
                t.kind,
                TokenKind::Whitespace
                    | TokenKind::LineComment
                    | TokenKind::BlockComment
                    | TokenKind::Semicolon
            )
        };
        let first = tokens.iter().find(|t| t.kind != TokenKind::Whitespace);
        let last = tokens
            .iter()
            .rev()
            .find(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::Semicolon));
        let content = first.zip(last).map(|(f, l)| (f.start, l.end));
        let last_code = tokens.iter().rposition(is_code);
        Self {
            text,
            dialect,
            tokens,
            content,
            last_code,
        }
    }

    fn text_of(&self, t: &Token) -> &'q str {
        self.text.get(t.start..t.end).unwrap_or_default()
    }

    /// True when `[s, e)` covers the whole statement.
    fn is_whole(&self, s: usize, e: usize) -> bool {
        self.content.is_some_and(|(a, b)| s <= a && e >= b)
    }

    /// Index of the next token after `k` that is not whitespace.
    fn next_non_space(&self, k: usize) -> Option<usize> {
        let rest = self.tokens.get(k + 1..)?;
        rest.iter()
            .position(|t| t.kind != TokenKind::Whitespace)
            .map(|p| k + 1 + p)
    }

    /// True when the word at `k` is called: followed by `(` at an index `<= within`.
    fn is_call(&self, k: usize, within: usize) -> bool {
        self.next_non_space(k).is_some_and(|n| {
            n <= within
                && self
                    .tokens
                    .get(n)
                    .is_some_and(|t| t.kind == TokenKind::LParen)
        })
    }

    fn is_mysql_op(&self, t: &Token, op: &str) -> bool {
        self.dialect == SqlDialect::Mysql && t.kind == TokenKind::Operator && self.text_of(t) == op
    }

    /// The operand after the disjunction at `k` when it is a constant condition (`1`, `1=1`,
    /// `'a'='a'`, `TRUE`, `NOT 0`, `2>1`, `x=x`): the operand's text, else `None`. A lone falsy
    /// literal (`OR 0`, `OR ''`) is not a tautology.
    fn constant_operand(&self, k: usize) -> Option<&'q str> {
        let mut seen: [Option<Token>; OPERAND_LOOKAHEAD] = [None; OPERAND_LOOKAHEAD];
        let mut n = 0;
        let mut literal = false;
        let mut truthy = false;
        let mut identifiers = 0;
        for t in self.tokens.get(k + 1..).unwrap_or_default() {
            let text = self.text_of(t);
            match t.kind {
                TokenKind::Whitespace | TokenKind::BlockComment => continue,
                TokenKind::Number => {
                    literal = true;
                    truthy |= text.bytes().any(|c| matches!(c, b'1'..=b'9'));
                }
                TokenKind::String => literal = true,
                TokenKind::Word => match classify(text) {
                    WordClass::Constant => {
                        literal = true;
                        truthy |= text.eq_ignore_ascii_case("TRUE");
                    }
                    WordClass::Conjunction if text.eq_ignore_ascii_case("NOT") => truthy = true,
                    WordClass::Plain => identifiers += 1,
                    _ => break,
                },
                TokenKind::QuotedIdent => identifiers += 1,
                TokenKind::Operator if self.is_mysql_op(t, "||") || self.is_mysql_op(t, "&&") => {
                    break;
                }
                TokenKind::Operator => truthy = true,
                TokenKind::LParen => {}
                _ => break,
            }
            let Some(slot) = seen.get_mut(n) else {
                break;
            };
            *slot = Some(*t);
            n += 1;
        }
        let used = seen.get(..n).unwrap_or_default();
        let constant = if identifiers == 0 {
            // With an operator or NOT the operand is a constant condition; alone, a literal
            // must be truthy.
            literal && truthy
        } else {
            // `x = x`: the same identifier on both sides of `=`.
            match used {
                [Some(a), Some(op), Some(b)] => {
                    self.text_of(op) == "=" && self.text_of(a).eq_ignore_ascii_case(self.text_of(b))
                }
                _ => false,
            }
        };
        let (Some(Some(first)), Some(Some(last))) = (used.first(), used.last()) else {
            return None;
        };
        constant.then(|| self.text.get(first.start..last.end).unwrap_or_default())
    }
}

/// Why an occurrence is injection.
struct Verdict {
    rule: &'static str,
    confidence: Confidence,
    why: String,
}

impl Verdict {
    fn high(rule: &'static str, why: impl Into<String>) -> Option<Self> {
        Some(Self {
            rule,
            confidence: Confidence::High,
            why: why.into(),
        })
    }
}

/// What a multi-token occurrence adds to the statement.
#[derive(Default)]
struct Features {
    /// Non-whitespace tokens covered, partially covered edge tokens included.
    tokens: usize,
    stacked: bool,
    union: bool,
    comment: Option<&'static str>,
    inline_comment: bool,
    /// Index of the `OR` and its constant operand.
    tautology: Option<(usize, String)>,
    /// Start of the literal the input breaks out of.
    quote_break: Option<usize>,
    /// The first structural token: a description and its index.
    structure: Option<(&'static str, usize)>,
}

impl Features {
    fn note(&mut self, what: &'static str, k: usize) {
        self.structure.get_or_insert((what, k));
    }
}

/// Judges one occurrence `[s, e)`.
fn analyze(q: &Query<'_>, s: usize, e: usize) -> Option<Verdict> {
    let toks = &q.tokens;
    let i0 = toks.partition_point(|t| t.end <= s);
    let i1 = toks.partition_point(|t| t.start < e).checked_sub(1)?;
    let first = *toks.get(i0)?;
    if i1 < i0 || q.is_whole(s, e) {
        return None;
    }
    if i0 == i1 {
        return single_token(q, &first, s, e);
    }
    let mut f = Features::default();
    match first.kind {
        TokenKind::String | TokenKind::QuotedIdent if s > first.start => {
            f.quote_break = Some(first.start);
        }
        TokenKind::LineComment | TokenKind::BlockComment if s > first.start => {
            f.comment = Some("ends the application's comment and continues as code");
        }
        _ => {}
    }
    for (k, t) in toks.iter().enumerate().take(i1 + 1).skip(i0) {
        if t.kind == TokenKind::Whitespace {
            continue;
        }
        f.tokens += 1;
        let text = q.text_of(t);
        let partial = t.start < s || t.end > e;
        match t.kind {
            TokenKind::LineComment if t.start >= s => {
                f.comment
                    .get_or_insert("opens a comment that hides the rest of the query");
            }
            TokenKind::BlockComment if t.start >= s => {
                if t.end > e || !is_closed_block(text) {
                    f.comment.get_or_insert(
                        "opens a block comment that swallows the query text after it",
                    );
                } else {
                    f.inline_comment = true;
                }
            }
            TokenKind::ExecCommentOpen | TokenKind::ExecCommentClose => {
                f.comment
                    .get_or_insert("adds a MySQL executable comment delimiter `/*!` or `*/`");
            }
            TokenKind::Semicolon if q.last_code.is_some_and(|l| l > k) => f.stacked = true,
            TokenKind::Word if !partial => match classify(text) {
                WordClass::Union => f.union = true,
                WordClass::Disjunction => {
                    f.note("the keyword", k);
                    if f.tautology.is_none() {
                        f.tautology = q.constant_operand(k).map(|op| (k, op.to_owned()));
                    }
                }
                WordClass::Conjunction | WordClass::Structural => f.note("the keyword", k),
                _ if q.is_call(k, i1) => f.note("a call to", k),
                _ => {}
            },
            TokenKind::Word if q.is_call(k, i1) => f.note("a call to", k),
            TokenKind::Operator if q.is_mysql_op(t, "||") => {
                f.note("the operator", k);
                if f.tautology.is_none() {
                    f.tautology = q.constant_operand(k).map(|op| (k, op.to_owned()));
                }
            }
            TokenKind::Operator => f.note("the operator", k),
            TokenKind::LParen | TokenKind::RParen | TokenKind::Punct | TokenKind::Other => {
                f.note("the symbol", k);
            }
            _ => {}
        }
    }
    decide(q, &f, plain_list(q, i0, i1, s, e))
}

/// Picks the strongest rule among the features of a multi-token occurrence.
fn decide(q: &Query<'_>, f: &Features, plain: bool) -> Option<Verdict> {
    let token_text = |k: usize| q.tokens.get(k).map_or("", |t| q.text_of(t));
    let (rule, confidence, what) = if f.stacked {
        (
            "sqli.stacked-query",
            Confidence::High,
            "ends the statement with `;` and starts another one (stacked query)".to_owned(),
        )
    } else if f.union {
        (
            "sqli.union",
            Confidence::High,
            "adds UNION, appending the rows of another query".to_owned(),
        )
    } else if let Some(c) = f.comment {
        ("sqli.comment", Confidence::High, c.to_owned())
    } else if let Some((k, operand)) = &f.tautology {
        (
            "sqli.tautology",
            Confidence::High,
            format!(
                "adds the operator {} with the constant operand `{}` (tautology)",
                token_text(*k),
                show(operand)
            ),
        )
    } else if let Some(at) = f.quote_break {
        (
            "sqli.quote-break",
            Confidence::High,
            format!(
                "starts inside the quoted literal at byte {at} and continues past its closing quote"
            ),
        )
    } else if f.inline_comment {
        (
            "sqli.inline-comment",
            Confidence::High,
            "uses `/*…*/` comments as whitespace between tokens".to_owned(),
        )
    } else if !plain && (f.tokens >= MULTI_TOKEN_THRESHOLD || f.structure.is_some()) {
        let what = match f.structure {
            Some((desc, k)) => format!("adds {desc} `{}`", show(token_text(k))),
            None => "is not a plain list of values or columns".to_owned(),
        };
        ("sqli.multi-token", Confidence::Medium, what)
    } else {
        return None;
    };
    let escape = match f.quote_break {
        Some(at) if rule != "sqli.quote-break" => {
            format!(" after breaking out of the quoted literal at byte {at}")
        }
        _ => String::new(),
    };
    Some(Verdict {
        rule,
        confidence,
        why: format!("spans {} tokens and {what}{escape}", f.tokens),
    })
}

/// An occurrence inside one token: data, unless it supplies a comment delimiter or its
/// trailing backslash escapes the literal's closing quote.
fn single_token(q: &Query<'_>, t: &Token, s: usize, e: usize) -> Option<Verdict> {
    let text = q.text_of(t);
    match t.kind {
        TokenKind::LineComment | TokenKind::BlockComment if s == t.start => Verdict::high(
            "sqli.comment",
            "opens a comment, hiding the query text that follows",
        ),
        TokenKind::BlockComment if e == t.end && is_closed_block(text) => Verdict::high(
            "sqli.comment",
            "closes the application's comment, so the text after it becomes code",
        ),
        TokenKind::ExecCommentOpen | TokenKind::ExecCommentClose => Verdict::high(
            "sqli.comment",
            "adds a MySQL executable comment delimiter `/*!` or `*/`",
        ),
        TokenKind::String | TokenKind::QuotedIdent => escaped_close(q, t, e),
        _ => None,
    }
}

/// The MySQL / `E'…'` trick: an input ending in an odd run of backslashes right before the
/// literal's quote escapes that quote, so the literal runs on over the application's SQL.
fn escaped_close(q: &Query<'_>, t: &Token, e: usize) -> Option<Verdict> {
    let b = q.text.as_bytes();
    let quote = *b.get(t.end.checked_sub(1)?)?;
    let escaped = matches!(quote, b'\'' | b'"')
        && b.get(t.start) != Some(&b'$')
        && e + 1 < t.end
        && b.get(e) == Some(&quote)
        && b.get(t.start..e)?
            .iter()
            .rev()
            .take_while(|&&c| c == b'\\')
            .count()
            % 2
            == 1;
    if !escaped {
        return None;
    }
    Verdict::high(
        "sqli.quote-break",
        format!(
            "ends with a backslash that escapes the closing quote at byte {e}, so the literal \
             swallows the query up to byte {}",
            t.end
        ),
    )
}

fn is_closed_block(text: &str) -> bool {
    text.len() >= 4 && text.ends_with("*/")
}

/// State of the plain-list recogniser.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListState {
    Start,
    Item,
    Modifier,
    Comma,
    Dot,
    Sign,
}

/// True when the covered tokens form a list of values or columns: items (literals, parameters,
/// dotted identifiers, signed numbers) separated by commas, each optionally followed by sort
/// modifiers (`DESC`, `NULLS LAST`). Partially covered edge words count as identifiers.
fn plain_list(q: &Query<'_>, i0: usize, i1: usize, s: usize, e: usize) -> bool {
    use ListState::*;
    let mut state = Start;
    for t in q.tokens.iter().take(i1 + 1).skip(i0) {
        let item_ok = matches!(state, Start | Comma);
        state = match t.kind {
            TokenKind::Whitespace => continue,
            TokenKind::Number if item_ok || state == Sign => Item,
            TokenKind::String | TokenKind::Placeholder if item_ok => Item,
            TokenKind::QuotedIdent if item_ok || state == Dot => Item,
            TokenKind::Word => {
                let class = if t.start < s || t.end > e {
                    WordClass::Plain
                } else {
                    classify(q.text_of(t))
                };
                match class {
                    WordClass::SortModifier if matches!(state, Item | Modifier) => Modifier,
                    WordClass::SortModifier | WordClass::Plain | WordClass::Constant
                        if item_ok || state == Dot =>
                    {
                        Item
                    }
                    _ => return false,
                }
            }
            TokenKind::Comma if matches!(state, Start | Item | Modifier) => Comma,
            TokenKind::Dot if state == Item => Dot,
            TokenKind::Operator => match q.text_of(t) {
                "-" | "+" if item_ok => Sign,
                "*" if item_ok || state == Dot => Item,
                _ => return false,
            },
            _ => return false,
        };
    }
    state != Sign
}

/// Reports an untokenizable query that contains a candidate, preferring the occurrence that
/// contains the error position.
fn untokenizable(
    query: &str,
    dialect: SqlDialect,
    err: LexError,
    inputs: &[InputRef<'_>],
) -> Option<Finding> {
    let body = query.trim_end_matches(|c: char| c.is_ascii_whitespace() || c == ';');
    let content = (query.len() - query.trim_start().len(), body.len());
    let mut best: Option<(u8, InputRef<'_>, usize, usize)> = None;
    'inputs: for &input in inputs {
        for (s, e) in occurrences(query, input.value) {
            if s <= content.0 && e >= content.1 {
                continue;
            }
            let score = if (s..e).contains(&err.at) {
                2
            } else {
                u8::from(input.value.contains(['\'', '"', '`', '$', '[', '\\']))
            };
            if best.is_none_or(|b| score > b.0) {
                best = Some((score, input, s, e));
            }
            if score == 2 {
                break 'inputs;
            }
        }
    }
    let (_, input, s, e) = best?;
    Some(Finding {
        detector: DetectorKind::Sqli,
        rule_id: "sqli.untokenizable".into(),
        input: Some(input.to_input()),
        span: Some((s, e)),
        reason: format!(
            "the query does not tokenize as {} SQL ({} at byte {}) and contains input `{}` ({}) \
             at bytes {s}..{e}",
            dialect_name(dialect),
            err.what,
            err.at,
            show(input.value),
            input.origin
        ),
        confidence: Confidence::Medium,
    })
}

fn dialect_name(d: SqlDialect) -> &'static str {
    match d {
        SqlDialect::Sqlite => "SQLite",
        SqlDialect::Postgresql => "PostgreSQL",
        SqlDialect::Mysql => "MySQL",
        SqlDialect::Generic => "generic",
    }
}

/// An input for a reason: at most [`SHOWN_CHARS`] characters, control characters escaped.
fn show(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars().take(SHOWN_CHARS) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if value.chars().nth(SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Byte ranges of `needle` in `hay` (see the module docs for the overlap bound).
fn occurrences<'a>(hay: &'a str, needle: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
    let finder = memmem::Finder::new(needle.as_bytes());
    let hay = hay.as_bytes();
    let len = needle.len().max(1);
    let mut pos = 0;
    let mut found = 0;
    std::iter::from_fn(move || {
        let s = pos + finder.find(hay.get(pos..)?)?;
        found += 1;
        pos = if found < OVERLAP_LIMIT {
            s + 1
        } else {
            s + len
        };
        Some((s, s + needle.len()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Input;

    fn run(query: &str, d: SqlDialect, value: &str) -> Option<Finding> {
        let input = Input::new("query.q", value);
        check(query, d, &[input.view()], &DetectorSettings::default())
    }

    fn rule(query: &str, d: SqlDialect, value: &str) -> Option<&'static str> {
        run(query, d, value).map(|f| match f.rule_id {
            std::borrow::Cow::Borrowed(id) => id,
            std::borrow::Cow::Owned(_) => unreachable!("built-in rule ids are static"),
        })
    }

    #[test]
    fn rules_fire_with_span_and_reason() {
        let q = "SELECT * FROM t WHERE id = 1 OR 1=1";
        let f = run(q, SqlDialect::Sqlite, "1 OR 1=1").expect("flagged");
        assert_eq!(f.rule_id, "sqli.tautology");
        assert_eq!(f.confidence, Confidence::High);
        assert_eq!(f.span, Some((27, 35)));
        assert!(f.reason.contains("spans 5 tokens"), "{}", f.reason);
        assert!(f.reason.contains("OR"), "{}", f.reason);
    }

    #[test]
    fn each_rule_has_a_trigger() {
        use SqlDialect::*;
        let cases = [
            (
                "SELECT 1 FROM t WHERE a = 1; SELECT 2",
                Sqlite,
                "1; SELECT 2",
                "sqli.stacked-query",
            ),
            (
                "SELECT a FROM t WHERE id = 1 UNION SELECT b FROM u",
                Postgresql,
                "1 UNION SELECT b FROM u",
                "sqli.union",
            ),
            (
                "SELECT a FROM t WHERE id = 1 -- AND hidden = 0",
                Generic,
                "1 -- ",
                "sqli.comment",
            ),
            (
                "SELECT a FROM t WHERE id = 1 # AND x",
                Mysql,
                "1 #",
                "sqli.comment",
            ),
            (
                "SELECT a FROM t WHERE n = 'x' OR 'a'='a'",
                Generic,
                "x' OR 'a'='a",
                "sqli.tautology",
            ),
            (
                "SELECT a FROM t WHERE n = 'x' AND 'a'='b'",
                Sqlite,
                "x' AND 'a'='b",
                "sqli.quote-break",
            ),
            (
                "SELECT a FROM t WHERE id = 1/**/AND/**/2>1",
                Mysql,
                "1/**/AND/**/2>1",
                "sqli.inline-comment",
            ),
            (
                "SELECT a FROM t WHERE id = 1 AND SLEEP(5)",
                Mysql,
                "1 AND SLEEP(5)",
                "sqli.multi-token",
            ),
            (
                "SELECT a FROM t WHERE n = 'abc",
                Generic,
                "abc",
                "sqli.untokenizable",
            ),
        ];
        for (q, d, v, want) in cases {
            assert_eq!(rule(q, d, v), Some(want), "{q}");
        }
    }

    #[test]
    fn data_stays_data() {
        use SqlDialect::*;
        let cases = [
            ("SELECT a FROM t WHERE n = 'O''Brien'", Sqlite, "O''Brien"),
            (r"SELECT a FROM t WHERE n = 'O\'Brien'", Mysql, r"O\'Brien"),
            (
                "SELECT a FROM t WHERE q LIKE '%select union%'",
                Postgresql,
                "select union",
            ),
            ("SELECT a FROM t WHERE id IN (1, 2, 3)", Generic, "1, 2, 3"),
            (
                "SELECT a FROM t ORDER BY name DESC, id",
                Mysql,
                "name DESC, id",
            ),
            ("SELECT a FROM t ORDER BY price", Sqlite, "price"),
            ("SELECT a FROM t WHERE id = -42", Sqlite, "-42"),
            (
                "SELECT a FROM t WHERE n = $$it's 1 OR 1=1$$",
                Postgresql,
                "it's 1 OR 1=1",
            ),
            ("SELECT 1; SELECT 2", Sqlite, "SELECT 1; SELECT 2"),
            (
                r#"SELECT a FROM t WHERE j = '{"a": [1, "x;y"]}'"#,
                Mysql,
                r#"{"a": [1, "x;y"]}"#,
            ),
        ];
        for (q, d, v) in cases {
            assert_eq!(run(q, d, v), None, "{q}");
        }
    }

    #[test]
    fn dialect_decides_escapes() {
        let v = r"x\' OR 1=1 -- ";
        let q = format!("SELECT a FROM t WHERE n = '{v}'");
        assert_eq!(rule(&q, SqlDialect::Mysql, v), None);
        assert_eq!(rule(&q, SqlDialect::Postgresql, v), Some("sqli.comment"));
        let pg = format!("SELECT a FROM t WHERE n = E'{v}'");
        assert_eq!(rule(&pg, SqlDialect::Postgresql, v), None);
    }

    #[test]
    fn trailing_backslash_escaping_the_quote_is_a_break() {
        let q = r"SELECT a FROM t WHERE u = 'abc\' AND p = ' OR 1=1 -- '";
        assert_eq!(
            rule(q, SqlDialect::Mysql, r"abc\"),
            Some("sqli.quote-break")
        );
        let even = r"SELECT a FROM t WHERE u = 'abc\\' AND p = 'x'";
        assert_eq!(rule(even, SqlDialect::Mysql, r"abc\\"), None);
    }

    #[test]
    fn short_inputs_and_absent_inputs_are_ignored() {
        assert_eq!(run("SELECT 1 OR 1", SqlDialect::Sqlite, "1 "), None);
        assert_eq!(run("SELECT 1", SqlDialect::Sqlite, "absent"), None);
        assert_eq!(
            run("SELECT 'unterminated", SqlDialect::Sqlite, "absent"),
            None
        );
    }

    #[test]
    fn shows_are_bounded_and_escaped() {
        assert_eq!(show("a\nb"), "a\\nb");
        assert_eq!(show(&"x".repeat(100)).chars().count(), SHOWN_CHARS + 1);
    }

    #[test]
    fn overlapping_occurrences_are_all_seen() {
        let hits: Vec<_> = occurrences("aaaa", "aa").collect();
        assert_eq!(hits, vec![(0, 2), (1, 3), (2, 4)]);
    }
}

//! A POSIX shell lexer (with the bash extensions applications meet) that keeps byte spans.
//!
//! The detector asks one question of this lexer: *which bytes of the command are structure?*
//! So instead of a syntax tree it produces a flat list of [`Token`]s, each with its byte span
//! into the original string and the nesting depth of the command it belongs to:
//!
//! * words, labelled with their [`WordRole`] — above all [`WordRole::Command`], the first word
//!   of every simple command, also after assignments, reserved words (`if`, `!`, `{`…), wrapper
//!   commands (`time`, `env -i`, `nice -n 5`, `timeout 5`, `sudo -u x`…) and inside command
//!   substitutions;
//! * the parts *inside* words that carry meaning: quotes, backslash escapes, command
//!   substitutions (`$(…)`, backticks, `<(…)`), parameter and arithmetic expansions, brace
//!   expansions (`{a,b}`);
//! * control operators (`;` `&` `&&` `||` `|` `|&` `;;` newline `(` `)`), redirections (with
//!   fd prefixes, heredocs and here-strings), comments, heredoc bodies, and blank runs.
//!
//! Invariants:
//! * every span lies on UTF-8 character boundaries of the source, so `src.get(span)` succeeds;
//! * tokens are sorted by start, an enclosing token before the tokens it contains;
//! * the work is linear in the input (plus a small constant number of re-scans for the
//!   `$((` arithmetic-or-subshell ambiguity), and recursion is bounded by [`MAX_DEPTH`];
//! * lexing never panics; malformed input (an unterminated quote, `$(` without `)`, nesting
//!   deeper than [`MAX_DEPTH`]) stops lexing with a [`LexError`] and keeps the tokens seen so
//!   far, because "could not parse" must never mean "nothing to see".

use std::borrow::Cow;

use memchr::memchr;

use super::prefix::{self, Step, WrapperArgs};

/// Deepest nesting of substitutions and expansions lexed; deeper input is a [`LexError`].
///
/// Real commands nest two or three levels; the bound keeps recursion (and stack use inside
/// whatever thread the agent runs on) small.
pub const MAX_DEPTH: u8 = 16;

/// Longest fd prefix of a redirection (`2>`, `10<`); longer digit runs are plain words.
const MAX_FD_DIGITS: usize = 9;

/// How many times the lexer may re-read `$((…` as a command substitution after it failed to
/// read it as arithmetic; bounds the re-scanning work.
const MAX_FALLBACKS: u8 = 4;

/// One lexical element with its byte span `[start, end)` in the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// What the bytes are.
    pub kind: TokenKind,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Nesting depth of the command the token belongs to (0 = top level; a substitution's
    /// token has the depth of its surroundings, its contents one more).
    pub depth: u8,
}

impl Token {
    /// The token's text in `src` (empty if `src` is not the lexed string).
    pub fn text<'s>(&self, src: &'s str) -> &'s str {
        src.get(self.start..self.end).unwrap_or("")
    }
}

/// The kind of a [`Token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A whole word (including its quotes, escapes and substitutions).
    Word(WordRole),
    /// A control operator.
    Operator(Operator),
    /// A redirection operator, fd prefix included; the target is the next word.
    Redirect(Redirect),
    /// A quoted region, delimiters included.
    Quote(QuoteStyle),
    /// A backslash and the character it escapes (or a backslash-newline continuation).
    Escape,
    /// A command substitution, delimiters included.
    Substitution(SubstStyle),
    /// A parameter or arithmetic expansion.
    Expansion(ExpansionKind),
    /// One structural character of an unquoted brace expansion (`{`, `,`, `..`, `}`).
    Brace(BracePart),
    /// A `#` comment up to (excluding) the newline.
    Comment,
    /// The body of a heredoc (data, although unquoted delimiters allow expansions in it).
    HeredocBody,
    /// A run of unquoted blanks separating words.
    Blank,
}

/// What a word does in its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordRole {
    /// The program run: first word of a simple command, or the program after a wrapper.
    Command,
    /// A reserved word in command position (`if`, `then`, `do`, `!`, `{`, `}`, `for`…).
    Reserved,
    /// An argument of the command.
    Argument {
        /// Whether an earlier `--` argument of the same command ended its options.
        after_end_of_options: bool,
    },
    /// A `NAME=value` assignment before the command (or after `env`).
    Assignment {
        /// Absolute byte offset of the `=`.
        eq: usize,
    },
    /// The word after a redirection operator.
    RedirectTarget,
    /// The delimiter word after `<<` or `<<-`.
    HeredocDelimiter,
}

/// Control operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `;`
    Semicolon,
    /// `&` (background)
    Background,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `|`
    Pipe,
    /// `|&`
    PipeBoth,
    /// `;;`, `;&`, `;;&` (end of a case branch)
    CaseEnd,
    /// A newline.
    Newline,
    /// `(` (subshell, function definition)
    OpenParen,
    /// `)`
    CloseParen,
}

/// Redirection operators (any fd prefix is part of the token span).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    /// `<`
    Input,
    /// `>`
    Output,
    /// `>>`
    Append,
    /// `>|`
    Clobber,
    /// `<>`
    ReadWrite,
    /// `<&`
    DupInput,
    /// `>&`
    DupOutput,
    /// `&>`
    OutputBoth,
    /// `&>>`
    AppendBoth,
    /// `<<`
    Heredoc,
    /// `<<-`
    HeredocStripTabs,
    /// `<<<`
    HereString,
}

/// Quoting styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteStyle {
    /// `'…'`
    Single,
    /// `"…"`
    Double,
    /// `$'…'` (bash ANSI-C quoting)
    AnsiC,
    /// `$"…"` (bash locale quoting)
    Locale,
}

/// Command substitution styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubstStyle {
    /// `$(…)`
    Dollar,
    /// `` `…` ``
    Backtick,
    /// `<(…)` (bash process substitution)
    ProcessInput,
    /// `>(…)` (bash process substitution)
    ProcessOutput,
}

/// Expansion kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpansionKind {
    /// `$NAME`
    Named,
    /// `$1`, `$@`, `$?`, `$$`… (positional and special parameters)
    Special,
    /// `${…}`
    Braced,
    /// `$((…))`
    Arithmetic,
}

/// Parts of a brace expansion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BracePart {
    /// `{`
    Open,
    /// `,` or `..`
    Separator,
    /// `}`
    Close,
}

/// Why lexing stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexErrorKind {
    /// A quote without its closing quote.
    UnterminatedQuote,
    /// `$(`, `` ` `` or `<(` without its end.
    UnterminatedSubstitution,
    /// `${` or `$((` without its end.
    UnterminatedExpansion,
    /// A subshell `(` never closed.
    UnclosedParen,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// A lexing failure and the byte offset of the construct that caused it (the opening quote,
/// the `$(`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexError {
    /// What went wrong.
    pub kind: LexErrorKind,
    /// Byte offset of the offending opener.
    pub at: usize,
}

/// The result of [`lex`]: the tokens (sorted) and the error that stopped lexing, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexed {
    /// Tokens sorted by start, enclosing tokens first.
    pub tokens: Vec<Token>,
    /// Set when the command could not be lexed to its end.
    pub error: Option<LexError>,
}

/// Lexes a shell command (the text given to `system`, `popen` or `sh -c`).
pub fn lex(src: &str) -> Lexed {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        heredocs: Vec::new(),
        fallbacks: MAX_FALLBACKS,
    };
    let error = lexer.list(0, src.len(), false).err();
    let mut tokens = lexer.tokens;
    // Enclosing first: by start, longer first, and a word before a quote of the same bytes.
    tokens.sort_by_key(|t| {
        let not_word = !matches!(t.kind, TokenKind::Word(_));
        (t.start, std::cmp::Reverse(t.end), not_word)
    });
    Lexed { tokens, error }
}

/// The word with quotes removed and backslash escapes resolved (expansions left as written).
pub fn literal(word: &str) -> Cow<'_, str> {
    if !word.contains(['\'', '"', '\\']) {
        return Cow::Borrowed(word);
    }
    #[derive(PartialEq)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut out = String::with_capacity(word.len());
    let mut quote = Quote::None;
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match (&quote, c) {
            (Quote::None, '\'') => quote = Quote::Single,
            (Quote::None, '"') => quote = Quote::Double,
            (Quote::None, '\\') => out.extend(chars.next().filter(|&n| n != '\n')),
            (Quote::Single, '\'') | (Quote::Double, '"') => quote = Quote::None,
            // Inside double quotes a backslash only escapes `$`, `` ` ``, `"`, `\` and newline.
            (Quote::Double, '\\') => match chars.peek() {
                Some('$' | '`' | '"' | '\\') => out.extend(chars.next()),
                Some('\n') => {
                    chars.next();
                }
                _ => out.push('\\'),
            },
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A heredoc whose body starts after the next newline.
struct PendingHeredoc {
    delimiter: String,
    strip_tabs: bool,
    expand: bool,
}

/// What the next word of a simple command will be.
#[derive(Debug, Clone, Copy, Default)]
enum Expect {
    /// Command position: assignments, reserved words, or the command word.
    #[default]
    Command,
    /// Arguments of the current command.
    Arguments,
    /// Arguments of a wrapper (`env`, `nice`…) until its program.
    Wrapper(WrapperArgs),
    /// Words of a `for`/`case`/`select` header: plain data.
    Header,
}

/// A word expected after an operator, whatever the command position.
#[derive(Debug, Clone, Copy, Default)]
enum Pending {
    #[default]
    Nothing,
    RedirectTarget,
    HeredocDelimiter {
        strip_tabs: bool,
    },
}

/// Position within one simple command, for labelling words.
#[derive(Debug, Clone, Copy, Default)]
struct CommandState {
    expect: Expect,
    pending: Pending,
    end_of_options: bool,
}

impl CommandState {
    /// After a control operator: a new command starts.
    fn reset(&mut self) {
        *self = Self::default();
    }

    /// After `)` or `}`/`fi`/`done`/`esac`: only redirections and operators may follow.
    fn after_compound(&mut self) {
        *self = Self {
            expect: Expect::Arguments,
            ..Self::default()
        };
    }

    /// Labels the word `text` starting at byte `start`.
    fn classify(&mut self, text: &str, start: usize) -> WordRole {
        match std::mem::take(&mut self.pending) {
            Pending::RedirectTarget => return WordRole::RedirectTarget,
            Pending::HeredocDelimiter { .. } => return WordRole::HeredocDelimiter,
            Pending::Nothing => {}
        }
        match self.expect {
            Expect::Command => {
                if let Some(eq) = prefix::assignment_eq(text) {
                    return WordRole::Assignment { eq: start + eq };
                }
                match text {
                    "!" | "{" | "if" | "then" | "else" | "elif" | "while" | "until" | "do" => {
                        WordRole::Reserved
                    }
                    "}" | "fi" | "done" | "esac" => {
                        self.after_compound();
                        WordRole::Reserved
                    }
                    "for" | "select" | "case" | "function" => {
                        self.expect = Expect::Header;
                        WordRole::Reserved
                    }
                    _ => self.command_word(text),
                }
            }
            Expect::Wrapper(mut args) => {
                let lit = literal(text);
                let step = args.feed(&lit);
                self.expect = Expect::Wrapper(args);
                match step {
                    Step::Option | Step::Operand => WordRole::Argument {
                        after_end_of_options: false,
                    },
                    Step::Assignment => WordRole::Assignment {
                        eq: start + prefix::assignment_eq(&lit).unwrap_or(0),
                    },
                    Step::Program => self.command_word(text),
                }
            }
            Expect::Arguments => {
                let role = WordRole::Argument {
                    after_end_of_options: self.end_of_options,
                };
                if text == "--" {
                    self.end_of_options = true;
                }
                role
            }
            Expect::Header => WordRole::Argument {
                after_end_of_options: false,
            },
        }
    }

    /// Labels a command word and prepares for its arguments (or a wrapped program).
    fn command_word(&mut self, text: &str) -> WordRole {
        let lit = literal(text);
        self.expect = match prefix::lookup(prefix::basename(&lit)) {
            Some(spec) => Expect::Wrapper(WrapperArgs::new(spec)),
            None => Expect::Arguments,
        };
        self.end_of_options = false;
        WordRole::Command
    }
}

type LexResult = Result<(), LexError>;

struct Lexer<'s> {
    src: &'s str,
    bytes: &'s [u8],
    pos: usize,
    tokens: Vec<Token>,
    heredocs: Vec<PendingHeredoc>,
    fallbacks: u8,
}

/// Length in bytes of the UTF-8 character starting with `lead`.
fn char_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

fn error(kind: LexErrorKind, at: usize) -> LexError {
    LexError { kind, at }
}

/// The depth of a construct nested in `depth`, or the error when that is too deep.
fn nested(depth: u8, at: usize) -> Result<u8, LexError> {
    depth
        .checked_add(1)
        .filter(|d| *d <= MAX_DEPTH)
        .ok_or(error(LexErrorKind::TooDeep, at))
}

impl Lexer<'_> {
    /// The byte at `i` when `i < end`.
    fn peek(&self, i: usize, end: usize) -> Option<u8> {
        if i < end {
            self.bytes.get(i).copied()
        } else {
            None
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize, end: usize, depth: u8) {
        self.tokens.push(Token {
            kind,
            start,
            end,
            depth,
        });
    }

    /// A command list up to `end`; with `in_subst`, stops before an unmatched `)`.
    fn list(&mut self, depth: u8, end: usize, in_subst: bool) -> LexResult {
        let mut state = CommandState::default();
        let mut open_parens: Vec<usize> = Vec::new();
        while let Some(c) = self.peek(self.pos, end) {
            let start = self.pos;
            let next = self.peek(start + 1, end);
            match c {
                b' ' | b'\t' => {
                    while matches!(self.peek(self.pos, end), Some(b' ' | b'\t')) {
                        self.pos += 1;
                    }
                    self.push(TokenKind::Blank, start, self.pos, depth);
                }
                b'\\' if next == Some(b'\n') => {
                    self.pos += 2;
                    self.push(TokenKind::Escape, start, self.pos, depth);
                }
                b'#' => {
                    let rest = self.bytes.get(start..end).unwrap_or_default();
                    self.pos = memchr(b'\n', rest).map_or(end, |i| start + i);
                    self.push(TokenKind::Comment, start, self.pos, depth);
                }
                b'\n' => {
                    self.operator(Operator::Newline, 1, depth);
                    state.reset();
                    self.heredoc_bodies(depth, end)?;
                }
                b';' => {
                    let (op, len) = match (next, self.peek(start + 2, end)) {
                        (Some(b';'), Some(b'&')) => (Operator::CaseEnd, 3),
                        (Some(b';' | b'&'), _) => (Operator::CaseEnd, 2),
                        _ => (Operator::Semicolon, 1),
                    };
                    self.operator(op, len, depth);
                    state.reset();
                }
                b'&' if next == Some(b'>') => self.redirect(start, depth, end, &mut state),
                b'&' => {
                    let (op, len) = match next {
                        Some(b'&') => (Operator::And, 2),
                        _ => (Operator::Background, 1),
                    };
                    self.operator(op, len, depth);
                    state.reset();
                }
                b'|' => {
                    let (op, len) = match next {
                        Some(b'|') => (Operator::Or, 2),
                        Some(b'&') => (Operator::PipeBoth, 2),
                        _ => (Operator::Pipe, 1),
                    };
                    self.operator(op, len, depth);
                    state.reset();
                }
                b'(' => {
                    open_parens.push(start);
                    self.operator(Operator::OpenParen, 1, depth);
                    state.reset();
                }
                b')' => {
                    if open_parens.pop().is_some() {
                        self.operator(Operator::CloseParen, 1, depth);
                        state.after_compound();
                    } else if in_subst {
                        return Ok(());
                    } else {
                        // A `case` pattern's `)`; a command follows.
                        self.operator(Operator::CloseParen, 1, depth);
                        state.reset();
                    }
                }
                b'<' | b'>' if next != Some(b'(') => self.redirect(start, depth, end, &mut state),
                b'0'..=b'9' if self.fd_prefix_len(start, end).is_some() => {
                    self.redirect(start, depth, end, &mut state);
                }
                _ => self.word(depth, end, &mut state)?,
            }
        }
        match open_parens.first() {
            Some(&at) => Err(error(LexErrorKind::UnclosedParen, at)),
            None => Ok(()),
        }
    }

    fn operator(&mut self, op: Operator, len: usize, depth: u8) {
        let start = self.pos;
        self.pos += len;
        self.push(TokenKind::Operator(op), start, self.pos, depth);
    }

    /// Number of digits before `<`/`>` when `start` begins an fd-prefixed redirection.
    fn fd_prefix_len(&self, start: usize, end: usize) -> Option<usize> {
        let digits = self
            .bytes
            .get(start..end)?
            .iter()
            .take(MAX_FD_DIGITS + 1)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let after = self.peek(start + digits, end)?;
        let redirects = (after == b'<' || after == b'>')
            && self.peek(start + digits + 1, end) != Some(b'(')
            && digits <= MAX_FD_DIGITS;
        redirects.then_some(digits)
    }

    /// A redirection operator at `start` (fd digits, `<`/`>` forms, or `&>`).
    fn redirect(&mut self, start: usize, depth: u8, end: usize, state: &mut CommandState) {
        let op = start + self.fd_prefix_len(start, end).unwrap_or(0);
        let b = |i: usize| self.peek(op + i, end);
        let (kind, len) = match (b(0), b(1), b(2)) {
            (Some(b'&'), Some(b'>'), Some(b'>')) => (Redirect::AppendBoth, 3),
            (Some(b'&'), _, _) => (Redirect::OutputBoth, 2),
            (Some(b'<'), Some(b'<'), Some(b'<')) => (Redirect::HereString, 3),
            (Some(b'<'), Some(b'<'), Some(b'-')) => (Redirect::HeredocStripTabs, 3),
            (Some(b'<'), Some(b'<'), _) => (Redirect::Heredoc, 2),
            (Some(b'<'), Some(b'>'), _) => (Redirect::ReadWrite, 2),
            (Some(b'<'), Some(b'&'), _) => (Redirect::DupInput, 2),
            (Some(b'<'), _, _) => (Redirect::Input, 1),
            (_, Some(b'>'), _) => (Redirect::Append, 2),
            (_, Some(b'&'), _) => (Redirect::DupOutput, 2),
            (_, Some(b'|'), _) => (Redirect::Clobber, 2),
            _ => (Redirect::Output, 1),
        };
        self.pos = (op + len).min(end);
        self.push(TokenKind::Redirect(kind), start, self.pos, depth);
        state.pending = match kind {
            Redirect::Heredoc => Pending::HeredocDelimiter { strip_tabs: false },
            Redirect::HeredocStripTabs => Pending::HeredocDelimiter { strip_tabs: true },
            _ => Pending::RedirectTarget,
        };
    }

    /// A word: scans it, labels it, and registers a heredoc delimiter.
    fn word(&mut self, depth: u8, end: usize, state: &mut CommandState) -> LexResult {
        let start = self.pos;
        let pending = state.pending;
        self.scan_word(depth, end)?;
        let text = self.src.get(start..self.pos).unwrap_or("");
        let role = state.classify(text, start);
        if let (WordRole::HeredocDelimiter, Pending::HeredocDelimiter { strip_tabs }) =
            (role, pending)
        {
            self.heredocs.push(PendingHeredoc {
                delimiter: literal(text).into_owned(),
                strip_tabs,
                expand: !text.contains(['\'', '"', '\\']),
            });
        }
        self.push(TokenKind::Word(role), start, self.pos, depth);
        Ok(())
    }

    /// Advances over one word, emitting the tokens inside it.
    fn scan_word(&mut self, depth: u8, end: usize) -> LexResult {
        // Open braces of the word, each with the separators seen at its level.
        let mut braces: Vec<(usize, Vec<usize>)> = Vec::new();
        while let Some(c) = self.peek(self.pos, end) {
            let here = self.pos;
            match c {
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' => break,
                b'<' | b'>' => {
                    if self.peek(here + 1, end) != Some(b'(') {
                        break;
                    }
                    let style = if c == b'<' {
                        SubstStyle::ProcessInput
                    } else {
                        SubstStyle::ProcessOutput
                    };
                    self.command_substitution(here, 2, style, depth, end)?;
                }
                b'\'' => self.single_quote(depth, end)?,
                b'"' => self.double_quote(here, 1, QuoteStyle::Double, depth, end)?,
                b'\\' => self.escape(depth, end),
                b'$' => self.dollar(depth, end, false)?,
                b'`' => self.backtick(depth, end)?,
                b'{' => {
                    braces.push((here, Vec::new()));
                    self.pos += 1;
                }
                b',' => {
                    if let Some((_, seps)) = braces.last_mut() {
                        seps.push(here);
                    }
                    self.pos += 1;
                }
                b'.' if self.peek(here + 1, end) == Some(b'.') => {
                    if let Some((_, seps)) = braces.last_mut() {
                        seps.push(here);
                    }
                    self.pos += 2;
                }
                b'}' => {
                    if let Some((open, seps)) = braces.pop() {
                        if !seps.is_empty() {
                            self.push(TokenKind::Brace(BracePart::Open), open, open + 1, depth);
                            for sep in seps {
                                let len = if self.bytes.get(sep) == Some(&b'.') {
                                    2
                                } else {
                                    1
                                };
                                let part = TokenKind::Brace(BracePart::Separator);
                                self.push(part, sep, sep + len, depth);
                            }
                            self.push(TokenKind::Brace(BracePart::Close), here, here + 1, depth);
                        }
                    }
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
        Ok(())
    }

    /// A backslash escape (a trailing lone backslash is a literal character).
    fn escape(&mut self, depth: u8, end: usize) {
        let start = self.pos;
        match self.peek(start + 1, end) {
            Some(next) => {
                self.pos = (start + 1 + char_len(next)).min(end);
                self.push(TokenKind::Escape, start, self.pos, depth);
            }
            None => self.pos = start + 1,
        }
    }

    /// `'…'`: nothing inside is special.
    fn single_quote(&mut self, depth: u8, end: usize) -> LexResult {
        let open = self.pos;
        let rest = self.bytes.get(open + 1..end).unwrap_or_default();
        let close = memchr(b'\'', rest)
            .map(|i| open + 1 + i)
            .ok_or(error(LexErrorKind::UnterminatedQuote, open))?;
        self.pos = close + 1;
        self.push(TokenKind::Quote(QuoteStyle::Single), open, self.pos, depth);
        Ok(())
    }

    /// `"…"` (or `$"…"`): `$`, backticks and some backslashes stay special.
    fn double_quote(
        &mut self,
        open: usize,
        opener_len: usize,
        style: QuoteStyle,
        depth: u8,
        end: usize,
    ) -> LexResult {
        self.pos = open + opener_len;
        loop {
            let Some(c) = self.peek(self.pos, end) else {
                return Err(error(LexErrorKind::UnterminatedQuote, open));
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    self.push(TokenKind::Quote(style), open, self.pos, depth);
                    return Ok(());
                }
                b'\\' => match self.peek(self.pos + 1, end) {
                    Some(b'$' | b'`' | b'"' | b'\\' | b'\n') => {
                        self.push(TokenKind::Escape, self.pos, self.pos + 2, depth);
                        self.pos += 2;
                    }
                    _ => self.pos += 1,
                },
                b'$' => self.dollar(depth, end, true)?,
                b'`' => self.backtick(depth, end)?,
                _ => self.pos += 1,
            }
        }
    }

    /// `$` and what follows it.
    fn dollar(&mut self, depth: u8, end: usize, in_double_quotes: bool) -> LexResult {
        let start = self.pos;
        match self.peek(start + 1, end) {
            Some(b'(') if self.peek(start + 2, end) == Some(b'(') => {
                self.arithmetic(start, depth, end)
            }
            Some(b'(') => self.command_substitution(start, 2, SubstStyle::Dollar, depth, end),
            Some(b'{') => self.braced(start, depth, end, in_double_quotes),
            Some(b'\'') if !in_double_quotes => self.ansi_c(start, depth, end),
            Some(b'"') if !in_double_quotes => {
                self.double_quote(start, 2, QuoteStyle::Locale, depth, end)
            }
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                self.pos = start + 1;
                while self
                    .peek(self.pos, end)
                    .is_some_and(|b| b == b'_' || b.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                let kind = TokenKind::Expansion(ExpansionKind::Named);
                self.push(kind, start, self.pos, depth);
                Ok(())
            }
            Some(c) if c.is_ascii_digit() || b"@*#?-$!".contains(&c) => {
                self.pos = start + 2;
                let kind = TokenKind::Expansion(ExpansionKind::Special);
                self.push(kind, start, self.pos, depth);
                Ok(())
            }
            _ => {
                self.pos = start + 1;
                Ok(())
            }
        }
    }

    /// `$(…)`, `<(…)`, `>(…)`: a nested command list ended by `)`.
    fn command_substitution(
        &mut self,
        open: usize,
        opener_len: usize,
        style: SubstStyle,
        depth: u8,
        end: usize,
    ) -> LexResult {
        let inner = nested(depth, open)?;
        self.pos = open + opener_len;
        self.list(inner, end, true)?;
        if self.peek(self.pos, end) != Some(b')') {
            return Err(error(LexErrorKind::UnterminatedSubstitution, open));
        }
        self.pos += 1;
        self.push(TokenKind::Substitution(style), open, self.pos, depth);
        Ok(())
    }

    /// `` `…` ``: the end is the next unescaped backtick; the contents are a command list.
    fn backtick(&mut self, depth: u8, end: usize) -> LexResult {
        let open = self.pos;
        let inner = nested(depth, open)?;
        let mut i = open + 1;
        let close = loop {
            match self.peek(i, end) {
                None => return Err(error(LexErrorKind::UnterminatedSubstitution, open)),
                Some(b'\\') => i += 2,
                Some(b'`') => break i,
                Some(_) => i += 1,
            }
        };
        self.pos = open + 1;
        self.list(inner, close, false)?;
        self.pos = close + 1;
        self.push(
            TokenKind::Substitution(SubstStyle::Backtick),
            open,
            self.pos,
            depth,
        );
        Ok(())
    }

    /// `${…}`: ends at the matching `}`; quotes and nested expansions inside are honoured.
    fn braced(&mut self, open: usize, depth: u8, end: usize, in_double_quotes: bool) -> LexResult {
        let inner = nested(depth, open)?;
        self.pos = open + 2;
        loop {
            let Some(c) = self.peek(self.pos, end) else {
                return Err(error(LexErrorKind::UnterminatedExpansion, open));
            };
            match c {
                b'}' => {
                    self.pos += 1;
                    let kind = TokenKind::Expansion(ExpansionKind::Braced);
                    self.push(kind, open, self.pos, depth);
                    return Ok(());
                }
                b'\\' => self.escape(inner, end),
                b'\'' if !in_double_quotes => self.single_quote(inner, end)?,
                b'"' => self.double_quote(self.pos, 1, QuoteStyle::Double, inner, end)?,
                b'$' => self.dollar(inner, end, in_double_quotes)?,
                b'`' => self.backtick(inner, end)?,
                _ => self.pos += 1,
            }
        }
    }

    /// `$((…))`; when a `)` closes the outer parenthesis alone, bash reads the whole thing as
    /// a command substitution of a subshell instead, and so does this lexer (a bounded
    /// number of times).
    fn arithmetic(&mut self, open: usize, depth: u8, end: usize) -> LexResult {
        let inner = nested(depth, open)?;
        let saved_tokens = self.tokens.len();
        self.pos = open + 3;
        let mut level = 0usize;
        loop {
            let Some(c) = self.peek(self.pos, end) else {
                return Err(error(LexErrorKind::UnterminatedExpansion, open));
            };
            match c {
                b'(' => {
                    level += 1;
                    self.pos += 1;
                }
                b')' if level > 0 => {
                    level -= 1;
                    self.pos += 1;
                }
                b')' if self.peek(self.pos + 1, end) == Some(b')') => {
                    self.pos += 2;
                    let kind = TokenKind::Expansion(ExpansionKind::Arithmetic);
                    self.push(kind, open, self.pos, depth);
                    return Ok(());
                }
                b')' => {
                    if self.fallbacks == 0 {
                        return Err(error(LexErrorKind::UnterminatedExpansion, open));
                    }
                    self.fallbacks -= 1;
                    self.tokens.truncate(saved_tokens);
                    return self.command_substitution(open, 2, SubstStyle::Dollar, depth, end);
                }
                b'\\' => self.escape(inner, end),
                b'\'' => self.single_quote(inner, end)?,
                b'"' => self.double_quote(self.pos, 1, QuoteStyle::Double, inner, end)?,
                b'$' => self.dollar(inner, end, true)?,
                b'`' => self.backtick(inner, end)?,
                _ => self.pos += 1,
            }
        }
    }

    /// `$'…'`: backslash escapes, ended by an unescaped `'`.
    fn ansi_c(&mut self, open: usize, depth: u8, end: usize) -> LexResult {
        let mut i = open + 2;
        loop {
            match self.peek(i, end) {
                None => return Err(error(LexErrorKind::UnterminatedQuote, open)),
                Some(b'\\') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        let kind = TokenKind::Quote(QuoteStyle::AnsiC);
        self.push(kind, open, self.pos, depth);
        Ok(())
    }

    /// Reads the bodies of the heredocs opened on the line that just ended.
    fn heredoc_bodies(&mut self, depth: u8, end: usize) -> LexResult {
        for doc in std::mem::take(&mut self.heredocs) {
            let body_start = self.pos;
            let mut line_start = self.pos;
            let (body_end, resume) = loop {
                if line_start >= end {
                    break (end, end);
                }
                let rest = self.bytes.get(line_start..end).unwrap_or_default();
                let line_end = memchr(b'\n', rest).map_or(end, |i| line_start + i);
                let line = self.bytes.get(line_start..line_end).unwrap_or_default();
                let line = if doc.strip_tabs {
                    let tabs = line.iter().take_while(|b| **b == b'\t').count();
                    line.get(tabs..).unwrap_or_default()
                } else {
                    line
                };
                if line == doc.delimiter.as_bytes() {
                    break (line_start, (line_end + 1).min(end));
                }
                line_start = line_end + 1;
            };
            if body_end > body_start {
                self.push(TokenKind::HeredocBody, body_start, body_end, depth);
                if doc.expand {
                    self.pos = body_start;
                    self.expansions(depth, body_end)?;
                }
            }
            self.pos = resume;
        }
        Ok(())
    }

    /// Expansions in a heredoc body with an unquoted delimiter.
    fn expansions(&mut self, depth: u8, end: usize) -> LexResult {
        while let Some(c) = self.peek(self.pos, end) {
            match c {
                b'\\' => match self.peek(self.pos + 1, end) {
                    Some(b'$' | b'`' | b'\\' | b'\n') => {
                        self.push(TokenKind::Escape, self.pos, self.pos + 2, depth);
                        self.pos += 2;
                    }
                    _ => self.pos += 1,
                },
                b'$' => self.dollar(depth, end, true)?,
                b'`' => self.backtick(depth, end)?,
                _ => self.pos += 1,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn literal_removes_only_the_quotes_that_quote() {
        assert_eq!(
            literal("\"'-]\""),
            "'-]",
            "a single quote inside double quotes is text"
        );
        assert_eq!(
            literal("'a\"b'"),
            "a\"b",
            "a double quote inside single quotes is text"
        );
        assert_eq!(
            literal("\"a\\$b\\c\""),
            "a$b\\c",
            "inside double quotes `\\c` stays"
        );
        assert_eq!(literal("c'a't"), "cat");
        assert_eq!(literal("a\\ b"), "a b");
    }

    use super::*;

    /// `(kind, text)` of every token except blanks.
    fn tokens(src: &str) -> Vec<(TokenKind, &str)> {
        let lexed = lex(src);
        assert_eq!(lexed.error, None, "{src}");
        lexed
            .tokens
            .iter()
            .filter(|t| t.kind != TokenKind::Blank)
            .map(|t| (t.kind, t.text(src)))
            .collect()
    }

    /// The words labelled as command words, with their depth.
    fn commands(src: &str) -> Vec<(&str, u8)> {
        lex(src)
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Word(WordRole::Command))
            .map(|t| (t.text(src), t.depth))
            .collect()
    }

    const ARG: TokenKind = TokenKind::Word(WordRole::Argument {
        after_end_of_options: false,
    });
    const CMD: TokenKind = TokenKind::Word(WordRole::Command);

    #[test]
    fn simple_command_with_operators_and_spans() {
        let src = "ls -l /tmp && echo ok; id";
        let lexed = lex(src);
        let spans: Vec<(usize, usize)> = lexed
            .tokens
            .iter()
            .filter(|t| t.kind != TokenKind::Blank)
            .map(|t| (t.start, t.end))
            .collect();
        assert_eq!(
            spans,
            vec![
                (0, 2),
                (3, 5),
                (6, 10),
                (11, 13),
                (14, 18),
                (19, 21),
                (21, 22),
                (23, 25)
            ]
        );
        assert_eq!(
            tokens(src),
            vec![
                (CMD, "ls"),
                (ARG, "-l"),
                (ARG, "/tmp"),
                (TokenKind::Operator(Operator::And), "&&"),
                (CMD, "echo"),
                (ARG, "ok"),
                (TokenKind::Operator(Operator::Semicolon), ";"),
                (CMD, "id"),
            ]
        );
    }

    #[test]
    fn every_control_operator() {
        let src = "a | b |& c || d & e ;; f\ng";
        let ops: Vec<Operator> = lex(src)
            .tokens
            .iter()
            .filter_map(|t| match t.kind {
                TokenKind::Operator(op) => Some(op),
                _ => None,
            })
            .collect();
        assert_eq!(
            ops,
            vec![
                Operator::Pipe,
                Operator::PipeBoth,
                Operator::Or,
                Operator::Background,
                Operator::CaseEnd,
                Operator::Newline
            ]
        );
        assert_eq!(commands(src).len(), 7);
    }

    #[test]
    fn quotes_escapes_and_their_spans() {
        let src = r#"echo 'a b' "c $HOME" d\ e $'x\'y'"#;
        assert_eq!(
            tokens(src),
            vec![
                (CMD, "echo"),
                (ARG, "'a b'"),
                (TokenKind::Quote(QuoteStyle::Single), "'a b'"),
                (ARG, "\"c $HOME\""),
                (TokenKind::Quote(QuoteStyle::Double), "\"c $HOME\""),
                (TokenKind::Expansion(ExpansionKind::Named), "$HOME"),
                (ARG, "d\\ e"),
                (TokenKind::Escape, "\\ "),
                (ARG, "$'x\\'y'"),
                (TokenKind::Quote(QuoteStyle::AnsiC), "$'x\\'y'"),
            ]
        );
    }

    #[test]
    fn substitutions_are_lexed_recursively() {
        let src = "echo $(cat `basename x`) \"$(id)\" <(ls)";
        let toks = tokens(src);
        let substs: Vec<&str> = toks
            .iter()
            .filter(|(k, _)| matches!(k, TokenKind::Substitution(_)))
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(
            substs,
            vec!["$(cat `basename x`)", "`basename x`", "$(id)", "<(ls)"]
        );
        assert_eq!(
            commands(src),
            vec![
                ("echo", 0),
                ("cat", 1),
                ("basename", 2),
                ("id", 1),
                ("ls", 1)
            ]
        );
    }

    #[test]
    fn expansions() {
        let src = "echo ${A:-$(id)} $((1 + $n)) $1 $@";
        let kinds: Vec<(ExpansionKind, &str)> = tokens(src)
            .into_iter()
            .filter_map(|(k, t)| match k {
                TokenKind::Expansion(e) => Some((e, t)),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                (ExpansionKind::Braced, "${A:-$(id)}"),
                (ExpansionKind::Arithmetic, "$((1 + $n))"),
                (ExpansionKind::Named, "$n"),
                (ExpansionKind::Special, "$1"),
                (ExpansionKind::Special, "$@"),
            ]
        );
        assert_eq!(commands(src), vec![("echo", 0), ("id", 2)]);
    }

    #[test]
    fn arithmetic_lookalike_subshell_falls_back() {
        let src = "echo $((cd /tmp) && ls)";
        assert_eq!(commands(src), vec![("echo", 0), ("cd", 1), ("ls", 1)]);
    }

    #[test]
    fn redirections_with_fd_prefixes() {
        let src = "cmd >out 2>&1 <in >>log &>all 3<>rw >|x <<<str 10>&-";
        let redirs: Vec<(Redirect, &str)> = tokens(src)
            .into_iter()
            .filter_map(|(k, t)| match k {
                TokenKind::Redirect(r) => Some((r, t)),
                _ => None,
            })
            .collect();
        assert_eq!(
            redirs,
            vec![
                (Redirect::Output, ">"),
                (Redirect::DupOutput, "2>&"),
                (Redirect::Input, "<"),
                (Redirect::Append, ">>"),
                (Redirect::OutputBoth, "&>"),
                (Redirect::ReadWrite, "3<>"),
                (Redirect::Clobber, ">|"),
                (Redirect::HereString, "<<<"),
                (Redirect::DupOutput, "10>&"),
            ]
        );
        let targets = lex(src)
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Word(WordRole::RedirectTarget))
            .count();
        assert_eq!(targets, 9);
    }

    #[test]
    fn heredocs_keep_bodies_as_data() {
        let src = "cat <<EOF >out\nhello $(id)\nEOF\nls\ncat <<-'X'\n\t$(not)\n\tX\n";
        let toks = tokens(src);
        let bodies: Vec<&str> = toks
            .iter()
            .filter(|(k, _)| *k == TokenKind::HeredocBody)
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(bodies, vec!["hello $(id)\n", "\t$(not)\n"]);
        assert_eq!(
            commands(src),
            vec![("cat", 0), ("id", 1), ("ls", 0), ("cat", 0)]
        );
    }

    #[test]
    fn command_words_after_assignments_prefixes_and_reserved_words() {
        assert_eq!(commands("A=1 B=2 id"), vec![("id", 0)]);
        assert_eq!(
            commands("time nice -n 5 id"),
            vec![("time", 0), ("nice", 0), ("id", 0)]
        );
        assert_eq!(commands("env -i X=1 id -u"), vec![("env", 0), ("id", 0)]);
        assert_eq!(commands("timeout 5 id"), vec![("timeout", 0), ("id", 0)]);
        assert_eq!(
            commands("sudo -u www nohup id"),
            vec![("sudo", 0), ("nohup", 0), ("id", 0)]
        );
        assert_eq!(
            commands("if true; then id; fi"),
            vec![("true", 0), ("id", 0)]
        );
        assert_eq!(commands("! id && { ls; }"), vec![("id", 0), ("ls", 0)]);
        assert_eq!(commands("(cd /x && ls) > o"), vec![("cd", 0), ("ls", 0)]);
        assert_eq!(commands("for f in a b; do rm $f; done"), vec![("rm", 0)]);
        assert_eq!(commands("x | c'a't /e"), vec![("x", 0), ("c'a't", 0)]);
    }

    #[test]
    fn end_of_options_is_tracked_per_command() {
        let src = "grep -- -v f; ls -l";
        let lexed = lex(src);
        let after: Vec<bool> = lexed
            .tokens
            .iter()
            .filter_map(|t| match t.kind {
                TokenKind::Word(WordRole::Argument {
                    after_end_of_options,
                }) => Some(after_end_of_options),
                _ => None,
            })
            .collect();
        assert_eq!(after, vec![false, true, true, false]);
    }

    #[test]
    fn comments_and_brace_expansion() {
        let src = "echo a#b {x,y} # note";
        let toks = tokens(src);
        assert!(toks.contains(&(ARG, "a#b")));
        assert!(toks.contains(&(TokenKind::Comment, "# note")));
        let braces = toks
            .iter()
            .filter(|(k, _)| matches!(k, TokenKind::Brace(_)))
            .count();
        assert_eq!(braces, 3);
        assert!(
            !tokens("echo {x}")
                .iter()
                .any(|(k, _)| matches!(k, TokenKind::Brace(_)))
        );
    }

    #[test]
    fn errors_point_at_the_opener() {
        let cases = [
            ("echo 'abc", LexErrorKind::UnterminatedQuote, 5),
            ("echo \"a $(id\"", LexErrorKind::UnterminatedQuote, 12),
            ("echo $(id", LexErrorKind::UnterminatedSubstitution, 5),
            ("echo `id", LexErrorKind::UnterminatedSubstitution, 5),
            ("echo ${x", LexErrorKind::UnterminatedExpansion, 5),
            ("(echo", LexErrorKind::UnclosedParen, 0),
        ];
        for (src, kind, at) in cases {
            let lexed = lex(src);
            let err = lexed.error.expect(src);
            assert_eq!((err.kind, err.at), (kind, at), "{src}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "$(".repeat(100) + &")".repeat(100);
        assert_eq!(
            lex(&deep).error.map(|e| e.kind),
            Some(LexErrorKind::TooDeep)
        );
        let fine = "$(".repeat(10) + "id" + &")".repeat(10);
        assert_eq!(lex(&fine).error, None);
    }

    #[test]
    fn literal_removes_quoting() {
        assert_eq!(literal("c'a't"), "cat");
        assert_eq!(literal("\"-v\""), "-v");
        assert_eq!(literal("a\\ b"), "a b");
        assert_eq!(literal("plain"), "plain");
    }
}

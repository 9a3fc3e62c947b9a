//! A lossless, allocation-light SQL lexer with one flavour per [`SqlDialect`].
//!
//! The detector needs only token *kinds* and exact *byte spans*; it never needs values
//! (unescaped strings, parsed numbers). Measured against `sqlparser`'s tokenizer (≈12 µs for a
//! 280-byte query, one `String` per token, line/column locations that must be mapped back to
//! bytes), a hand-written pass that emits `(kind, start, end)` triples is an order of magnitude
//! cheaper and has no location-mapping pitfalls with multi-byte UTF-8.
//!
//! Invariants:
//! * the tokens are contiguous and cover the whole input: `tokens[0].start == 0`,
//!   `tokens[i].end == tokens[i + 1].start`, the last `end` is `src.len()`;
//! * every boundary lies on a `char` boundary (bytes `>= 0x80` only ever occur inside words,
//!   literals and comments, never at a token edge of their own);
//! * lexing is one forward pass: O(n) time, one `Vec` push per token, never panics;
//! * the only errors are unterminated string literals, quoted identifiers and dollar-quoted
//!   strings — constructs a database would reject too. Unknown characters become
//!   [`TokenKind::Other`] tokens instead of errors, so an attacker cannot turn a stray `#`, `[`
//!   or `$` into a "could not parse, allow" outcome. Unterminated block comments run to the end
//!   of the input, as SQLite accepts them.

use memchr::{memchr, memchr2, memmem};

use crate::sink::SqlDialect;

/// What a token is, at the granularity the detector reasons about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Spaces, tabs, newlines, vertical tab, form feed.
    Whitespace,
    /// `-- …` (MySQL: only when followed by whitespace or the end) or MySQL `# …`.
    LineComment,
    /// `/* … */`, nested in PostgreSQL; an unterminated one runs to the end.
    BlockComment,
    /// MySQL/MariaDB executable comment opener `/*!`, `/*!50000`, `/*M!…`: its body is code.
    ExecCommentOpen,
    /// The `*/` that closes an executable comment.
    ExecCommentClose,
    /// A string literal, delimiters and prefix (`E'…'`, `$tag$…$tag$`) included.
    String,
    /// A delimited identifier: `"…"` (not MySQL), `` `…` ``, SQLite `[…]`.
    QuotedIdent,
    /// A numeric literal (`12`, `1.5e3`, `.5`, `0x1F`, `0b101`).
    Number,
    /// An identifier or keyword (also MySQL `@var` / `@@var`).
    Word,
    /// A bind parameter: `?`, `?3`, `$1`, SQLite `:name` / `$name`.
    Placeholder,
    /// `;`
    Semicolon,
    /// `,`
    Comma,
    /// `.` between identifiers.
    Dot,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// Arithmetic, comparison, logical and cast operators (`=`, `<>`, `||`, `::`, `-`, …).
    Operator,
    /// `[`, `]`, `{`, `}` outside SQLite identifiers.
    Punct,
    /// Any other character (a backslash, a stray `#`, control bytes …).
    Other,
}

/// One token: its kind and byte range `[start, end)` in the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The token's kind.
    pub kind: TokenKind,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// Why a query could not be tokenized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexError {
    /// Byte offset where the offending construct starts.
    pub at: usize,
    /// What is unterminated.
    pub what: &'static str,
}

/// Tokenizes `src` with `dialect`'s lexical rules, appending to `out` (cleared first).
pub fn tokenize(src: &str, dialect: SqlDialect, out: &mut Vec<Token>) -> Result<(), LexError> {
    out.clear();
    let mut lx = Lexer {
        b: src.as_bytes(),
        d: dialect,
        pos: 0,
        exec_comment: false,
    };
    while lx.pos < lx.b.len() {
        let start = lx.pos;
        let kind = lx.next_kind()?;
        // Every branch consumes at least one byte; this keeps the loop finite even if a
        // future edit forgets to.
        if lx.pos <= start {
            lx.pos = start + 1;
        }
        out.push(Token {
            kind,
            start,
            end: lx.pos.min(lx.b.len()),
        });
    }
    Ok(())
}

struct Lexer<'a> {
    b: &'a [u8],
    d: SqlDialect,
    pos: usize,
    /// Inside a MySQL `/*! … */` body, where `*/` is a token of its own.
    exec_comment: bool,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_continue(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Characters that glue into one multi-character operator (`<>`, `>=`, `||`, `::`, `!=` …).
fn is_op_run(c: u8) -> bool {
    matches!(
        c,
        b'<' | b'>' | b'=' | b'!' | b'|' | b'&' | b'~' | b'^' | b':'
    )
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn skip_while(&mut self, f: impl Fn(u8) -> bool) {
        while self.at(self.pos).is_some_and(&f) {
            self.pos += 1;
        }
    }

    fn next_kind(&mut self) -> Result<TokenKind, LexError> {
        let p = self.pos;
        let Some(c) = self.at(p) else {
            return Ok(TokenKind::Other);
        };
        let next = self.at(p + 1);
        let mysql = self.d == SqlDialect::Mysql;
        let pg = self.d == SqlDialect::Postgresql;
        Ok(match c {
            c if is_space(c) => {
                self.skip_while(is_space);
                TokenKind::Whitespace
            }
            b'-' if next == Some(b'-') && (!mysql || self.at(p + 2).is_none_or(|c| c <= b' ')) => {
                self.line_comment()
            }
            b'#' if mysql => self.line_comment(),
            b'/' if next == Some(b'*') => self.block_comment(),
            b'*' if self.exec_comment && next == Some(b'/') => {
                self.pos += 2;
                self.exec_comment = false;
                TokenKind::ExecCommentClose
            }
            b'\'' => self.quoted(b'\'', mysql, TokenKind::String)?,
            b'"' if mysql => self.quoted(b'"', true, TokenKind::String)?,
            b'"' => self.quoted(b'"', false, TokenKind::QuotedIdent)?,
            b'`' if !pg => self.quoted(b'`', false, TokenKind::QuotedIdent)?,
            b'[' if self.d == SqlDialect::Sqlite => self.bracket_ident()?,
            b'$' => self.dollar()?,
            b'0'..=b'9' => self.number(),
            b'.' if next.is_some_and(|c| c.is_ascii_digit()) => self.number(),
            b'.' => self.single(TokenKind::Dot),
            b'?' => {
                self.pos += 1;
                self.skip_while(|c| c.is_ascii_digit());
                TokenKind::Placeholder
            }
            b':' if self.d == SqlDialect::Sqlite && next.is_some_and(is_ident_start) => {
                self.pos += 1;
                self.skip_while(is_ident_continue);
                TokenKind::Placeholder
            }
            b'@' if !pg && next.is_some_and(|c| is_ident_start(c) || c == b'@') => {
                self.pos += 1;
                if self.at(self.pos) == Some(b'@') {
                    self.pos += 1;
                }
                self.skip_while(|c| is_ident_continue(c) || c == b'.');
                TokenKind::Word
            }
            c if is_ident_start(c) => self.word()?,
            b';' => self.single(TokenKind::Semicolon),
            b',' => self.single(TokenKind::Comma),
            b'(' => self.single(TokenKind::LParen),
            b')' => self.single(TokenKind::RParen),
            b'[' | b']' | b'{' | b'}' => self.single(TokenKind::Punct),
            c if is_op_run(c) || (pg && c == b'#') => {
                self.skip_while(|c| is_op_run(c) || (pg && c == b'#'));
                TokenKind::Operator
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'@' => self.single(TokenKind::Operator),
            // ASCII only: bytes >= 0x80 start words, so one byte is one char here.
            _ => self.single(TokenKind::Other),
        })
    }

    fn single(&mut self, kind: TokenKind) -> TokenKind {
        self.pos += 1;
        kind
    }

    fn line_comment(&mut self) -> TokenKind {
        let rest = self.b.get(self.pos..).unwrap_or_default();
        self.pos += memchr(b'\n', rest).unwrap_or(rest.len());
        TokenKind::LineComment
    }

    fn block_comment(&mut self) -> TokenKind {
        let p = self.pos;
        if self.d == SqlDialect::Mysql {
            let bang = match (self.at(p + 2), self.at(p + 3)) {
                (Some(b'!'), _) => Some(p + 3),
                (Some(b'M'), Some(b'!')) => Some(p + 4),
                _ => None,
            };
            if let Some(body) = bang {
                self.pos = body;
                self.skip_while(|c| c.is_ascii_digit());
                self.exec_comment = true;
                return TokenKind::ExecCommentOpen;
            }
        }
        let nested = self.d == SqlDialect::Postgresql;
        let mut depth = 1usize;
        let mut i = p + 2;
        while depth > 0 {
            let rest = self.b.get(i..).unwrap_or_default();
            let Some(k) = memchr2(b'*', b'/', rest) else {
                i = self.b.len();
                break;
            };
            i += k;
            match (self.at(i), self.at(i + 1)) {
                (Some(b'*'), Some(b'/')) => {
                    depth -= 1;
                    i += 2;
                }
                (Some(b'/'), Some(b'*')) if nested => {
                    depth += 1;
                    i += 2;
                }
                _ => i += 1,
            }
        }
        self.pos = i.min(self.b.len());
        TokenKind::BlockComment
    }

    /// A literal delimited by `q` (doubled `q` escapes it; with `backslash`, `\x` escapes `x`).
    fn quoted(&mut self, q: u8, backslash: bool, kind: TokenKind) -> Result<TokenKind, LexError> {
        let open = self.pos;
        let mut i = open + 1;
        loop {
            let rest = self.b.get(i..).unwrap_or_default();
            let found = if backslash {
                memchr2(q, b'\\', rest)
            } else {
                memchr(q, rest)
            };
            let Some(k) = found else {
                return Err(LexError {
                    at: open,
                    what: if kind == TokenKind::String {
                        "unterminated string literal"
                    } else {
                        "unterminated quoted identifier"
                    },
                });
            };
            i += k;
            if self.at(i) == Some(b'\\') {
                // Only ASCII is ever escaped meaningfully; a following UTF-8 lead byte just
                // moves `i` into the char, and continuation bytes are never `q` or `\`.
                i += 2;
            } else if self.at(i + 1) == Some(q) {
                i += 2;
            } else {
                self.pos = i + 1;
                return Ok(kind);
            }
        }
    }

    fn bracket_ident(&mut self) -> Result<TokenKind, LexError> {
        let rest = self.b.get(self.pos..).unwrap_or_default();
        match memchr(b']', rest) {
            Some(k) => {
                self.pos += k + 1;
                Ok(TokenKind::QuotedIdent)
            }
            None => Err(LexError {
                at: self.pos,
                what: "unterminated [identifier]",
            }),
        }
    }

    /// `$1` placeholders, PostgreSQL `$tag$…$tag$` strings, SQLite `$name` parameters.
    fn dollar(&mut self) -> Result<TokenKind, LexError> {
        let p = self.pos;
        if self.at(p + 1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.skip_while(|c| c.is_ascii_digit());
            return Ok(TokenKind::Placeholder);
        }
        match self.d {
            SqlDialect::Postgresql | SqlDialect::Generic => {
                let mut j = p + 1;
                while self
                    .at(j)
                    .is_some_and(|c| c != b'$' && is_ident_continue(c))
                {
                    j += 1;
                }
                if self.at(j) != Some(b'$') {
                    return Ok(self.single(TokenKind::Other));
                }
                let tag = self.b.get(p..=j).unwrap_or_default();
                let body = self.b.get(j + 1..).unwrap_or_default();
                match memmem::find(body, tag) {
                    Some(k) => {
                        self.pos = j + 1 + k + tag.len();
                        Ok(TokenKind::String)
                    }
                    None => Err(LexError {
                        at: p,
                        what: "unterminated dollar-quoted string",
                    }),
                }
            }
            SqlDialect::Sqlite if self.at(p + 1).is_some_and(is_ident_start) => {
                self.pos += 1;
                self.skip_while(is_ident_continue);
                Ok(TokenKind::Placeholder)
            }
            _ => Ok(self.single(TokenKind::Other)),
        }
    }

    fn number(&mut self) -> TokenKind {
        let p = self.pos;
        let radix_prefix = self.at(p) == Some(b'0')
            && matches!(self.at(p + 1), Some(b'x' | b'X' | b'b' | b'B'))
            && self.at(p + 2).is_some_and(|c| c.is_ascii_hexdigit());
        if radix_prefix {
            self.pos += 2;
            self.skip_while(|c| c.is_ascii_hexdigit());
            return TokenKind::Number;
        }
        self.skip_while(|c| c.is_ascii_digit());
        if self.at(self.pos) == Some(b'.') {
            self.pos += 1;
            self.skip_while(|c| c.is_ascii_digit());
        }
        if matches!(self.at(self.pos), Some(b'e' | b'E')) {
            let digits_at = match self.at(self.pos + 1) {
                Some(b'+' | b'-') => self.pos + 2,
                _ => self.pos + 1,
            };
            if self.at(digits_at).is_some_and(|c| c.is_ascii_digit()) {
                self.pos = digits_at;
                self.skip_while(|c| c.is_ascii_digit());
            }
        }
        TokenKind::Number
    }

    /// An identifier or keyword; PostgreSQL `E'…'` escape strings start here too.
    fn word(&mut self) -> Result<TokenKind, LexError> {
        let p = self.pos;
        self.skip_while(is_ident_continue);
        let escape_prefix = matches!(self.d, SqlDialect::Postgresql | SqlDialect::Generic)
            && self.pos == p + 1
            && matches!(self.at(p), Some(b'E' | b'e'))
            && self.at(self.pos) == Some(b'\'');
        if escape_prefix {
            self.quoted(b'\'', true, TokenKind::String)?;
        }
        Ok(if escape_prefix {
            TokenKind::String
        } else {
            TokenKind::Word
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenKind::*;

    /// Non-whitespace tokens as (kind, text).
    fn lex(src: &str, d: SqlDialect) -> Vec<(TokenKind, &str)> {
        let mut out = Vec::new();
        tokenize(src, d, &mut out).expect("tokenizes");
        assert_eq!(out.first().map(|t| t.start), Some(0));
        assert_eq!(out.last().map(|t| t.end), Some(src.len()));
        assert!(out.windows(2).all(|w| w[0].end == w[1].start));
        out.iter()
            .filter(|t| t.kind != Whitespace)
            .map(|t| (t.kind, &src[t.start..t.end]))
            .collect()
    }

    #[test]
    fn spans_are_byte_offsets_with_multibyte_text() {
        let q = "SELECT 'Zoë ☃' , naïve FROM t WHERE x = 'é' OR 1";
        let toks = lex(q, SqlDialect::Generic);
        assert_eq!(toks[1], (String, "'Zoë ☃'"));
        assert_eq!(toks[3], (Word, "naïve"));
        assert_eq!(toks[9], (String, "'é'"));
        assert_eq!(toks[10], (Word, "OR"));
    }

    #[test]
    fn doubled_quotes_and_mysql_backslashes() {
        assert_eq!(
            lex("'O''Brien'", SqlDialect::Sqlite),
            vec![(String, "'O''Brien'")]
        );
        assert_eq!(
            lex(r"'O\'Brien'", SqlDialect::Mysql),
            vec![(String, r"'O\'Brien'")]
        );
        // Without backslash escapes the literal closes after the backslash.
        assert_eq!(
            lex(r"'O\' x", SqlDialect::Postgresql),
            vec![(String, r"'O\'"), (Word, "x")]
        );
        assert_eq!(
            lex(r#""a\"b""#, SqlDialect::Mysql),
            vec![(String, r#""a\"b""#)]
        );
        assert_eq!(
            lex(r#""a b""#, SqlDialect::Sqlite),
            vec![(QuotedIdent, r#""a b""#)]
        );
    }

    #[test]
    fn comments_by_dialect() {
        assert_eq!(
            lex("1 # x\n2", SqlDialect::Mysql),
            vec![(Number, "1"), (LineComment, "# x"), (Number, "2")]
        );
        assert_eq!(
            lex("1 # x", SqlDialect::Sqlite),
            vec![(Number, "1"), (Other, "#"), (Word, "x")]
        );
        assert_eq!(
            lex("1--1", SqlDialect::Mysql),
            vec![
                (Number, "1"),
                (Operator, "-"),
                (Operator, "-"),
                (Number, "1")
            ]
        );
        assert_eq!(
            lex("1--1", SqlDialect::Sqlite),
            vec![(Number, "1"), (LineComment, "--1")]
        );
        assert_eq!(
            lex("/* a /* b */ c */ 1", SqlDialect::Postgresql),
            vec![(BlockComment, "/* a /* b */ c */"), (Number, "1")]
        );
        assert_eq!(
            lex("/* a /* b */ c", SqlDialect::Sqlite),
            vec![(BlockComment, "/* a /* b */"), (Word, "c")]
        );
        assert_eq!(
            lex("1 /* open", SqlDialect::Sqlite)[1],
            (BlockComment, "/* open")
        );
        assert_eq!(
            lex("/*!50000UNION*/", SqlDialect::Mysql),
            vec![
                (ExecCommentOpen, "/*!50000"),
                (Word, "UNION"),
                (ExecCommentClose, "*/")
            ]
        );
    }

    #[test]
    fn postgres_strings_and_casts() {
        assert_eq!(
            lex(
                r"E'it\'s' || $$a'b$$ || $q$x$$y$q$::text",
                SqlDialect::Postgresql
            ),
            vec![
                (String, r"E'it\'s'"),
                (Operator, "||"),
                (String, "$$a'b$$"),
                (Operator, "||"),
                (String, "$q$x$$y$q$"),
                (Operator, "::"),
                (Word, "text")
            ]
        );
        assert_eq!(lex("$1", SqlDialect::Postgresql), vec![(Placeholder, "$1")]);
        assert_eq!(lex("e", SqlDialect::Postgresql), vec![(Word, "e")]);
    }

    #[test]
    fn identifiers_numbers_and_parameters() {
        assert_eq!(
            lex("[a b].`c` ?1 :n $v @x", SqlDialect::Sqlite),
            vec![
                (QuotedIdent, "[a b]"),
                (Dot, "."),
                (QuotedIdent, "`c`"),
                (Placeholder, "?1"),
                (Placeholder, ":n"),
                (Placeholder, "$v"),
                (Word, "@x")
            ]
        );
        assert_eq!(
            lex("0x1F 1.5e-3 .5 1OR", SqlDialect::Mysql),
            vec![
                (Number, "0x1F"),
                (Number, "1.5e-3"),
                (Number, ".5"),
                (Number, "1"),
                (Word, "OR")
            ]
        );
    }

    #[test]
    fn unterminated_literals_are_errors() {
        let mut out = Vec::new();
        for (q, d) in [
            ("x = 'abc", SqlDialect::Generic),
            (r"x = 'abc\'", SqlDialect::Mysql),
            ("x = \"abc", SqlDialect::Sqlite),
            ("[abc", SqlDialect::Sqlite),
            ("$t$ abc $x$", SqlDialect::Postgresql),
        ] {
            assert!(tokenize(q, d, &mut out).is_err(), "{q}");
        }
    }
}

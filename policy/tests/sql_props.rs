//! Property tests of the SQL injection detector: it never panics and always finishes on hostile
//! text in every dialect, and data placed inside a correctly quoted literal is never flagged.

use policy::config::DetectorSettings;
use policy::detect::sql;
use policy::{Input, SqlDialect};
use proptest::prelude::*;

const DIALECTS: [SqlDialect; 4] = [
    SqlDialect::Sqlite,
    SqlDialect::Postgresql,
    SqlDialect::Mysql,
    SqlDialect::Generic,
];

fn check(query: &str, dialect: SqlDialect, value: &str) -> Option<policy::Finding> {
    let input = Input::new("query.q", value);
    sql::check(
        query,
        dialect,
        &[input.view()],
        &DetectorSettings::default(),
    )
}

/// Fragments every lexer branch reacts to, plus multi-byte UTF-8.
const PIECES: &[&str] = &[
    "a", "Z", "9", "0x1F", " ", "\n", "'", "\"", "`", "$", "[", "]", "\\", "#", "-", "/", "*", "!",
    ";", ",", ".", "(", ")", "=", "<", ">", "|", "&", ":", "?", "@", "é", "☃", "$$", "$t$", "/*",
    "*/", "/*!", "--", "E'", "OR", "UNION", "SELECT", "DESC",
];

/// SQL-flavoured text built from [`PIECES`].
fn sqlish() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(PIECES), 0..80).prop_map(|v| v.concat())
}

/// Quotes `value` as a string literal the way a correct application would for `dialect`.
fn quote(value: &str, dialect: SqlDialect) -> String {
    let escaped = match dialect {
        SqlDialect::Mysql => value.replace('\\', "\\\\").replace('\'', "\\'"),
        _ => value.replace('\'', "''"),
    };
    format!("'{escaped}'")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary text with an arbitrary input: no panic, in every dialect.
    #[test]
    fn never_panics_on_arbitrary_text(query in sqlish(), value in sqlish()) {
        for d in DIALECTS {
            let _ = check(&query, d, &value);
        }
    }

    /// An input cut out of the query itself, so every occurrence is really analysed; any finding
    /// carries a span that is the input's occurrence.
    #[test]
    fn occurring_inputs_get_valid_spans(query in sqlish(), a in 0usize..200, len in 0usize..60) {
        let chars: Vec<char> = query.chars().collect();
        let start = a.min(chars.len());
        let end = (start + len).min(chars.len());
        let value: String = chars.get(start..end).unwrap_or_default().iter().collect();
        for d in DIALECTS {
            if let Some(f) = check(&query, d, &value) {
                let (s, e) = f.span.unwrap_or_default();
                prop_assert_eq!(query.get(s..e), Some(value.as_str()));
            }
        }
    }

    /// [A-Za-z0-9 ] inside a single-quoted literal is data, whatever words it spells.
    #[test]
    fn alnum_inside_a_literal_is_never_flagged(
        value in "[A-Za-z0-9 ]{0,40}",
        prefix in "(SELECT \\* FROM t WHERE a = |UPDATE t SET b = 1 WHERE c = |INSERT INTO t VALUES \\(1, )",
    ) {
        let query = format!("{prefix}'{value}' AND d = 2");
        // A value that also spells part of the surrounding SQL is a different question.
        prop_assume!(value.is_empty() || query.matches(value.as_str()).count() == 1);
        for d in DIALECTS {
            prop_assert_eq!(check(&query, d, &value), None, "{:?} {}", d, query);
        }
    }

    /// Any text, correctly escaped for the dialect and placed in a literal, is never flagged
    /// where it occurs verbatim inside that literal.
    #[test]
    fn escaped_text_inside_a_literal_is_never_flagged(value in sqlish()) {
        for d in DIALECTS {
            let literal = quote(&value, d);
            let query = format!("SELECT id FROM t WHERE name = {literal} AND x = 1");
            let lit_start = query.len() - literal.len() - " AND x = 1".len();
            let lit_end = lit_start + literal.len();
            let inside = query
                .match_indices(value.as_str())
                .all(|(s, m)| s >= lit_start && s + m.len() <= lit_end);
            prop_assume!(inside);
            prop_assert_eq!(check(&query, d, &value), None, "{:?} {}", d, query);
        }
    }

    /// Long hostile inputs finish quickly (bounded work even with many overlapping matches).
    #[test]
    fn periodic_inputs_stay_bounded(unit in "('|a|;|--|/\\*| ){1,3}", n in 1usize..2000) {
        let query = format!("SELECT '{}'", unit.repeat(n));
        let value = unit.repeat(n / 2 + 1);
        for d in DIALECTS {
            let _ = check(&query, d, &value);
        }
    }
}

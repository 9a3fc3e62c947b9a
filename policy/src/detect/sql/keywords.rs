//! Keyword classes the SQL detector cares about.
//!
//! Only the *role* of a word matters: does adding it change what the statement does? Plain
//! identifiers (column names, function names such as `sleep` without a `(`) are data-like;
//! sort modifiers may follow a column in an ORDER BY list; everything in [`STRUCTURAL`] changes
//! the statement when an input supplies it next to other tokens.

/// The role of a word token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordClass {
    /// `UNION`.
    Union,
    /// `OR` / `XOR`: can turn a condition into a tautology.
    Disjunction,
    /// `AND` / `NOT`: boolean conditions (blind probes).
    Conjunction,
    /// `ASC`, `DESC`, `NULLS`, `FIRST`, `LAST`: allowed after a column in a sort list.
    SortModifier,
    /// `TRUE`, `FALSE`, `NULL`, `UNKNOWN`: constants.
    Constant,
    /// Any other reserved word that changes a statement (`SELECT`, `LIMIT`, `INTO`, `LIKE` …).
    Structural,
    /// Not a keyword we track: an identifier.
    Plain,
}

/// Sorted (for binary search), upper case.
const STRUCTURAL: &[&str] = &[
    "ALL",
    "ALTER",
    "ANALYSE",
    "ANALYZE",
    "ANY",
    "AS",
    "ATTACH",
    "BEGIN",
    "BETWEEN",
    "BINARY",
    "BY",
    "CALL",
    "CASE",
    "COLLATE",
    "COMMIT",
    "COPY",
    "CREATE",
    "CROSS",
    "DECLARE",
    "DELAY",
    "DELETE",
    "DETACH",
    "DISTINCT",
    "DIV",
    "DO",
    "DROP",
    "DUMPFILE",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXEC",
    "EXECUTE",
    "EXISTS",
    "FETCH",
    "FOR",
    "FROM",
    "FULL",
    "GLOB",
    "GRANT",
    "GROUP",
    "HANDLER",
    "HAVING",
    "ILIKE",
    "IN",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LOAD",
    "LOCK",
    "MATCH",
    "MERGE",
    "MINUS",
    "MOD",
    "NATURAL",
    "OFFSET",
    "ON",
    "ORDER",
    "OUTER",
    "OUTFILE",
    "PRAGMA",
    "PREPARE",
    "PROCEDURE",
    "PROGRAM",
    "REGEXP",
    "RENAME",
    "REPLACE",
    "RETURNING",
    "REVOKE",
    "RIGHT",
    "RLIKE",
    "ROLLBACK",
    "SELECT",
    "SET",
    "SHOW",
    "SHUTDOWN",
    "SIMILAR",
    "SOME",
    "SOUNDS",
    "TABLE",
    "THEN",
    "TOP",
    "TRUNCATE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "WAITFOR",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];

/// Classifies a word token (case-insensitive; `@var` and non-ASCII words are [`WordClass::Plain`]).
pub fn classify(word: &str) -> WordClass {
    let mut buf = [0u8; 16];
    let Some(upper) = buf.get_mut(..word.len()) else {
        return WordClass::Plain;
    };
    upper.copy_from_slice(word.as_bytes());
    upper.make_ascii_uppercase();
    let Ok(upper) = std::str::from_utf8(upper) else {
        return WordClass::Plain;
    };
    match upper {
        "UNION" => WordClass::Union,
        "OR" | "XOR" => WordClass::Disjunction,
        "AND" | "NOT" => WordClass::Conjunction,
        "ASC" | "DESC" | "NULLS" | "FIRST" | "LAST" => WordClass::SortModifier,
        "TRUE" | "FALSE" | "NULL" | "UNKNOWN" => WordClass::Constant,
        w if STRUCTURAL.binary_search(&w).is_ok() => WordClass::Structural,
        _ => WordClass::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_so_binary_search_works() {
        assert!(STRUCTURAL.windows(2).all(|w| w[0] < w[1]));
        assert!(STRUCTURAL.iter().all(|w| w.len() <= 16));
    }

    #[test]
    fn classes_are_case_insensitive() {
        assert_eq!(classify("union"), WordClass::Union);
        assert_eq!(classify("Or"), WordClass::Disjunction);
        assert_eq!(classify("desc"), WordClass::SortModifier);
        assert_eq!(classify("limit"), WordClass::Structural);
        assert_eq!(classify("price"), WordClass::Plain);
        assert_eq!(classify("a_very_long_identifier_name"), WordClass::Plain);
        assert_eq!(classify("sélect"), WordClass::Plain);
    }
}

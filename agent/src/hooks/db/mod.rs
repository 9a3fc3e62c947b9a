//! Database sinks in client libraries: SQLite, libpq (PostgreSQL) and the MySQL/MariaDB C
//! client. Drivers that speak the wire protocol themselves are covered by [`crate::wire`].
//!
//! Client libraries are often outside the global symbol scope (CPython loads libsqlite3
//! `RTLD_LOCAL`; psycopg2-binary bundles a private libpq), so each real function is found in
//! whichever loaded object defines it ([`RealFn::get_or_find`]) on first use. If none can be
//! found the hook fails through the library's own error value rather than crash.
//!
//! Only SQL text is checked: bound parameters (`PQexecParams`' values, prepared-statement
//! bindings) are data and never reach the detector.

pub(crate) mod libpq;
pub(crate) mod mysql;
pub(crate) mod sqlite;

use std::ffi::{CStr, c_char, c_int};

use policy::{Sink, SqlDialect};

use super::run;
use crate::guard::Guard;
use crate::real::RealFn;
use crate::sinks::{self, Delivery};

/// Resolves every database client function that is already in the global scope.
pub(crate) fn resolve_all() -> usize {
    sqlite::resolve_all() + libpq::resolve_all() + mysql::resolve_all()
}

/// The real function, searched for in every loaded object on first use.
pub(crate) fn real<F: Copy>(f: &RealFn<F>, ours: usize) -> Option<F> {
    let _guard = Guard::enter();
    f.get_or_find(ours)
}

/// SQL text from a UTF-8 buffer: `len < 0` means NUL-terminated; otherwise at most `len`
/// bytes, stopping at a NUL.
///
/// # Safety
/// `sql` must be null or valid for the length the library itself would read.
pub(crate) unsafe fn utf8_text(sql: *const c_char, len: isize) -> Option<String> {
    if sql.is_null() {
        return None;
    }
    let bytes = match usize::try_from(len) {
        // SAFETY: the caller passed `len` readable bytes.
        Ok(n) => unsafe { std::slice::from_raw_parts(sql.cast::<u8>(), n) },
        // SAFETY: NUL-terminated per the library's contract for a negative length.
        Err(_) => unsafe { CStr::from_ptr(sql) }.to_bytes(),
    };
    let end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
    Some(String::from_utf8_lossy(bytes.get(..end).unwrap_or(bytes)).into_owned())
}

/// Checks SQL text in `dialect`; `Some(rule id)` when it must be refused.
pub(crate) fn sql_refused(
    function: &'static str,
    dialect: SqlDialect,
    text: Option<String>,
) -> Option<String> {
    run(|| {
        let query = text?;
        let sink = Sink::Sql {
            function,
            dialect,
            query: &query,
        };
        sinks::check_detailed(&sink, Delivery::Queued)
    })
    .flatten()
}

/// The statement sent in place of a refused one: it fails on the server, through the
/// library's normal error path, with a message naming librasp and the rule — e.g.
/// PostgreSQL's `column "librasp blocked sqli.tautology" does not exist`. It changes nothing
/// and leaves the connection usable (inside a transaction it aborts it, like any error).
pub(crate) fn refusal_statement(rule: &str, quote: char) -> std::ffi::CString {
    let rule: String = rule
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(40)
        .collect();
    let text = format!("SELECT {quote}librasp blocked {rule}{quote}");
    std::ffi::CString::new(text).unwrap_or_default()
}

/// Length of a C string as the `c_int`/`c_ulong` length parameters expect.
pub(crate) fn c_len(s: &CStr) -> c_int {
    c_int::try_from(s.to_bytes().len()).unwrap_or(c_int::MAX)
}

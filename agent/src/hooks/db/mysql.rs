//! The MySQL / MariaDB C client (libmysqlclient, libmariadb): the functions that send SQL text.
//!
//! A refused statement is replaced by [`super::refusal_statement`], so the server fails it and
//! the application sees the client's normal error (non-zero return, `mysql_error()` reading
//! "Unknown column 'librasp blocked <rule>'…"); the connection stays usable.

use std::ffi::{c_char, c_int, c_ulong, c_void};

use policy::SqlDialect;

use super::{c_len, real, refusal_statement, sql_refused, utf8_text};
use crate::real::reals;

type Mysql = *mut c_void;
type Stmt = *mut c_void;

reals! {
    REAL_MYSQL_QUERY: unsafe extern "C" fn(Mysql, *const c_char) -> c_int = c"mysql_query";
    REAL_MYSQL_REAL_QUERY: unsafe extern "C" fn(Mysql, *const c_char, c_ulong) -> c_int = c"mysql_real_query";
    REAL_MYSQL_SEND_QUERY: unsafe extern "C" fn(Mysql, *const c_char, c_ulong) -> c_int = c"mysql_send_query";
    REAL_MYSQL_STMT_PREPARE: unsafe extern "C" fn(Stmt, *const c_char, c_ulong) -> c_int = c"mysql_stmt_prepare";
}

/// `Some(replacement statement)` when the SQL text must be refused.
///
/// # Safety
/// `query` must be null or valid for `len` bytes (NUL-terminated when `len` is negative).
unsafe fn refused(
    function: &'static str,
    query: *const c_char,
    len: isize,
) -> Option<std::ffi::CString> {
    // SAFETY: per the contract.
    let text = unsafe { utf8_text(query, len) };
    sql_refused(function, SqlDialect::Mysql, text).map(|rule| refusal_statement(&rule, '`'))
}

fn as_len(len: c_ulong) -> isize {
    isize::try_from(len).unwrap_or(isize::MAX)
}

/// Interposes `mysql_query`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mysql_query(mysql: Mysql, query: *const c_char) -> c_int {
    let Some(f) = real(&REAL_MYSQL_QUERY, mysql_query as *const () as usize) else {
        return 1;
    };
    // SAFETY: the caller's query is a C string.
    match unsafe { refused("mysql_query", query, -1) } {
        // SAFETY: forwarding to the real function with our statement.
        Some(stmt) => unsafe { f(mysql, stmt.as_ptr()) },
        // SAFETY: forwarding the caller's arguments to the real function.
        None => unsafe { f(mysql, query) },
    }
}

/// Declares a `(handle, query, length)` hook.
macro_rules! length_hook {
    ($name:ident, $real:ident, $handle:ty) => {
        #[doc = concat!("Interposes `", stringify!($name), "`.")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(h: $handle, query: *const c_char, len: c_ulong) -> c_int {
            let Some(f) = real(&$real, $name as *const () as usize) else {
                return 1;
            };
            // SAFETY: the caller passes `len` readable bytes.
            match unsafe { refused(stringify!($name), query, as_len(len)) } {
                Some(stmt) => {
                    let n = c_ulong::try_from(c_len(&stmt)).unwrap_or(0);
                    // SAFETY: forwarding to the real function with our statement.
                    unsafe { f(h, stmt.as_ptr(), n) }
                }
                // SAFETY: forwarding the caller's arguments to the real function.
                None => unsafe { f(h, query, len) },
            }
        }
    };
}

length_hook!(mysql_real_query, REAL_MYSQL_REAL_QUERY, Mysql);
length_hook!(mysql_send_query, REAL_MYSQL_SEND_QUERY, Mysql);
length_hook!(mysql_stmt_prepare, REAL_MYSQL_STMT_PREPARE, Stmt);

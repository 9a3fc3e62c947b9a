//! libpq (PostgreSQL's C client): the functions that send SQL text.
//!
//! A refused statement is replaced by [`super::refusal_statement`], so the server fails it and
//! the application sees libpq's normal error result (`PGRES_FATAL_ERROR`, or a failed
//! `PQgetResult` for the send variants) with a message containing "librasp" and the rule id.
//! Bound parameters are never checked; the refused `PQexecParams`/`PQsendQueryParams` are sent
//! with none.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::null;

use policy::SqlDialect;

use super::{real, refusal_statement, sql_refused, utf8_text};
use crate::real::reals;

type Conn = *mut c_void;
type PgResult = *mut c_void;
type Oid = u32;

type ExecFn = unsafe extern "C" fn(Conn, *const c_char) -> PgResult;
type ExecParamsFn = unsafe extern "C" fn(
    Conn,
    *const c_char,
    c_int,
    *const Oid,
    *const *const c_char,
    *const c_int,
    *const c_int,
    c_int,
) -> PgResult;
type PrepareFn =
    unsafe extern "C" fn(Conn, *const c_char, *const c_char, c_int, *const Oid) -> PgResult;
type SendQueryFn = unsafe extern "C" fn(Conn, *const c_char) -> c_int;
type SendQueryParamsFn = unsafe extern "C" fn(
    Conn,
    *const c_char,
    c_int,
    *const Oid,
    *const *const c_char,
    *const c_int,
    *const c_int,
    c_int,
) -> c_int;
type SendPrepareFn =
    unsafe extern "C" fn(Conn, *const c_char, *const c_char, c_int, *const Oid) -> c_int;

reals! {
    REAL_PQEXEC: ExecFn = c"PQexec";
    REAL_PQEXECPARAMS: ExecParamsFn = c"PQexecParams";
    REAL_PQPREPARE: PrepareFn = c"PQprepare";
    REAL_PQSENDQUERY: SendQueryFn = c"PQsendQuery";
    REAL_PQSENDQUERYPARAMS: SendQueryParamsFn = c"PQsendQueryParams";
    REAL_PQSENDPREPARE: SendPrepareFn = c"PQsendPrepare";
}

/// `Some(replacement statement)` when the SQL text must be refused.
///
/// # Safety
/// `query` must be null or a C string.
unsafe fn refused(function: &'static str, query: *const c_char) -> Option<std::ffi::CString> {
    // SAFETY: per the contract.
    let text = unsafe { utf8_text(query, -1) };
    sql_refused(function, SqlDialect::Postgresql, text).map(|rule| refusal_statement(&rule, '"'))
}

/// Declares a hook over `(conn, query)`.
macro_rules! query_hook {
    ($name:ident, $real:ident, $ret:ty, $missing:expr) => {
        #[doc = concat!("Interposes `", stringify!($name), "`.")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(conn: Conn, query: *const c_char) -> $ret {
            let Some(f) = real(&$real, $name as *const () as usize) else {
                return $missing;
            };
            // SAFETY: the caller's query is a C string.
            match unsafe { refused(stringify!($name), query) } {
                // SAFETY: forwarding to the real function with our statement.
                Some(stmt) => unsafe { f(conn, stmt.as_ptr()) },
                // SAFETY: forwarding the caller's arguments to the real function.
                None => unsafe { f(conn, query) },
            }
        }
    };
}

/// Declares a hook over `(conn, command, nParams, types, values, lengths, formats, resultFormat)`;
/// a refused command is sent with no parameters.
macro_rules! params_hook {
    ($name:ident, $real:ident, $ret:ty, $missing:expr) => {
        #[doc = concat!("Interposes `", stringify!($name), "`.")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            conn: Conn,
            command: *const c_char,
            n_params: c_int,
            types: *const Oid,
            values: *const *const c_char,
            lengths: *const c_int,
            formats: *const c_int,
            result_format: c_int,
        ) -> $ret {
            let Some(f) = real(&$real, $name as *const () as usize) else {
                return $missing;
            };
            // SAFETY: the caller's command is a C string.
            match unsafe { refused(stringify!($name), command) } {
                // SAFETY: our statement takes no parameters.
                Some(stmt) => unsafe {
                    f(
                        conn,
                        stmt.as_ptr(),
                        0,
                        null(),
                        null(),
                        null(),
                        null(),
                        result_format,
                    )
                },
                // SAFETY: forwarding the caller's arguments to the real function.
                None => unsafe {
                    f(
                        conn,
                        command,
                        n_params,
                        types,
                        values,
                        lengths,
                        formats,
                        result_format,
                    )
                },
            }
        }
    };
}

/// Declares a hook over `(conn, name, query, nParams, types)`: a refused statement fails to
/// prepare.
macro_rules! prepare_hook {
    ($name:ident, $real:ident, $ret:ty, $missing:expr) => {
        #[doc = concat!("Interposes `", stringify!($name), "`.")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            conn: Conn,
            name: *const c_char,
            query: *const c_char,
            n_params: c_int,
            types: *const Oid,
        ) -> $ret {
            let Some(f) = real(&$real, $name as *const () as usize) else {
                return $missing;
            };
            // SAFETY: the caller's query is a C string.
            match unsafe { refused(stringify!($name), query) } {
                // SAFETY: our statement takes no parameters.
                Some(stmt) => unsafe { f(conn, name, stmt.as_ptr(), 0, null()) },
                // SAFETY: forwarding the caller's arguments to the real function.
                None => unsafe { f(conn, name, query, n_params, types) },
            }
        }
    };
}

query_hook!(PQexec, REAL_PQEXEC, PgResult, std::ptr::null_mut());
query_hook!(PQsendQuery, REAL_PQSENDQUERY, c_int, 0);
params_hook!(
    PQexecParams,
    REAL_PQEXECPARAMS,
    PgResult,
    std::ptr::null_mut()
);
params_hook!(PQsendQueryParams, REAL_PQSENDQUERYPARAMS, c_int, 0);
prepare_hook!(PQprepare, REAL_PQPREPARE, PgResult, std::ptr::null_mut());
prepare_hook!(PQsendPrepare, REAL_PQSENDPREPARE, c_int, 0);

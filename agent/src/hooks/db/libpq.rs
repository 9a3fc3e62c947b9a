//! libpq (PostgreSQL's C client): the functions that send SQL text.
//!
//! A refused statement is replaced by [`super::refusal_statement`], so the server fails it and
//! the application sees libpq's normal error result (`PGRES_FATAL_ERROR`, or a failed
//! `PQgetResult` for the send variants) with a message containing "librasp" and the rule id.
//! Bound parameters are never checked; the refused `PQexecParams`/`PQsendQueryParams` are sent
//! with none.

use std::ffi::{c_char, c_int, c_void};

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

/// Interposes `PQexec`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PQexec(conn: Conn, query: *const c_char) -> PgResult {
    let Some(f) = real(&REAL_PQEXEC, PQexec as *const () as usize) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the caller's query is a C string.
    match unsafe { refused("PQexec", query) } {
        // SAFETY: forwarding to the real function (with our statement when refused).
        Some(stmt) => unsafe { f(conn, stmt.as_ptr()) },
        // SAFETY: as above.
        None => unsafe { f(conn, query) },
    }
}

/// Interposes `PQexecParams`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PQexecParams(
    conn: Conn,
    command: *const c_char,
    n_params: c_int,
    types: *const Oid,
    values: *const *const c_char,
    lengths: *const c_int,
    formats: *const c_int,
    result_format: c_int,
) -> PgResult {
    let Some(f) = real(&REAL_PQEXECPARAMS, PQexecParams as *const () as usize) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the caller's command is a C string.
    match unsafe { refused("PQexecParams", command) } {
        // SAFETY: our statement takes no parameters.
        Some(stmt) => unsafe {
            f(
                conn,
                stmt.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
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

/// Interposes `PQprepare`: a refused statement fails to prepare.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PQprepare(
    conn: Conn,
    name: *const c_char,
    query: *const c_char,
    n_params: c_int,
    types: *const Oid,
) -> PgResult {
    let Some(f) = real(&REAL_PQPREPARE, PQprepare as *const () as usize) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the caller's query is a C string.
    match unsafe { refused("PQprepare", query) } {
        // SAFETY: our statement takes no parameters.
        Some(stmt) => unsafe { f(conn, name, stmt.as_ptr(), 0, std::ptr::null()) },
        // SAFETY: forwarding the caller's arguments to the real function.
        None => unsafe { f(conn, name, query, n_params, types) },
    }
}

/// Interposes `PQsendQuery`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PQsendQuery(conn: Conn, query: *const c_char) -> c_int {
    let Some(f) = real(&REAL_PQSENDQUERY, PQsendQuery as *const () as usize) else {
        return 0;
    };
    // SAFETY: the caller's query is a C string.
    match unsafe { refused("PQsendQuery", query) } {
        // SAFETY: forwarding to the real function with our statement.
        Some(stmt) => unsafe { f(conn, stmt.as_ptr()) },
        // SAFETY: forwarding the caller's arguments to the real function.
        None => unsafe { f(conn, query) },
    }
}

/// Interposes `PQsendQueryParams`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PQsendQueryParams(
    conn: Conn,
    command: *const c_char,
    n_params: c_int,
    types: *const Oid,
    values: *const *const c_char,
    lengths: *const c_int,
    formats: *const c_int,
    result_format: c_int,
) -> c_int {
    let Some(f) = real(
        &REAL_PQSENDQUERYPARAMS,
        PQsendQueryParams as *const () as usize,
    ) else {
        return 0;
    };
    // SAFETY: the caller's command is a C string.
    match unsafe { refused("PQsendQueryParams", command) } {
        // SAFETY: our statement takes no parameters.
        Some(stmt) => unsafe {
            f(
                conn,
                stmt.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
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

/// Interposes `PQsendPrepare`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PQsendPrepare(
    conn: Conn,
    name: *const c_char,
    query: *const c_char,
    n_params: c_int,
    types: *const Oid,
) -> c_int {
    let Some(f) = real(&REAL_PQSENDPREPARE, PQsendPrepare as *const () as usize) else {
        return 0;
    };
    // SAFETY: the caller's query is a C string.
    match unsafe { refused("PQsendPrepare", query) } {
        // SAFETY: our statement takes no parameters.
        Some(stmt) => unsafe { f(conn, name, stmt.as_ptr(), 0, std::ptr::null()) },
        // SAFETY: forwarding the caller's arguments to the real function.
        None => unsafe { f(conn, name, query, n_params, types) },
    }
}

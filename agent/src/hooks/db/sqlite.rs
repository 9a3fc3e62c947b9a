//! SQLite: the prepare family and `sqlite3_exec`.
//!
//! Blocking lets SQLite refuse the statement itself: a deny-all authorizer is installed for
//! the one real call, so the call fails with `SQLITE_AUTH` and SQLite's own error state reads
//! "not authorized" (returning a bare code would leave a stale message, and CPython then raises
//! SystemError instead of DatabaseError). The application's own authorizer, which we track
//! through `sqlite3_set_authorizer`, is put back afterwards. Bound parameters never reach
//! these functions: only SQL text is checked.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::sync::Mutex;

use policy::SqlDialect;

use super::{real, sql_refused};
use crate::real::reals;

/// `sqlite3*` and `sqlite3_stmt*` are opaque.
type Db = *mut c_void;
type Stmt = *mut c_void;
type AuthFn = Option<
    unsafe extern "C" fn(
        *mut c_void,
        c_int,
        *const c_char,
        *const c_char,
        *const c_char,
        *const c_char,
    ) -> c_int,
>;
type ExecCallback =
    Option<unsafe extern "C" fn(*mut c_void, c_int, *mut *mut c_char, *mut *mut c_char) -> c_int>;
type PrepareFn =
    unsafe extern "C" fn(Db, *const c_char, c_int, *mut Stmt, *mut *const c_char) -> c_int;
type PrepareV3Fn =
    unsafe extern "C" fn(Db, *const c_char, c_int, c_uint, *mut Stmt, *mut *const c_char) -> c_int;
type Prepare16Fn =
    unsafe extern "C" fn(Db, *const c_void, c_int, *mut Stmt, *mut *const c_void) -> c_int;
type Prepare16V3Fn =
    unsafe extern "C" fn(Db, *const c_void, c_int, c_uint, *mut Stmt, *mut *const c_void) -> c_int;
type ExecFn =
    unsafe extern "C" fn(Db, *const c_char, ExecCallback, *mut c_void, *mut *mut c_char) -> c_int;
type SetAuthFn = unsafe extern "C" fn(Db, AuthFn, *mut c_void) -> c_int;

const SQLITE_ERROR: c_int = 1;
const SQLITE_AUTH: c_int = 23;
const SQLITE_DENY: c_int = 1;

reals! {
    REAL_SQLITE3_PREPARE: PrepareFn = c"sqlite3_prepare";
    REAL_SQLITE3_PREPARE_V2: PrepareFn = c"sqlite3_prepare_v2";
    REAL_SQLITE3_PREPARE_V3: PrepareV3Fn = c"sqlite3_prepare_v3";
    REAL_SQLITE3_PREPARE16: Prepare16Fn = c"sqlite3_prepare16";
    REAL_SQLITE3_PREPARE16_V2: Prepare16Fn = c"sqlite3_prepare16_v2";
    REAL_SQLITE3_PREPARE16_V3: Prepare16V3Fn = c"sqlite3_prepare16_v3";
    REAL_SQLITE3_EXEC: ExecFn = c"sqlite3_exec";
    REAL_SQLITE3_SET_AUTHORIZER: SetAuthFn = c"sqlite3_set_authorizer";
}

/// The application's authorizer per connection (callback, user data), as addresses.
static AUTHORIZERS: Mutex<Option<HashMap<usize, (usize, usize)>>> = Mutex::new(None);

/// SQL text from a UTF-16 (native order) buffer; `len` is in bytes.
///
/// # Safety
/// As [`super::utf8_text`], for 16-bit units.
unsafe fn utf16_text(sql: *const c_void, len: c_int) -> Option<String> {
    if sql.is_null() {
        return None;
    }
    let p = sql.cast::<u16>();
    let units = match usize::try_from(len) {
        Ok(n) => n / 2,
        Err(_) => {
            let mut n = 0;
            // SAFETY: NUL-terminated per SQLite's contract; capped at 1 Mi units.
            while n < (1 << 20) && unsafe { *p.add(n) } != 0 {
                n += 1;
            }
            n
        }
    };
    // SAFETY: `units` 16-bit units are readable (from `len` or the scan above).
    let s = unsafe { std::slice::from_raw_parts(p, units) };
    let end = s.iter().position(|&u| u == 0).unwrap_or(s.len());
    Some(String::from_utf16_lossy(s.get(..end).unwrap_or(s)))
}

/// Checks SQLite SQL text; true when it must be refused.
fn refused(function: &'static str, text: Option<String>) -> bool {
    sql_refused(function, SqlDialect::Sqlite, text).is_some()
}

/// The deny-all authorizer installed for the duration of a refused call.
unsafe extern "C" fn deny_all(
    _: *mut c_void,
    _: c_int,
    _: *const c_char,
    _: *const c_char,
    _: *const c_char,
    _: *const c_char,
) -> c_int {
    SQLITE_DENY
}

/// Runs the real call with every action denied, so SQLite fails it with `SQLITE_AUTH` and
/// sets its own error message; then restores the application's authorizer.
fn with_everything_denied(db: Db, call: impl FnOnce() -> c_int) -> c_int {
    let Some(set) = real(
        &REAL_SQLITE3_SET_AUTHORIZER,
        sqlite3_set_authorizer as *const () as usize,
    ) else {
        return SQLITE_AUTH;
    };
    // SAFETY: `db` is the application's open connection; deny_all has the authorizer ABI.
    unsafe { set(db, Some(deny_all), std::ptr::null_mut()) };
    let rc = call();
    let (cb, data) = AUTHORIZERS
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(&(db as usize)).copied()))
        .unwrap_or((0, 0));
    let cb: AuthFn = if cb == 0 {
        None
    } else {
        // SAFETY: `cb` was recorded from the application's own authorizer pointer.
        Some(unsafe {
            std::mem::transmute::<
                usize,
                unsafe extern "C" fn(
                    *mut c_void,
                    c_int,
                    *const c_char,
                    *const c_char,
                    *const c_char,
                    *const c_char,
                ) -> c_int,
            >(cb)
        })
    };
    // SAFETY: restoring exactly what the application installed (or none).
    unsafe { set(db, cb, data as *mut c_void) };
    if rc == SQLITE_AUTH { rc } else { SQLITE_AUTH }
}

/// Interposes `sqlite3_set_authorizer` to remember the application's authorizer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_set_authorizer(db: Db, cb: AuthFn, data: *mut c_void) -> c_int {
    if let Ok(mut m) = AUTHORIZERS.lock() {
        let m = m.get_or_insert_with(HashMap::new);
        match cb {
            Some(f) => m.insert(db as usize, (f as usize, data as usize)),
            None => m.remove(&(db as usize)),
        };
    }
    match real(
        &REAL_SQLITE3_SET_AUTHORIZER,
        sqlite3_set_authorizer as *const () as usize,
    ) {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(db, cb, data) },
        None => SQLITE_ERROR,
    }
}

/// Declares a prepare-family hook over UTF-8 text.
macro_rules! prepare_hook {
    ($name:ident, $real:ident) => {
        #[doc = concat!("Interposes `", stringify!($name), "`.")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            db: Db,
            sql: *const c_char,
            len: c_int,
            stmt: *mut Stmt,
            tail: *mut *const c_char,
        ) -> c_int {
            let Some(f) = real(&$real, $name as *const () as usize) else {
                return SQLITE_ERROR;
            };
            // SAFETY: forwarding the caller's arguments to the real function.
            let call = || unsafe { f(db, sql, len, stmt, tail) };
            // SAFETY: `sql`/`len` follow SQLite's contract.
            if refused(stringify!($name), unsafe {
                super::utf8_text(sql, len as isize)
            }) {
                return with_everything_denied(db, call);
            }
            call()
        }
    };
}

prepare_hook!(sqlite3_prepare, REAL_SQLITE3_PREPARE);
prepare_hook!(sqlite3_prepare_v2, REAL_SQLITE3_PREPARE_V2);

/// Interposes `sqlite3_prepare_v3`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_prepare_v3(
    db: Db,
    sql: *const c_char,
    len: c_int,
    flags: c_uint,
    stmt: *mut Stmt,
    tail: *mut *const c_char,
) -> c_int {
    let Some(f) = real(
        &REAL_SQLITE3_PREPARE_V3,
        sqlite3_prepare_v3 as *const () as usize,
    ) else {
        return SQLITE_ERROR;
    };
    // SAFETY: forwarding the caller's arguments to the real function.
    let call = || unsafe { f(db, sql, len, flags, stmt, tail) };
    // SAFETY: `sql`/`len` follow SQLite's contract.
    if refused("sqlite3_prepare_v3", unsafe {
        super::utf8_text(sql, len as isize)
    }) {
        return with_everything_denied(db, call);
    }
    call()
}

/// Declares a prepare-family hook over UTF-16 text.
macro_rules! prepare16_hook {
    ($name:ident, $real:ident) => {
        #[doc = concat!("Interposes `", stringify!($name), "` (UTF-16 text, checked as UTF-8).")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            db: Db,
            sql: *const c_void,
            len: c_int,
            stmt: *mut Stmt,
            tail: *mut *const c_void,
        ) -> c_int {
            let Some(f) = real(&$real, $name as *const () as usize) else {
                return SQLITE_ERROR;
            };
            // SAFETY: forwarding the caller's arguments to the real function.
            let call = || unsafe { f(db, sql, len, stmt, tail) };
            // SAFETY: `sql`/`len` follow SQLite's contract.
            if refused(stringify!($name), unsafe { utf16_text(sql, len) }) {
                return with_everything_denied(db, call);
            }
            call()
        }
    };
}

prepare16_hook!(sqlite3_prepare16, REAL_SQLITE3_PREPARE16);
prepare16_hook!(sqlite3_prepare16_v2, REAL_SQLITE3_PREPARE16_V2);

/// Interposes `sqlite3_prepare16_v3`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_prepare16_v3(
    db: Db,
    sql: *const c_void,
    len: c_int,
    flags: c_uint,
    stmt: *mut Stmt,
    tail: *mut *const c_void,
) -> c_int {
    let Some(f) = real(
        &REAL_SQLITE3_PREPARE16_V3,
        sqlite3_prepare16_v3 as *const () as usize,
    ) else {
        return SQLITE_ERROR;
    };
    // SAFETY: forwarding the caller's arguments to the real function.
    let call = || unsafe { f(db, sql, len, flags, stmt, tail) };
    // SAFETY: `sql`/`len` follow SQLite's contract.
    if refused("sqlite3_prepare16_v3", unsafe { utf16_text(sql, len) }) {
        return with_everything_denied(db, call);
    }
    call()
}

/// Interposes `sqlite3_exec`: a refused script fails with `SQLITE_AUTH` and SQLite's own
/// "not authorized" message in `*errmsg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_exec(
    db: Db,
    sql: *const c_char,
    cb: ExecCallback,
    arg: *mut c_void,
    errmsg: *mut *mut c_char,
) -> c_int {
    let Some(f) = real(&REAL_SQLITE3_EXEC, sqlite3_exec as *const () as usize) else {
        return SQLITE_ERROR;
    };
    // SAFETY: forwarding the caller's arguments to the real function.
    let call = || unsafe { f(db, sql, cb, arg, errmsg) };
    // SAFETY: `sql` is NUL-terminated per SQLite's contract.
    if refused("sqlite3_exec", unsafe { super::utf8_text(sql, -1) }) {
        return with_everything_denied(db, call);
    }
    call()
}

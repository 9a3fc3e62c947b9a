//! The exported C-ABI functions, one module per hook family. Each hook is a mechanical shell:
//! state check → reentrancy guard → `catch_unwind(logic)` → apply the verdict → real call.
//! The logic lives in [`crate::sinks`], [`crate::capture`] and the policy crate.

pub(crate) mod db;
pub(crate) mod dl;
pub(crate) mod exec;
pub(crate) mod fs;
pub(crate) mod net;
pub(crate) mod source;

use std::borrow::Cow;
use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::guard::Guard;
use crate::{errno, lifecycle, stats};

/// Runs `logic` when the agent is active and this thread is not already inside it; `None`
/// means "pass through". errno is restored afterwards; a panic is caught, counted, and
/// treated as pass-through (fail open).
#[inline]
pub(crate) fn run<R>(logic: impl FnOnce() -> R) -> Option<R> {
    if !lifecycle::is_active() {
        return None;
    }
    let _guard = Guard::enter()?;
    let _errno = errno::Saved::now();
    match catch_unwind(AssertUnwindSafe(logic)) {
        Ok(r) => Some(r),
        Err(_) => {
            stats::PANICS.bump();
            None
        }
    }
}

/// Like [`run`], but also passes through in a `vfork` child (which shares our memory and must
/// not allocate or write shared state). Costs a `getpid`.
#[inline]
pub(crate) fn run_in_own_process<R>(logic: impl FnOnce() -> R) -> Option<R> {
    run(|| lifecycle::in_own_process().then(logic)).flatten()
}

/// Resolves all real functions; returns how many are missing.
pub(crate) fn resolve_all() -> usize {
    source::resolve_all()
        + exec::resolve_all()
        + fs::resolve_all()
        + net::resolve_all()
        + dl::resolve_all()
        + db::resolve_all()
}

/// A C string as UTF-8 (lossy); `None` for a null pointer.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string that outlives the result.
pub(crate) unsafe fn c_str<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    Some(String::from_utf8_lossy(
        unsafe { CStr::from_ptr(p) }.to_bytes(),
    ))
}

/// A NULL-terminated `char *argv[]` as owned strings (at most 4096 entries).
///
/// # Safety
/// `argv` must be null or a valid NULL-terminated array of C strings.
pub(crate) unsafe fn c_argv(argv: *const *const c_char) -> Vec<String> {
    let mut out = Vec::new();
    if argv.is_null() {
        return out;
    }
    for i in 0..4096 {
        // SAFETY: the array is NULL-terminated and we stop at the NULL.
        let p = unsafe { *argv.add(i) };
        // SAFETY: each entry is a NUL-terminated string.
        match unsafe { c_str(p) } {
            Some(s) => out.push(s.into_owned()),
            None => break,
        }
    }
    out
}

/// Sets errno to the refusal's errno (EACCES unless the policy's `deny` response names
/// another) and returns `value`: the block contract.
#[inline]
pub(crate) fn refuse<T>(value: T) -> T {
    errno::set(crate::sinks::refusal_errno());
    value
}

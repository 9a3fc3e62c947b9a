//! `dlopen`: a library path that came from a request is a code-loading sink.
//!
//! The exported `dlopen` lives in the C shim (it must tail-call the real one so glibc searches
//! the application's RPATH, not ours); it asks [`on_dlopen`] first.

use std::ffi::{c_char, c_int, c_void};

use policy::Sink;

use super::{c_str, run_in_own_process};
use crate::real::reals;
use crate::sinks::{self, Delivery, Verdict};

reals! {
    REAL_DLOPEN: unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void = c"dlopen";
}

/// Called by the shim before every `dlopen` with a file name; non-zero refuses the load.
///
/// # Safety
/// `path` is a non-null C string (the shim checks).
pub(crate) unsafe extern "C" fn on_dlopen(path: *const c_char) -> c_int {
    let refused = run_in_own_process(|| {
        // SAFETY: the shim passes dlopen's non-null file argument.
        let Some(path) = (unsafe { c_str(path) }) else {
            return false;
        };
        sinks::check(&Sink::Dlopen { path: &path }, Delivery::Queued) == Verdict::Block
    });
    c_int::from(refused == Some(true))
}

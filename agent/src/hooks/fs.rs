//! File opens: the open family (including the fortified `__open*_2` and 64-bit aliases),
//! creat and the stdio fopen family.
//!
//! `open`/`openat` and their 64-bit aliases are variadic, so the C shim defines them and calls
//! [`on_open`]; the rest are defined here. A refused open returns -1 (or NULL) with errno
//! `EACCES`. Before initialisation, opens go straight to the `openat` syscall.

use std::ffi::{c_char, c_int, c_uint};

use libc::{FILE, mode_t};
use policy::Sink;

use super::{c_str, refuse, run_in_own_process};
use crate::fdtable::{self, FdKind};
use crate::real::reals;
use crate::sinks::{self, Delivery, Verdict};

type OpenFn = unsafe extern "C" fn(*const c_char, c_int, ...) -> c_int;
type OpenatFn = unsafe extern "C" fn(c_int, *const c_char, c_int, ...) -> c_int;
type FopenFn = unsafe extern "C" fn(*const c_char, *const c_char) -> *mut FILE;
type FreopenFn = unsafe extern "C" fn(*const c_char, *const c_char, *mut FILE) -> *mut FILE;

reals! {
    REAL_OPEN: OpenFn = c"open";
    REAL_OPEN64: OpenFn = c"open64";
    REAL_OPENAT: OpenatFn = c"openat";
    REAL_OPENAT64: OpenatFn = c"openat64";
    REAL_OPEN_2: unsafe extern "C" fn(*const c_char, c_int) -> c_int = c"__open_2";
    REAL_OPEN64_2: unsafe extern "C" fn(*const c_char, c_int) -> c_int = c"__open64_2";
    REAL_OPENAT_2: unsafe extern "C" fn(c_int, *const c_char, c_int) -> c_int = c"__openat_2";
    REAL_OPENAT64_2: unsafe extern "C" fn(c_int, *const c_char, c_int) -> c_int = c"__openat64_2";
    REAL_CREAT: unsafe extern "C" fn(*const c_char, mode_t) -> c_int = c"creat";
    REAL_CREAT64: unsafe extern "C" fn(*const c_char, mode_t) -> c_int = c"creat64";
    REAL_FOPEN: FopenFn = c"fopen";
    REAL_FOPEN64: FopenFn = c"fopen64";
    REAL_FREOPEN: FreopenFn = c"freopen";
    REAL_FREOPEN64: FreopenFn = c"freopen64";
}

/// Whether open(2) flags write or create.
fn flags_write(flags: c_int) -> bool {
    flags & (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) != 0
}

/// Whether an fopen mode string writes.
///
/// # Safety
/// `mode` must be null or a C string.
unsafe fn mode_writes(mode: *const c_char) -> bool {
    // SAFETY: per the contract.
    unsafe { c_str(mode) }.is_some_and(|m| m.contains(['w', 'a', '+']))
}

/// Checks an open; true when it must be refused.
///
/// # Safety
/// `path` must be null or a C string.
unsafe fn open_refused(function: &'static str, path: *const c_char, write: bool) -> bool {
    run_in_own_process(|| {
        // SAFETY: per the contract.
        let Some(path) = (unsafe { c_str(path) }) else {
            return false;
        };
        sinks::check(
            &Sink::Open {
                function,
                path: &path,
                write,
            },
            Delivery::Queued,
        ) == Verdict::Block
    }) == Some(true)
}

/// Records a successfully opened fd as a plain file (it may reuse a number we saw as a socket).
fn opened(fd: c_int) -> c_int {
    if fd >= 0 {
        fdtable::set(fd, FdKind::Plain);
    }
    fd
}

fn raw_openat(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    // SAFETY: the caller's arguments, forwarded unchanged to the kernel.
    unsafe { libc::syscall(libc::SYS_openat, dirfd, path, flags, mode) as c_int }
}

/// Called by the C shim for open (0), open64 (1), openat (2) and openat64 (3).
///
/// # Safety
/// Called only by the shim, with the entry point's own arguments.
pub(crate) unsafe extern "C" fn on_open(
    which: c_int,
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: c_uint,
) -> c_int {
    let function = match which {
        0 => "open",
        1 => "open64",
        2 => "openat",
        _ => "openat64",
    };
    // SAFETY: the shim passes the application's path argument.
    if unsafe { open_refused(function, path, flags_write(flags)) } {
        return refuse(-1);
    }
    let fd = match which {
        0 => REAL_OPEN.get().map(|f| {
            // SAFETY: forwarding the application's arguments to the real function.
            unsafe { f(path, flags, mode) }
        }),
        1 => REAL_OPEN64.get().map(|f| {
            // SAFETY: as above.
            unsafe { f(path, flags, mode) }
        }),
        2 => REAL_OPENAT.get().map(|f| {
            // SAFETY: as above.
            unsafe { f(dirfd, path, flags, mode) }
        }),
        _ => REAL_OPENAT64.get().map(|f| {
            // SAFETY: as above.
            unsafe { f(dirfd, path, flags, mode) }
        }),
    };
    opened(fd.unwrap_or_else(|| raw_openat(dirfd, path, flags | libc::O_LARGEFILE, mode)))
}

/// Interposes the fortified `__open_2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __open_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: the caller's path is a C string.
    if unsafe { open_refused("__open_2", path, flags_write(flags)) } {
        return refuse(-1);
    }
    // SAFETY: forwarding the caller's arguments to the real function.
    let fd = REAL_OPEN_2.get().map(|f| unsafe { f(path, flags) });
    opened(fd.unwrap_or_else(|| raw_openat(libc::AT_FDCWD, path, flags, 0)))
}

/// Interposes the fortified `__open64_2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __open64_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: the caller's path is a C string.
    if unsafe { open_refused("__open64_2", path, flags_write(flags)) } {
        return refuse(-1);
    }
    // SAFETY: forwarding the caller's arguments to the real function.
    let fd = REAL_OPEN64_2.get().map(|f| unsafe { f(path, flags) });
    opened(fd.unwrap_or_else(|| raw_openat(libc::AT_FDCWD, path, flags | libc::O_LARGEFILE, 0)))
}

/// Interposes the fortified `__openat_2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: the caller's path is a C string.
    if unsafe { open_refused("__openat_2", path, flags_write(flags)) } {
        return refuse(-1);
    }
    // SAFETY: forwarding the caller's arguments to the real function.
    let fd = REAL_OPENAT_2
        .get()
        .map(|f| unsafe { f(dirfd, path, flags) });
    opened(fd.unwrap_or_else(|| raw_openat(dirfd, path, flags, 0)))
}

/// Interposes the fortified `__openat64_2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: the caller's path is a C string.
    if unsafe { open_refused("__openat64_2", path, flags_write(flags)) } {
        return refuse(-1);
    }
    // SAFETY: forwarding the caller's arguments to the real function.
    let fd = REAL_OPENAT64_2
        .get()
        .map(|f| unsafe { f(dirfd, path, flags) });
    opened(fd.unwrap_or_else(|| raw_openat(dirfd, path, flags | libc::O_LARGEFILE, 0)))
}

/// Interposes `creat(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn creat(path: *const c_char, mode: mode_t) -> c_int {
    // SAFETY: the caller's path is a C string.
    if unsafe { open_refused("creat", path, true) } {
        return refuse(-1);
    }
    // SAFETY: forwarding the caller's arguments to the real function.
    let fd = REAL_CREAT.get().map(|f| unsafe { f(path, mode) });
    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC;
    opened(fd.unwrap_or_else(|| raw_openat(libc::AT_FDCWD, path, flags, mode)))
}

/// Interposes `creat64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn creat64(path: *const c_char, mode: mode_t) -> c_int {
    // SAFETY: the caller's path is a C string.
    if unsafe { open_refused("creat64", path, true) } {
        return refuse(-1);
    }
    // SAFETY: forwarding the caller's arguments to the real function.
    let fd = REAL_CREAT64.get().map(|f| unsafe { f(path, mode) });
    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_LARGEFILE;
    opened(fd.unwrap_or_else(|| raw_openat(libc::AT_FDCWD, path, flags, mode)))
}

/// Shared body of the fopen family.
///
/// # Safety
/// `path` and `mode` must be null or C strings; `stream` as the real function requires.
unsafe fn stdio_open(
    function: &'static str,
    path: *const c_char,
    mode: *const c_char,
    real: Option<FopenFn>,
) -> *mut FILE {
    // SAFETY: per the contract.
    if unsafe { open_refused(function, path, mode_writes(mode)) } {
        return refuse(std::ptr::null_mut());
    }
    match real {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(path, mode) },
        None => refuse(std::ptr::null_mut()),
    }
}

/// Interposes `fopen(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: the caller's arguments satisfy fopen's contract.
    unsafe { stdio_open("fopen", path, mode, REAL_FOPEN.get_or_resolve()) }
}

/// Interposes `fopen64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fopen64(path: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: the caller's arguments satisfy fopen64's contract.
    unsafe { stdio_open("fopen64", path, mode, REAL_FOPEN64.get_or_resolve()) }
}

/// Interposes `freopen(3)`; a refused reopen leaves `stream` untouched.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn freopen(
    path: *const c_char,
    mode: *const c_char,
    stream: *mut FILE,
) -> *mut FILE {
    // SAFETY: the caller's arguments satisfy freopen's contract.
    if unsafe { open_refused("freopen", path, mode_writes(mode)) } {
        return refuse(std::ptr::null_mut());
    }
    match REAL_FREOPEN.get_or_resolve() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(path, mode, stream) },
        None => refuse(std::ptr::null_mut()),
    }
}

/// Interposes `freopen64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn freopen64(
    path: *const c_char,
    mode: *const c_char,
    stream: *mut FILE,
) -> *mut FILE {
    // SAFETY: the caller's arguments satisfy freopen64's contract.
    if unsafe { open_refused("freopen64", path, mode_writes(mode)) } {
        return refuse(std::ptr::null_mut());
    }
    match REAL_FREOPEN64.get_or_resolve() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(path, mode, stream) },
        None => refuse(std::ptr::null_mut()),
    }
}

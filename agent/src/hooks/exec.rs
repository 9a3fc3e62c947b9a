//! Process execution: the exec family, posix_spawn, system and popen.
//!
//! glibc's internals skip the PLT (`system` spawns through an internal posix_spawn, `execl`
//! never reaches the public `execve`), so every public entry point is hooked. Decisions are
//! made in the calling process before the real call — for `system`, `popen` and `posix_spawn`
//! that is the parent, never the vfork-like child they create. Exec-family events are written
//! synchronously: the image is about to be replaced.
//!
//! `vfork` is served by `fork`. A vfork child shares the parent's memory, so the exec it makes
//! could not be checked without corrupting the parent (no allocation, no locks there) — and
//! runtimes such as CPython's subprocess exec through vfork. A conforming program cannot tell
//! the difference (POSIX lets vfork be fork); the cost is copying the page tables. A wrapper
//! function cannot call the real vfork at all: the child would return through, and clobber,
//! the frame the suspended parent is still using. Raw `clone(CLONE_VFORK)` users are still
//! recognised by their pid and pass through unchecked.

use std::ffi::{c_char, c_int};

use libc::{FILE, pid_t, posix_spawn_file_actions_t, posix_spawnattr_t};
use policy::Sink;

use super::{c_argv, c_str, refuse, run_in_own_process};
use crate::real::reals;
use crate::sinks::{self, Delivery, Verdict};
use crate::telemetry;

type Argv = *const *const c_char;

reals! {
    REAL_EXECVE: unsafe extern "C" fn(*const c_char, Argv, Argv) -> c_int = c"execve";
    REAL_EXECV: unsafe extern "C" fn(*const c_char, Argv) -> c_int = c"execv";
    REAL_EXECVP: unsafe extern "C" fn(*const c_char, Argv) -> c_int = c"execvp";
    REAL_EXECVPE: unsafe extern "C" fn(*const c_char, Argv, Argv) -> c_int = c"execvpe";
    REAL_FEXECVE: unsafe extern "C" fn(c_int, Argv, Argv) -> c_int = c"fexecve";
    REAL_EXECVEAT: unsafe extern "C" fn(c_int, *const c_char, Argv, Argv, c_int) -> c_int = c"execveat";
    REAL_POSIX_SPAWN: unsafe extern "C" fn(*mut pid_t, *const c_char, *const posix_spawn_file_actions_t, *const posix_spawnattr_t, Argv, Argv) -> c_int = c"posix_spawn";
    REAL_POSIX_SPAWNP: unsafe extern "C" fn(*mut pid_t, *const c_char, *const posix_spawn_file_actions_t, *const posix_spawnattr_t, Argv, Argv) -> c_int = c"posix_spawnp";
    REAL_SYSTEM: unsafe extern "C" fn(*const c_char) -> c_int = c"system";
    REAL_POPEN: unsafe extern "C" fn(*const c_char, *const c_char) -> *mut FILE = c"popen";
}

/// How long an exec waits for queued events to reach the log before the image is replaced.
const EXEC_FLUSH: std::time::Duration = std::time::Duration::from_millis(200);

/// Checks an argv exec; true when it must be refused. Also drains queued events, which an
/// exec would otherwise lose.
///
/// # Safety
/// `path` must be null or a C string; `argv` null or a NULL-terminated array of C strings.
unsafe fn exec_refused(function: &'static str, path: *const c_char, argv: Argv) -> bool {
    run_in_own_process(|| {
        // SAFETY: per this function's contract.
        let (path, argv) = unsafe { (c_str(path), c_argv(argv)) };
        let path = path.unwrap_or_default();
        let sink = Sink::Exec {
            function,
            path: &path,
            argv: &argv,
        };
        let verdict = sinks::check(&sink, Delivery::Immediate);
        if verdict == Verdict::Allow {
            telemetry::flush(EXEC_FLUSH);
        }
        verdict == Verdict::Block
    }) == Some(true)
}

/// Checks a shell command line (`system`, `popen`); true when it must be refused.
///
/// # Safety
/// `command` must be null or a C string.
unsafe fn shell_refused(function: &'static str, command: *const c_char) -> bool {
    run_in_own_process(|| {
        // SAFETY: per this function's contract.
        let Some(command) = (unsafe { c_str(command) }) else {
            return false;
        };
        sinks::check(
            &Sink::Shell {
                function,
                command: &command,
            },
            Delivery::Queued,
        ) == Verdict::Block
    }) == Some(true)
}

/// Interposes `vfork(2)` with `fork(2)` (see the module docs).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfork() -> pid_t {
    // SAFETY: fork has no preconditions; each process returns from this frame independently.
    unsafe { libc::fork() }
}

/// Interposes `execve(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execve(path: *const c_char, argv: Argv, envp: Argv) -> c_int {
    // SAFETY: the caller's arguments satisfy execve's own contract, which implies ours.
    if unsafe { exec_refused("execve", path, argv) } {
        return refuse(-1);
    }
    match REAL_EXECVE.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(path, argv, envp) },
        // SAFETY: as above, straight to the kernel before initialisation.
        None => unsafe { libc::syscall(libc::SYS_execve, path, argv, envp) as c_int },
    }
}

/// Interposes `execv(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execv(path: *const c_char, argv: Argv) -> c_int {
    // SAFETY: the caller's arguments satisfy execv's contract.
    if unsafe { exec_refused("execv", path, argv) } {
        return refuse(-1);
    }
    match REAL_EXECV.get_or_resolve() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(path, argv) },
        None => refuse(-1),
    }
}

/// Interposes `execvp(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: Argv) -> c_int {
    // SAFETY: the caller's arguments satisfy execvp's contract.
    if unsafe { exec_refused("execvp", file, argv) } {
        return refuse(-1);
    }
    match REAL_EXECVP.get_or_resolve() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(file, argv) },
        None => refuse(-1),
    }
}

/// Interposes `execvpe(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execvpe(file: *const c_char, argv: Argv, envp: Argv) -> c_int {
    // SAFETY: the caller's arguments satisfy execvpe's contract.
    if unsafe { exec_refused("execvpe", file, argv) } {
        return refuse(-1);
    }
    match REAL_EXECVPE.get_or_resolve() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(file, argv, envp) },
        None => refuse(-1),
    }
}

/// Interposes `fexecve(3)`; the program is named by `argv[0]` (the fd has no path to check).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fexecve(fd: c_int, argv: Argv, envp: Argv) -> c_int {
    let argv0 = if argv.is_null() {
        std::ptr::null()
    } else {
        // SAFETY: a non-null argv has at least its terminating entry.
        unsafe { *argv }
    };
    // SAFETY: the caller's arguments satisfy fexecve's contract.
    if unsafe { exec_refused("fexecve", argv0, argv) } {
        return refuse(-1);
    }
    match REAL_FEXECVE.get_or_resolve() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(fd, argv, envp) },
        None => refuse(-1),
    }
}

/// Interposes `execveat(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: Argv,
    envp: Argv,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's arguments satisfy execveat's contract.
    if unsafe { exec_refused("execveat", path, argv) } {
        return refuse(-1);
    }
    match REAL_EXECVEAT.get() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(dirfd, path, argv, envp, flags) },
        // SAFETY: as above, straight to the kernel before initialisation.
        None => unsafe {
            libc::syscall(libc::SYS_execveat, dirfd, path, argv, envp, flags) as c_int
        },
    }
}

/// Interposes `posix_spawn(3)`; a refused spawn returns `EACCES` (posix_spawn reports errors
/// by return value, not errno).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut pid_t,
    path: *const c_char,
    actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: Argv,
    envp: Argv,
) -> c_int {
    // SAFETY: the caller's arguments satisfy posix_spawn's contract.
    if unsafe { exec_refused("posix_spawn", path, argv) } {
        return crate::sinks::refusal_errno();
    }
    match REAL_POSIX_SPAWN.get_or_resolve() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(pid, path, actions, attr, argv, envp) },
        None => libc::ENOSYS,
    }
}

/// Interposes `posix_spawnp(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut pid_t,
    file: *const c_char,
    actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: Argv,
    envp: Argv,
) -> c_int {
    // SAFETY: the caller's arguments satisfy posix_spawnp's contract.
    if unsafe { exec_refused("posix_spawnp", file, argv) } {
        return crate::sinks::refusal_errno();
    }
    match REAL_POSIX_SPAWNP.get_or_resolve() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(pid, file, actions, attr, argv, envp) },
        None => libc::ENOSYS,
    }
}

/// Interposes `system(3)`: a refused command returns -1 with errno `EACCES`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn system(command: *const c_char) -> c_int {
    // SAFETY: the caller's argument satisfies system's contract.
    if unsafe { shell_refused("system", command) } {
        return refuse(-1);
    }
    match REAL_SYSTEM.get_or_resolve() {
        // SAFETY: forwarding the caller's argument to the real function.
        Some(f) => unsafe { f(command) },
        None => refuse(-1),
    }
}

/// Interposes `popen(3)`: a refused command returns NULL with errno `EACCES`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn popen(command: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: the caller's argument satisfies popen's contract.
    if unsafe { shell_refused("popen", command) } {
        return refuse(std::ptr::null_mut());
    }
    match REAL_POPEN.get_or_resolve() {
        // SAFETY: forwarding the caller's arguments to the real function.
        Some(f) => unsafe { f(command, mode) },
        None => refuse(std::ptr::null_mut()),
    }
}

/// Called by the C shim for `execl` (0), `execlp` (1) and `execle` (2) with the argument list
/// already collected into `argv`.
///
/// # Safety
/// Called only by the shim, with execl's own arguments.
pub(crate) unsafe extern "C" fn on_execl(
    which: c_int,
    path: *const c_char,
    argv: Argv,
    envp: Argv,
) -> c_int {
    let function = match which {
        0 => "execl",
        1 => "execlp",
        _ => "execle",
    };
    // SAFETY: the shim passes execl's path and a NULL-terminated argv.
    if unsafe { exec_refused(function, path, argv) } {
        return refuse(-1);
    }
    let real = match which {
        0 => REAL_EXECV.get().map(|f| {
            // SAFETY: forwarding the collected arguments to the real function.
            unsafe { f(path, argv) }
        }),
        1 => REAL_EXECVP.get().map(|f| {
            // SAFETY: forwarding the collected arguments to the real function.
            unsafe { f(path, argv) }
        }),
        _ => REAL_EXECVE.get().map(|f| {
            // SAFETY: forwarding the collected arguments to the real function.
            unsafe { f(path, argv, envp) }
        }),
    };
    real.unwrap_or_else(|| refuse(-1))
}

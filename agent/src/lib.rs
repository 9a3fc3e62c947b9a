//! `librasp.so` — runtime application self-protection by `LD_PRELOAD`.
//!
//! The library interposes the calls where injected input does damage (process execution,
//! file opens, outbound connects, library loads) and the calls through which requests arrive
//! (accept and the read family). At each sink it asks the policy crate whether input from a
//! correlated request changed the call's structure, reports a finding as an event, and in
//! block mode refuses the call.
//!
//! Layout: [`hooks`] holds the exported C-ABI shells, one module per family; everything they
//! do goes through [`hooks::run`] (lifecycle check, reentrancy [`guard`], errno preservation,
//! `catch_unwind`). [`capture`] and [`fdtable`] are the read path; [`sinks`] the decision
//! point; [`telemetry`] and [`event`] the report path; [`settings`] and [`lifecycle`] the
//! configuration and state machine.
//!
//! Invariants every module keeps:
//! * no panic crosses the FFI boundary, and an internal failure passes the call through
//!   (fail open) and is counted;
//! * hooks pass through until the constructor has resolved the real functions and loaded the
//!   policy, and in a `vfork` child;
//! * nothing on a hot path takes a blocking lock; no lock is held across a real call;
//! * the application's errno is what the real call left (or EACCES for a refused call).

mod capture;
mod cef;
mod cgi;
mod diag;
mod errno;
mod event;
mod fdslots;
mod fdtable;
mod guard;
mod hooks;
mod lifecycle;
mod real;
mod reload;
mod resolve;
mod settings;
mod sinks;
mod sockaddr;
mod stack;
mod stats;
mod syslog;
mod telemetry;
mod trylock;
mod wire;

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::path::PathBuf;
use std::time::Duration;

use guard::Guard;
use settings::{AgentInfo, EnvSnapshot};

type OpenHook = unsafe extern "C" fn(c_int, c_int, *const c_char, c_int, c_uint) -> c_int;
type ExeclHook =
    unsafe extern "C" fn(c_int, *const c_char, *const *const c_char, *const *const c_char) -> c_int;
type DlopenCheck = unsafe extern "C" fn(*const c_char) -> c_int;
type DlopenFn = unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void;

unsafe extern "C" {
    /// Hands the C shim its Rust callbacks and the real `dlopen` (`src/shim/variadic.c`).
    fn rasp_shim_install(
        open: OpenHook,
        execl: ExeclHook,
        dlopen: DlopenCheck,
        real_dlopen: Option<DlopenFn>,
    );
}

/// Our constructor, run by the dynamic loader with `(argc, argv, envp)` as glibc passes them.
#[used]
#[unsafe(link_section = ".init_array")]
static CONSTRUCTOR: extern "C" fn(c_int, *const *const c_char, *const *const c_char) = constructor;

extern "C" fn constructor(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) {
    if !lifecycle::begin_init() {
        return;
    }
    let Some(_guard) = Guard::enter() else { return };
    let saved = errno::Saved::now();
    // SAFETY: the loader passes the process's real argv/envp arrays.
    let outcome = std::panic::catch_unwind(|| unsafe { initialise(argc, argv, envp) });
    let status = outcome.ok().flatten();
    lifecycle::finish_init(status.is_some());
    if let Some(status) = status {
        announce(status);
    }
    drop(saved);
}

/// Resolves real functions, reads the environment and policy. Returns whether to activate.
///
/// # Safety
/// `argv`/`envp` must be the arrays the loader passed to the constructor.
unsafe fn initialise(
    argc: c_int,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Option<Result<&'static str, String>> {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("internal error, call passed through (fail open): {info}");
        diag::say(&message);
        report_agent_error(&message);
    }));
    let missing = hooks::resolve_all();
    if missing > 0 {
        diag::say(&format!(
            "{missing} interposed functions have no next definition"
        ));
    }
    // SAFETY: the shim only stores these pointers; the callbacks are valid for the process life.
    unsafe {
        rasp_shim_install(
            hooks::fs::on_open,
            hooks::exec::on_execl,
            hooks::dl::on_dlopen,
            hooks::dl::REAL_DLOPEN.get(),
        );
    }
    // SAFETY: envp comes from the loader.
    let env = unsafe { EnvSnapshot::from_envp(envp) };
    if env.debug {
        diag::enable();
    }
    if env.disabled {
        diag::say("disabled by RASP_DISABLE");
        return None;
    }
    let mode_override = env.mode.as_deref().and_then(|m| {
        let mode = settings::parse_mode(m);
        if mode.is_none() {
            diag::warn(&format!(
                "RASP_MODE={m} is not monitor, block or hybrid; ignored"
            ));
        }
        mode
    });
    let policy_path = PathBuf::from(
        env.policy_path
            .unwrap_or_else(|| settings::DEFAULT_POLICY.into()),
    );
    settings::set_info(AgentInfo {
        policy_path: policy_path.clone(),
        mode_override,
        executable: std::fs::read_link("/proc/self/exe")
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        // SAFETY: argv from the loader holds argc entries.
        command_line: unsafe { command_line(argc, argv) },
        hostname: hostname(),
    });
    let (loaded, status) = reload::load_initial(&policy_path);
    if let Err(why) = &status {
        diag::warn(&format!(
            "policy not used, running on built-in defaults: {why}"
        ));
    }
    settings::install(loaded);
    if let Some(req) = cgi::from_env(&env.cgi) {
        cgi::adopt(req);
    }
    // SAFETY: registering a plain extern "C" function.
    unsafe { libc::atexit(at_exit) };
    Some(status)
}

/// Writes the `agent_start` event, and a `policy_error` when the policy file was not used
/// (synchronously: no thread is started for them).
fn announce(status: Result<&'static str, String>) {
    let Some(loaded) = settings::loaded() else {
        return;
    };
    let note = match &status {
        Ok(note) => note,
        Err(_) => "built-in defaults (policy file rejected)",
    };
    telemetry::emit_lifecycle(&event::agent_start(loaded, note));
    if let Err(why) = status {
        telemetry::emit_lifecycle(&event::policy_error(loaded, &why));
    }
}

/// Queues an `agent_error` event; at most [`MAX_AGENT_ERRORS`] per process, so a recurring
/// fault cannot flood the log (every occurrence is still counted in `stats`).
fn report_agent_error(message: &str) {
    static REPORTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    if REPORTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < MAX_AGENT_ERRORS {
        if let Some(loaded) = settings::loaded() {
            telemetry::emit(event::agent_error(loaded, message));
        }
    }
}

/// Most `agent_error` events one process reports.
const MAX_AGENT_ERRORS: u32 = 10;

/// At exit, give queued events a bounded time to reach the log; never hang exit.
extern "C" fn at_exit() {
    if let Some(_guard) = Guard::enter() {
        let _ = std::panic::catch_unwind(|| telemetry::at_exit(Duration::from_millis(500)));
    }
}

/// The command line as one string.
///
/// # Safety
/// `argv` must hold `argc` C strings (or be null).
unsafe fn command_line(argc: c_int, argv: *const *const c_char) -> String {
    if argv.is_null() {
        return String::new();
    }
    let n = usize::try_from(argc).unwrap_or(0).min(256);
    (0..n)
        .filter_map(|i| {
            // SAFETY: i < argc.
            let p = unsafe { *argv.add(i) };
            // SAFETY: each argv entry is a C string.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned()
}

//! The agent's configuration: an environment snapshot taken once in the constructor, and the
//! compiled policy.
//!
//! Environment variables (read only from the `envp` the dynamic loader passes to our
//! constructor — never `getenv` from a hook):
//! * `RASP_POLICY` — policy file (default `/etc/librasp/policy.toml`; missing = defaults);
//! * `RASP_MODE` — `monitor` | `block` | `hybrid`, overriding the file;
//! * `RASP_DISABLE=1` — load but do nothing;
//! * `RASP_DEBUG=1` — diagnostics on stderr.
//!
//! The engine lives behind an `AtomicPtr`: readers take a `&'static Engine` with one atomic
//! load and no refcount, so the hot path has no lock and nothing to release after `fork`.
//! A replaced engine is deliberately leaked (policy reloads are rare, a few KiB each) — that is
//! what makes the lock-free read sound.

use std::ffi::{CStr, c_char};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, Ordering};

use policy::{Engine, Mode, Policy};

/// Default policy location.
pub(crate) const DEFAULT_POLICY: &str = "/etc/librasp/policy.toml";

/// What the constructor read from the environment.
#[derive(Debug, Default)]
pub(crate) struct EnvSnapshot {
    pub(crate) policy_path: Option<String>,
    pub(crate) mode: Option<String>,
    pub(crate) disabled: bool,
    pub(crate) debug: bool,
    /// The CGI variables (RFC 3875 meta-variables and `HTTP_*`), when present.
    pub(crate) cgi: Vec<(String, String)>,
}

/// CGI meta-variables that describe the request.
const CGI_VARS: [&str; 9] = [
    "GATEWAY_INTERFACE",
    "REQUEST_METHOD",
    "QUERY_STRING",
    "SCRIPT_NAME",
    "PATH_INFO",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "REMOTE_ADDR",
    "REMOTE_PORT",
];

impl EnvSnapshot {
    /// Reads our variables from a NULL-terminated `envp` array.
    ///
    /// # Safety
    /// `envp` must be null or a valid NULL-terminated array of C strings.
    pub(crate) unsafe fn from_envp(envp: *const *const c_char) -> Self {
        let mut snap = EnvSnapshot::default();
        if envp.is_null() {
            return snap;
        }
        let mut i = 0;
        loop {
            // SAFETY: the caller guarantees a NULL-terminated array; we stop at the NULL.
            let entry = unsafe { *envp.add(i) };
            if entry.is_null() {
                break;
            }
            // SAFETY: every entry is a NUL-terminated string.
            let bytes = unsafe { CStr::from_ptr(entry) }.to_bytes();
            let value = |prefix: &[u8]| {
                bytes
                    .strip_prefix(prefix)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            };
            if let Some(v) = value(b"RASP_POLICY=") {
                snap.policy_path = Some(v);
            } else if let Some(v) = value(b"RASP_MODE=") {
                snap.mode = Some(v);
            } else if let Some(v) = value(b"RASP_DISABLE=") {
                snap.disabled = v == "1" || v == "true";
            } else if let Some(v) = value(b"RASP_DEBUG=") {
                snap.debug = v == "1" || v == "true";
            } else if let Some((name, v)) = std::str::from_utf8(bytes)
                .ok()
                .and_then(|e| e.split_once('='))
            {
                if name.starts_with("HTTP_") || CGI_VARS.contains(&name) {
                    snap.cgi.push((name.to_owned(), v.to_owned()));
                }
            }
            i += 1;
        }
        snap
    }
}

/// Facts about the protected process and its policy, fixed at initialisation.
#[derive(Debug)]
pub(crate) struct AgentInfo {
    /// Policy file path.
    pub(crate) policy_path: PathBuf,
    /// `RASP_MODE`, applied over every policy loaded.
    pub(crate) mode_override: Option<Mode>,
    /// `/proc/self/exe`.
    pub(crate) executable: String,
    /// The command line, space-joined.
    pub(crate) command_line: String,
    /// `gethostname`.
    pub(crate) hostname: String,
}

static INFO: OnceLock<AgentInfo> = OnceLock::new();
static ENGINE: AtomicPtr<Loaded> = AtomicPtr::new(std::ptr::null_mut());

/// An engine with the version of the policy it was compiled from.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The compiled policy.
    pub(crate) engine: Engine,
    /// Short hash of the policy text (`default` for built-in defaults).
    pub(crate) version: String,
}

/// The process facts, once initialised.
pub(crate) fn info() -> Option<&'static AgentInfo> {
    INFO.get()
}

/// The current engine, once initialised.
#[inline]
pub(crate) fn loaded() -> Option<&'static Loaded> {
    let p = ENGINE.load(Ordering::Acquire);
    // SAFETY: a non-null pointer came from `Box::leak` in `install` and is never freed.
    unsafe { p.as_ref() }
}

/// Installs a new engine; the previous one is leaked (see the module docs).
pub(crate) fn install(loaded: Loaded) {
    ENGINE.store(Box::into_raw(Box::new(loaded)), Ordering::Release);
}

/// Records the process facts.
pub(crate) fn set_info(info: AgentInfo) {
    let _ = INFO.set(info);
}

/// Parses `RASP_MODE`.
pub(crate) fn parse_mode(text: &str) -> Option<Mode> {
    match text.trim() {
        "monitor" => Some(Mode::Monitor),
        "block" => Some(Mode::Block),
        "hybrid" => Some(Mode::Hybrid),
        _ => None,
    }
}

/// Outcome of reading the policy file.
pub(crate) enum PolicySource {
    /// The file exists and parsed.
    File(Box<Policy>, String),
    /// No file: built-in defaults.
    Defaults,
    /// The file exists but is invalid; defaults are used and the message says why.
    Invalid(String),
}

/// Reads and parses the policy file.
pub(crate) fn read_policy(path: &std::path::Path) -> PolicySource {
    match std::fs::read_to_string(path) {
        Ok(text) => match Policy::from_toml(&text) {
            Ok(p) => PolicySource::File(Box::new(p), version_of(&text)),
            Err(e) => {
                let at = e
                    .location
                    .map(|(l, c)| format!(":{l}:{c}"))
                    .unwrap_or_default();
                PolicySource::Invalid(format!("{}{at}: {}", path.display(), e.message))
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => PolicySource::Defaults,
        Err(e) => PolicySource::Invalid(format!("{}: {e}", path.display())),
    }
}

/// Compiles a policy, applying the `RASP_MODE` override.
pub(crate) fn compile(mut policy: Policy, version: String) -> Loaded {
    if let Some(mode) = info().and_then(|i| i.mode_override) {
        policy.mode = mode;
    }
    Loaded {
        // `[program."<glob>"]` sections and program-scoped allow entries apply to this process.
        engine: Engine::for_program(&policy, info().map_or("", |i| i.executable.as_str())),
        version,
    }
}

/// The built-in defaults, compiled.
pub(crate) fn defaults() -> Loaded {
    compile(Policy::default(), "default".into())
}

/// FNV-1a of the policy text, as 16 hex digits: stable across processes and runs.
fn version_of(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

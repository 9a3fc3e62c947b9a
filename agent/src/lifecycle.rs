//! The agent's lifecycle: uninitialised → initialising → active | disabled.
//!
//! Every hook passes straight through unless the state is `Active`. The process id recorded at
//! initialisation (and updated by our `pthread_atfork` child handler) tells a hook whether it
//! runs in a process the agent knows: a `vfork` child (or a raw `clone`) shares our memory but
//! has another pid and never ran the atfork handler, so hooks there must not allocate, lock or
//! write shared state — they pass through.

use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};

use crate::telemetry;

const UNINIT: u8 = 0;
const INITIALISING: u8 = 1;
const ACTIVE: u8 = 2;
const DISABLED: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static PID: AtomicI32 = AtomicI32::new(0);

/// True when hooks should do their work.
#[inline]
pub(crate) fn is_active() -> bool {
    STATE.load(Ordering::Acquire) == ACTIVE
}

/// Moves uninitialised → initialising; false if initialisation already started.
pub(crate) fn begin_init() -> bool {
    STATE
        .compare_exchange(UNINIT, INITIALISING, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// Finishes initialisation.
pub(crate) fn finish_init(active: bool) {
    if active {
        PID.store(current_pid(), Ordering::Release);
        // SAFETY: registering a plain `extern "C"` handler has no preconditions.
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    }
    STATE.store(if active { ACTIVE } else { DISABLED }, Ordering::Release);
}

/// The pid the agent was initialised in (or forked into).
pub(crate) fn pid() -> i32 {
    PID.load(Ordering::Acquire)
}

/// True in a process the agent knows (not a vfork child). Costs one `getpid` syscall, so
/// hooks call it only right before work that allocates or writes shared state.
#[inline]
pub(crate) fn in_own_process() -> bool {
    current_pid() == PID.load(Ordering::Acquire)
}

fn current_pid() -> i32 {
    // SAFETY: getpid has no preconditions and cannot fail.
    unsafe { libc::getpid() }
}

/// `pthread_atfork` child handler: runs in the child of a real `fork` (never a `vfork`).
/// Async-signal-safe work only: record the pid; telemetry restarts lazily on first use.
extern "C" fn after_fork_in_child() {
    PID.store(current_pid(), Ordering::Release);
    telemetry::after_fork();
}

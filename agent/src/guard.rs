//! The thread-local "inside the agent" flag.
//!
//! Everything the agent does — reading its policy, writing events, calling `dlsym` — may hit
//! our own hooks again. While the flag is set, hooks pass straight through to libc. The
//! telemetry thread sets it for its whole life. The thread-local has a `const` initialiser and
//! no destructor, so accessing it never allocates and survives thread teardown.

use std::cell::Cell;

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Proof that this thread is inside the agent; clears the flag on drop.
pub(crate) struct Guard(());

impl Guard {
    /// Enters the agent, or `None` if this thread already is inside it (a re-entrant call).
    #[inline]
    pub(crate) fn enter() -> Option<Guard> {
        INSIDE.with(|inside| {
            if inside.get() {
                None
            } else {
                inside.set(true);
                Some(Guard(()))
            }
        })
    }

    /// Marks the current thread as internal for the rest of its life (the telemetry thread).
    pub(crate) fn enter_forever() {
        INSIDE.with(|inside| inside.set(true));
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        INSIDE.with(|inside| inside.set(false));
    }
}

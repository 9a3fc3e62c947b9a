//! errno save/restore: the application must see the errno of the real call, never ours.

/// The calling thread's errno.
#[inline]
pub(crate) fn get() -> i32 {
    // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's errno.
#[inline]
pub(crate) fn set(value: i32) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = value };
}

/// Restores errno to its value at creation when dropped.
pub(crate) struct Saved(i32);

impl Saved {
    /// Captures the current errno.
    #[inline]
    pub(crate) fn now() -> Self {
        Saved(get())
    }
}

impl Drop for Saved {
    #[inline]
    fn drop(&mut self) {
        set(self.0);
    }
}

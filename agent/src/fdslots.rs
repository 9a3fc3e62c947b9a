//! Per-fd state allocated on first use and never freed: one pointer per fd below
//! [`MAX_FDS`] in static memory, filled lazily with a compare-and-swap.
//!
//! Never freeing is what makes the lock-free reads sound: a pointer once read stays valid even
//! if the fd is closed and reused meanwhile (the state is reset for the new connection, not
//! dropped). Memory is bounded by the highest fd number that ever carried such state.

use std::sync::atomic::{AtomicPtr, Ordering};

use crate::fdtable::MAX_FDS;

/// A lazily filled table of `T`, one per fd.
pub(crate) struct FdSlots<T> {
    cells: [AtomicPtr<T>; MAX_FDS],
}

impl<T: Sync> FdSlots<T> {
    /// An empty table (static, no allocation).
    pub(crate) const fn new() -> Self {
        Self {
            cells: [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_FDS],
        }
    }

    fn cell(&self, fd: i32) -> Option<&AtomicPtr<T>> {
        usize::try_from(fd).ok().and_then(|i| self.cells.get(i))
    }

    /// The state of `fd`, if it has any.
    pub(crate) fn get(&'static self, fd: i32) -> Option<&'static T> {
        // SAFETY: non-null pointers come from `Box::into_raw` below and are never freed.
        unsafe { self.cell(fd)?.load(Ordering::Acquire).as_ref() }
    }

    /// The state of `fd`, created with `make` on first use; `None` for fds out of range.
    pub(crate) fn get_or_insert_with(
        &'static self,
        fd: i32,
        make: impl FnOnce() -> T,
    ) -> Option<&'static T> {
        if let Some(existing) = self.get(fd) {
            return Some(existing);
        }
        let cell = self.cell(fd)?;
        let fresh = Box::into_raw(Box::new(make()));
        match cell.compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: we just installed `fresh`, which is never freed.
            Ok(_) => Some(unsafe { &*fresh }),
            Err(winner) => {
                // SAFETY: `fresh` was never shared; `winner` is a live, never-freed pointer.
                unsafe {
                    drop(Box::from_raw(fresh));
                    winner.as_ref()
                }
            }
        }
    }
}

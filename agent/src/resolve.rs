//! Finding a real function in whichever loaded object defines it.
//!
//! Database client libraries are often outside the global symbol scope: CPython's `_sqlite3`
//! extension is loaded with `RTLD_LOCAL` and brings libsqlite3 with it, so `dlsym(RTLD_NEXT)`
//! finds nothing — yet the extension's calls still bind to our exported hook, because the
//! preloaded library is searched first. So we walk the loaded objects (`dl_iterate_phdr`),
//! take a handle to each with `RTLD_NOLOAD` (never loading anything) and look the symbol up
//! there, skipping our own definition.

use std::ffi::{CStr, CString, c_int, c_void};

use crate::hooks::dl::REAL_DLOPEN;

/// The address of `sym` in a loaded object other than ours (`ours` is our hook's address).
pub(crate) fn find_loaded(sym: &CStr, ours: usize) -> Option<usize> {
    // SAFETY: `sym` is a valid C string.
    let next = unsafe { libc::dlsym(libc::RTLD_NEXT, sym.as_ptr()) } as usize;
    if next != 0 && next != ours {
        return Some(next);
    }
    let dlopen = REAL_DLOPEN.get()?;
    let mut names: Vec<CString> = Vec::new();
    // SAFETY: the callback only reads the entries dl_iterate_phdr passes and pushes into the
    // Vec whose pointer we hand it.
    unsafe { libc::dl_iterate_phdr(Some(collect_name), (&raw mut names).cast()) };
    names
        .iter()
        .filter(|n| !n.as_bytes().is_empty())
        .find_map(|name| {
            // SAFETY: `name` is a loaded object's path; RTLD_NOLOAD never loads anything new.
            let handle = unsafe { dlopen(name.as_ptr(), libc::RTLD_NOLOAD | libc::RTLD_LAZY) };
            if handle.is_null() {
                return None;
            }
            // SAFETY: `handle` is valid until the dlclose below.
            let p = unsafe { libc::dlsym(handle, sym.as_ptr()) } as usize;
            // SAFETY: balances the reference RTLD_NOLOAD took.
            unsafe { libc::dlclose(handle) };
            (p != 0 && p != ours).then_some(p)
        })
}

/// `dl_iterate_phdr` callback: collects each object's path.
unsafe extern "C" fn collect_name(
    info: *mut libc::dl_phdr_info,
    _size: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid info pointer and our Vec as `data`.
    let (info, names) = unsafe { (&*info, &mut *data.cast::<Vec<CString>>()) };
    if !info.dlpi_name.is_null() {
        // SAFETY: dlpi_name is a NUL-terminated string.
        names.push(unsafe { CStr::from_ptr(info.dlpi_name) }.to_owned());
    }
    0
}

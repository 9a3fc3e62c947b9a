//! The native call stack of a sink call, symbolised where symbols exist, for detection events:
//! where in the application (module, function, offset) the dangerous call was made.
//!
//! Captured with glibc's `backtrace` (the unwinder reads `.eh_frame`, so frame pointers are
//! not needed) only when a finding is reported — never on the hot path — and symbolised with
//! `dladdr`, which knows exported (dynamic) symbols; other frames are shown as
//! `module+0xoffset`, enough for `addr2line -e module 0xoffset` with debug info. Our own frames
//! are dropped so the stack starts at the application's call.

use std::ffi::{CStr, c_void};

/// Most frames kept.
const MAX_FRAMES: usize = 24;

/// The caller's stack, innermost first, without librasp's frames.
pub(crate) fn capture() -> Vec<String> {
    let mut frames = [std::ptr::null_mut::<c_void>(); MAX_FRAMES + 16];
    let len = frames.len() as libc::c_int;
    // SAFETY: the buffer holds `len` pointers.
    let n = unsafe { libc::backtrace(frames.as_mut_ptr(), len) };
    let n = usize::try_from(n).unwrap_or(0);
    let ours = own_module_base();
    frames
        .iter()
        .take(n)
        .filter_map(|&ip| symbolise(ip, ours))
        .take(MAX_FRAMES)
        .collect()
}

/// `module!symbol+0xoff` or `module+0xoff`; `None` for our own frames.
fn symbolise(ip: *mut c_void, ours: usize) -> Option<String> {
    // SAFETY: Dl_info is plain data; dladdr only writes into it.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr accepts any address and fills `info` on success.
    if unsafe { libc::dladdr(ip.cast_const(), &mut info) } == 0 {
        return Some(format!("{ip:p}"));
    }
    if info.dli_fbase as usize == ours {
        return None;
    }
    let module = c_str(info.dli_fname).unwrap_or_else(|| "?".into());
    // Return addresses point after the call; step back into it for the offset.
    let pc = (ip as usize).saturating_sub(1);
    match c_str(info.dli_sname) {
        Some(sym) => Some(format!(
            "{module}!{sym}+{:#x}",
            pc.saturating_sub(info.dli_saddr as usize)
        )),
        None => Some(format!(
            "{module}+{:#x}",
            pc.saturating_sub(info.dli_fbase as usize)
        )),
    }
}

fn c_str(p: *const libc::c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: dladdr's strings are NUL-terminated and live as long as the module.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Load address of librasp.so itself.
fn own_module_base() -> usize {
    // SAFETY: as in `symbolise`; the address of one of our functions is in our module.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr accepts any address.
    let found = unsafe { libc::dladdr(own_module_base as *const () as *const c_void, &mut info) };
    if found == 0 {
        0
    } else {
        info.dli_fbase as usize
    }
}

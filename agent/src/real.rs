//! The real libc functions behind our hooks.
//!
//! Every hooked symbol has a `REAL_*` static holding the next definition in the lookup order
//! (`dlsym(RTLD_NEXT, …)`), resolved once in the constructor — never lazily from a path an
//! allocator may take, because `dlsym` can call `calloc`. A hook that runs before the
//! constructor either makes the raw syscall itself (syscall wrappers) or resolves lazily
//! ([`RealFn::get_or_resolve`], only for library functions no allocator calls).

use std::ffi::CStr;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A lazily resolved pointer to a real function of type `F` (an `unsafe extern "C" fn`).
pub(crate) struct RealFn<F> {
    name: &'static CStr,
    ptr: AtomicUsize,
    _f: PhantomData<F>,
}

// SAFETY: the only state is an atomic; `F` is a plain function pointer type.
unsafe impl<F> Sync for RealFn<F> {}

impl<F: Copy> RealFn<F> {
    /// A not-yet-resolved function named `name`.
    pub(crate) const fn new(name: &'static CStr) -> Self {
        assert!(size_of::<F>() == size_of::<usize>());
        Self {
            name,
            ptr: AtomicUsize::new(0),
            _f: PhantomData,
        }
    }

    /// Resolves the next definition of the symbol; returns whether it exists.
    pub(crate) fn resolve(&self) -> bool {
        // SAFETY: `name` is a valid C string; RTLD_NEXT lookups have no other precondition.
        let p = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) } as usize;
        if p != 0 {
            self.ptr.store(p, Ordering::Release);
        }
        p != 0
    }

    /// The resolved function, if the constructor has run (or a lazy resolution succeeded).
    #[inline]
    pub(crate) fn get(&self) -> Option<F> {
        let p = self.ptr.load(Ordering::Acquire);
        if p == 0 {
            return None;
        }
        // SAFETY: `p` is the non-null address dlsym returned for a symbol whose C type is `F`
        // (each static's type is written next to its name), and `F` is pointer-sized.
        Some(unsafe { std::mem::transmute_copy::<usize, F>(&p) })
    }

    /// Like [`get`](Self::get), searching every loaded object on first use (database client
    /// libraries loaded `RTLD_LOCAL`; see [`crate::resolve`]). `ours` is our hook's address,
    /// which must never be returned.
    pub(crate) fn get_or_find(&self, ours: usize) -> Option<F> {
        self.get()
            .filter(|_| self.ptr.load(Ordering::Acquire) != ours)
            .or_else(|| {
                let p = crate::resolve::find_loaded(self.name, ours)?;
                self.ptr.store(p, Ordering::Release);
                self.get()
            })
    }

    /// Like [`get`](Self::get), resolving on first use. Only for library functions (fopen,
    /// system, getaddrinfo…) that an allocator never calls during its own initialisation.
    #[inline]
    pub(crate) fn get_or_resolve(&self) -> Option<F> {
        self.get().or_else(|| {
            self.resolve();
            self.get()
        })
    }
}

/// Declares `REAL_*` statics and a `resolve_all()` for one hook module.
macro_rules! reals {
    ($($(#[$m:meta])* $name:ident: $ty:ty = $sym:literal;)*) => {
        $(
            $(#[$m])*
            pub(crate) static $name: $crate::real::RealFn<$ty> = $crate::real::RealFn::new($sym);
        )*

        /// Resolves every real function of this module; returns how many are missing.
        pub(crate) fn resolve_all() -> usize {
            [$($name.resolve()),*].iter().filter(|ok| !**ok).count()
        }
    };
}
pub(crate) use reals;

//! Builds the C shim for the variadic entry points and restricts the exported symbols to the
//! hooked functions (`exports.map`), so our internals never clash with the host's symbols.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=src/shim/variadic.c");
    println!("cargo:rerun-if-changed=exports.map");
    cc::Build::new()
        .file("src/shim/variadic.c")
        .flag("-fvisibility=hidden")
        // dlopen's wrapper must tail-call the real dlopen (see the file's header): optimise
        // even in debug builds, and keep frame setup out of the way.
        .opt_level(2)
        .flag("-foptimize-sibling-calls")
        .flag("-fno-stack-protector")
        .warnings(true)
        .extra_warnings(true)
        // The shim's symbols are referenced only by the dynamic linker, never from Rust, so
        // without whole-archive the linker would drop them.
        .link_lib_modifier("+whole-archive")
        .compile("rasp_variadic");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={dir}/exports.map");
    // No executable stack, no text relocations: keeps MemoryDenyWriteExecute= hosts working.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,noexecstack");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,text");
}

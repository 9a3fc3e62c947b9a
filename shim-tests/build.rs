//! Compiles the C victim programs in `victims/` into `$OUT_DIR`, so tests run real binaries.

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let compiler = cc::Build::new().get_compiler();
    let victims = Path::new("victims");
    let mut entries: Vec<_> = std::fs::read_dir(victims)
        .expect("victims directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    println!("cargo:rerun-if-changed=victims");
    // Shared libraries first (lib*.c), then programs, which may link against them.
    entries.sort_by_key(|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("lib"))
    });
    for src in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
    {
        let stem = src
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name");
        let mut cmd = compiler.to_command();
        cmd.args(["-O1", "-g", "-Wall", "-Wextra", "-pthread"]);
        if stem.starts_with("lib") {
            cmd.args(["-shared", "-fPIC", "-o"])
                .arg(format!("{out}/{stem}.so"))
                .arg(src);
        } else {
            cmd.arg("-o").arg(format!("{out}/{stem}")).arg(src);
            if stem == "http_server" {
                // Only SQLite's runtime library is needed: the victim declares what it uses.
                cmd.arg("-l:libsqlite3.so.0").arg("-ldl");
            }
            if stem == "early_ctor" {
                cmd.arg(format!("-L{out}"))
                    .arg("-learly")
                    .arg(format!("-Wl,-rpath,{out}"));
            }
        }
        let status = cmd.status().expect("C compiler runs");
        assert!(status.success(), "compiling {} failed", src.display());
    }
    println!("cargo:rustc-env=VICTIM_DIR={out}");
}

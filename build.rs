//! Build script: links the `micromodel` binary with packed relative relocations (`DT_RELR`)
//! when the C library it is built against can load them (glibc ≥ 2.36).
//!
//! The binary is position-independent, so every pointer in its read-only tables (vtables,
//! static tables: ~33,000 of them) is a relocation the dynamic loader applies at start. As
//! classic `RELA` entries (24 bytes each) that table is ~800 KiB, all read at every start and
//! counted in the process' resident memory for as long as it runs; packed (`-z
//! pack-relative-relocs`) it is ~10 KiB. The relocations applied are the same, so nothing
//! changes at run time (ASLR included) but ~0.7 MiB of idle RSS (bench/RESULTS.md,
//! 2026-12-02).
//!
//! The linker then makes the binary require glibc's `GLIBC_ABI_DT_RELR` (2.36+), so the flag
//! is only passed for native Linux/glibc builds whose glibc has it (`getconf
//! GNU_LIBC_VERSION`); anything else (musl, cross builds, older glibc) links as before.

use std::process::Command;

/// The first glibc whose loader applies `DT_RELR`.
const RELR_GLIBC: (u32, u32) = (2, 36);

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if relr_supported() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Native build for Linux with glibc, and that glibc is recent enough.
fn relr_supported() -> bool {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("HOST") != var("TARGET")
    {
        return false;
    }
    let Ok(output) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    glibc_version(&String::from_utf8_lossy(&output.stdout)).is_some_and(|v| v >= RELR_GLIBC)
}

/// `(major, minor)` of `getconf GNU_LIBC_VERSION`'s answer, `glibc 2.36`.
fn glibc_version(answer: &str) -> Option<(u32, u32)> {
    let version = answer.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

//! Link flags of the `s3-broker` binary.
//!
//! On glibc 2.36 or later, the binary packs its relative relocations (`DT_RELR`,
//! `-z pack-relative-relocs`): about 67,000 `R_X86_64_RELATIVE` entries of 24 bytes each
//! (1.6 MB that the dynamic loader reads at every start, and that then stay resident) become
//! a 16 KB bitmap. The resident set of `serve` is about 2 MiB smaller (doc/benchmarks.md,
//! "Resident memory"). glibc added `DT_RELR` in 2.36; a binary linked this way asks for the
//! version `GLIBC_ABI_DT_RELR`, so an older loader refuses it with a clear message instead of
//! running it unrelocated. Only when building for the machine that builds (not when cross
//! compiling, nor under `cargo zigbuild`, which may target an older glibc) and only when its
//! glibc is recent enough: older systems link as before. A binary built this way needs glibc
//! 2.36 where it runs; to build one for an older runtime on a newer machine, set
//! `S3_BROKER_DT_RELR=0`.
//! <https://maskray.me/blog/2021-10-31-relative-relocations-and-relr>

use std::process::Command;

/// The first glibc with `DT_RELR` support.
const RELR_GLIBC: (u32, u32) = (2, 36);

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=S3_BROKER_DT_RELR");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    let wanted = std::env::var("S3_BROKER_DT_RELR").map_or(true, |v| v != "0");
    let zigbuild = std::env::var_os("CARGO_ZIGBUILD").is_some();
    if wanted
        && !zigbuild
        && target == host
        && target.ends_with("-linux-gnu")
        && host_glibc() >= Some(RELR_GLIBC)
    {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The glibc version of the building machine (`getconf GNU_LIBC_VERSION`: "glibc 2.36").
fn host_glibc() -> Option<(u32, u32)> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

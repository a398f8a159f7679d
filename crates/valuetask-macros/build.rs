//! Tells the macros what the compiler that will build the user's crate accepts (a proc macro
//! is built by that same compiler): `valuetask_omits_sized_methods` when it is Rust 1.87 or
//! later (from 1.88 for nightlies), which lets an impl for an unsized type leave out a
//! `where Self: Sized` method (rust-lang/rust#135480). Before, the `dyn` form must give such
//! a method a body.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rustc-check-cfg=cfg(valuetask_omits_sized_methods)");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .unwrap_or_default();
    // 1.87's early nightlies predate the change: from 1.88, or a 1.87 release or beta. Unknown:
    // the body, which every version accepts where its bounds allow.
    let omits = match minor_version(&version) {
        Some(minor) => minor >= 88 || (minor == 87 && !version.contains("-nightly")),
        None => false,
    };
    if omits {
        println!("cargo:rustc-cfg=valuetask_omits_sized_methods");
    }
}

/// `95` of `rustc 1.95.0 (59807616e 2026-04-14)`.
fn minor_version(version: &str) -> Option<u32> {
    let mut parts = version.strip_prefix("rustc ")?.split('.');
    if parts.next()? != "1" {
        return None;
    }
    parts.next()?.parse().ok()
}

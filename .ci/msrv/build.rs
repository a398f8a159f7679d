//! `valuetask_msrv`: the tests it compiles from `crates/valuetask/tests/dyn_trait` leave out
//! what only a newer Rust accepts (a `where Self: Sized` method the `dyn` form omits, 1.87).
fn main() {
    println!("cargo:rustc-check-cfg=cfg(valuetask_msrv)");
    println!("cargo:rustc-cfg=valuetask_msrv");
}

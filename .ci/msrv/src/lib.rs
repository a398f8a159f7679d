//! `tests/dyn_trait` of valuetask, compiled and run by Rust 1.85 (see `Cargo.toml`).

#[cfg(test)]
#[path = "../../../crates/valuetask/tests/dyn_trait/main.rs"]
mod dyn_trait;

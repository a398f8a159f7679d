//! Procedural macros for [`valuetask`](https://docs.rs/valuetask).
//!
//! The `#[value_task]` attribute (async fn and `dyn`-compatible async traits returning
//! `ValueTask`, with pooled storage) lands here; until then this crate exports nothing.

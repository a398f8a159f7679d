//! The tests of `#[dyn_trait]`, one binary, a module per concern: `shapes` (the trait shapes
//! dynosaur accepts, run through dynosaur and through ours), `allocations` (none per call in
//! steady state), `static_calls` (the trait as written: its futures unchanged), `lints` (the expansion
//! is lint-clean), `syntax` (dynosaur's forms, bridges, trait_variant, the options).

#[path = "../common/mod.rs"]
mod common;

mod allocations;
pub mod lints;
mod shapes;
mod signatures;
mod static_calls;
mod syntax;

/// Allocation counts per thread, for the tests that assert them.
#[global_allocator]
static ALLOCATOR: common::CountingAllocator = common::CountingAllocator::PER_THREAD;

//! The tests of `#[value_task]`, one binary (one link step), a module per concern.

#[path = "../common/mod.rs"]
mod common;
#[macro_use]
#[path = "../parity_support/mod.rs"]
mod parity_support;

mod allocations;
mod bodies;
mod generics;
mod lints;
mod options;
mod parity;
mod receivers;

/// Allocation counts per thread, for the tests that assert them.
#[global_allocator]
static ALLOCATOR: common::CountingAllocator = common::CountingAllocator::PER_THREAD;

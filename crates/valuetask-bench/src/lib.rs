//! The pieces of `valuetask-bench`: the scenarios (valuetask and its peers, written once),
//! the harness that times them, and the report. The binary (`main.rs`) runs them all; the
//! `cross_check` bench runs the single-threaded rows again under divan, an independent
//! harness.

pub mod alloc_counter;
pub mod cli;
pub mod dyn_traits;
pub mod executor;
pub mod handoff;
pub mod harness;
pub mod report;
pub mod runtime_scenarios;
pub mod scenarios;

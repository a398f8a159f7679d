//! The single-threaded rows of `valuetask-bench`, timed again by divan: the same
//! implementations (the same closures in the same batch loop), under an independent harness
//! with its own calibration, sampling, ordering and statistics. It cross-checks those parts
//! of `harness.rs`; the batch loop itself (`black_box` around each operation, one dynamic
//! call per batch) is shared, so an artifact of that loop would show in both.
//!
//! `cargo bench -p valuetask-bench --bench cross_check` prints one line per row and
//! implementation. Each divan iteration runs a batch of `BATCH` (1,000) operations, and
//! divan's time columns are per iteration: read its µs as nanoseconds per operation (the
//! items/s line under each is per operation). Compare the ratios within a row with the
//! README's. `-- --test` runs every case once (CI does, to keep the bench compiling and
//! running).

// The scenarios and what they use, compiled into this bench as they are into the binary (which
// keeps them out of a library: see its `main.rs`). The report and the CLI are not needed, so
// parts of the harness go unused here, and the included files' unit-test modules are compiled
// without their `#[test]` functions (this target has no test harness), leaving their imports
// unused.
#![allow(dead_code, unused_imports)]

#[path = "../src/awaits_answer.rs"]
mod awaits_answer;
#[path = "../src/dyn_traits.rs"]
mod dyn_traits;
#[path = "../src/executor.rs"]
mod executor;
#[path = "../src/handoff.rs"]
mod handoff;
#[path = "../src/harness.rs"]
mod harness;
#[path = "../src/native_traits.rs"]
mod native_traits;
#[path = "../src/payload_grid.rs"]
mod payload_grid;
#[path = "../src/runtime_scenarios.rs"]
mod runtime_scenarios;
#[path = "../src/scenarios.rs"]
mod scenarios;
#[path = "../src/tower_stack.rs"]
mod tower_stack;

use alloc_count::CountingAllocator;
use divan::counter::ItemsCount;
use divan::Bencher;

/// The same allocator as the `valuetask-bench` binary (counting off while timing), so the
/// peers that allocate pay the same per allocation under both harnesses.
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::PROCESS_WHEN_ON;

/// The rows timed here: those that run on the calling thread alone, but for the payload
/// grid's 54 cells (`valuetask-bench --only p`). The others hand work to threads or
/// runtimes, whose batches set up per batch (see `Implementation::batched`).
const SINGLE_THREADED: &[&str] = &[
    "a", "b", "c", "d", "d2", "e", "f", "h", "h2", "h3", "h4", "i", "j", "j2", "k", "t1", "t2",
    "t3", "u", "v", "w",
];

/// Operations per divan iteration (the one dynamic call per batch is spread over them), and
/// so the factor between divan's times (per iteration) and the README's (per operation).
const BATCH: u64 = 1_000;

fn main() {
    divan::main();
}

/// Every implementation of every single-threaded row, as `(row) implementation`, in report
/// order.
fn cases() -> Vec<String> {
    let all = scenarios::all();
    for id in SINGLE_THREADED {
        assert!(
            all.iter().any(|s| s.id == *id),
            "valuetask-bench has no row ({id})"
        );
    }
    all.iter()
        .filter(|scenario| SINGLE_THREADED.contains(&scenario.id))
        .flat_map(|scenario| {
            scenario
                .implementations
                .iter()
                .map(move |implementation| format!("({}) {}", scenario.id, implementation.name()))
        })
        .collect()
}

#[divan::bench(args = cases())]
fn ns_per_op(bencher: Bencher, case: &str) {
    let mut scenarios = scenarios::all();
    let implementation = scenarios
        .iter_mut()
        .flat_map(|scenario| {
            let id = scenario.id;
            scenario
                .implementations
                .iter_mut()
                .map(move |implementation| (id, implementation))
        })
        .find_map(|(id, implementation)| {
            (format!("({id}) {}", implementation.name()) == case).then_some(implementation)
        })
        .unwrap_or_else(|| panic!("no implementation named {case}"));
    bencher
        .counter(ItemsCount::new(BATCH))
        .bench_local(|| implementation.run_batch(BATCH));
}

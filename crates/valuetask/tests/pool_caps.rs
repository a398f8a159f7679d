//! The pool's caps come from the environment at its first use
//! (`VALUETASK_POOL_THREAD_BYTES`, `VALUETASK_POOL_SHARED_BYTES`): 0 for both turns pooling
//! off. Each case runs in a child process with the variables set, since they are read once.

mod common;

use common::{allocations_during, drive, yield_once, CountingAllocator};
use valuetask::ValueTask;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PER_THREAD;

/// Run test `name` again in a child process with `env` set; `true` in the child.
fn in_child_with(name: &str, env: &[(&str, &str)]) -> bool {
    if std::env::var_os("VALUETASK_TEST_CHILD").is_some() {
        return true;
    }
    if cfg!(miri) {
        return false;
    }
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1"])
        .env("VALUETASK_TEST_CHILD", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&child.stdout);
    assert!(child.status.success(), "the child failed: {report}");
    assert!(
        report.contains("1 passed"),
        "the child ran no test named {name}: {report}"
    );
    false
}

/// A call that suspends once: its future holds a 64-byte pooled block until it completes.
fn call(n: u64) -> ValueTask<'static, u64> {
    ValueTask::start(async move {
        yield_once().await;
        n
    })
}

/// 100 suspending calls, after a warm-up: the allocations they make.
fn allocations_of_suspending_calls() -> usize {
    for n in 0..10 {
        drive(call(n));
    }
    allocations_during(|| {
        for n in 0..100 {
            assert_eq!(drive(call(n)), n);
        }
    })
    .1
}

#[test]
fn by_default_suspending_calls_reuse_pooled_blocks() {
    if !in_child_with("by_default_suspending_calls_reuse_pooled_blocks", &[]) {
        return;
    }
    assert_eq!(allocations_of_suspending_calls(), 0);
}

#[test]
fn zero_caps_turn_pooling_off() {
    let off = [
        ("VALUETASK_POOL_THREAD_BYTES", "0"),
        ("VALUETASK_POOL_SHARED_BYTES", "0"),
    ];
    if !in_child_with("zero_caps_turn_pooling_off", &off) {
        return;
    }
    assert_eq!(
        allocations_of_suspending_calls(),
        100,
        "one block from the allocator per suspending call"
    );
}

#[test]
fn a_small_thread_cap_still_reuses_blocks() {
    // One 64-byte block per thread, nothing shared: a call at a time still reuses it.
    let small = [
        ("VALUETASK_POOL_THREAD_BYTES", "64"),
        ("VALUETASK_POOL_SHARED_BYTES", "0"),
    ];
    if !in_child_with("a_small_thread_cap_still_reuses_blocks", &small) {
        return;
    }
    assert_eq!(allocations_of_suspending_calls(), 0);
}

#[test]
fn a_thread_keeps_no_more_free_blocks_than_its_cap() {
    // Room for two 64-byte blocks per thread, nothing shared: of ten blocks given back at
    // once the thread keeps two (its hot block and one in its list), so ten calls suspended
    // at once then take eight from the allocator.
    let two = [
        ("VALUETASK_POOL_THREAD_BYTES", "128"),
        ("VALUETASK_POOL_SHARED_BYTES", "0"),
    ];
    if !in_child_with("a_thread_keeps_no_more_free_blocks_than_its_cap", &two) {
        return;
    }
    let ten_at_once = || {
        let calls: [_; 10] = std::array::from_fn(|n| call(n as u64)); // no allocation but theirs
        for (n, call) in (0..).zip(calls) {
            assert_eq!(drive(call), n);
        }
    };
    ten_at_once();
    assert_eq!(allocations_during(ten_at_once).1, 8);
    assert_eq!(allocations_during(ten_at_once).1, 8);
}

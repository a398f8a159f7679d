//! The global runtime's size: tokio's default (one worker per core), unless
//! `VALUETASK_WORKER_THREADS` (read once, when the runtime starts) is a positive number. The
//! runtime is process-wide, so each case runs this test again in a child process with the
//! variable set, and the child reports how many workers its global runtime has.
#![cfg(feature = "tokio")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use valuetask::Task;

/// Set in a child: run as the child and report.
const CHILD: &str = "VALUETASK_TEST_REPORT_WORKERS";
const TEST_NAME: &str = "the_worker_count_comes_from_the_environment_when_it_is_a_positive_number";
/// A child that has not reported by then is killed and the test fails.
const CHILD_LIMIT: Duration = Duration::from_secs(60);

fn workers_in_a_child_with(setting: Option<&str>) -> usize {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        // tokio's own override of its default, which would stand in for "one per core".
        .env_remove("TOKIO_WORKER_THREADS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match setting {
        Some(value) => child.env("VALUETASK_WORKER_THREADS", value),
        None => child.env_remove("VALUETASK_WORKER_THREADS"),
    };
    let mut child = child.spawn().expect("the test binary runs again");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > CHILD_LIMIT {
            child.kill().unwrap();
            panic!("the child with VALUETASK_WORKER_THREADS={setting:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|line| line.split("global workers: ").nth(1))
        .unwrap_or_else(|| panic!("no report in the child's output: {stdout}"))
        .parse()
        .unwrap()
}

#[test]
fn the_worker_count_comes_from_the_environment_when_it_is_a_positive_number() {
    if std::env::var_os(CHILD).is_some() {
        // The child: outside any runtime, `Task::run` starts the global runtime.
        let workers =
            Task::run(async { tokio::runtime::Handle::current().metrics().num_workers() });
        println!("\nglobal workers: {}", workers.wait().unwrap());
        return;
    }
    let per_core = std::thread::available_parallelism().unwrap().get();
    assert_eq!(workers_in_a_child_with(Some("3")), 3);
    assert_eq!(workers_in_a_child_with(Some("1")), 1);
    assert_eq!(workers_in_a_child_with(None), per_core);
    for ignored in ["0", "-2", "many", ""] {
        assert_eq!(
            workers_in_a_child_with(Some(ignored)),
            per_core,
            "VALUETASK_WORKER_THREADS={ignored:?} is not a positive number: one per core"
        );
    }
}

//! `--processes N`: the same measurement in N fresh processes of this binary, one after
//! another (never two at once: they would measure each other), each handing its target
//! checks back through a file (`--checks-out`); then each target's range over them
//! (`report::spread`).

use std::path::PathBuf;
use std::process::{Command as Process, ExitCode, Stdio};

use crate::cli::Options;
use crate::report::spread::{self, ProcessChecks};

/// Run `count` processes with `options`' measurement and print the summary. Fails, naming
/// the process, if one cannot be started, exits unsuccessfully, or writes no checks.
pub fn run(options: &Options, count: usize) -> ExitCode {
    match measure_in_processes(options, count) {
        Ok(processes) => {
            println!("{}", spread::text(&processes));
            println!("on {}", crate::report::host());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("valuetask-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn measure_in_processes(options: &Options, count: usize) -> Result<Vec<ProcessChecks>, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find this program to start it again: {e}"))?;
    let dir = ScratchDir::new()?;
    let mut processes = Vec::with_capacity(count);
    for i in 1..=count {
        let path = dir.0.join(format!("checks-{i}.tsv"));
        eprintln!("process {i} of {count}");
        // The tables go nowhere: the summary is made from the checks; progress stays visible.
        let status = Process::new(&exe)
            .args(options.child_args())
            .arg("--checks-out")
            .arg(&path)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot start process {i} of {count}: {e}"))?;
        if !status.success() {
            return Err(format!("process {i} of {count} failed ({status})"));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("process {i} of {count} left no checks: {e}"))?;
        let checks = spread::parse(&text).map_err(|e| format!("process {i} of {count}: {e}"))?;
        let verdicts: Vec<String> = checks
            .targets
            .iter()
            .map(|t| format!("({}) {}", t.id, if t.passed { "PASS" } else { "FAIL" }))
            .collect();
        eprintln!("process {i} of {count}: {}", verdicts.join(", "));
        processes.push(checks);
    }
    Ok(processes)
}

/// A directory of this process's own, removed with everything in it when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("valuetask-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

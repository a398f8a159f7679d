//! `valuetask-bench`: valuetask measured against its peers in one process.
//!
//! Runs every scenario (see [`scenarios`]), prints a table of ns/op, ratio to the scenario's
//! peer, allocations/op and bytes/op, then checks each scenario's target ratio. Optionally
//! prints a markdown table and writes JSON rows and an SVG chart. With `--processes N` it runs
//! the measurement in N fresh processes instead and prints each target's range over them
//! ([`processes`]).

// The modules are compiled into this binary, not into a library it links: a library moved
// code between codegen units and shifted sub-nanosecond rows such as (k) by 15%.
// `benches/cross_check.rs` includes the ones it needs by path.
mod awaits_answer;
mod cli;
mod dyn_traits;
mod executor;
mod handoff;
mod harness;
mod native_traits;
mod payload_grid;
mod processes;
mod report;
mod runtime_scenarios;
mod scenarios;
mod tower_stack;

use std::fs;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use alloc_count::CountingAllocator;
use cli::Command;
use harness::{Run, Settings};
use report::ScenarioReport;
use scenarios::Scenario;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::PROCESS_WHEN_ON;

fn main() -> ExitCode {
    let options = match Command::parse(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Ops { id, count }) => return run_ops(&id, count),
        Err(message) => {
            eprintln!("valuetask-bench: {message}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let all = scenarios::all();
    if let Err(message) = scenarios::check_only(&options.only, &all) {
        eprintln!("valuetask-bench: {message}");
        return ExitCode::from(2);
    }
    if let Some(count) = options.processes {
        // The scenarios' runtimes go before the processes that measure start.
        drop(all);
        return processes::run(&options, count);
    }
    let settings = if options.quick {
        Settings::QUICK
    } else {
        Settings::FULL
    };

    let started = Instant::now();
    let mut scenarios: Vec<Scenario> = all
        .into_iter()
        .filter(|scenario| {
            options.only.is_empty()
                || options
                    .only
                    .iter()
                    .any(|wanted| scenarios::selects(wanted, scenario.id))
        })
        .collect();
    let mut runs: Vec<Run> = scenarios
        .iter_mut()
        .map(|scenario| {
            eprintln!("calibrating ({}) {}", scenario.id, scenario.name);
            Run::prepare(&mut scenario.implementations, &settings)
        })
        .collect();
    for pass in 1..=settings.passes {
        eprintln!("timing: pass {pass} of {}", settings.passes);
        for (scenario, run) in scenarios.iter_mut().zip(&mut runs) {
            run.sample(&mut scenario.implementations, settings.samples_per_pass());
        }
    }
    let reports: Vec<ScenarioReport> = scenarios
        .iter()
        .zip(runs)
        .map(|(scenario, run)| {
            ScenarioReport::new(scenario, run.finish(&scenario.implementations, &settings))
        })
        .collect();
    eprintln!(
        "measured in {:.1} s ({} samples of ~{} ms per implementation, in {} pass{}) on {}\n",
        started.elapsed().as_secs_f64(),
        settings.samples,
        settings.sample_time.as_millis(),
        settings.passes,
        if settings.passes == 1 { "" } else { "es" },
        report::host()
    );

    // The payload grid's cells print as one grid, not as rows of the table and chart.
    let (grid, rows): (Vec<ScenarioReport>, Vec<ScenarioReport>) = reports
        .iter()
        .cloned()
        .partition(|report| payload_grid::is_cell(report.id));
    if !rows.is_empty() {
        println!("{}", report::table::text(&rows));
        println!("{}", report::chart::text(&rows));
    }
    if let Some(grid) = report::grid::text(&grid) {
        println!("{grid}");
    }
    print!(
        "{}",
        report::targets::text(&report::targets::check(&reports))
    );
    if let Some(summary) = report::atomics::summary(&reports) {
        println!("{summary}");
    }
    if options.markdown {
        if !rows.is_empty() {
            println!("\n{}", report::table::markdown(&rows));
        }
        if let Some(grid) = report::grid::markdown(&grid) {
            println!("\n{grid}");
        }
    }

    let mut status = ExitCode::SUCCESS;
    if let Some(path) = options.checks_out.as_deref() {
        let checks = report::targets::check(&reports);
        if let Err(message) = write(path, &report::spread::checks_tsv(&checks, &reports)) {
            eprintln!("valuetask-bench: {message}");
            status = ExitCode::FAILURE;
        }
    }
    let outputs = [
        (
            options.json.as_deref(),
            report::json::render as fn(&[ScenarioReport]) -> String,
        ),
        (options.svg.as_deref(), |reports: &[ScenarioReport]| {
            let rows: Vec<ScenarioReport> = reports
                .iter()
                .filter(|report| !payload_grid::is_cell(report.id))
                .cloned()
                .collect();
            report::svg::render(&rows)
        }),
    ];
    for (path, render) in outputs {
        if let Some(path) = path {
            if let Err(message) = write(path, &render(&reports)) {
                eprintln!("valuetask-bench: {message}");
                status = ExitCode::FAILURE;
            }
        }
    }
    let command = format!(
        "cargo run --release -p valuetask-bench -- {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let host = report::host();
    let pages = [
        (
            options.readme.as_deref(),
            report::readme::headline(&reports, &host),
        ),
        (
            options.benchmarks.as_deref(),
            report::readme::full(&reports, &host),
        ),
    ];
    for (path, section) in pages {
        let Some(path) = path else { continue };
        let spliced = fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|doc| report::readme::splice(&doc, &section, &command))
            .and_then(|doc| write(path, &doc));
        if let Err(message) = spliced {
            eprintln!("valuetask-bench: {message}");
            status = ExitCode::FAILURE;
        }
    }
    status
}

/// `--ops ID N`: scenario `id`'s valuetask implementation (the one its target checks, else
/// the first after its peer) runs
/// `count` operations in one batch, untimed: under callgrind, the difference between two
/// counts over the difference of their `N` is its instructions per operation (the scenarios'
/// setup, runtimes included, cancels out).
fn run_ops(id: &str, count: u64) -> ExitCode {
    // `ID@K`: the scenario's implementation K instead (0 is the peer).
    let (id, index) = match id.split_once('@') {
        Some((id, k)) => match k.parse::<usize>() {
            Ok(k) => (id, Some(k)),
            Err(_) => {
                eprintln!("valuetask-bench: --ops: `{k}` is not an implementation number");
                return ExitCode::from(2);
            }
        },
        None => (id, None),
    };
    let mut all = scenarios::all();
    let Some(scenario) = all.iter_mut().find(|scenario| scenario.id == id) else {
        let ids: Vec<&str> = scenarios::all().iter().map(|s| s.id).collect();
        eprintln!(
            "valuetask-bench: --ops: no scenario `{id}` (there are {})",
            ids.join(", ")
        );
        return ExitCode::from(2);
    };
    // The implementation its target checks; a scenario without a target (whose second row
    // need not be ours: StackFuture in (h2)) must be told which.
    let checked = scenario.target.as_ref().map(|target| target.implementation);
    let checked_index = scenario
        .implementations
        .iter()
        .position(|implementation| Some(implementation.name()) == checked);
    let Some(index) = index.or(checked_index) else {
        let names: Vec<String> = (0..)
            .zip(&scenario.implementations)
            .map(|(k, implementation)| format!("{id}@{k}: {}", implementation.name()))
            .collect();
        eprintln!(
            "valuetask-bench: --ops: ({id}) has no target to say which row to run: name one ({})",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    if index >= scenario.implementations.len() {
        eprintln!(
            "valuetask-bench: --ops: ({id}) has {} implementations",
            scenario.implementations.len()
        );
        return ExitCode::from(2);
    }
    let implementation = &mut scenario.implementations[index];
    implementation.run_batch(count);
    eprintln!("ran {count} operations of ({id}) {}", implementation.name());
    ExitCode::SUCCESS
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

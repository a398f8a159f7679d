//! The targets over several fresh processes (`--processes N`): each process writes its target
//! checks as tab-separated lines ([`checks_tsv`], `--checks-out`), and the parent reads them
//! back ([`parse`]) and prints each target's range and how many processes passed it
//! ([`text`]).
//!
//! Why processes and not more samples in one: a process fixes where its stack, heap and
//! thread-locals land and which code the CPU caches see, and on some hosts a row's time
//! depends on that for the whole process (docs/benchmarks.md, row (f)). A target
//! holds on a machine when it holds in every fresh process there.

use std::fmt::Write as _;

use super::targets::Check;
use super::ScenarioReport;

/// One target as one process measured it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetLine {
    /// The scenario's id.
    pub id: String,
    /// The target as the single-run report words it: `CompletionPool ≤ "floor: 1 atomic
    /// RMW" + 0.12× tokio oneshot`.
    pub claim: String,
    /// The measured ratio to the peer.
    pub ratio: f64,
    /// The ceiling in that process, as a ratio to the peer.
    pub limit: f64,
    /// Whether the ratio was within the ceiling.
    pub passed: bool,
}

/// What one process reported: its target lines and, if it measured row (f)'s floor, what one
/// atomic RMW cost against a oneshot cycle there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessChecks {
    /// One line per target, in the order the process checked them.
    pub targets: Vec<TargetLine>,
    /// Row (f)'s floor ratio ([`super::atomics::rmw_ratio`]).
    pub rmw: Option<f64>,
}

/// The target checks of one run as tab-separated lines: `target`, the scenario id, the claim,
/// the ratio, the ceiling, `PASS` or `FAIL`; then `rmw` and the floor ratio, if measured.
/// Ratios are written in full, so the parent's ranges are not rounded twice.
pub fn checks_tsv(checks: &[Check<'_>], reports: &[ScenarioReport]) -> String {
    let mut out = String::new();
    for check in checks {
        let claim = format!(
            "{} ≤ {}",
            check.target.implementation,
            check.target.describe(check.report.peer().implementation)
        );
        let _ = writeln!(
            out,
            "target\t{}\t{}\t{}\t{}\t{}",
            check.report.id,
            claim.replace(['\t', '\n'], " "),
            check.ratio,
            check.limit,
            if check.passed { "PASS" } else { "FAIL" }
        );
    }
    if let Some(rmw) = super::atomics::rmw_ratio(reports) {
        let _ = writeln!(out, "rmw\t{rmw}");
    }
    out
}

/// Read back what [`checks_tsv`] wrote; `Err` names the line that is not in that form.
pub fn parse(text: &str) -> Result<ProcessChecks, String> {
    let mut parsed = ProcessChecks::default();
    for (number, line) in text.lines().enumerate() {
        let bad = || format!("line {}: not a check line: {line:?}", number + 1);
        let fields: Vec<&str> = line.split('\t').collect();
        let ratio = |field: &str| field.parse::<f64>().map_err(|_| bad());
        match fields.as_slice() {
            ["target", id, claim, measured, limit, verdict] => {
                parsed.targets.push(TargetLine {
                    id: id.to_string(),
                    claim: claim.to_string(),
                    ratio: ratio(measured)?,
                    limit: ratio(limit)?,
                    passed: match *verdict {
                        "PASS" => true,
                        "FAIL" => false,
                        _ => return Err(bad()),
                    },
                });
            }
            ["rmw", measured] => parsed.rmw = Some(ratio(measured)?),
            [""] => {}
            _ => return Err(bad()),
        }
    }
    Ok(parsed)
}

/// Each target over the processes: how many passed it, the measured ratios' range and the
/// ceilings' range (a ceiling set by a floor or a reference row moves with it); then the
/// floor's range and a last line saying whether every target passed in every process.
///
/// # Panics
/// If `processes` is empty.
pub fn text(processes: &[ProcessChecks]) -> String {
    assert!(!processes.is_empty(), "no process to summarize");
    let total = processes.len();
    let mut out = format!("targets over {total} fresh processes\n");
    let mut missed = Vec::new();
    // Targets in the order the first process that checked them did; a process may lack one
    // only if it did not run (then it counts as not passed).
    let mut ids: Vec<(&str, &str)> = Vec::new();
    for process in processes {
        for line in &process.targets {
            if !ids.iter().any(|(id, _)| *id == line.id) {
                ids.push((&line.id, &line.claim));
            }
        }
    }
    for (id, claim) in ids {
        let lines: Vec<&TargetLine> = processes
            .iter()
            .filter_map(|process| process.targets.iter().find(|line| line.id == id))
            .collect();
        let passed = lines.iter().filter(|line| line.passed).count();
        if passed < total {
            missed.push(format!("({id}) in {} of {total}", total - passed));
        }
        let _ = writeln!(
            out,
            "  {passed}/{total} passed  ({id}) {claim}: measured {}, ceiling {}",
            range(lines.iter().map(|line| line.ratio)),
            range(lines.iter().map(|line| line.limit)),
        );
    }
    let floors: Vec<f64> = processes.iter().filter_map(|p| p.rmw).collect();
    if !floors.is_empty() {
        let _ = writeln!(
            out,
            "one atomic read-modify-write (row (f)'s floor): {} of a oneshot cycle",
            range(floors.iter().copied())
        );
    }
    if processes.iter().all(|process| process.targets.is_empty()) {
        let _ = writeln!(out, "no scenario measured has a target");
    } else if missed.is_empty() {
        let _ = writeln!(out, "every target passed in every process");
    } else {
        let _ = writeln!(out, "missed: {}", missed.join(", "));
    }
    out
}

/// `0.19×` when every value rounds alike, else `0.17–0.21×`.
fn range(values: impl Iterator<Item = f64>) -> String {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| {
        (low.min(v), high.max(v))
    });
    let (low, high) = (format!("{low:.2}"), format!("{high:.2}"));
    if low == high {
        format!("{low}×")
    } else {
        format!("{low}–{high}×")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::atomics::tests::pooled;
    use crate::report::targets::check;
    use crate::scenarios::{Target, FLOOR_1_RMW};

    /// Row (f) as [`pooled`] builds it, with the pooled source at `ours` and its target.
    fn f_run(ours: f64, floor: f64) -> ScenarioReport {
        let mut report = pooled(floor);
        report.rows[1].ratio = ours;
        report.target = Some(Target::row_plus("CompletionPool", FLOOR_1_RMW, 0.12));
        report
    }

    #[test]
    fn a_process_checks_read_back_as_written() {
        let reports = [f_run(0.19, 0.14)];
        let written = checks_tsv(&check(&reports), &reports);
        let parsed = parse(&written).unwrap();
        assert_eq!(parsed.rmw, Some(0.14));
        assert_eq!(parsed.targets.len(), 1);
        let line = &parsed.targets[0];
        assert_eq!(line.id, "f");
        assert_eq!(
            line.claim,
            r#"CompletionPool ≤ "floor: 1 atomic RMW" + 0.12× tokio oneshot"#
        );
        assert_eq!(line.ratio, 0.19);
        assert!((line.limit - 0.26).abs() < 1e-12 && line.passed);
    }

    #[test]
    fn lines_not_in_the_form_are_refused_with_their_number() {
        assert!(parse("target\tf\tclaim\t0.2\t0.3\tMAYBE")
            .unwrap_err()
            .starts_with("line 1:"));
        assert!(parse("rmw\t0.1\nrmw\tfast")
            .unwrap_err()
            .starts_with("line 2:"));
        assert!(parse("table\tf").is_err());
    }

    #[test]
    fn the_summary_counts_passes_and_gives_ranges() {
        let runs: Vec<ProcessChecks> = [(0.19, 0.14), (0.21, 0.08), (0.18, 0.07)]
            .into_iter()
            .map(|(ours, floor)| {
                let reports = [f_run(ours, floor)];
                parse(&checks_tsv(&check(&reports), &reports)).unwrap()
            })
            .collect();
        let summary = text(&runs);
        assert!(
            summary.starts_with("targets over 3 fresh processes\n"),
            "{summary}"
        );
        assert!(
            summary.contains("  2/3 passed  (f) CompletionPool ≤ ")
                && summary.contains("measured 0.18–0.21×, ceiling 0.19–0.26×"),
            "{summary}"
        );
        assert!(
            summary.contains("floor): 0.07–0.14× of a oneshot cycle"),
            "{summary}"
        );
        assert!(summary.ends_with("missed: (f) in 1 of 3\n"), "{summary}");
        let all = text(&runs[..1]);
        assert!(all.contains("measured 0.19×, ceiling 0.26×"), "{all}");
        assert!(
            all.ends_with("every target passed in every process\n"),
            "{all}"
        );
    }

    #[test]
    fn processes_without_targets_say_so_instead_of_passing() {
        let summary = text(&[ProcessChecks::default(), ProcessChecks::default()]);
        assert!(
            summary.ends_with("no scenario measured has a target\n"),
            "{summary}"
        );
    }

    #[test]
    fn a_process_without_a_target_counts_as_not_passing_it() {
        let reports = [f_run(0.19, 0.14)];
        let full = parse(&checks_tsv(&check(&reports), &reports)).unwrap();
        let summary = text(&[full, ProcessChecks::default()]);
        assert!(summary.contains("1/2 passed  (f)"), "{summary}");
        assert!(summary.ends_with("missed: (f) in 1 of 2\n"), "{summary}");
    }
}

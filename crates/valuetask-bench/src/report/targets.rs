//! The target checks: each scenario's valuetask implementation against its ratio ceiling.

use std::fmt::Write as _;

use super::{Row, ScenarioReport};
use crate::scenarios::{Bound, Target};

/// The outcome of one scenario's target.
#[derive(Debug, Clone, PartialEq)]
pub struct Check<'a> {
    /// The scenario checked.
    pub report: &'a ScenarioReport,
    /// The target checked.
    pub target: Target,
    /// The measured ratio of the target implementation to the peer.
    pub ratio: f64,
    /// The ceiling in this run, as a ratio to the peer (resolved against its reference row).
    pub limit: f64,
    /// Whether `ratio` is within the target.
    pub passed: bool,
}

/// Check the target of every scenario that has one.
///
/// # Panics
/// If a target names an implementation the scenario did not measure.
pub fn check(reports: &[ScenarioReport]) -> Vec<Check<'_>> {
    reports
        .iter()
        .filter_map(|report| {
            let target = report.target?;
            let row = report
                .rows
                .iter()
                .find(|row| row.implementation == target.implementation)
                .expect("a scenario's target names one of its implementations");
            let limit = report.target_limit()?;
            Some(Check {
                report,
                target,
                ratio: row.ratio,
                limit,
                passed: row.ratio <= limit,
            })
        })
        .collect()
}

/// One `PASS`/`FAIL` line per target. A ceiling set by another row shows its form and its
/// value in this run. The measured ratio gets a third decimal when two would round it onto
/// the ceiling (a `FAIL` reading "measured 0.25×" against "≤ 0.25×").
pub fn text(checks: &[Check<'_>]) -> String {
    let mut out = String::from("targets\n");
    let (grid, checks): (Vec<&Check<'_>>, Vec<&Check<'_>>) = checks
        .iter()
        .partition(|check| crate::payload_grid::is_cell(check.report.id));
    for check in checks {
        let report = check.report;
        let two = format!("{:.2}", check.ratio);
        let measured = if two == format!("{:.2}", check.limit) {
            format!("{:.3}", check.ratio)
        } else {
            two
        };
        let peer = report.peer().implementation;
        let ceiling = match check.target.bound {
            Bound::Peer(_) => check.target.describe(peer),
            _ => format!(
                "{} (here {:.2}× {peer})",
                check.target.describe(peer),
                check.limit
            ),
        };
        let _ = writeln!(
            out,
            "  {}  ({}) {} ≤ {ceiling}: measured {}×",
            if check.passed { "PASS" } else { "FAIL" },
            report.id,
            check.target.implementation,
            measured,
        );
        if let Some(floor) = floor_above(check).filter(|_| !check.passed) {
            let _ = writeln!(
                out,
                "        the floor row \"{}\" itself measures {:.2}×: no form reaches this ceiling here",
                floor.implementation, floor.ratio
            );
        }
    }
    if let Some(line) = grid_line(&grid) {
        out.push_str(&line);
    }
    out
}

/// The scenario's floor row (a row named `floor: …`: what every correct form pays) that
/// itself measures above the check's ceiling, the highest if several: a target out of reach in
/// this run, whatever the implementation does (named under a miss only: noise can pass one).
fn floor_above<'a>(check: &Check<'a>) -> Option<&'a Row> {
    check
        .report
        .rows
        .iter()
        .filter(|row| row.implementation.starts_with("floor") && row.ratio > check.limit)
        .max_by(|a, b| a.ratio.total_cmp(&b.ratio))
}

/// The payload grid's targets as one line: how many cells passed, the highest ratio, and
/// every cell that missed.
fn grid_line(grid: &[&Check<'_>]) -> Option<String> {
    let highest = grid.iter().max_by(|a, b| a.ratio.total_cmp(&b.ratio))?;
    let missed: Vec<String> = grid
        .iter()
        .filter(|check| !check.passed)
        .map(|check| format!("({}) {:.3}×", check.report.id, check.ratio))
        .collect();
    let passed = grid.len() - missed.len();
    let mut line = format!(
        "  {}  (p) {} ≤ {}: {passed} of {} cells; highest ({}) {:.2}×",
        if missed.is_empty() { "PASS" } else { "FAIL" },
        highest.target.implementation,
        highest
            .target
            .describe(highest.report.peer().implementation),
        grid.len(),
        highest.report.id,
        highest.ratio,
    );
    if !missed.is_empty() {
        line.push_str("; missed: ");
        line.push_str(&missed.join(", "));
    }
    line.push('\n');
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(target: Target, rows: &[(&'static str, f64)]) -> ScenarioReport {
        ScenarioReport {
            id: "x",
            name: "test",
            target: Some(target),
            rows: rows
                .iter()
                .map(|&(implementation, ratio)| Row {
                    implementation,
                    ns_per_op: ratio * 10.0,
                    ratio,
                    allocs_per_op: 0.0,
                    bytes_per_op: 0.0,
                })
                .collect(),
        }
    }

    #[test]
    fn a_ceiling_above_a_floor_moves_with_the_floor_measured_in_the_same_run() {
        let target = Target::row_plus("ours", "floor", 0.12);
        let cheap = [report(
            target,
            &[("peer", 1.0), ("ours", 0.25), ("floor", 0.10)],
        )];
        let checks = check(&cheap);
        assert!((checks[0].limit - 0.22).abs() < 1e-9);
        assert!(!checks[0].passed, "0.25 is above 0.10 + 0.12");
        let dear = [report(
            target,
            &[("peer", 1.0), ("ours", 0.25), ("floor", 0.20)],
        )];
        assert!(check(&dear)[0].passed, "0.25 is within 0.20 + 0.12");
        let line = text(&check(&dear));
        assert!(
            line.contains(r#"ours ≤ "floor" + 0.12× peer (here 0.32× peer): measured 0.25×"#),
            "{line}"
        );
    }

    #[test]
    fn a_floor_row_above_a_fixed_ceiling_is_named_under_its_check() {
        let target = Target::peer("ours", 0.25);
        let out_of_reach = [report(
            target,
            &[("peer", 1.0), ("ours", 0.39), ("floor: the least", 0.27)],
        )];
        let line = text(&check(&out_of_reach));
        assert!(
            line.contains(r#"the floor row "floor: the least" itself measures 0.27×"#),
            "{line}"
        );
        let within = [report(
            target,
            &[("peer", 1.0), ("ours", 0.39), ("floor: the least", 0.20)],
        )];
        let line = text(&check(&within));
        assert!(!line.contains("itself measures"), "{line}");
    }

    #[test]
    fn a_ceiling_with_a_reference_design_takes_the_larger_of_the_two() {
        let target = Target::peer_or_row_times("ours", 0.5, "reference", 1.1);
        let reached = [report(
            target,
            &[("peer", 1.0), ("ours", 0.48), ("reference", 0.3)],
        )];
        assert!(check(&reached)[0].passed, "under 0.5 of the peer");
        let near = [report(
            target,
            &[("peer", 1.0), ("ours", 0.54), ("reference", 0.5)],
        )];
        assert!(check(&near)[0].passed, "0.54 is within 1.1 x 0.5");
        let far = [report(
            target,
            &[("peer", 1.0), ("ours", 0.71), ("reference", 0.49)],
        )];
        let checks = check(&far);
        assert!(!checks[0].passed, "0.71 is above both 0.5 and 1.1 x 0.49");
        assert!((checks[0].limit - 0.539).abs() < 1e-9);
    }

    #[test]
    fn a_plain_ceiling_reads_as_before() {
        let plain = [report(
            Target::peer("ours", 0.9),
            &[("peer", 1.0), ("ours", 0.95)],
        )];
        let line = text(&check(&plain));
        assert!(
            line.contains("FAIL  (x) ours ≤ 0.90× peer: measured 0.95×"),
            "{line}"
        );
    }
}

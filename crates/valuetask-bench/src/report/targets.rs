//! The target checks: each scenario's valuetask implementation against its ratio ceiling.

use std::fmt::Write as _;

use super::ScenarioReport;
use crate::scenarios::Target;

/// The outcome of one scenario's target.
#[derive(Debug, Clone, PartialEq)]
pub struct Check<'a> {
    /// The scenario checked.
    pub report: &'a ScenarioReport,
    /// The target checked.
    pub target: Target,
    /// The measured ratio of the target implementation to the peer.
    pub ratio: f64,
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
            Some(Check {
                report,
                target,
                ratio: row.ratio,
                passed: row.ratio <= target.max_ratio,
            })
        })
        .collect()
}

/// One `PASS`/`FAIL` line per target. The measured ratio gets a third decimal when two would
/// round it onto the target (a `FAIL` reading "measured 0.25×" against "≤ 0.25×").
pub fn text(checks: &[Check<'_>]) -> String {
    let mut out = String::from("targets\n");
    for check in checks {
        let report = check.report;
        let two = format!("{:.2}", check.ratio);
        let measured = if two == format!("{:.2}", check.target.max_ratio) {
            format!("{:.3}", check.ratio)
        } else {
            two
        };
        let _ = writeln!(
            out,
            "  {}  ({}) {} ≤ {:.2}× {}: measured {}×",
            if check.passed { "PASS" } else { "FAIL" },
            report.id,
            check.target.implementation,
            check.target.max_ratio,
            report.peer().implementation,
            measured,
        );
    }
    out
}

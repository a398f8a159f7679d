//! Which kind of host a run measured, read off its own floor row: what one uncontended atomic
//! read-modify-write costs against a `tokio::sync::oneshot` cycle (row (f)'s "floor: 1 atomic
//! RMW"). The rows that complete a result, (d) to (g) and (n), move with it; their targets are
//! set against floor and reference rows of the same run, so PASS and FAIL mean the same on
//! either kind (docs/benchmarks.md, "Two kinds of host").

use super::ScenarioReport;
use crate::scenarios::{FLOOR_1_RMW, POOLED_SOURCE_SCENARIO};

/// From this ratio up, a host counts as one where atomics are dear: an atomic RMW then costs
/// a fifth of a oneshot cycle or more, and the rows that complete a result are dominated by
/// their RMWs (docs/benchmarks.md, "Two kinds of host").
pub const DEAR_FROM: f64 = 0.17;

/// One atomic RMW as a ratio to a oneshot cycle, if the run measured row (f)'s floor.
pub fn rmw_ratio(reports: &[ScenarioReport]) -> Option<f64> {
    reports
        .iter()
        .find(|report| report.id == POOLED_SOURCE_SCENARIO)?
        .rows
        .iter()
        .find(|row| row.implementation == FLOOR_1_RMW)
        .map(|row| row.ratio)
}

/// `"dear"` or `"cheap"`: the kind of host a ratio from [`rmw_ratio`] says this is.
pub fn kind(ratio: f64) -> &'static str {
    if ratio >= DEAR_FROM {
        "dear"
    } else {
        "cheap"
    }
}

/// A sentence saying which kind of host this is, if the run measured row (f)'s floor.
pub fn summary(reports: &[ScenarioReport]) -> Option<String> {
    let ratio = rmw_ratio(reports)?;
    Some(format!(
        "host: one atomic read-modify-write costs {ratio:.2}× of a oneshot cycle here (row \
         (f)'s floor): atomics are {} (dear from {DEAR_FROM:.2}×); see docs/benchmarks.md, \
         \"Two kinds of host\"",
        kind(ratio)
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::Row;

    /// Row (f) with its floor at `floor` times the oneshot.
    pub(crate) fn pooled(floor: f64) -> ScenarioReport {
        let row = |implementation, ratio| Row {
            implementation,
            ns_per_op: ratio * 30.0,
            ratio,
            allocs_per_op: 0.0,
            bytes_per_op: 0.0,
        };
        ScenarioReport {
            id: POOLED_SOURCE_SCENARIO,
            name: "pooled",
            target: None,
            rows: vec![
                row("tokio oneshot", 1.0),
                row("CompletionPool", 0.2),
                row(FLOOR_1_RMW, floor),
            ],
        }
    }

    #[test]
    fn the_kind_of_host_follows_row_f_floor() {
        let dear = summary(&[pooled(0.21)]).unwrap();
        assert!(
            dear.contains("costs 0.21×") && dear.contains("atomics are dear"),
            "{dear}"
        );
        let cheap = summary(&[pooled(0.09)]).unwrap();
        assert!(
            cheap.contains("costs 0.09×") && cheap.contains("atomics are cheap"),
            "{cheap}"
        );
    }

    #[test]
    fn a_run_without_row_f_says_nothing() {
        assert_eq!(summary(&[]), None);
    }
}

//! The ratios as a text bar chart, printed after the table: one bar per valuetask
//! implementation, its length the time ratio to the scenario's peer, with the peer (1×) and
//! the target marked on the same scale.

use std::fmt::Write as _;

use super::ScenarioReport;

/// Characters for 1× (the peer).
const UNIT: usize = 20;
/// Bars are cut at this many characters (3×) and end in `…`.
const MAX_BAR: usize = 3 * UNIT;

/// The chart: for each scenario, every implementation but the peer.
pub fn text(reports: &[ScenarioReport]) -> String {
    let name_width = reports
        .iter()
        .flat_map(|r| r.rows.iter().skip(1))
        .map(|row| row.implementation.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ratio to each scenario's peer (lower is better): `|` marks the peer (1×), `!` the target"
    );
    for report in reports {
        let target = report.target;
        let limit = report.target_limit();
        for (i, row) in report.rows.iter().enumerate().skip(1) {
            let label = if i == 1 {
                format!("({})", report.id)
            } else {
                String::new()
            };
            let max_ratio = target
                .filter(|t| t.implementation == row.implementation)
                .and(limit);
            let _ = writeln!(
                out,
                "{label:<6}{:<name_width$}  {}  {:.2}×",
                row.implementation,
                bar(row.ratio, max_ratio),
                row.ratio,
            );
        }
    }
    out
}

/// A bar of `ratio` on the chart's scale (`UNIT` characters for 1×), with `|` at 1× and `!`
/// at `target` when there is one, padded to one width so the ratios line up.
fn bar(ratio: f64, target: Option<f64>) -> String {
    let width = MAX_BAR + 1;
    let filled = if ratio.is_finite() && ratio > 0.0 {
        ((ratio * UNIT as f64).round() as usize).max(1)
    } else {
        0
    };
    let mut cells: Vec<char> = (0..width)
        .map(|i| if i < filled.min(MAX_BAR) { '█' } else { ' ' })
        .collect();
    if filled > MAX_BAR {
        cells[MAX_BAR] = '…';
    }
    let mark = |cells: &mut Vec<char>, at: f64, symbol: char| {
        let i = (at * UNIT as f64).round() as usize;
        if i < MAX_BAR {
            cells[i] = symbol;
        }
    };
    mark(&mut cells, 1.0, '|');
    if let Some(target) = target {
        mark(&mut cells, target, '!');
    }
    cells.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::{bar, MAX_BAR, UNIT};

    fn filled(bar: &str) -> usize {
        bar.chars().filter(|&c| c == '█').count()
    }

    #[test]
    fn a_bar_is_as_long_as_its_ratio_with_the_peer_and_the_target_marked() {
        let half = bar(0.5, Some(0.25));
        assert_eq!(half.chars().count(), MAX_BAR + 1, "bars line up");
        assert_eq!(filled(&half), UNIT / 2 - 1, "one cell is the target mark");
        assert_eq!(half.chars().nth(UNIT), Some('|'), "the peer at 1×");
        assert_eq!(half.chars().nth(UNIT / 4), Some('!'), "the target at 0.25×");
        assert_eq!(
            filled(&bar(1.5, None)),
            UNIT * 3 / 2 - 1,
            "the peer mark is inside"
        );
    }

    #[test]
    fn long_bars_are_cut_and_tiny_ones_still_show() {
        let long = bar(47.0, None);
        assert_eq!(long.chars().last(), Some('…'));
        assert_eq!(long.chars().count(), MAX_BAR + 1);
        assert_eq!(filled(&bar(0.01, None)), 1);
        assert_eq!(filled(&bar(f64::NAN, None)), 0);
    }
}

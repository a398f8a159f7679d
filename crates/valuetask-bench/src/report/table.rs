//! The results as an aligned text table and as a markdown table.

use std::fmt::Write as _;

use super::{per_op, ScenarioReport};

const HEADERS: [&str; 6] = [
    "scenario",
    "implementation",
    "ns/op",
    "vs peer",
    "allocs/op",
    "bytes/op",
];

/// How far the quotient of a row's and its peer's ns/op medians may be from its paired ratio
/// before the table shows both.
const AGREEMENT: f64 = 0.05;

/// Said under a table that shows a quotient of medians beside a ratio.
pub const DISAGREEMENT_NOTE: &str = "A ratio is the median of per-round quotients (a row and \
     its peer timed back to back); where the quotient of the two ns/op medians differs by more \
     than 5%, it is shown in brackets: that row's samples fall in clusters (docs/benchmarks.md, \
     \"The method\").";

/// The ratio cell: the paired ratio, and the quotient of the ns/op medians where it differs.
fn ratio_cell(ratio: f64, ns_per_op: f64, peer_ns_per_op: f64) -> String {
    let by_medians = ns_per_op / peer_ns_per_op;
    if by_medians.is_finite() && (by_medians / ratio - 1.0).abs() > AGREEMENT {
        format!("{ratio:.2}× [{by_medians:.2}×]")
    } else {
        format!("{ratio:.2}×")
    }
}

/// Whether any row's ratio cell shows a quotient of medians.
fn any_disagreement(reports: &[ScenarioReport]) -> bool {
    cells(reports).iter().any(|row| row[3].contains('['))
}

/// The table's cells, one `Vec` per row; the scenario label appears on its first row only.
fn cells(reports: &[ScenarioReport]) -> Vec<[String; 6]> {
    reports
        .iter()
        .flat_map(|report| {
            let peer_ns_per_op = report.rows[0].ns_per_op;
            report.rows.iter().enumerate().map(move |(i, row)| {
                [
                    if i == 0 {
                        report.label()
                    } else {
                        String::new()
                    },
                    row.implementation.to_string(),
                    format!("{:.2}", row.ns_per_op),
                    ratio_cell(row.ratio, row.ns_per_op, peer_ns_per_op),
                    per_op(row.allocs_per_op),
                    per_op(row.bytes_per_op),
                ]
            })
        })
        .collect()
}

/// An aligned plain-text table, a blank line between scenarios. Text columns are
/// left-aligned, numbers right-aligned.
pub fn text(reports: &[ScenarioReport]) -> String {
    let rows = cells(reports);
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        let mut out = String::new();
        for (col, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let pad = " ".repeat(width - cell.chars().count());
            if col > 0 {
                out.push_str("  ");
            }
            if col < 2 {
                out.push_str(cell);
                out.push_str(&pad);
            } else {
                out.push_str(&pad);
                out.push_str(cell);
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };

    let mut out = line(&HEADERS.map(String::from));
    let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 && !row[0].is_empty() {
            out.push('\n');
        }
        out.push_str(&line(row));
    }
    if any_disagreement(reports) {
        let _ = writeln!(out, "\n{DISAGREEMENT_NOTE}");
    }
    out
}

/// A GitHub-flavoured markdown table with the same rows.
pub fn markdown(reports: &[ScenarioReport]) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out.push_str("|---|---|---:|---:|---:|---:|\n");
    for row in cells(reports) {
        let escaped: Vec<String> = row.iter().map(|cell| cell.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", escaped.join(" | "));
    }
    if any_disagreement(reports) {
        let _ = writeln!(out, "\n{DISAGREEMENT_NOTE}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ratio_cell;

    #[test]
    fn a_ratio_far_from_its_medians_shows_both() {
        assert_eq!(ratio_cell(1.05, 1022.5, 674.9), "1.05× [1.52×]");
        assert_eq!(ratio_cell(0.50, 10.2, 20.0), "0.50×");
    }
}

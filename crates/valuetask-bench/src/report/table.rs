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

/// The table's cells, one `Vec` per row; the scenario label appears on its first row only.
fn cells(reports: &[ScenarioReport]) -> Vec<[String; 6]> {
    reports
        .iter()
        .flat_map(|report| {
            report.rows.iter().enumerate().map(|(i, row)| {
                [
                    if i == 0 {
                        report.label()
                    } else {
                        String::new()
                    },
                    row.implementation.to_string(),
                    format!("{:.2}", row.ns_per_op),
                    format!("{:.2}×", row.ratio),
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
    out
}

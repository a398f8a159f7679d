//! The payload grid's cells (`payload_grid`) as one grid: future × result rows, layers ×
//! ready/suspending columns, each cell `#[value_task]`'s ratio to `#[async_trait]`.

use std::fmt::Write as _;

use super::{per_op, ScenarioReport};
use crate::payload_grid::{future_bytes, is_cell, FUTURES, RESULTS};
use crate::scenarios::VALUE_TASK_ATTR;

/// The column headers: layers × ready / suspending.
const COLUMNS: [(usize, bool, &str); 6] = [
    (1, false, "1 layer, ready"),
    (2, false, "2, ready"),
    (3, false, "3, ready"),
    (1, true, "1, suspends"),
    (2, true, "2, suspends"),
    (3, true, "3, suspends"),
];

/// A cell as the grid shows it: the ratio, and a mark when it misses its target.
fn cell(reports: &[ScenarioReport], future: usize, result: usize, column: usize) -> String {
    let (layers, suspends, _) = COLUMNS[column];
    let id = format!(
        "p{future}.{result}.{layers}{}",
        if suspends { 's' } else { 'r' }
    );
    let Some(report) = reports.iter().find(|r| r.id == id) else {
        return "-".to_string();
    };
    let Some(row) = report
        .rows
        .iter()
        .find(|row| row.implementation == VALUE_TASK_ATTR)
    else {
        return "-".to_string();
    };
    let miss = report.target_limit().is_some_and(|limit| row.ratio > limit);
    format!("{:.2}×{}", row.ratio, if miss { " !" } else { "" })
}

/// Allocations per call, `#[async_trait]` → `#[value_task]`, by layer count, when every
/// cell with that many layers agrees (they do: the counts are deterministic); `None` if the
/// grid was not measured.
fn allocations(reports: &[ScenarioReport], layers: usize) -> Option<String> {
    let mut seen: Vec<(String, String)> = reports
        .iter()
        .filter(|r| is_cell(r.id))
        .filter(|r| {
            r.id.ends_with(&format!(".{layers}r")) || r.id.ends_with(&format!(".{layers}s"))
        })
        .filter_map(|r| {
            let ours = r
                .rows
                .iter()
                .find(|row| row.implementation == VALUE_TASK_ATTR)?;
            Some((per_op(r.peer().allocs_per_op), per_op(ours.allocs_per_op)))
        })
        .collect();
    seen.sort();
    seen.dedup();
    match seen.as_slice() {
        [] => None,
        [(peer, ours)] => Some(format!("{peer} → {ours}")),
        _ => Some(
            seen.iter()
                .map(|(peer, ours)| format!("{peer} → {ours}"))
                .collect::<Vec<_>>()
                .join(" or "),
        ),
    }
}

/// The grid's rows, `(future, result, cells)`, for the pairs measured.
fn rows(reports: &[ScenarioReport]) -> Vec<(usize, usize, Vec<String>)> {
    let mut out = Vec::new();
    for future in FUTURES {
        for result in RESULTS {
            let cells: Vec<String> = (0..COLUMNS.len())
                .map(|column| cell(reports, future, result, column))
                .collect();
            if cells.iter().any(|c| c != "-") {
                out.push((future, result, cells));
            }
        }
    }
    out
}

/// The note under the grid: what a cell is, the target, and the allocations per call.
/// The note under the grid; `mark` is how a missed cell is marked (`!` in text, `miss` in
/// markdown).
fn legend(reports: &[ScenarioReport], mark: &str) -> String {
    let allocations: Vec<String> = (1..=3)
        .filter_map(|layers| {
            allocations(reports, layers)
                .map(|a| format!("{layers} layer{}: {a}", if layers == 1 { "" } else { "s" }))
        })
        .collect();
    let sizes: Vec<String> = future_bytes()
        .iter()
        .map(|(nominal, exact)| format!("{nominal} B: {}", exact.map(|b| b.to_string()).join("/")))
        .collect();
    format!(
        "Each cell: #[value_task]'s time per call over #[async_trait]'s in the same run \
         (target: at most 1.00×; `{mark}` marks a miss). Allocations per call, #[async_trait] → \
         #[value_task], in every cell: {}. The leaf futures' sizes in bytes, with an \
         8/64/256-byte result: {}.",
        allocations.join("; "),
        sizes.join("; ")
    )
}

/// The grid as aligned text, or `None` if no cell was measured.
pub fn text(reports: &[ScenarioReport]) -> Option<String> {
    let rows = rows(reports);
    if rows.is_empty() {
        return None;
    }
    let mut out = String::from(
        "(p) dyn calls with real payloads: leaf future × result × layers, ready or suspending once\n",
    );
    let headers: Vec<&str> = COLUMNS.iter().map(|(_, _, name)| *name).collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|(_, _, cells)| cells[i].chars().count())
                .chain([h.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let _ = write!(out, "{:<8}{:<8}", "future", "result");
    for (h, w) in headers.iter().zip(&widths) {
        let _ = write!(out, "  {h:>w$}");
    }
    out.push('\n');
    for (future, result, cells) in &rows {
        let _ = write!(
            out,
            "{:<8}{:<8}",
            format!("{future} B"),
            format!("{result} B")
        );
        for (c, w) in cells.iter().zip(&widths) {
            let _ = write!(out, "  {c:>w$}");
        }
        out.push('\n');
    }
    out.push_str(&legend(reports, "!"));
    out.push('\n');
    Some(out)
}

/// The grid as a markdown table, or `None` if no cell was measured.
pub fn markdown(reports: &[ScenarioReport]) -> Option<String> {
    let rows = rows(reports);
    if rows.is_empty() {
        return None;
    }
    let mut out = String::from("| leaf future | result |");
    for (_, _, name) in COLUMNS {
        let _ = write!(out, " {name} |");
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---:|".repeat(COLUMNS.len()));
    out.push('\n');
    for (future, result, cells) in rows {
        let _ = write!(out, "| {future} B | {result} B |");
        for c in cells {
            let _ = write!(out, " {} |", c.replace('!', "miss"));
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&legend(reports, "miss"));
    out.push('\n');
    Some(out)
}

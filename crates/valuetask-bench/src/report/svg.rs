//! The results as a self-contained SVG bar chart: a group per scenario, a horizontal bar
//! per implementation, bar length = ns/op ratio to the scenario's peer.
//!
//! Each group has its own axis (the ratios of different scenarios are not comparable), with
//! a dashed line at the peer (1×) and a red one at the target. A bar too long for its axis
//! is drawn broken; its label still gives the measured ratio.

use std::fmt::Write as _;

use super::{per_op, Row, ScenarioReport};

const WIDTH: f64 = 860.0;
const MARGIN: f64 = 16.0;
const NAME_WIDTH: f64 = 180.0;
const BAR_X: f64 = MARGIN + NAME_WIDTH + 10.0;
const BAR_WIDTH: f64 = 400.0;
const BAR_HEIGHT: f64 = 18.0;
const BAR_PITCH: f64 = 24.0;
const HEADER_HEIGHT: f64 = 62.0;
const GROUP_HEADING: f64 = 22.0;
const AXIS_LABELS: f64 = 34.0;
const FOOTER_HEIGHT: f64 = 28.0;
/// An axis extends to at most this multiple of the larger of 1× and the target.
const AXIS_CAP: f64 = 2.0;
/// Labels closer than this (px) would overlap and go on separate lines.
const LABEL_SPACING: f64 = 80.0;

const PEER_COLOUR: &str = "#9aa0a6";
const TARGET_COLOUR: &str = "#1a73e8";
const OTHER_COLOUR: &str = "#8ab4f8";
const TARGET_LINE_COLOUR: &str = "#d93025";
const PEER_LINE_COLOUR: &str = "#5f6368";

/// The chart as a standalone SVG document.
pub fn render(reports: &[ScenarioReport]) -> String {
    let groups_height: f64 = reports.iter().map(group_height).sum();
    let height = HEADER_HEIGHT + groups_height + FOOTER_HEIGHT;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">"#
    );
    svg.push_str(
        "<title>valuetask against its peers: time per operation relative to the peer</title>\n",
    );
    let _ = writeln!(
        svg,
        r##"<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="{MARGIN}" y="26" font-size="16" font-weight="bold" fill="#202124">valuetask against its peers</text>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="{MARGIN}" y="46" fill="#5f6368">ns/op relative to each scenario's peer (grey); lower is better</text>"##
    );

    let mut y = HEADER_HEIGHT;
    for report in reports {
        group(&mut svg, report, y);
        y += group_height(report);
    }

    let _ = writeln!(
        svg,
        r##"<text x="{MARGIN}" y="{:.1}" font-size="11" fill="#5f6368">Each scenario has its own axis. Dashed line: the peer (1×). Red line: the target. A broken bar runs past its axis.</text>"##,
        y + 16.0
    );
    svg.push_str("</svg>\n");
    svg
}

fn group_height(report: &ScenarioReport) -> f64 {
    GROUP_HEADING + BAR_PITCH * report.rows.len() as f64 + AXIS_LABELS
}

/// The ratio at the right end of a group's axis.
fn axis_max(report: &ScenarioReport) -> f64 {
    let floor = report.target_limit().map_or(1.0, |limit| limit.max(1.0));
    let largest = report
        .rows
        .iter()
        .map(|row| row.ratio)
        .fold(floor, f64::max);
    largest.min(floor * AXIS_CAP) * 1.05
}

fn group(svg: &mut String, report: &ScenarioReport, top: f64) {
    let axis = axis_max(report);
    let x_of = |ratio: f64| BAR_X + BAR_WIDTH * (ratio / axis).clamp(0.0, 1.0);
    let _ = writeln!(
        svg,
        r##"<text x="{MARGIN}" y="{:.1}" font-size="13" font-weight="bold" fill="#202124">{}</text>"##,
        top + 14.0,
        escape(&report.label())
    );

    let bars_top = top + GROUP_HEADING;
    let bars_bottom = bars_top + BAR_PITCH * report.rows.len() as f64;
    let peer_x = x_of(1.0);
    let target = report.target_limit();
    let target_x = target.map(x_of);
    let line = |svg: &mut String, x: f64, colour: &str| {
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="4 3"/>"#,
            bars_top - 4.0,
            bars_bottom + 2.0
        );
    };
    let label = |svg: &mut String, x: f64, y: f64, colour: &str, text: &str| {
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="11" text-anchor="middle" fill="{colour}">{}</text>"#,
            escape(text)
        );
    };

    // Reference lines first, so bars and their labels are drawn over them.
    line(svg, peer_x, PEER_LINE_COLOUR);
    if let Some(x) = target_x {
        line(svg, x, TARGET_LINE_COLOUR);
    }
    for (i, row) in report.rows.iter().enumerate() {
        let colour = if i == 0 {
            PEER_COLOUR
        } else if report
            .target
            .is_some_and(|t| row.implementation == t.implementation)
        {
            TARGET_COLOUR
        } else {
            OTHER_COLOUR
        };
        bar(svg, row, colour, bars_top + BAR_PITCH * i as f64, axis);
    }
    let first_line = bars_bottom + 12.0;
    let (Some(target), Some(target_x)) = (target, target_x) else {
        label(
            svg,
            peer_x,
            first_line,
            PEER_LINE_COLOUR,
            "peer 1× (no target)",
        );
        return;
    };
    if (target - 1.0).abs() < 1e-9 {
        label(
            svg,
            peer_x,
            first_line,
            TARGET_LINE_COLOUR,
            "peer 1× = target",
        );
    } else {
        label(svg, peer_x, first_line, PEER_LINE_COLOUR, "peer 1×");
        let target_line = if (target_x - peer_x).abs() < LABEL_SPACING {
            first_line + 13.0
        } else {
            first_line
        };
        label(
            svg,
            target_x,
            target_line,
            TARGET_LINE_COLOUR,
            &format!("target ≤ {target:.2}×"),
        );
    }
}

fn bar(svg: &mut String, row: &Row, colour: &str, y: f64, axis: f64) {
    let broken = row.ratio > axis;
    let length = BAR_WIDTH * (row.ratio / axis).clamp(0.0, 1.0);
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#202124">{}</text>"##,
        MARGIN + NAME_WIDTH,
        y + 13.0,
        escape(row.implementation)
    );
    let _ = writeln!(
        svg,
        r#"<rect x="{BAR_X:.1}" y="{y:.1}" width="{length:.1}" height="{BAR_HEIGHT}" fill="{colour}"/>"#
    );
    if broken {
        // Two white slants across the bar near its end: the axis was cut here.
        let x = BAR_X + BAR_WIDTH - 24.0;
        let _ = writeln!(
            svg,
            r##"<path d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="#ffffff"/>"##,
            x,
            y + BAR_HEIGHT,
            x + 6.0,
            y,
            x + 11.0,
            y,
            x + 5.0,
            y + BAR_HEIGHT
        );
    }
    let allocs = per_op(row.allocs_per_op);
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" fill="#3c4043" stroke="#ffffff" stroke-width="3" paint-order="stroke">{:.2}× · {:.2} ns/op · {} allocs/op</text>"##,
        BAR_X + length + 6.0,
        y + 13.0,
        row.ratio,
        row.ns_per_op,
        escape(&allocs)
    );
}

/// `text` escaped for SVG character data and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

//! The rows as a JSON array of objects, written by hand.

use std::fmt::Write as _;

use super::ScenarioReport;

/// A JSON array with one object per row: `scenario`, `implementation`, `ns_per_op`,
/// `ratio`, `allocs_per_op`, `bytes_per_op`.
pub fn render(reports: &[ScenarioReport]) -> String {
    let objects: Vec<String> = reports
        .iter()
        .flat_map(|report| {
            report.rows.iter().map(|row| {
                format!(
                    "  {{\"scenario\": {}, \"implementation\": {}, \"ns_per_op\": {}, \
                     \"ratio\": {}, \"allocs_per_op\": {}, \"bytes_per_op\": {}}}",
                    string(report.name),
                    string(row.implementation),
                    number(row.ns_per_op, 3),
                    number(row.ratio, 4),
                    number(row.allocs_per_op, 4),
                    number(row.bytes_per_op, 4),
                )
            })
        })
        .collect();
    if objects.is_empty() {
        "[]\n".to_string()
    } else {
        format!("[\n{}\n]\n", objects.join(",\n"))
    }
}

/// `s` as a JSON string literal.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `value` as a JSON number rounded to `decimals` places, without trailing zeros; JSON has
/// no NaN or infinity, so those become `null`.
fn number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "null".to_string();
    }
    let fixed = format!("{value:.decimals$}");
    let trimmed = if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.')
    } else {
        &fixed
    };
    match trimmed {
        "-0" => "0".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{number, string};

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\u0001é""#);
    }

    #[test]
    fn numbers_are_json() {
        assert_eq!(number(1.5, 3), "1.5");
        assert_eq!(number(2.0, 3), "2");
        assert_eq!(number(0.123456, 4), "0.1235");
        assert_eq!(number(120.0, 0), "120");
        assert_eq!(number(-0.0001, 2), "0");
        assert_eq!(number(f64::NAN, 3), "null");
    }
}

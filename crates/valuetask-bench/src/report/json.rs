//! The rows as a JSON array of objects (`serde_json`).

use serde_json::{json, Value};

use super::ScenarioReport;

/// A JSON array with one object per row: `id` (the scenario's: `j`, `p64.256.1r`),
/// `scenario`, `implementation`, `ns_per_op`, `ratio`, `allocs_per_op`, `bytes_per_op`.
pub fn render(reports: &[ScenarioReport]) -> String {
    let rows: Vec<Value> = reports
        .iter()
        .flat_map(|report| {
            report.rows.iter().map(|row| {
                json!({
                    "id": report.id,
                    "scenario": report.name,
                    "implementation": row.implementation,
                    "ns_per_op": number(row.ns_per_op, 3),
                    "ratio": number(row.ratio, 4),
                    "allocs_per_op": number(row.allocs_per_op, 4),
                    "bytes_per_op": number(row.bytes_per_op, 4),
                })
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&rows).expect("plain values always serialize");
    text.push('\n');
    text
}

/// `value` rounded to `decimals` places; JSON has no NaN or infinity, so those become `null`.
fn number(value: f64, decimals: i32) -> Value {
    let scale = 10f64.powi(decimals);
    let rounded = (value * scale).round() / scale;
    // `-0.0` prints as `-0.0`: a rounded-away negative is zero.
    Value::from(if rounded == 0.0 { 0.0 } else { rounded })
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_are_rounded_json() {
        assert_eq!(number(1.5, 3).to_string(), "1.5");
        assert_eq!(number(0.123456, 4).to_string(), "0.1235");
        assert_eq!(number(-0.0001, 2).to_string(), "0.0");
        assert_eq!(number(f64::NAN, 3).to_string(), "null");
        assert_eq!(number(f64::INFINITY, 3).to_string(), "null");
    }

    #[test]
    fn names_are_escaped() {
        let text = serde_json::to_string(&serde_json::json!({ "scenario": "a\"b\n" })).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["scenario"], "a\"b\n");
    }
}

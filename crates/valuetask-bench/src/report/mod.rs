//! What a run found, and its renderings: text and markdown tables, a text chart, the target
//! checks, JSON, an SVG chart, and the README section.

pub mod chart;
pub mod json;
pub mod readme;
pub mod svg;
pub mod table;
pub mod targets;

use crate::harness::Measurement;
use crate::scenarios::{Scenario, Target};

/// One implementation's row: its measurement and its ratio to the scenario's peer.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The implementation's name.
    pub implementation: &'static str,
    /// Median nanoseconds per operation.
    pub ns_per_op: f64,
    /// `ns_per_op` divided by the peer's (the peer's own row is 1).
    pub ratio: f64,
    /// Allocations per operation.
    pub allocs_per_op: f64,
    /// Bytes allocated per operation.
    pub bytes_per_op: f64,
}

/// The rows of one scenario, peer first.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioReport {
    /// Short label, `a` to `n64`.
    pub id: &'static str,
    /// What the operation does.
    pub name: &'static str,
    /// The ratio the scenario checks, if it makes a claim.
    pub target: Option<Target>,
    /// One row per implementation; the first is the peer.
    pub rows: Vec<Row>,
}

impl ScenarioReport {
    /// Rows for `measurements` of `scenario`'s implementations (peer first).
    ///
    /// # Panics
    /// If `measurements` is empty.
    pub fn new(scenario: &Scenario, measurements: Vec<Measurement>) -> Self {
        let peer_ns = measurements
            .first()
            .expect("a scenario has at least its peer")
            .ns_per_op;
        let rows = measurements
            .into_iter()
            .map(|m| Row {
                implementation: m.implementation,
                ratio: m.ns_per_op / peer_ns,
                ns_per_op: m.ns_per_op,
                allocs_per_op: m.allocs_per_op,
                bytes_per_op: m.bytes_per_op,
            })
            .collect();
        Self {
            id: scenario.id,
            name: scenario.name,
            target: scenario.target,
            rows,
        }
    }

    /// The peer's row.
    pub fn peer(&self) -> &Row {
        &self.rows[0]
    }

    /// The scenario as labelled in tables and charts: `(a) name`.
    pub fn label(&self) -> String {
        format!("({}) {}", self.id, self.name)
    }
}

/// A count per operation: whole numbers without decimals, others with two.
fn per_op(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

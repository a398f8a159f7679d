//! What a run found, and its renderings: text and markdown tables, a text chart, the target
//! checks, JSON, an SVG chart, and the README section.

pub mod atomics;
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

    /// The ceiling of this run's target as a ratio to the peer, resolved against the rows
    /// measured in this run (a floor, a reference design).
    pub fn target_limit(&self) -> Option<f64> {
        let target = self.target?;
        Some(target.limit(|name| {
            self.rows
                .iter()
                .find(|row| row.implementation == name)
                .map(|row| row.ratio)
        }))
    }

    /// The scenario as labelled in tables and charts: `(a) name`.
    pub fn label(&self) -> String {
        format!("({}) {}", self.id, self.name)
    }
}

/// The machine a run measured, as `lscpu` names it: the CPU model and the cores the process
/// may use. The ratios of the rows whose cost is mostly atomic read-modify-writes depend on
/// it (see the floor rows), so every report says where it was measured.
pub fn host() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} cores")
}

/// A count per operation: whole numbers without decimals, others with two.
fn per_op(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

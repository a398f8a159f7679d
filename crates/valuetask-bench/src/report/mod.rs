//! What a run found, and its renderings: text and markdown tables, a text chart, the target
//! checks, JSON, an SVG chart, the README section, and the targets' ranges over several
//! processes.

pub mod atomics;
pub mod chart;
pub mod grid;
pub mod json;
pub mod readme;
pub mod spread;
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
    /// Time relative to the peer's: the median over rounds of this row's sample divided by
    /// the peer's of the same round (the harness's `paired_ratio`; the peer's own row is 1).
    /// Close to `ns_per_op` over the peer's, but not always equal: see the harness docs.
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
        assert!(!measurements.is_empty(), "a scenario has at least its peer");
        let rows = measurements
            .into_iter()
            .map(|m| Row {
                implementation: m.implementation,
                ratio: m.ratio_to_peer,
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
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    host_from(&cpuinfo, cores)
}

/// [`host`] from the text of `/proc/cpuinfo`: the model name, and on x86 the CPU family and
/// model numbers, which tell generations apart where a virtual machine's model name does
/// not (two guests with the same model name can be different generations, whose floor rows
/// differ: docs/benchmarks.md, "Two kinds of host").
fn host_from(cpuinfo: &str, cores: usize) -> String {
    let field = |key: &str| {
        cpuinfo
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim() == key)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    };
    let model = field("model name").unwrap_or(std::env::consts::ARCH);
    match (field("cpu family"), field("model")) {
        (Some(family), Some(number)) => {
            format!("{model} (family {family}, model {number}), {cores} cores")
        }
        _ => format!("{model}, {cores} cores"),
    }
}

/// A count per operation: whole numbers without decimals, others with two.
pub(crate) fn per_op(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::host_from;

    #[test]
    fn the_host_names_the_model_and_on_x86_its_family_and_model_numbers() {
        let epyc = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n\
                    model\t\t: 2\nmodel name\t: AMD EPYC\nstepping\t: 1\n";
        assert_eq!(host_from(epyc, 2), "AMD EPYC (family 26, model 2), 2 cores");
        let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n";
        assert_eq!(
            host_from(arm, 4),
            format!("{}, 4 cores", std::env::consts::ARCH)
        );
    }
}

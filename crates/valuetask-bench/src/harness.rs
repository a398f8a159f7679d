//! The measurement harness: a counted pass for allocations, then interleaved timed samples.
//!
//! For each scenario:
//!
//! 1. **Warm-up and calibration.** Each implementation runs batches of doubling size until
//!    one batch takes a quarter of the sample time and the warm-up time has passed; the batch
//!    size is then scaled so one sample lasts about [`Settings::sample_time`].
//! 2. **Counted pass.** Each implementation runs [`Settings::counted_ops`] operations with
//!    the counting allocator on; allocations and bytes divided by the operation count are
//!    deterministic for single-threaded rows (rows with worker threads may show fractions).
//! 3. **Timed samples.** In round `r` every implementation runs one batch, starting with
//!    implementation `r mod n` and rotating, so machine drift hits them all alike. The
//!    reported time is the median of the per-sample ns/op.

use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::alloc_counter;

/// How long and how often to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Timed samples per implementation.
    pub samples: usize,
    /// Target duration of one sample (one batch).
    pub sample_time: Duration,
    /// Minimum time each implementation runs before calibration ends.
    pub warm_up: Duration,
    /// Operations in the counted allocation pass.
    pub counted_ops: u64,
}

impl Settings {
    /// The default run: about a second per scenario.
    pub const FULL: Settings = Settings {
        samples: 31,
        sample_time: Duration::from_millis(5),
        warm_up: Duration::from_millis(200),
        counted_ops: 100_000,
    };

    /// `--quick`: a rough look in well under a second per scenario.
    pub const QUICK: Settings = Settings {
        samples: 7,
        sample_time: Duration::from_millis(1),
        warm_up: Duration::from_millis(20),
        counted_ops: 10_000,
    };
}

/// One implementation of a scenario's operation, ready to run in batches.
pub struct Implementation {
    name: &'static str,
    /// Runs the operation `n` times, inputs and outputs behind `black_box`.
    batch: Box<dyn FnMut(u64)>,
}

impl Implementation {
    /// An implementation named `name` whose operation maps an input to an output.
    ///
    /// The batch loop is compiled per operation, so the only dynamic call is once per batch.
    pub fn new(name: &'static str, mut op: impl FnMut(u64) -> u64 + 'static) -> Self {
        Self {
            name,
            batch: Box::new(move |n| {
                for i in 0..n {
                    black_box(op(black_box(i)));
                }
            }),
        }
    }

    /// An implementation whose whole batch is one call of `batch(n)`, which runs the
    /// operation `n` times itself and returns a value that depends on every result: for
    /// operations that need per-batch setup (tasks that live across the batch's operations).
    pub fn batched(name: &'static str, mut batch: impl FnMut(u64) -> u64 + 'static) -> Self {
        Self {
            name,
            batch: Box::new(move |n| {
                black_box(batch(black_box(n)));
            }),
        }
    }

    /// The name shown in the report.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Run the operation `n` times, untimed: the batch loop this harness times, for another
    /// harness to time (`benches/cross_check.rs`; the binary itself does not call it).
    #[allow(dead_code)]
    pub fn run_batch(&mut self, n: u64) {
        (self.batch)(n);
    }

    fn run(&mut self, n: u64) -> Duration {
        let start = Instant::now();
        (self.batch)(n);
        start.elapsed()
    }
}

impl fmt::Debug for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Implementation")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What was measured for one implementation.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The implementation's name.
    pub implementation: &'static str,
    /// Median over the samples of nanoseconds per operation.
    pub ns_per_op: f64,
    /// Allocations per operation, from the counted pass.
    pub allocs_per_op: f64,
    /// Bytes allocated per operation, from the counted pass.
    pub bytes_per_op: f64,
}

/// Measure every implementation of one scenario, in the order given.
pub fn measure(implementations: &mut [Implementation], settings: &Settings) -> Vec<Measurement> {
    let batch_sizes: Vec<u64> = implementations
        .iter_mut()
        .map(|imp| calibrate(imp, settings))
        .collect();

    let allocations: Vec<alloc_counter::Allocations> = implementations
        .iter_mut()
        .map(|imp| alloc_counter::count(|| (imp.batch)(settings.counted_ops)))
        .collect();

    let n = implementations.len();
    let mut samples = vec![Vec::with_capacity(settings.samples); n];
    for round in 0..settings.samples {
        for k in 0..n {
            let i = (round + k) % n;
            let elapsed = implementations[i].run(batch_sizes[i]);
            samples[i].push(elapsed.as_secs_f64() * 1e9 / batch_sizes[i] as f64);
        }
    }

    implementations
        .iter()
        .zip(samples)
        .zip(allocations)
        .map(|((imp, samples), allocs)| Measurement {
            implementation: imp.name,
            ns_per_op: median(samples),
            allocs_per_op: allocs.count as f64 / settings.counted_ops as f64,
            bytes_per_op: allocs.bytes as f64 / settings.counted_ops as f64,
        })
        .collect()
}

/// Warm `imp` up and return the batch size for one sample of about `settings.sample_time`.
fn calibrate(imp: &mut Implementation, settings: &Settings) -> u64 {
    let started = Instant::now();
    let mut n = 1u64;
    loop {
        let elapsed = imp.run(n);
        let long_enough = elapsed >= settings.sample_time / 4;
        if long_enough && started.elapsed() >= settings.warm_up {
            let scale = settings.sample_time.as_secs_f64() / elapsed.as_secs_f64();
            return ((n as f64 * scale).round() as u64).max(1);
        }
        if !long_enough {
            n = n.saturating_mul(2);
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count).
///
/// # Panics
/// If `values` is empty.
fn median(mut values: Vec<f64>) -> f64 {
    assert!(!values.is_empty(), "no samples to take the median of");
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}

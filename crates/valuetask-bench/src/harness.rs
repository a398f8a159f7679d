//! The measurement harness: a counted pass for allocations, then interleaved timed samples,
//! taken in passes spread over the whole run.
//!
//! For each scenario:
//!
//! 1. **Warm-up and calibration** ([`Run::prepare`]). Each implementation runs batches of
//!    doubling size until one batch takes a quarter of the sample time and the warm-up time
//!    has passed; the batch size is then scaled so one sample lasts about
//!    [`Settings::sample_time`].
//! 2. **Counted pass** (also in [`Run::prepare`]). Each implementation runs
//!    [`Settings::counted_ops`] operations with the counting allocator on; allocations and
//!    bytes divided by the operation count are deterministic for single-threaded rows (rows
//!    with worker threads may show fractions).
//! 3. **Timed samples** ([`Run::sample`]), in [`Settings::passes`] passes: the caller takes
//!    one pass over every scenario before the next, so a scenario's samples come from as many
//!    stretches of the run, seconds apart. A host whose speed changes for seconds at a time
//!    (shared virtual machines have windows in which plain instructions and atomics run
//!    slower, by different factors) then slows a third of a scenario's samples
//!    instead of all or none of them, depending on when the scenario came up. A pass starts
//!    with one untimed batch of each implementation, to warm what the other scenarios
//!    evicted. In round `r` every implementation runs one batch, starting with implementation
//!    `r mod n` and rotating (across passes), so drift within a pass hits them all alike.
//! 4. **The result** ([`Run::finish`]): each row's time, the median of every pass's
//!    per-sample ns/op; and its ratio to the peer (the scenario's first row), the median over
//!    rounds of the row's sample divided by the peer's sample of the same round
//!    ([`paired_ratio`]). A round's batches run back to back, so a change of the host's or
//!    the runtime's speed between rounds divides out. The quotient of the two medians does
//!    not: where samples fall in two clusters (a runtime row whose first rounds of a pass are
//!    faster than the rest, both implementations alike), which cluster each median lands in
//!    hangs on a sample or two, and the quotient of medians swings between processes while
//!    the paired ratio holds (the test below replays such a run).

use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long and how often to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Timed samples per implementation, over all passes (a multiple of `passes`).
    pub samples: usize,
    /// Passes over the scenarios that the samples are split into (see the module docs).
    pub passes: usize,
    /// Target duration of one sample (one batch).
    pub sample_time: Duration,
    /// Minimum time each implementation runs before calibration ends.
    pub warm_up: Duration,
    /// Operations in the counted allocation pass.
    pub counted_ops: u64,
}

impl Settings {
    /// The default run: about a second per scenario, in three passes.
    pub const FULL: Settings = Settings {
        samples: 33,
        passes: 3,
        sample_time: Duration::from_millis(5),
        warm_up: Duration::from_millis(200),
        counted_ops: 100_000,
    };

    /// `--quick`: a rough look in well under a second per scenario.
    pub const QUICK: Settings = Settings {
        samples: 7,
        passes: 1,
        sample_time: Duration::from_millis(1),
        warm_up: Duration::from_millis(20),
        counted_ops: 10_000,
    };

    /// Timed samples per implementation in one pass.
    ///
    /// # Panics
    /// If the samples do not split into `passes` equal passes.
    pub fn samples_per_pass(&self) -> usize {
        assert!(
            self.passes > 0 && self.samples % self.passes == 0,
            "{} samples do not split into {} equal passes",
            self.samples,
            self.passes
        );
        self.samples / self.passes
    }
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
    /// Time relative to the scenario's peer (its first implementation): the median of the
    /// per-round quotients ([`paired_ratio`]); exactly 1 for the peer itself.
    pub ratio_to_peer: f64,
    /// Allocations per operation, from the counted pass.
    pub allocs_per_op: f64,
    /// Bytes allocated per operation, from the counted pass.
    pub bytes_per_op: f64,
}

/// One scenario's measurement in progress: its implementations calibrated and counted, and
/// the timed samples taken so far.
#[derive(Debug)]
pub struct Run {
    batch_sizes: Vec<u64>,
    allocations: Vec<alloc_count::Counts>,
    /// Per implementation, ns/op of each timed sample.
    samples: Vec<Vec<f64>>,
    /// Rounds taken so far, over every pass: where the rotation of the next round starts.
    rounds: usize,
}

impl Run {
    /// Warm up and calibrate every implementation, then count its allocations.
    pub fn prepare(implementations: &mut [Implementation], settings: &Settings) -> Self {
        let batch_sizes: Vec<u64> = implementations
            .iter_mut()
            .map(|imp| calibrate(imp, settings))
            .collect();
        let allocations = implementations
            .iter_mut()
            .map(|imp| alloc_count::count(|| (imp.batch)(settings.counted_ops)))
            .collect();
        Self {
            batch_sizes,
            allocations,
            samples: vec![Vec::with_capacity(settings.samples); implementations.len()],
            rounds: 0,
        }
    }

    /// One pass: an untimed batch of each implementation, then `rounds` timed rounds of one
    /// batch each, rotated as the module docs say.
    ///
    /// # Panics
    /// If `implementations` are not the ones this run was prepared with.
    pub fn sample(&mut self, implementations: &mut [Implementation], rounds: usize) {
        let n = implementations.len();
        assert_eq!(
            n,
            self.batch_sizes.len(),
            "a run sampled with other implementations"
        );
        for (imp, &batch) in implementations.iter_mut().zip(&self.batch_sizes) {
            imp.run(batch);
        }
        for round in self.rounds..self.rounds + rounds {
            for k in 0..n {
                let i = (round + k) % n;
                let elapsed = implementations[i].run(self.batch_sizes[i]);
                self.samples[i].push(elapsed.as_secs_f64() * 1e9 / self.batch_sizes[i] as f64);
            }
        }
        self.rounds += rounds;
    }

    /// What was measured: per implementation, the median of its samples, its ratio to the
    /// peer (the first implementation) and its allocations.
    ///
    /// # Panics
    /// If no pass was taken.
    pub fn finish(
        self,
        implementations: &[Implementation],
        settings: &Settings,
    ) -> Vec<Measurement> {
        let peer = self.samples[0].clone();
        implementations
            .iter()
            .zip(self.samples)
            .zip(self.allocations)
            .enumerate()
            .map(|(i, ((imp, samples), allocs))| Measurement {
                implementation: imp.name,
                ratio_to_peer: if i == 0 {
                    1.0
                } else {
                    paired_ratio(&peer, &samples)
                },
                ns_per_op: median(samples),
                allocs_per_op: allocs.allocations as f64 / settings.counted_ops as f64,
                bytes_per_op: allocs.bytes as f64 / settings.counted_ops as f64,
            })
            .collect()
    }
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

/// The median over rounds of `row[k] / peer[k]`: the time of a row relative to its peer's,
/// each round's samples compared with each other (they ran back to back), so that a change of
/// speed between rounds, which moves both, divides out.
///
/// # Panics
/// If the two have different numbers of samples, or none.
fn paired_ratio(peer: &[f64], row: &[f64]) -> f64 {
    assert_eq!(
        peer.len(),
        row.len(),
        "a row and its peer are sampled in the same rounds"
    );
    median(peer.iter().zip(row).map(|(p, r)| r / p).collect())
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
    use super::{median, paired_ratio, Implementation, Run, Settings};
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    /// Each pass warms every implementation once, untimed, and its rounds continue the
    /// rotation where the last pass left it; the result has every pass's samples.
    #[test]
    fn passes_warm_up_then_continue_the_rotation() {
        let settings = Settings {
            samples: 4,
            passes: 2,
            sample_time: Duration::from_micros(1),
            warm_up: Duration::ZERO,
            counted_ops: 1,
        };
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut implementations: Vec<Implementation> = ["p", "q", "r"]
            .into_iter()
            .map(|name| {
                let log = log.clone();
                Implementation::batched(name, move |n| {
                    log.borrow_mut().push(name);
                    n
                })
            })
            .collect();
        let mut run = Run::prepare(&mut implementations, &settings);
        log.borrow_mut().clear();
        for _ in 0..settings.passes {
            run.sample(&mut implementations, settings.samples_per_pass());
        }
        let order: String = log.borrow().concat();
        // Pass 1: warm p q r, then rounds 0 and 1; pass 2: warm p q r, then rounds 2 and 3.
        assert_eq!(order, ["pqr", "pqr", "qrp", "pqr", "rpq", "pqr"].concat());
        let measured = run.finish(&implementations, &settings);
        assert_eq!(measured.len(), 3);
        assert!(measured.iter().all(|m| m.ns_per_op.is_finite()));
        assert_eq!(measured[0].ratio_to_peer, 1.0, "the peer is its own unit");
        assert!(measured.iter().all(|m| m.ratio_to_peer > 0.0));
    }

    /// (l) as measured in one process (ns/op, by round): both rows fast in the
    /// first rounds of each pass and slow after, with one round fewer fast for `Task::run`.
    /// Its median lands in the slow cluster and the peer's in the fast one, so the quotient
    /// of medians is far from 1; round by round the two are within a few percent, and so is
    /// the paired ratio.
    #[test]
    fn the_paired_ratio_divides_out_a_change_of_speed_that_the_medians_do_not() {
        let spawn = [
            259., 255., 263., 255., 338., 338., 341., 341., 340., 335., 341., 261., 261., 263.,
            257., 260., 262., 328., 338., 335., 345., 344., 258., 256., 256., 258., 250., 257.,
            250., 338., 337., 312., 341.,
        ];
        let run = [
            263., 264., 257., 265., 351., 351., 337., 375., 344., 351., 344., 262., 264., 261.,
            267., 258., 344., 349., 347., 353., 352., 355., 260., 274., 260., 256., 256., 255.,
            313., 339., 342., 339., 357.,
        ];
        let medians = median(run.to_vec()) / median(spawn.to_vec());
        assert!(medians > 1.25, "the quotient of medians: {medians}");
        let paired = paired_ratio(&spawn, &run);
        assert!((1.0..1.05).contains(&paired), "paired: {paired}");
        // With no change of speed the two agree.
        let steady: Vec<f64> = spawn.iter().map(|s| s * 0.5).collect();
        assert_eq!(paired_ratio(&spawn, &steady), 0.5);
        assert_eq!(median(steady) / median(spawn.to_vec()), 0.5);
    }

    #[test]
    #[should_panic(expected = "sampled in the same rounds")]
    fn a_paired_ratio_needs_a_sample_per_round_of_each() {
        paired_ratio(&[1.0, 2.0], &[1.0]);
    }

    #[test]
    #[should_panic(expected = "5 samples do not split into 2 equal passes")]
    fn samples_must_split_into_equal_passes() {
        let settings = Settings {
            samples: 5,
            passes: 2,
            ..Settings::QUICK
        };
        settings.samples_per_pass();
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}

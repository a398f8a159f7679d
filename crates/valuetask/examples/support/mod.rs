//! What the examples share: a counting global allocator, argument parsing that fails with a
//! one-line message and exit status 2, and a progress line.

#![allow(dead_code)] // each example uses part of it

use std::io::Write;
use std::str::FromStr;

/// Counts every allocation in the process (all threads): install with
/// `#[global_allocator] static ALLOCATOR: CountingAllocator = CountingAllocator::PROCESS;`.
pub use alloc_count::CountingAllocator;

/// Allocations so far, process-wide.
pub fn allocations() -> u64 {
    alloc_count::process_counts().allocations
}

/// `--name value` options, each with a default; `--help` prints `usage`. Bad input prints one
/// line naming the problem and exits with status 2.
pub struct Args {
    program: &'static str,
    usage: &'static str,
    args: Vec<String>,
}

impl Args {
    pub fn from_env(program: &'static str, usage: &'static str) -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|a| a == "-h" || a == "--help") {
            println!("usage: {program} {usage}");
            std::process::exit(0);
        }
        let known = usage
            .split_whitespace()
            .filter(|w| w.starts_with("[--"))
            .map(|w| w.trim_start_matches('['))
            .collect::<Vec<_>>();
        let mut i = 0;
        while i < args.len() {
            if !known.contains(&args[i].as_str()) {
                fail(
                    program,
                    &format!("unknown argument `{}` (usage: {program} {usage})", args[i]),
                );
            }
            // A value is a number here: a name where it should be means it is missing.
            if i + 1 >= args.len() || known.contains(&args[i + 1].as_str()) {
                fail(program, &format!("`{}` needs a value", args[i]));
            }
            i += 2;
        }
        Args {
            program,
            usage,
            args,
        }
    }

    /// The value of `--name`, parsed, or `default`; `check` refuses values out of range with
    /// the reason it returns.
    pub fn get<T: FromStr>(
        &self,
        name: &str,
        default: T,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> T {
        let _ = self.usage;
        // Names at even positions only (`from_env` checked the pairs).
        let Some(pair) = self.args.chunks(2).find(|pair| pair[0] == name) else {
            return default;
        };
        let raw = &pair[1];
        let value = raw.parse::<T>().unwrap_or_else(|_| {
            fail(
                self.program,
                &format!("`{name} {raw}`: not {}", expected::<T>()),
            )
        });
        if let Err(why) = check(&value) {
            fail(self.program, &format!("`{name} {raw}`: {why}"));
        }
        value
    }
}

/// What a value of `T` is, in words, for an argument that did not parse as one.
fn expected<T>() -> String {
    match std::any::type_name::<T>() {
        "u16" => "a whole number from 0 to 65535".to_string(),
        "u32" | "u64" | "usize" => "a whole number".to_string(),
        "f64" | "f32" => "a number".to_string(),
        other => format!("a valid {other}"),
    }
}

/// Print `program: message` on stderr and exit with status 2 (bad input).
pub fn fail(program: &str, message: &str) -> ! {
    eprintln!("{program}: {message}");
    std::process::exit(2);
}

/// A progress line on stderr, rewritten in place: `label: done/total (pct%)`.
pub fn progress(label: &str, done: u64, total: u64) {
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r{label}: {done}/{total} ({pct}%)");
    if done >= total {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

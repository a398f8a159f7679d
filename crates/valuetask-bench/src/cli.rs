//! Command-line options.

use std::path::PathBuf;

/// Usage text for `--help` and argument errors.
pub const USAGE: &str = "\
usage: valuetask-bench [--quick] [--only IDS] [--markdown] [--json PATH] [--svg PATH] [--readme PATH] [--benchmarks PATH]
       valuetask-bench --processes N [--quick] [--only IDS]
       valuetask-bench --ops ID N

Measures valuetask against its peers and prints a table and the target checks. A missed
target is reported, not an error: the exit status is non-zero only for bad arguments, a
file that cannot be written, or a process of --processes that failed.

  --quick        fewer, shorter samples (a rough look in a few seconds)
  --only IDS     measure only these scenarios, e.g. `--only h,j` (for profiling; not with
                 --readme, whose table must show every row)
  --markdown     also print the table (and the payload grid) as markdown
  --json PATH    write the rows as a JSON array to PATH
  --svg PATH     write a bar chart of the ratios to PATH
  --readme PATH  replace the headline table between the valuetask-bench markers in PATH
  --benchmarks PATH
                 replace the full table and target checks between the markers in PATH
                 (docs/benchmarks.md)
  --processes N  measure in N fresh processes, one after another, then print each
                 target's range over them and in how many it passed (a target holds on
                 a machine when it holds in every process); not with the options that
                 print or write tables
  --checks-out PATH
                 write the target checks as tab-separated lines to PATH (what each
                 process of --processes hands back)
  --ops ID N     run scenario ID's valuetask operation (the one its target checks;
                 `ID@K` for its implementation K, 0 being the peer, which a scenario
                 without a target needs) N times, untimed, and exit:
                 under callgrind, two runs' difference over the difference of their N is
                 the instructions (and, with --cache-sim=yes, the writes) per
                 operation, which no host's noise moves
  -h, --help     print this help";

/// What the command line asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Fewer, shorter samples.
    pub quick: bool,
    /// Scenario ids to measure; empty means all.
    pub only: Vec<String>,
    /// Print a markdown table too.
    pub markdown: bool,
    /// Where to write the JSON rows.
    pub json: Option<PathBuf>,
    /// Where to write the SVG chart.
    pub svg: Option<PathBuf>,
    /// The README whose headline table to regenerate.
    pub readme: Option<PathBuf>,
    /// The benchmarks page whose full table to regenerate.
    pub benchmarks: Option<PathBuf>,
    /// Measure in this many fresh processes and summarize their targets.
    pub processes: Option<usize>,
    /// Where to write the target checks as tab-separated lines.
    pub checks_out: Option<PathBuf>,
}

impl Options {
    /// The arguments a process of `--processes` runs with: the same measurement, one run.
    pub fn child_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.quick {
            args.push("--quick".to_string());
        }
        if !self.only.is_empty() {
            args.push("--only".to_string());
            args.push(self.only.join(","));
        }
        args
    }
}

/// The outcome of parsing the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Measure with these options.
    Run(Options),
    /// Run one scenario's valuetask operation `count` times, untimed, and exit: the run to
    /// count instructions per operation under callgrind (two counts, their difference).
    Ops {
        /// The scenario's id.
        id: String,
        /// How many operations.
        count: u64,
    },
    /// Print the usage text.
    Help,
}

impl Command {
    /// Parse the arguments after the program name; `Err` carries the message to print.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        Self::parse_lexopt(lexopt::Parser::from_args(args)).map_err(|e| e.to_string())
    }

    fn parse_lexopt(mut parser: lexopt::Parser) -> Result<Self, lexopt::Error> {
        use lexopt::prelude::*;
        let mut options = Options::default();
        let mut ops = None;
        while let Some(arg) = parser.next()? {
            match arg {
                Long("quick") => options.quick = true,
                Long("markdown") => options.markdown = true,
                Long("only") => {
                    let ids: String = parser.value()?.parse()?;
                    options.only = ids.split(',').map(str::to_string).collect();
                }
                Long("json") => options.json = Some(path(&mut parser, "--json")?),
                Long("svg") => options.svg = Some(path(&mut parser, "--svg")?),
                Long("readme") => options.readme = Some(path(&mut parser, "--readme")?),
                Long("benchmarks") => options.benchmarks = Some(path(&mut parser, "--benchmarks")?),
                Long("checks-out") => options.checks_out = Some(path(&mut parser, "--checks-out")?),
                Long("processes") => {
                    options.processes = Some(at_least_one("--processes", parser.value()?)?)
                }
                Long("ops") => {
                    let id: String = parser.value()?.parse()?;
                    let count = at_least_one("--ops", parser.value()?)?;
                    ops = Some((id, count as u64));
                }
                Short('h') | Long("help") => return Ok(Command::Help),
                _ => return Err(arg.unexpected()),
            }
        }
        if let Some((id, count)) = ops {
            return Ok(Command::Ops { id, count });
        }
        if !options.only.is_empty() && (options.readme.is_some() || options.benchmarks.is_some()) {
            return Err(
                "--only cannot be used with --readme or --benchmarks: they show every row".into(),
            );
        }
        if options.processes.is_some() {
            let one_run_only = [
                ("--markdown", options.markdown),
                ("--json", options.json.is_some()),
                ("--svg", options.svg.is_some()),
                ("--readme", options.readme.is_some()),
                ("--benchmarks", options.benchmarks.is_some()),
                ("--checks-out", options.checks_out.is_some()),
            ];
            if let Some((flag, _)) = one_run_only.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "--processes cannot be used with {flag}: it prints one run's table or \
                     writes one run's files"
                )
                .into());
            }
        }
        Ok(Command::Run(options))
    }
}

/// A path: a value that is not empty and is not the next option (`--json --quick` is a
/// missing path, not a file named `--quick`).
fn path(parser: &mut lexopt::Parser, flag: &str) -> Result<PathBuf, lexopt::Error> {
    let value = parser.value()?;
    if value.is_empty() || value.to_string_lossy().starts_with("--") {
        return Err(format!("{flag} needs a path").into());
    }
    Ok(value.into())
}

/// A count of at least 1, or an error naming `flag` and what it was given.
pub fn at_least_one(flag: &str, value: std::ffi::OsString) -> Result<usize, lexopt::Error> {
    let text = value.to_string_lossy();
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{flag} needs a count of at least 1, not `{text}`").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Command, Options};

    fn parse(args: &[&str]) -> Result<Command, String> {
        Command::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_and_paths() {
        let expected = Options {
            quick: true,
            only: vec![],
            markdown: false,
            json: Some("bench.json".into()),
            svg: Some("bench.svg".into()),
            readme: Some("README.md".into()),
            benchmarks: None,
            processes: None,
            checks_out: None,
        };
        assert_eq!(
            parse(&[
                "--quick",
                "--json",
                "bench.json",
                "--svg=bench.svg",
                "--readme",
                "README.md"
            ]),
            Ok(Command::Run(expected))
        );
        assert!(parse(&["--json"]).is_err());
        assert!(parse(&["--json", "--quick"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        match parse(&["--only", "h,j"]) {
            Ok(Command::Run(options)) => assert_eq!(options.only, ["h", "j"]),
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse(&["--only", "h", "--readme", "README.md"]).is_err());
        assert!(parse(&["--only", "h", "--benchmarks", "b.md"]).is_err());
        match parse(&["--benchmarks", "docs/benchmarks.md"]) {
            Ok(Command::Run(options)) => {
                assert_eq!(options.benchmarks, Some("docs/benchmarks.md".into()))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn processes_take_a_count_and_pass_on_the_measurement_alone() {
        match parse(&["--processes", "5", "--quick", "--only", "f,n16"]) {
            Ok(Command::Run(options)) => {
                assert_eq!(options.processes, Some(5));
                assert_eq!(options.child_args(), ["--quick", "--only", "f,n16"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        for bad in ["0", "five", "-1"] {
            let message = parse(&["--processes", bad]).unwrap_err();
            assert!(message.contains("--processes"), "{message}");
        }
        let message = parse(&["--processes", "3", "--readme", "README.md"]).unwrap_err();
        assert!(message.contains("--readme"), "{message}");
        assert_eq!(
            parse(&["--ops", "h", "1000"]),
            Ok(Command::Ops {
                id: "h".into(),
                count: 1000
            })
        );
        let message = parse(&["--ops", "h", "0"]).unwrap_err();
        assert!(message.contains("--ops"), "{message}");
        assert!(parse(&["--ops", "h"]).is_err());
        assert!(parse(&["--processes=2", "--json", "x.json"]).is_err());
        match parse(&["--checks-out", "checks.tsv"]) {
            Ok(Command::Run(options)) => {
                assert_eq!(options.checks_out, Some("checks.tsv".into()))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

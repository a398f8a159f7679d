//! Command-line options.

use std::path::PathBuf;

/// Usage text for `--help` and argument errors.
pub const USAGE: &str = "\
usage: valuetask-bench [--quick] [--only IDS] [--markdown] [--json PATH] [--svg PATH] [--readme PATH] [--benchmarks PATH]
       valuetask-bench --processes N [--quick] [--only IDS]

Measures valuetask against its peers and prints a table and the target checks.

  --quick        fewer, shorter samples (a rough look in about a second)
  --only IDS     measure only these scenarios, e.g. `--only h,j` (for profiling; not with
                 --readme, whose table must show every row)
  --markdown     also print the table as markdown
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
    /// Print the usage text.
    Help,
}

impl Command {
    /// Parse the arguments after the program name; `Err` carries the message to print.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut options = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline_value) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
                _ => (arg.as_str(), None),
            };
            let mut value = || {
                inline_value
                    .clone()
                    .or_else(|| args.next())
                    .filter(|value| !value.is_empty() && !value.starts_with("--"))
                    .map(PathBuf::from)
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag {
                "--quick" if inline_value.is_none() => options.quick = true,
                "--markdown" if inline_value.is_none() => options.markdown = true,
                "--only" => {
                    let ids = value()?;
                    options.only = ids
                        .to_string_lossy()
                        .split(',')
                        .map(str::to_string)
                        .collect();
                }
                "--json" => options.json = Some(value()?),
                "--svg" => options.svg = Some(value()?),
                "--readme" => options.readme = Some(value()?),
                "--benchmarks" => options.benchmarks = Some(value()?),
                "--checks-out" => options.checks_out = Some(value()?),
                "--processes" => {
                    let count = value()?;
                    let count = count.to_string_lossy();
                    options.processes = match count.parse::<usize>() {
                        Ok(n) if n >= 1 => Some(n),
                        _ => {
                            return Err(format!(
                                "--processes needs a count of at least 1, not `{count}`"
                            ))
                        }
                    };
                }
                "-h" | "--help" => return Ok(Command::Help),
                _ => return Err(format!("unexpected argument `{arg}`")),
            }
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
                ));
            }
        }
        Ok(Command::Run(options))
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
        assert!(parse(&["--processes=2", "--json", "x.json"]).is_err());
        match parse(&["--checks-out", "checks.tsv"]) {
            Ok(Command::Run(options)) => {
                assert_eq!(options.checks_out, Some("checks.tsv".into()))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

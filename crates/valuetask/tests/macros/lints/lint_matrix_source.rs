//! Writes `tests/macros/lints/lint_matrix.rs`, the lint matrix of `#[value_task]`'s expansion, and
//! checks that the file on disk is what it writes: a change to the matrix goes here, and
//! `VALUETASK_BLESS=1 cargo test -p valuetask --test macros lint_matrix_source` rewrites the file.
//!
//! The matrix is a file of its own, not a `macro_rules!` expansion, because clippy skips most
//! code that comes from a macro: only shapes the user could have written show what warns.

use std::fmt::Write as _;

/// Where a method lives.
#[derive(Clone, Copy)]
enum Place {
    /// A provided method of a trait.
    TraitDefault,
    /// A required method, written in the impl.
    TraitImpl,
    /// A free function.
    Free,
    /// An inherent method.
    Inherent,
}

impl Place {
    const ALL: [Place; 4] = [
        Place::TraitDefault,
        Place::TraitImpl,
        Place::Free,
        Place::Inherent,
    ];

    fn prefix(self) -> &'static str {
        match self {
            Place::TraitDefault => "provided",
            Place::TraitImpl => "required",
            Place::Free => "free",
            Place::Inherent => "inherent",
        }
    }
}

/// What a body does.
#[derive(Clone, Copy)]
enum Body {
    /// `{}`.
    Empty,
    /// Statements, no value.
    Unit,
    /// A value.
    Value,
    /// Only diverges (a test double).
    Diverging,
    /// Returns early with `?`.
    Question,
    /// `return` in the middle.
    Return,
}

impl Body {
    const ALL: [Body; 6] = [
        Body::Empty,
        Body::Unit,
        Body::Value,
        Body::Diverging,
        Body::Question,
        Body::Return,
    ];

    fn name(self) -> &'static str {
        match self {
            Body::Empty => "empty",
            Body::Unit => "unit",
            Body::Value => "value",
            Body::Diverging => "diverging",
            Body::Question => "question",
            Body::Return => "early_return",
        }
    }

    /// The signature after the name (receiver `recv` included when not empty).
    fn signature(self, recv: &str) -> String {
        let sep = if recv.is_empty() { "" } else { ", " };
        match self {
            Body::Empty => format!("({recv})"),
            Body::Unit => format!("({recv}{sep}n: u32)"),
            Body::Value | Body::Return => format!("({recv}{sep}n: u32) -> u32"),
            Body::Diverging => format!("({recv}{sep}n: u32) -> u32"),
            Body::Question => format!("({recv}{sep}text: &str) -> Result<u32, ParseIntError>"),
        }
    }

    /// The body; `awaits` puts an `.await` first.
    fn body(self, awaits: bool, diverge_with: &str) -> String {
        let wait = if awaits { "ready(()).await;" } else { "" };
        match self {
            Body::Empty if awaits => format!("{{ {wait} }}"),
            Body::Empty => "{}".to_owned(),
            Body::Unit => format!("{{ {wait} black_box(n); }}"),
            Body::Value => format!("{{ {wait} n + 1 }}"),
            Body::Diverging => format!("{{ {wait} {diverge_with}(\"n = {{n}}\") }}"),
            Body::Question => {
                format!("{{ {wait} let n: u32 = text.parse()?; Ok(n + 1) }}")
            }
            Body::Return => format!("{{ {wait} if n > 3 {{ return n; }} n + 1 }}"),
        }
    }

    /// Checks the call `call` (a value task) gives what the body computes.
    fn check(self, call: &str, args: &str) -> String {
        match self {
            Body::Empty => format!("{call}({}).get_result();", args.trim_end_matches(", ")),
            Body::Unit => format!("{call}({args}2).get_result();"),
            Body::Value => format!("assert_eq!({call}({args}2).get_result(), 3);"),
            Body::Return => format!(
                "assert_eq!({call}({args}2).get_result(), 3); \
                 assert_eq!({call}({args}5).get_result(), 5);"
            ),
            Body::Question => format!(
                "assert_eq!({call}({args}\"2\").get_result(), Ok(3)); \
                 assert!({call}({args}\"x\").get_result().is_err());"
            ),
            Body::Diverging => {
                format!("assert!(catch_unwind(AssertUnwindSafe(|| {call}({args}2).get_result())).is_err());")
            }
        }
    }
}

/// The attribute's options.
#[derive(Clone, Copy)]
enum Flavor {
    Send,
    Local,
    Boxed,
    Lazy,
}

impl Flavor {
    const ALL: [Flavor; 4] = [Flavor::Send, Flavor::Local, Flavor::Boxed, Flavor::Lazy];

    fn module(self) -> &'static str {
        match self {
            Flavor::Send => "send",
            Flavor::Local => "local",
            Flavor::Boxed => "boxed",
            Flavor::Lazy => "lazy",
        }
    }

    fn attribute(self) -> &'static str {
        match self {
            Flavor::Send => "#[value_task]",
            Flavor::Local => "#[value_task(?Send)]",
            Flavor::Boxed => "#[value_task(boxed)]",
            Flavor::Lazy => "#[value_task(lazy)]",
        }
    }
}

/// Each diverging body uses another of the macros test doubles use (`todo!` and
/// `unimplemented!` expand as `panic!` does; clippy exempts `todo!` from the lint).
fn diverge_with(place: Place, flavor: Flavor) -> &'static str {
    const MACROS: [&str; 2] = ["unreachable!", "panic!"];
    MACROS[(place as usize + flavor as usize) % MACROS.len()]
}

fn method_name(place: Place, body: Body, awaits: bool) -> String {
    let suffix = if awaits { "_await" } else { "" };
    format!("{}_{}{suffix}", place.prefix(), body.name())
}

fn shapes() -> impl Iterator<Item = (Body, bool)> {
    Body::ALL
        .into_iter()
        .flat_map(|body| [false, true].map(|awaits| (body, awaits)))
}

fn module(flavor: Flavor) -> String {
    let attr = flavor.attribute();
    let bounds = if matches!(flavor, Flavor::Local) {
        ""
    } else {
        ": Send + Sync"
    };
    let mut trait_items = String::new();
    let mut impl_items = String::new();
    let mut inherent_items = String::new();
    let mut free_items = String::new();
    let mut checks = String::new();
    for (body, awaits) in shapes() {
        for place in Place::ALL {
            let name = method_name(place, body, awaits);
            let diverge = diverge_with(place, flavor);
            let code = body.body(awaits, diverge);
            match place {
                Place::TraitDefault => {
                    let sig = body.signature("&self");
                    writeln!(trait_items, "        async fn {name}{sig} {code}").unwrap();
                    let check = body.check(&format!("shapes.{name}"), "");
                    writeln!(checks, "        {check}").unwrap();
                }
                Place::TraitImpl => {
                    let sig = body.signature("&self");
                    writeln!(trait_items, "        async fn {name}{sig};").unwrap();
                    writeln!(impl_items, "        async fn {name}{sig} {code}").unwrap();
                    let check = body.check(&format!("shapes.{name}"), "");
                    writeln!(checks, "        {check}").unwrap();
                }
                Place::Free => {
                    let sig = body.signature("");
                    writeln!(free_items, "    {attr}\n    async fn {name}{sig} {code}").unwrap();
                    writeln!(checks, "        {}", body.check(&name, "")).unwrap();
                }
                Place::Inherent => {
                    let sig = body.signature("&self");
                    writeln!(
                        inherent_items,
                        "        {attr}\n        async fn {name}{sig} {code}"
                    )
                    .unwrap();
                    let check = body.check(&format!("Impl::{name}"), "&Impl, ");
                    writeln!(checks, "        {check}").unwrap();
                }
            }
        }
    }
    for extra in EXTRAS {
        for awaits in [false, true] {
            if extra.always_awaits && !awaits {
                continue;
            }
            let wait = if awaits && !extra.always_awaits {
                "ready(()).await;"
            } else {
                ""
            };
            let suffix = if awaits && !extra.always_awaits {
                "_await"
            } else {
                ""
            };
            let name = format!("{}{suffix}", extra.name);
            let sig = extra.signature;
            let code = format!("{{ {wait} {} }}", extra.body);
            let check = extra.check.replace("{m}", &name);
            if extra.free {
                writeln!(free_items, "    {attr}\n    async fn {name}{sig} {code}").unwrap();
            } else {
                writeln!(trait_items, "        async fn {name}{sig};").unwrap();
                writeln!(impl_items, "        async fn {name}{sig} {code}").unwrap();
            }
            writeln!(checks, "        {check}").unwrap();
        }
    }
    let module = flavor.module();
    format!(
        "mod {module} {{
    use super::{{
        black_box, catch_unwind, ready, value_task, AssertUnwindSafe, Display, Error,
        ParseIntError,
    }};

    {attr}
    trait Shapes{bounds} {{
{trait_items}    }}

    struct Impl;

    {attr}
    impl Shapes for Impl {{
{impl_items}    }}

    impl Impl {{
{inherent_items}    }}

{free_items}
    #[allow(clippy::too_many_lines)] // The test's own code: one check per shape.
    pub(super) fn run() {{
        let shapes: &dyn Shapes = &Impl;
{checks}    }}
}}
"
    )
}

/// Shapes beyond the matrix's axes: generic methods, `impl Trait` arguments, `Self` in the
/// output, closures, patterns, conversions by `?`, borrowed outputs, a forwarding body and a
/// `-> !` function. `{m}` in `check` is the method's name.
struct Extra {
    name: &'static str,
    signature: &'static str,
    body: &'static str,
    check: &'static str,
    /// A free function (otherwise a required trait method and its impl).
    free: bool,
    /// The body awaits by itself (only one variant).
    always_awaits: bool,
}

const EXTRAS: &[Extra] = &[
    Extra {
        name: "generic",
        signature: "<T: Display + Send + Sync>(&self, value: T) -> String where Self: Sized",
        body: "value.to_string()",
        check: r#"assert_eq!(Impl.{m}(4).get_result(), "4");"#,
        free: false,
        always_awaits: false,
    },
    Extra {
        name: "impl_argument",
        signature: "(&self, value: impl Display + Send) -> String where Self: Sized",
        body: "format!(\"<{value}>\")",
        check: r#"assert_eq!(Impl.{m}(4).get_result(), "<4>");"#,
        free: false,
        always_awaits: false,
    },
    Extra {
        name: "make",
        signature: "(n: u32) -> Self where Self: Sized",
        body: "black_box(n); Impl",
        check: "let Impl = Impl::{m}(1).get_result();",
        free: false,
        always_awaits: false,
    },
    Extra {
        name: "closures",
        signature: "(&self, n: u32) -> u32",
        body: "let add = |x: u32| x + n; (0..3).map(add).sum()",
        check: "assert_eq!(shapes.{m}(1).get_result(), 6);",
        free: false,
        always_awaits: false,
    },
    Extra {
        name: "nested_async",
        signature: "(&self, n: u32) -> u32",
        body: "let inner = async move { n * 2 }; inner.await + 1",
        check: "assert_eq!(shapes.{m}(2).get_result(), 5);",
        free: false,
        always_awaits: true,
    },
    Extra {
        name: "pattern",
        signature: "((a, mut b): (u32, u32)) -> u32",
        body: "b += a; b",
        check: "assert_eq!({m}((1, 2)).get_result(), 3);",
        free: true,
        always_awaits: false,
    },
    Extra {
        name: "converted_error",
        signature: "(&self, text: &str) -> Result<u32, Box<dyn Error + Send + Sync>>",
        body: "let n: u32 = text.parse()?; if n == 0 { return Err(\"zero\".into()); } Ok(n)",
        check: r#"assert_eq!(shapes.{m}("2").get_result().ok(), Some(2)); assert!(shapes.{m}("0").get_result().is_err());"#,
        free: false,
        always_awaits: false,
    },
    Extra {
        name: "borrowed",
        signature: "<'a>(&'a self, items: &'a [u32]) -> Option<&'a u32>",
        body: "items.first()",
        check: "assert_eq!(shapes.{m}(&[7]).get_result(), Some(&7));",
        free: false,
        always_awaits: false,
    },
    Extra {
        name: "forwarding",
        signature: "(&self, n: u32) -> u32",
        body: "self.required_value(n).await",
        check: "assert_eq!(shapes.{m}(2).get_result(), 3);",
        free: false,
        always_awaits: true,
    },
    Extra {
        name: "never",
        signature: "(reason: &str) -> !",
        body: "panic!(\"{reason}\")",
        check: r#"assert!(catch_unwind(|| {m}("stop").get_result()).is_err());"#,
        free: true,
        always_awaits: false,
    },
    Extra {
        name: "mutable",
        signature: "(mut n: u32, text: &mut String) -> usize",
        body: "n += 1; text.push_str(&n.to_string()); text.len()",
        check: "let mut text = String::new(); assert_eq!({m}(1, &mut text).get_result(), 1);",
        free: true,
        always_awaits: false,
    },
];

const HEADER: &str = r#"//! Generated by `tests/macros/lints/lint_matrix_source.rs`; do not edit (see there).
//!
//! `#[value_task]`'s expansion is lint-clean: every body shape {empty, unit, value,
//! diverging, `?`, `return`} × {with `.await`, without} × {provided trait method, impl method,
//! free fn, inherent method} × {`Send`, `?Send`, `boxed`, `lazy`}, and the shapes in
//! `EXTRAS` there (generic methods, `impl Trait` arguments, `Self` outputs, closures,
//! patterns, `?` conversions, borrowed outputs, forwarding bodies, `-> !`), compiles with rustc's
//! warnings and clippy's default and pedantic groups denied (CI runs clippy with `-D warnings`
//! over the tests, with the `stats` feature and without), and each gives what its body
//! computes. Only what the user wrote may warn.

#![forbid(unsafe_code)]
#![deny(warnings, rust_2018_idioms, clippy::all, clippy::pedantic)]

use std::error::Error;
use std::fmt::Display;
use std::future::ready;
use std::hint::black_box;
use std::num::ParseIntError;
use std::panic::{catch_unwind, AssertUnwindSafe};

use valuetask::value_task;

"#;

const FOOTER: &str = r#"
#[test]
fn every_shape_gives_what_its_body_computes() {
    send::run();
    local::run();
    boxed::run();
    lazy::run();
}
"#;

/// The file, formatted by `rustfmt` (the toolchain's, as `cargo fmt` runs it).
fn generate() -> String {
    let mut out = HEADER.to_owned();
    for flavor in Flavor::ALL {
        out.push_str(&module(flavor));
        out.push('\n');
    }
    out.push_str(FOOTER.trim_start_matches('\n'));
    rustfmt(&out)
}

fn rustfmt(source: &str) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut child = Command::new(rustfmt)
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run rustfmt (rustup component add rustfmt)");
    child
        .stdin
        .take()
        .expect("rustfmt's stdin")
        .write_all(source.as_bytes())
        .expect("write to rustfmt");
    let output = child.wait_with_output().expect("rustfmt's output");
    assert!(
        output.status.success(),
        "rustfmt failed on the generated matrix"
    );
    String::from_utf8(output.stdout).expect("rustfmt's output is UTF-8")
}

#[test]
fn matrix_file_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/macros/lints/lint_matrix.rs"
    );
    let expected = generate();
    if std::env::var_os("VALUETASK_BLESS").is_some() {
        std::fs::write(path, &expected).expect("write the lint matrix");
        return;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{path} is not what tests/macros/lints/lint_matrix_source.rs writes: \
         rerun with VALUETASK_BLESS=1"
    );
}

// Mistake: `const async fn` under #[value_task]. Without the attribute rustc says "functions
// cannot be both `const` and `async`"; the attribute drops `async`, leaving a `const fn`
// whose rewritten body calls non-const helpers.
// A good error says a `const async fn` cannot be made a value task (or rustc's own "cannot be
// both `const` and `async`"), pointing at `const`, not at the body, and without naming
// `macro_support::call_once` / `ValueTask::start`.
use valuetask::value_task;

#[value_task]
const async fn answer() -> u8 {
    42
}

struct S;

#[value_task]
impl S {
    const async fn later(&self) -> u8 {
        valuetask::yield_now().await;
        1
    }
}

fn main() {
    let _ = answer;
    let _ = S::later;
}

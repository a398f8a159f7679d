//! Without the `stats` feature no counting code is compiled: the `count!` that wraps every
//! `#[value_task]` body is its argument, unchanged. Shown at compile time: it can initialize a
//! `const`, which a counted call (a `static` site and a call to `Site::count`) cannot.
//! (`.ci/run` runs this file without the feature; the README's test command enables every
//! feature, where it is empty.)
#![cfg(not(feature = "stats"))]

use valuetask::{value_task, ValueTask};

const COUNTED: u8 = valuetask::count!("answer", 42);
const SUPPORT: u8 = valuetask::macro_support::count!("answer", 7);

#[value_task]
async fn answer() -> u8 {
    COUNTED
}

#[test]
fn count_is_its_argument_and_methods_still_work() {
    assert_eq!(COUNTED, 42);
    assert_eq!(SUPPORT, 7);
    let vt: ValueTask<'_, u8> = answer();
    assert_eq!(vt.get_result(), 42);
}

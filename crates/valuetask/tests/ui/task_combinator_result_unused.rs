// Mistake: calling a function whose returned task is its only effect, and dropping the task
// (`Task::delay(d);` waits for nothing; .NET warns about it too, CS4014). Functions that
// build without feature `tokio` only: the compile-fail cases run in both builds.
// The errors: "unused return value of `...` that must be used" at each call.
#![deny(unused_must_use)]

use valuetask::Task;

fn main() {
    Task::<u8>::when_all([Task::from_result(1)]);
    Task::from_result(Task::from_result(1u8)).flatten();
}

// Mistake: `async extern "C" fn` under #[value_task]. The attribute turns it into an
// `extern "C" fn` returning `ValueTask<'value_task, u32>`, a Rust-layout type that cannot
// cross a C ABI (at most a warn-by-default `improper_ctypes_definitions` lint).
// The error names the function and points at `extern "C"`.
use valuetask::value_task;

#[value_task]
pub async extern "C" fn on_event(code: u32) -> u32 {
    code + 1
}

fn main() {
    let _ = on_event;
}

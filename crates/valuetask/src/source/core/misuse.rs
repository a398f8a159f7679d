//! The panics that name a misuse of a core: each says what was wrong and what to do instead.

#[cold]
#[track_caller]
pub(super) fn already_completed(method: &str, version: u32) -> ! {
    let instead = format!("try_{method}");
    panic!(
        "ManualResetValueTaskSourceCore::{method}: version {version} was already completed; \
         complete once per generation (reset starts the next; {instead} races safely)"
    )
}

#[cold]
#[track_caller]
pub(super) fn taken_twice(token: u32) -> ! {
    panic!(
        "ManualResetValueTaskSourceCore::poll_result: the result of version {token} was already \
         taken; a generation's result is taken once (reset starts the next generation, whose \
         value_task() takes the next result)"
    )
}

#[cold]
#[track_caller]
pub(super) fn second_consumer(token: u32) -> ! {
    panic!(
        "ManualResetValueTaskSourceCore::poll_result: a second value task awaits version \
         {token}, whose result another value task is waiting for; a generation has one \
         consumer (await the first, or share it with as_task())"
    )
}

#[cold]
#[track_caller]
pub(super) fn wrong_token(method: &str, token: u32, version: u32) -> ! {
    // Versions wrap at `u32::MAX`: a token within half the range behind the version is stale.
    let when = if version.wrapping_sub(token) <= u32::MAX / 2 {
        "stale (from an earlier generation)"
    } else {
        "from the future (never handed out)"
    };
    panic!(
        "ManualResetValueTaskSourceCore::{method}: token {token} does not match the current \
         version {version}; the token is {when}"
    )
}

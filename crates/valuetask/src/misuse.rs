//! Every misuse of every public type, what it gets (a compile error, a panic that names the
//! mistake, or a defined value; never undefined behaviour, a hang the library could have
//! prevented, or a wrong value) and the test that shows it (paths under `crates/valuetask/`).
//! No .NET counterpart (documentation only): the nearest is the list of operations .NET's
//! `ValueTask<TResult>` docs say must never be performed on a value task (await twice, await
//! concurrently, `GetResult()` before completion).
//!
//! # `ValueTask`, `LocalValueTask`
//!
//! | misuse | what happens | shown by |
//! |---|---|---|
//! | await twice (.NET: undefined) | does not compile: awaiting moves it (E0382) | `tests/ui/await_value_task_twice.rs`, the [guide](crate::guide)'s `compile_fail` |
//! | await concurrently, clone it | does not compile: it is not `Clone` (E0599); share with [`as_task`](crate::ValueTask::as_task) | `tests/ui/value_task_is_not_clone.rs` |
//! | `GetResult()` before completion | [`get_result`](crate::ValueTask::get_result) blocks until it is done; [`try_get`](crate::ValueTask::try_get) hands it back | `tests/blocking_waits.rs`, the guide |
//! | poll again, through `&mut`, after the await that resumed a body's kept panic was caught | panic: "a value task whose body panicked at the call was polled again after its panic resumed" | `tests/panics_at_the_call.rs` |
//! | poll again after it yielded (it is `Unpin`, so `Pin::new(&mut vt)` allows it), or `get_result`/`try_get`/`as_task`/`into_task`/`preserve`/`when_all`/`when_any` of such a one | panic: "… on a value task that already yielded its value (it was polled to completion)" | `tests/value_task_backings.rs`, `tests/when_all_any.rs`, `tests/preserve.rs` |
//! | stored in a field and awaited after its source was reset (a stale token) | panic naming both versions (see below), never another generation's result | `tests/source_core.rs` (`stale_and_future_tokens_panic_naming_both_versions`), the guide |
//! | a `LocalValueTask` sent to another thread | does not compile (`!Send`, E0277) | [`LocalValueTask`](crate::LocalValueTask)'s `compile_fail` example |
//! | `get_result` on the thread of a current-thread runtime (`#[tokio::test]`'s default), for work on that runtime: its spawned tasks, its timers and I/O (a `tokio::time::sleep` inside the value task's future) | never returns (that runtime cannot run while its thread is blocked), as in .NET; await there. Not turned into a panic: the awaited work may run on another runtime or thread, where such a wait is fine, and the wait cannot tell which | `tests/blocking_waits.rs` (`a_wait_on_a_current_thread_runtime_for_work_on_it_does_not_return`, with `wait_timeout`) |
//! | `as_task` of a value task over a shared source (`from_arc_source`) that never completes, every handle of the task dropped | the source holds the bridge's waker and the bridge the source: neither is freed (.NET's collector frees both), as a `TaskCompletionSource` kept by its own continuation; anything that wakes the waker ends it (a completion, a core's `reset`, whose stale token faults the task) | `tests/value_task_backings.rs` (`an_as_task_bridge_and_a_source_that_never_completes_keep_each_other_until_woken`) |
//! | a future too large for the pool (over 4,080 bytes, its output over 4,064, or either aligned to more than 16) given to `ValueTask::new` / `start` | kept in a plain box instead: one allocation per call, same behaviour | `tests/future_pool.rs` |
//!
//! # `ManualResetValueTaskSourceCore` and your `ValueTaskSource`s over it
//!
//! | misuse | what happens | shown by |
//! |---|---|---|
//! | `set_*` twice in one generation | panic: "version N was already completed; complete once per generation"; `try_set_*` hands the value back instead | `tests/source_core.rs` (the panic), `tests/model_sources.rs` (`try_set_*`) |
//! | a token from an earlier generation (used after `reset`) or one never handed out | panic: "token T does not match the current version V (stale / from the future)" | `tests/source_core.rs`, `tests/model_sources.rs` |
//! | take the result twice | panic: "the result of version N was already taken" | `tests/source_core.rs`, `tests/model_sources.rs` |
//! | a consumer's waker whose clone panics when dropped, polled as the result lands | the poll panics with the result untaken; the next poll takes it (a pooled slot then recycles as usual) | `tests/source_core.rs`, `tests/completion_pool.rs` (`a_waker_clone_that_panics_when_dropped_leaves_a_landed_result_to_the_next_poll`) |
//! | two value tasks of one generation both awaiting (.NET throws on a second continuation) | panic: "a second value task awaits version N, whose result another value task is waiting for", at the second one's poll, whether it registers or finds the result the first was woken for (the first still takes it); a value task dropped while it waits, or woken and dropped untaken, is no longer one of them (its registration goes with it; through a user's source, when the source forwards `withdraw` to the core); a consumer polling `poll_result` by hand is not identified and is not refused: only the latest waker is woken, as the `Future` contract allows | `tests/source_core.rs` (`a_second_value_task_of_one_generation_panics_when_it_registers`, `a_second_value_task_polled_after_the_completion_panics_and_the_first_gets_the_result`) |
//! | `reset` while a consumer still waits | the waiter is woken and its next poll panics on the stale token | `tests/model_sources.rs` |
//! | a source whose `poll_result` yields through tokio (`tokio::task::yield_now`) more than once, bridged by `as_task` (or code a synchronous continuation of it runs that does: a `get_result` of a future that yields so) | tokio defers the bridge's wake-up to its scheduler, which wakes its deferred wakers with their list borrowed; the bridge polls the source inside that wake-up, and a second tokio yield there panics inside tokio ("already borrowed"): the task faults with that panic (a tokio limit: its deferred wake-ups expect no waker to run code). Yield with [`valuetask::yield_now`](crate::yield_now) there, which wakes at once | `tests/blocking_waits.rs` (`a_bridged_source_yielding_twice_through_tokio_faults_where_valuetask_yield_now_completes`) |
//!
//! ```should_panic
//! let core = valuetask::ManualResetValueTaskSourceCore::<u8>::new();
//! core.set_result(1);
//! core.set_result(2); // panics: version 0 was already completed
//! ```
//!
//! # `CompletionPool`, `Completer`
//!
//! | misuse | what happens | shown by |
//! |---|---|---|
//! | the completer dropped without completing | the value task yields `Err(TaskError::Abandoned)` (a oneshot's `RecvError`) | `tests/completion_pool.rs`, `tests/model_sources.rs` |
//! | the completer leaked (`mem::forget`, an `Rc` cycle) | the value task stays pending: nothing can tell a leaked completer from a slow one (a leaked `oneshot::Sender` does the same); bound the wait | the `Completer` docs |
//! | complete twice | does not compile: completing consumes the `Completer` (E0382) | `tests/ui/completer_completed_twice.rs` |
//! | the value task dropped before the result | the completer still completes; the slot is recycled by whichever side finishes last ([`Completer::is_closed`](crate::Completer::is_closed) tells the completer, [`Completer::closed`](crate::Completer::closed) wakes it) | `tests/completion_pool.rs` |
//! | the last `CompletionPool` handle dropped while slots are out | the slots finish normally and are freed instead of pooled (one taken on a thread whose cache holds that pool's slots stays there, with them, until that cache flushes: at most 32) | `tests/completion_pool.rs` |
//!
//! # `Task`, `TaskCompletionSource`
//!
//! | misuse | what happens | shown by |
//! |---|---|---|
//! | `set_*` twice | panic: "the task was already completed; a task completes exactly once (use try_* when completers race)" | `tests/completion_source.rs` |
//! | every source dropped without completing (.NET: pending forever) | the task ends `Err(TaskError::Abandoned)`, waking its awaiters; unawaited, that fault reaches the unobserved-error hook as any fault does (with no handle of the task left when the last source drops, nothing is reported: nobody could observe it; the library's own handles, a `cancel_on` or `wait_async` watcher's, do not count) | `tests/completion_source.rs`, `tests/model_task.rs` |
//! | a source leaked (`mem::forget`), or kept by the task's own continuation (a cycle: the task holds the continuation, the continuation the source) | the task stays pending, as in .NET: a source that is never dropped is never counted gone | the [`TaskCompletionSource`](crate::TaskCompletionSource) docs |
//! | fault with an empty `TaskError::Aggregate` | `try_set_error` hands it back, `set_error` panics: "an empty TaskError::Aggregate names no failure" | `tests/completion_source.rs` |
//! | `set_*` after a token given to `cancel_on` fired | panic, as any second completion: use `try_set_*` once a token may fire | `tests/cancellation_watchers.rs` |
//! | `Task::wait` inside the task's own continuation, or on a current-thread runtime's thread for work on it | never returns, as in .NET (nothing else can complete it); `wait_timeout` bounds it. On a multi-thread tokio worker and on the continuation thread the wait moves the thread's queued work elsewhere first, so waiting for work the same thread queued does complete; inside a wake-up that a worker's timer or I/O driver runs (a synchronous continuation of a task a bridged source completes there), where tokio cannot move it, the wait blocks the thread as it is, and a wait there for that runtime's timers or I/O, or for a task spawned from there, never returns (so too in such a continuation run inside a task polled through `tokio::task::unconstrained`: tokio tells the two places apart by no test but the budget) | `tests/blocking_waits.rs` (never returns on a current-thread runtime, bounded by `wait_timeout`), `tests/continuations.rs` (the waits that complete), `tests/blocking_waits.rs` (`a_wait_in_a_continuation_run_by_a_timer_wake_up_on_a_worker_ends`) |
//! | `Task::wait` (or `get_result`) inside a current-thread runtime's `block_on` that entered a multi-thread runtime's handle | completes: tokio refuses to block in place there with a panic, which the wait catches and waits on this thread instead; the panic hook still runs for it, and with `panic = "abort"` the process aborts (tokio offers no test to ask first) | `tests/run_on_tokio.rs` (`a_wait_inside_a_current_thread_block_on_with_a_multi_thread_handle_entered_completes`) |
//! | `when_any` of nothing | panic: "no tasks given; there is nothing to wait for" (.NET: `ArgumentException`) | `tests/when_all_any.rs` |
//! | a panic in a future given to `Task::run` or `as_task`, or in its `Drop` | the task faults with `TaskError::Panicked`; the process never aborts for it | `tests/run_on_tokio.rs`, `tests/value_task_backings.rs` |
//! | a waker that panics in `wake` | every other awaiter is still woken; the completing call (`set_*`) resumes the panic once all are (with `Continuations::Asynchronous` the continuation thread wakes them and discards the panic: `set_*` returns normally); inside `token.cancel()` (`cancel_on`, `run_with_cancellation`) it is discarded, so the token's other waiters are woken too | `tests/task_awaiters.rs`, `tests/run_on_tokio.rs` (`a_panicking_waker_of_a_canceled_task_does_not_stop_the_token_waking_the_rest`) |
//! | another waiter's waker that panics in `wake` while a token is canceled | tokio's `cancel()` panics there and drops the token's later waiters unwoken, valuetask's watchers among them: a task that `cancel_on`, `run_with_cancellation` or `continue_with_cancellation` ties to that token may stay pending (a tokio limit; valuetask's own wakers never panic there); its source, if kept, still completes it | `tests/cancellation_continuations.rs` (`a_waker_panicking_inside_cancel_leaves_the_watchers_after_it_unwoken`) |
//! | the last handles of tasks whose values panic when dropped, given to `when_all` or `when_any` | freed one at a time, each panic discarded: the process never aborts for them | `tests/when_all_any.rs` |
//! | a faulted task nobody observed | the unobserved-error hook, when its last handle drops ([`set_unobserved_error_hook`](crate::set_unobserved_error_hook)) | `tests/unobserved_faults.rs` |
//!
//! # `#[value_task]`
//!
//! Misplaced or conflicting options are compile errors naming the mistake (`?Send` or
//! `crate = ..` on one method, `boxed` or `lazy` given twice or both, `boxed`/`lazy` on a
//! trait method without a body, a receiver that is not `Send`, an attribute on something other
//! than a trait, an impl or an `async fn`: `tests/ui/value_task_on_a_non_async_fn.rs`);
//! `tests/ui/` holds one case per error.

//! (o) A `dyn` call whose body awaits an answer another task gives: the shape of a
//! connection pool's validity check, whose body asks a connection task and waits for its
//! reply. On a current-thread tokio runtime, the body signals the responder task (a tokio
//! `Notify`) and awaits its reply (another `Notify`); the responder answers as soon as the
//! caller's task yields. `#[value_task]` against `#[async_trait]`, the same body, the same
//! responder.
//!
//! A box polls the body twice for the one suspension (the caller's first poll registers the
//! caller's waker with the reply, the second completes); a value task runs the body to its
//! suspension at the call, with the first poll's waker, and the caller's first poll polls it
//! again to register the caller's: three polls, two registrations with the `Notify`.
//! `#[value_task(lazy)]`, whose body runs at the caller's first poll, polls it as the box
//! does: the reference for any design that saves the third poll (it cannot poll less).
//!
//! The floor row calls the same body statically, as an inherent `async fn` of the concrete
//! type awaited in place: no erasure, no box, no pooled block. Every `dyn` form runs that body
//! and its polls, and adds its erasure; a target below the floor is out of any form's reach.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::runtime::Runtime;
use tokio::sync::Notify;
use valuetask::value_task;

use crate::harness::Implementation;
use crate::scenarios::{Scenario, Target, ASYNC_TRAIT, VALUE_TASK_ATTR};

/// The two signals between a caller's body and the responder task, and the answer.
#[derive(Debug, Default)]
pub struct Connection {
    request: Notify,
    reply: Notify,
    answer: AtomicU64,
}

/// `async-trait`: a box per call.
#[async_trait::async_trait]
pub trait BoxedCheck: Send + Sync {
    async fn check(&self, id: u64) -> u64;
}

/// `#[value_task]`: no allocation per call in steady state.
#[value_task]
pub trait PooledCheck: Send + Sync {
    async fn check(&self, id: u64) -> u64;
}

/// `#[value_task(lazy)]`: the body runs at the caller's first poll, as a box's does (the
/// reference for what polling the body as a box does costs a value task).
#[value_task]
pub trait LazyCheck: Send + Sync {
    async fn check(&self, id: u64) -> u64;
}

/// A checker of one connection, behind the three traits and called statically (the floor).
#[derive(Debug, Clone)]
pub struct Checker(Arc<Connection>);

/// The body, written once and expanded under each attribute, and as the floor's inherent
/// method (`impl Checker`, no trait: the floor row's static call).
macro_rules! check_impl {
    ($(#[$attr:meta])* impl [$($head:tt)*]) => {
        $(#[$attr])*
        impl $($head)* {
            async fn check(&self, id: u64) -> u64 {
                self.0.request.notify_one();
                self.0.reply.notified().await;
                self.0.answer.load(Ordering::Relaxed) ^ id
            }
        }
    };
}

check_impl!(impl [Checker]);

check_impl!(
    #[async_trait::async_trait]
    impl [BoxedCheck for Checker]
);
check_impl!(
    #[value_task]
    impl [PooledCheck for Checker]
);
check_impl!(
    #[value_task(lazy)]
    impl [LazyCheck for Checker]
);

/// Answers every request on `connection` until aborted.
async fn respond(connection: Arc<Connection>) {
    loop {
        connection.request.notified().await;
        connection.answer.fetch_add(1, Ordering::Relaxed);
        connection.reply.notify_one();
    }
}

/// A batch of `n` checks through `checker` (an `Arc<dyn …Check>`), awaited one after another
/// in one task on `rt` (current-thread), with a responder task on `connection` for the batch.
macro_rules! batch {
    ($rt:expr, $checker:expr, $connection:expr, $n:expr) => {{
        let checker = Arc::clone($checker);
        let connection = Arc::clone($connection);
        $rt.block_on(async move {
            let responder = tokio::spawn(respond(connection));
            let mut sum = 0u64;
            for i in 0..$n {
                sum = sum.wrapping_add(checker.check(i).await);
            }
            responder.abort();
            sum
        })
    }};
}

/// The reference implementation's name: the body polled only by the caller, as a box's.
const LAZY: &str = "#[value_task(lazy)]";

/// The floor row's name: the same body, called statically.
const FLOOR: &str = "floor: the body called statically";

/// (o): the check through `dyn BoxedCheck` and through `dyn PooledCheck`, each on its own
/// current-thread runtime with its own responder. Target: at most 0.95× of `#[async_trait]`.
pub fn scenario() -> Scenario {
    let boxed_connection = Arc::new(Connection::default());
    let pooled_connection = Arc::new(Connection::default());
    let boxed: Arc<dyn BoxedCheck> = Arc::new(Checker(Arc::clone(&boxed_connection)));
    let pooled: Arc<dyn PooledCheck> = Arc::new(Checker(Arc::clone(&pooled_connection)));
    let lazy_connection = Arc::new(Connection::default());
    let lazy: Arc<dyn LazyCheck> = Arc::new(Checker(Arc::clone(&lazy_connection)));
    let floor_connection = Arc::new(Connection::default());
    let floor = Arc::new(Checker(Arc::clone(&floor_connection)));
    let boxed_rt = current_thread();
    let pooled_rt = current_thread();
    let lazy_rt = current_thread();
    let floor_rt = current_thread();
    Scenario::new(
        "o",
        "dyn async trait call awaiting an answer from another task (current-thread tokio)",
        vec![
            Implementation::batched(ASYNC_TRAIT, move |n| {
                batch!(boxed_rt, &boxed, &boxed_connection, n)
            }),
            Implementation::batched(VALUE_TASK_ATTR, move |n| {
                batch!(pooled_rt, &pooled, &pooled_connection, n)
            }),
            Implementation::batched(LAZY, move |n| batch!(lazy_rt, &lazy, &lazy_connection, n)),
            Implementation::batched(FLOOR, move |n| {
                batch!(floor_rt, &floor, &floor_connection, n)
            }),
        ],
        Some(Target::peer(VALUE_TASK_ATTR, 0.95)),
    )
}

fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread tokio runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All four get the responder's answers, one per check, in order.
    #[test]
    fn every_check_gets_every_answer() {
        let rt = current_thread();
        let boxed_connection = Arc::new(Connection::default());
        let pooled_connection = Arc::new(Connection::default());
        let boxed: Arc<dyn BoxedCheck> = Arc::new(Checker(Arc::clone(&boxed_connection)));
        let pooled: Arc<dyn PooledCheck> = Arc::new(Checker(Arc::clone(&pooled_connection)));
        let expected: u64 = (0..100u64).map(|i| (i + 1) ^ i).fold(0, u64::wrapping_add);
        assert_eq!(batch!(rt, &boxed, &boxed_connection, 100u64), expected);
        assert_eq!(batch!(rt, &pooled, &pooled_connection, 100u64), expected);
        let lazy_connection = Arc::new(Connection::default());
        let lazy: Arc<dyn LazyCheck> = Arc::new(Checker(Arc::clone(&lazy_connection)));
        assert_eq!(batch!(rt, &lazy, &lazy_connection, 100u64), expected);
        let floor_connection = Arc::new(Connection::default());
        let floor = Arc::new(Checker(Arc::clone(&floor_connection)));
        assert_eq!(batch!(rt, &floor, &floor_connection, 100u64), expected);
    }
}

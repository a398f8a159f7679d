//! What the side-by-side `#[async_trait]` / `#[value_task]` tests share: the macros that
//! expand a module's `shape!` under both attributes, and `settle`, which takes the result of
//! a call under either.

#![allow(dead_code, unused_macros)]

use std::future::Future;
use std::pin::Pin;

use futures::executor::block_on;

/// The enclosing module's `shape!` expanded under each attribute, as the modules
/// `with_async_trait` and `with_value_task`.
macro_rules! under_both_attributes {
    () => {
        mod with_async_trait {
            shape!(async_trait::async_trait);
        }

        mod with_value_task {
            shape!(valuetask::value_task);
        }
    };
}

/// The same, with `?Send` on both attributes.
macro_rules! under_both_local_attributes {
    () => {
        mod with_async_trait {
            shape!(async_trait::async_trait(?Send));
        }

        mod with_value_task {
            shape!(valuetask::value_task(?Send));
        }
    };
}

/// The result of a method call: `.get_result()` on a value task, `block_on` on async-trait's
/// boxed future.
pub trait Settle {
    type Output;
    fn settle(self) -> Self::Output;
}

impl<T> Settle for valuetask::ValueTask<'_, T> {
    type Output = T;
    fn settle(self) -> T {
        self.get_result()
    }
}

impl<T> Settle for valuetask::LocalValueTask<'_, T> {
    type Output = T;
    fn settle(self) -> T {
        self.get_result()
    }
}

impl<T> Settle for Pin<Box<dyn Future<Output = T> + Send + '_>> {
    type Output = T;
    fn settle(self) -> T {
        block_on(self)
    }
}

impl<T> Settle for Pin<Box<dyn Future<Output = T> + '_>> {
    type Output = T;
    fn settle(self) -> T {
        block_on(self)
    }
}

/// Take the result of a call under either attribute.
pub fn settle<S: Settle>(task: S) -> S::Output {
    task.settle()
}

//! `#[value_task(crate = path)]`: the expansion names the `valuetask` crate by the given path,
//! for crates that re-export valuetask to users who do not depend on it directly.
//!
//! The path here is a stand-in module whose `ValueTask` is a distinct wrapper type, so a
//! method compiled against `::valuetask` instead would return the wrong type and this file
//! would not compile.

use std::future::Future;
use valuetask::value_task;

/// What a re-exporting crate provides under its own path (here a wrapper, to tell it apart).
mod shim {
    use std::future::Future;

    pub use valuetask::{macro_support, value_task};

    pub struct ValueTask<'a, T>(pub valuetask::ValueTask<'a, T>, pub &'static str);

    impl<'a, T> ValueTask<'a, T> {
        pub fn start(future: impl Future<Output = T> + Send + 'a) -> Self {
            ValueTask(valuetask::ValueTask::start(future), "start")
        }
        pub fn from_result(value: T) -> Self {
            ValueTask(valuetask::ValueTask::from_result(value), "from_result")
        }
        pub fn boxed(future: impl Future<Output = T> + Send + 'a) -> Self {
            ValueTask(valuetask::ValueTask::boxed(future), "boxed")
        }
    }
}

#[value_task(crate = crate::shim)]
trait Service: Send + Sync {
    async fn ready(&self, x: u32) -> u32;
    async fn suspending(&self, x: u32) -> u32;
    async fn boxed(&self, x: u32) -> u32;
}

struct Doubler;

#[value_task(crate = "crate::shim")]
impl Service for Doubler {
    async fn ready(&self, x: u32) -> u32 {
        x * 2
    }
    async fn suspending(&self, x: u32) -> u32 {
        tokio::task::yield_now().await;
        x * 2
    }
    #[value_task(boxed)]
    async fn boxed(&self, x: u32) -> u32 {
        tokio::task::yield_now().await;
        x * 2
    }
}

/// A method with an attribute macro is rewritten in a second stage, named by the path too.
struct Traced;

#[value_task(crate = crate::shim)]
impl Traced {
    #[tracing::instrument(skip(self))]
    async fn traced(&self, x: u32) -> u32 {
        tokio::task::yield_now().await;
        x * 3
    }

    // The method attribute may name the macro by a path as well.
    #[crate::shim::value_task(boxed)]
    #[tracing::instrument(skip(self))]
    async fn traced_boxed(&self, x: u32) -> u32 {
        tokio::task::yield_now().await;
        x * 3
    }
}

#[value_task(crate = crate::shim)]
async fn free(x: u32) -> u32 {
    std::future::ready(x + 1).await
}

fn run<T>(vt: shim::ValueTask<'_, T>) -> (T, &'static str) {
    (futures::executor::block_on(vt.0), vt.1)
}

#[test]
fn every_expansion_names_the_given_crate_path() {
    let service: &dyn Service = &Doubler;
    assert_eq!(run(service.ready(2)), (4, "from_result"));
    assert_eq!(run(service.suspending(3)), (6, "start"));
    assert_eq!(run(service.boxed(4)), (8, "boxed"));
    assert_eq!(run(free(1)), (2, "start"));
    assert_eq!(run(Traced.traced(1)), (3, "start"));
    assert_eq!(run(Traced.traced_boxed(2)), (6, "boxed"));
}

/// The returned type is the one under the path, for `dyn` calls too.
#[test]
fn the_return_type_is_the_one_under_the_path() {
    fn returns_shim<'a>(s: &'a dyn Service) -> impl Future<Output = u32> + 'a {
        let shim::ValueTask(vt, _) = s.ready(5);
        vt
    }
    assert_eq!(futures::executor::block_on(returns_shim(&Doubler)), 10);
}

//! `#[value_task(crate = path)]`: the expansion names the `valuetask` crate by the given path,
//! for crates that re-export valuetask to users who do not depend on it directly.
//!
//! The path here is a stand-in module whose `ValueTask` is a distinct wrapper type, so a
//! method compiled against `::valuetask` instead would return the wrong type and this file
//! would not compile.

use std::future::Future;
use std::rc::Rc;
use valuetask::value_task;

/// What a re-exporting crate provides under its own path (here wrappers that record which
/// constructor built them, to tell them apart).
mod shim {
    use std::future::Future;

    pub use valuetask::value_task;

    pub mod macro_support {
        use std::future::Future;

        pub use valuetask::macro_support::*;

        /// The `stats` advisor's count, which the expansion names by the path too; this
        /// stand-in value task is not counted.
        macro_rules! count {
            ($name:expr, $value_task:expr) => {
                $value_task
            };
        }
        pub(crate) use count;

        /// What bodies that cannot suspend return (shadows the glob's).
        pub fn completed<'a, T>(body: impl FnOnce() -> T) -> super::ValueTask<'a, T> {
            super::ValueTask::from_result(body())
        }

        /// What `?Send` bodies that cannot suspend return (shadows the glob's).
        pub fn completed_local<'a, T>(body: impl FnOnce() -> T) -> super::LocalValueTask<'a, T> {
            super::LocalValueTask::from_result(body())
        }

        /// What suspending bodies are started with (shadows the glob's).
        pub fn start<'a, T, F: Future<Output = T> + Send + 'a>(
            make: impl FnOnce() -> F,
        ) -> super::ValueTask<'a, T> {
            super::ValueTask(valuetask::macro_support::start(make), "start")
        }

        /// What suspending `?Send` bodies are started with (shadows the glob's).
        pub fn start_local<'a, T, F: Future<Output = T> + 'a>(
            make: impl FnOnce() -> F,
        ) -> super::LocalValueTask<'a, T> {
            super::LocalValueTask(valuetask::macro_support::start_local(make), "start")
        }
    }

    pub struct ValueTask<'a, T>(pub valuetask::ValueTask<'a, T>, pub &'static str);

    impl<'a, T> ValueTask<'a, T> {
        pub fn from_result(value: T) -> Self {
            ValueTask(valuetask::ValueTask::from_result(value), "from_result")
        }
        pub fn boxed(future: impl Future<Output = T> + Send + 'a) -> Self {
            ValueTask(valuetask::ValueTask::boxed(future), "boxed")
        }
        pub fn new(future: impl Future<Output = T> + Send + 'a) -> Self {
            ValueTask(valuetask::ValueTask::new(future), "new")
        }
    }

    pub struct LocalValueTask<'a, T>(pub valuetask::LocalValueTask<'a, T>, pub &'static str);

    impl<'a, T> LocalValueTask<'a, T> {
        pub fn from_result(value: T) -> Self {
            LocalValueTask(valuetask::LocalValueTask::from_result(value), "from_result")
        }
        pub fn boxed(future: impl Future<Output = T> + 'a) -> Self {
            LocalValueTask(valuetask::LocalValueTask::boxed(future), "boxed")
        }
    }
}

#[value_task(crate = crate::options::crate_path::shim)]
trait Service: Send + Sync {
    async fn ready(&self, x: u32) -> u32;
    async fn suspending(&self, x: u32) -> u32;
    async fn boxed(&self, x: u32) -> u32;
    async fn lazy(&self, x: u32) -> u32;
}

struct Doubler;

#[value_task(crate = "crate::options::crate_path::shim")]
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
    #[value_task(lazy)]
    async fn lazy(&self, x: u32) -> u32 {
        x * 2
    }
}

/// A method with an attribute macro is rewritten in a second stage, named by the path too.
struct Traced;

#[value_task(crate = crate::options::crate_path::shim)]
impl Traced {
    #[tracing::instrument(skip(self))]
    async fn traced(&self, x: u32) -> u32 {
        tokio::task::yield_now().await;
        x * 3
    }

    // The method attribute may name the macro by a path as well.
    #[crate::options::crate_path::shim::value_task(boxed)]
    #[tracing::instrument(skip(self))]
    async fn traced_boxed(&self, x: u32) -> u32 {
        tokio::task::yield_now().await;
        x * 3
    }
}

#[value_task(crate = crate::options::crate_path::shim)]
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
    assert_eq!(run(service.lazy(5)), (10, "new"));
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

// `crate = path` with `?Send` and `boxed`, on free fns and an inherent impl.

#[value_task(crate = crate::options::crate_path::shim, boxed)]
async fn shim_boxed(x: u32) -> u32 {
    tokio::task::yield_now().await;
    x + 1
}

/// `boxed` changes storage, not timing: a body with no `.await` is a plain call here too.
#[value_task(crate = crate::options::crate_path::shim, boxed)]
async fn shim_boxed_ready(x: u32) -> u32 {
    x + 1
}

#[value_task(?Send, crate = "crate::options::crate_path::shim")]
async fn shim_local(shared: Rc<u32>) -> u32 {
    tokio::task::yield_now().await;
    *shared
}

#[value_task(?Send, crate = crate::options::crate_path::shim)]
async fn shim_local_ready(shared: Rc<u32>) -> u32 {
    *shared + 1
}

#[value_task(?Send, boxed, crate = crate::options::crate_path::shim)]
async fn shim_local_boxed(shared: Rc<u32>) -> u32 {
    tokio::task::yield_now().await;
    *shared * 3
}

struct ShimHost(u32);

#[value_task(crate = crate::options::crate_path::shim)]
impl ShimHost {
    async fn ready(&self) -> u32 {
        self.0
    }

    async fn later(&self, add: u32) -> u32 {
        tokio::task::yield_now().await;
        self.0 + add
    }

    #[value_task(boxed)]
    async fn boxed(&self) -> u32 {
        tokio::task::yield_now().await;
        self.0 * 2
    }

    fn plain(&self) -> u32 {
        self.0
    }
}

fn settle_local<T>(vt: shim::LocalValueTask<'_, T>) -> (T, &'static str) {
    (vt.0.get_result(), vt.1)
}

#[test]
fn crate_path_combined_with_local_and_boxed_on_free_fns_and_an_inherent_impl() {
    assert_eq!(run(shim_boxed(1)), (2, "boxed"));
    assert_eq!(run(shim_boxed_ready(1)), (2, "from_result"));
    assert_eq!(settle_local(shim_local(Rc::new(5))), (5, "start"));
    assert_eq!(
        settle_local(shim_local_ready(Rc::new(5))),
        (6, "from_result")
    );
    assert_eq!(settle_local(shim_local_boxed(Rc::new(5))), (15, "boxed"));
    let host = ShimHost(4);
    assert_eq!(run(host.ready()), (4, "from_result"));
    assert_eq!(run(host.later(1)), (5, "start"));
    assert_eq!(run(host.boxed()), (8, "boxed"));
    assert_eq!(host.plain(), 4);
}

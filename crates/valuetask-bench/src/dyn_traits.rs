//! The same service trait three ways, for the `dyn` call scenarios: `#[async_trait]` (a box
//! per call), `stackfuture::StackFuture` (the future inline in the return value) and
//! `#[value_task]` (pooled storage). Every implementation has the same bodies:
//!
//! - `ready` has no `.await`: `#[value_task]` runs it as a closure, with no future at all;
//! - `cache_hit` has an `.await` on a path the benchmarks never take: a future that completes
//!   in its first poll (`#[value_task]` starts it in pooled storage);
//! - `suspending` suspends once.

use std::hint::black_box;

use stackfuture::StackFuture;
use valuetask::value_task;

use crate::executor::yield_once;

/// The key `cache_hit` misses on (the benchmarks never pass it).
const MISS: u64 = u64::MAX;

/// Bytes `StackFuture` reserves inline for these bodies: the smallest power of two that
/// holds the largest of their futures (40 bytes), as a user sizing it would choose (a
/// larger one moves more bytes a call, which would handicap the peer).
const STACK: usize = 64;

/// `async-trait`: returns `Pin<Box<dyn Future + Send + '_>>`.
#[async_trait::async_trait]
pub trait BoxedService: Send + Sync {
    async fn ready(&self, key: u64) -> u64;
    async fn cache_hit(&self, key: u64) -> u64;
    async fn suspending(&self, key: u64) -> u64;
}

/// `StackFuture`: the future is stored in the returned value, up to `STACK` bytes.
pub trait StackService: Send + Sync {
    fn ready(&self, key: u64) -> StackFuture<'_, u64, STACK>;
    fn cache_hit(&self, key: u64) -> StackFuture<'_, u64, STACK>;
    fn suspending(&self, key: u64) -> StackFuture<'_, u64, STACK>;
}

/// Not async at all: `ready`'s body as a plain method returning `u64` (in a register). The
/// floor of a `dyn` call for (h): no future, no return value in memory.
pub trait PlainService: Send + Sync {
    fn ready(&self, key: u64) -> u64;
}

impl PlainService for Backend {
    fn ready(&self, key: u64) -> u64 {
        key + black_box(self.offset)
    }
}

/// `#[value_task]`: returns `ValueTask<'_, u64>`, the future in pooled storage.
#[value_task]
pub trait PooledService: Send + Sync {
    async fn ready(&self, key: u64) -> u64;
    async fn cache_hit(&self, key: u64) -> u64;
    async fn suspending(&self, key: u64) -> u64;
}

/// The one implementation, behind all three traits.
#[derive(Debug)]
pub struct Backend {
    pub offset: u64,
}

/// The `async fn` bodies, written once and expanded under each attribute, so the compared
/// implementations cannot drift apart.
macro_rules! service_impl {
    ($(#[$attr:meta])* $service:ident) => {
        $(#[$attr])*
        impl $service for Backend {
            async fn ready(&self, key: u64) -> u64 {
                key + black_box(self.offset)
            }
            async fn cache_hit(&self, key: u64) -> u64 {
                if key == MISS {
                    yield_once().await;
                }
                key + black_box(self.offset)
            }
            async fn suspending(&self, key: u64) -> u64 {
                yield_once().await;
                key + black_box(self.offset)
            }
        }
    };
}

service_impl!(
    #[async_trait::async_trait]
    BoxedService
);
service_impl!(
    #[value_task]
    PooledService
);

impl StackService for Backend {
    fn ready(&self, key: u64) -> StackFuture<'_, u64, STACK> {
        StackFuture::from(async move { key + black_box(self.offset) })
    }
    fn cache_hit(&self, key: u64) -> StackFuture<'_, u64, STACK> {
        StackFuture::from(async move {
            if key == MISS {
                yield_once().await;
            }
            key + black_box(self.offset)
        })
    }
    fn suspending(&self, key: u64) -> StackFuture<'_, u64, STACK> {
        StackFuture::from(async move {
            yield_once().await;
            key + black_box(self.offset)
        })
    }
}

/// A plain `async fn` and the same body under `#[value_task]`, for static dispatch.
pub mod free {
    use std::hint::black_box;

    use valuetask::value_task;

    pub async fn plain(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[value_task]
    pub async fn pooled(x: u64) -> u64 {
        black_box(x) + 1
    }

    /// What `pooled` expands to, without the `stats` advisor's count (row (s)).
    #[cfg(feature = "stats")]
    pub fn pooled_uncounted(x: u64) -> valuetask::ValueTask<'static, u64> {
        valuetask::ValueTask::from_result(black_box(x) + 1)
    }
}

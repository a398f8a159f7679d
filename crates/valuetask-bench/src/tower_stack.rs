//! Rows (t1), (t2) and (t3): a tower service stack erased with tower's `BoxCloneService` and
//! with `valuetask::tower::BoxCloneService`, driven as a server's loop drives it:
//! `ready().await`, then `call(request).await`, per request; in (t3), as hyper_util's
//! `TowerToHyperService` drives it: `service.clone().oneshot(request)`, a
//! clone per request (tower's erasure boxes the clone and the response; ours pools both).
//!
//! The stack is three layers: `map_request`, `map_response`, and a handler that answers at
//! once (t1) or after one suspension (t2, `yield_once`). tower's erasure boxes each response
//! future; ours puts it in a pooled block at `call`, polled first with the response. A floor
//! row runs the same stack with its type known: what is left above it is the erasure's.

use std::hint::black_box;

use tower::{service_fn, Service, ServiceBuilder, ServiceExt};

use crate::executor::{poll_to_completion, yield_once};
use crate::harness::Implementation;
use crate::scenarios::{Scenario, Target};

/// The peer's row name.
const TOWER: &str = "tower BoxCloneService";
/// Ours.
const VALUETASK: &str = "valuetask BoxCloneService";
/// The same stack, not erased (its type known, its future on the stack): what any erasure
/// adds to is this.
const FLOOR: &str = "floor: the stack, not erased";

type Error = &'static str;

/// The three layers over a handler that suspends once when `suspends`.
fn stack(
    suspends: bool,
) -> impl Service<u64, Response = u64, Error = Error, Future: Send> + Clone + Send + 'static {
    ServiceBuilder::new()
        .map_request(|n: u64| n ^ 1)
        .map_response(|n: u64| n.wrapping_mul(3))
        .service(service_fn(move |n: u64| async move {
            if suspends {
                yield_once().await;
            }
            Ok::<u64, Error>(n + 1)
        }))
}

/// One request through `service`: `ready().await`, then `call(n).await`.
macro_rules! request_row {
    ($name:expr, $service:expr) => {{
        let mut service = black_box($service);
        Implementation::new($name, move |n| {
            poll_to_completion(async {
                match service.ready().await {
                    Ok(ready) => ready.call(n).await.unwrap_or(0),
                    Err(_) => 0,
                }
            })
        })
    }};
}

/// One request through a clone of `service`: `service.clone().oneshot(n).await`.
macro_rules! cloned_request_row {
    ($name:expr, $service:expr) => {{
        let service = black_box($service);
        Implementation::new($name, move |n| {
            poll_to_completion(async { service.clone().oneshot(n).await.unwrap_or(0) })
        })
    }};
}

/// Target: the erasure costs at most half of tower's, above the floor (`ours − floor ≤ 0.5 ×
/// (tower − floor)`).
const SHARE_OF_TOWERS_ERASURE: f64 = 0.5;

fn row(id: &'static str, name: &'static str, suspends: bool) -> Scenario {
    Scenario::new(
        id,
        name,
        vec![
            request_row!(TOWER, tower::util::BoxCloneService::new(stack(suspends))),
            request_row!(
                VALUETASK,
                valuetask::tower::BoxCloneService::new(stack(suspends))
            ),
            request_row!(FLOOR, stack(suspends)),
        ],
        Some(Target::share_above_row(
            VALUETASK,
            FLOOR,
            SHARE_OF_TOWERS_ERASURE,
        )),
    )
}

/// (t3)'s target: at most this ratio to tower's. Not set above the floor as (t1)'s is: that
/// floor, the unerased stack cloned, folds to a constant under one codegen unit (a fiftieth
/// of tower's time), where an erasure's share above it is no longer what is measured.
const CLONED_AT_MOST: f64 = 0.70;

/// (t3): (t1)'s stack cloned per request.
fn cloned_row() -> Scenario {
    Scenario::new(
        "t3",
        "tower stack erased, cloned per request (hyper_util's adapter), answering at once",
        vec![
            cloned_request_row!(TOWER, tower::util::BoxCloneService::new(stack(false))),
            cloned_request_row!(
                VALUETASK,
                valuetask::tower::BoxCloneService::new(stack(false))
            ),
            cloned_request_row!(FLOOR, stack(false)),
        ],
        Some(Target::peer(VALUETASK, CLONED_AT_MOST)),
    )
}

/// (t1), (t2) and (t3).
pub fn all() -> Vec<Scenario> {
    vec![
        row(
            "t1",
            "tower stack (map_request, map_response, handler) erased, answering at once",
            false,
        ),
        row(
            "t2",
            "tower stack (map_request, map_response, handler) erased, suspending once",
            true,
        ),
        cloned_row(),
    ]
}

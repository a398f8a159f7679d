//! Attribute macros on `#[value_task]` methods, such as `#[tracing::instrument]`, see the
//! `async fn` and apply to the whole body, across suspensions, as they do on `async-trait`
//! methods (the method is rewritten after them).

use crate::common;

use common::{allocations_during, drive, yield_once};
use tracing::instrument;
use valuetask::value_task;

/// The name of the span the code runs in now.
fn current_span() -> Option<&'static str> {
    tracing::Span::current().metadata().map(|m| m.name())
}

/// The span names seen before and after a suspension.
type Seen = (Option<&'static str>, Option<&'static str>);

/// Every method's body: what it sees in the span of the method that awaits it.
async fn seen_across_a_suspension() -> Seen {
    let before = current_span();
    yield_once().await;
    (before, current_span())
}

#[value_task]
trait Service: Send + Sync {
    async fn required(&self, key: u32) -> Seen;

    #[instrument(skip(self))]
    async fn provided(&self, key: u32) -> Seen {
        seen_across_a_suspension().await
    }
}

struct Backend;

#[value_task]
impl Service for Backend {
    #[instrument(skip(self))]
    async fn required(&self, key: u32) -> Seen {
        seen_across_a_suspension().await
    }
}

struct Generic<T>(T);

#[value_task]
impl<'a, T: Sync + std::fmt::Debug> Generic<&'a T> {
    #[instrument(skip(self))]
    async fn borrowed(&self, other: &'a T) -> Seen {
        let _ = (self.0, other);
        seen_across_a_suspension().await
    }
}

#[value_task]
#[instrument]
async fn free_macro_below(key: u32) -> Seen {
    seen_across_a_suspension().await
}

#[instrument]
#[value_task]
async fn free_macro_above(key: u32) -> Seen {
    seen_across_a_suspension().await
}

fn in_a_subscriber<R>(f: impl FnOnce() -> R) -> R {
    tracing::subscriber::with_default(tracing_subscriber::registry(), f)
}

#[test]
fn instrument_spans_the_whole_body_of_impl_and_default_methods() {
    in_a_subscriber(|| {
        let service: &dyn Service = &Backend;
        let seen = drive(service.required(1));
        assert_eq!(seen, (Some("required"), Some("required")));
        let seen = drive(service.provided(2));
        assert_eq!(seen, (Some("provided"), Some("provided")));
        assert_eq!(current_span(), None, "no span left entered");
    });
}

#[test]
fn instrument_spans_the_whole_body_with_enclosing_generics() {
    in_a_subscriber(|| {
        let (a, b) = (1u8, 2u8);
        let seen = drive(Generic(&a).borrowed(&b));
        assert_eq!(seen, (Some("borrowed"), Some("borrowed")));
    });
}

#[test]
fn instrument_spans_the_whole_body_of_free_functions_in_either_order() {
    in_a_subscriber(|| {
        let seen = drive(free_macro_below(3));
        assert_eq!(seen, (Some("free_macro_below"), Some("free_macro_below")));
        let seen = drive(free_macro_above(4));
        assert_eq!(seen, (Some("free_macro_above"), Some("free_macro_above")));
    });
}

/// The rewritten methods still return value tasks, and run without a subscriber.
#[test]
fn instrumented_methods_still_return_value_tasks() {
    let service: &dyn Service = &Backend;
    let vt: valuetask::ValueTask<'_, Seen> = service.required(5);
    assert_eq!(drive(vt), (None, None));
}

struct Local(std::rc::Rc<u32>);

#[value_task(?Send)]
impl Local {
    #[instrument(skip(self))]
    async fn local(&self) -> Seen {
        let _ = *self.0;
        seen_across_a_suspension().await
    }

    #[value_task(boxed)]
    #[instrument(skip(self))]
    async fn local_boxed(&self) -> Seen {
        seen_across_a_suspension().await
    }
}

/// The item's and the method's options reach the deferred rewrite: `?Send` (a
/// `LocalValueTask` over a future holding an `Rc`) and `boxed`.
#[test]
fn options_carry_over_to_methods_rewritten_after_their_attribute_macros() {
    in_a_subscriber(|| {
        let local = Local(std::rc::Rc::new(7));
        let vt: valuetask::LocalValueTask<'_, Seen> = local.local();
        assert_eq!(drive(vt), (Some("local"), Some("local")));
        let boxed = local.local_boxed();
        assert_eq!(drive(boxed), (Some("local_boxed"), Some("local_boxed")));
    });
    // Without a subscriber spans cost nothing: the pooled method allocates nothing after
    // warm-up, the boxed one its box per call.
    let local = Local(std::rc::Rc::new(7));
    drive(local.local());
    let ((), pooled) = allocations_during(|| {
        for _ in 0..100 {
            drive(local.local());
        }
    });
    let ((), boxed) = allocations_during(|| {
        for _ in 0..100 {
            drive(local.local_boxed());
        }
    });
    assert_eq!((pooled, boxed), (0, 100));
}

struct Conditional;

#[value_task]
impl Conditional {
    #[cfg_attr(all(), instrument(skip(self)))]
    async fn traced_if_enabled(&self) -> Seen {
        seen_across_a_suspension().await
    }
}

/// An attribute macro behind `cfg_attr` (the usual `#[cfg_attr(feature = "trace",
/// instrument)]`) is deferred to as well.
#[test]
fn an_attribute_macro_behind_cfg_attr_also_spans_the_whole_body() {
    in_a_subscriber(|| {
        let seen = drive(Conditional.traced_if_enabled());
        assert_eq!(seen, (Some("traced_if_enabled"), Some("traced_if_enabled")));
    });
}

/// The shapes the direct rewrite handles, through the deferred one: a generic trait with a
/// `where` clause, `&mut self`, borrowed arguments and results, `impl Trait` arguments, an
/// elided lifetime in the output, and a default body that uses `Self`; called through `dyn`.
#[value_task]
trait Store<K: Send + Sync>: Send + Sync
where
    K: std::fmt::Debug,
{
    async fn get<'a>(&'a mut self, key: &K, fallback: &'a str) -> &'a str;
    async fn describe(&self, key: K, label: impl AsRef<str> + Send) -> String
    where
        Self: Sized;

    #[instrument(skip_all)]
    async fn get_twice(&mut self, key: &K) -> (Seen, usize)
    where
        Self: Sized,
    {
        let seen = seen_across_a_suspension().await;
        let first = self.get(key, "none").await.len();
        let second = self.get(key, "none").await.len();
        (seen, first + second)
    }
}

struct Named(String, u32);

#[value_task]
impl<K: Send + Sync + std::fmt::Debug> Store<K> for Named {
    #[instrument(skip_all)]
    async fn get<'a>(&'a mut self, key: &K, fallback: &'a str) -> &'a str {
        yield_once().await;
        self.1 += 1;
        if format!("{key:?}").len() > 2 {
            &self.0
        } else {
            fallback
        }
    }

    #[instrument(skip(self, label))]
    async fn describe(&self, key: K, label: impl AsRef<str> + Send) -> String
    where
        Self: Sized,
    {
        let (before, after) = seen_across_a_suspension().await;
        format!("{}:{key:?}:{before:?}:{after:?}", label.as_ref())
    }
}

#[test]
fn deferred_methods_keep_every_shape_of_the_direct_rewrite() {
    in_a_subscriber(|| {
        let mut named = Named("named".into(), 0);
        {
            let store: &mut dyn Store<u64> = &mut named;
            assert_eq!(drive(store.get(&12345, "none")), "named");
            assert_eq!(drive(store.get(&1, "none")), "none");
        }
        assert_eq!(
            drive(Store::<u64>::describe(&named, 7, "k")),
            "k:7:Some(\"describe\"):Some(\"describe\")"
        );
        let (seen, len) = drive(Store::<u64>::get_twice(&mut named, &12345));
        assert_eq!(seen, (Some("get_twice"), Some("get_twice")));
        assert_eq!(len, 10);
        assert_eq!(named.1, 4);
    });
}

/// tower-lsp's `LanguageServer` shape: an attribute macro on the trait after `#[value_task]`
/// (`auto_impl`) writes impls for `Arc<T>`, `Box<T>` and `&T` from the trait's signatures, and
/// default methods carry attribute macros of their own.
#[value_task]
#[auto_impl::auto_impl(&, Arc, Box)]
trait Forwarded: Send + Sync {
    async fn required(&self, key: u32) -> u32;

    #[instrument(skip(self))]
    async fn provided(&self, key: u32) -> Seen {
        let _ = key;
        seen_across_a_suspension().await
    }
}

struct Leaf;

#[value_task]
impl Forwarded for Leaf {
    async fn required(&self, key: u32) -> u32 {
        yield_once().await;
        key + 1
    }
}

/// The trait's macro expands before its methods' own, so it must see the rewritten
/// signatures, as under async-trait: the methods are rewritten at once, and a default body's
/// `instrument` sees the rewritten method, whose call spans the body's start (up to its first
/// suspension).
#[test]
fn a_trait_macro_after_value_task_sees_rewritten_methods() {
    fn through<S: Forwarded>(service: S) -> (u32, Seen) {
        (drive(service.required(1)), drive(service.provided(2)))
    }
    in_a_subscriber(|| {
        let expected = (2, (Some("provided"), None));
        assert_eq!(through(Leaf), expected);
        assert_eq!(through(&Leaf), expected);
        assert_eq!(through(std::sync::Arc::new(Leaf)), expected);
        assert_eq!(through(Box::new(Leaf)), expected);
    });
    let shared = std::sync::Arc::new(Leaf);
    drive(shared.required(1));
    let ((), allocations) = allocations_during(|| {
        for key in 0..100 {
            let vt: valuetask::ValueTask<'_, u32> = shared.required(key);
            assert_eq!(drive(vt), key + 1);
        }
    });
    assert_eq!(
        allocations, 0,
        "the Arc impl's calls are the leaf's value tasks"
    );
}

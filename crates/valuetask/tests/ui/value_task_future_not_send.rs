// Mistake: a method future that is not `Send` in the default (`Send`) mode, as in
// async-trait's consider-restricting and send-not-implemented: a by-value argument of a
// type parameter without `Send` held across an `.await`, and a `MutexGuard` held across an
// `.await` in a default body.
// A good error points at the method's `async` (as async-trait's does), not across the whole
// body, names the value held across the `.await`, and for `T` suggests a well-formed
// `T: IntoUrl + Send` / `T: Send` (not a suggestion mangled by, or placed inside, the
// attribute's own `'value_task` bound).
use std::sync::Mutex;

use valuetask::value_task;

pub trait IntoUrl {}

#[value_task]
pub trait ClientExt {
    async fn publish<T: IntoUrl>(&self, url: T);

    async fn locked(&self) {
        let mutex = Mutex::new(());
        let _guard = mutex.lock().unwrap();
        valuetask::yield_now().await;
    }
}

struct Client;

#[value_task]
impl ClientExt for Client {
    async fn publish<T: IntoUrl>(&self, url: T) {
        valuetask::yield_now().await;
        drop(url);
    }
}

struct Client2;

#[value_task]
impl ClientExt for Client2 {
    async fn publish<T>(&self, url: T) {
        valuetask::yield_now().await;
        drop(url);
    }
}

fn main() {}

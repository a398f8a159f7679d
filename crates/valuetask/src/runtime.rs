//! Where futures run when valuetask has to run them itself (`ValueTask::as_task` on a pending
//! future). With feature `tokio`: the ambient tokio runtime, or outside one a global
//! multi-thread runtime (`valuetask-global` workers, one per core) started on first use and
//! never shut down. Without it: a new thread per future.

use std::future::Future;

#[cfg(feature = "tokio")]
fn global() -> &'static tokio::runtime::Runtime {
    static GLOBAL: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    GLOBAL.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("valuetask-global")
            .enable_all()
            .build()
            .expect("valuetask: failed to start the global tokio runtime")
    })
}

/// Run `future` to completion somewhere else; nobody joins it.
pub(crate) fn spawn_detached(future: impl Future<Output = ()> + Send + 'static) {
    #[cfg(feature = "tokio")]
    {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn(future)),
            Err(_) => drop(global().spawn(future)),
        }
    }
    #[cfg(not(feature = "tokio"))]
    {
        std::thread::Builder::new()
            .name("valuetask-drive".into())
            .spawn(move || crate::blocking::block_on(future))
            .expect("valuetask: failed to start a thread to drive a future");
    }
}

//! The one place that chooses between `std` and `loom` primitives.
//!
//! The atomic state machines (`task::cell`, `source::core`, `value_task::bridge`,
//! `task::combinators`' `when_any`, `wake_set`) import atomics, `Mutex` and `UnsafeCell` from
//! here so that `RUSTFLAGS="--cfg valuetask_loom"` model-checks the same code that ships.
//! A custom cfg (not `loom`) keeps tokio, which reacts to `cfg(loom)`, out of the model build.
//! [`lock`] and [`lock_std`] are the poison-ignoring locks of the modelled mutexes and of the
//! library's own `std` mutexes.
//! [`thread_number`] is the thread identity the sharded structures spread over.

#[cfg(valuetask_loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize,
};
#[cfg(valuetask_loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(not(valuetask_loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize,
};
#[cfg(not(valuetask_loom))]
pub(crate) use std::sync::Mutex;

pub(crate) use std::sync::atomic::Ordering;

/// Lock one of the modelled mutexes ([`Mutex`] above: `std`'s, loom's in the model build),
/// ignoring poison: no user code runs under them, so nothing is left half-updated.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> impl std::ops::DerefMut<Target = T> + '_ {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Lock a `std` mutex (the library's own statics and pool lists, never modelled by loom),
/// ignoring poison: nothing they guard is left half-updated by a panic.
pub(crate) fn lock_std<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Abort the process, naming `invariant`: for an internal invariant found broken
/// while a lock bit is held, where a panic would unwind past the unlock and leave every later
/// registrant and the completer spinning on it (as `Arc` aborts on a refcount overflow).
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn broken_under_lock(invariant: &str) -> ! {
    use std::io::Write as _;
    // Not `eprintln!`, which panics when stderr fails (a pipe whose reader is gone: Rust
    // ignores SIGPIPE), and would unwind past the unlock this function exists to avoid.
    let _ = writeln!(
        std::io::stderr(),
        "valuetask: internal invariant broken under a lock ({}): {invariant}",
        std::panic::Location::caller()
    );
    std::process::abort();
}

/// Back off inside a short spin loop. Under loom this yields to the model scheduler so that a
/// spinning thread does not explode the state space.
#[inline]
pub(crate) fn spin_wait(spins: &mut u32) {
    #[cfg(valuetask_loom)]
    {
        let _ = spins;
        loom::thread::yield_now();
    }
    #[cfg(not(valuetask_loom))]
    {
        if *spins < 64 {
            *spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// `UnsafeCell` with loom's closure API, so access is tracked under the model.
#[cfg(valuetask_loom)]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);

#[cfg(valuetask_loom)]
impl<T> UnsafeCell<T> {
    #[track_caller]
    pub(crate) fn new(value: T) -> Self {
        Self(loom::cell::UnsafeCell::new(value))
    }
    #[track_caller]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        self.0.with(f)
    }
    #[track_caller]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        self.0.with_mut(f)
    }
}

/// `UnsafeCell` with loom's closure API, so access is tracked under the model.
#[cfg(not(valuetask_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(valuetask_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// The calling thread's number, handed out round-robin on first use (`0` while the thread is
/// being torn down); the sharded structures (`task::waiters`' overflow, `task::slab`) keep a
/// thread on the shard its number masks to. Under loom: the model thread's number, so that a
/// model is deterministic.
#[inline]
pub(crate) fn thread_number() -> usize {
    #[cfg(not(valuetask_loom))]
    {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        thread_local! {
            static NUMBER: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
        }
        NUMBER
            .try_with(|number| {
                if number.get() == usize::MAX {
                    number.set(NEXT.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1));
                }
                number.get()
            })
            .unwrap_or(0)
    }
    #[cfg(valuetask_loom)]
    {
        let id = format!("{:?}", loom::thread::current().id());
        let digits: String = id.chars().filter(char::is_ascii_digit).collect();
        digits.parse::<usize>().unwrap_or(0)
    }
}

#[cfg(all(test, unix, not(valuetask_loom)))]
mod tests {
    use super::broken_under_lock;

    /// `broken_under_lock` aborts even when stderr is a pipe nobody reads any more (where
    /// `eprintln!` would panic and unwind instead). Runs itself in a child process whose
    /// stderr the parent closes first.
    #[test]
    #[cfg_attr(miri, ignore)] // spawns a process
    fn aborts_even_when_stderr_is_a_closed_pipe() {
        use std::os::unix::process::ExitStatusExt;
        use std::process::{Command, Stdio};
        const NAME: &str = "sync::tests::aborts_even_when_stderr_is_a_closed_pipe";
        const CHILD: &str = "VALUETASK_BROKEN_UNDER_LOCK_CHILD";
        if std::env::var_os(CHILD).is_some() {
            // The parent has closed the pipe's read end by now.
            std::thread::sleep(std::time::Duration::from_millis(300));
            let unwound = std::panic::catch_unwind(|| broken_under_lock("test")).is_err();
            std::process::exit(if unwound { 3 } else { 0 });
        }
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run the test binary");
        drop(child.stderr.take());
        let status = child.wait().expect("the child's status");
        assert_eq!(status.signal(), Some(6), "not aborted: {status:?}");
    }
}

//! `TaskError`: why a `Task` did not run to completion. The bottom layer: it knows nothing of
//! tasks, so everything else may name it.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// Why a [`Task`](crate::Task) did not produce a value: canceled, panicked, faulted with an
/// error, or abandoned by its producer.
///
/// The counterpart of what .NET surfaces as `TaskCanceledException` / `OperationCanceledException`
/// (`Task.IsCanceled`) and `Task.Exception` (`Task.IsFaulted`). Deliberately unlike .NET, the
/// variant is the status: `Canceled` given to `set_error` cancels a task, and awaiting a task
/// that failed several times yields the whole `Aggregate`, not its first error. It is `Clone` and cheap to
/// clone (every payload is behind an `Arc`), because a shared task hands the same error to each
/// awaiter. A faulted error keeps its identity: every awaiter gets the same `Arc`.
///
/// ```
/// use std::sync::Arc;
/// use valuetask::{Task, TaskError};
///
/// let io = Arc::new(std::io::Error::other("disk on fire"));
/// let task: Task<u32> = Task::from_error(TaskError::Faulted(io.clone()));
/// match task.wait() {
///     Err(TaskError::Faulted(e)) => assert!(Arc::ptr_eq(e, &(io as Arc<_>))),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum TaskError {
    /// The task was canceled (.NET `TaskStatus.Canceled`).
    Canceled,
    /// The code producing the value panicked; the panic message (.NET: a faulted task whose
    /// exception came from an unhandled throw).
    Panicked(Arc<str>),
    /// The task faulted with this error (.NET `Task.Exception`).
    Faulted(Arc<dyn Error + Send + Sync>),
    /// Tasks failed (`Task::when_all`, even when one did): every failure, in input order
    /// (.NET `AggregateException`, whose first inner exception `await` rethrows). Counts as
    /// faulted. The `is_*` tests and [`panic_message`](Self::panic_message) look at this
    /// error, not into it; [`errors`](Self::errors) lists the failures, and
    /// [`downcast_ref`](Self::downcast_ref) looks at the first one that is not a cancellation.
    Aggregate(Arc<[TaskError]>),
    /// Whatever was to complete the task is gone without completing it: every
    /// [`TaskCompletionSource`](crate::TaskCompletionSource) was dropped, a pool's
    /// [`Completer`](crate::Completer) was dropped, or the runtime driving the task's future
    /// ([`Task::run`](crate::Task), `as_task`) shut down first. .NET would leave such a task
    /// pending forever; here awaiters are released with this error instead. The task counts
    /// as faulted.
    Abandoned,
    /// A wait gave up before the task completed ([`Task::wait_async`](crate::Task) with a
    /// timeout; .NET `TimeoutException`). Counts as faulted. The task waited for is not
    /// affected.
    TimedOut,
}

/// What a task completes with.
pub(crate) type TaskOutput<T> = Result<T, TaskError>;

impl TaskError {
    /// The failures this error stands for: an [`Aggregate`](Self::Aggregate)'s, in input
    /// order, or this error alone (.NET `AggregateException.InnerExceptions`).
    ///
    /// ```
    /// use valuetask::{Task, TaskError};
    ///
    /// let all = Task::when_all([Task::<u8>::from_result(1), Task::from_error(TaskError::TimedOut)]);
    /// let error = all.wait().unwrap_err();
    /// assert!(!error.is_timeout(), "an Aggregate of one failure");
    /// assert!(error.errors()[0].is_timeout());
    /// assert_eq!(TaskError::Abandoned.errors(), [TaskError::Abandoned]);
    /// ```
    pub fn errors(&self) -> &[TaskError] {
        match self {
            TaskError::Aggregate(errors) => errors,
            other => std::slice::from_ref(other),
        }
    }

    /// A faulted error wrapping `error` (.NET: the exception given to `SetException` or
    /// `Task.FromException`). A `TaskError` given here comes back as itself, bare or in a
    /// `Box` or an `Arc` (then cloned), as through `From<Box<dyn Error + Send + Sync>>`:
    /// another task's `Canceled` passed on stays canceled, not a fault that says "task
    /// faulted: task was canceled". An `Arc<dyn Error + Send + Sync>`, a fault's own payload
    /// passed on, becomes that fault again: the same `Arc`, equal to it.
    ///
    /// Any other error is wrapped as it is: a `Box<E>` or an `Arc<E>` of an error type `E`
    /// stays that wrapper, which [`downcast_ref::<E>`](Self::downcast_ref) does not see
    /// through, and whose [`source`](Error::source) is `E`'s source, not `E`. Pass `E` itself,
    /// or an `Arc<E>` as `TaskError::Faulted(arc)` (the same `Arc`, unsized).
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// let e = TaskError::faulted(std::io::Error::other("boom"));
    /// assert_eq!(e.to_string(), "task faulted: boom");
    /// assert!(TaskError::faulted(TaskError::Canceled).is_canceled());
    /// ```
    pub fn faulted(error: impl Error + Send + Sync + 'static) -> Self {
        let mut error = Some(error);
        let any = &mut error as &mut dyn std::any::Any;
        if let Some(task_error) = any.downcast_mut::<Option<TaskError>>() {
            return task_error.take().expect("filled above");
        }
        if let Some(boxed) = any.downcast_mut::<Option<Box<TaskError>>>() {
            return *boxed.take().expect("filled above");
        }
        if let Some(shared) = any.downcast_mut::<Option<Arc<TaskError>>>() {
            return TaskError::clone(&shared.take().expect("filled above"));
        }
        if let Some(payload) = any.downcast_mut::<Option<Arc<dyn Error + Send + Sync>>>() {
            return TaskError::Faulted(payload.take().expect("filled above"));
        }
        TaskError::Faulted(Arc::new(error.expect("filled above")))
    }

    /// A panicked error with `message`. No .NET counterpart: .NET has no panics; the nearest
    /// is a task faulted by an unhandled exception.
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// let e = TaskError::panicked("index out of bounds");
    /// assert!(e.is_panic());
    /// assert_eq!(e.to_string(), "task panicked: index out of bounds");
    /// ```
    pub fn panicked(message: impl Into<Arc<str>>) -> Self {
        TaskError::Panicked(message.into())
    }

    /// A panicked error from a caught panic payload (`&str` and `String` payloads keep their
    /// text). The payload's `Box` itself (`&payload` where `&*payload` was meant: a
    /// `Box<dyn Any + Send>` is an `Any` too) is looked into.
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// let payload = std::panic::catch_unwind(|| panic!("bad {}", 1)).err().unwrap();
    /// let e = TaskError::from_panic(&*payload);
    /// assert_eq!(e.panic_message(), Some("bad 1"));
    /// ```
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message: Arc<str> = if let Some(s) = payload.downcast_ref::<&str>() {
            Arc::from(*s)
        } else if let Some(s) = payload.downcast_ref::<String>() {
            Arc::from(s.as_str())
        } else if let Some(boxed) = payload.downcast_ref::<Box<dyn std::any::Any + Send>>() {
            return Self::from_panic(&**boxed);
        } else {
            Arc::from("non-string panic payload")
        };
        TaskError::Panicked(message)
    }

    /// True for [`TaskError::Canceled`] (.NET: the exception is an
    /// `OperationCanceledException`).
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// assert!(TaskError::Canceled.is_canceled());
    /// assert!(!TaskError::Abandoned.is_canceled(), "abandoned counts as faulted");
    /// ```
    #[doc(alias = "is_cancelled")]
    pub fn is_canceled(&self) -> bool {
        matches!(self, TaskError::Canceled)
    }

    /// True for [`TaskError::Abandoned`]: every source was dropped without completing (what
    /// `tokio::sync::oneshot`'s `RecvError` says; .NET has no counterpart, a never-completed
    /// `TaskCompletionSource` leaves its task pending).
    ///
    /// ```
    /// use valuetask::{CompletionPool, TaskError};
    ///
    /// let pool = CompletionPool::<u8>::new();
    /// let (reply, completer) = pool.rent();
    /// drop(completer);
    /// assert!(reply.get_result().unwrap_err().is_abandoned());
    /// assert!(!TaskError::Canceled.is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        matches!(self, TaskError::Abandoned)
    }

    /// True for every error but [`TaskError::Canceled`]: the status of a task completed with
    /// it is `Faulted` (.NET `IsFaulted`), canceled otherwise, as
    /// [`Task::is_faulted`](crate::Task::is_faulted) reads it.
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// assert!(TaskError::Abandoned.is_faulted());
    /// assert!(TaskError::panicked("boom").is_faulted());
    /// assert!(!TaskError::Canceled.is_faulted());
    /// ```
    pub fn is_faulted(&self) -> bool {
        !self.is_canceled()
    }

    /// True for [`TaskError::TimedOut`] (.NET: the exception is a `TimeoutException`).
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// assert!(TaskError::TimedOut.is_timeout());
    /// assert!(!TaskError::Canceled.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, TaskError::TimedOut)
    }

    /// True for [`TaskError::Panicked`].
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// assert!(TaskError::panicked("boom").is_panic());
    /// assert!(!TaskError::Canceled.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// The panic message, for [`TaskError::Panicked`] (.NET: the unhandled exception's
    /// `Message`).
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// assert_eq!(TaskError::panicked("boom").panic_message(), Some("boom"));
    /// assert_eq!(TaskError::Canceled.panic_message(), None);
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(m) => Some(m),
            _ => None,
        }
    }

    /// The faulted error as an `E`, if this is [`TaskError::Faulted`] with an `E`, or an
    /// [`Aggregate`](TaskError::Aggregate) whose first error past any cancellations is one,
    /// the error its [`source`](Error::source) is (.NET: `catch (IOException e)` on an
    /// awaited task's exception; awaiting `WhenAll` throws the aggregate's first, and .NET's
    /// lists no cancellations).
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// let e = TaskError::faulted(std::io::Error::other("disk on fire"));
    /// let io = e.downcast_ref::<std::io::Error>().expect("an io::Error");
    /// assert_eq!(io.kind(), std::io::ErrorKind::Other);
    /// assert!(e.downcast_ref::<std::fmt::Error>().is_none());
    /// assert!(TaskError::Canceled.downcast_ref::<std::io::Error>().is_none());
    ///
    /// let all = TaskError::Aggregate(vec![TaskError::Canceled, e.clone()].into());
    /// assert_eq!(all.downcast_ref::<std::io::Error>().unwrap().to_string(), "disk on fire");
    /// ```
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        match self {
            TaskError::Faulted(e) => e.downcast_ref::<E>(),
            TaskError::Aggregate(all) => all
                .iter()
                .find(|e| !e.is_canceled())
                .and_then(TaskError::downcast_ref::<E>),
            _ => None,
        }
    }
}

/// A boxed error faults (tower's `BoxError`, `Box<dyn Error + Send + Sync>`, which is not an
/// `Error` itself and so cannot go through [`TaskError::faulted`]).
///
/// ```
/// use valuetask::TaskError;
///
/// let boxed: Box<dyn std::error::Error + Send + Sync> = "no route".into();
/// let e = TaskError::from(boxed);
/// assert_eq!(e.to_string(), "task faulted: no route");
/// ```
impl From<Box<dyn Error + Send + Sync>> for TaskError {
    /// A boxed `TaskError` comes back as itself (a `Canceled` that went through a layer
    /// boxing its errors stays canceled), any other error faults.
    fn from(error: Box<dyn Error + Send + Sync>) -> Self {
        match error.downcast::<TaskError>() {
            Ok(task_error) => *task_error,
            Err(other) => TaskError::Faulted(Arc::from(other)),
        }
    }
}

/// A clone of a borrowed error (cheap: every payload is behind an `Arc`), so that `?` works
/// on the borrowing accessors ([`Task::wait`](crate::Task::wait), `try_result`, `result()`),
/// whose errors are `&TaskError`, in a function returning `Result<_, TaskError>`.
///
/// ```
/// use valuetask::{Task, TaskError};
///
/// fn double(task: &Task<u32>) -> Result<u32, TaskError> {
///     Ok(task.wait()? * 2)
/// }
/// assert_eq!(double(&Task::from_result(21)), Ok(42));
/// assert_eq!(double(&Task::from_canceled()), Err(TaskError::Canceled));
/// ```
impl From<&TaskError> for TaskError {
    fn from(error: &TaskError) -> Self {
        error.clone()
    }
}

/// Equality is identity for faulted errors (`Arc::ptr_eq`: the same error, not an equal-looking
/// one), the message for panics, and the variant otherwise.
impl PartialEq for TaskError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TaskError::Canceled, TaskError::Canceled) => true,
            (TaskError::Abandoned, TaskError::Abandoned) => true,
            (TaskError::TimedOut, TaskError::TimedOut) => true,
            (TaskError::Panicked(a), TaskError::Panicked(b)) => a == b,
            (TaskError::Faulted(a), TaskError::Faulted(b)) => Arc::ptr_eq(a, b),
            (TaskError::Aggregate(a), TaskError::Aggregate(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for TaskError {}

/// Hashes what equality compares: the variant, a panic's message, a faulted error's address
/// (not its contents), an aggregate's errors in order.
///
/// ```
/// use std::collections::HashSet;
/// use valuetask::TaskError;
///
/// let disk = TaskError::faulted(std::io::Error::other("disk"));
/// let seen: HashSet<TaskError> =
///     [disk.clone(), disk, TaskError::Canceled, TaskError::Canceled].into_iter().collect();
/// assert_eq!(seen.len(), 2);
/// ```
impl std::hash::Hash for TaskError {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            TaskError::Panicked(message) => message.hash(state),
            TaskError::Faulted(error) => Arc::as_ptr(error).cast::<()>().hash(state),
            TaskError::Aggregate(all) => all.hash(state),
            TaskError::Canceled | TaskError::Abandoned | TaskError::TimedOut => {}
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Canceled => f.write_str("Canceled"),
            TaskError::Panicked(m) => f.debug_tuple("Panicked").field(m).finish(),
            TaskError::Faulted(e) => f.debug_tuple("Faulted").field(e).finish(),
            TaskError::Aggregate(all) => f.debug_tuple("Aggregate").field(all).finish(),
            TaskError::Abandoned => f.write_str("Abandoned"),
            TaskError::TimedOut => f.write_str("TimedOut"),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Canceled => f.write_str("task was canceled"),
            TaskError::Panicked(m) => write!(f, "task panicked: {m}"),
            TaskError::Faulted(e) => write!(f, "task faulted: {e}"),
            TaskError::Aggregate(all) => {
                match all.len() {
                    1 => f.write_str("1 task failed")?,
                    n => write!(f, "{n} tasks failed")?,
                }
                for (i, e) in all.iter().enumerate() {
                    write!(f, "{} {e}", if i == 0 { ":" } else { ";" })?;
                }
                Ok(())
            }
            TaskError::Abandoned => f.write_str(
                "task abandoned: its producer (TaskCompletionSource, Completer, or the runtime \
                 driving it) went away without completing it",
            ),
            TaskError::TimedOut => f.write_str("the wait timed out before the task completed"),
        }
    }
}

/// The source is the faulted error itself (an aggregate's first that is not a cancellation,
/// else its first), so code that walks
/// the chain for a cause (an `io::Error` to retry on, anyhow's `root_cause`) finds it. The
/// display repeats its message, for readers that print the top error alone (`{}`, a log's
/// `%error`); a printer of the whole chain (anyhow's `{:#}`) shows it twice.
/// [`downcast_ref`](TaskError::downcast_ref) reaches the faulted error directly.
impl Error for TaskError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            TaskError::Faulted(e) => Some(&**e as &(dyn Error + 'static)),
            TaskError::Aggregate(all) => all
                .iter()
                .find(|e| !e.is_canceled())
                .or_else(|| all.first())
                .map(|e| e as &(dyn Error + 'static)),
            _ => None,
        }
    }
}

use valuetask::value_task;

// `boxed` on a trait chooses the storage of its default bodies; this one has none, so it
// would be silently ignored (the impls' methods would still be pooled).
#[value_task(boxed)]
trait T {
    async fn f(&self) -> u8;
}

fn main() {}

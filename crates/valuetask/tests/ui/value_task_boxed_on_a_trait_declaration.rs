use valuetask::value_task;

// `boxed` chooses the storage of a body; a declaration has none, so this would be silently
// ignored (the impl's method would still be pooled).
#[value_task]
trait T {
    #[value_task(boxed)]
    async fn f(&self) -> u8;
}

fn main() {}

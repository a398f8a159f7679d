// Mistake: a (Send) trait whose method returns `impl Iterator<Item = u8>` without `+ Send`,
// awaited in a default body. `ValueTask<'_, T>` is `Send` only when `T` is, and the opaque
// `impl Iterator` is not known to be, so the default body's future is not `Send`. Under
// #[async_trait] this compiles (its boxed future is `Send` whatever its output).
// A better error would point at `impl Iterator<Item = u8>` in `items` and suggest `+ Send`
// (or `?Send` on the trait); rustc's points at the body of `total`, whose notes name the
// value task held across the `.await`.
use valuetask::value_task;

#[value_task]
trait Source {
    async fn items(&self) -> impl Iterator<Item = u8>;

    async fn total(&self) -> u32 {
        self.items().await.map(u32::from).sum()
    }
}

fn main() {}

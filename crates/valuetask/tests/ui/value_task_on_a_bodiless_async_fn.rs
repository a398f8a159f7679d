// Mistake: #[value_task] on a single `async fn` without a body: a required method of a trait
// that is not annotated itself (the attribute belongs on the trait), and a free function
// declared without a body.
// The error names the function, says it has no body and that the attribute belongs on the
// trait, pointing at the name.
use valuetask::value_task;

trait Store {
    #[value_task]
    async fn get(&self, key: &str) -> Option<u64>;
}

#[value_task]
async fn declared_only() -> u8;

fn main() {}

use valuetask::value_task;

#[value_task]
trait OnAMethod {
    #[value_task(crate = valuetask)]
    async fn f(&self) -> u8;
}

#[value_task(crate = valuetask, crate = valuetask)]
async fn repeated() -> u8 {
    1
}

#[value_task(crate = "not a path")]
async fn not_a_path() -> u8 {
    1
}

fn main() {}

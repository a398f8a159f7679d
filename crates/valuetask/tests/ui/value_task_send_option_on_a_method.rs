use valuetask::value_task;

#[value_task]
trait T {
    #[value_task(?Send)]
    async fn f(&self) -> u8;
}

fn main() {}

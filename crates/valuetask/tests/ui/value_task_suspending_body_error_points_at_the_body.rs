use valuetask::value_task;

#[value_task]
async fn wrong_type() -> u8 {
    valuetask::yield_now().await;
    "not a number"
}

fn main() {}

use valuetask::value_task;

#[value_task]
async fn wrong_type() -> u8 {
    "not a number"
}

fn main() {}

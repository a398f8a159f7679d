use valuetask::value_task;

#[value_task(fast)]
async fn f() -> u8 {
    1
}

fn main() {}

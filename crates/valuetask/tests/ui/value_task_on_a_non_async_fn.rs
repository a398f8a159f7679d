use valuetask::value_task;

#[value_task]
fn not_async() -> u8 {
    1
}

fn main() {}

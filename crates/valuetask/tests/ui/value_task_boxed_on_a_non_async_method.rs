use valuetask::value_task;

struct S;

#[value_task]
impl S {
    #[value_task(boxed)]
    fn not_async(&self) -> u8 {
        1
    }
}

fn main() {}

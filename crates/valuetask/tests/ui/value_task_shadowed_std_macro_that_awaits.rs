// A body whose only suspension hides in a local macro named like a std one is taken for
// synchronous: the result is a compile error at the `.await`, never a wrong value.
use valuetask::value_task;

macro_rules! vec {
    ($e:expr) => {
        $e.await
    };
}

#[value_task]
async fn sneaky() -> u8 {
    vec![async { 1u8 }]
}

fn main() {}

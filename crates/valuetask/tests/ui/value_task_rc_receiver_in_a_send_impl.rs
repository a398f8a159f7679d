use valuetask::value_task;

struct Local;

async fn yield_once() {}

// The default (`Send`) mode: a future that suspends cannot hold an `Rc`.
#[value_task]
impl Local {
    async fn next(self: std::rc::Rc<Self>) -> u64 {
        yield_once().await;
        1
    }
}

fn main() {}

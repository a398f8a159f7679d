use valuetask::value_task;

#[value_task]
struct NotAFunction;

fn main() {}

// Mistake: `#[value_task]` twice on one function, the options split between them. Without a
// check, the first defers to the second (it looks like another attribute macro), and the
// second finds a function that is no longer `async`: "an attribute on this method made it
// not `async`", pointing at `fn`, which names neither attribute.
// A good error says the attribute is there twice, pointing at the second.
use valuetask::value_task;

#[value_task]
#[value_task(boxed)]
async fn answer() -> u8 {
    42
}

fn main() {
    let _ = answer;
}

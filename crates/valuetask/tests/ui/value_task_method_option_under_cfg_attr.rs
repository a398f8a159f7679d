use valuetask::value_task;

#[value_task]
trait Store {
    async fn get(&self, key: u64) -> u64;
}

struct Cache;

#[value_task]
impl Store for Cache {
    #[cfg_attr(all(), value_task(boxed))]
    async fn get(&self, key: u64) -> u64 {
        key
    }
}

// A free function: rustc applies the `cfg_attr` before the outer attribute runs, which then
// sees itself twice.
#[value_task]
#[cfg_attr(all(), value_task(boxed))]
async fn free(key: u64) -> u64 {
    key
}

fn main() {}

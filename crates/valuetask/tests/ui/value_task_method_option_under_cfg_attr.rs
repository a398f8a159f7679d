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

fn main() {}

// `#[value_task]` on one default method of a trait, not on the trait: the attribute cannot see
// the trait, so it does not bound the method `where Self: Sync` as it does on a trait; the
// error says where to put it.
trait Store {
    #[valuetask::value_task]
    async fn get_twice(&self) -> u8 {
        valuetask::yield_now().await;
        self.get()
    }

    fn get(&self) -> u8;
}

fn main() {}

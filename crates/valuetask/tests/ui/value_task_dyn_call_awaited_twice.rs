use valuetask::value_task;

#[value_task]
trait Service: Send + Sync {
    async fn call(&self) -> u8;
}

async fn twice(s: &dyn Service) -> u8 {
    let vt = s.call();
    let a = vt.await;
    let b = vt.await;
    a + b
}

fn main() {
    let _ = twice;
}

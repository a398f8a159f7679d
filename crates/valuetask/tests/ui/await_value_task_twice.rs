use valuetask::ValueTask;

async fn twice(vt: ValueTask<'static, u32>) -> u32 {
    let a = vt.await;
    let b = vt.await;
    a + b
}

fn main() {
    let _ = twice(ValueTask::from_result(1));
}

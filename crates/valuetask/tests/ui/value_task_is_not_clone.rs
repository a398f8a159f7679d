use valuetask::ValueTask;

fn main() {
    let vt = ValueTask::from_result(1u32);
    let _copy = vt.clone();
}

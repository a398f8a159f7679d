// A value task is not `Sync` (a boxed future need not be) and is invariant in its value type
// (a source or task of one type must not be seen as one of another), as before it was two
// words.
use valuetask::ValueTask;

fn requires_sync<S: Sync>(_: &S) {}

fn not_sync(vt: ValueTask<'static, u8>) {
    requires_sync(&vt);
}

fn widen(vt: ValueTask<'static, for<'x> fn(&'x u8)>) -> ValueTask<'static, fn(&'static u8)> {
    vt
}

fn main() {
    not_sync(ValueTask::from_result(1));
    let _ = widen;
}

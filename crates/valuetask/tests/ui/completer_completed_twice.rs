// Completing a `CompletionPool` slot twice does not compile: completing consumes the
// `Completer` (a oneshot `Sender` is consumed the same way).
fn main() {
    let pool = valuetask::CompletionPool::<u8>::new();
    let (_reply, completer) = pool.rent();
    completer.set_result(1);
    completer.set_result(2);
}

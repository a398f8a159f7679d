// A `+ Send` future whose output is not `Send`: its value task holds the output, so it
// cannot be `Send` (dynosaur's box can). The error names the output and `Send`.
use std::future::Future;
use valuetask::dyn_trait;

#[dyn_trait(DynJob = dyn Job)]
trait Job {
    fn run(&self) -> impl Future<Output = Result<(), Box<dyn std::error::Error>>> + Send;
}

fn main() {}

//! Request/response over a real loopback TCP connection, one pending completion per request:
//! a pooled `CompletionPool` against a `tokio::sync::oneshot` per request.
//!
//! A client pipelines requests over one connection (up to `WINDOW` in flight); a reader task
//! matches each response to its request by id and completes that request's completion. The
//! server doubles each payload. Loopback only, bounded in count and in time (a run that takes
//! longer than its deadline, a lost frame say, fails instead of hanging).
//!
//! ```sh
//! cargo run --release --example loopback_rpc                       # 200,000 requests per variant
//! cargo run --release --example loopback_rpc -- --requests 20000   # fewer
//! ```

#[path = "support/mod.rs"]
mod support;

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{allocations, Args, CountingAllocator};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use valuetask::{Completer, CompletionPool, TaskError, ValueTask};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PROCESS;

/// Requests in flight at once.
const WINDOW: usize = 64;
/// Requests before measuring, so pools, buffers and tokio are warm.
const WARM_UP: u64 = 10_000;
/// The longest one variant's run may take (a run of 200,000 requests takes a few seconds),
/// plus `DEADLINE_PER_REQUEST` for each request asked for.
const DEADLINE: Duration = Duration::from_secs(120);
/// Far above a request's cost on any host this runs on.
const DEADLINE_PER_REQUEST: Duration = Duration::from_micros(100);

/// How one variant pairs a request with its eventual response.
trait Rendezvous: Send + Sync + 'static {
    type Receiver: Future<Output = Result<u64, Self::Error>> + Send + 'static;
    type Sender: Send + 'static;
    type Error: std::fmt::Debug;
    const NAME: &'static str;
    fn pair(&self) -> (Self::Receiver, Self::Sender);
    fn complete(sender: Self::Sender, value: u64);
}

struct Pooled(CompletionPool<u64>);

impl Rendezvous for Pooled {
    type Receiver = ValueTask<'static, Result<u64, TaskError>>;
    type Sender = Completer<u64>;
    type Error = TaskError;
    const NAME: &'static str = "valuetask CompletionPool";
    fn pair(&self) -> (Self::Receiver, Self::Sender) {
        self.0.rent()
    }
    fn complete(sender: Self::Sender, value: u64) {
        sender.set_result(value);
    }
}

struct Oneshot;

impl Rendezvous for Oneshot {
    type Receiver = tokio::sync::oneshot::Receiver<u64>;
    type Sender = tokio::sync::oneshot::Sender<u64>;
    type Error = tokio::sync::oneshot::error::RecvError;
    const NAME: &'static str = "tokio::sync::oneshot";
    fn pair(&self) -> (Self::Receiver, Self::Sender) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (rx, tx)
    }
    fn complete(sender: Self::Sender, value: u64) {
        let _ = sender.send(value);
    }
}

/// Reads 16-byte requests `(id, payload)` and answers `(id, 2 * payload)`.
async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let (stream, _) = listener.accept().await?;
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    let (mut read, mut write) = (BufReader::new(read), BufWriter::new(write));
    let mut frame = [0u8; 16];
    loop {
        match read.read_exact(&mut frame).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let payload = u64::from_le_bytes(frame[8..].try_into().unwrap());
        frame[8..].copy_from_slice(&(payload * 2).to_le_bytes());
        write.write_all(&frame).await?;
        if read.buffer().is_empty() {
            write.flush().await?;
        }
    }
}

/// Run `requests` (plus the warm-up) through one connection; returns (requests/s,
/// allocations per request) over the measured part.
async fn client<R: Rendezvous>(rendezvous: R, requests: u64) -> (f64, f64) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener));
    let stream = TcpStream::connect(addr).await.expect("connect loopback");
    stream.set_nodelay(true).unwrap();
    let (read, write) = stream.into_split();
    let mut write = BufWriter::new(write);

    // The pending table: request id modulo WINDOW → the sender that completes it.
    let pending: Arc<Mutex<Vec<Option<R::Sender>>>> =
        Arc::new(Mutex::new((0..WINDOW).map(|_| None).collect()));
    let total = WARM_UP + requests;
    let reader = {
        let pending = Arc::clone(&pending);
        tokio::spawn(async move {
            let mut read = BufReader::new(read);
            let mut frame = [0u8; 16];
            for _ in 0..total {
                read.read_exact(&mut frame).await.expect("response");
                let id = u64::from_le_bytes(frame[..8].try_into().unwrap());
                let value = u64::from_le_bytes(frame[8..].try_into().unwrap());
                let sender = pending.lock().unwrap()[(id as usize) % WINDOW]
                    .take()
                    .expect("a response matches a pending request");
                R::complete(sender, value);
            }
        })
    };

    let mut in_flight: VecDeque<(u64, R::Receiver)> = VecDeque::with_capacity(WINDOW);
    let (mut started, mut allocs_before) = (Instant::now(), 0);
    for id in 0..total {
        if id == WARM_UP {
            // Drain the warm-up so the measured part starts from an empty window.
            write.flush().await.unwrap();
            while let Some((expected, rx)) = in_flight.pop_front() {
                assert_eq!(rx.await.expect("response"), expected * 2);
            }
            started = Instant::now();
            allocs_before = allocations();
        }
        if in_flight.len() == WINDOW {
            write.flush().await.unwrap();
            let (expected, rx) = in_flight.pop_front().unwrap();
            assert_eq!(rx.await.expect("response"), expected * 2);
        }
        let (rx, tx) = rendezvous.pair();
        pending.lock().unwrap()[(id as usize) % WINDOW] = Some(tx);
        let mut frame = [0u8; 16];
        frame[..8].copy_from_slice(&id.to_le_bytes());
        frame[8..].copy_from_slice(&id.to_le_bytes());
        write.write_all(&frame).await.unwrap();
        in_flight.push_back((id, rx));
    }
    write.flush().await.unwrap();
    while let Some((expected, rx)) = in_flight.pop_front() {
        assert_eq!(rx.await.expect("response"), expected * 2);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let allocs = allocations() - allocs_before;
    reader.await.unwrap();
    drop(write);
    server.await.unwrap().unwrap();
    (requests as f64 / elapsed, allocs as f64 / requests as f64)
}

/// Run one variant and print its line; panics if it exceeds its deadline.
fn run<R: Rendezvous>(runtime: &tokio::runtime::Runtime, rendezvous: R, requests: u64) {
    let deadline = DEADLINE + DEADLINE_PER_REQUEST * u32::try_from(requests).unwrap_or(u32::MAX);
    let (rps, apr) = runtime
        .block_on(async { tokio::time::timeout(deadline, client(rendezvous, requests)).await })
        .unwrap_or_else(|_| panic!("{}: {requests} requests took over {deadline:?}", R::NAME));
    println!("{:<28} {:>12.0} {:>16.3}", R::NAME, rps, apr);
}

fn main() {
    let args = Args::from_env("loopback_rpc", "[--requests N]");
    let requests: u64 = args.get("--requests", 200_000, |&n| {
        (n > 0)
            .then_some(())
            .ok_or("a positive count of requests".to_string())
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("{requests} pipelined requests over loopback TCP, {WINDOW} in flight, after {WARM_UP} warm-up requests");
    println!(
        "{:<28} {:>12} {:>16}",
        "completion per request", "requests/s", "allocs/request"
    );
    for round in 0..2 {
        run(&runtime, Pooled(CompletionPool::new()), requests);
        run(&runtime, Oneshot, requests);
        if round == 0 {
            println!("(second round, same process)");
        }
    }
}

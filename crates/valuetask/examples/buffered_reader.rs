//! .NET's `ReadAsync` pattern: a buffered reader whose `read` completes synchronously from its
//! buffer and suspends only to refill it from the socket, over a real loopback TCP connection.
//!
//! Each read is a call through `dyn`, as .NET's virtual `Stream.ReadAsync` is. As a
//! `#[value_task]` method a read served from the buffer is a ready value task: its body
//! runs to its end at the call (in a pooled block, given back at once), no allocation. The same reader behind `#[async_trait]` (a `Pin<Box<dyn Future>>` per call)
//! boxes every read. Errors are values (`io::Result`), as `ValueTask<int>` carries them in
//! .NET without a faulted `Task`.
//!
//! A server task in the same process writes a known byte stream and closes; each reader reads
//! it to the end in small reads and checks every byte.
//!
//! ```sh
//! cargo run --release --example buffered_reader
//! cargo run --release --example buffered_reader -- --mib 8 --read-size 16
//! ```

#[path = "support/mod.rs"]
mod support;

use std::io;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use valuetask::value_task;

use support::{allocations, progress, Args, CountingAllocator};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PROCESS;

/// The reader's buffer.
const BUFFER: usize = 16 * 1024;
/// The longest a reader may take (a lost byte fails the run instead of hanging it), plus
/// `DEADLINE_PER_READ` for each read the arguments ask for.
const DEADLINE: Duration = Duration::from_secs(60);
/// Far above a read's cost on any host this runs on.
const DEADLINE_PER_READ: Duration = Duration::from_micros(1);
/// Measured rounds per version; the fastest is reported.
const ROUNDS: usize = 5;

/// A reader as `#[value_task]` gives it.
#[value_task]
trait Read: Send {
    /// Up to `buf.len()` bytes into `buf`; `Ok(0)` at the end of the stream.
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

/// The same reader as `#[async_trait]` gives it.
#[async_trait]
trait BoxedRead: Send {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

/// Reads from a socket through a buffer; counts its refills.
struct BufferedReader {
    stream: TcpStream,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    refills: u64,
}

impl BufferedReader {
    fn new(stream: TcpStream) -> Self {
        BufferedReader {
            stream,
            buffer: vec![0; BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            refills: 0,
        }
    }

    /// Copy buffered bytes out: the synchronous part of a read.
    fn take(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.end - self.start);
        buf[..n].copy_from_slice(&self.buffer[self.start..self.start + n]);
        self.start += n;
        n
    }

    /// Refill the empty buffer from the socket (the part that may suspend). Cancel-safe: the
    /// positions change only once the bytes are in (a read dropped while it waits leaves the
    /// buffer empty, not its old bytes counted again). A read is not cancel-safe as a whole,
    /// by eager start: one whose bytes were there runs to its end at the call, so dropping
    /// its value task unawaited (a losing `select!` branch) drops the count of bytes it
    /// already copied into `buf` and took from the buffer.
    async fn refill(&mut self) -> io::Result<()> {
        let read = self.stream.read(&mut self.buffer).await?;
        self.start = 0;
        self.end = read;
        self.refills += 1;
        Ok(())
    }
}

#[value_task]
impl Read for BufferedReader {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            self.refill().await?;
        }
        Ok(self.take(buf))
    }
}

#[async_trait]
impl BoxedRead for BufferedReader {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            self.refill().await?;
        }
        Ok(self.take(buf))
    }
}

/// The stream the server writes repeats this many bytes (a prime, so no read size lines up
/// with it).
const PERIOD: usize = 4093;

/// One period of the stream.
fn pattern() -> Vec<u8> {
    (0..PERIOD as u64)
        .map(|i| (i.wrapping_mul(31).wrapping_add(i >> 7) % 251) as u8)
        .collect()
}

/// Whether `bytes`, read at `offset` of the stream, are what the server wrote.
fn matches(pattern: &[u8], offset: u64, mut bytes: &[u8]) -> bool {
    let mut at = (offset % PERIOD as u64) as usize;
    while !bytes.is_empty() {
        let n = bytes.len().min(PERIOD - at);
        if bytes[..n] != pattern[at..at + n] {
            return false;
        }
        bytes = &bytes[n..];
        at = 0;
    }
    true
}

/// Accept one connection and write `total` bytes of the known stream to it, then close.
async fn serve(listener: &TcpListener, total: u64) -> io::Result<()> {
    let (mut socket, _) = listener.accept().await?;
    let pattern = pattern();
    let mut sent = 0;
    while sent < total {
        let at = (sent % PERIOD as u64) as usize;
        let n = (PERIOD - at).min((total - sent) as usize);
        socket.write_all(&pattern[at..at + n]).await?;
        sent += n as u64;
    }
    socket.shutdown().await
}

/// What reading the whole stream measured.
struct Measured {
    reads: u64,
    refills: u64,
    elapsed: Duration,
    allocations: u64,
}

/// Read the stream to its end through `read`, `read_size` bytes at a time, checking every
/// byte. Allocations and time count the reads alone (the connection is set up before).
async fn read_all<F>(
    reader: &mut BufferedReader,
    read_size: usize,
    total: u64,
    mut read: F,
) -> io::Result<Measured>
where
    F: AsyncFnMut(&mut BufferedReader, &mut [u8]) -> io::Result<usize>,
{
    let mut buf = vec![0u8; read_size];
    let pattern = pattern();
    let (mut offset, mut reads) = (0u64, 0u64);
    let before = allocations();
    let start = Instant::now();
    loop {
        let n = read(reader, &mut buf).await?;
        reads += 1;
        if n == 0 {
            break;
        }
        if !matches(&pattern, offset, &buf[..n]) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the {n} bytes read at offset {offset} are not what the server wrote"),
            ));
        }
        offset += n as u64;
    }
    let (elapsed, allocations) = (start.elapsed(), allocations() - before);
    if offset != total {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("read {offset} bytes, the server wrote {total}"),
        ));
    }
    Ok(Measured {
        reads,
        refills: reader.refills,
        elapsed,
        allocations,
    })
}

/// One version's run: a fresh connection to a fresh server task, read to the end.
async fn measure(version: &str, total: u64, read_size: usize) -> io::Result<Measured> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { serve(&listener, total).await });
    let mut reader = BufferedReader::new(TcpStream::connect(address).await?);
    // Each read through `dyn` (as .NET's virtual `Stream.ReadAsync`), the reference hidden
    // from the optimizer so that neither call is devirtualized and inlined into the loop.
    let measured = match version {
        "#[value_task]" => {
            read_all(&mut reader, read_size, total, async |r, buf| {
                let r: &mut dyn Read = std::hint::black_box(r);
                r.read(buf).await
            })
            .await
        }
        _ => {
            read_all(&mut reader, read_size, total, async |r, buf| {
                let r: &mut dyn BoxedRead = std::hint::black_box(r);
                r.read(buf).await
            })
            .await
        }
    }?;
    server.await.map_err(io::Error::other)??;
    Ok(measured)
}

fn main() {
    let args = Args::from_env("buffered_reader", "[--mib N] [--read-size BYTES]");
    let mib: u64 = args.get("--mib", 32, |&n| {
        (1..=4096)
            .contains(&n)
            .then_some(())
            .ok_or("1 to 4096 MiB".to_string())
    });
    let read_size: usize = args.get("--read-size", 64, |&n| {
        (1..=BUFFER)
            .contains(&n)
            .then_some(())
            .ok_or(format!("1 to {BUFFER} bytes (the buffer's size)"))
    });
    let total = mib * 1024 * 1024;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("cannot start tokio");
    println!(
        "{mib} MiB over loopback TCP, read {read_size} bytes at a time through a {BUFFER}-byte buffer, best of {ROUNDS} runs"
    );
    println!(
        "{:<15} {:>10} {:>12} {:>12} {:>14}",
        "version", "reads", "reads/s", "allocs/read", "from buffer"
    );
    // Rounds alternate the versions, so a noisy moment costs both alike; each version's
    // fastest round is reported.
    let versions = ["#[value_task]", "#[async_trait]"];
    let mut best: [Option<Measured>; 2] = [None, None];
    let deadline =
        DEADLINE + DEADLINE_PER_READ * u32::try_from(total / read_size as u64).unwrap_or(u32::MAX);
    for round in 0..ROUNDS {
        progress("reading, round", round as u64, ROUNDS as u64);
        for (v, version) in versions.into_iter().enumerate() {
            let measured = runtime
                .block_on(async {
                    tokio::time::timeout(deadline, measure(version, total, read_size)).await
                })
                .unwrap_or_else(|_| panic!("{version}: not done after {deadline:?}"))
                .unwrap_or_else(|e| panic!("{version}: {e}"));
            if best[v]
                .as_ref()
                .is_none_or(|b| measured.elapsed < b.elapsed)
            {
                best[v] = Some(measured);
            }
        }
    }
    progress("reading, round", ROUNDS as u64, ROUNDS as u64);
    let mut rates = Vec::new();
    for (version, measured) in versions.into_iter().zip(&best) {
        let measured = measured.as_ref().expect("measured");
        let rate = measured.reads as f64 / measured.elapsed.as_secs_f64();
        rates.push(rate);
        println!(
            "{:<15} {:>10} {:>12.0} {:>12.4} {:>13.2}%",
            version,
            measured.reads,
            rate,
            measured.allocations as f64 / measured.reads as f64,
            100.0 * (measured.reads - measured.refills) as f64 / measured.reads as f64,
        );
    }
    println!(
        "#[value_task] against #[async_trait]: {:.2}x the reads per second; every byte matched",
        rates[0] / rates[1]
    );
    // "from buffer" counts the reads that did not refill; a refill the socket answers at
    // once completes at the call too, so the advisor's "synchronous" share is higher.
    #[cfg(feature = "stats")]
    println!(
        "\nThe stats advisor (its synchronous calls include refills the socket answered at once):\n{}",
        valuetask::stats::report()
    );
}

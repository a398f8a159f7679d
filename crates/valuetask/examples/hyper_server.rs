//! A hyper 1.x HTTP/1.1 server on loopback whose handler is a tower stack (`map_request`,
//! `map_response`, a handler) erased twice, with tower's `BoxCloneService` and with
//! `valuetask::tower::BoxCloneService`, each driven by a client on the same machine over one
//! keep-alive connection for a bounded number of requests. It prints requests per second
//! and allocations per request (the whole process: client, server, hyper and the stack) for
//! both.
//!
//! ```sh
//! cargo run --release -p valuetask --features tower --example hyper_server -- --requests 20000
//! ```
//!
//! A request that crosses a socket is dominated by the socket and by hyper's own work, so
//! the ratio of requests per second moves little; what the erasure changes is an allocation
//! per request, and the example prints both as measured.

mod support;

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use support::{allocations, Args, CountingAllocator};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::{service_fn, Service, ServiceBuilder};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PROCESS;

const PROGRAM: &str = "hyper_server";
const USAGE: &str = "[--requests N] [--port P]   (defaults: 20000 requests, port 0: any free one)";

/// A response body of one chunk.
struct Full(Option<Bytes>);

impl Body for Full {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.take().map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |data| data.len() as u64))
    }
}

/// A tokio stream as hyper's IO (what `hyper_util::rt::TokioIo` does, without the crate).
struct Io(TcpStream);

impl hyper::rt::Read for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let filled = {
            // SAFETY: the bytes handed to tokio's `ReadBuf` are only written, never
            // de-initialized; `advance` below counts exactly those it filled.
            let mut tokio_buf = ReadBuf::uninit(unsafe { buf.as_mut() });
            match Pin::new(&mut self.0).poll_read(cx, &mut tokio_buf) {
                Poll::Ready(Ok(())) => tokio_buf.filled().len(),
                other => return other,
            }
        };
        // SAFETY: `filled` bytes were initialized by the read above.
        unsafe { buf.advance(filled) };
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A tower service as hyper's (`call(&self)`), for one connection: hyper serves a
/// connection's requests one after another, so the service is borrowed once per request.
/// The stacks here are always ready; a stack that is not would need `poll_ready` awaited
/// first (hyper_util's adapter clones the service per request for that: a box per request
/// for tower's erased services, pooled storage for valuetask's).
struct PerConnection<S>(RefCell<S>);

impl<S> hyper::service::Service<Request<Incoming>> for PerConnection<S>
where
    S: Service<Request<Incoming>, Response = Response<Full>, Error = Infallible>,
{
    type Response = Response<Full>;
    type Error = Infallible;
    type Future = S::Future;

    fn call(&self, request: Request<Incoming>) -> S::Future {
        let mut service = self.0.borrow_mut();
        match service.poll_ready(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(())) => service.call(request),
            _ => unreachable!("the example's stacks are always ready"),
        }
    }
}

/// The stack: a request's path length into the handler, whose answer gets a header.
fn stack() -> impl Service<
    Request<Incoming>,
    Response = Response<Full>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
       + Send
       + 'static {
    ServiceBuilder::new()
        .map_request(|request: Request<Incoming>| request.uri().path().len())
        .map_response(|mut response: Response<Full>| {
            response
                .headers_mut()
                .insert("x-erased", hyper::header::HeaderValue::from_static("yes"));
            response
        })
        .service(service_fn(|length: usize| async move {
            let body = if length == 1 { "hello" } else { "hello, path" };
            Ok::<_, Infallible>(Response::new(Full(Some(Bytes::from_static(
                body.as_bytes(),
            )))))
        }))
}

/// Serve one connection on `listener` with `service`.
async fn serve<S>(listener: &TcpListener, service: S) -> io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<Full>, Error = Infallible>,
    S::Future: 'static,
{
    let (stream, _) = listener.accept().await?;
    stream.set_nodelay(true)?;
    hyper::server::conn::http1::Builder::new()
        .serve_connection(Io(stream), PerConnection(RefCell::new(service)))
        .await
        .map_err(io::Error::other)
}

/// Send `requests` requests over one connection to `address`, reading every body; the
/// number of body bytes read.
async fn client(address: SocketAddr, requests: u64, label: &str) -> io::Result<u64> {
    let stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(Io(stream))
        .await
        .map_err(io::Error::other)?;
    let driver = tokio::task::spawn_local(connection);
    let mut bytes = 0;
    for done in 0..requests {
        poll_fn(|cx| sender.poll_ready(cx))
            .await
            .map_err(io::Error::other)?;
        let request = Request::get("/")
            .body(Full(None))
            .map_err(io::Error::other)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(io::Error::other)?;
        if response.headers().get("x-erased").is_none() {
            return Err(io::Error::other("the stack's header is missing"));
        }
        let mut body = response.into_body();
        while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            if let Ok(data) = frame.map_err(io::Error::other)?.into_data() {
                bytes += data.len() as u64;
            }
        }
        if (done + 1) % 5000 == 0 || done + 1 == requests {
            support::progress(label, done + 1, requests);
        }
    }
    drop(sender);
    let _ = driver.await;
    Ok(bytes)
}

/// Requests per second and allocations per request of one run over a fresh listener.
async fn run<S>(listener: &TcpListener, service: S, requests: u64, label: &str) -> (f64, f64)
where
    S: Service<Request<Incoming>, Response = Response<Full>, Error = Infallible>,
    S::Future: 'static,
{
    let address = listener
        .local_addr()
        .expect("a bound listener has an address");
    let before = allocations();
    let start = Instant::now();
    let (served, read) = tokio::join!(serve(listener, service), client(address, requests, label));
    let elapsed = start.elapsed().as_secs_f64();
    let allocated = allocations() - before;
    if let Err(e) = served {
        support::fail(PROGRAM, &format!("the server failed: {e}"));
    }
    match read {
        Ok(bytes) if bytes == 5 * requests => {}
        Ok(bytes) => support::fail(
            PROGRAM,
            &format!("read {bytes} body bytes, not {}", 5 * requests),
        ),
        Err(e) => support::fail(PROGRAM, &format!("the client failed: {e}")),
    }
    (
        requests as f64 / elapsed,
        allocated as f64 / requests as f64,
    )
}

fn main() {
    let args = Args::from_env(PROGRAM, USAGE);
    let requests: u64 = args.get("--requests", 20_000, |&n| {
        if n == 0 {
            Err("the request count must be at least 1".into())
        } else {
            Ok(())
        }
    });
    let port: u16 = args.get("--port", 0, |_| Ok(()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a current-thread runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = match TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(e) => support::fail(PROGRAM, &format!("cannot listen on {address}: {e}")),
        };
        // A warm-up of each, then two measured runs of each in the order tower, ours, ours,
        // tower (neither side always goes first); each side's better run is reported.
        let warm = (requests / 10).max(1);
        let tower_stack = || tower::util::BoxCloneService::new(stack());
        let our_stack = || valuetask::tower::BoxCloneService::new(stack());
        run(&listener, tower_stack(), warm, "warm-up, tower").await;
        run(&listener, our_stack(), warm, "warm-up, valuetask").await;
        let tower_first = run(&listener, tower_stack(), requests, "tower BoxCloneService").await;
        let ours_first = run(
            &listener,
            our_stack(),
            requests,
            "valuetask BoxCloneService",
        )
        .await;
        let ours_second = run(
            &listener,
            our_stack(),
            requests,
            "valuetask BoxCloneService",
        )
        .await;
        let tower_second = run(&listener, tower_stack(), requests, "tower BoxCloneService").await;
        let better = |a: (f64, f64), b: (f64, f64)| if a.0 >= b.0 { a } else { b };
        let (tower_rps, tower_allocs) = better(tower_first, tower_second);
        let (our_rps, our_allocs) = better(ours_first, ours_second);
        println!("\n{requests} requests over one keep-alive connection on loopback, per erasure:");
        println!(
            "{:<28} {:>14} {:>22}",
            "erasure", "requests/s", "allocations/request"
        );
        println!(
            "{:<28} {:>14.0} {:>22.2}",
            "tower BoxCloneService", tower_rps, tower_allocs
        );
        println!(
            "{:<28} {:>14.0} {:>22.2}",
            "valuetask BoxCloneService", our_rps, our_allocs
        );
        println!(
            "valuetask against tower: {:.2}x the requests per second, {:+.2} allocations per \
             request. A request that crosses a socket is dominated by the socket and by hyper's \
             own work (both counted above, client and server): the erasure is a small part of it.",
            our_rps / tower_rps,
            our_allocs - tower_allocs
        );
    });
}

//! hyper 1.x on gmp streams, gmp's executor and gmp's timer (feature
//! `hyper`): HTTP/1.1 with keep-alive, HTTP/2 with many concurrent streams,
//! `Io<T>` over a `UnixStream` pair.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gmp::compat::hyper::{Executor, Io, Timer};
use gmp::net::{TcpListener, TcpStream, UnixStream};
use gmp::time::timeout;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

/// Bounds every wait so a lost wake-up fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(60);

/// Answers "hello <path>", counting requests.
async fn hello(
    req: Request<Incoming>,
    count: Arc<AtomicUsize>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    count.fetch_add(1, Ordering::Relaxed);
    Ok(Response::new(Full::new(Bytes::from(format!(
        "hello {}",
        req.uri().path()
    )))))
}

async fn body_text(resp: Response<Incoming>) -> String {
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

#[gmp::test(procs = 2)]
async fn http1_server_and_client_on_gmp_streams_with_keep_alive_and_the_gmp_timer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let served = count.clone();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = connections.clone();
    gmp::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            accepted.fetch_add(1, Ordering::Relaxed);
            let count = served.clone();
            gmp::spawn(async move {
                let service = hyper::service::service_fn(move |req| hello(req, count.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .header_read_timeout(Duration::from_secs(30))
                    .keep_alive(true)
                    .serve_connection(stream, service)
                    .await;
            });
        }
    });
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream)
        .await
        .expect("handshake");
    gmp::spawn(conn);
    // Ten requests, one after the other, on one kept-alive connection.
    for i in 0..10 {
        // A kept-alive HTTP/1 connection takes the next request once the
        // previous response is done: wait for it.
        timeout(LIMIT, sender.ready())
            .await
            .expect("connection never ready")
            .expect("connection closed");
        let req = Request::get(format!("/r{i}"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let resp = timeout(LIMIT, sender.send_request(req))
            .await
            .expect("request stalled")
            .expect("send_request");
        assert_eq!(resp.status(), 200);
        assert_eq!(body_text(resp).await, format!("hello /r{i}"));
    }
    assert_eq!(count.load(Ordering::Relaxed), 10);
    assert_eq!(
        connections.load(Ordering::Relaxed),
        1,
        "keep-alive reused the connection"
    );
}

#[gmp::test(procs = 4)]
async fn http2_many_concurrent_streams_on_the_gmp_executor() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let served = count.clone();
    gmp::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let service = hyper::service::service_fn(move |req| hello(req, served.clone()));
        let _ = hyper::server::conn::http2::Builder::new(Executor)
            .timer(Timer)
            .max_concurrent_streams(200)
            .serve_connection(stream, service)
            .await;
    });
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http2::Builder::new(Executor)
        .timer(Timer)
        .handshake(stream)
        .await
        .expect("h2 handshake");
    gmp::spawn(conn);
    let requests: Vec<_> = (0..100)
        .map(|i| {
            let mut sender = sender.clone();
            gmp::spawn(async move {
                let req = Request::get(format!("http://localhost/s{i}"))
                    .body(Full::new(Bytes::new()))
                    .expect("request");
                let resp = sender.send_request(req).await.expect("h2 request");
                (i, body_text(resp).await)
            })
        })
        .collect();
    for handle in requests {
        let (i, text) = timeout(LIMIT, handle)
            .await
            .expect("h2 stream stalled")
            .expect("task");
        assert_eq!(text, format!("hello /s{i}"));
    }
    assert_eq!(count.load(Ordering::Relaxed), 100);
}

#[gmp::test(procs = 2)]
async fn io_adapter_serves_http1_over_a_unix_stream_pair() {
    let (server, client) = UnixStream::pair().expect("pair");
    let count = Arc::new(AtomicUsize::new(0));
    let served = count.clone();
    gmp::spawn(async move {
        let service = hyper::service::service_fn(move |req| hello(req, served.clone()));
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(Io::new(server), service)
            .await;
    });
    let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::new(client))
        .await
        .expect("handshake");
    gmp::spawn(conn);
    let req = Request::get("/unix")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = timeout(LIMIT, sender.send_request(req))
        .await
        .expect("request stalled")
        .expect("send_request");
    assert_eq!(body_text(resp).await, "hello /unix");
    assert_eq!(count.load(Ordering::Relaxed), 1);
}

#[gmp::test(procs = 1)]
async fn hyper_timer_sleeps_and_resets_on_gmp_time() {
    use hyper::rt::Timer as _;
    let start = std::time::Instant::now();
    let mut sleep = Timer.sleep(Duration::from_secs(3600));
    Timer.reset(
        &mut sleep,
        std::time::Instant::now() + Duration::from_millis(2),
    );
    timeout(LIMIT, sleep)
        .await
        .expect("reset sleep never fired");
    assert!(start.elapsed() >= Duration::from_millis(2));
}

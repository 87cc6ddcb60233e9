//! What the tokio bridge (`gmp::compat::tokio::compat`) costs per request.
//!
//! ```text
//! cargo bench --bench tokio_bridge            # 7 rounds of 2 000 requests per client
//! cargo bench --bench tokio_bridge -- 5 1000  # rounds, requests per round
//! ```
//!
//! One gmp hyper HTTP/1.1 server (2 Ps) in this process answers "pong"; three
//! clients each send `requests` GETs, one after the other on one kept-alive
//! connection:
//!
//! * `hyper-on-gmp`: hyper's client on a `gmp::net::TcpStream`, a gmp task,
//!   no tokio anywhere (the floor);
//! * `reqwest-via-bridge`: reqwest inside `compat`, a gmp task: reqwest's
//!   connection is a tokio socket driven by the `gmp-tokio` thread, its
//!   wakes come back to gmp as remote wakes;
//! * `reqwest-on-tokio`: reqwest on a tokio current-thread runtime of its
//!   own thread, no bridge (what a tokio program pays).
//!
//! The metric is process CPU time (user + system, `getrusage(RUSAGE_SELF)`,
//! so the server, the client and the `gmp-tokio` thread all count) per
//! request, plus wall time per request; the clients run interleaved, round
//! after round, and the table gives the median over rounds with min–max.
//! CPU time, not wall time, is the figure to read on a loaded machine.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gmp::compat::hyper::Timer;
use gmp::compat::tokio::compat;
use gmp::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Response;

/// Process CPU time (user + system) so far.
fn cpu_time() -> Duration {
    // SAFETY: all-zero bytes are a valid `rusage`; getrusage only writes it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The gmp hyper server.
async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        gmp::spawn(async move {
            let service = hyper::service::service_fn(|_req| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"pong"))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(Timer)
                .serve_connection(stream, service)
                .await;
        });
    }
}

/// hyper's client on gmp: `n` requests on one connection.
async fn hyper_client(addr: SocketAddr, n: usize) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream)
        .await
        .expect("handshake");
    gmp::spawn(conn);
    for _ in 0..n {
        sender.ready().await.expect("connection ready");
        let req = hyper::Request::get("/")
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .expect("request");
        let resp = sender.send_request(req).await.expect("send");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(body, "pong");
    }
}

/// reqwest: `n` requests with one client (one kept-alive connection).
async fn reqwest_client(addr: SocketAddr, n: usize) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = format!("http://{addr}/");
    for _ in 0..n {
        let body = client
            .get(&url)
            .send()
            .await
            .expect("send")
            .bytes()
            .await
            .expect("body");
        assert_eq!(body, "pong");
    }
}

/// Runs one client variant; returns (CPU, wall) per request.
fn measure(name: &str, rt: &gmp::Runtime, addr: SocketAddr, n: usize) -> (Duration, Duration) {
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    match name {
        "hyper-on-gmp" => rt.block_on(rt.spawn(hyper_client(addr, n))).expect("task"),
        "reqwest-via-bridge" => rt
            .block_on(rt.spawn(compat(reqwest_client(addr, n))))
            .expect("task"),
        "reqwest-on-tokio" => std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(reqwest_client(addr, n))
        })
        .join()
        .expect("tokio client thread"),
        other => panic!("unknown client {other}"),
    }
    let per = |d: Duration| d / n as u32;
    (per(cpu_time() - cpu0), per(wall0.elapsed()))
}

/// Median, min and max.
fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(7);
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let rt = gmp::Runtime::builder()
        .max_procs(2)
        .build()
        .expect("gmp runtime");
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(serve(listener));
    let names = ["hyper-on-gmp", "reqwest-via-bridge", "reqwest-on-tokio"];
    // Warm-up: start the bridge's thread, fault in the code paths.
    for name in names {
        measure(name, &rt, addr, n / 10 + 1);
    }
    let mut cpu: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut wall: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    for _ in 0..rounds {
        for (i, name) in names.iter().enumerate() {
            let (c, w) = measure(name, &rt, addr, n);
            cpu[i].push(c);
            wall[i].push(w);
        }
    }
    println!(
        "{rounds} rounds x {n} requests per client, interleaved; median (min-max) per request"
    );
    println!("| client | CPU time | wall time |");
    println!("|---|---|---|");
    for (i, name) in names.iter().enumerate() {
        let (cm, clo, chi) = stats(cpu[i].clone());
        let (wm, wlo, whi) = stats(wall[i].clone());
        println!("| {name} | {cm:.1?} ({clo:.1?}-{chi:.1?}) | {wm:.1?} ({wlo:.1?}-{whi:.1?}) |");
    }
}

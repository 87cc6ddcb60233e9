//! reqwest, a tokio-only HTTP client, on gmp through the tokio bridge
//! (`gmp::compat::tokio::compat`), against a local gmp hyper server: no
//! network beyond 127.0.0.1.
//!
//! ```text
//! cargo run --release --example reqwest -- 100
//! ```
//!
//! The argument is the number of requests (default 10); it prints the
//! answers' total size and the time they took.

use std::convert::Infallible;
use std::time::Instant;

use gmp::compat::hyper::Timer;
use gmp::compat::tokio::compat;
use gmp::net::TcpListener;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Response;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A gmp hyper server answering "pong" on every path.
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

#[gmp::main]
async fn main() -> Result<(), Error> {
    let n: usize = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("the number of requests {arg:?} is not a number"))?,
        None => 10,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    gmp::spawn(serve(listener));
    // reqwest needs a tokio context (for its connector and timers): compat.
    let (bytes, elapsed) = compat(async move {
        let client = reqwest::Client::builder().no_proxy().build()?;
        let start = Instant::now();
        let mut bytes = 0;
        for i in 0..n {
            let resp = client.get(format!("http://{addr}/ping/{i}")).send().await?;
            bytes += resp.bytes().await?.len();
        }
        Ok::<_, reqwest::Error>((bytes, start.elapsed()))
    })
    .await?;
    println!("{n} requests, {bytes} bytes of answers, in {elapsed:?}");
    Ok(())
}

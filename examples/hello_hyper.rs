//! hyper 1.x on gmp: HTTP/1.1 and HTTP/2 (prior knowledge) on one port,
//! served by gmp tasks on gmp streams, with gmp's executor and timer.
//!
//! ```text
//! cargo run --release --example hello_hyper -- 127.0.0.1:3000
//! # elsewhere: curl http://127.0.0.1:3000/ ; curl --http2-prior-knowledge http://127.0.0.1:3000/
//! ```
//!
//! With `--self-test` it sends one HTTP/1.1 and one HTTP/2 request to itself,
//! prints the answers and exits. Ctrl-C stops the server.

use std::convert::Infallible;

use gmp::compat::hyper::{Executor, Timer};
use gmp::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::server::conn::auto;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let text = format!("Hello from gmp over {:?}\n", req.version());
    Ok(Response::new(Full::new(Bytes::from(text))))
}

/// Accepts forever; each connection is one gmp task speaking HTTP/1.1 or
/// HTTP/2, whichever the client starts with.
async fn serve(listener: TcpListener) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept: {e}"); // EMFILE: the next accept backs off
                continue;
            }
        };
        gmp::spawn(async move {
            let service = hyper::service::service_fn(hello);
            if let Err(e) = auto::Builder::new(Executor)
                .http1()
                .timer(Timer)
                .http2()
                .timer(Timer)
                .serve_connection(stream, service)
                .await
            {
                eprintln!("connection: {e}");
            }
        });
    }
}

/// One request over HTTP/1.1 and one over HTTP/2.
async fn self_test(addr: std::net::SocketAddr) -> Result<(), Error> {
    let (mut h1, conn) =
        hyper::client::conn::http1::handshake(TcpStream::connect(addr).await?).await?;
    gmp::spawn(conn);
    let req = Request::get("/")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))?;
    let body = h1
        .send_request(req)
        .await?
        .into_body()
        .collect()
        .await?
        .to_bytes();
    print!("HTTP/1.1: {}", String::from_utf8_lossy(&body));

    let (mut h2, conn) = hyper::client::conn::http2::Builder::new(Executor)
        .timer(Timer)
        .handshake(TcpStream::connect(addr).await?)
        .await?;
    gmp::spawn(conn);
    let req = Request::get(format!("http://{addr}/")).body(Full::new(Bytes::new()))?;
    let body = h2
        .send_request(req)
        .await?
        .into_body()
        .collect()
        .await?
        .to_bytes();
    print!("HTTP/2:   {}", String::from_utf8_lossy(&body));
    Ok(())
}

#[gmp::main]
async fn main() -> Result<(), Error> {
    let mut addr = String::from("127.0.0.1:3000");
    let mut test = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--self-test" => test = true,
            other => addr = other.to_owned(),
        }
    }
    if test {
        addr = String::from("127.0.0.1:0");
    }
    let listener = TcpListener::bind(addr.as_str()).await?;
    let local = listener.local_addr()?;
    let server = gmp::spawn(serve(listener));
    if test {
        return self_test(local).await;
    }
    println!("listening on http://{local} (HTTP/1.1 and HTTP/2), Ctrl-C to stop");
    gmp::signal::ctrl_c().await?;
    server.abort();
    println!("bye");
    Ok(())
}

//! An axum `Router` served on gmp through hyper-util's `TowerToHyperService`,
//! with graceful shutdown on Ctrl-C: the listener stops accepting, and
//! connections in flight finish their requests before the program exits.
//!
//! ```text
//! cargo run --release --example axum -- 127.0.0.1:3000
//! # elsewhere: curl http://127.0.0.1:3000/hello/you
//! ```
//!
//! With `--self-test` it requests `/hello/self` from itself and exits.

use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use futures::FutureExt;
use gmp::compat::hyper::{Executor, Timer};
use gmp::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "axum on gmp\n" }))
        .route(
            "/hello/{name}",
            get(|Path(name): Path<String>| async move { format!("hello {name}\n") }),
        )
}

/// Accepts until `stop` completes, then waits (at most 10 s) for the
/// connections in flight.
async fn serve(listener: TcpListener, stop: impl std::future::Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    let stop = stop.fuse();
    futures::pin_mut!(stop);
    loop {
        let accepted = futures::select! {
            conn = listener.accept().fuse() => conn,
            () = stop => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        let service = TowerToHyperService::new(app());
        let conn = auto::Builder::new(Executor)
            .http1()
            .timer(Timer)
            .serve_connection_with_upgrades(stream, service)
            .into_owned();
        let conn = graceful.watch(conn);
        gmp::spawn(async move {
            if let Err(e) = conn.await {
                eprintln!("connection: {e}");
            }
        });
    }
    match gmp::time::timeout(Duration::from_secs(10), graceful.shutdown()).await {
        Ok(()) => println!("all connections closed"),
        Err(_) => println!("gave up waiting for connections after 10 s"),
    }
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
    if test {
        let (done_tx, done_rx) = futures::channel::oneshot::channel::<()>();
        let server = gmp::spawn(serve(listener, async move {
            let _ = done_rx.await;
        }));
        let stream = TcpStream::connect(local).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
        let conn = gmp::spawn(conn);
        let req = hyper::Request::get("/hello/self")
            .header("host", "localhost")
            .body(Empty::<Bytes>::new())?;
        let body = sender
            .send_request(req)
            .await?
            .into_body()
            .collect()
            .await?
            .to_bytes();
        print!("{}", String::from_utf8_lossy(&body));
        drop(sender); // the client closes: the server's connection ends
        let _ = conn.await;
        let _ = done_tx.send(());
        server
            .await
            .map_err(|e| format!("the server task failed: {e}"))?;
        return Ok(());
    }
    println!("listening on http://{local}, Ctrl-C for a graceful shutdown");
    serve(listener, async {
        if let Err(e) = gmp::signal::ctrl_c().await {
            eprintln!("cannot listen for Ctrl-C: {e}");
            futures::future::pending::<()>().await;
        }
        println!("Ctrl-C: shutting down");
    })
    .await;
    Ok(())
}

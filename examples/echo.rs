//! A TCP echo server: every connection is a task that parks in the reactor
//! while it waits for bytes, not a thread.
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:7000
//! # elsewhere: nc 127.0.0.1 7000
//! ```
//!
//! With `--clients N` it also starts N clients against itself, checks every
//! echoed byte, prints the round trips per second and exits.

use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use gmp::net::{TcpListener, TcpStream};

#[gmp::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:7000");
    let mut clients = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--clients" => {
                let n = args.next().unwrap_or_default();
                clients = Some(n.parse::<usize>().map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("--clients {n:?} is not a number of clients"),
                    )
                })?);
            }
            other => addr = other.to_owned(),
        }
    }
    let listener = TcpListener::bind(addr.as_str()).await?;
    let local = listener.local_addr()?;
    println!("echo server on {local}");
    let server = gmp::spawn(serve(listener));
    match clients {
        None => server.await.expect("the accept loop does not panic"),
        Some(n) => load(local, n).await,
    }
}

/// Accepts forever; one task per connection.
async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                gmp::spawn(async move {
                    let (mut reader, mut writer) = stream.split();
                    if let Err(err) = futures::io::copy(&mut reader, &mut writer).await {
                        eprintln!("{peer}: {err}");
                    }
                });
            }
            // Out of descriptors or an aborted handshake: the loop goes on.
            Err(err) => {
                eprintln!("accept: {err}");
                gmp::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// `n` clients, 1,000 round trips of 64 bytes each.
async fn load(addr: std::net::SocketAddr, n: usize) -> std::io::Result<()> {
    const ROUNDS: usize = 1000;
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            gmp::spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let msg = [i as u8; 64];
                let mut back = [0u8; 64];
                for _ in 0..ROUNDS {
                    stream.write_all(&msg).await?;
                    stream.read_exact(&mut back).await?;
                    assert_eq!(back, msg, "client {i} got other bytes back");
                }
                Ok::<(), std::io::Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("client task does not panic")?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} clients x {ROUNDS} round trips: {:.0} round trips/s",
        (n * ROUNDS) as f64 / secs
    );
    Ok(())
}

//! gmp's time and net types inside tokio: the fallback driver runs the
//! reactor, tokio runs the tasks.

use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gmp_reactor::net::{TcpListener, TcpStream, UdpSocket};
use gmp_reactor::time::{interval, sleep, timeout, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gmp_sleep_and_timeout_work_in_tokio_multi_thread() {
    let start = Instant::now();
    sleep(Duration::from_millis(5)).await;
    assert!(start.elapsed() >= Duration::from_millis(5), "early sleep");
    let r = timeout(Duration::from_millis(2), futures::future::pending::<()>()).await;
    assert!(r.is_err(), "timeout did not elapse");
    let mut ticker = interval(Duration::from_millis(1));
    let a = ticker.tick().await;
    let b = ticker.tick().await;
    assert!(b > a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gmp_tcp_echo_across_tokio_tasks() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        for _ in 0..50 {
            let (stream, _) = listener.accept().await.expect("accept");
            tokio::spawn(async move {
                let (mut r, mut w) = (&stream, &stream);
                futures::io::copy(&mut r, &mut w).await.expect("copy");
                w.close().await.expect("close");
            });
        }
    });
    let clients: Vec<_> = (0..50u8)
        .map(|i| {
            tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.expect("connect");
                let msg = vec![i; 10_000];
                s.write_all(&msg).await.expect("write");
                s.close().await.expect("close");
                let mut back = Vec::new();
                s.read_to_end(&mut back).await.expect("read");
                assert!(back == msg, "client {i}: echo differs");
            })
        })
        .collect();
    for c in clients {
        c.await.expect("client task");
    }
    server.await.expect("server task");
}

#[tokio::test(flavor = "current_thread")]
async fn gmp_udp_in_tokio_current_thread() {
    let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind a");
    let b = UdpSocket::bind("127.0.0.1:0").await.expect("bind b");
    let mut buf = [0u8; 8];
    let (sent, got) = tokio::join!(
        async { a.send_to(b"tokio", b.local_addr().expect("addr")).await },
        b.recv_from(&mut buf)
    );
    assert_eq!(sent.expect("send"), 5);
    let (n, from) = got.expect("recv");
    assert_eq!(
        (&buf[..n], from),
        (&b"tokio"[..], a.local_addr().expect("addr"))
    );
}

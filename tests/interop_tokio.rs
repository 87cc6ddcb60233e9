//! The tokio bridge (feature `tokio`): tokio::spawn, tokio::time and
//! tokio::net inside `compat` on gmp tasks; tokio's I/O traits on gmp
//! streams.

use std::time::Duration;

use gmp::compat::tokio::{compat, handle};
use gmp::net::{TcpListener, TcpStream, UnixStream};
use gmp::time::timeout;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(60);

#[gmp::test(procs = 2)]
async fn tokio_spawn_time_and_net_work_inside_compat() {
    let out = timeout(
        LIMIT,
        compat(async {
            let start = tokio::time::Instant::now();
            tokio::time::sleep(Duration::from_millis(3)).await;
            assert!(start.elapsed() >= Duration::from_millis(3));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("tokio bind");
            let addr = listener.local_addr().expect("addr");
            let server = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.expect("tokio accept");
                let mut buf = [0; 4];
                s.read_exact(&mut buf).await.expect("tokio read");
                s.write_all(&buf).await.expect("tokio write");
                buf
            });
            let mut c = tokio::net::TcpStream::connect(addr)
                .await
                .expect("tokio connect");
            c.write_all(b"ping").await.expect("write");
            let mut back = [0; 4];
            c.read_exact(&mut back).await.expect("read");
            let served = server.await.expect("tokio task");
            (back, served)
        }),
    )
    .await
    .expect("compat future stalled");
    assert_eq!(out, (*b"ping", *b"ping"));
}

#[gmp::test(procs = 2)]
async fn compat_futures_run_as_gmp_tasks_and_share_one_tokio_runtime() {
    let ids: Vec<_> = (0..8)
        .map(|_| {
            gmp::spawn(compat(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                tokio::runtime::Handle::current().id()
            }))
        })
        .collect();
    for t in ids {
        let id = timeout(LIMIT, t).await.expect("stalled").expect("task");
        assert_eq!(id, handle().id());
    }
    // Outside compat there is no tokio context.
    assert!(tokio::runtime::Handle::try_current().is_err());
}

#[gmp::test(procs = 2)]
async fn tokio_io_traits_on_gmp_tcp_and_unix_streams() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mut client = TcpStream::connect(listener.local_addr().expect("addr"))
        .await
        .expect("connect");
    let (mut server, _) = listener.accept().await.expect("accept");
    // tokio's extension traits, no tokio runtime involved.
    AsyncWriteExt::write_all(&mut client, b"tokio-io")
        .await
        .expect("write");
    AsyncWriteExt::shutdown(&mut client)
        .await
        .expect("shutdown");
    let mut got = Vec::new();
    timeout(LIMIT, AsyncReadExt::read_to_end(&mut server, &mut got))
        .await
        .expect("read stalled")
        .expect("read");
    assert_eq!(got, b"tokio-io");
    let bufs = [
        std::io::IoSlice::new(b"ve"),
        std::io::IoSlice::new(b"ctored"),
    ];
    let (mut a, mut b) = UnixStream::pair().expect("pair");
    assert!(tokio::io::AsyncWrite::is_write_vectored(&a));
    let n = AsyncWriteExt::write_vectored(&mut a, &bufs)
        .await
        .expect("writev");
    assert_eq!(n, 8);
    let mut buf = [0; 8];
    AsyncReadExt::read_exact(&mut b, &mut buf)
        .await
        .expect("read");
    assert_eq!(&buf, b"vectored");
}

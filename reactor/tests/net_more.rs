//! The "Net, more" API: incoming, peek, split halves in two tasks, vectored
//! writes, std conversions, UnixDatagram, UDP poll forms and options,
//! TcpSocket.

use std::future::poll_fn;
use std::io::{IoSlice, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use futures::executor::block_on;
use futures::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use futures::StreamExt;
use gmp_reactor::net::{
    TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
};
use gmp_reactor::time::timeout;

/// Bounds every wait so a lost wake-up fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(30);

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr"))
        .await
        .expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    (client, server)
}

#[test]
fn incoming_yields_each_connection_in_order() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(TcpStream::connect(addr).await.expect("connect"));
        }
        let accepted: Vec<SocketAddr> = timeout(
            LIMIT,
            listener
                .incoming()
                .take(3)
                .map(|s| s.expect("accept").peer_addr().expect("peer"))
                .collect(),
        )
        .await
        .expect("incoming stalled");
        let mut want: Vec<_> = clients
            .iter()
            .map(|c| c.local_addr().expect("local"))
            .collect();
        let mut got = accepted;
        want.sort();
        got.sort();
        assert_eq!(got, want);
    });
}

#[test]
fn peek_leaves_the_bytes_for_the_next_read() {
    block_on(async {
        let (mut client, mut server) = pair().await;
        client.write_all(b"peekaboo").await.expect("write");
        server.readable().await.expect("readable");
        let mut buf = [0; 8];
        let mut n = 0;
        while n < 8 {
            n = server.peek(&mut buf).await.expect("peek");
        }
        assert_eq!(&buf, b"peekaboo");
        let mut again = [0; 8];
        server.read_exact(&mut again).await.expect("read");
        assert_eq!(&again, b"peekaboo");
        client.writable().await.expect("writable");
    });
}

#[test]
fn split_halves_echo_from_two_threads() {
    let (client, server) = block_on(pair());
    let (mut rd, mut wr) = server.into_split();
    // The server's halves live on two threads (two executors) at once.
    let echo = std::thread::spawn(move || {
        block_on(async move {
            let (tx, rx) = futures::channel::mpsc::unbounded::<Vec<u8>>();
            let reader = std::thread::spawn(move || {
                block_on(async move {
                    let mut buf = [0; 64];
                    loop {
                        let n = rd.read(&mut buf).await.expect("read half");
                        if n == 0 {
                            break;
                        }
                        tx.unbounded_send(buf[..n].to_vec()).expect("writer alive");
                    }
                })
            });
            let mut rx = rx;
            while let Some(chunk) = rx.next().await {
                wr.write_all(&chunk).await.expect("write half");
            }
            wr.close().await.expect("close write half");
            reader.join().expect("reader thread");
        })
    });
    block_on(async move {
        let mut client = client;
        let msg: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        client.write_all(&msg).await.expect("write");
        client.close().await.expect("close");
        let mut back = Vec::new();
        timeout(LIMIT, client.read_to_end(&mut back))
            .await
            .expect("echo stalled")
            .expect("read back");
        assert_eq!(back, msg);
    });
    echo.join().expect("echo thread");
}

#[test]
fn write_vectored_sends_every_slice_in_one_call() {
    block_on(async {
        let (mut client, mut server) = pair().await;
        let bufs = [IoSlice::new(b"GET / "), IoSlice::new(b"HTTP/1.1\r\n\r\n")];
        let n = poll_fn(|cx| Pin::new(&mut client).poll_write_vectored(cx, &bufs))
            .await
            .expect("writev");
        assert_eq!(n, 18, "one sendmsg takes both small slices");
        let mut got = [0; 18];
        server.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"GET / HTTP/1.1\r\n\r\n");

        let (mut a, mut b) = UnixStream::pair().expect("pair");
        let n = poll_fn(|cx| {
            Pin::new(&mut a).poll_write_vectored(cx, &[IoSlice::new(b"ab"), IoSlice::new(b"c")])
        })
        .await
        .expect("unix writev");
        assert_eq!(n, 3);
        let mut got = [0; 3];
        b.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"abc");
    });
}

#[test]
fn std_round_trips_keep_the_socket_working() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().expect("addr");
    let listener = TcpListener::from_std(std_listener).expect("from_std");
    let (client, server) = block_on(async {
        let client = TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        (client, server)
    });
    // Back to std: blocking I/O works once blocking mode is restored.
    let mut std_client = client.into_std().expect("into_std");
    std_client.set_nonblocking(false).expect("blocking");
    std_client.write_all(b"std").expect("std write");
    let mut server = server;
    let mut buf = [0; 3];
    block_on(server.read_exact(&mut buf)).expect("gmp read");
    assert_eq!(&buf, b"std");
    let std_listener = listener.into_std().expect("listener into_std");
    assert_eq!(std_listener.local_addr().expect("addr"), addr);
    let mut std_server = server.into_std().expect("server into_std");
    std_server.set_nonblocking(false).expect("blocking");
    drop(std_client);
    let mut rest = Vec::new();
    std_server.read_to_end(&mut rest).expect("eof");
    assert!(rest.is_empty());
}

#[test]
fn unix_datagram_bound_unbound_and_pair() {
    block_on(async {
        let path = std::env::temp_dir().join(format!("gmp-net-more-dgram-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).expect("bind");
        let client = UnixDatagram::unbound().expect("unbound");
        assert_eq!(client.send_to(b"to-path", &path).await.expect("send_to"), 7);
        let mut buf = [0; 16];
        let (n, _from) = timeout(LIMIT, server.recv_from(&mut buf))
            .await
            .expect("recv_from stalled")
            .expect("recv_from");
        assert_eq!(&buf[..n], b"to-path");
        client.connect(&path).expect("connect");
        client.send(b"connected").await.expect("send");
        let n = server.recv(&mut buf).await.expect("recv");
        assert_eq!(&buf[..n], b"connected");
        std::fs::remove_file(&path).expect("cleanup");

        let (a, b) = UnixDatagram::pair().expect("pair");
        // Datagram boundaries are kept.
        a.send(b"one").await.expect("send");
        a.send(b"two!").await.expect("send");
        assert_eq!(b.recv(&mut buf).await.expect("recv"), 3);
        assert_eq!(b.recv(&mut buf).await.expect("recv"), 4);
        // A receive that must wait is woken by the reactor.
        let (got, ()) = futures::join!(async { timeout(LIMIT, b.recv(&mut buf)).await }, async {
            gmp_reactor::time::sleep(Duration::from_millis(5)).await;
            a.send(b"late").await.expect("send");
        });
        assert_eq!(got.expect("recv stalled").expect("recv"), 4);
    });
}

#[test]
fn udp_poll_forms_and_options() {
    block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let b = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let to = b.local_addr().expect("addr");
        let mut buf = [0; 8];
        // A pending poll_recv_from registers and is woken by the send.
        let (got, sent) = futures::join!(
            timeout(LIMIT, poll_fn(|cx| b.poll_recv_from(cx, &mut buf))),
            async {
                gmp_reactor::time::sleep(Duration::from_millis(5)).await;
                poll_fn(|cx| a.poll_send_to(cx, b"quic", to)).await
            }
        );
        assert_eq!(sent.expect("send"), 4);
        let (n, from) = got.expect("poll_recv_from stalled").expect("recv");
        assert_eq!((n, from), (4, a.local_addr().expect("addr")));
        a.set_broadcast(true).expect("broadcast");
        assert!(a.broadcast().expect("broadcast"));
        a.set_ttl(9).expect("ttl");
        assert_eq!(a.ttl().expect("ttl"), 9);
        a.set_multicast_loop_v4(false).expect("loop");
        assert!(!a.multicast_loop_v4().expect("loop"));
        a.set_multicast_ttl_v4(4).expect("mttl");
        assert_eq!(a.multicast_ttl_v4().expect("mttl"), 4);
    });
}

#[test]
fn tcp_socket_reuseport_backlog_and_options() {
    block_on(async {
        let first = TcpSocket::new_v4().expect("socket");
        first.set_reuseport(true).expect("reuseport");
        first
            .bind("127.0.0.1:0".parse().expect("literal"))
            .expect("bind");
        let addr = first.local_addr().expect("addr");
        let first = first.listen(16).expect("listen");
        // A second listener on the same port: only with SO_REUSEPORT.
        let second = TcpSocket::new_v4().expect("socket");
        second.set_reuseport(true).expect("reuseport");
        second.bind(addr).expect("bind the same port");
        let _second = second.listen(16).expect("listen");

        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_keepalive(true).expect("keepalive");
        socket.set_nodelay(true).expect("nodelay");
        let stream = timeout(LIMIT, socket.connect(addr))
            .await
            .expect("connect stalled")
            .expect("connect");
        assert!(stream.keepalive().expect("keepalive"));
        assert!(stream.nodelay().expect("nodelay"));
        stream.set_linger(Some(Duration::ZERO)).expect("linger");
        assert_eq!(stream.linger().expect("linger"), Some(Duration::ZERO));
        let _ = first;
    });
}

#[test]
fn unix_accept_and_into_std() {
    block_on(async {
        let path = std::env::temp_dir().join(format!("gmp-net-more-ux-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind");
        let mut client = UnixStream::connect(&path).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        client.write_all(b"u").await.expect("write");
        let mut std_server = server.into_std().expect("into_std");
        std_server.set_nonblocking(false).expect("blocking");
        let mut buf = [0; 1];
        std_server.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"u");
        std::fs::remove_file(&path).expect("cleanup");
    });
}

#[test]
fn many_concurrent_host_name_lookups_all_resolve() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // 32 lookups at once share the resolver's few threads.
        let lookups = (0..32).map(|_| TcpStream::connect(("localhost", port)));
        let streams = timeout(LIMIT, futures::future::join_all(lookups))
            .await
            .expect("lookups stalled");
        let ok = streams.iter().filter(|s| s.is_ok()).count();
        assert_eq!(ok, 32, "{:?}", streams.iter().find(|s| s.is_err()));
    });
}

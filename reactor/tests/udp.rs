//! UDP through the fallback driver.

use std::io;

use futures::executor::block_on;
use gmp_reactor::net::UdpSocket;

#[test]
fn send_to_and_recv_from_carry_datagrams_both_ways() {
    block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        let mut buf = [0u8; 64];
        for i in 0..100u8 {
            a.send_to(&[i; 10], b.local_addr()?).await?;
            let (n, from) = b.recv_from(&mut buf).await?;
            assert_eq!((n, from), (10, a.local_addr()?));
            assert_eq!(&buf[..n], &[i; 10]);
            b.send_to(&buf[..n], from).await?;
            let (n, _) = a.recv_from(&mut buf).await?;
            assert_eq!(&buf[..n], &[i; 10]);
        }
        io::Result::Ok(())
    })
    .expect("udp");
}

#[test]
fn connected_sockets_use_send_and_recv() {
    block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        a.connect(b.local_addr()?).await?;
        b.connect(a.local_addr()?).await?;
        assert_eq!(a.peer_addr()?, b.local_addr()?);
        // recv first, so the task really parks before the datagram arrives.
        let mut buf = [0u8; 16];
        let (sent, got) = futures::join!(a.send(b"hello"), b.recv(&mut buf));
        assert_eq!(sent?, 5);
        assert_eq!(&buf[..got?], b"hello");
        io::Result::Ok(())
    })
    .expect("connected udp");
}

#[test]
fn bind_to_an_invalid_address_is_an_error() {
    // Not a literal (and no port): rejected, whatever the resolver says.
    assert!(block_on(UdpSocket::bind("256.0.0.1:0")).is_err());
    let err = block_on(UdpSocket::bind("no-port-here")).expect_err("bind");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

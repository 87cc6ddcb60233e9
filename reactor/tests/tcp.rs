//! TCP through the fallback driver (no gmp runtime): many connections, bulk
//! transfer, and the errors a server meets in practice.

use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::os::fd::AsRawFd;

use futures::executor::{block_on, LocalPool};
use futures::future::join_all;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::task::LocalSpawnExt;
use gmp_reactor::net::{TcpListener, TcpStream};

/// Raises the soft file-descriptor limit to the hard one (1,000 connections
/// need 2,000 descriptors; some CI machines start at 1,024).
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The bytes client `id` sends: distinct per client and per position.
fn pattern(id: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 31 + id * 7 + i / 251) as u8)
        .collect()
}

#[test]
fn echo_1000_concurrent_connections_every_byte_checked() {
    raise_fd_limit();
    const CLIENTS: usize = 1000;
    const LEN: usize = 4096;
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let listener = block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("local_addr");

    let server_spawner = spawner.clone();
    spawner
        .spawn_local(async move {
            loop {
                let (stream, _) = listener.accept().await.expect("accept");
                server_spawner
                    .spawn_local(async move {
                        let (mut r, mut w) = (&stream, &stream);
                        futures::io::copy(&mut r, &mut w).await.expect("echo copy");
                        w.close().await.expect("close");
                    })
                    .expect("spawn echo");
            }
        })
        .expect("spawn server");

    let clients = (0..CLIENTS).map(|id| async move {
        let stream = TcpStream::connect(addr).await?;
        let data = pattern(id, LEN);
        let (mut r, mut w) = (&stream, &stream);
        let write = async {
            w.write_all(&data).await?;
            w.close().await
        };
        let mut got = Vec::with_capacity(LEN);
        let read = r.read_to_end(&mut got);
        let (wrote, read) = futures::join!(write, read);
        wrote?;
        read?;
        assert!(
            got == data,
            "client {id}: echoed bytes differ from the bytes sent"
        );
        io::Result::Ok(())
    });
    let results = pool.run_until(join_all(clients));
    for (id, r) in results.into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("client {id} failed: {e}"));
    }
}

#[test]
fn transfer_64_mib_one_way_with_checksum() {
    const TOTAL: usize = 64 << 20;
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (mut server, _) = listener.accept().await?;

        let send = async {
            let mut chunk = vec![0u8; 64 * 1024];
            let mut sum = 0u64;
            let mut sent = 0;
            while sent < TOTAL {
                for (i, b) in chunk.iter_mut().enumerate() {
                    *b = ((sent + i) % 251) as u8;
                }
                client.write_all(&chunk).await?;
                sum = chunk
                    .iter()
                    .fold(sum, |s, &b| s.wrapping_mul(31).wrapping_add(b as u64));
                sent += chunk.len();
            }
            client.close().await?;
            io::Result::Ok(sum)
        };
        let recv = async {
            let mut buf = vec![0u8; 100_000];
            let mut sum = 0u64;
            let mut received = 0;
            loop {
                let n = server.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                sum = buf[..n]
                    .iter()
                    .fold(sum, |s, &b| s.wrapping_mul(31).wrapping_add(b as u64));
                received += n;
            }
            io::Result::Ok((sum, received))
        };
        let (sent_sum, recv) = futures::join!(send, recv);
        let (recv_sum, received) = recv?;
        assert_eq!(received, TOTAL, "bytes received");
        assert_eq!(sent_sum?, recv_sum, "checksum of received bytes");
        io::Result::Ok(())
    })
    .expect("transfer");
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    // Bind then drop a std listener: the port is (almost certainly) closed.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let err = block_on(TcpStream::connect(addr)).expect_err("connect should fail");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn peer_closing_with_linger_zero_resets_the_connection() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: the fd is open (owned by `server`); the struct outlives the call.
        let rc = unsafe {
            libc::setsockopt(
                server.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "setsockopt(SO_LINGER)");
        drop(server); // sends RST
        let mut buf = [0u8; 16];
        let err = client.read(&mut buf).await.expect_err("read after RST");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        io::Result::Ok(())
    })
    .expect("reset test");
}

#[test]
fn writing_to_a_closed_peer_is_an_error_not_a_signal() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        drop(server);
        // The first writes may succeed (buffered) until the RST comes back.
        let chunk = vec![7u8; 64 * 1024];
        let err = loop {
            match client.write(&chunk).await {
                Ok(_) => gmp_reactor::time::sleep(std::time::Duration::from_millis(1)).await,
                Err(e) => break e,
            }
        };
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "unexpected error writing to a closed peer: {err}"
        );
        io::Result::Ok(())
    })
    .expect("closed peer test");
}

#[test]
fn invalid_address_strings_are_errors() {
    block_on(async {
        let err = TcpListener::bind("not an address").await.expect_err("bind");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = TcpStream::connect("127.0.0.1:99999")
            .await
            .expect_err("connect");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = TcpStream::connect(&[][..]).await.expect_err("no addresses");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

#[test]
fn host_names_resolve_off_thread() {
    block_on(async {
        let listener = TcpListener::bind(("localhost", 0)).await?;
        let port = listener.local_addr()?.port();
        let stream = TcpStream::connect(("localhost", port)).await?;
        let (_server, _) = listener.accept().await?;
        stream.shutdown(Shutdown::Both)?;
        io::Result::Ok(())
    })
    .expect("localhost");
}

#[test]
fn nodelay_and_addresses() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, peer) = listener.accept().await?;
        assert_eq!(peer, client.local_addr()?);
        assert_eq!(server.peer_addr()?, client.local_addr()?);
        client.set_nodelay(true)?;
        assert!(client.nodelay()?);
        client.set_nodelay(false)?;
        assert!(!client.nodelay()?);
        io::Result::Ok(())
    })
    .expect("options");
}

//! Unix domain sockets through the fallback driver.

use std::io;
use std::path::PathBuf;

use futures::executor::block_on;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use gmp_reactor::net::{UnixListener, UnixStream};

/// A fresh socket path in the temp directory.
fn socket_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("gmp-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn pair_carries_bytes_both_ways() {
    block_on(async {
        let (mut a, mut b) = UnixStream::pair()?;
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        let write = async {
            a.write_all(&data).await?;
            a.close().await
        };
        let mut got = Vec::new();
        let (w, r) = futures::join!(write, b.read_to_end(&mut got));
        w?;
        r?;
        assert!(got == data, "bytes through the pair differ");
        io::Result::Ok(())
    })
    .expect("pair");
}

#[test]
fn listener_accepts_connections_and_echoes() {
    let path = socket_path("listener");
    block_on(async {
        let listener = UnixListener::bind(&path)?;
        assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
        for i in 0..20u8 {
            let connect = async {
                let mut c = UnixStream::connect(&path).await?;
                c.write_all(&[i; 100]).await?;
                let mut back = [0u8; 100];
                c.read_exact(&mut back).await?;
                assert_eq!(back, [i; 100]);
                io::Result::Ok(())
            };
            let serve = async {
                let (mut s, _) = listener.accept().await?;
                let mut buf = [0u8; 100];
                s.read_exact(&mut buf).await?;
                s.write_all(&buf).await
            };
            let (c, s) = futures::join!(connect, serve);
            c?;
            s?;
        }
        io::Result::Ok(())
    })
    .expect("unix listener");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn connect_to_a_missing_path_is_an_error() {
    let path = socket_path("missing");
    let err = block_on(UnixStream::connect(&path)).expect_err("connect");
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
}

#[test]
fn writing_to_a_closed_pair_is_broken_pipe() {
    block_on(async {
        let (mut a, b) = UnixStream::pair()?;
        drop(b);
        let err = a.write_all(b"x").await.expect_err("write");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        io::Result::Ok(())
    })
    .expect("closed pair");
}

#[test]
fn reads_spend_the_coop_budget_and_yield_when_it_is_spent() {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll};

    struct Count(AtomicUsize);
    impl futures::task::ArcWake for Count {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = futures::task::waker(Arc::clone(&count));
    let mut cx = Context::from_waker(&waker);

    let (mut a, mut b) = UnixStream::pair().expect("pair");
    block_on(a.write_all(b"data")).expect("write");
    let mut buf = [0u8; 4];
    gmp_reactor::coop::with_budget(0, || {
        let mut read = b.read(&mut buf);
        assert!(
            Pin::new(&mut read).poll(&mut cx).is_pending(),
            "a read with data available must still yield when the budget is spent"
        );
    });
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "yielding wakes the task at once"
    );
    gmp_reactor::coop::with_budget(1, || {
        let mut read = b.read(&mut buf);
        assert!(matches!(
            Pin::new(&mut read).poll(&mut cx),
            Poll::Ready(Ok(4))
        ));
    });
}

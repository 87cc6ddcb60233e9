//! The reactor inside the scheduler: tasks park on I/O and timers, the M
//! blocked in the reactor holds no P, and foreign futures run in gmp tasks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use gmp::net::{TcpListener, TcpStream, UnixStream};
use gmp::Runtime;

fn runtime(procs: usize) -> Runtime {
    Runtime::builder().max_procs(procs).build().unwrap()
}

/// Polls `f` every millisecond until it holds or 30 s pass.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn the_m_blocked_in_the_reactor_holds_no_p() {
    let rt = runtime(1);
    let (mut a, b) = rt.block_on(async { UnixStream::pair() }).unwrap();
    // A task waits for bytes that do not come yet.
    let reader = rt.spawn(async move {
        let mut buf = [0u8; 5];
        a.read_exact(&mut buf).await.map(|_| buf)
    });
    // Its M gives the P back, then blocks in the reactor without it.
    assert!(
        eventually(|| rt.metrics().idle_procs() == 1),
        "the only P must be idle while its task waits for I/O"
    );
    // The P is free: other work runs on it while the reader still waits.
    let other = rt.block_on(rt.spawn(async { 40 + 2 })).unwrap();
    assert_eq!(other, 42);
    assert!(!reader.is_finished());
    // The reactor wakes the reader, which takes the P again.
    let mut b = b;
    rt.block_on(async { b.write_all(b"hello").await }).unwrap();
    assert_eq!(&rt.block_on(reader).unwrap().unwrap(), b"hello");
}

#[test]
fn tcp_echo_under_the_runtime_checks_every_byte() {
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        const CONNS: usize = 200;
        let server = gmp::spawn(async move {
            for _ in 0..CONNS {
                let (stream, _) = listener.accept().await.unwrap();
                gmp::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    futures::io::copy(&mut r, &mut w).await.unwrap();
                });
            }
        });
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                gmp::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    let msg: Vec<u8> = (0..4096).map(|j| (i * 31 + j) as u8).collect();
                    s.write_all(&msg).await.unwrap();
                    let mut back = vec![0u8; msg.len()];
                    s.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, msg, "connection {i} got other bytes back");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
}

#[test]
fn sleeps_under_the_runtime_are_never_early() {
    let rt = runtime(2);
    rt.block_on(async {
        let tasks: Vec<_> = (0..10_000u64)
            .map(|i| {
                gmp::spawn(async move {
                    let d = Duration::from_micros(100 * (i % 50));
                    let start = Instant::now();
                    gmp::time::sleep(d).await;
                    assert!(start.elapsed() >= d, "a sleep of {d:?} ended early");
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn timers_fire_while_every_p_is_busy() {
    // Both Ps compute; sysmon and the 61-tick reactor polls must still fire
    // the timer of a third task.
    let rt = runtime(2);
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    gmp::yield_now().await;
                }
            })
        })
        .collect();
    let fired = rt.block_on(rt.spawn(async {
        gmp::time::sleep(Duration::from_millis(20)).await;
        true
    }));
    stop.store(true, Ordering::Relaxed);
    assert!(fired.unwrap());
    for s in spinners {
        rt.block_on(s).unwrap();
    }
}

#[test]
fn an_always_ready_socket_cannot_monopolise_a_p() {
    // One P. A reader whose socket always has data never sees Pending from
    // the OS; the coop budget makes it yield so a second task runs.
    let rt = runtime(1);
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut a = UnixStream::from_std(a).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer_stop = stop.clone();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = [7u8; 4096];
        while !writer_stop.load(Ordering::Relaxed) {
            if b.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let reader_stop = stop.clone();
    let (reading_tx, reading_rx) = std::sync::mpsc::channel();
    let reader = rt.spawn(async move {
        let mut buf = [0u8; 16];
        let mut reads = 0u64;
        while !reader_stop.load(Ordering::Relaxed) {
            a.read_exact(&mut buf).await.unwrap();
            reads += 1;
            if reads == 1 {
                let _ = reading_tx.send(());
            }
        }
        reads
    });
    // Give the reader the P first: it has read, and reads on.
    reading_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the reader never read");
    let other = rt.block_on(rt.spawn(async { "ran" })).unwrap();
    stop.store(true, Ordering::Relaxed);
    assert_eq!(other, "ran");
    assert!(rt.block_on(reader).unwrap() > 0);
    writer.join().unwrap();
}

#[test]
fn futures_of_other_libraries_run_in_gmp_tasks() {
    let rt = runtime(2);
    rt.block_on(async {
        // async-io's timer and sockets (its own reactor thread drives them).
        let t = gmp::spawn(async {
            async_io::Timer::after(Duration::from_millis(5)).await;
            let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0))?;
            let addr = listener.get_ref().local_addr()?;
            let accept = gmp::spawn(async move { listener.accept().await.map(|(s, _)| s) });
            let mut c = async_io::Async::<std::net::TcpStream>::connect(addr).await?;
            let mut s = accept.await.unwrap()?;
            c.write_all(b"ping").await?;
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        });
        assert_eq!(&t.await.unwrap().unwrap(), b"ping");
        // async-channel between gmp tasks.
        let (tx, rx) = async_channel::bounded::<u32>(1);
        let producer = gmp::spawn(async move {
            for i in 0..1000 {
                tx.send(i).await.unwrap();
            }
        });
        let consumer = gmp::spawn(async move {
            let mut sum = 0u64;
            while let Ok(v) = rx.recv().await {
                sum += u64::from(v);
            }
            sum
        });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), 499_500);
        // futures' oneshot, woken from a plain thread.
        let (tx, rx) = futures::channel::oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            tx.send(9).unwrap();
        });
        assert_eq!(gmp::spawn(rx).await.unwrap().unwrap(), 9);
    });
}

#[test]
fn gmp_io_works_under_other_executors_while_a_runtime_runs() {
    let _rt = runtime(1);
    // futures' executor on this thread; the runtime drives the reactor.
    let v = futures::executor::block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"x").await.unwrap();
        let mut buf = [0u8; 1];
        b.read_exact(&mut buf).await.unwrap();
        gmp::time::sleep(Duration::from_millis(2)).await;
        buf[0]
    });
    assert_eq!(v, b'x');
    // And inside tokio.
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let elapsed = tokio.block_on(async {
        let start = Instant::now();
        gmp::time::sleep(Duration::from_millis(3)).await;
        start.elapsed()
    });
    assert!(elapsed >= Duration::from_millis(3));
}

#[gmp::test(procs = 1)]
async fn gmp_test_macro_runs_on_its_own_runtime() {
    assert_eq!(gmp::Handle::current().metrics().procs(), 1);
    gmp::time::sleep(Duration::from_millis(1)).await;
}

#[test]
fn timers_fire_after_another_runtime_that_watched_the_reactor_shuts_down() {
    // Two runtimes share the process's reactor. B's M polls it while A's Ms
    // find it taken and park; then B shuts down. A's timer must still fire.
    for round in 0..50 {
        let a = runtime(2);
        let b = runtime(2);
        let b_sleep = b.spawn(gmp::time::sleep(Duration::from_millis(3)));
        std::thread::sleep(Duration::from_millis(1));
        let a_sleep = a.spawn(gmp::time::sleep(Duration::from_millis(10)));
        b.block_on(b_sleep).unwrap();
        drop(b);
        let (tx, rx) = std::sync::mpsc::channel();
        let h = a.handle();
        std::thread::spawn(move || {
            let _ = h.block_on(a_sleep);
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(30)).is_ok(),
            "round {round}: A's timer never fired after B stopped watching the reactor"
        );
    }
}

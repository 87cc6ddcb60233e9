//! `accept` when the process is out of file descriptors.
//!
//! This binary holds one test only: it lowers `RLIMIT_NOFILE` and fills the
//! descriptor table, which would break any test running beside it.

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use gmp_reactor::net::TcpListener;
use gmp_reactor::time::sleep;

/// Sets the soft `RLIMIT_NOFILE`; returns the previous one.
fn set_soft_fd_limit(soft: libc::rlim_t) -> libc::rlimit {
    // SAFETY: getrlimit/setrlimit only read and write the structs we pass.
    unsafe {
        let mut old: libc::rlimit = std::mem::zeroed();
        assert_eq!(
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut old),
            0,
            "getrlimit"
        );
        let new = libc::rlimit {
            rlim_cur: soft.min(old.rlim_max),
            rlim_max: old.rlim_max,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &new), 0, "setrlimit");
        old
    }
}

/// The least time `n` back-off waits take: 5 ms, 10 ms, 20 ms... between
/// consecutive `EMFILE` errors (capped at 1 s, not reached here).
fn least_backoff_span(n: u32) -> Duration {
    let mut total = Duration::ZERO;
    let mut wait = Duration::from_millis(5);
    for _ in 1..n {
        total += wait;
        wait = (wait * 2).min(Duration::from_secs(1));
    }
    total
}

/// An accept loop that logs `EMFILE` and goes on at once (no sleep of its
/// own): before the back-off, `accept` answered `EMFILE` again without ever
/// returning `Pending`, so this loop spun (and `join!` never ran the freer).
#[test]
fn accept_loop_survives_emfile_without_spinning_and_accepts_once_descriptors_free_up() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // Start the reactor's fallback thread (and its descriptors) now.
        sleep(Duration::from_millis(1)).await;
        // Two clients wait in the backlog; std's blocking connect completes
        // against the listening socket without an accept.
        let _clients = [
            std::net::TcpStream::connect(addr)?,
            std::net::TcpStream::connect(addr)?,
        ];

        let old = set_soft_fd_limit(256);
        let null = File::open("/dev/null")?;
        let mut hog = Vec::new();
        loop {
            match null.try_clone() {
                Ok(f) => hog.push(f),
                Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
                Err(e) => return Err(e),
            }
        }

        let emfile_seen = Cell::new(0u32);
        let span = Cell::new(None::<(Instant, Instant)>);
        let server = async {
            let mut accepted = 0;
            while accepted < 2 {
                match listener.accept().await {
                    Ok(_) => accepted += 1,
                    Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                        // "Log it and go on", with no back-off of our own.
                        let now = Instant::now();
                        let first = span.get().map_or(now, |(first, _)| first);
                        span.set(Some((first, now)));
                        emfile_seen.set(emfile_seen.get() + 1);
                        if emfile_seen.get() > 1000 {
                            return Err(io::Error::other(
                                "accept answered EMFILE 1000 times: the loop spins",
                            ));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            io::Result::Ok(accepted)
        };
        let freer = async {
            while emfile_seen.get() < 3 {
                sleep(Duration::from_millis(1)).await;
            }
            hog.clear(); // descriptors free up
        };
        let (accepted, ()) = futures::join!(server, freer);
        // SAFETY: restores the limits read above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
        assert_eq!(accepted?, 2, "connections accepted after EMFILE");
        let n = emfile_seen.get();
        assert!(
            n >= 3,
            "accept reported EMFILE {n} times, expected 3 or more"
        );
        let (first, last) = span.get().expect("EMFILE was seen");
        assert!(
            last - first >= least_backoff_span(n),
            "{n} EMFILE errors came {:?} apart, less than the back-off's {:?}",
            last - first,
            least_backoff_span(n)
        );
        io::Result::Ok(())
    })
    .expect("EMFILE test");
}

//! `accept` when the process is out of file descriptors.
//!
//! This binary holds one test only: it lowers `RLIMIT_NOFILE` and fills the
//! descriptor table, which would break any test running beside it.

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::time::Duration;

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

#[test]
fn accept_loop_survives_emfile_and_accepts_once_descriptors_free_up() {
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
        let server = async {
            let mut accepted = 0;
            while accepted < 2 {
                match listener.accept().await {
                    Ok(_) => accepted += 1,
                    Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                        emfile_seen.set(emfile_seen.get() + 1);
                        sleep(Duration::from_millis(1)).await; // back off, as Go does
                    }
                    Err(e) => return Err(e),
                }
            }
            io::Result::Ok(accepted)
        };
        let freer = async {
            while emfile_seen.get() == 0 {
                sleep(Duration::from_millis(1)).await;
            }
            hog.clear(); // descriptors free up
        };
        let (accepted, ()) = futures::join!(server, freer);
        // SAFETY: restores the limits read above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
        assert_eq!(accepted?, 2, "connections accepted after EMFILE");
        assert!(emfile_seen.get() > 0, "accept never reported EMFILE");
        io::Result::Ok(())
    })
    .expect("EMFILE test");
}

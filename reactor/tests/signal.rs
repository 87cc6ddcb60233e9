//! Signals: `Signals` in this process, and `ctrl_c` in a child process that
//! gets a real SIGINT from its parent.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::executor::block_on;
use futures::StreamExt;
use gmp_reactor::signal::{ctrl_c, Signals};
use gmp_reactor::time::timeout;

/// Set in the child process started by the ctrl_c test.
const CHILD_ENV: &str = "GMP_SIGNAL_TEST_CHILD";
/// The status the child exits with after `ctrl_c` returned.
const CHILD_STATUS: i32 = 42;

#[test]
fn signals_stream_yields_the_numbers_raised() {
    block_on(async {
        let mut signals = Signals::new(&[libc::SIGUSR1, libc::SIGUSR2]).expect("register");
        // SAFETY: handlers for both signals are installed above.
        unsafe {
            assert_eq!(libc::raise(libc::SIGUSR1), 0);
        }
        let first = timeout(Duration::from_secs(30), signals.next()).await;
        assert_eq!(first.expect("SIGUSR1 never arrived"), Some(libc::SIGUSR1));
        // SAFETY: as above.
        unsafe {
            assert_eq!(libc::raise(libc::SIGUSR2), 0);
        }
        let second = timeout(Duration::from_secs(30), signals.next()).await;
        assert_eq!(second.expect("SIGUSR2 never arrived"), Some(libc::SIGUSR2));
    });
}

#[test]
fn signals_rejects_uncatchable_signals_by_name() {
    let err = Signals::new(&[libc::SIGSTOP]).expect_err("SIGSTOP cannot be caught");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains(&libc::SIGSTOP.to_string()),
        "{err}"
    );
    let err = Signals::new(&[0]).expect_err("0 is no signal");
    assert!(err.to_string().contains("out of range"), "{err}");
}

/// In the child (env set): awaits ctrl_c, says so and exits with
/// `CHILD_STATUS`. In the parent: starts the child, sends it SIGINT once it
/// waits, and checks that it exited cleanly instead of being killed.
#[test]
fn ctrl_c_in_a_child_process_returns_and_the_child_exits_cleanly() {
    if std::env::var_os(CHILD_ENV).is_some() {
        block_on(async {
            let waiting = ctrl_c();
            futures::pin_mut!(waiting);
            // The first poll installs the handler; only then say "ready".
            assert!(futures::poll!(waiting.as_mut()).is_pending());
            println!("child: ready");
            waiting.await.expect("ctrl_c");
            println!("child: ctrl_c returned");
        });
        std::process::exit(CHILD_STATUS);
    }
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "ctrl_c_in_a_child_process_returns_and_the_child_exits_cleanly",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines
            .next()
            .expect("the child ended before it was ready")
            .expect("read child output");
        let ready = line.contains("child: ready");
        seen.push(line);
        if ready {
            break;
        }
    }
    let pid = i32::try_from(child.id()).expect("pid fits");
    // SAFETY: sends SIGINT to our own child, which is still running (it
    // waits for exactly this signal).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "kill");
    seen.extend(lines.map(|l| l.expect("read child output")));
    let status = child.wait().expect("wait child");
    assert_eq!(
        status.code(),
        Some(CHILD_STATUS),
        "the child did not exit cleanly: {status:?}, output {seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.contains("child: ctrl_c returned")),
        "output: {seen:?}"
    );
}

//! Loom models of the readiness cache of [`crate::source`].
//!
//! Built only with `RUSTFLAGS="--cfg gmp_loom"`, where `crate::sync` hands
//! out loom's atomics and mutex, so the real `Source::deliver` (the reactor:
//! sets the readiness, takes the wakers) races the real `Source::poll_op`
//! (a reader: tries, clears on `WouldBlock`, waits). The "socket" is a loom
//! counter of readable bytes, which the peer fills before the reactor
//! delivers the edge, as the kernel does.
//!
//! Invariant checked: after the reactor's delivery, either the reader got
//! its byte or its waker was woken; and a woken reader that polls again gets
//! the byte. No readiness is lost, and the waiter count ends at zero.

use std::io;
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize as LoomUsize};

use crate::source::{Direction, Reported, Slot, Source};
use crate::sync::{AtomicUsize, Ordering};

/// A readable event without the end of the stream.
const READ: Reported = Reported {
    readable: true,
    writable: false,
    maybe_closed: false,
};

/// A waker that records that it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A non-blocking read of one byte from `bytes`.
fn read_one(bytes: &LoomUsize) -> io::Result<()> {
    match bytes.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) {
        Ok(_) => Ok(()),
        Err(_) => Err(io::ErrorKind::WouldBlock.into()),
    }
}

/// One reader against one edge; `stale` first delivers an edge whose data a
/// previous read already consumed (READY set, nothing to read), so the
/// reader's clear races the new edge's tick.
fn one_edge(stale: bool) {
    loom::model(move || {
        let source = Arc::new(Source::new(0, -1));
        let waiters = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(LoomUsize::new(0));
        if stale {
            source.deliver(&waiters, READ, &mut Vec::new());
        }

        let reactor = {
            let (source, waiters, bytes) = (source.clone(), waiters.clone(), bytes.clone());
            loom::thread::spawn(move || {
                bytes.fetch_add(1, Ordering::SeqCst); // the data arrives...
                let mut wakers = Vec::new(); // ...then its edge is delivered
                source.deliver(&waiters, READ, &mut wakers);
                wakers.into_iter().for_each(Waker::wake);
            })
        };

        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let first = source.poll_op(
            &waiters,
            Direction::Read,
            Slot::Shared,
            &waker,
            || read_one(&bytes),
            |_| false,
        );
        reactor.join().expect("reactor thread");

        if first.is_pending() {
            assert!(
                flag.0.load(Ordering::SeqCst),
                "the reader waits, yet the edge did not wake it: readiness lost"
            );
            let again = source.poll_op(
                &waiters,
                Direction::Read,
                Slot::Shared,
                &waker,
                || read_one(&bytes),
                |_| false,
            );
            assert!(
                matches!(again, Poll::Ready(Ok(()))),
                "woken, the reader must find the byte"
            );
        } else {
            assert!(matches!(first, Poll::Ready(Ok(()))));
        }
        assert_eq!(bytes.load(Ordering::SeqCst), 0, "the byte was read once");
        assert_eq!(waiters.load(Ordering::SeqCst), 0, "no waker left behind");
    });
}

#[test]
fn a_fresh_reader_racing_the_first_edge_never_loses_it() {
    one_edge(false);
}

#[test]
fn a_clear_of_stale_readiness_racing_a_new_edge_never_loses_it() {
    one_edge(true);
}

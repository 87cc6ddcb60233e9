//! Loom models of the channel's wait queues (`crate::chan`).
//!
//! The real `Chan` (its lock is loom's `Mutex` under `--cfg gmp_loom`),
//! driven by `loom::future::block_on`, whose waker is loom's: a wake-up the
//! protocol loses leaves a thread blocked and loom reports the deadlock.
//!
//! Checked: with two senders and one receiver (unbuffered and buffered)
//! every value is delivered exactly once and the close is seen; a receiver
//! future dropped while a sender hands it a value gives the value back to
//! the next receive; a send future dropped while a receiver arrives either
//! sent (it returned `Ready`) or did not, and the receiver agrees, while the
//! other sender it may have been woken in place of still gets through; a
//! `WaitGroup` waiter racing two `done`s returns at zero, not before, and is
//! woken.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::future::block_on;
use loom::thread;

use super::{check, DEFAULT_PREEMPTIONS};
use crate::chan::{bounded, RecvError, Sender};

/// Polls `f` once with a waker that does nothing: a `select!` branch that
/// is polled, then loses.
fn poll_once<F: Future>(f: F) -> Poll<F::Output> {
    let mut f = pin!(f);
    f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

fn two_senders_one_receiver(cap: usize) {
    check(DEFAULT_PREEMPTIONS, move || {
        let (tx, rx) = bounded::<usize>(cap);
        let spawn_sender = |tx: Sender<usize>, v: usize| {
            thread::spawn(move || block_on(tx.send(v)).expect("the receiver is alive"))
        };
        let t1 = spawn_sender(tx.clone(), 1);
        let t2 = spawn_sender(tx, 2);
        let mut got = vec![
            block_on(rx.recv()).expect("a value"),
            block_on(rx.recv()).expect("a value"),
        ];
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(block_on(rx.recv()), Err(RecvError), "closed after both");
        got.sort_unstable();
        assert_eq!(got, [1, 2], "a value was lost or came twice (cap {cap})");
    });
}

#[test]
fn two_senders_one_receiver_unbuffered() {
    two_senders_one_receiver(0);
}

#[test]
fn two_senders_one_receiver_cap_1() {
    two_senders_one_receiver(1);
}

/// A receive polled once (parked), then dropped while a sender may be
/// handing it the value: the value goes back, the next receive gets it.
#[test]
fn a_dropped_receiver_racing_a_hand_off_gives_the_value_back() {
    check(DEFAULT_PREEMPTIONS, || {
        let (tx, rx) = bounded::<usize>(0);
        let t = thread::spawn(move || block_on(tx.send(7)).expect("the receiver is alive"));
        let first = poll_once(rx.recv());
        let v = match first {
            Poll::Ready(v) => v.expect("the sender is alive"),
            Poll::Pending => block_on(rx.recv()).expect("the value came back"),
        };
        assert_eq!(v, 7);
        t.join().unwrap();
        assert_eq!(block_on(rx.recv()), Err(RecvError), "delivered once");
    });
}

/// Sender A is polled once and dropped if pending while a receiver drains
/// the channel and sender B sends: A's value is received exactly when A
/// reported it sent, and B gets through even if A was the sender the
/// receiver woke (A's drop passes the wake-up on).
#[test]
fn a_dropped_sender_racing_a_receiver_sent_iff_it_said_so() {
    check(DEFAULT_PREEMPTIONS, || {
        let (tx, rx) = bounded::<usize>(0);
        let receiver = thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(v) = block_on(rx.recv()) {
                got.push(v);
            }
            got
        });
        let tx_b = tx.clone();
        let b = thread::spawn(move || block_on(tx_b.send(2)).expect("the receiver is alive"));
        let a_sent = poll_once(tx.send(1)).is_ready();
        b.join().unwrap();
        drop(tx); // the last sender: closes
        let mut got = receiver.join().unwrap();
        got.sort_unstable();
        let want: &[usize] = if a_sent { &[1, 2] } else { &[2] };
        assert_eq!(got, want, "A reported sent = {a_sent}");
    });
}

/// `WaitGroup`: two threads call `done` while the main thread waits (and
/// re-polls): `wait` returns only at zero, and the zero's wake-up is not
/// lost.
#[test]
fn wait_group_done_racing_wait() {
    check(DEFAULT_PREEMPTIONS, || {
        let wg = crate::WaitGroup::new();
        wg.add(2);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let wg = wg.clone();
                thread::spawn(move || wg.done())
            })
            .collect();
        block_on(wg.wait());
        assert_eq!(
            wg.count(),
            0,
            "wait returned before the counter reached zero"
        );
        for t in threads {
            t.join().unwrap();
        }
    });
}

//! Unit tests of the channel protocol: manual polls with counting wakers and
//! `futures::executor::block_on` on plain threads — no runtime, no reactor,
//! so they run under Miri (`cargo +nightly miri test -p gmp-executor --lib chan`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures::future::FusedFuture;
use futures::StreamExt;

use super::{bounded, RecvError, SendError, TryRecvError, TrySendError};
use crate::counting_waker::counter;

fn poll<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

#[test]
fn unbuffered_send_parks_until_a_receiver_comes() {
    let (tx, rx) = bounded::<u32>(0);
    let (sc, sw) = counter();
    let (rc, rw) = counter();
    let mut send = tx.send(1);
    assert!(
        poll(&mut send, &sw).is_pending(),
        "no receiver: the send parks"
    );
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    let mut recv = rx.recv();
    assert!(
        poll(&mut recv, &rw).is_pending(),
        "the value stays with the sender"
    );
    assert_eq!(sc.wakes(), 1, "the parked receiver woke the parked sender");
    assert_eq!(poll(&mut send, &sw), Poll::Ready(Ok(())));
    assert_eq!(rc.wakes(), 1, "the hand-off woke the receiver");
    assert_eq!(poll(&mut recv, &rw), Poll::Ready(Ok(1)));
    assert!(send.is_terminated() && recv.is_terminated());
    drop((send, recv));
    assert_eq!(tx.chan.waiters_in_use(), 0, "every waiter key came back");
}

#[test]
fn a_parked_receiver_gets_the_value_directly() {
    let (tx, rx) = bounded::<&str>(0);
    let (rc, rw) = counter();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &rw).is_pending());
    assert_eq!(
        tx.try_send("x"),
        Ok(()),
        "a receiver waits: try_send succeeds"
    );
    assert_eq!(rc.wakes(), 1);
    assert_eq!(
        tx.len(),
        0,
        "the value went to the receiver, not the buffer"
    );
    assert_eq!(poll(&mut recv, &rw), Poll::Ready(Ok("x")));
}

#[test]
fn buffered_channel_is_fifo_and_bounded() {
    let (tx, rx) = bounded(3);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(rx.len(), 3);
    let (sc, sw) = counter();
    let mut send = tx.send(3);
    assert!(poll(&mut send, &sw).is_pending(), "full: the send parks");
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(sc.wakes(), 1, "taking a value woke the parked sender");
    assert_eq!(poll(&mut send, &sw), Poll::Ready(Ok(())));
    let rest: Vec<i32> = (0..3).map(|_| rx.try_recv().unwrap()).collect();
    assert_eq!(rest, [1, 2, 3]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_dropped_pending_send_did_not_send() {
    let (tx, rx) = bounded::<String>(0);
    let (_sc, sw) = counter();
    let mut send = tx.send("lost branch".to_string());
    assert!(poll(&mut send, &sw).is_pending());
    let (_rc, rw) = counter();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &rw).is_pending(), "woken, not robbed");
    drop(send); // the sender was woken but never polled again
    assert!(poll(&mut recv, &rw).is_pending(), "nothing was sent");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.close();
    assert_eq!(poll(&mut recv, &rw), Poll::Ready(Err(RecvError)));
}

#[test]
fn a_woken_sender_dropped_unpolled_passes_the_wake_on() {
    let (tx, rx) = bounded::<u8>(0);
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    let (mut s1, mut s2) = (tx.send(1), tx.send(2));
    assert!(poll(&mut s1, &w1).is_pending());
    assert!(poll(&mut s2, &w2).is_pending());
    let (_rc, rw) = counter();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &rw).is_pending());
    assert_eq!(
        (c1.wakes(), c2.wakes()),
        (1, 0),
        "the oldest sender is told"
    );
    drop(s1);
    assert_eq!(c2.wakes(), 1, "the wake-up went on to the next sender");
    assert_eq!(poll(&mut s2, &w2), Poll::Ready(Ok(())));
    assert_eq!(poll(&mut recv, &rw), Poll::Ready(Ok(2)));
}

#[test]
fn a_value_handed_to_a_dropped_receiver_goes_to_the_next_one() {
    let (tx, rx) = bounded::<u8>(0);
    let (_c1, w1) = counter();
    let (c2, w2) = counter();
    let (mut r1, mut r2) = (rx.recv(), rx.recv());
    assert!(poll(&mut r1, &w1).is_pending());
    assert!(poll(&mut r2, &w2).is_pending());
    tx.try_send(7).unwrap(); // into r1's slot
    assert_eq!(c2.wakes(), 0);
    drop(r1); // lost a select!: the value goes on to r2
    assert_eq!(c2.wakes(), 1);
    assert_eq!(poll(&mut r2, &w2), Poll::Ready(Ok(7)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "exactly once");
}

#[test]
fn a_value_handed_to_a_dropped_receiver_waits_in_the_buffer() {
    let (tx, rx) = bounded::<u8>(0);
    let (_c, w) = counter();
    let mut r = rx.recv();
    assert!(poll(&mut r, &w).is_pending());
    tx.try_send(5).unwrap();
    drop(r);
    assert_eq!(rx.len(), 1, "given back to the (unbuffered) channel");
    tx.close();
    assert_eq!(rx.try_recv(), Ok(5), "still received after the close");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn close_gives_parked_senders_their_values_and_drains_for_receivers() {
    let (tx, rx) = bounded::<u8>(1);
    tx.try_send(1).unwrap();
    let (sc, sw) = counter();
    let mut send = tx.send(2);
    assert!(poll(&mut send, &sw).is_pending());
    assert!(rx.close());
    assert!(!tx.close(), "only the first close closes");
    assert_eq!(sc.wakes(), 1);
    assert_eq!(poll(&mut send, &sw), Poll::Ready(Err(SendError(2))));
    assert_eq!(
        rx.try_recv(),
        Ok(1),
        "sent before the close: still received"
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn close_wakes_parked_receivers() {
    let (tx, rx) = bounded::<u8>(0);
    let (rc, rw) = counter();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &rw).is_pending());
    drop(tx); // the last sender closes
    assert_eq!(rc.wakes(), 1);
    assert_eq!(poll(&mut recv, &rw), Poll::Ready(Err(RecvError)));
}

#[test]
fn dropping_every_receiver_closes() {
    let (tx, rx) = bounded::<u8>(2);
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed(), "one receiver left");
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
}

#[test]
fn a_re_polled_parked_sender_sends_once() {
    let (tx, rx) = bounded::<u8>(0);
    let (_c, w) = counter();
    let mut send = tx.send(4);
    for _ in 0..3 {
        assert!(poll(&mut send, &w).is_pending());
    }
    let (_rc, rw) = counter();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &rw).is_pending());
    assert_eq!(poll(&mut send, &w), Poll::Ready(Ok(())));
    assert!(
        poll(&mut send, &w).is_pending(),
        "fused: nothing after Ready"
    );
    assert_eq!(poll(&mut recv, &rw), Poll::Ready(Ok(4)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn the_stream_ends_when_closed_and_drained() {
    let (tx, mut rx) = bounded(4);
    for i in 0..4 {
        tx.try_send(i).unwrap();
    }
    drop(tx);
    let all: Vec<u32> = futures::executor::block_on((&mut rx).collect());
    assert_eq!(all, [0, 1, 2, 3]);
    assert!(futures::stream::FusedStream::is_terminated(&rx));
}

#[test]
fn select_takes_one_branch_and_loses_nothing() {
    let (tx_a, rx_a) = bounded::<u8>(0);
    let (tx_b, rx_b) = bounded::<u8>(0);
    let (_c, w) = counter();
    let (mut ra, mut rb) = (rx_a.recv(), rx_b.recv());
    assert!(poll(&mut ra, &w).is_pending());
    assert!(poll(&mut rb, &w).is_pending());
    tx_a.try_send(1).unwrap();
    tx_b.try_send(2).unwrap();
    // Both branches are ready; select! takes one and drops the other.
    let first = futures::executor::block_on(async {
        futures::select! {
            a = ra => a.unwrap(),
            b = rb => b.unwrap(),
        }
    });
    drop((ra, rb));
    let other = if first == 1 {
        rx_b.try_recv()
    } else {
        rx_a.try_recv()
    };
    assert_eq!(other, Ok(3 - first), "the losing branch's value went back");
}

#[test]
fn threads_send_and_receive_every_value_once() {
    const PER: usize = if cfg!(miri) { 20 } else { 2000 };
    for cap in [0, 2] {
        let (tx, rx) = bounded::<usize>(cap);
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..PER {
                        futures::executor::block_on(tx.send(p * PER + i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Ok(v) = futures::executor::block_on(rx.recv()) {
                        got.push(v);
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<usize> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..2 * PER).collect::<Vec<_>>(), "cap {cap}");
        assert_eq!(rx.chan.waiters_in_use(), 0);
    }
}

//! The executor interface of the reactor: `try_poll`, `notify`,
//! `is_blocked`, `has_waiters`, `last_poll_nanos` and `DriverGuard`.
//!
//! Guards switch the process-wide fallback driver off, so the tests of this
//! binary run one at a time (`SERIAL`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Waker};
use std::thread;
use std::time::Duration;

use futures::task::{waker, ArcWake};
use gmp_reactor::net::UnixStream;
use gmp_reactor::time::{sleep, Instant, Sleep};
use gmp_reactor::Reactor;

/// One test at a time in this binary.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A waker that counts its wake-ups.
struct Counter(AtomicUsize);

impl ArcWake for Counter {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Counter>, Waker) {
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let w = waker(Arc::clone(&counter));
    (counter, w)
}

/// Polls `sleep` once with `w` so that its timer is armed.
fn arm(sleep: &mut Sleep, w: &Waker) {
    assert!(Pin::new(sleep)
        .poll(&mut Context::from_waker(w))
        .is_pending());
}

/// A sleep of `d` whose timer is armed with `w`. A thread kept off the CPU
/// for longer than `d` between making a sleep and polling it finds it due
/// (ready at once, no timer armed); then it makes a new one, so the caller
/// gets an armed timer however slow the machine.
fn armed_sleep(d: Duration, w: &Waker) -> Sleep {
    loop {
        let mut s = sleep(d);
        if Pin::new(&mut s)
            .poll(&mut Context::from_waker(w))
            .is_pending()
        {
            return s;
        }
    }
}

/// Takes a guard and waits until the fallback thread has left the poller
/// (after that it does not block in it, so `is_blocked` speaks of us).
fn take_over(reactor: &'static Reactor) -> gmp_reactor::DriverGuard {
    let guard = reactor.driver_guard();
    poll(reactor, Some(Duration::ZERO), &mut Vec::new());
    while reactor.is_blocked() {
        thread::sleep(Duration::from_millis(1));
    }
    guard
}

/// `try_poll` until it gets the poller (the fallback thread may still be
/// leaving it right after a guard was taken).
fn poll(reactor: &Reactor, timeout: Option<Duration>, wakers: &mut Vec<Waker>) -> usize {
    loop {
        match reactor.try_poll(timeout, wakers) {
            Some(r) => return r.expect("poller error"),
            None => thread::sleep(Duration::from_millis(1)),
        }
    }
}

#[test]
fn with_a_guard_try_poll_hands_out_due_timer_wakers_without_waking_them() {
    let _s = serial();
    let reactor = Reactor::get();
    let guard = take_over(reactor);
    let (counter, w) = counting_waker();
    let s = armed_sleep(Duration::from_millis(3), &w);
    let mut wakers = Vec::new();
    while wakers.is_empty() {
        poll(reactor, None, &mut wakers);
    }
    assert!(
        Instant::now() >= s.deadline(),
        "timer handed out before its deadline"
    );
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        0,
        "try_poll must push wakers, not wake them"
    );
    assert!(wakers[0].will_wake(&w));
    drop(guard);
}

#[test]
fn notify_ends_a_blocked_try_poll() {
    let _s = serial();
    let reactor = Reactor::get();
    let _guard = take_over(reactor);
    let sent = Arc::new(AtomicUsize::new(0));
    let sent2 = Arc::clone(&sent);
    let notifier = thread::spawn(move || {
        while !reactor.is_blocked() {
            thread::sleep(Duration::from_millis(1));
        }
        sent2.store(1, Ordering::SeqCst);
        reactor.notify();
        reactor.notify(); // deduplicated, harmless
    });
    let mut wakers = Vec::new();
    // Each poll would block forever (no timers, no sources) without a
    // notification; an earlier, unrelated one may end the first poll.
    while sent.load(Ordering::SeqCst) == 0 {
        poll(reactor, None, &mut wakers);
    }
    notifier.join().expect("notifier thread");
    assert!(!reactor.is_blocked(), "is_blocked after try_poll returned");
}

#[test]
fn an_earlier_timer_kicks_a_blocked_try_poll() {
    let _s = serial();
    let reactor = Reactor::get();
    let _guard = take_over(reactor);
    let (_far_counter, far_waker) = counting_waker();
    let mut far = sleep(Duration::from_secs(3600));
    arm(&mut far, &far_waker);
    let (near_tx, near_rx) = std::sync::mpsc::channel();
    let arming = thread::spawn(move || {
        while !reactor.is_blocked() {
            thread::sleep(Duration::from_millis(1));
        }
        let (_c, w) = counting_waker();
        let near = armed_sleep(Duration::from_millis(2), &w);
        near_tx.send((near, w)).expect("send");
    });
    let mut wakers = Vec::new();
    // Blocked until the far timer (an hour) unless the near one kicks us.
    while wakers.is_empty() {
        poll(reactor, None, &mut wakers);
    }
    arming.join().expect("arming thread");
    let (near, near_waker) = near_rx.recv().expect("near sleep");
    assert!(Instant::now() >= near.deadline(), "near timer fired early");
    assert!(
        wakers.iter().any(|w| w.will_wake(&near_waker)),
        "the near timer fired"
    );
    drop(far);
}

#[test]
fn has_waiters_tracks_armed_timers_and_waiting_sockets() {
    let _s = serial();
    let reactor = Reactor::get();
    let _guard = take_over(reactor);
    assert!(!reactor.has_waiters(), "nothing armed yet");
    let (_c, w) = counting_waker();
    let mut s = sleep(Duration::from_secs(3600));
    arm(&mut s, &w);
    assert!(reactor.has_waiters(), "an armed timer is a waiter");
    drop(s);
    assert!(
        !reactor.has_waiters(),
        "dropping the sleep disarms its timer"
    );

    let (a, _b) = UnixStream::pair().expect("pair");
    let mut buf = [0u8; 1];
    let mut a_ref = &a;
    let mut read = futures::io::AsyncReadExt::read(&mut a_ref, &mut buf);
    assert!(Pin::new(&mut read)
        .poll(&mut Context::from_waker(&w))
        .is_pending());
    assert!(reactor.has_waiters(), "a task waiting to read is a waiter");
    drop(read);
    drop(a);
    assert!(
        !reactor.has_waiters(),
        "dropping the socket removes its waiters"
    );
}

#[test]
fn try_poll_returns_none_while_another_thread_polls_and_sets_last_poll() {
    let _s = serial();
    let reactor = Reactor::get();
    let _guard = take_over(reactor);
    let before = Reactor::now_nanos();
    let stop = Arc::new(AtomicUsize::new(0));
    let stop2 = Arc::clone(&stop);
    let blocked = thread::spawn(move || {
        let mut wakers = Vec::new();
        while stop2.load(Ordering::SeqCst) == 0 {
            poll(reactor, None, &mut wakers);
        }
    });
    while !reactor.is_blocked() {
        thread::sleep(Duration::from_millis(1));
    }
    let mut wakers = Vec::new();
    let second = reactor.try_poll(Some(Duration::ZERO), &mut wakers);
    stop.store(1, Ordering::SeqCst);
    reactor.notify();
    blocked.join().expect("polling thread");
    // Nothing in this binary can end that wait but our notify: no timers
    // or sockets are armed, and the guard's kick (if any) came before.
    assert!(second.is_none(), "a second poller must be turned away");
    assert!(
        reactor.last_poll_nanos() >= before,
        "last_poll_nanos not updated"
    );
}

#[test]
fn dropping_the_last_guard_lets_the_fallback_thread_drive_again() {
    let _s = serial();
    let reactor = Reactor::get();
    let guard = take_over(reactor);
    let second = reactor.driver_guard();
    // A timer is due while nobody drives the reactor (one of two guards is
    // gone, the other alive): nobody fires it...
    let (counter, w) = counting_waker();
    let s = armed_sleep(Duration::from_millis(2), &w);
    drop(second);
    while Instant::now() < s.deadline() + Duration::from_millis(10) {
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        0,
        "the fallback thread drove while a guard was alive"
    );
    // ...until the last guard is gone.
    drop(guard);
    let give_up = Instant::now() + Duration::from_secs(60);
    while counter.0.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < give_up,
            "the fallback thread did not fire the timer once the last guard was gone"
        );
        thread::sleep(Duration::from_millis(1));
    }
    drop(s);
}

//! Handing a P to the M that is on its way into the reactor.
//!
//! Mirrors `Shared::startm` + `Machine::hand` (take the M off the idle list,
//! set its `next`, notify the reactor) against `Worker::stop_m` (put itself
//! on the idle list, then `Reactor::try_poll_unless` with "a P was handed to
//! me" as the reason not to wait), with a second M whose non-blocking poll
//! may consume the reactor's notification first. The reactor is reduced to
//! what matters here: the poll lock, the `notified` de-duplication flag and a
//! pending eventfd that ends a wait.
//!
//! Without the check under the poll lock (`model(false)`), the notification
//! can be consumed by the other M's poll and the handed M blocks in the
//! reactor for good with a P in its hands: loom reports that deadlock. (It is
//! not kept as a `should_panic` test: loom's deadlock panic aborts the test
//! process while it unwinds the model's state.)

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Condvar, Mutex};

use super::check;

/// The reactor, reduced.
struct Reactor {
    /// Only one thread polls at a time.
    poll: Mutex<()>,
    /// `Reactor::notified`: a notification is pending.
    notified: AtomicBool,
    /// The eventfd: pending or not, and its waiters.
    eventfd: Mutex<bool>,
    ready: Condvar,
}

impl Reactor {
    fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            *self.eventfd.lock().unwrap() = true;
            self.ready.notify_all();
        }
    }

    /// `try_poll_unless(.., None, ..)`: blocks until the eventfd fires
    /// unless `skip()` holds once the poll lock is taken. `false`: the lock
    /// was taken.
    fn poll_blocking(&self, skip: impl Fn() -> bool) -> bool {
        let Ok(_lock) = self.poll.try_lock() else {
            return false;
        };
        let mut fd = self.eventfd.lock().unwrap();
        if !skip() {
            while !*fd {
                fd = self.ready.wait(fd).unwrap();
            }
        }
        *fd = false;
        drop(fd);
        self.notified.store(false, Ordering::SeqCst);
        true
    }

    /// `try_poll(Some(ZERO))`: consumes a pending notification.
    fn poll_now(&self) {
        if let Ok(_lock) = self.poll.try_lock() {
            *self.eventfd.lock().unwrap() = false;
            self.notified.store(false, Ordering::SeqCst);
        }
    }
}

/// The M being handed a P, and the scheduler's idle list.
struct State {
    reactor: Reactor,
    /// The idle list holds the M.
    idle: Mutex<bool>,
    /// `Park::next`.
    next: Mutex<Option<usize>>,
    /// Signalled when `next` is set (the M's condition variable).
    handed: Condvar,
}

fn model(check_under_lock: bool) {
    check(3, move || {
        let s = Arc::new(State {
            reactor: Reactor {
                poll: Mutex::new(()),
                notified: AtomicBool::new(false),
                eventfd: Mutex::new(false),
                ready: Condvar::new(),
            },
            // The M is on the idle list (it pushed itself under the sched
            // lock before heading for the reactor).
            idle: Mutex::new(true),
            next: Mutex::new(None),
            handed: Condvar::new(),
        });

        // The M: on the idle list, into the reactor, then off the list or
        // take the P it was handed.
        let m = {
            let s = s.clone();
            loom::thread::spawn(move || {
                let skip = || check_under_lock && s.next.lock().unwrap().is_some();
                if !s.reactor.poll_blocking(skip) {
                    // Someone else polls: wait on our condition variable.
                    let mut next = s.next.lock().unwrap();
                    while next.is_none() {
                        next = s.handed.wait(next).unwrap();
                    }
                    return next.take();
                }
                let mut idle = s.idle.lock().unwrap();
                if *idle {
                    *idle = false;
                    return None;
                }
                drop(idle);
                let mut next = s.next.lock().unwrap();
                while next.is_none() {
                    next = s.handed.wait(next).unwrap();
                }
                next.take()
            })
        };

        // Another M's non-blocking poll, which may eat the notification.
        let other = {
            let s = s.clone();
            loom::thread::spawn(move || s.reactor.poll_now())
        };

        // startm: take the M off the idle list and hand it P 0.
        let mut idle = s.idle.lock().unwrap();
        let took = *idle;
        *idle = false;
        drop(idle);
        if took {
            *s.next.lock().unwrap() = Some(0);
            s.handed.notify_all();
            s.reactor.notify();
        }

        // A deadlock here (loom reports it) is the lost wake-up: the M
        // blocked in the reactor with a P handed to it.
        let got = m.join().unwrap();
        other.join().unwrap();
        assert_eq!(got.is_some(), took, "the M must take the P it was handed");
    });
}

#[test]
fn a_p_handed_to_an_m_entering_the_reactor_is_taken() {
    model(true);
}

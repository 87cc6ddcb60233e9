//! `Chan`: the shared state of one channel and its wait-queue protocol.
//!
//! The protocol itself (who hands what to whom, and why a dropped future
//! neither loses nor duplicates a value) is written out in the module docs
//! of [`crate::chan`]; this file is its implementation. Every function takes
//! the one lock, decides, and returns the waker to call *after* the lock is
//! released, so a woken task never finds the lock held by its waker.

use std::collections::VecDeque;
use std::task::{Poll, Waker};

use super::lock::ChanLock;
use super::slab::{set_waker, Slab};

/// One channel: what `Sender`s and `Receiver`s share through an `Arc`.
pub(crate) struct Chan<T> {
    /// Everything below the lock (Go's `hchan.lock`).
    state: ChanLock<State<T>>,
    /// The capacity given to `bounded`; 0 is unbuffered. Never changes.
    cap: usize,
}

/// The locked part of a [`Chan`].
struct State<T> {
    /// Buffered values, oldest first (Go's `buf`). Holds at most `cap`
    /// values, except that values given back by dropped receivers go to its
    /// front even when that overfills it (an unbuffered channel included).
    buf: VecDeque<T>,
    /// Keys of parked receivers, oldest first (Go's `recvq`). Non-empty only
    /// while `buf` is empty.
    recvq: VecDeque<usize>,
    /// Keys of parked senders, oldest first (Go's `sendq`). Their values
    /// stay in their own futures.
    sendq: VecDeque<usize>,
    /// The waiter records the queues name.
    waiters: Slab<T>,
    /// Set once by `close` or the last `Sender`/`Receiver` drop.
    closed: bool,
    /// Live `Sender` handles; the last one to go closes the channel.
    senders: usize,
    /// Live `Receiver` handles; the last one to go closes the channel.
    receivers: usize,
}

/// Up to one waker to call once the lock is released.
pub(crate) type Wake = Option<Waker>;

/// Calls the waker of a hand-off, if any (outside the lock).
pub(crate) fn wake(w: Wake) {
    if let Some(w) = w {
        w.wake();
    }
}

/// What a send attempt did with its value.
pub(crate) enum SendOutcome<T> {
    /// The value is in the channel or in a receiver's hand-off slot.
    Sent,
    /// No room and no receiver; the value is back with the caller.
    Full(T),
    /// The channel is closed; the value is back with the caller.
    Closed(T),
}

/// What a receive attempt found.
pub(crate) enum RecvOutcome<T> {
    /// A value.
    Value(T),
    /// Nothing yet (a `try_recv` says `Empty`; a future parks).
    Empty,
    /// Closed and drained.
    Closed,
}

impl<T> Chan<T> {
    /// A channel of capacity `cap` with one sender and one receiver.
    pub(crate) fn new(cap: usize) -> Self {
        Chan {
            state: ChanLock::new(State {
                buf: VecDeque::with_capacity(cap.min(1024)),
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
                waiters: Slab::new(),
                closed: false,
                senders: 1,
                receivers: 1,
            }),
            cap,
        }
    }

    /// The capacity.
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// Buffered values (Go's `len(ch)`).
    pub(crate) fn len(&self) -> usize {
        self.state.lock().buf.len()
    }

    /// Whether the channel is closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// One more `Sender` (`true`) or `Receiver` (`false`) handle.
    pub(crate) fn add_handle(&self, sender: bool) {
        let mut s = self.state.lock();
        if sender {
            s.senders += 1;
        } else {
            s.receivers += 1;
        }
    }

    /// One handle fewer; the last sender or the last receiver closes.
    pub(crate) fn drop_handle(&self, sender: bool) {
        let last = {
            let mut s = self.state.lock();
            let n = if sender {
                &mut s.senders
            } else {
                &mut s.receivers
            };
            *n -= 1;
            *n == 0
        };
        if last {
            self.close();
        }
    }

    /// Closes the channel (Go's `closechan`): every parked future is woken
    /// to see it. Returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let wakers: Vec<Waker> = {
            let mut s = self.state.lock();
            if s.closed {
                return false;
            }
            s.closed = true;
            let State {
                recvq,
                sendq,
                waiters,
                ..
            } = &mut *s;
            recvq
                .drain(..)
                .chain(sendq.drain(..))
                .filter_map(|key| {
                    let w = waiters.get(key);
                    w.queued = false;
                    w.waker.take()
                })
                .collect()
        };
        wakers.into_iter().for_each(Waker::wake);
        true
    }

    /// One send attempt without parking (`try_send`, and the first step of
    /// every send poll): hand to the oldest parked receiver, else buffer.
    pub(crate) fn try_send(&self, value: T) -> (SendOutcome<T>, Wake) {
        let mut s = self.state.lock();
        s.try_send(value, self.cap)
    }

    /// One receive attempt without parking (`try_recv`).
    pub(crate) fn try_recv(&self) -> (RecvOutcome<T>, Wake) {
        let mut s = self.state.lock();
        s.try_recv()
    }

    /// Polls a send whose value is `value` and whose waiter is `key`.
    ///
    /// `Ready(outcome)` frees the key and is never `Full`; `Pending` means
    /// the value is back in `*value` and the sender is in `sendq`.
    pub(crate) fn poll_send(
        &self,
        value: &mut Option<T>,
        key: &mut Option<usize>,
        waker: &Waker,
    ) -> (Poll<SendOutcome<T>>, Wake) {
        // Declared before the guard, so dropped after the unlock.
        let mut stale = None;
        let mut s = self.state.lock();
        if let Some(k) = *key {
            let w = s.waiters.get(k);
            if w.queued {
                // Re-polled while parked (a `select!` sibling woke the task).
                let replaced = set_waker(&mut w.waker, waker);
                drop(s); // before the replaced waker
                drop(replaced);
                return (Poll::Pending, None);
            }
        }
        let Some(v) = value.take() else {
            return (Poll::Pending, None);
        };
        match s.try_send(v, self.cap) {
            (SendOutcome::Full(v), _) => {
                *value = Some(v);
                let k = s.park(key, waker, &mut stale);
                s.sendq.push_back(k);
                (Poll::Pending, None)
            }
            (outcome, wake) => {
                if let Some(k) = key.take() {
                    s.waiters.remove(k);
                }
                (Poll::Ready(outcome), wake)
            }
        }
    }

    /// Polls a receive whose waiter is `key`.
    ///
    /// `Ready` frees the key and is never `Empty`; `Pending` means the
    /// receiver is in `recvq` (and one parked sender has been told so).
    pub(crate) fn poll_recv(
        &self,
        key: &mut Option<usize>,
        waker: &Waker,
    ) -> (Poll<RecvOutcome<T>>, Wake) {
        // Declared before the guard, so dropped after the unlock.
        let mut stale = None;
        let mut s = self.state.lock();
        if let Some(k) = *key {
            let w = s.waiters.get(k);
            if let Some(v) = w.value.take() {
                s.waiters.remove(k);
                *key = None;
                return (Poll::Ready(RecvOutcome::Value(v)), None);
            }
            if w.queued {
                let replaced = set_waker(&mut w.waker, waker);
                drop(s); // before the replaced waker
                drop(replaced);
                return (Poll::Pending, None);
            }
        }
        match s.try_recv() {
            (RecvOutcome::Empty, _) => {
                let k = s.park(key, waker, &mut stale);
                s.recvq.push_back(k);
                // A parked sender keeps its value until it hands it over in
                // its own poll: tell the oldest one there is a taker.
                (Poll::Pending, s.notify_sender())
            }
            (outcome, wake) => {
                if let Some(k) = key.take() {
                    s.waiters.remove(k);
                }
                (Poll::Ready(outcome), wake)
            }
        }
    }

    /// A send future dropped before it completed. A sender that was woken
    /// (off `sendq`) but never polled passes the wake-up on to the next
    /// parked sender, so the receiver or the room it was woken for is not
    /// left without one.
    pub(crate) fn cancel_send(&self, key: usize) -> Wake {
        let mut s = self.state.lock();
        let w = s.waiters.remove(key);
        let wake = if w.queued {
            s.sendq.retain(|&k| k != key);
            None
        } else if s.closed {
            None
        } else {
            s.notify_sender()
        };
        drop(s); // before `w` and its waker
        wake
    }

    /// A receive future dropped before it completed. A value handed to it
    /// goes back to the channel: to the next parked receiver, else to the
    /// front of the buffer.
    pub(crate) fn cancel_recv(&self, key: usize) -> Wake {
        let mut s = self.state.lock();
        let mut w = s.waiters.remove(key);
        if w.queued {
            s.recvq.retain(|&k| k != key);
        }
        let wake = match w.value.take() {
            Some(v) => match s.hand_to_receiver(v) {
                Ok(wake) => wake,
                Err(v) => {
                    s.buf.push_front(v);
                    None
                }
            },
            None => None,
        };
        drop(s); // before `w` and its waker
        wake
    }

    /// Waiter records in use (tests: every future gave its key back).
    #[cfg(all(test, not(gmp_loom)))]
    pub(crate) fn waiters_in_use(&self) -> usize {
        self.state.lock().waiters.in_use()
    }
}

impl<T> State<T> {
    /// Go's `chansend` without blocking.
    fn try_send(&mut self, value: T, cap: usize) -> (SendOutcome<T>, Wake) {
        if self.closed {
            return (SendOutcome::Closed(value), None);
        }
        match self.hand_to_receiver(value) {
            Ok(wake) => (SendOutcome::Sent, wake),
            Err(value) if self.buf.len() < cap => {
                self.buf.push_back(value);
                (SendOutcome::Sent, None)
            }
            Err(value) => (SendOutcome::Full(value), None),
        }
    }

    /// Go's `chanrecv` without blocking: the buffer, then closed-ness.
    /// Taking from the buffer makes room, so a parked sender is told.
    fn try_recv(&mut self) -> (RecvOutcome<T>, Wake) {
        if let Some(v) = self.buf.pop_front() {
            return (RecvOutcome::Value(v), self.notify_sender());
        }
        if self.closed {
            (RecvOutcome::Closed, None)
        } else {
            (RecvOutcome::Empty, None)
        }
    }

    /// Puts `value` into the hand-off slot of the oldest parked receiver
    /// (Go's direct `send` to a `sudog`) and returns its waker; gives the
    /// value back if no receiver is parked.
    fn hand_to_receiver(&mut self, value: T) -> Result<Wake, T> {
        match self.recvq.pop_front() {
            Some(k) => {
                let w = self.waiters.get(k);
                w.queued = false;
                w.value = Some(value);
                Ok(w.waker.take())
            }
            None => Err(value),
        }
    }

    /// Takes the oldest parked sender off `sendq` and returns its waker.
    fn notify_sender(&mut self) -> Wake {
        let k = self.sendq.pop_front()?;
        let w = self.waiters.get(k);
        w.queued = false;
        w.waker.take()
    }

    /// Marks the waiter `key` (taking a key first if it has none) as parked
    /// with `waker`; the caller pushes it on its queue, and drops `stale`
    /// (the waker replaced) after the unlock.
    fn park(&mut self, key: &mut Option<usize>, waker: &Waker, stale: &mut Option<Waker>) -> usize {
        let k = match *key {
            Some(k) => {
                *stale = set_waker(&mut self.waiters.get(k).waker, waker);
                k
            }
            None => {
                let k = self.waiters.insert(waker.clone());
                *key = Some(k);
                k
            }
        };
        self.waiters.get(k).queued = true;
        k
    }
}

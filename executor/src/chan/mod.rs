//! `gmp::chan`: Go's channels — bounded, MPMC, unbuffered at capacity 0.
//!
//! ```
//! use gmp_executor::chan;
//!
//! gmp_executor::block_on(async {
//!     let (tx, rx) = chan::bounded::<u32>(0); // Go's make(chan uint32)
//!     let producer = gmp_executor::spawn(async move {
//!         for i in 0..3 {
//!             tx.send(i).await.unwrap(); // returns once a receiver took i
//!         }
//!     }); // tx dropped here: the channel closes
//!     let mut got = Vec::new();
//!     while let Ok(v) = rx.recv().await {
//!         got.push(v);
//!     }
//!     producer.await.unwrap();
//!     assert_eq!(got, [0, 1, 2]);
//! });
//! ```
//!
//! # The wait-queue protocol
//!
//! One lock guards the channel (Go's `hchan.lock`): a FIFO buffer of at most
//! `cap` values, a queue of parked receivers (`recvq`) and one of parked
//! senders (`sendq`). Each parked future owns a waiter record (Go's `sudog`,
//! reused from a per-channel free list) holding its waker and, for a
//! receiver, a **hand-off slot**.
//!
//! * **Send** (Go's `chansend`): closed ⇒ the value comes back
//!   (`SendError`). A parked receiver ⇒ the value goes straight into the
//!   oldest one's hand-off slot and that receiver is woken (Go's direct copy
//!   and `goready`); the send is complete. Room in the buffer ⇒ push, done.
//!   Otherwise the sender parks in `sendq` — **keeping its value in its own
//!   future**.
//! * **Receive** (Go's `chanrecv`): a value in its own hand-off slot ⇒
//!   take it. A buffered value ⇒ pop it, and wake the oldest parked sender
//!   (there is room now). Closed ⇒ `RecvError`. Otherwise the receiver
//!   parks in `recvq` and wakes the oldest parked sender, which — when it
//!   runs — finds the receiver and hands its value over.
//! * **Close** (Go's `closechan`): marks the channel closed and wakes every
//!   parked future; senders get their value back, receivers drain the
//!   buffer and then fail. Dropping the last `Sender` or the last
//!   `Receiver` closes the channel too (the second so that a sender is not
//!   left parked forever with no one to receive).
//! * **Wakes** are plain `Waker::wake` calls made from inside the poll of
//!   the sender or receiver that hands over, after the lock is released.
//!   On a gmp M holding a P that puts the woken task in the P's `runnext`
//!   (Go's `goready`), so a ping-pong pair runs on one P.
//!
//! # Cancel-safety
//!
//! `futures::select!` knows nothing of channels: it drops the losing
//! branches, and a future that became ready but lost is dropped unpolled.
//! So the rule is: **a send commits only inside its own poll** — a parked
//! sender is woken to hand its value over, never robbed while parked —
//! while a receiver may be handed a value while parked, and gives it back:
//!
//! * A `send` future dropped before it returned `Ready` did not send its
//!   value (it is dropped with the future; the caller, still holding a
//!   clone, may send it again). If it had been woken but not yet polled, it
//!   passes the wake-up on to the next parked sender.
//! * A `recv` future dropped while a value sits in its hand-off slot gives
//!   the value back to the channel: to the next parked receiver, else to the
//!   front of the buffer (even of an unbuffered channel, whose buffer then
//!   holds it until a receiver comes). The sender's `send` already
//!   returned: "a receiver took the value" means the channel delivered it to
//!   a receiver's slot, and it will be received exactly once.
//!
//! The price of the first rule: on an unbuffered channel a receiver that
//! comes to a parked sender costs one more wake (the sender runs to hand
//! over), and `try_recv` cannot take a parked sender's value — it only sees
//! the buffer (for `cap > 0`, where senders park only when it is full, that
//! is what Go's non-blocking receive sees too). The futures are
//! [`FusedFuture`], so `select!` takes them
//! directly:
//!
//! ```
//! use futures::{select_biased, FutureExt};
//! use gmp_executor::chan;
//!
//! gmp_executor::block_on(async {
//!     let (tx, rx) = chan::bounded::<&str>(1);
//!     // Go's `select { case v := <-rx: ... default: ... }`
//!     let got = select_biased! {
//!         v = rx.recv() => v.ok(),
//!         default => None,
//!     };
//!     assert_eq!(got, None);
//!     tx.send("hi").await.unwrap();
//!     let got = select_biased! {
//!         v = rx.recv() => v.ok(),
//!         default => None,
//!     };
//!     assert_eq!(got, Some("hi"));
//! });
//! ```

mod error;
mod lock;
mod slab;
mod state;
#[cfg(all(test, not(gmp_loom)))]
mod tests;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::FusedFuture;
use futures::stream::{FusedStream, Stream};

pub use error::{RecvError, SendError, TryRecvError, TrySendError};
pub(crate) use state::Chan;
use state::{wake, RecvOutcome, SendOutcome};

use crate::sync::Arc;

/// A channel of capacity `cap` (Go's `make(chan T, cap)`); `cap == 0` is
/// unbuffered: a `send` returns once a receiver has taken the value.
///
/// # Examples
///
/// ```
/// let (tx, rx) = gmp_executor::chan::bounded(2);
/// tx.try_send('a').unwrap();
/// tx.try_send('b').unwrap();
/// assert!(tx.try_send('c').is_err()); // full
/// assert_eq!(rx.try_recv(), Ok('a')); // FIFO
/// assert_eq!(tx.capacity(), 2);
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(cap));
    (
        Sender { chan: chan.clone() },
        Receiver {
            chan,
            stream_key: None,
        },
    )
}

/// The sending half; `Clone` for more producers.
///
/// # Examples
///
/// ```
/// let (tx, rx) = gmp_executor::chan::bounded(4);
/// let tx2 = tx.clone();
/// tx.try_send(1).unwrap();
/// tx2.try_send(2).unwrap();
/// assert_eq!(rx.len(), 2);
/// ```
pub struct Sender<T> {
    /// The channel shared with every other handle.
    chan: Arc<Chan<T>>,
}

/// The receiving half; `Clone` for more consumers, and a
/// [`Stream`] that ends once the channel is closed and drained.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// let (tx, rx) = gmp_executor::chan::bounded(4);
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// drop(tx);
/// let all: Vec<i32> = gmp_executor::block_on(rx.collect());
/// assert_eq!(all, [1, 2]);
/// ```
pub struct Receiver<T> {
    /// The channel shared with every other handle.
    chan: Arc<Chan<T>>,
    /// The waiter record of a pending `Stream::poll_next`, if any; written
    /// only through `&mut self`.
    stream_key: Option<usize>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room (unbuffered: for a receiver to take
    /// it). A closed channel gives it back. Cancel-safe: if the future is
    /// dropped before it completes, the value was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gmp_executor::chan::bounded(0);
    /// gmp_executor::block_on(async move {
    ///     let t = gmp_executor::spawn(async move { rx.recv().await.unwrap() });
    ///     tx.send(5u8).await.unwrap();
    ///     assert_eq!(t.await.unwrap(), 5);
    /// });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            value: Some(value),
            key: None,
            done: false,
        }
    }

    /// Sends without waiting: hands to a parked receiver, else buffers.
    /// Unbuffered channels succeed only when a receiver is waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_executor::chan::{bounded, TrySendError};
    /// let (tx, rx) = bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let (outcome, w) = self.chan.try_send(value);
        wake(w);
        match outcome {
            SendOutcome::Sent => Ok(()),
            SendOutcome::Full(v) => Err(TrySendError::Full(v)),
            SendOutcome::Closed(v) => Err(TrySendError::Closed(v)),
        }
    }

    /// Closes the channel (Go's `close(ch)`): receivers drain what was sent,
    /// then fail; pending and later sends fail with their value. Returns
    /// `true` if this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gmp_executor::chan::bounded(1);
    /// tx.try_send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!tx.close()); // already closed
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gmp_executor::chan::bounded::<()>(0);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Buffered values (Go's `len(ch)`; 0 on an unbuffered channel unless a
    /// dropped receiver gave a value back).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = gmp_executor::chan::bounded(3);
    /// tx.try_send(()).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = gmp_executor::chan::bounded::<u8>(3);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given to [`bounded`] (Go's `cap(ch)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = gmp_executor::chan::bounded::<u8>(0);
    /// assert_eq!(tx.capacity(), 0);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting for one; `Err` once the channel is
    /// closed and drained. Cancel-safe: a value handed to this future after
    /// it is dropped goes back to the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gmp_executor::chan::bounded(1);
    /// gmp_executor::block_on(async move {
    ///     tx.send("x").await.unwrap();
    ///     assert_eq!(rx.recv().await, Ok("x"));
    /// });
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            receiver: self,
            key: None,
            done: false,
        }
    }

    /// Receives a buffered value without waiting. On an unbuffered channel
    /// this does not take a parked sender's value (see the module docs).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_executor::chan::{bounded, TryRecvError};
    /// let (tx, rx) = bounded(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(9).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(9));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let (outcome, w) = self.chan.try_recv();
        wake(w);
        match outcome {
            RecvOutcome::Value(v) => Ok(v),
            RecvOutcome::Empty => Err(TryRecvError::Empty),
            RecvOutcome::Closed => Err(TryRecvError::Closed),
        }
    }

    /// Closes the channel, as [`Sender::close`] does.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gmp_executor::chan::bounded(1);
    /// assert!(rx.close());
    /// assert!(tx.try_send(1).is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed (values may still be buffered).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gmp_executor::chan::bounded::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Buffered values (Go's `len(ch)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gmp_executor::chan::bounded(2);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = gmp_executor::chan::bounded::<u8>(2);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given to [`bounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = gmp_executor::chan::bounded::<u8>(5);
    /// assert_eq!(rx.capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_handle(true);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.add_handle(false);
        Receiver {
            chan: self.chan.clone(),
            stream_key: None,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_handle(true);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(key) = self.stream_key.take() {
            wake(self.chan.cancel_recv(key));
        }
        self.chan.drop_handle(false);
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Turns a receive outcome into `recv`'s result.
fn recv_result<T>(outcome: RecvOutcome<T>) -> Result<T, RecvError> {
    match outcome {
        RecvOutcome::Value(v) => Ok(v),
        RecvOutcome::Empty | RecvOutcome::Closed => Err(RecvError),
    }
}

/// The future of [`Sender::send`].
///
/// # Examples
///
/// ```
/// use futures::future::FusedFuture;
/// let (tx, _rx) = gmp_executor::chan::bounded(1);
/// let mut f = tx.send(1);
/// assert!(!f.is_terminated());
/// gmp_executor::block_on(&mut f).unwrap();
/// assert!(f.is_terminated());
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a, T> {
    /// The sender it sends through.
    sender: &'a Sender<T>,
    /// The value, until it is handed over (or given back in the error).
    value: Option<T>,
    /// The waiter record while parked (or woken but not yet re-polled).
    key: Option<usize>,
    /// Set when the future returned `Ready`.
    done: bool,
}

// The value is never pinned: it is moved out of the future by value.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.done {
            return Poll::Pending;
        }
        let (poll, w) = this
            .sender
            .chan
            .poll_send(&mut this.value, &mut this.key, cx.waker());
        wake(w);
        match poll {
            Poll::Pending => Poll::Pending,
            Poll::Ready(outcome) => {
                this.done = true;
                Poll::Ready(match outcome {
                    SendOutcome::Sent => Ok(()),
                    SendOutcome::Full(v) | SendOutcome::Closed(v) => Err(SendError(v)),
                })
            }
        }
    }
}

impl<T> FusedFuture for SendFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            wake(self.sender.chan.cancel_send(key));
        }
    }
}

impl<T> std::fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendFuture")
            .field("parked", &self.key.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The future of [`Receiver::recv`].
///
/// # Examples
///
/// ```
/// use futures::future::FusedFuture;
/// let (tx, rx) = gmp_executor::chan::bounded(1);
/// tx.try_send(3).unwrap();
/// let mut f = rx.recv();
/// assert_eq!(gmp_executor::block_on(&mut f), Ok(3));
/// assert!(f.is_terminated());
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct RecvFuture<'a, T> {
    /// The receiver it receives through.
    receiver: &'a Receiver<T>,
    /// The waiter record while parked or holding a handed value.
    key: Option<usize>,
    /// Set when the future returned `Ready`.
    done: bool,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.done {
            return Poll::Pending;
        }
        let (poll, w) = this.receiver.chan.poll_recv(&mut this.key, cx.waker());
        wake(w);
        match poll {
            Poll::Pending => Poll::Pending,
            Poll::Ready(outcome) => {
                this.done = true;
                Poll::Ready(recv_result(outcome))
            }
        }
    }
}

impl<T> FusedFuture for RecvFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            wake(self.receiver.chan.cancel_recv(key));
        }
    }
}

impl<T> std::fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvFuture")
            .field("parked", &self.key.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        let (poll, w) = this.chan.poll_recv(&mut this.stream_key, cx.waker());
        wake(w);
        poll.map(|outcome| recv_result(outcome).ok())
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.stream_key.is_none() && self.chan.is_closed() && self.chan.len() == 0
    }
}

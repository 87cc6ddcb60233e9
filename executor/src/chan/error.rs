//! The errors of `gmp::chan`: what a failed send gives back, why a receive
//! found nothing.

use std::fmt;

/// `send` on a closed channel: the value, given back.
///
/// # Examples
///
/// ```
/// let (tx, rx) = gmp_executor::chan::bounded::<u32>(1);
/// drop(rx); // the last receiver closes the channel
/// let err = gmp_executor::block_on(tx.send(7)).unwrap_err();
/// assert_eq!(err.into_inner(), 7);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gmp_executor::chan::SendError("v");
    /// assert_eq!(e.into_inner(), "v");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why `try_send` did not send; either way the value comes back.
///
/// # Examples
///
/// ```
/// use gmp_executor::chan::{bounded, TrySendError};
/// let (tx, _rx) = bounded::<u8>(0);
/// // Unbuffered and no receiver waiting: Go's `select` with `default`.
/// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
/// tx.close();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The buffer is full (unbuffered: no receiver is waiting).
    Full(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gmp_executor::chan::TrySendError::Full(3);
    /// assert_eq!(e.into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// Whether the channel was closed (rather than full).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gmp_executor::chan::TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("channel full (unbuffered: no receiver waiting)"),
            TrySendError::Closed(_) => f.write_str("send on a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// `recv` on a channel that is closed and drained.
///
/// # Examples
///
/// ```
/// let (tx, rx) = gmp_executor::chan::bounded::<u32>(1);
/// drop(tx);
/// assert_eq!(gmp_executor::block_on(rx.recv()), Err(gmp_executor::chan::RecvError));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receive on a closed and empty channel")
    }
}

impl std::error::Error for RecvError {}

/// Why `try_recv` found no value.
///
/// # Examples
///
/// ```
/// use gmp_executor::chan::{bounded, TryRecvError};
/// let (tx, rx) = bounded::<u8>(4);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// Nothing buffered right now.
    Empty,
    /// Closed and drained.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty"),
            TryRecvError::Closed => f.write_str("receive on a closed and empty channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}

//! `JoinSet`: a set of tasks whose results come out in completion order.
//!
//! The set keeps its members' [`JoinHandle`]s in a
//! `futures::stream::FuturesUnordered`: each handle is polled with a waker of
//! its own, which the task wakes when it ends, and `join_next` polls only
//! the handles whose wakers fired. A completion therefore costs O(1)
//! whatever the size of the set (no scan of the members), as with tokio's
//! `JoinSet`; `examples/join_set.rs` measures it at 1,000 to 100,000
//! members.
//!
//! Dropping the set aborts every task still in it (each one's future is
//! dropped at its next scheduling point); [`JoinSet::detach_all`] lets them
//! run on instead.

use std::fmt;
use std::future::{poll_fn, Future};
use std::task::{Context, Poll};

use futures::stream::{FuturesUnordered, StreamExt};

use crate::join::{AbortHandle, JoinError, JoinHandle};
use crate::runtime::Handle;

/// A set of tasks spawned on a gmp runtime, awaited in the order they end.
///
/// # Examples
///
/// ```
/// let sum = gmp_executor::block_on(async {
///     let mut set = gmp_executor::JoinSet::new();
///     for i in 0..10u32 {
///         set.spawn(async move { i });
///     }
///     let mut sum = 0;
///     while let Some(res) = set.join_next().await {
///         sum += res.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 45);
/// ```
pub struct JoinSet<T> {
    /// The members' handles; polled only when their task has woken them.
    members: FuturesUnordered<JoinHandle<T>>,
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// # Examples
    ///
    /// ```
    /// let set = gmp_executor::JoinSet::<()>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> Self {
        JoinSet {
            members: FuturesUnordered::new(),
        }
    }

    /// How many tasks are in the set (ended ones included, until
    /// `join_next` has given their result).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = gmp_executor::JoinSet::new();
    /// set.spawn(async {});
    /// assert_eq!(set.len(), 1);
    /// gmp_executor::block_on(set.join_next());
    /// assert_eq!(set.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the set has no tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = gmp_executor::JoinSet::new();
    /// assert!(set.is_empty());
    /// set.spawn(async {});
    /// assert!(!set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Adds an already spawned task to the set.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = gmp_executor::JoinSet::new();
    /// set.insert(gmp_executor::spawn(async { 5 }));
    /// let res = gmp_executor::block_on(set.join_next()).unwrap();
    /// assert_eq!(res.unwrap(), 5);
    /// ```
    pub fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        self.members.push(handle);
        abort
    }

    /// Waits for the next task to end and gives its result: the value, or a
    /// [`JoinError`] if it panicked or was aborted. `None` when the set is
    /// empty.
    ///
    /// Cancel-safe: dropping the future before it completes loses no result.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = gmp_executor::JoinSet::new();
    /// set.spawn(async { panic!("boom") });
    /// gmp_executor::block_on(async {
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_panic());
    ///     assert!(set.join_next().await.is_none());
    /// });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Polls for the next task to end: the poll form of
    /// [`join_next`](JoinSet::join_next).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = gmp_executor::JoinSet::<()>::new();
    /// let res = gmp_executor::block_on(std::future::poll_fn(|cx| set.poll_join_next(cx)));
    /// assert!(res.is_none());
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.members.poll_next_unpin(cx)
    }

    /// Aborts every task in the set; they stay in it, and `join_next` gives
    /// their results (cancelled, or the value of one that ended first).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = gmp_executor::JoinSet::new();
    /// set.spawn(futures::future::pending::<()>());
    /// set.abort_all();
    /// let res = gmp_executor::block_on(set.join_next()).unwrap();
    /// assert!(res.unwrap_err().is_cancelled());
    /// ```
    pub fn abort_all(&mut self) {
        for handle in self.members.iter() {
            handle.abort();
        }
    }

    /// Aborts every task, then waits until each has ended (their futures
    /// have been dropped); the set is empty afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = gmp_executor::JoinSet::new();
    /// for _ in 0..3 {
    ///     set.spawn(futures::future::pending::<()>());
    /// }
    /// gmp_executor::block_on(set.shutdown());
    /// assert!(set.is_empty());
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Removes every task from the set without aborting it: they run on,
    /// detached, and their outputs are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let mut set = gmp_executor::JoinSet::new();
    /// set.spawn(async move { tx.send(1).unwrap() });
    /// set.detach_all();
    /// drop(set);
    /// assert_eq!(rx.recv().unwrap(), 1);
    /// ```
    pub fn detach_all(&mut self) {
        self.members.clear();
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime (as [`spawn`](crate::spawn))
    /// and adds it to the set.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = gmp_executor::JoinSet::new();
    /// let abort = set.spawn(futures::future::pending::<()>());
    /// abort.abort();
    /// let res = gmp_executor::block_on(set.join_next()).unwrap();
    /// assert!(res.unwrap_err().is_cancelled());
    /// ```
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Spawns `future` on the runtime of `handle` and adds it to the set.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
    /// let mut set = gmp_executor::JoinSet::new();
    /// set.spawn_on(async { 2 }, &rt.handle());
    /// assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(future))
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

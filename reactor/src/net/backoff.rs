//! The accept back-off: what a listener does after `accept` ran out of
//! descriptors or memory.
//!
//! `EMFILE` leaves the connection in the backlog, so the listener stays
//! readable and an accept loop that logs the error and calls `accept` again
//! would spin at 100 % CPU until a descriptor frees up. Like Go's
//! `http.Server.Serve`, the listener then waits before its next attempt:
//! 5 ms after the first such error, doubling on each further one up to 1 s,
//! and back to none after an accept that succeeds. The error itself is still
//! returned to the caller (it is worth logging); only the *next* accept waits,
//! on a gmp timer, so no thread and no P is held meanwhile.
//!
//! The state is one small mutex per listener; `record` writes it after each
//! attempt, `pending` reads it before the next.

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The first wait.
pub(crate) const FIRST: Duration = Duration::from_millis(5);
/// The longest wait.
pub(crate) const MAX: Duration = Duration::from_secs(1);

/// A listener's back-off state.
#[derive(Debug, Default)]
pub(crate) struct AcceptBackoff {
    /// `(next delay, wait until)`; `None` when the last accept succeeded.
    state: Mutex<Option<(Duration, Instant)>>,
}

/// Whether `e` is a shortage that clears by itself (descriptors, buffers).
pub(crate) fn is_exhaustion(e: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        e.raw_os_error().map(Errno::from_raw_os_error),
        Some(Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM)
    )
}

impl AcceptBackoff {
    /// When the next attempt may run, if that is still in the future.
    pub(crate) fn pending(&self) -> Option<Instant> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (_, until) = (*state)?;
        (until > Instant::now()).then_some(until)
    }

    /// Records the outcome of one attempt.
    pub(crate) fn record<T>(&self, result: &io::Result<T>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => *state = None,
            Err(e) if is_exhaustion(e) => {
                let delay = match *state {
                    None => FIRST,
                    Some((last, _)) => (last * 2).min(MAX),
                };
                *state = Some((delay, Instant::now() + delay));
            }
            // Other errors (ECONNABORTED...) concern one connection only.
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> io::Result<()> {
        Err(io::Error::from_raw_os_error(
            rustix::io::Errno::MFILE.raw_os_error(),
        ))
    }

    #[test]
    fn delays_double_from_5ms_to_1s_and_reset_on_success() {
        let b = AcceptBackoff::default();
        assert!(b.pending().is_none());
        let mut delays = Vec::new();
        for _ in 0..10 {
            b.record(&emfile());
            let state = b.state.lock().expect("lock");
            delays.push(state.expect("backing off").0);
        }
        let ms: Vec<u128> = delays.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        // A 1 s wait was just recorded: `pending` gives its end until then
        // (a machine that kept this thread off the CPU for that second sees
        // it over; the answer is then `None`, and only then).
        let until = b.state.lock().expect("lock").expect("backing off").1;
        match b.pending() {
            Some(at) => assert_eq!(at, until, "the recorded wait's end"),
            None => assert!(
                Instant::now() >= until,
                "no wait pending before the recorded one ended"
            ),
        }
        b.record(&Ok(()));
        assert!(b.pending().is_none());
        b.record(&Err::<(), _>(io::Error::from(
            io::ErrorKind::ConnectionAborted,
        )));
        assert!(b.pending().is_none(), "ECONNABORTED is not a shortage");
    }
}

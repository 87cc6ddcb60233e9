//! What the kernel says about threads: ids and run states, for sysmon.

/// The kernel id of the calling thread, or 0 where it cannot be known.
pub(crate) fn current_tid() -> usize {
    // "/proc/thread-self" links to "<pid>/task/<tid>".
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
        .unwrap_or(0)
}

/// Whether thread `tid` of this process is running or runnable (`R`), from
/// `/proc/self/task/<tid>/stat`; `None` if that cannot be read.
pub(crate) fn thread_is_running(tid: usize) -> Option<bool> {
    if tid == 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // "<tid> (<comm>) <state> ...": comm may hold spaces and parentheses.
    let state = stat[stat.rfind(')')? + 1..].trim_start().chars().next()?;
    Some(state == 'R')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait::wait_for;

    #[test]
    fn the_kernel_says_a_sleeping_thread_is_not_running() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(current_tid()).unwrap();
            let _ = done_rx.recv();
        });
        let tid = rx.recv().unwrap();
        if tid == 0 {
            return; // no /proc here
        }
        // Blocked in recv: eventually reported as not running (a loaded
        // machine may leave it waiting for a CPU before it blocks).
        wait_for("a thread blocked in recv to read as not running", || {
            thread_is_running(tid) == Some(false)
        });
        assert_eq!(
            thread_is_running(current_tid()),
            Some(true),
            "we are running"
        );
        done_tx.send(()).unwrap();
        t.join().unwrap();
    }
}

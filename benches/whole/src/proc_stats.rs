//! What the kernel says about this process: CPU time, peak memory and
//! context switches, read from `/proc/self`.
//!
//! * CPU time is the sum over the live threads of the first field of
//!   `/proc/self/task/<tid>/schedstat` (nanoseconds on a CPU). Threads that
//!   exited are not counted; the runtimes' workers live as long as the
//!   process, so nothing of a measurement is lost.
//! * Memory is `VmHWM` (peak resident set) and `VmRSS` of
//!   `/proc/self/status`, in bytes.
//! * Wake-ups are a thread's `voluntary_ctxt_switches` +
//!   `nonvoluntary_ctxt_switches`: a thread that sleeps and wakes switches
//!   out once per sleep.

use std::fs;

/// The thread IDs of this process.
fn tids() -> Vec<u64> {
    let Ok(dir) = fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Nanoseconds on a CPU, summed over the process's live threads.
pub(crate) fn cpu_ns() -> u64 {
    tids()
        .into_iter()
        .filter_map(|tid| {
            let text = fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
            text.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// A `kB` field of a `/proc` status file, in bytes.
fn status_kb(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// A plain number field of a `/proc` status file.
fn status_count(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().parse().ok()
}

/// Peak resident set size of the process (`VmHWM`), in bytes.
pub(crate) fn vm_hwm() -> u64 {
    let text = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status_kb(&text, "VmHWM:").unwrap_or(0)
}

/// Resident set size of the process (`VmRSS`), in bytes.
pub(crate) fn vm_rss() -> u64 {
    let text = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status_kb(&text, "VmRSS:").unwrap_or(0)
}

/// Context switches counted by [`switches`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Switches {
    /// Voluntary + involuntary switches of every thread but the skipped one.
    pub(crate) all: u64,
    /// The same of the monitor thread.
    pub(crate) monitor: u64,
    /// The monitor thread's voluntary switches alone: one per sleep, so one
    /// per wake-up.
    pub(crate) monitor_voluntary: u64,
}

/// Context switches of every thread but `skip` (0 skips none), and of the
/// threads named `monitor`.
pub(crate) fn switches(skip: u64, monitor: Option<&str>) -> Switches {
    let mut out = Switches::default();
    for tid in tids() {
        if tid == skip {
            continue;
        }
        let base = format!("/proc/self/task/{tid}");
        let Ok(status) = fs::read_to_string(format!("{base}/status")) else {
            continue;
        };
        let voluntary = status_count(&status, "voluntary_ctxt_switches:").unwrap_or(0);
        let n = voluntary + status_count(&status, "nonvoluntary_ctxt_switches:").unwrap_or(0);
        out.all += n;
        let comm = fs::read_to_string(format!("{base}/comm")).unwrap_or_default();
        if monitor.is_some_and(|m| comm.trim_end() == m) {
            out.monitor += n;
            out.monitor_voluntary += voluntary;
        }
    }
    out
}

/// The thread ID of the calling thread (the main thread's is the PID).
pub(crate) fn main_tid() -> u64 {
    std::process::id().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_parse() {
        let text = "Name:\tx\nVmHWM:\t  1234 kB\nvoluntary_ctxt_switches:\t7\n";
        assert_eq!(status_kb(text, "VmHWM:"), Some(1234 * 1024));
        assert_eq!(status_count(text, "voluntary_ctxt_switches:"), Some(7));
        assert_eq!(status_kb(text, "VmRSS:"), None);
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(cpu_ns() > 0, "schedstat gave no CPU time");
        // RSS first: the peak read after it cannot be lower.
        let rss = vm_rss();
        assert!(rss > 0, "no VmRSS");
        assert!(vm_hwm() >= rss, "VmHWM below an earlier VmRSS");
    }
}

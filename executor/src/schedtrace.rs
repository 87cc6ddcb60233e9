//! `GMP_SCHEDTRACE`: Go's `SCHED` line, printed by sysmon.
//!
//! ```text
//! SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 needspinning=0 idlethreads=1 runqueue=0 [ 3 0 ] schedticks=[ 61 58 ]
//! ```
//!
//! With `GMP_SCHEDDETAIL=1`, the header without the lists, then a line per P
//! and per M.

use std::fmt::Write as _;
use std::time::Duration;

use crate::proc::{Status, NO_M};
use crate::sched::Shared;
use crate::sync::Ordering;

/// The line (or lines) for `shared` at `uptime`.
pub(crate) fn render(shared: &Shared, uptime: Duration) -> String {
    let procs = &shared.procs;
    let (idle_ms, all_ms) = {
        let sched = shared.lock();
        (sched.idle_ms.len(), sched.all_ms.clone())
    };
    let mut out = format!(
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning={} idlethreads={} runqueue={}",
        uptime.as_millis(),
        procs.len(),
        shared.npidle.load(Ordering::Relaxed),
        shared.nthreads.load(Ordering::Relaxed),
        shared.nmspinning.load(Ordering::Relaxed),
        u8::from(shared.needspinning.load(Ordering::Relaxed)),
        idle_ms,
        shared.grq.len(),
    );
    if !shared.config.scheddetail {
        out.push_str(" [");
        for p in procs.iter() {
            let _ = write!(out, " {}", p.local_len());
        }
        out.push_str(" ] schedticks=[");
        for p in procs.iter() {
            let _ = write!(out, " {}", p.schedtick.load(Ordering::Relaxed));
        }
        out.push_str(" ]\n");
        return out;
    }
    out.push('\n');
    for p in procs.iter() {
        let status = match p.state.status() {
            Status::Idle => "idle",
            Status::Owned => "running",
            Status::InPoll(_) | Status::Pushing(_) => "polling",
        };
        let m = p.m.load(Ordering::Relaxed);
        let m = if m == NO_M { -1 } else { m as i64 };
        let _ = writeln!(
            out,
            "  P{}: status={} schedtick={} m={} runqsize={} runnext={} handoffs={}",
            p.id,
            status,
            p.schedtick.load(Ordering::Relaxed),
            m,
            p.queue.len(),
            u8::from(p.queue.has_runnext()),
            p.stats.handoffs.load(std::sync::atomic::Ordering::Relaxed),
        );
    }
    for m in all_ms {
        let p = m.p.load(Ordering::Relaxed);
        let p = if p == crate::machine::NO_P {
            -1
        } else {
            p as i64
        };
        let _ = writeln!(
            out,
            "  M{}: p={} spinning={} blocked={} inpoll={}",
            m.id,
            p,
            u8::from(m.spinning.load(Ordering::Relaxed)),
            u8::from(m.in_reactor.load(Ordering::Relaxed)),
            u8::from(m.polling.load(Ordering::Relaxed)),
        );
    }
    out
}

/// Prints the line to stderr.
pub(crate) fn print(shared: &Shared, uptime: Duration) {
    eprint!("{}", render(shared, uptime));
}

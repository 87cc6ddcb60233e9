//! Scheduler benchmarks: gmp and tokio side by side, same workloads, same
//! number of worker threads, the system allocator.
//!
//! ```text
//! cargo bench --bench scheduler
//! python3 benches/report.py --allocator glibc
//! ```
//!
//! `benches/scheduler_mimalloc.rs` runs the same workloads with mimalloc.

mod common;

fn benches(c: &mut criterion::Criterion) {
    common::all(c, "");
}

// `criterion_group!` defines the group function without a doc comment.
#[allow(missing_docs)]
mod group {
    use super::*;

    criterion::criterion_group! {
        name = scheduler;
        config = common::config();
        targets = benches
    }
}

criterion::criterion_main!(group::scheduler);

//! The scheduler benchmarks of `benches/scheduler.rs` with mimalloc as the
//! global allocator; bench IDs end in `-mimalloc` (`spawn_many_local/gmp-mimalloc`).
//!
//! ```text
//! cargo bench --bench scheduler_mimalloc
//! python3 benches/report.py --allocator mimalloc
//! ```

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

fn benches(c: &mut criterion::Criterion) {
    common::all(c, "-mimalloc");
}

// `criterion_group!` defines the group function without a doc comment.
#[allow(missing_docs)]
mod group {
    use super::*;

    criterion::criterion_group! {
        name = scheduler_mimalloc;
        config = common::config();
        targets = benches
    }
}

criterion::criterion_main!(group::scheduler_mimalloc);

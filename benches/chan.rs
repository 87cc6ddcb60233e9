//! `gmp::chan` against Go's channels, async-channel and OS threads, one
//! workload per process (glibc's allocator; `chan_mimalloc` is the same with
//! mimalloc). Driven by `benches/chan_report.py`, which interleaves whole
//! processes with the Go program of `benches/go/goroutines/`.
//!
//! ```text
//! cargo bench --bench chan -- pingpong-chan0 1000000
//! python3 benches/chan_report.py
//! ```

mod chan_common;

fn main() {
    chan_common::main("glibc");
}

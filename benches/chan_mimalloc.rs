//! The workloads of `benches/chan.rs` with mimalloc as the global allocator.
//!
//! ```text
//! cargo bench --bench chan_mimalloc -- pingpong-chan0 1000000
//! ```

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod chan_common;

fn main() {
    chan_common::main("mimalloc");
}

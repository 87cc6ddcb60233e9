//! One workload on one runtime, mimalloc as the global allocator: see the
//! crate docs.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    gmp_bench_whole::main_with("mimalloc");
}

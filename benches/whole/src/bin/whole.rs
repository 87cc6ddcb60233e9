//! One workload on one runtime, glibc's malloc: see the crate docs.

fn main() {
    gmp_bench_whole::main_with("glibc");
}

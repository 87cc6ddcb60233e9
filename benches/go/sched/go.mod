module gmp-bench/sched

go 1.19

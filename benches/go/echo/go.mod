module gmp-bench/echo

go 1.19

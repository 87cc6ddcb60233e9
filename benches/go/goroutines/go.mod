module gmp/benches/go/goroutines

go 1.19

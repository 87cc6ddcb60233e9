// Command echo is the Go twin of the echo servers of benches/echo.rs: one
// goroutine per accepted connection, reading into a 4 KiB buffer and writing
// what it read back, until the peer closes. GOMAXPROCS is the threads
// argument. Prints "ready go <threads> <addr>" once it listens.
//
//	go build -o ../../../target/echo/go-echo . && ../../../target/echo/go-echo 1 18100
//
// Standard library only (TCP_NODELAY is Go's default).
package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
)

func serve(conn net.Conn) {
	defer conn.Close()
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-echo <threads> <port>")
		os.Exit(2)
	}
	threads, err := strconv.Atoi(os.Args[1])
	if err != nil || threads < 1 {
		fmt.Fprintf(os.Stderr, "threads must be a positive number, got %q\n", os.Args[1])
		os.Exit(2)
	}
	port, err := strconv.Atoi(os.Args[2])
	if err != nil || port < 0 || port > 65535 {
		fmt.Fprintf(os.Stderr, "port must be 0-65535, got %q\n", os.Args[2])
		os.Exit(2)
	}
	runtime.GOMAXPROCS(threads)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen on port %d: %v\n", port, err)
		os.Exit(1)
	}
	fmt.Printf("ready go %d %s\n", threads, ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "accept: %v\n", err)
			os.Exit(1)
		}
		go serve(conn)
	}
}

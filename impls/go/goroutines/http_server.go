package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

var (
	helloBody     = []byte("Hello, World!")
	serverName    = []string{"cmbench-go"}
	textPlain     = []string{"text/plain"}
	helloBodySize = []string{strconv.Itoa(len(helloBody))}
)

// plaintext answers GET /plaintext. The header slices are shared and only
// read by net/http, which adds Date itself.
func plaintext(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = textPlain
	h["Content-Length"] = helloBodySize
	w.Write(helloBody)
}

// withServerHeader sets the Server header on every response, 404s included.
func withServerHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Server"] = serverName
		next.ServeHTTP(w, r)
	})
}

// serveHTTP runs the http_server workload and returns the exit status.
// net/http serves each connection on its own goroutine, with keep-alive,
// TCP_NODELAY, SO_REUSEADDR and the kernel's somaxconn backlog by default.
func serveHTTP(args []string) int {
	fs := newFlagSet("http_server")
	var port, cpus count
	fs.Var(&port, "port", "TCP port on 127.0.0.1")
	fs.Var(&cpus, "cpus", "CPUs the server is pinned to")
	parseFlags(fs, args)
	if port > 65535 {
		usageError("--port must be at most 65535")
	}
	if cpus < 1 {
		usageError("--cpus must be at least 1")
	}
	setMaxProcs(int(cpus))

	mux := http.NewServeMux()
	mux.HandleFunc("/plaintext", plaintext)
	srv := &http.Server{
		Handler:  withServerHeader(mux),
		ErrorLog: log.New(io.Discard, "", 0),
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmbench-go:", err)
		return 1
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Printf("{\"ready\": true, \"port\": %d}\n", ln.Addr().(*net.TCPAddr).Port)

	select {
	case <-stop:
		srv.Close()
		return 0
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "cmbench-go:", err)
		return 1
	}
}

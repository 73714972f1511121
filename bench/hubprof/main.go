// Command hubprof is `hub serve` with Go's profiler: the same configuration (environment and
// flags), the same app, plus net/http/pprof on a separate loopback address, so a benchmark can
// take a CPU profile of the real server without changing Hub. It is a bench tool, not a way to
// run Hub.
//
//	HUB_PPROF_ADDR=127.0.0.1:6061 go run ./bench/hubprof            # then:
//	go tool pprof -top http://127.0.0.1:6061/debug/pprof/profile?seconds=20
//
// HUB_PPROF_BLOCK=1 also records blocking and mutex contention (with some overhead).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/hubtrack/hub/internal/app"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/obs"
)

func main() {
	app.TuneGC(os.Getenv, os.ReadFile) // the collector hub serve runs with
	addr := os.Getenv("HUB_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6061"
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("hubprof: HUB_PPROF_ADDR %q must be a loopback address", addr)
	}
	if os.Getenv("HUB_PPROF_BLOCK") == "1" {
		runtime.SetBlockProfileRate(int(time.Millisecond))
		runtime.SetMutexProfileFraction(100)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("hubprof: %v", err)
	}
	go func() {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("hubprof: pprof server: %v", err)
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(os.Getenv, os.Args[1:], app.DeclaredSettings())
	if err != nil {
		log.Fatalf("hubprof: %v", err)
	}
	logger := obs.NewLogger(os.Stdout, cfg.LogLevel)
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		log.Fatalf("hubprof: %v", err)
	}
	defer a.Close()
	if err := a.Bootstrap(ctx, os.Stdout); err != nil {
		log.Printf("hubprof: %v", err)
		return
	}
	err = a.Serve(ctx, func(addr string) {
		fmt.Printf("Hub (profiling build) is serving on %s; pprof on http://%s/debug/pprof/\n", addr, ln.Addr())
	})
	if err != nil {
		log.Printf("hubprof: %v", err)
	}
}

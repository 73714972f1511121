package httpx

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the request id stored by the Recover/Log middleware.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// StatusWriter records the status and size written through it.
type StatusWriter struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines (SSE, long polls).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// FlushError sends what is buffered to the client (http.ResponseController uses it), or says
// why the connection underneath cannot.
func (w *StatusWriter) FlushError() error {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush makes the writer an http.Flusher, as the server's own writer is: handlers that check
// for one (Server-Sent Events) must not lose it behind the access log.
func (w *StatusWriter) Flush() { _ = w.FlushError() }

// Observer is told about every finished request (metrics).
type Observer func(route, method string, status int, d time.Duration)

// Handler wraps mux with Hub's middleware: a request id, panic recovery, a JSON access log,
// problem+json for unknown routes and methods, and an observer keyed by the route pattern.
func Handler(mux *http.ServeMux, log *slog.Logger, observe Observer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		sw := &StatusWriter{ResponseWriter: w}
		_, route := mux.Handler(r)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic", "request_id", id, "route", route, "panic", p, "stack", string(debug.Stack()))
				if sw.Status == 0 {
					WriteProblem(sw, r, NewProblem(http.StatusInternalServerError, "internal error; see the server log for request "+id))
				}
			}
			d := time.Since(start)
			if route == "" {
				route = "unmatched"
			}
			if observe != nil {
				observe(route, r.Method, sw.Status, d)
			}
			level := slog.LevelInfo
			if sw.Status >= 500 {
				level = slog.LevelError
			}
			log.Log(r.Context(), level, "request", "request_id", id, "method", r.Method, "route", route,
				"status", sw.Status, "bytes", sw.Bytes, "duration_ms", float64(d.Microseconds())/1000)
		}()
		if route == "" {
			unmatched(mux, sw, r)
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// unmatched answers a request no pattern matched with a problem: 404, or 405 with Allow.
func unmatched(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	h, _ := mux.Handler(r)
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		WriteProblem(w, r, NewProblem(http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed here; allowed: "+rec.header.Get("Allow")))
		return
	}
	if rec.status >= 300 && rec.status < 400 { // the mux's own redirect to a canonical path
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		return
	}
	WriteProblem(w, r, NewProblem(http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path))
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

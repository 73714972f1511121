package desttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"
)

// Recorder is a fake the controls of a `hub fake-*` command drive: a FakeServer that also says
// when it accepted each event (Fake does).
type Recorder interface {
	http.Handler
	InjectFault(mode string, count int) error
	Accepted() map[string]int
	Acceptances() []Acceptance
	Reset()
}

// Controls is the HTTP face every `hub fake-*` command shares, in front of its fake, so a
// harness (bench/delivery) drives and reads them all alike:
//
//	POST /_fake/faults {"mode":"500","rate":0.3,"count":5}  inject a fault ({"mode":"none"} clears it)
//	GET  /_fake/faults                                      the fault injected now
//	GET  /_fake/events                                      what the fake accepted (below)
//	POST /_fake/reset                                       forget everything
//
// GET /_fake/events answers {"events":[{"event_id","received"}],"counts":{id:n},
// "duplicates":[ids],"requests":n}: every acceptance with its time, in order, how many times
// each key was accepted and the keys accepted more than once: the shape of `hub fake-meta`'s.
// Every other request goes to the fake.
type Controls struct {
	// Name prefixes error answers: "fakega4".
	Name string
	Fake Recorder
	// Counts, when set, replaces Fake.Accepted in the counts (fake-webhook counts deliveries
	// by webhook-id, redeliveries included).
	Counts func() map[string]int
}

// ServeHTTP implements http.Handler.
func (c Controls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_fake/faults" && r.Method == http.MethodPost:
		c.postFault(w, r)
	case r.URL.Path == "/_fake/faults" && r.Method == http.MethodGet:
		f := fault{Mode: FaultNone}
		if g, ok := c.Fake.(interface {
			Fault() (string, int, float64)
		}); ok {
			f.Mode, f.Count, f.Rate = g.Fault()
		}
		WriteJSON(w, http.StatusOK, f)
	case r.URL.Path == "/_fake/events" && r.Method == http.MethodGet:
		WriteJSON(w, http.StatusOK, c.Events())
	case r.URL.Path == "/_fake/reset" && r.Method == http.MethodPost:
		c.Fake.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		c.Fake.ServeHTTP(w, r)
	}
}

type fault struct {
	Mode  string  `json:"mode"`
	Rate  float64 `json:"rate,omitempty"`
	Count int     `json:"count,omitempty"`
}

func (c Controls) postFault(w http.ResponseWriter, r *http.Request) {
	var f fault
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil || f.Count < 0 {
		http.Error(w, c.Name+`: body must be {"mode":..., "rate":..., "count":...}`, http.StatusBadRequest)
		return
	}
	var err error
	if ri, ok := c.Fake.(interface {
		InjectRate(mode string, count int, rate float64) error
	}); ok {
		err = ri.InjectRate(f.Mode, f.Count, f.Rate)
	} else if f.Rate != 0 && f.Rate != 1 {
		err = errors.New(c.Name + ": this fake fails every request or none: no rate")
	} else {
		err = c.Fake.InjectFault(f.Mode, f.Count)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	WriteJSON(w, http.StatusOK, f)
}

// Recorded is the answer of GET /_fake/events.
type Recorded struct {
	Events     []Acceptance   `json:"events"`
	Counts     map[string]int `json:"counts"`
	Duplicates []string       `json:"duplicates"`
	// Requests is how many requests reached the platform's endpoints, when the fake counts them.
	Requests int `json:"requests"`
}

// Events returns what GET /_fake/events answers.
func (c Controls) Events() Recorded {
	out := Recorded{Events: c.Fake.Acceptances(), Duplicates: []string{}}
	if c.Counts != nil {
		out.Counts = c.Counts()
	} else {
		out.Counts = c.Fake.Accepted()
	}
	if out.Events == nil {
		out.Events = []Acceptance{}
	}
	for id, n := range out.Counts {
		if n > 1 {
			out.Duplicates = append(out.Duplicates, id)
		}
	}
	slices.Sort(out.Duplicates)
	if rq, ok := c.Fake.(interface{ Requests() int }); ok {
		out.Requests = rq.Requests()
	}
	return out
}

// ListenAndServe serves h on addr until ctx is done, then shuts down; ready, when not nil, is
// called with the address listened on once it listens. A fake with a Close method (held
// timeout faults) is closed first so shutting down does not wait for them.
func ListenAndServe(ctx context.Context, name, addr string, h http.Handler, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", name, err)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	closeFake := func() {
		if c, ok := h.(interface{ Close() }); ok {
			c.Close()
		}
		if c, ok := h.(Controls); ok {
			if cf, ok := c.Fake.(interface{ Close() }); ok {
				cf.Close()
			}
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		closeFake()
		return fmt.Errorf("%s: serve: %w", name, err)
	case <-ctx.Done():
	}
	closeFake()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: serve: %w", name, err)
	}
	return nil
}

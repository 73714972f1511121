package httpx

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type thing struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Tags  []string
}

func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /things", func(w http.ResponseWriter, r *http.Request) {
		var v thing
		if err := DecodeJSON(w, r, 64, &v); err != nil {
			WriteError(w, r, err)
			return
		}
		WriteJSON(w, http.StatusCreated, v)
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	srv := httptest.NewServer(Handler(mux, slog.New(slog.DiscardHandler), nil))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, body string) (*http.Response, Problem) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p Problem
	_ = json.Unmarshal(b, &p)
	return resp, p
}

func TestErrorsAreProblems(t *testing.T) {
	t.Parallel()
	srv := server(t)
	cases := []struct {
		name, method, path, body string
		status                   int
		field, reason            string
	}{
		{"malformed JSON", "POST", "/things", `{"name":`, 400, "body", "malformed JSON"},
		{"wrong type", "POST", "/things", `{"count":"three"}`, 400, "count", "must be a number"},
		{"unknown field", "POST", "/things", `{"nme":"x"}`, 400, "nme", "unknown field"},
		{"trailing data", "POST", "/things", `{"name":"x"} {}`, 400, "body", "unexpected data"},
		{"empty body", "POST", "/things", ``, 400, "body", "empty body"},
		{"oversize", "POST", "/things", `{"name":"` + strings.Repeat("x", 100) + `"}`, 413, "", ""},
		{"unknown route", "GET", "/nowhere", ``, 404, "", ""},
		{"wrong method", "DELETE", "/things", ``, 405, "", ""},
		{"panic", "GET", "/panic", ``, 500, "", ""},
	}
	for _, tc := range cases {
		resp, p := do(t, tc.method, srv.URL+tc.path, tc.body)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" || p.Status != tc.status || p.Title == "" {
			t.Errorf("%s: %d %q %+v", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), p)
			continue
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no request id", tc.name)
		}
		if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field || !strings.Contains(p.Errors[0].Reason, tc.reason)) {
			t.Errorf("%s: errors %+v, want field %q with %q", tc.name, p.Errors, tc.field, tc.reason)
		}
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s: no Allow header", tc.name)
		}
		if tc.status == 500 && strings.Contains(p.Detail, "boom") {
			t.Errorf("panic value leaked: %q", p.Detail)
		}
	}
	resp, _ := do(t, "POST", srv.URL+"/things", `{"name":"ok","count":2}`)
	if resp.StatusCode != 201 {
		t.Fatalf("valid body: %d", resp.StatusCode)
	}
}

// TestHandlerKeepsFlusher: a streaming handler behind the middleware can flush (as an
// http.Flusher and through http.ResponseController), and the client reads the first event
// while the handler is still running.
func TestHandlerKeepsFlusher(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		fl, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		fl.Flush()
		io.WriteString(w, "data: two\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		<-release
	})
	srv := httptest.NewServer(Handler(mux, slog.New(slog.DiscardHandler), nil))
	defer srv.Close()
	defer close(release)
	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	buf := make([]byte, 0, 64)
	for !strings.Contains(string(buf), "data: two\n\n") {
		b := make([]byte, 64)
		n, err := resp.Body.Read(b)
		if err != nil {
			t.Fatalf("read before the handler returned: %v (got %q)", err, buf)
		}
		buf = append(buf, b[:n]...)
	}
}

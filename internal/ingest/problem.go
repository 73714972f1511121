package ingest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
)

func newProblem(status int, detail string, errs ...domain.FieldError) *httpx.Problem {
	return httpx.NewProblem(status, detail, errs...)
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *httpx.Problem) {
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteProblem(w, r, p)
}

// writeBatchProblem is a problem for a batch in which no event was valid: the usual document
// plus each event's result, the same list a 202 carries.
func writeBatchProblem(w http.ResponseWriter, r *http.Request, p *httpx.Problem, results []EventResult) {
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(struct {
		*httpx.Problem
		Results []EventResult `json:"results"`
	}{p, results})
}

// writeRetry answers 429 or 503 with Retry-After in whole seconds (at least 1).
func writeRetry(w http.ResponseWriter, r *http.Request, status int, after time.Duration, detail string) {
	secs := int((after + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeProblem(w, r, newProblem(status, detail))
}

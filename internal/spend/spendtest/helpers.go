package spendtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hubtrack/hub/internal/spend"
)

// Serve serves fake for the rest of the test and returns the Env a Source is built with to
// reach it (the server's client, the operator setting env set to its URL) and that URL.
func Serve(t *testing.T, fake http.Handler, env string) (spend.Env, string) {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return spend.Env{Client: srv.Client(), Operator: map[string]string{env: srv.URL}}, srv.URL
}

// Kind says how a Source's error classifies: "throttled", "permanent", or "plain" (an
// ordinary error the importer retries; nil too).
func Kind(err error) string {
	if _, ok := spend.Throttled(err); ok {
		return "throttled"
	}
	if _, ok := spend.Permanent(err); ok {
		return "permanent"
	}
	return "plain"
}

package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/store"
)

// TestGraphURLIsRefused: a tenant admin cannot point a destination (and its token) at an address
// of their choosing: graph_url is refused on create and on patch, naming the operator's setting,
// and nothing is stored.
func TestGraphURLIsRefused(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.tenant("alpha")
		want := domain.FieldError{Field: "config.graph_url", Reason: "not a destination setting; the operator sets HUB_META_GRAPH_URL"}
		for _, c := range []struct{ method, path string }{
			{"POST", "/api/v1/destinations"},
			{"PATCH", "/api/v1/destinations/" + a.Destination.ID},
		} {
			body := map[string]any{"config": map[string]string{"graph_url": "http://169.254.169.254/latest/meta-data"}}
			if c.method == "POST" {
				body = map[string]any{"type": "meta", "config": map[string]string{"pixel_id": "123", "graph_url": "http://169.254.169.254/latest/meta-data"},
					"credentials": map[string]string{"access_token": "EAAx"}}
			}
			r := e.do(a.AdminKey, c.method, c.path, body)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s %s: status %d: %s", c.method, c.path, r.Status, r.Body)
			}
			p := r.problem(t)
			if len(p.Errors) != 1 || p.Errors[0] != want {
				t.Errorf("%s %s: problems %+v, want %+v", c.method, c.path, p.Errors, want)
			}
		}
		var d api.Destination
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/destinations/"+a.Destination.ID, nil).json(t, &d)
		if _, ok := d.Config["graph_url"]; ok {
			t.Errorf("graph_url was stored: %+v", d.Config)
		}
		if ds, _ := st.ListDestinations(t.Context(), a.ID); len(ds) != 1 {
			t.Errorf("%d destinations after a refused create", len(ds))
		}
	})
}

// TestDestinationTestShowsOnlyPlatformErrors: the test action reports Meta's error fields, and of
// an answer that is not a Graph API error only its status, never its body.
func TestDestinationTestShowsOnlyPlatformErrors(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		var answer atomic.Value
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := answer.Load().([2]string)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(map[string]int{"html": 502, "graph": 400}[a[0]])
			_, _ = w.Write([]byte(a[1]))
		}))
		defer srv.Close()
		reg := dest.NewRegistry()
		reg.Register(&meta.Meta{GraphURL: srv.URL, Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})})
		e := newEnv(t, st, func(c *api.Config) { c.Dests = reg })
		a := e.tenant("alpha")

		answer.Store([2]string{"html", `<html>internal admin: AWS_SECRET_ACCESS_KEY=hunter2</html>`})
		var tr api.TestResult
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/destinations/"+a.Destination.ID+"/test", nil).json(t, &tr)
		if tr.Delivered || tr.Message != "meta: unexpected answer: HTTP 502" || tr.HTTPStatus != 502 {
			t.Errorf("non-Meta answer: %+v", tr)
		}

		answer.Store([2]string{"graph", `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190,"error_subcode":467,"fbtrace_id":"AxYz"}}`})
		r := e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/destinations/"+a.Destination.ID+"/test", nil)
		r.json(t, &tr)
		if tr.Code != 190 || tr.Subcode != 467 || tr.TraceID != "AxYz" ||
			tr.Message != "meta: OAuthException: Invalid OAuth access token. [code 190, subcode 467, fbtrace_id AxYz]" {
			t.Errorf("Meta error: %+v", tr)
		}
		if strings.Contains(string(r.Body), "tok-alpha") {
			t.Error("the token is in the answer")
		}
	})
}

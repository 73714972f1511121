package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/api"
)

// TestOpenAPIMatchesRoutes proves the document and the route table describe the same API: no
// route undocumented, none documented but missing, and every route really registered on the mux.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}
	var documented []string
	for path, item := range doc.Paths {
		for m := range item {
			if methods[m] {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}

	a := api.New(api.Config{Surface: admin.Surface{Providers: []string{"hotmart"}}})
	mux := http.NewServeMux()
	a.Register(mux)
	var registered []string
	wildcard := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, rt := range a.Routes() {
		pattern := rt.Pattern()
		registered = append(registered, pattern)
		// The mux must route a concrete request to exactly this pattern.
		path := wildcard.ReplaceAllString(api.Prefix+rt.Path, "x1")
		_, got := mux.Handler(httptest.NewRequest(rt.Method, path, nil))
		if got != pattern {
			t.Errorf("%s %s is routed to %q, want %q", rt.Method, path, got, pattern)
		}
	}
	slices.Sort(documented)
	slices.Sort(registered)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.json documents %s, which is not a route", d)
		}
	}
	if len(registered) != len(slices.Compact(slices.Clone(registered))) {
		t.Error("the route table has duplicates")
	}
}

// TestOpenAPIRefsResolve catches a $ref to a schema, parameter or response that does not exist.
func TestOpenAPIRefsResolve(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				cur := any(doc)
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, ok := cur.(map[string]any)
					if !ok || m[part] == nil {
						t.Errorf("unresolved $ref %s", ref)
						return
					}
					cur = m[part]
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
}

func TestOpenAPIServedWithoutKey(t *testing.T) {
	t.Parallel()
	a := api.New(api.Config{Surface: admin.Surface{Providers: []string{"hotmart"}}})
	mux := http.NewServeMux()
	a.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || !json.Valid(rec.Body.Bytes()) || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// checkSchema fails t when the JSON object obj has a field the OpenAPI document's component
// schema name does not list, or lacks one it requires.
func checkSchema(t *testing.T, name string, obj map[string]any) {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	s, ok := doc.Components.Schemas[name]
	if !ok {
		t.Fatalf("openapi.json has no schema %s", name)
	}
	for k := range obj {
		if _, ok := s.Properties[k]; !ok {
			t.Errorf("%s: field %q is not in openapi.json", name, k)
		}
	}
	for _, k := range s.Required {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s: required field %q is missing from the answer", name, k)
		}
	}
}

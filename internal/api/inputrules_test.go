package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/store"
)

// TestBlankGatewaySecret: a gateway secret of only blanks is refused (400 naming the field) on
// every path that takes one, stores nothing and leaves the gateway off; a PUT of blanks was
// already refused, the secrets map of POST and PATCH /sources is the same rule.
func TestBlankGatewaySecret(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		a := e.tenant("alpha")
		blank := map[string]string{"kiwify": " \t "}
		for _, c := range []struct {
			method, path string
			body         any
			field        string
		}{
			{"POST", "/api/v1/sources", map[string]any{"name": "blank shop", "secrets": blank}, "secrets.kiwify"},
			{"PATCH", "/api/v1/sources/" + a.Source.ID, map[string]any{"secrets": blank}, "secrets.kiwify"},
			{"PUT", "/api/v1/sources/" + a.Source.ID + "/secrets/kiwify", map[string]any{"secret": " \t "}, "secret"},
		} {
			r := e.do(a.AdminKey, c.method, c.path, c.body)
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s %s: status %d, want 400: %s", c.method, c.path, r.Status, r.Body)
				continue
			}
			if got := fields(r.problem(t)); !slices.Equal(got, []string{c.field}) {
				t.Errorf("%s %s: fields %v, want [%s]", c.method, c.path, got, c.field)
			}
		}
		srcs, err := st.ListSources(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range srcs {
			if s.Name == "blank shop" {
				t.Errorf("POST with a blank secret created source %s", s.ID)
			}
		}
		if _, err := st.GetGatewaySecret(ctx, a.ID, a.Source.ID, "kiwify"); err == nil {
			t.Error("a blank kiwify secret was stored")
		}
		toks, err := st.ListWebhookTokens(ctx, a.ID, a.Source.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range toks {
			if tk.Provider == "kiwify" {
				t.Error("a blank kiwify secret enabled the gateway (it has a webhook URL)")
			}
		}
	})
}

// TestAttributionWindowOverflow: attribution_window_hours is 1–2160; a count of hours that
// overflows time.Duration (2^51+24 hours wraps to exactly 24 h) is refused on create and patch
// like any other out-of-range value, and the stored window is unchanged; the bounds are kept.
func TestAttributionWindowOverflow(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		a := e.tenant("alpha")
		before, err := st.GetSource(ctx, a.ID, a.Source.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, hours := range []int{2251799813685272, 1<<63 - 1, -1 << 63, 2161, 0, -24} {
			for _, c := range []struct{ method, path string }{
				{"POST", "/api/v1/sources"},
				{"PATCH", "/api/v1/sources/" + a.Source.ID},
			} {
				r := e.do(a.AdminKey, c.method, c.path, map[string]any{"name": "wide shop", "attribution_window_hours": hours})
				if r.Status != http.StatusBadRequest {
					t.Errorf("%s %s with %d hours: status %d, want 400: %s", c.method, c.path, hours, r.Status, r.Body)
					continue
				}
				if got := fields(r.problem(t)); !slices.Equal(got, []string{"attribution_window_hours"}) {
					t.Errorf("%s %s with %d hours: fields %v", c.method, c.path, hours, got)
				}
			}
		}
		if after, _ := st.GetSource(ctx, a.ID, a.Source.ID); after.AttributionWindow != before.AttributionWindow || after.Name != before.Name {
			t.Errorf("source changed by refused patches: window %s -> %s, name %q -> %q", before.AttributionWindow, after.AttributionWindow, before.Name, after.Name)
		}
		srcs, _ := st.ListSources(ctx, a.ID)
		for _, s := range srcs {
			if s.Name == "wide shop" {
				t.Errorf("a refused POST created source %s with window %s", s.ID, s.AttributionWindow)
			}
		}
		for _, hours := range []int{1, 2160} {
			var v struct {
				Hours int `json:"attribution_window_hours"`
			}
			e.must(http.StatusOK, a.AdminKey, "PATCH", "/api/v1/sources/"+a.Source.ID, map[string]any{"attribution_window_hours": hours}).json(t, &v)
			if v.Hours != hours {
				t.Errorf("PATCH %d hours: answered %d", hours, v.Hours)
			}
		}
	})
}

// TestNameLengthOnEveryWrite: POST refused a destination or key name over 200 characters;
// PATCH /destinations/{id} and POST /tenants refuse it too, with the same problem (400, field
// name), and store nothing.
func TestNameLengthOnEveryWrite(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		a := e.tenant("alpha")
		long := strings.Repeat("n", 5000)
		for _, c := range []struct {
			key, method, path string
			body              any
		}{
			{a.AdminKey, "POST", "/api/v1/destinations", map[string]any{"type": "meta", "name": long,
				"config": map[string]string{"pixel_id": "1234567890123456"}, "credentials": map[string]string{"access_token": "t"}}},
			{a.AdminKey, "PATCH", "/api/v1/destinations/" + a.Destination.ID, map[string]any{"name": long}},
			{a.OperatorKey, "POST", "/api/v1/tenants", map[string]any{"name": long}},
		} {
			r := e.do(c.key, c.method, c.path, c.body)
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s %s with a 5000-character name: status %d, want 400", c.method, c.path, r.Status)
				continue
			}
			if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "name" || p.Errors[0].Reason != "must be at most 200 characters" {
				t.Errorf("%s %s: problem %+v", c.method, c.path, p.Errors)
			}
		}
		if d, _ := st.GetDestination(ctx, a.ID, a.Destination.ID); d.Name != a.Destination.Name {
			t.Errorf("destination renamed to %d characters by a refused PATCH", len(d.Name))
		}
		if ts, _ := st.ListTenants(ctx); len(ts) != 1 {
			t.Errorf("%d tenants after a refused POST /tenants, want 1", len(ts))
		}
	})
}

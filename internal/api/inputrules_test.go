package api_test

import (
	"context"
	"net/http"
	"slices"
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

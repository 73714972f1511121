package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/store"
)

// TestTenantIsolation walks every route that names a resource (in the path, in a filter or in
// the body) with tenant B's ids, using tenant A's operator key, and expects 404: a tenant can
// never tell whether another tenant's resource exists, let alone read or change it. It then
// checks every list of A shows none of B's ids and that B's data is unchanged.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a, b := e.tenant("alpha"), e.tenant("beta")

		idFor := map[string]string{
			"keys": b.KeyID, "sources": b.Source.ID, "destinations": b.Destination.ID, "orders": b.Order.ID,
			"deliveries": b.Delivery.ID, "webhooks": b.Inbox.ID, "touchpoints": b.Touchpoint.ID, "ad-accounts": b.AdAccount.ID,
			"alerts": b.Alert.ID,
		}
		bodies := map[string]any{
			"PATCH /api/v1/sources/{id}":                  map[string]any{"name": "stolen"},
			"PUT /api/v1/sources/{id}/secrets/{provider}": map[string]any{"secret": "s3cret"},
			"POST /api/v1/sources/{id}/links":             map[string]any{"target": "https://beta.example/x"},
			"PATCH /api/v1/destinations/{id}":             map[string]any{"name": "stolen", "enabled": false},
			"POST /api/v1/destinations/{id}/test":         map[string]any{"event_name": "Purchase"},
			"PUT /api/v1/ad-accounts/{id}/credentials":    map[string]any{"credentials": map[string]string{"access_token": "x"}},
		}
		walked := 0
		for _, rt := range e.api.Routes() {
			if !strings.Contains(rt.Path, "{") {
				continue
			}
			segs := strings.Split(strings.TrimPrefix(rt.Path, "/"), "/")
			for i, s := range segs {
				switch s {
				case "{id}":
					id, ok := idFor[segs[0]]
					if !ok {
						t.Fatalf("route %s: no id of tenant B for %q; extend the walk", rt.Pattern(), segs[0])
					}
					segs[i] = id
				case "{provider}":
					segs[i] = "hotmart"
				default:
					if strings.HasPrefix(s, "{") {
						t.Fatalf("route %s: unknown wildcard %s; extend the walk", rt.Pattern(), s)
					}
				}
			}
			path := "/api/v1/" + strings.Join(segs, "/")
			var body any
			if rt.Method != http.MethodGet {
				body = bodies[rt.Pattern()]
				if body == nil {
					body = map[string]any{}
				}
			}
			r := e.do(a.OperatorKey, rt.Method, path, body)
			if r.Status != http.StatusNotFound {
				t.Errorf("%s %s with tenant B's id: status %d, want 404: %s", rt.Method, path, r.Status, r.Body)
				continue
			}
			r.problem(t)
			walked++
		}
		if walked < 15 {
			t.Fatalf("walked only %d routes with ids", walked)
		}

		// Ids in filters and bodies.
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/touchpoints?source_id=" + b.Source.ID, nil},
			{"GET", "/api/v1/webhooks?source_id=" + b.Source.ID, nil},
			{"GET", "/api/v1/deliveries?destination_id=" + b.Destination.ID, nil},
			{"GET", "/api/v1/deliveries?order_id=" + b.Order.ID, nil},
			{"POST", "/api/v1/webhooks/reprocess", map[string]any{"source_id": b.Source.ID}},
		} {
			if r := e.do(a.OperatorKey, c.method, c.path, c.body); r.Status != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404: %s", c.method, c.path, r.Status, r.Body)
			}
		}

		// Every list of A, including the reports, shows nothing of B.
		secretsOfB := []string{b.Source.ID, b.Source.PublicKey, b.Source.WebhookToken, b.Destination.ID, b.Order.ID, b.Delivery.ID,
			b.Inbox.ID, b.Touchpoint.ID, b.LinkCode, b.KeyID, "HP-beta", b.AdAccount.ID, b.Alert.ID}
		bToks, err := e.st.ListWebhookTokens(context.Background(), b.ID, b.Source.ID)
		if err != nil || len(bToks) == 0 {
			t.Fatalf("B's webhook tokens: %d %v", len(bToks), err)
		}
		for _, tk := range bToks {
			secretsOfB = append(secretsOfB, tk.Token)
		}
		for _, rt := range e.api.Routes() {
			if rt.Method != http.MethodGet || strings.Contains(rt.Path, "{") || rt.Operator {
				continue
			}
			r := e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1"+rt.Path, nil)
			for _, s := range secretsOfB {
				if strings.Contains(string(r.Body), s) {
					t.Errorf("GET %s as tenant A shows %q of tenant B", rt.Path, s)
				}
			}
		}
		// A's own lists do show A's data (the check above is not vacuous).
		if r := e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/orders", nil); !strings.Contains(string(r.Body), a.Order.ID) {
			t.Error("tenant A does not see its own order")
		}

		// B's data is untouched.
		ctx := context.Background()
		src, err := st.GetSource(ctx, b.ID, b.Source.ID)
		if err != nil || src.Name != "beta shop" {
			t.Errorf("B's source changed: %+v %v", src, err)
		}
		d, err := st.GetDestination(ctx, b.ID, b.Destination.ID)
		if err != nil || !d.Enabled || d.Name != "Meta beta" {
			t.Errorf("B's destination changed: %+v %v", d, err)
		}
		keys, err := st.ListAPIKeys(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.RevokedAt != nil {
				t.Errorf("B's key %s was revoked", k.ID)
			}
		}
		del, err := st.GetDelivery(ctx, b.ID, b.Delivery.ID)
		if err != nil || del.State != store.DeliveryDead {
			t.Errorf("B's delivery changed: %+v %v", del, err)
		}
		if len(e.intake.calls) != 0 {
			t.Errorf("intake was called for B's webhooks: %v", e.intake.calls)
		}
		if e.meta.Requests() != 0 {
			t.Errorf("a test event was sent for B's destination")
		}
	})
}

package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.tenant("alpha")
		ctx := context.Background()
		revoked, err := e.adm.CreateAPIKey(ctx, a.ID, "old", store.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.adm.RevokeAPIKey(ctx, a.ID, revoked.ID); err != nil {
			t.Fatal(err)
		}
		other, err := e.adm.CreateAPIKey(ctx, a.ID, "other", store.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		wrongSecret := other.Plaintext[:len(other.Plaintext)-4] + "AAAA"
		if wrongSecret == other.Plaintext {
			wrongSecret = other.Plaintext[:len(other.Plaintext)-4] + "BBBB"
		}

		for _, c := range []struct {
			name, header string
		}{
			{"missing", ""},
			{"not bearer", "Basic " + a.AdminKey},
			{"empty bearer", "Bearer "},
			{"garbage", "Bearer not-a-key"},
			{"unknown lookup", "Bearer hub_zzzzzzzzzzzz_zzzzzzzzzzzzzzzzzzzzzzzz"},
			{"wrong secret", "Bearer " + wrongSecret},
			{"revoked", "Bearer " + revoked.Plaintext},
		} {
			req := e.do("", "GET", "/api/v1/sources", nil)
			if c.header != "" {
				req = e.doHeader(c.header, "GET", "/api/v1/sources")
			}
			if req.Status != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", c.name, req.Status)
				continue
			}
			p := req.problem(t)
			if p.Status != 401 || req.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: problem %+v, WWW-Authenticate %q", c.name, p, req.Header.Get("WWW-Authenticate"))
			}
		}

		// Roles.
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/sources", nil)
		r := e.must(http.StatusForbidden, a.ReadKey, "POST", "/api/v1/sources", map[string]any{"name": "x"})
		r.problem(t)
		e.must(http.StatusForbidden, a.ReadKey, "POST", "/api/v1/deliveries/"+a.Delivery.ID+"/replay", nil)
		e.must(http.StatusForbidden, a.ReadKey, "POST", "/api/v1/erasure", map[string]any{"email": "a@b.example"})
		e.must(http.StatusForbidden, a.AdminKey, "GET", "/api/v1/tenants", nil)
		e.must(http.StatusForbidden, a.AdminKey, "POST", "/api/v1/tenants", map[string]any{"name": "x"})
		e.must(http.StatusForbidden, a.AdminKey, "POST", "/api/v1/keys", map[string]any{"name": "x", "role": "operator"})

		// An operator creates a tenant; its first admin key works and sees only the new tenant.
		var created api.CreatedTenant
		e.must(http.StatusCreated, a.OperatorKey, "POST", "/api/v1/tenants", map[string]any{"name": "gamma"}).json(t, &created)
		if created.AdminKey.Key == "" || created.Tenant.ID == "" {
			t.Fatalf("created tenant: %+v", created)
		}
		var me struct {
			Role   string `json:"role"`
			Tenant struct {
				ID string `json:"id"`
			} `json:"tenant"`
		}
		e.must(http.StatusOK, created.AdminKey.Key, "GET", "/api/v1/me", nil).json(t, &me)
		if me.Tenant.ID != created.Tenant.ID || me.Role != store.RoleAdmin {
			t.Errorf("me = %+v", me)
		}
		var tenants struct {
			Items []api.Tenant `json:"items"`
		}
		e.must(http.StatusOK, a.OperatorKey, "GET", "/api/v1/tenants", nil).json(t, &tenants)
		if len(tenants.Items) != 2 {
			t.Errorf("tenants: %+v", tenants.Items)
		}

		// Keys: created shown once, listed without the secret, revoked then refused.
		var k api.APIKey
		e.must(http.StatusCreated, a.AdminKey, "POST", "/api/v1/keys", map[string]any{"name": "ci", "role": "read_only"}).json(t, &k)
		if k.Key == "" || k.Role != store.RoleReadOnly {
			t.Fatalf("created key: %+v", k)
		}
		e.must(http.StatusOK, k.Key, "GET", "/api/v1/me", nil)
		list := e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/keys", nil)
		if contains(list.Body, k.Key) {
			t.Error("the key list shows a plaintext key")
		}
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/keys/"+k.ID+"/revoke", nil)
		e.must(http.StatusUnauthorized, k.Key, "GET", "/api/v1/me", nil)

		// Last use is recorded.
		keys, err := st.ListAPIKeys(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range keys {
			if key.ID == k.ID && key.LastUsedAt == nil {
				t.Error("last_used_at not recorded")
			}
		}
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		now := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
		mem := memory.New(memory.Options{Now: func() time.Time { return now }})
		e := newEnv(t, st, func(c *api.Config) { c.Cache, c.RateLimit, c.RateBurst = mem, 0.5, 3 })
		a, b := e.tenant("alpha"), e.tenant("beta")
		for i := 0; i < 3; i++ {
			e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/me", nil)
		}
		r := e.must(http.StatusTooManyRequests, a.AdminKey, "GET", "/api/v1/me", nil)
		r.problem(t)
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
		// The limit is per key.
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/me", nil)
		e.must(http.StatusOK, b.AdminKey, "GET", "/api/v1/me", nil)
		now = now.Add(2 * time.Second)
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/me", nil)
	})
}

// A reconciliation script that pages through every order and reads each one's detail, one
// request at a time, is not refused under the default limit (it was 20/s with bursts of 40);
// a client going on past the bucket gets 429 with Retry-After.
func TestDefaultRateLetsReconciliationThrough(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		now := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
		mem := memory.New(memory.Options{Now: func() time.Time { return now }}) // a frozen clock: no refill
		e := newEnv(t, st, func(c *api.Config) { c.Cache = mem })
		a := e.tenant("alpha")
		for i := range 120 {
			e.order(a.ID, a.Source.ID, "", fmt.Sprintf("HP-R%03d", i), domain.StatusPaid, 100, "BRL", "")
		}
		requests, cursor := 0, ""
		for {
			var page api.Page[api.Order]
			e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/orders?limit=50&cursor="+cursor, nil).json(t, &page)
			requests++
			for _, o := range page.Items {
				e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/orders/"+o.ID, nil)
				requests++
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if requests < 120 {
			t.Fatalf("%d requests", requests)
		}
		for range 2*api.DefaultRatePerKey - requests {
			e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/me", nil)
		}
		r := e.must(http.StatusTooManyRequests, a.ReadKey, "GET", "/api/v1/me", nil)
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
	})
}

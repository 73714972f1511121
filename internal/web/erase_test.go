package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// TestSettingsErase: the dashboard's erasure does what the API's does (internal/api's
// TestErasureLeavesNothing scans everything): a raw webhook linked to no order that holds the
// e-mail goes, the phone linked to the same visitor goes, and so do the cache's identity keys.
func TestSettingsErase(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			ctx := context.Background()
			tn := mustTenant(t, e)
			em, _ := pii.HashEmail("maria@example.com")
			ph, _ := pii.HashPhone("11987654321", "55")
			raw, err := e.st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: "src", Provider: "kiwify", State: store.InboxIgnored,
				Body: []byte(`{"Customer":{"email":"Maria@Example.com"}}`)})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.st.LinkIdentities(ctx, []store.Identity{
				{TenantID: tn.ID, Kind: store.IdentityEmail, Hash: em, VisitorID: "v1"},
				{TenantID: tn.ID, Kind: store.IdentityPhone, Hash: ph, VisitorID: "v1"},
			}); err != nil {
				t.Fatal(err)
			}
			keys := []string{ingest.IdentityKey(tn.ID, store.IdentityEmail, em), ingest.IdentityKey(tn.ID, store.IdentityPhone, ph)}
			for _, k := range keys {
				if err := e.cache.Set(ctx, k, []byte("v1"), time.Hour); err != nil {
					t.Fatal(err)
				}
			}

			tok := c.csrf("/settings")
			if r := c.post("/settings/erase", url.Values{"csrf": {tok}, "email": {"maria@example.com"}}); r.status != http.StatusOK {
				t.Fatalf("erase: %d %s", r.status, r.body)
			}
			if _, err := e.st.GetInbox(ctx, tn.ID, raw.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("raw webhook holding the e-mail: %v", err)
			}
			if ids, _ := e.st.VisitorsByIdentity(ctx, tn.ID, store.IdentityPhone, ph); len(ids) != 0 {
				t.Errorf("linked phone identity kept: %v", ids)
			}
			for _, k := range keys {
				if _, ok, err := e.cache.Get(ctx, k); ok || err != nil {
					t.Errorf("cache key %s kept (%v)", k, err)
				}
			}
		})
	}
}

// TestSettingsErasePhoneCountry: the dashboard's erasure by a phone typed without its calling
// code assumes the operator's (HUB_PHONE_COUNTRY, here Portugal's), and also finds the number
// stored as written, as a lead collected before ingest knew the calling code was.
func TestSettingsErasePhoneCountry(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnvWith(t, b, func(cfg *Config) { cfg.PhoneCountry = "351" })
			c := e.firstAdmin("ana@example.com")
			ctx := context.Background()
			tn := mustTenant(t, e)
			full, _ := pii.HashPhone("+351 912 345 678", "")
			written, _ := pii.HashPhone("912 345 678", "")
			if err := e.st.LinkIdentities(ctx, []store.Identity{
				{TenantID: tn.ID, Kind: store.IdentityPhone, Hash: full, VisitorID: "v1"},
				{TenantID: tn.ID, Kind: store.IdentityPhone, Hash: written, VisitorID: "v2"},
			}); err != nil {
				t.Fatal(err)
			}
			tok := c.csrf("/settings")
			if r := c.post("/settings/erase", url.Values{"csrf": {tok}, "phone": {"912 345 678"}}); r.status != http.StatusOK {
				t.Fatalf("erase: %d %s", r.status, r.body)
			}
			for _, h := range []string{full, written} {
				if ids, _ := e.st.VisitorsByIdentity(ctx, tn.ID, store.IdentityPhone, h); len(ids) != 0 {
					t.Errorf("phone identity %s… kept: %v", h[:8], ids)
				}
			}
		})
	}
}

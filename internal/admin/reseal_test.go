package admin_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// changing is a store in which someone replaces a destination's credentials right after
// ResealSecrets has listed them.
type changing struct {
	store.Store
	change func(ctx context.Context, ds []store.Destination)
}

func (c changing) ListDestinations(ctx context.Context, tenantID string) ([]store.Destination, error) {
	ds, err := c.Store.ListDestinations(ctx, tenantID)
	if err == nil && c.change != nil {
		c.change(ctx, ds)
	}
	return ds, err
}

// TestResealSecrets: after a key rotation, every secret sealed under the old key is sealed
// again under the new one, so that a keyring without the old key opens them all; a secret
// changed meanwhile is not undone, and one no key opens is reported and left alone.
func TestResealSecrets(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		oldKey, newKey, lostKey := pii.GenerateKey(), pii.GenerateKey(), pii.GenerateKey()
		ring := func(keys ...[]byte) *pii.Keyring {
			k, err := pii.NewKeyring(keys[0], keys[1:]...)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		before := &admin.Service{Store: st, Keys: ring(oldKey)}
		tn, _, err := before.CreateTenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		src, err := before.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop", Secrets: map[string]string{"stripe": "whsec_1", "hotmart": "hottok"}})
		if err != nil {
			t.Fatal(err)
		}
		add := func(svc *admin.Service, token string) store.Destination {
			d, err := svc.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: "meta", Config: json.RawMessage(`{"pixel_id":"1"}`),
				Credentials: json.RawMessage(`{"access_token":"` + token + `"}`)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		meta := add(before, "EAA1")
		raced := add(before, "EAA2")
		lost := add(&admin.Service{Store: st, Keys: ring(lostKey)}, "EAA3")

		rotated := ring(newKey, oldKey)
		var racedWith string
		svc := &admin.Service{Store: changing{Store: st, change: func(ctx context.Context, ds []store.Destination) {
			ct, err := rotated.Seal([]byte(`{"access_token":"EAA2-new"}`), store.CredentialsAD(raced.ID))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.SwapDestinationCredentials(ctx, tn.ID, raced.ID, raced.Credentials, ct); err != nil {
				t.Fatal(err)
			}
			racedWith = ct
		}}, Keys: rotated}
		r, err := svc.ResealSecrets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Checked != 5 || r.Resealed != 3 || r.Changed != 1 || len(r.Unopened) != 1 {
			t.Fatalf("reseal: %+v, want 5 checked, 3 resealed, 1 changed, 1 unopened", r)
		}

		// The new key alone opens everything but the secret sealed under the lost key.
		only := ring(newKey)
		open := func(ct string, ad []byte) string {
			t.Helper()
			p, err := only.Open(ct, ad)
			if err != nil {
				t.Fatalf("the new key alone cannot open a secret: %v", err)
			}
			return string(p)
		}
		for provider, want := range map[string]string{"stripe": "whsec_1", "hotmart": "hottok"} {
			gs, err := st.GetGatewaySecret(ctx, tn.ID, src.ID, provider)
			if err != nil {
				t.Fatal(err)
			}
			if got := open(gs.Ciphertext, store.GatewaySecretAD(src.ID, provider)); got != want {
				t.Errorf("%s secret: %q, want %q", provider, got, want)
			}
		}
		for id, want := range map[string]string{meta.ID: `{"access_token":"EAA1"}`, raced.ID: `{"access_token":"EAA2-new"}`} {
			d, err := st.GetDestination(ctx, tn.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := open(d.Credentials, store.CredentialsAD(id)); got != want {
				t.Errorf("destination %s: %q, want %q", id, got, want)
			}
			if id == raced.ID && d.Credentials != racedWith {
				t.Error("the reseal undid a change made meanwhile")
			}
		}
		if d, _ := st.GetDestination(ctx, tn.ID, lost.ID); d.Credentials != lost.Credentials || !slices.ContainsFunc(r.Unopened, func(s string) bool {
			return s == "credentials of destination "+lost.ID+" (tenant "+tn.ID+")"
		}) {
			t.Errorf("the secret no key opens: changed, or not reported (%q)", r.Unopened)
		}

		// A second pass has nothing left to do.
		again, err := (&admin.Service{Store: st, Keys: rotated}).ResealSecrets(ctx)
		if err != nil || again.Resealed != 0 || again.Changed != 0 {
			t.Errorf("second reseal: %+v, %v", again, err)
		}
	})
}

// TestResealAdAccountCredentials: ad accounts' credentials (spend import) are resealed under
// the new key too, bound to their account; ones no key opens are reported and left alone.
func TestResealAdAccountCredentials(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		oldKey, newKey, lostKey := pii.GenerateKey(), pii.GenerateKey(), pii.GenerateKey()
		ring := func(keys ...[]byte) *pii.Keyring {
			k, err := pii.NewKeyring(keys[0], keys[1:]...)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		tn, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		connect := func(keys *pii.Keyring, external, token string) store.AdAccount {
			t.Helper()
			a, err := st.CreateAdAccount(ctx, store.AdAccount{ID: "acct-" + external, TenantID: tn.ID, Platform: "meta", ExternalID: external,
				Name: "Loja", Currency: "BRL", TimeZone: "America/Sao_Paulo"})
			if err != nil {
				t.Fatal(err)
			}
			ct, err := keys.Seal([]byte(`{"access_token":"`+token+`"}`), store.AdAccountCredentialsAD(a.ID))
			if err != nil {
				t.Fatal(err)
			}
			if err := st.UpdateAdAccountCredentials(ctx, tn.ID, a.ID, ct, time.Time{}); err != nil {
				t.Fatal(err)
			}
			a.Credentials = ct
			return a
		}
		kept := connect(ring(oldKey), "1", "EAA1")
		lost := connect(ring(lostKey), "2", "EAA2")

		r, err := (&admin.Service{Store: st, Keys: ring(newKey, oldKey)}).ResealSecrets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Checked != 2 || r.Resealed != 1 || len(r.Unopened) != 1 ||
			r.Unopened[0] != "credentials of ad account "+lost.ID+" (tenant "+tn.ID+")" {
			t.Fatalf("reseal: %+v, want 2 checked, 1 resealed, the lost one unopened", r)
		}
		a, err := st.GetAdAccount(ctx, tn.ID, kept.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := ring(newKey).Open(a.Credentials, store.AdAccountCredentialsAD(kept.ID)); err != nil || string(p) != `{"access_token":"EAA1"}` {
			t.Errorf("the new key alone opens %q, %v", p, err)
		}
		if l, _ := st.GetAdAccount(ctx, tn.ID, lost.ID); l.Credentials != lost.Credentials {
			t.Error("credentials no key opens were changed")
		}
	})
}

package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// newService returns a Service on st with a fresh keyring and a tenant.
func newService(t *testing.T, st store.Store) (*admin.Service, store.Tenant) {
	t.Helper()
	keys, err := pii.NewKeyring(pii.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	svc := &admin.Service{Store: st, Keys: keys, PublicURL: "https://hub.example.com"}
	tn, _, err := svc.CreateTenant(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return svc, tn
}

// fieldReason returns the reason err gives for field, or "" when it names no such field.
func fieldReason(err error, field string) string {
	var ve *admin.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if f.Field == field {
				return f.Reason
			}
		}
	}
	return ""
}

// TestCreateLinkTarget: CreateLink, which the API, the dashboard and the CLI all call, keeps a
// link from redirecting off the source's allowed origins, refuses user info and targets over
// 2048 characters, and stores nothing it refuses.
func TestCreateLinkTarget(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc, tn := newService(t, st)
		shop, err := svc.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop", AllowedOrigins: []string{"https://shop.example.com/"}})
		if err != nil {
			t.Fatal(err)
		}
		open, err := svc.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "open"})
		if err != nil {
			t.Fatal(err)
		}
		long := "https://shop.example.com/?q=" + strings.Repeat("a", 2048)
		for _, tc := range []struct {
			src    store.Source
			target string
			reason string // "" for created
		}{
			{shop, "https://shop.example.com/offer?x=1", ""},
			{shop, "https://Shop.Example.com/", ""},
			{shop, "https://evil.example.net/phish", admin.LinkTargetOffOrigin},
			{shop, "http://shop.example.com/offer", admin.LinkTargetOffOrigin},
			{shop, "https://shop.example.com.evil.example.net/", admin.LinkTargetOffOrigin},
			{shop, "https://shop.example.com@evil.example.net/", admin.LinkTargetInvalid},
			{shop, "https://user:pw@shop.example.com/", admin.LinkTargetInvalid},
			{shop, long, admin.LinkTargetInvalid},
			{shop, "javascript:alert(1)", admin.LinkTargetInvalid},
			{shop, "/relative", admin.LinkTargetInvalid},
			{open, "https://anywhere.example/", ""},
			{open, "https://u@anywhere.example/", admin.LinkTargetInvalid},
			{open, long, admin.LinkTargetInvalid},
		} {
			before, _ := st.ListLinks(ctx, tn.ID, tc.src.ID)
			l, err := svc.CreateLink(ctx, tn.ID, tc.src.ID, tc.target)
			after, _ := st.ListLinks(ctx, tn.ID, tc.src.ID)
			switch {
			case tc.reason == "" && (err != nil || l.Target != tc.target || len(after) != len(before)+1):
				t.Errorf("%s %.60s: %v, %d links before, %d after; want it created", tc.src.Name, tc.target, err, len(before), len(after))
			case tc.reason != "" && (fieldReason(err, "target") != tc.reason || len(after) != len(before)):
				t.Errorf("%s %.60s: %v, %d links before, %d after; want target %q and nothing stored", tc.src.Name, tc.target, err, len(before), len(after), tc.reason)
			}
		}
		// Another tenant's source is not found, whatever the target.
		other, _, err := svc.CreateTenant(ctx, "other")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateLink(ctx, other.ID, shop.ID, "https://shop.example.com/"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant's source: %v, want not found", err)
		}
	})
}

// TestBlankGatewaySecret: a secret of only blanks is refused by PutGatewaySecret, CheckSource
// and CreateSource (which the CLI calls without CheckSource) before anything is written, so it
// can neither be stored nor enable the gateway.
func TestBlankGatewaySecret(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc, tn := newService(t, st)
		src, err := svc.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.PutGatewaySecret(ctx, src, "kiwify", " \t\n"); fieldReason(err, "secret") != "must not be empty" {
			t.Errorf("PutGatewaySecret of blanks: %v", err)
		}
		if err := admin.CheckSource(admin.SourceInput{Name: "x", Secrets: map[string]string{"kiwify": "   "}}); fieldReason(err, "secrets.kiwify") != "must not be empty" {
			t.Errorf("CheckSource of blanks: %v", err)
		}
		if _, err := svc.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "blank", Secrets: map[string]string{"hotmart": "ok", "kiwify": "   "}}); fieldReason(err, "secrets.kiwify") != "must not be empty" {
			t.Errorf("CreateSource with a blank secret: %v", err)
		}
		if _, err := svc.UpdateSource(ctx, tn.ID, src.ID, admin.SourcePatch{Secrets: map[string]string{"kiwify": "   "}}); fieldReason(err, "secrets.kiwify") != "must not be empty" {
			t.Errorf("UpdateSource with a blank secret: %v", err)
		}
		if srcs, _ := st.ListSources(ctx, tn.ID); len(srcs) != 1 {
			t.Errorf("%d sources, want only the first: a refused one was created", len(srcs))
		}
		if _, err := st.GetGatewaySecret(ctx, tn.ID, src.ID, "kiwify"); err == nil {
			t.Error("a blank secret was stored")
		}
		if toks, _ := st.ListWebhookTokens(ctx, tn.ID, src.ID); len(toks) != 0 {
			t.Errorf("webhook tokens %+v: a blank secret enabled a gateway", toks)
		}
	})
}

// TestNameLength: every action that takes a name refuses one over 200 characters with the
// same ValidationError (field name), whichever caller it comes from, and writes nothing; 200
// characters are accepted.
func TestNameLength(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc, tn := newService(t, st)
		ok, long := strings.Repeat("n", 200), strings.Repeat("n", 201)
		meta := func(name string) admin.DestinationInput {
			return admin.DestinationInput{Type: "meta", Name: name, Config: []byte(`{"pixel_id":"1"}`), Credentials: []byte(`{"access_token":"t"}`)}
		}
		d, err := svc.AddDestination(ctx, tn.ID, meta("Meta"), nil)
		if err != nil {
			t.Fatal(err)
		}
		src, err := svc.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		keysBefore, _ := st.ListAPIKeys(ctx, tn.ID)
		for _, c := range []struct {
			what string
			call func() error
		}{
			{"CreateTenant", func() error { _, _, err := svc.CreateTenant(ctx, long); return err }},
			{"CreateFirstTenant", func() error { _, _, _, _, err := svc.CreateFirstTenant(ctx, long); return err }},
			{"CreateAPIKey", func() error { _, err := svc.CreateAPIKey(ctx, tn.ID, long, store.RoleReadOnly); return err }},
			{"CreateSource", func() error { _, err := svc.CreateSource(ctx, tn.ID, admin.SourceInput{Name: long}); return err }},
			{"UpdateSource", func() error {
				_, err := svc.UpdateSource(ctx, tn.ID, src.ID, admin.SourcePatch{Name: &long})
				return err
			}},
			{"AddDestination", func() error { _, err := svc.AddDestination(ctx, tn.ID, meta(long), nil); return err }},
			{"UpdateDestination", func() error {
				_, err := svc.UpdateDestination(ctx, tn.ID, d.ID, admin.DestinationPatch{Name: &long}, nil)
				return err
			}},
		} {
			if err := c.call(); fieldReason(err, "name") != "must be at most 200 characters" {
				t.Errorf("%s with 201 characters: %v", c.what, err)
			}
		}
		if ts, _ := st.ListTenants(ctx); len(ts) != 1 {
			t.Errorf("%d tenants, want 1", len(ts))
		}
		if ks, _ := st.ListAPIKeys(ctx, tn.ID); len(ks) != len(keysBefore) {
			t.Errorf("%d keys, want %d", len(ks), len(keysBefore))
		}
		if ds, _ := st.ListDestinations(ctx, tn.ID); len(ds) != 1 || ds[0].Name != "Meta" {
			t.Errorf("%d destinations, want only Meta unchanged", len(ds))
		}
		if srcs, _ := st.ListSources(ctx, tn.ID); len(srcs) != 1 || srcs[0].Name != "shop" {
			t.Errorf("%d sources, want only shop unchanged", len(srcs))
		}
		if _, err := svc.CreateAPIKey(ctx, tn.ID, ok, store.RoleReadOnly); err != nil {
			t.Errorf("CreateAPIKey with 200 characters: %v", err)
		}
		if _, err := svc.UpdateDestination(ctx, tn.ID, d.ID, admin.DestinationPatch{Name: &ok}, nil); err != nil {
			t.Errorf("UpdateDestination with 200 characters: %v", err)
		}
		if _, err := svc.AddDestination(ctx, tn.ID, meta(ok), nil); err != nil {
			t.Errorf("AddDestination with 200 characters: %v", err)
		}
	})
}

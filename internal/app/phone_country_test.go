package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest/tiktok/faketiktok"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// TestLeadPhoneGetsOperatorCountry sends a lead whose phone is typed as Brazilians type it,
// without +55, through a served Hub: the snippet's phone is hashed with HUB_PHONE_COUNTRY in
// front, the hash the erasure and the order search compute for that phone and the one a
// gateway's +55 phone gets, so the identity link names the full number.
func TestLeadPhoneGetsOperatorCountry(t *testing.T) {
	t.Parallel()
	tfake := faketiktok.New()
	t.Cleanup(tfake.Close)
	g := startGolden(t, config.Config{PhoneCountry: "55", Declared: map[string]string{faketiktok.Points.Env: newHTTPServer(t, tfake)}}, nil,
		goldenDestination{Type: "tiktok", Config: `{"pixel_code":"CFAKE0PIXEL0CODE0001","events":"Lead"}`, Credentials: `{"access_token":"tttesttoken"}`})
	g.collect(t, fmt.Sprintf(`{"key":%q,"events":[{"type":"lead","event_id":"lead-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/obrigado","phone":"(11) 98765-4321","consent":"granted"}]}`,
		g.src.PublicKey, fixtureTime.Add(-time.Minute).Format(time.RFC3339)))

	want, err := pii.HashPhone("+55 11 98765-4321", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	waitFor(t, "the lead's identity link", 20*time.Second, func() bool {
		ids, err := g.app.Store.VisitorsByIdentity(ctx, g.tenantID, store.IdentityPhone, want)
		return err == nil && len(ids) == 1 && ids[0].VisitorID == "k_8f3a2b1c9d"
	})
}

package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// TestMetaPayloadSignal pins, like TestMetaPayloadPerGateway, what Meta receives for orders Hub
// saw no click for (orphans), where the signal has to come from the gateway itself:
//
//   - shopify_fbclid: a Shopify order placed 10 days before it was paid (a manual payment), whose
//     landing_site carries an fbclid and whose cart attributes carry no _fbc: the event is dated
//     by the paid transaction (not refused as older than 7 days) and carries
//     fbc = fb.1.<ms>.<fbclid>, the fbclid byte for byte;
//   - perfectpay_birthday: a PerfectPay sale whose customer sent a birth date: db is filled.
func TestMetaPayloadSignal(t *testing.T) {
	t.Parallel()
	fake := fakemeta.New()
	fake.Now = func() time.Time { return fixtureTime.Add(time.Minute) }
	fakeURL := newHTTPServer(t, fake)
	cfg := config.Config{Host: "127.0.0.1", DataDir: filepath.Join(t.TempDir(), "data"), ShutdownTimeout: 10 * time.Second,
		MaxBodyBytes: 1 << 20, Workers: 4, MetaGraphURL: fakeURL, MetaAPIVersion: "v25.0", EgressAllow: loopback, PublicURL: "http://hub.test",
		RatePerIP: -1, RatePerSource: -1}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), WithClock(func() time.Time { return fixtureTime.Add(30 * time.Second) }))
	if err != nil {
		t.Fatal(err)
	}
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	base := "http://" + <-addrc
	t.Cleanup(func() {
		cancel()
		<-done
		fake.Close()
		a.Close()
	})

	shop, pp := webhooktest.LoadFixture(t, "shopify"), webhooktest.LoadFixture(t, "perfectpay")
	tn, _, err := a.Admin.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	src, err := a.Admin.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop",
		Secrets: map[string]string{"shopify": shop.Verification.TestSecret, "perfectpay": pp.Verification.TestSecret}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: "meta",
		Config: json.RawMessage(`{"pixel_id":"123456789"}`), Credentials: json.RawMessage(`{"access_token":"EAAtesttoken"}`)}, DestinationValidator()); err != nil {
		t.Fatal(err)
	}
	toks, err := a.Admin.WebhookTokens(ctx, src)
	if err != nil {
		t.Fatal(err)
	}

	replace := func(body string, pairs ...string) string {
		t.Helper()
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(body, pairs[i]) {
				t.Fatalf("fixture lacks %q", pairs[i])
			}
			body = strings.Replace(body, pairs[i], pairs[i+1], 1)
		}
		return body
	}
	// Placed on 26 December, paid on 5 January (the fixture's approval time); no _fbc, _fbp or
	// Hub visitor id in the cart attributes, so only landing_site's fbclid is left.
	shopBody := replace(shop.RawBody,
		`"created_at":"2026-01-05T14:30:00-03:00","processed_at":"2026-01-05T14:30:00-03:00"`,
		`"created_at":"2025-12-26T14:30:00-03:00","processed_at":"2025-12-26T14:30:00-03:00","updated_at":"2026-01-05T14:30:00-03:00",`+
			`"transactions":[{"kind":"sale","status":"success","processed_at":"2026-01-05T14:30:00-03:00"}]`)
	var sb map[string]json.RawMessage
	if err := json.Unmarshal([]byte(shopBody), &sb); err != nil {
		t.Fatal(err)
	}
	sb["note_attributes"] = json.RawMessage(`[]`)
	rawShop, _ := json.Marshal(sb)
	mac := hmac.New(sha256.New, []byte(shop.Verification.TestSecret))
	mac.Write(rawShop)
	shopHeaders := maps.Clone(shop.Request.Headers)
	shopHeaders["X-Shopify-Hmac-Sha256"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))

	ppBody := replace(pp.RawBody, `"birthday":null`, `"birthday":"1990-05-20"`)

	for _, d := range []struct {
		gw      string
		f       webhooktest.Fixture
		body    []byte
		headers map[string]string
	}{
		{"shopify", shop, rawShop, shopHeaders},
		{"perfectpay", pp, []byte(ppBody), pp.Request.Headers},
	} {
		u, _ := url.Parse(d.f.Request.PathAndQuery)
		hook := base + "/v1/webhooks/" + d.gw + "/" + toks[d.gw]
		if u.RawQuery != "" {
			hook += "?" + u.RawQuery
		}
		if resp, body := post(t, hook, d.headers["Content-Type"], d.body, d.headers); resp.StatusCode != 200 || !strings.Contains(string(body), `"processed"`) {
			t.Fatalf("%s: %d %s", d.gw, resp.StatusCode, body)
		}
	}
	waitFor(t, "two purchases at the fake Graph API", 20*time.Second, func() bool { return len(fake.Events()) >= 2 })

	got := map[string]json.RawMessage{}
	for _, ev := range fake.Events() {
		gw, _, _ := strings.Cut(ev.EventID, ":")
		got[gw] = ev.Raw
	}
	for gw, name := range map[string]string{"shopify": "meta_shopify_fbclid.json", "perfectpay": "meta_perfectpay_birthday.json"} {
		raw, ok := got[gw]
		if !ok {
			t.Errorf("%s: no event at the fake", gw)
			continue
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, raw, "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty.WriteByte('\n')
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update and review the file)", gw, err)
		}
		if !bytes.Equal(want, pretty.Bytes()) {
			t.Errorf("%s: the payload Meta received differs from %s:\n%s", gw, path, pretty.String())
		}
	}
}

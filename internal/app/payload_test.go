package app

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
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

var update = flag.Bool("update", false, "rewrite the golden Meta payloads in testdata/")

// fixtureTime is when every gateway fixture says its purchase was approved; Hub's clock is set
// just after it, so Stripe's signature tolerance and Meta's 7-day limit hold.
var fixtureTime = time.Date(2026, 1, 5, 17, 30, 0, 0, time.UTC)

// TestMetaPayloadPerGateway sends each of the first five gateways' fixture purchases through
// the whole pipeline (click, webhook, attribution, delivery) and pins, field by field, the
// server event the fake Graph API received.
func TestMetaPayloadPerGateway(t *testing.T) {
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

	gateways := []string{"hotmart", "kiwify", "stripe", "pagbank", "perfectpay"}
	secrets := map[string]string{}
	fixtures := map[string]webhooktest.Fixture{}
	for _, gw := range gateways {
		fixtures[gw] = webhooktest.LoadFixture(t, gw)
		secrets[gw] = fixtures[gw].Verification.TestSecret
	}
	tn, _, err := a.Admin.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	src, err := a.Admin.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop", Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: "meta",
		Config: json.RawMessage(`{"pixel_id":"123456789"}`), Credentials: json.RawMessage(`{"access_token":"EAAtesttoken"}`)}, DestinationValidator()); err != nil {
		t.Fatal(err)
	}

	// The ad click of visitor k_8f3a2b1c9d, the id every fixture carries back.
	click := fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"pv-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/oferta?fbclid=IwAR2F4-dbP0&utm_source=facebook","fbclid":"IwAR2F4-dbP0",`+
		`"fbc":"fb.1.1767632400000.IwAR2F4-dbP0","fbp":"fb.1.1767632400000.1116446470","utm":{"source":"facebook","campaign":"lancamento"}}]}`,
		src.PublicKey, fixtureTime.Add(-30*time.Minute).Format(time.RFC3339))
	resp, body := post(t, base+"/v1/collect", "application/json", []byte(click), map[string]string{"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("collect: %d %s", resp.StatusCode, body)
	}

	toks, err := a.Admin.WebhookTokens(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, gw := range gateways {
		f := fixtures[gw]
		u, _ := url.Parse(f.Request.PathAndQuery)
		hook := base + "/v1/webhooks/" + gw + "/" + toks[gw]
		if u.RawQuery != "" {
			hook += "?" + u.RawQuery
		}
		if resp, body := post(t, hook, f.Request.Headers["Content-Type"], []byte(f.RawBody), f.Request.Headers); resp.StatusCode != 200 || !strings.Contains(string(body), `"processed"`) {
			t.Fatalf("%s: %d %s", gw, resp.StatusCode, body)
		}
	}
	waitFor(t, "five purchases at the fake Graph API", 20*time.Second, func() bool { return len(fake.Events()) >= len(gateways) })

	got := map[string]json.RawMessage{}
	for _, ev := range fake.Events() {
		gw, _, _ := strings.Cut(ev.EventID, ":")
		if _, dup := got[gw]; dup {
			t.Fatalf("%s delivered twice", gw)
		}
		got[gw] = ev.Raw
	}
	for _, gw := range gateways {
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
		path := filepath.Join("testdata", "meta_"+gw+".json")
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

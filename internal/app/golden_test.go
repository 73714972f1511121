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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/all/fakes"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

var update = flag.Bool("update", false, "rewrite the golden payloads (testdata/ and each destination's testdata/e2e/)")

// goldenGateways are the gateway fixtures every destination's byte-compared payload test sends
// through a real Hub (one golden file per destination and gateway).
var goldenGateways = []string{"hotmart", "kiwify", "stripe", "pagbank", "perfectpay"}

// fixtureTime is when every gateway fixture says its purchase was approved; Hub's clock is set
// just after it, so Stripe's signature tolerance and Meta's 7-day limit hold.
var fixtureTime = time.Date(2026, 1, 5, 17, 30, 0, 0, time.UTC)

// golden is the pipeline a golden payload test drives: a Hub served on a loopback address,
// clocked 30 s after fixtureTime, with tenant "acme", its source "shop" (holding the gateways'
// test secrets) and one destination.
type golden struct {
	app      *App
	base     string
	tenantID string
	src      store.Source
	toks     map[string]string // the source's webhook token per gateway
}

// goldenDestination is the one destination a golden test adds.
type goldenDestination struct {
	Type, Config, Credentials string
}

// goldenTimes are the times of every golden run: Hub's clock 30 s after fixtureTime, the ad
// click half an hour before it.
var goldenTimes = desttest.GoldenTimes{Now: fixtureTime.Add(30 * time.Second), Click: fixtureTime.Add(-30 * time.Minute)}

// startRun serves run's fake on a loopback address and Hub pointed at it (run.Setting), and
// sets up the tenant, the source (with secrets) and the destination of type typ run declares.
func startRun(t *testing.T, typ string, run desttest.GoldenRun, secrets map[string]string, opts ...Option) *golden {
	t.Helper()
	fakeURL := newHTTPServer(t, run.Fake)
	if run.Close != nil {
		t.Cleanup(run.Close)
	}
	cfg := config.Config{Declared: map[string]string{}}
	if run.Setting.Env != "" {
		cfg.Declared[run.Setting.Env] = fakeURL
	}
	conf, creds := run.Destination(fakeURL)
	return startGolden(t, cfg, secrets, goldenDestination{Type: typ, Config: conf, Credentials: creds}, opts...)
}

// click records the ad click of visitor k_8f3a2b1c9d (the id every fixture carries back) at
// goldenTimes.Click: a page_view with the members click adds (a GoldenRun's Click).
func (g *golden) click(t *testing.T, click string) {
	t.Helper()
	g.collect(t, fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"pv-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,%s}]}`,
		g.src.PublicKey, goldenTimes.Click.Format(time.RFC3339), click))
}

// TestPayloadPerGateway sends each of goldenGateways' fixture purchases through the whole
// pipeline (click, webhook, attribution, delivery) to every registered destination's fake, one
// Hub each, and pins, byte for byte, what the fake received: the destination's golden files.
// What names a platform (its fake, operator setting, settings, click, how to read the fake) is
// the destination's GoldenRun, declared in its fake's package (dest/all/fakes lists them).
func TestPayloadPerGateway(t *testing.T) {
	t.Parallel()
	doubles := map[string]desttest.Double{}
	for _, d := range fakes.All() {
		doubles[d.Type] = d
	}
	for _, spec := range shipped().Specs() {
		d := doubles[spec.Type]
		if d.Golden == nil {
			t.Errorf("destination %s declares no golden run (its fake's desttest.Double.Golden)", spec.Type)
			continue
		}
		t.Run(spec.Type, func(t *testing.T) {
			t.Parallel()
			run := d.Golden(goldenTimes)
			if run.Setting.Env != "" && !slices.ContainsFunc(spec.Operator, func(o dest.OperatorSetting) bool { return o.Env == run.Setting.Env }) {
				t.Fatalf("the golden run points %s at its fake, which is not one of the destination's operator settings", run.Setting.Env)
			}
			gateways := goldenGateways
			fixtures, secrets := loadFixtures(t, gateways...)
			g := startRun(t, spec.Type, run, secrets)
			g.click(t, run.Click)
			for _, gw := range gateways {
				g.webhook(t, gw, fixtures[gw], nil, nil)
			}
			waitFor(t, "the purchases at the fake", 20*time.Second, func() bool { return len(run.Received()) >= len(gateways) })
			if run.Check != nil {
				if err := run.Check(); err != nil {
					t.Error(err)
				}
			}
			dir := filepath.Join("..", "..", filepath.FromSlash(run.Dir))
			checkGoldens(t, spec.Title, dir, gateways, run.Received())
			if run.Keys != nil {
				checkRecordedKeys(t, g, dir, gateways, run.Keys)
			}
		})
	}
}

// startGolden serves Hub with cfg's platform URLs (cfg.Declared, each the fake's; unset ones
// default) and opts on the settings every golden test shares, and sets up the tenant, source
// and destination.
func startGolden(t *testing.T, cfg config.Config, secrets map[string]string, d goldenDestination, opts ...Option) *golden {
	t.Helper()
	cfg.Host, cfg.DataDir, cfg.ShutdownTimeout = "127.0.0.1", filepath.Join(t.TempDir(), "data"), 10*time.Second
	cfg.MaxBodyBytes, cfg.Workers, cfg.EgressAllow = 1<<20, 4, loopback
	cfg.PublicURL, cfg.RatePerIP, cfg.RatePerSource = "http://hub.test", -1, -1
	ctx, cancel := context.WithCancel(context.Background())
	opts = append([]Option{WithClock(func() time.Time { return goldenTimes.Now })}, opts...)
	a, err := New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), opts...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	g := &golden{app: a, base: "http://" + <-addrc}
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})

	tn, _, err := a.Admin.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	g.tenantID = tn.ID
	if g.src, err = a.Admin.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop", Secrets: secrets}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: d.Type,
		Config: json.RawMessage(d.Config), Credentials: json.RawMessage(d.Credentials)}, DestinationValidator()); err != nil {
		t.Fatal(err)
	}
	if g.toks, err = a.Admin.WebhookTokens(ctx, g.src); err != nil {
		t.Fatal(err)
	}
	return g
}

// loadFixtures returns the gateways' fixtures and their test secrets.
func loadFixtures(t *testing.T, gateways ...string) (map[string]webhooktest.Fixture, map[string]string) {
	t.Helper()
	fixtures, secrets := map[string]webhooktest.Fixture{}, map[string]string{}
	for _, gw := range gateways {
		fixtures[gw] = webhooktest.LoadFixture(t, gw)
		secrets[gw] = fixtures[gw].Verification.TestSecret
	}
	return fixtures, secrets
}

// collect posts one browser event batch (click) from an iPhone.
func (g *golden) collect(t *testing.T, click string) {
	t.Helper()
	resp, body := post(t, g.base+"/v1/collect", "application/json", []byte(click), map[string]string{"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("collect: %d %s", resp.StatusCode, body)
	}
}

// webhook posts gw's fixture request with body and headers (nil: the fixture's own) to the
// source's webhook URL, and fails unless Hub processed it.
func (g *golden) webhook(t *testing.T, gw string, f webhooktest.Fixture, body []byte, headers map[string]string) {
	t.Helper()
	if body == nil {
		body = []byte(f.RawBody)
	}
	if headers == nil {
		headers = f.Request.Headers
	}
	u, _ := url.Parse(f.Request.PathAndQuery)
	hook := g.base + "/v1/webhooks/" + gw + "/" + g.toks[gw]
	if u.RawQuery != "" {
		hook += "?" + u.RawQuery
	}
	if resp, rb := post(t, hook, headers["Content-Type"], body, headers); resp.StatusCode != 200 || !strings.Contains(string(rb), `"processed"`) {
		t.Fatalf("%s: %d %s", gw, resp.StatusCode, rb)
	}
}

// checkGoldens pins the payload platform received for each gateway's purchase: the fake's
// events, each keyed by its event id ("<gateway>:...") with its payload, must hold each gateway
// exactly once, its payload equal to dir/<gateway>.json (checkGolden).
func checkGoldens(t *testing.T, platform, dir string, gateways []string, events []desttest.Received) {
	t.Helper()
	got := map[string]json.RawMessage{}
	for _, ev := range events {
		gw, _, _ := strings.Cut(ev.ID, ":")
		if _, dup := got[gw]; dup {
			t.Fatalf("%s delivered twice", gw)
		}
		got[gw] = ev.Raw
	}
	for _, gw := range gateways {
		if raw, ok := got[gw]; ok {
			checkGolden(t, platform, filepath.Join(dir, gw+".json"), raw)
		} else {
			t.Errorf("%s: no event at the fake", gw)
		}
	}
}

// checkGolden compares the payload platform received (indented) with the file at path, or
// writes it there under -update.
func checkGolden(t *testing.T, platform, path string, raw json.RawMessage) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update and review the file)", err)
	}
	if !bytes.Equal(want, pretty.Bytes()) {
		t.Errorf("the payload %s received differs from %s:\n%s", platform, path, pretty.String())
	}
}

package app

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
)

// loopback is the HUB_EGRESS_ALLOW the tests give Hub to reach their fake Meta on 127.0.0.1.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// TestDestinationsUseOperatorSettings: the Meta destination sends to HUB_META_GRAPH_URL through
// the egress client, which refuses the fake's loopback address until HUB_EGRESS_ALLOW lists it.
func TestDestinationsUseOperatorSettings(t *testing.T) {
	t.Parallel()
	fake := fakemeta.New()
	fakeURL := newHTTPServer(t, fake)
	conf, creds := fake.Settings()
	evs := desttest.Events(1, time.Now().Add(-time.Minute))
	send := func(c config.Config) dest.Outcome {
		t.Helper()
		a := &App{Config: c, now: time.Now}
		d, ok := a.destinations().Lookup(meta.Type)
		if !ok {
			t.Fatal("meta is not registered")
		}
		res, err := d.Send(context.Background(), conf, creds, evs)
		if err != nil || len(res.Outcomes) != 1 {
			t.Fatalf("Send: %v, %+v", err, res)
		}
		return res.Outcomes[0]
	}

	if o := send(config.Config{Declared: map[string]string{fakemeta.Points.Env: fakeURL}}); o.Kind != dest.Retryable || o.Reason != dest.ReasonNetwork {
		t.Errorf("without the allow-list: outcome %+v, want a refused connection", o)
	}
	if n := fake.Requests(); n != 0 {
		t.Fatalf("the fake on loopback got %d requests without HUB_EGRESS_ALLOW", n)
	}
	if o := send(config.Config{Declared: map[string]string{fakemeta.Points.Env: fakeURL}, EgressAllow: loopback}); o.Kind != dest.Delivered {
		t.Errorf("with the allow-list: outcome %+v", o)
	}
	if got := fake.Accepted(); got[evs[0].EventID] != 1 || fake.TokensInURL() != 0 {
		t.Errorf("fake accepted %v, token in the URL %d times", got, fake.TokensInURL())
	}
}

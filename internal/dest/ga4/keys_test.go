package ga4_test

import (
	"slices"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/ga4"
	"github.com/hubtrack/hub/internal/dest/ga4/fakega4"
)

// sentKeys reads the identifier keys off a built request (fakega4.SentKeys), by name.
func sentKeys(t *testing.T, body []byte) []string {
	t.Helper()
	k, err := fakega4.SentKeys(body)
	if err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return k.Names()
}

// The keys GA4's sender reports for an event are exactly what its request body carries: the
// client id as browser_id (not a synthetic one), e-mail, phone and the address's parts.
func TestKeysOfAreTheKeysSent(t *testing.T) {
	t.Parallel()
	clientOnly := purchase()
	clientOnly.User = dest.User{GAClientID: clientOnly.User.GAClientID, UserAgent: "Mozilla/5.0"}
	synthetic := purchase()
	synthetic.User.GAClientID = ""
	synth := dest.Config{ga4.SettingMeasurementID: "G-QEHZPBE5HH", ga4.SettingNoClientID: ga4.NoClientIDSynthetic}
	cases := []struct {
		name string
		cfg  dest.Config
		e    dest.Event
		want []string
	}{
		{"client id and every identifier", cfg, purchase(), []string{"em", "ph", "fn", "ln", "zp", "country", "browser_id"}},
		{"client id only", cfg, clientOnly, []string{"browser_id"}},
		{"synthetic client id", synth, synthetic, []string{"em", "ph", "fn", "ln", "zp", "country"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, err := newGA4("").Prepare(c.cfg, creds())
			if err != nil {
				t.Fatal(err)
			}
			kr, ok := s.(dest.KeyReporter)
			if !ok {
				t.Fatal("GA4's sender does not report the keys it sends")
			}
			k, ok := kr.KeysOf(c.e)
			if !ok {
				t.Fatal("KeysOf refused the event")
			}
			if got := k.Names(); !slices.Equal(got, c.want) {
				t.Errorf("keys = %v, want %v", got, c.want)
			}
			body, err := newGA4("").Build(c.cfg, []dest.Event{c.e})
			if err != nil {
				t.Fatal(err)
			}
			if sent := sentKeys(t, body); !slices.Equal(sent, k.Names()) {
				t.Errorf("request sends %v, KeysOf reports %v", sent, k.Names())
			}
		})
	}
}

// An event GA4's builder refuses (no client id, no synthetic one) reports no keys.
func TestKeysOfRefused(t *testing.T) {
	t.Parallel()
	s, err := newGA4("").Prepare(cfg, creds())
	if err != nil {
		t.Fatal(err)
	}
	e := purchase()
	e.User.GAClientID = ""
	if k, ok := s.(dest.KeyReporter).KeysOf(e); ok {
		t.Errorf("KeysOf = %v, true for a refused event", k.Names())
	}
}

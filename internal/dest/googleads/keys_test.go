package googleads_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/googleads"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
)

// sentKeys reads the identifier keys off a built request's first event, by Google's field
// names: the click id, each user identifier and the user agent.
func sentKeys(t *testing.T, body []byte) []string {
	t.Helper()
	var p struct {
		Events []struct {
			AdIdentifiers   map[string]string `json:"adIdentifiers"`
			EventDeviceInfo map[string]string `json:"eventDeviceInfo"`
			UserData        struct {
				UserIdentifiers []struct {
					EmailAddress string            `json:"emailAddress"`
					PhoneNumber  string            `json:"phoneNumber"`
					Address      map[string]string `json:"address"`
				} `json:"userIdentifiers"`
			} `json:"userData"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &p); err != nil || len(p.Events) != 1 {
		t.Fatalf("body %s: %v", body, err)
	}
	ev := p.Events[0]
	has := map[string]bool{"click_id": ev.AdIdentifiers["gclid"] != "", "gbraid": ev.AdIdentifiers["gbraid"] != "",
		"wbraid": ev.AdIdentifiers["wbraid"] != "", "ua": ev.EventDeviceInfo["userAgent"] != ""}
	for _, id := range ev.UserData.UserIdentifiers {
		has["em"] = has["em"] || id.EmailAddress != ""
		has["ph"] = has["ph"] || id.PhoneNumber != ""
		has["fn"] = has["fn"] || id.Address["givenName"] != ""
		has["ln"] = has["ln"] || id.Address["familyName"] != ""
		has["zp"] = has["zp"] || id.Address["postalCode"] != ""
		has["country"] = has["country"] || id.Address["regionCode"] != ""
	}
	var out []string
	for _, name := range dest.KeyNames {
		if has[name] {
			out = append(out, name)
		}
	}
	return out
}

// The keys Google Ads' sender reports for an event are exactly what Build puts in its request:
// the one click id (gclid as click_id, gbraid, wbraid), e-mail, phone, the address's parts and
// the user agent; never the IP, which Google Ads is not sent.
func TestKeysOfAreTheKeysSent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 8, 21, 0, 0, 0, 0, time.UTC)
	full := goldenEvent()
	gbraid := goldenEvent()
	gbraid.User = dest.User{GBRAID: "0AAAAA-gbraid", GoogleEmails: full.User.GoogleEmails}
	wbraid := goldenEvent()
	wbraid.User = dest.User{WBRAID: "wbraid-1", UserAgent: "Mozilla/5.0 (iPhone)"}
	emailOnly := goldenEvent()
	emailOnly.User = dest.User{GoogleEmails: full.User.GoogleEmails}
	cases := []struct {
		name string
		e    dest.Event
		want []string
	}{
		{"gclid and every identifier", full, []string{"em", "ph", "fn", "ln", "zp", "country", "ua", "click_id"}},
		{"gbraid and e-mail", gbraid, []string{"em", "gbraid"}},
		{"wbraid and user agent", wbraid, []string{"ua", "wbraid"}},
		{"e-mail only", emailOnly, []string{"em"}},
	}
	fake := fakegoogleads.New()
	t.Cleanup(fake.Close)
	creds := dest.NewCredentials(map[string]string{googleads.SettingServiceAccount: fake.KeyJSON("http://127.0.0.1:9/token")})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := &googleads.GoogleAds{Now: func() time.Time { return now }}
			s, err := g.Prepare(goldenConfig(), creds)
			if err != nil {
				t.Fatal(err)
			}
			kr, ok := s.(dest.KeyReporter)
			if !ok {
				t.Fatal("Google Ads' sender does not report the keys it sends")
			}
			k, ok := kr.KeysOf(c.e)
			if !ok {
				t.Fatal("KeysOf refused the event")
			}
			if got := k.Names(); !slices.Equal(got, c.want) {
				t.Errorf("keys = %v, want %v", got, c.want)
			}
			body, err := g.Build(goldenConfig(), []dest.Event{c.e})
			if err != nil {
				t.Fatal(err)
			}
			if sent := sentKeys(t, body); !slices.Equal(sent, k.Names()) {
				t.Errorf("request sends %v, KeysOf reports %v", sent, k.Names())
			}
		})
	}
}

// An event Google Ads' builder refuses (no identifier at all) reports no keys: it is not sent.
func TestKeysOfRefused(t *testing.T) {
	t.Parallel()
	fake := fakegoogleads.New()
	t.Cleanup(fake.Close)
	g := &googleads.GoogleAds{Now: func() time.Time { return time.Date(2026, 8, 21, 0, 0, 0, 0, time.UTC) }}
	s, err := g.Prepare(goldenConfig(), dest.NewCredentials(map[string]string{googleads.SettingServiceAccount: fake.KeyJSON("http://127.0.0.1:9/token")}))
	if err != nil {
		t.Fatal(err)
	}
	e := goldenEvent()
	e.User = dest.User{ClientIP: "203.0.113.9"}
	if k, ok := s.(dest.KeyReporter).KeysOf(e); ok {
		t.Errorf("KeysOf = %v, true for a refused event", k.Names())
	}
}

package fakegoogleads

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/googleads"
)

// Double is this fake as cmd/hub (`hub fake-google`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: googleads.Type,
	Command: desttest.Command{Name: "fake-google", Addr: "127.0.0.1:9998",
		Usage: "a fake Google Data Manager API (Google Ads) and token endpoint",
		Setup: func(*flag.FlagSet) func(context.Context, string, io.Writer) error { return serve }},
	Golden: golden,
}

// golden is Google Ads' end-to-end golden run: an ad click with a gclid and consent granted, a
// token minted from the fake's service-account key, and the events the fake Data Manager API
// accepted: the gclid of the credited click and the buyer's identifiers hashed at intake by
// Google's rules (never Meta's hashes), each request for the destination's account and
// conversion action, hex-encoded. (Confirming them by the status poll is internal/app's
// TestGoogleAdsAcceptedThenConfirmed.)
func golden(desttest.GoldenTimes) desttest.GoldenRun {
	fake := New()
	return desttest.GoldenRun{Fake: fake, Close: fake.Close, Setting: Points,
		Destination: func(base string) (string, string) {
			creds, _ := json.Marshal(map[string]string{"service_account_json": fake.KeyJSON(base + "/token")})
			return `{"operating_account_id":"123-456-7890","conversion_action_id":"987654321"}`, string(creds)
		},
		Click: `"url":"https://loja.example.com.br/oferta?gclid=Cj0KCQjwTestGclid_BwE&utm_source=google","referrer":"https://www.google.com/",` +
			`"gclid":"Cj0KCQjwTestGclid_BwE","consent":"granted","utm":{"source":"google","campaign":"lancamento"}`,
		Received: func() []desttest.Received {
			var out []desttest.Received
			for _, ev := range fake.Events() {
				out = append(out, desttest.Received{ID: ev.TransactionID, Raw: ev.Body})
			}
			return out
		},
		Keys: SentKeys,
		Check: func() error {
			var errs []error
			for _, b := range fake.Bodies() {
				var env struct {
					Destinations json.RawMessage `json:"destinations"`
					Encoding     string          `json:"encoding"`
				}
				if err := json.Unmarshal(b, &env); err != nil {
					return err
				}
				if want := `[{"reference":"987654321","operatingAccount":{"accountType":"GOOGLE_ADS","accountId":"1234567890"},"productDestinationId":"987654321"}]`; string(env.Destinations) != want || env.Encoding != "HEX" {
					errs = append(errs, fmt.Errorf("request envelope: destinations %s, encoding %q", env.Destinations, env.Encoding))
				}
			}
			return errors.Join(errs...)
		},
		Dir: "internal/dest/googleads/testdata/e2e"}
}

// SentKeys reads the identifier keys of one Data Manager event (as the fake records it) by
// Google's field names.
func SentKeys(b []byte) (dest.Keys, error) {
	var ev struct {
		AdIdentifiers   map[string]string `json:"adIdentifiers"`
		EventDeviceInfo map[string]string `json:"eventDeviceInfo"`
		UserData        struct {
			UserIdentifiers []map[string]json.RawMessage `json:"userIdentifiers"`
		} `json:"userData"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return 0, fmt.Errorf("fakegoogleads: %w", err)
	}
	var k dest.Keys
	for field, name := range map[string]string{"gclid": "click_id", "gbraid": "gbraid", "wbraid": "wbraid"} {
		k = k.With(keyByName(name), ev.AdIdentifiers[field] != "")
	}
	k = k.With(dest.KeyUserAgent, ev.EventDeviceInfo["userAgent"] != "")
	for _, id := range ev.UserData.UserIdentifiers {
		k = k.With(dest.KeyEmail, id["emailAddress"] != nil).With(dest.KeyPhone, id["phoneNumber"] != nil)
		var addr map[string]string
		if raw := id["address"]; raw != nil {
			if err := json.Unmarshal(raw, &addr); err != nil {
				return 0, fmt.Errorf("fakegoogleads: address: %w", err)
			}
		}
		for field, name := range map[string]string{"givenName": "fn", "familyName": "ln", "postalCode": "zp", "regionCode": "country"} {
			k = k.With(keyByName(name), addr[field] != "")
		}
	}
	return k, nil
}

// keyByName is the key called name (dest.Keys.Name).
func keyByName(name string) dest.Keys {
	for _, k := range dest.AllKeys() {
		if k.Name() == name {
			return k
		}
	}
	panic("fakegoogleads: no key " + name)
}

// serve is `hub fake-google`: it also prints the throwaway service-account key its token
// endpoint accepts (token_uri pointing at it), which bench/lib.sh reads from the line after
// "service_account_json".
func serve(ctx context.Context, addr string, out io.Writer) error {
	fake := New()
	h := desttest.Controls{Name: "fakegoogleads", Fake: fake}
	return desttest.ListenAndServe(ctx, "fakegoogleads", addr, h, func(at string) {
		fmt.Fprintf(out, "fake Google Data Manager API on http://%s (%s, status answers: POST /_fake/statuses)\n", at, desttest.ControlsText)
		desttest.PrintEnv(out, Points, at)
		fmt.Fprintf(out, "service_account_json for a google_ads destination (a throwaway key the fake accepts):\n%s\n", fake.KeyJSON("http://"+at+"/token"))
	})
}

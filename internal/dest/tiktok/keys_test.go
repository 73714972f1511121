package tiktok_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
)

// The keys TikTok's sender reports are the user fields Build sends: e-mail, phone, external
// id, IP, user agent, and ttclid and ttp as the click and browser ids.
func TestKeysOfAreTheKeysSent(t *testing.T) {
	t.Parallel()
	emailOnly := purchase()
	emailOnly.User = dest.User{Emails: emailOnly.User.Emails, TTCLID: "E.C.P.abc123"}
	emailOnly.EventSourceURL, emailOnly.Referrer = "", ""
	field := map[string]string{"em": "email", "ph": "phone", "external_id": "external_id", "ip": "ip", "ua": "user_agent",
		"click_id": "ttclid", "browser_id": "ttp"}
	for _, e := range []dest.Event{purchase(), emailOnly} {
		s, err := newTikTok("").Prepare(cfg, creds())
		if err != nil {
			t.Fatal(err)
		}
		kr, ok := s.(dest.KeyReporter)
		if !ok {
			t.Fatal("TikTok's sender does not report the keys it sends")
		}
		k, ok := kr.KeysOf(e)
		if !ok {
			t.Fatal("KeysOf refused the event")
		}
		body, err := newTikTok("").Build(cfg, []dest.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Data []struct {
				User map[string]json.RawMessage `json:"user"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		var sent []string
		for _, name := range dest.KeyNames {
			if f, ok := field[name]; ok {
				if _, ok := p.Data[0].User[f]; ok {
					sent = append(sent, name)
				}
			}
		}
		if !reflect.DeepEqual(k.Names(), sent) || len(sent) == 0 {
			t.Errorf("KeysOf = %v, payload sends %v", k.Names(), sent)
		}
	}
}

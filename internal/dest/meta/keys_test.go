package meta_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/domain"
)

// jsonKey is the user_data field each identifier key is sent as.
var jsonKey = map[string]string{"ip": "client_ip_address", "ua": "client_user_agent"}

// The keys Meta's sender reports for an event are exactly the user_data fields Build puts in
// its payload: a key that stops being sent stops being counted, and one sent is counted.
func TestKeysOfAreTheKeysSent(t *testing.T) {
	t.Parallel()
	full := purchase()
	emailFBCLID := dest.Event{Name: domain.EventPurchase, EventID: "e1", EventTime: desttest.FixedNow.Add(-time.Hour),
		Custom: dest.Custom{ValueMinor: 100, Currency: "BRL"},
		User:   dest.User{Emails: []string{"maria@example.com"}, FBCLID: "IwAR2F4-Abc", FBCLIDAt: desttest.FixedNow.Add(-2 * time.Hour)}}
	withDB := emailFBCLID
	withDB.User.DateOfBirth, withDB.User.Phones = "1990-05-17", []string{"+55 11 98765-4321"}
	cases := []struct {
		name string
		e    dest.Event
		want []string
	}{
		{"full purchase", full, []string{"em", "ph", "fn", "ln", "ct", "st", "zp", "country", "external_id", "fbc", "fbp", "ip", "ua"}},
		{"e-mail and fbclid", emailFBCLID, []string{"em", "fbc"}},
		{"birth date and phone", withDB, []string{"em", "ph", "db", "fbc"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := newMeta().Prepare(cfg, creds())
			if err != nil {
				t.Fatal(err)
			}
			kr, ok := s.(dest.KeyReporter)
			if !ok {
				t.Fatal("Meta's sender does not report the keys it sends")
			}
			k, ok := kr.KeysOf(c.e)
			if !ok {
				t.Fatal("KeysOf refused the event")
			}
			if got := k.Names(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("keys = %v, want %v", got, c.want)
			}
			body, err := newMeta().Build(cfg, []dest.Event{c.e})
			if err != nil {
				t.Fatal(err)
			}
			var p struct {
				Data []struct {
					UserData map[string]json.RawMessage `json:"user_data"`
				} `json:"data"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			var sent []string
			for _, name := range dest.KeyNames {
				field := name
				if f, ok := jsonKey[name]; ok {
					field = f
				}
				if _, ok := p.Data[0].UserData[field]; ok {
					sent = append(sent, name)
				}
			}
			if !slices.Equal(sent, k.Names()) {
				t.Errorf("payload sends %v, KeysOf reports %v", sent, k.Names())
			}
		})
	}
}

// An event Meta's builder refuses reports no keys: it is not sent.
func TestKeysOfRefused(t *testing.T) {
	t.Parallel()
	s, err := newMeta().Prepare(cfg, creds())
	if err != nil {
		t.Fatal(err)
	}
	e := purchase()
	e.EventID = ""
	if k, ok := s.(dest.KeyReporter).KeysOf(e); ok {
		t.Errorf("KeysOf = %v, true for a refused event", k.Names())
	}
}

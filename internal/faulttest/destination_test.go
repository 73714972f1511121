package faulttest

import (
	"net/http"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
)

// TestDestinationStorm: for 10 s Meta answers with 429, code 613, code 4, 5xx, slowly and
// with dropped connections, then recovers. Every order is
// delivered, once (nothing was lost in between, and nothing Meta did not accept counts as sent).
// No replica crashes, so a resend is right only after a send whose outcome Hub could not know
// (a timeout, a connection lost after the request left): each resend must follow such an
// attempt, and be recorded (docs/reliability.md, promise 2).
func TestDestinationStorm(t *testing.T) {
	suite(t)
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			storm := []action{
				{fault: fakemeta.Mode429},
				{code: 613},
				{fault: fakemeta.Mode500},
				{drop: true},
				{delay: 3 * time.Second}, // slow, then accepted
				{code: 4},
				{fault: fakemeta.Mode500},
				{drop: true},
			}
			// The storm lasts 10 s from the first request (Hub's breaker opens in it, so a
			// storm counted in requests would last as long as its probes take), then Meta is fine.
			var stormEnd time.Time
			f.script(func(n int) action {
				if n == 1 {
					stormEnd = time.Now().Add(10 * time.Second)
				}
				if time.Now().Before(stormEnd) {
					return storm[(n-1)%len(storm)]
				}
				return action{}
			})
			h := newHub(t, store, options{fake: f})
			// Orders keep coming during the storm (one every 400 ms), so it meets many requests.
			orders, _ := sendOrdersPaced(t, []string{h.hookURL}, h.hottok, "S"+store[:1], 24, 4, 400*time.Millisecond, nil)
			if len(orders) != 24 {
				t.Fatalf("%d of 24 webhooks acknowledged\n%s", len(orders), h.proc.Output())
			}
			r := checkDelivered(t, h, f, orders, 3*time.Minute, 2*time.Minute)
			resends := 0
			for _, d := range h.deliveries() {
				if d.Resends == 0 {
					continue
				}
				resends += d.Resends
				var v struct {
					AttemptLog []struct {
						Outcome string `json:"outcome"`
						Code    string `json:"code"`
						Resend  bool   `json:"resend"`
					} `json:"attempt_log"`
				}
				h.api(http.MethodGet, "/deliveries/"+d.ID, nil, &v)
				marked := 0
				for i, a := range v.AttemptLog {
					if !a.Resend {
						continue
					}
					marked++
					// The attempt before it left the platform's answer unknown.
					if i == 0 || !unknownOutcome(v.AttemptLog[i-1].Code) {
						t.Errorf("%s: resend after attempts %+v: no earlier send with an unknown outcome", d.EventID, v.AttemptLog[:i+1])
					}
				}
				if marked != d.Resends {
					t.Errorf("%s: %d resends counted, %d attempts marked resend: %+v", d.EventID, d.Resends, marked, v.AttemptLog)
				}
			}
			t.Logf("resends recorded after a send with an unknown outcome: %d", resends)
			t.Logf("the fake saw requests: %s", f.requests())
			report(t, "destination-storm", store, r)
		})
	}
}

// TestInvalidTokenFixedAndReplayed: a destination with a wrong access token sends every order to
// dead (invalid_token); the operator fixes the credentials (PATCH) and replays the dead
// deliveries (API); each order then reaches Meta exactly once.
func TestInvalidTokenFixedAndReplayed(t *testing.T) {
	suite(t)
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.meta.Token = "EAAright0token"
			h := newHub(t, store, options{fake: f, token: "EAAwrong0token"})
			orders := sendOrders(t, []string{h.hookURL}, h.hottok, "T"+store[:1], 12, 4)
			if len(orders) != 12 {
				t.Fatalf("%d of 12 webhooks acknowledged\n%s", len(orders), h.proc.Output())
			}
			var ds map[string]delivery
			if !eventually(2*time.Minute, func() bool {
				ds = h.deliveries()
				for _, o := range orders {
					if d := ds[o.eventID]; d.State != "dead" {
						return false
					}
				}
				return true
			}) {
				t.Fatalf("not every delivery went dead with a wrong token: %+v", ds)
			}
			for _, o := range orders {
				if d := ds[o.eventID]; d.Reason != "invalid_token" {
					t.Errorf("order %s dead for %q, want invalid_token", o.txn, d.Reason)
				}
			}
			if n := len(f.meta.Accepted()); n != 0 {
				t.Fatalf("Meta accepted %d events sent with a wrong token", n)
			}

			h.api(http.MethodPatch, "/destinations/"+h.destID, map[string]any{"credentials": map[string]string{"access_token": f.meta.Token}}, nil)
			var rep struct {
				Replayed int `json:"replayed"`
			}
			h.api(http.MethodPost, "/destinations/"+h.destID+"/replay-dead", nil, &rep)
			if rep.Replayed != len(orders) {
				t.Errorf("replayed %d dead deliveries, want %d", rep.Replayed, len(orders))
			}
			replayed := time.Now()
			for i := range orders {
				orders[i].acked = replayed // the bound counts from the replay
			}
			r := checkDelivered(t, h, f, orders, 2*time.Minute, time.Minute)
			report(t, "invalid-token-fixed-replayed", store, r)
		})
	}
}

// unknownOutcome reports whether an attempt's code leaves it unknown whether the platform got
// the send (dest.ReasonTimeout, dest.ReasonNetwork): the next send is a recorded resend.
func unknownOutcome(code string) bool { return code == "timeout" || code == "network_error" }

package faulttest

import (
	"testing"
	"time"
)

// TestKillDuringDelivery: purchases are acknowledged, Meta answers slowly, and the replica is
// killed while sends are on the wire (Meta still accepts what it already read). After a
// restart every order reaches Meta; a repeat is allowed only as a resend Hub recorded, and
// nothing is later than River's rescue (about two minutes, the rescuer looking every 30 s)
// plus a margin.
func TestKillDuringDelivery(t *testing.T) {
	suite(t)
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.script(func(int) action { return action{delay: 2 * time.Second} })
			h := newHub(t, store, options{fake: f})
			orders := sendOrders(t, []string{h.hookURL}, h.hottok, "K"+store[:1], 30, 8)
			if len(orders) != 30 {
				t.Fatalf("%d of 30 webhooks acknowledged\n%s", len(orders), h.proc.Output())
			}
			if !eventually(60*time.Second, func() bool { return f.inflight.Load() > 0 }) {
				t.Fatalf("no send reached Meta in a minute\n%s", h.proc.Output())
			}
			h.proc.Kill(t)
			inflight := f.inflight.Load()
			h.start()
			r := checkDelivered(t, h, f, orders, 5*time.Minute, 4*time.Minute)
			t.Logf("%d request(s) were on the wire at the kill", inflight)
			report(t, "kill-9-during-delivery", store, r)
		})
	}
}

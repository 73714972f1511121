package faulttest

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/testenv"
)

// TestIdenticalWebhooksOnTwoReplicas: a gateway's retry storm, 50 copies of one purchase
// webhook at once, half to each of two replicas sharing PostgreSQL and Redis. Every copy is
// acknowledged; there is one order, one delivery, and Meta accepts the purchase once.
func TestIdenticalWebhooksOnTwoReplicas(t *testing.T) {
	suite(t)
	f := newFake(t)
	redisURL, _ := testenv.Redis(t)
	h := newHub(t, "postgres", options{fake: f, redisURL: redisURL})
	b := h.replica()
	urls := []string{h.hookURL, h.hookURLOf(b)}
	body := purchase("D00001", h.hottok, time.Now())
	c := &http.Client{Timeout: 15 * time.Second}
	var acked atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 50 {
		wg.Go(func() {
			<-start
			if ok, _ := postWebhook(c, urls, i, h.hottok, body, 1); ok {
				acked.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	eventID := "hotmart:D00001:purchase"
	o := []order{{txn: "D00001", eventID: eventID, acked: time.Now()}}
	r := checkDelivered(t, h, f, o, time.Minute, 30*time.Second)
	// Every copy settled (processed once, the others duplicates), so nothing can still add an
	// order or a delivery.
	type webhook struct {
		State string `json:"state"`
	}
	var states map[string]int
	if !eventually(time.Minute, func() bool {
		states = map[string]int{}
		for _, w := range list[webhook](h, "/webhooks") {
			states[w.State]++
		}
		return states["received"] == 0
	}) {
		t.Fatalf("webhooks still unprocessed: %v", states)
	}
	t.Logf("webhook copies in the inbox by state: %v", states)
	orders := list[struct {
		ID string `json:"id"`
	}](h, "/orders")
	ds := h.deliveries()
	r.acked, r.stored = int(acked.Load()), len(orders)
	if r.acked != 50 {
		t.Errorf("%d of 50 copies acknowledged", r.acked)
		r.lost += 50 - r.acked
	}
	r.dup += max(len(orders)-1, 0) + max(len(ds)-1, 0)
	if len(orders) != 1 || len(ds) != 1 {
		t.Errorf("%d orders and %d deliveries from one purchase", len(orders), len(ds))
	}
	if n := f.meta.Accepted()[eventID]; n != 1 {
		t.Errorf("Meta accepted the purchase %d times", n)
	}
	report(t, "50-identical-webhooks-two-replicas", "postgres", r)
}

// TestRollingRestartUnderLoad: purchases keep arriving at two replicas (a load balancer sends a
// failed request to the other one, as a gateway retries) while each replica in turn gets SIGTERM
// and is started again. Every purchase is acknowledged by one replica or the other and
// reaches Meta once.
func TestRollingRestartUnderLoad(t *testing.T) {
	suite(t)
	f := newFake(t)
	redisURL, _ := testenv.Redis(t)
	h := newHub(t, "postgres", options{fake: f, redisURL: redisURL})
	b := h.replica()
	urls := []string{h.hookURL, h.hookURLOf(b)}
	// Purchases arrive every 100 ms until a second after the roll.
	var orders []order
	sent := 0
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		orders, sent = sendOrdersPaced(t, urls, h.hottok, "R", 100000, 8, 100*time.Millisecond, stop)
	}()
	// Roll: stop A (drains), start it again, then the same for B, all while the load runs.
	if !eventually(30*time.Second, func() bool { return len(f.meta.Accepted()) > 0 }) {
		t.Fatal("no purchase reached Meta before the roll")
	}
	h.proc.Stop(t, 40*time.Second)
	h.start()
	b.Stop(t, 40*time.Second)
	h.replicaOn(b.Port)
	time.Sleep(time.Second) // load, not a wait for async work: a second of purchases after the roll
	close(stop)
	<-done
	r := checkDelivered(t, h, f, orders, 2*time.Minute, time.Minute)
	if len(orders) != sent {
		t.Errorf("%d of %d purchases acknowledged by either replica", len(orders), sent)
		r.lost += sent - len(orders)
	}
	report(t, "rolling-sigterm-two-replicas", "postgres", r)
}

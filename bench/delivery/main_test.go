package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var obj = objective{ackP99: 500, e2eP95: 1000}

func ok(rate float64) stepResult {
	return stepResult{rate: rate, ids: []string{"a"}, ackP99: 20, e2eP95: 300}
}

func TestStepMeets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    stepResult
		want bool
	}{
		{"within the objective", ok(100), true},
		{"ack p99 at the limit", func() stepResult { s := ok(100); s.ackP99 = 500; return s }(), false},
		{"e2e p95 over", func() stepResult { s := ok(100); s.e2eP95 = 1001; return s }(), false},
		{"orders still missing", func() stepResult { s := ok(100); s.e2eP95 = math.Inf(1); return s }(), false},
		{"a webhook not acknowledged", func() stepResult { s := ok(100); s.failed = 1; return s }(), false},
		{"a duplicate", func() stepResult { s := ok(100); s.dup = 1; return s }(), false},
		{"nothing acknowledged", stepResult{rate: 100, ackP99: math.NaN(), e2eP95: math.NaN()}, false},
		{"unknown latency", func() stepResult { s := ok(100); s.ackP99 = math.NaN(); return s }(), false},
	}
	for _, tt := range tests {
		if got := tt.s.meets(obj); got != tt.want {
			t.Errorf("%s: meets = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRampNext(t *testing.T) {
	t.Parallel()
	r := ramp{start: 50, step: 50, max: 200}
	var done []stepResult
	var rates []float64
	for {
		rt, more := r.next(done, obj)
		if !more {
			break
		}
		rates = append(rates, rt)
		done = append(done, ok(rt))
	}
	if want := []float64{50, 100, 150, 200}; !equal(rates, want) {
		t.Errorf("a ramp that always meets tries %v, want %v", rates, want)
	}
	miss := ok(100)
	miss.e2eP95 = 2000
	if rt, more := r.next([]stepResult{ok(50), miss}, obj); more {
		t.Errorf("after a miss the ramp goes on to %v", rt)
	}
	if _, more := (ramp{start: 300, step: 50, max: 200}).next(nil, obj); more {
		t.Error("a ramp starting above its max runs a step")
	}
}

func TestCapacity(t *testing.T) {
	t.Parallel()
	miss := func(rate float64) stepResult { s := ok(rate); s.ackP99 = 900; return s }
	tests := []struct {
		name  string
		steps []stepResult
		want  float64
		found bool
	}{
		{"the last step before the miss", []stepResult{ok(50), ok(100), ok(150), miss(200)}, 150, true},
		{"every step met: the highest", []stepResult{ok(50), ok(100)}, 100, true},
		{"the first step missed", []stepResult{miss(50)}, 0, false},
		{"a pass after a miss does not count", []stepResult{ok(50), miss(100), ok(150)}, 50, true},
		{"no steps", nil, 0, false},
	}
	for _, tt := range tests {
		got, found := capacity(tt.steps, obj)
		if found != tt.found || (found && got.rate != tt.want) {
			t.Errorf("%s: capacity = %v (found %v), want %v (found %v)", tt.name, got.rate, found, tt.want, tt.found)
		}
	}
}

func TestPct(t *testing.T) {
	t.Parallel()
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, math.Inf(1)}
	if got := pct(xs, 95); got != 19 {
		t.Errorf("p95 = %v, want 19 (one order in twenty missing is still within p95)", got)
	}
	if got := pct(xs, 99); !math.IsInf(got, 1) {
		t.Errorf("p99 = %v, want +Inf", got)
	}
	if !math.IsNaN(pct(nil, 50)) {
		t.Error("pct of nothing is not NaN")
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseDests(t *testing.T) {
	t.Parallel()
	got, err := parseDests(" googleads=http://127.0.0.1:1/,ga4=http://127.0.0.1:2,,webhook=http://127.0.0.1:3 ")
	want := []fakeDest{{"googleads", "http://127.0.0.1:1"}, {"ga4", "http://127.0.0.1:2"}, {"webhook", "http://127.0.0.1:3"}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("parseDests = %v, %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("dest %d = %v, want %v", i, got[i], want[i])
		}
	}
	if ds, err := parseDests(""); err != nil || len(ds) != 0 {
		t.Errorf("empty: %v, %v (the default: Meta only)", ds, err)
	}
	for _, bad := range []string{"ga4", "ga4=", "meta=http://127.0.0.1:1", "bing=http://127.0.0.1:1", "ga4=http://a,ga4=http://b"} {
		if _, err := parseDests(bad); err == nil {
			t.Errorf("parseDests(%q) accepted", bad)
		}
	}
	if needsClick([]fakeDest{{"tiktok", ""}, {"webhook", ""}}) || !needsClick([]fakeDest{{"tiktok", ""}, {"ga4", ""}}) || !needsClick([]fakeDest{{"googleads", ""}}) {
		t.Error("needsClick: only Google Ads and GA4 need the Google ad click")
	}
}

// A step misses the objective when another destination lost or duplicated one of its orders,
// however fast Meta was.
func TestStepMeetsWithOtherDestinations(t *testing.T) {
	t.Parallel()
	s := ok(100)
	s.others = map[string]lateDup{"ga4": {}, "webhook": {}}
	if !s.meets(obj) {
		t.Error("every destination accepted every order once: misses")
	}
	s.others["webhook"] = lateDup{dup: 1}
	if s.meets(obj) {
		t.Error("a duplicate at the webhook: meets")
	}
	s.others["webhook"] = lateDup{late: 1}
	if s.meets(obj) {
		t.Error("an order missing at the webhook after the drain: meets")
	}
}

// destLine counts accepted, lost (neither accepted nor dead) and duplicated orders by the
// platform's key, and its latencies from when each webhook was due to the first acceptance.
func TestDestLine(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	sent := map[string]time.Time{"a": t0, "b": t0, "c": t0, "d": t0}
	var evs fakeEvents
	if err := json.Unmarshal([]byte(`{"events":[
		{"event_id":"a","received":"2026-12-02T12:00:00.100Z"},
		{"event_id":"b","received":"2026-12-02T12:00:00.300Z"},
		{"event_id":"a","received":"2026-12-02T12:00:00.050Z"},
		{"event_id":"x","received":"2026-12-02T12:00:09Z"}],
		"counts":{"a":2,"b":1,"x":1},"requests":3}`), &evs); err != nil {
		t.Fatal(err)
	}
	d := destTally{name: "ga4", evs: evs, first: firstReceived(evs), dead: map[string]bool{"d": true}}
	ids := []string{"a", "b", "c", "d"}
	d.lost, d.dup = d.countIn(ids)
	if d.lost != 1 || d.dup != 1 {
		t.Fatalf("lost %d dup %d, want 1 (c) and 1 (a)", d.lost, d.dup)
	}
	// Over a and b: 50 ms (a's first acceptance) and 300 ms.
	got := destLine("postgres", d, ids, []string{"a", "b"}, sent, "")
	if want := "delivery-dest: store=postgres dest=ga4 orders=4 accepted=2 dead=1 lost=1 dup=1 p50=50ms p95=300ms"; got != want {
		t.Errorf("line\n got %s\nwant %s", got, want)
	}
	// c never arrived: p95 over a, b, c is inf; d is dead there, not a latency.
	got = destLine("sqlite", d, ids, ids, sent, " forced=1")
	if want := "delivery-dest: store=sqlite dest=ga4 orders=4 accepted=2 dead=1 lost=1 dup=1 p50=300ms p95=inf forced=1"; got != want {
		t.Errorf("line\n got %s\nwant %s", got, want)
	}
	d.dead = nil
	if got := destLine("sqlite", d, ids, nil, sent, ""); !strings.Contains(got, "dead=-1") || !strings.Contains(got, "p95=n/a") {
		t.Errorf("without the admin API: %s", got)
	}
}

func TestAllDead(t *testing.T) {
	t.Parallel()
	states := map[string]map[string][]string{"meta": {"dead": {"a"}}, "ga4": {"dead": {"b"}, "sent": {"c"}}}
	if !allDead(map[string][]string{"meta": {"a"}, "ga4": {"b"}}, states) {
		t.Error("every pending order dead where it is pending: still waiting")
	}
	if allDead(map[string][]string{"meta": {"a"}, "ga4": {"a"}}, states) {
		t.Error("a dead at Meta is not dead at GA4")
	}
}

// The click visitors are ids Hub recognises in sck, and the order carries the one it is given.
func TestClickVisitorAndPurchase(t *testing.T) {
	t.Parallel()
	id := clickVisitor("B1764676522BENCHPREFIXLONG", 49)
	if len(id) > 32 || strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) {
		t.Errorf("visitor id %q is not 1 to 32 of [A-Za-z0-9_-]", id)
	}
	var click map[string]any
	if err := json.Unmarshal([]byte(clickEvent(id, time.Now(), 3)), &click); err != nil {
		t.Fatalf("click: %v", err)
	}
	if click["visitor_id"] != id || click["gclid"] == "" || click["ga_client_id"] == "" || !strings.HasPrefix(click["ga_sessions"].(string), "FAKE0GA4:") {
		t.Errorf("click = %v", click)
	}
	var p struct {
		Data struct {
			Purchase struct {
				Transaction string
				Origin      struct{ Sck string }
			}
		}
	}
	if err := json.Unmarshal(purchase("B1S000000001", id, time.Now()), &p); err != nil {
		t.Fatal(err)
	}
	if p.Data.Purchase.Transaction != "B1S000000001" || p.Data.Purchase.Origin.Sck != id {
		t.Errorf("purchase: %+v", p)
	}
}

// TestCollecting checks -collect-rate's sender against a stand-in /v1/collect: each request is
// one page view with the source's key and a visitor of its own, an error status counts as not
// acknowledged, and what stop returns matches what the server received.
func TestCollecting(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		got      []string
		visitors = map[string]bool{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Key    string
			Events []map[string]any
		}
		if r.URL.Path != "/v1/collect" || json.NewDecoder(r.Body).Decode(&body) != nil || len(body.Events) != 1 {
			t.Errorf("request %s: not one event", r.URL.Path)
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, body.Key)
		if len(body.Events) == 1 {
			e := body.Events[0]
			v, _ := e["visitor_id"].(string)
			if e["type"] != "page_view" || v == "" || visitors[v] || e["event_id"] != v+"-pv" {
				t.Errorf("event %v: not a page view of a visitor of its own", e)
			}
			visitors[v] = true
		}
		if len(got)%4 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	none := (&runner{client: srv.Client(), hubBase: srv.URL}).collecting("B1C")()
	if none.sent != 0 || none.fields() != "" {
		t.Fatalf("without -collect-rate: %+v %q", none, none.fields())
	}

	r := &runner{client: srv.Client(), hubBase: srv.URL, collectRate: 500, publicKey: "pk_bench"}
	stop := r.collecting("B1C")
	awaitRequests(t, 8, func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	})
	res := stop()
	mu.Lock()
	defer mu.Unlock()
	if res.sent != len(got) || res.failed != len(got)/4 || len(res.lat) != res.sent-res.failed {
		t.Errorf("sent=%d failed=%d acknowledged=%d; the server got %d (every fourth answered 503)", res.sent, res.failed, len(res.lat), len(got))
	}
	for _, k := range got {
		if k != "pk_bench" {
			t.Errorf("key %q", k)
		}
	}
	if !sort.Float64sAreSorted(res.lat) || !strings.Contains(res.fields(), " collect_failed=") {
		t.Errorf("latencies not sorted or fields %q", res.fields())
	}
}

// TestCollectingLeads checks -collect-type lead: each request is one lead with its own event id
// and an email, every acknowledged lead (and no refused one) is recorded with when it was due,
// and reach counts, from Meta's fake, the leads there, twice, and missing (+Inf).
func TestCollectingLeads(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		n       int
		refused = map[string]bool{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Events []map[string]any
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || len(body.Events) != 1 {
			t.Errorf("not one event")
			return
		}
		e := body.Events[0]
		v, _ := e["visitor_id"].(string)
		if e["type"] != "lead" || e["event_id"] != v+"-lead" || e["email"] != v+"@example.com" || e["consent"] != "granted" {
			t.Errorf("event %v: not a lead with its own id and an email", e)
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		if n%3 == 0 {
			refused[v+"-lead"] = true
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	r := &runner{client: srv.Client(), hubBase: srv.URL, collectRate: 500, collectType: "lead", publicKey: "pk_bench", leads: map[string]time.Time{}}
	stop := r.collecting("B1C")
	awaitRequests(t, 9, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	})
	res := stop()
	mu.Lock()
	defer mu.Unlock()
	if len(res.leads) != res.sent-res.failed || len(r.leads) != len(res.leads) || res.failed != len(refused) {
		t.Fatalf("sent=%d failed=%d leads=%d recorded=%d", res.sent, res.failed, len(res.leads), len(r.leads))
	}
	for _, id := range res.leads {
		if refused[id] || r.leads[id].IsZero() {
			t.Errorf("lead %s: refused or recorded without when it was due", id)
		}
	}

	// Meta's fake has the first lead once, the second twice, and not the others.
	first := map[string]time.Time{res.leads[0]: r.leads[res.leads[0]].Add(40 * time.Millisecond), res.leads[1]: r.leads[res.leads[1]].Add(20 * time.Millisecond)}
	counts := map[string]int{res.leads[0]: 1, res.leads[1]: 2}
	res.reach(first, counts, r.leads)
	if res.reached != 2 || res.dup != 1 || len(res.leadLat) != len(res.leads) || res.leadLat[0] != 20 || res.leadLat[1] != 40 || !math.IsInf(res.leadLat[2], 1) {
		t.Errorf("reached=%d dup=%d lat=%v", res.reached, res.dup, res.leadLat)
	}
	if f := res.fields(); !strings.Contains(f, fmt.Sprintf(" leads_at_meta=2/%d leads_dup=1 ", len(res.leads))) {
		t.Errorf("fields %q", f)
	}
}

// awaitRequests waits until the stand-in server has had want requests (count), for 10 s at most.
func awaitRequests(t *testing.T, want int, count func() int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); count() < want; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests in 10 s, want %d", count(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Command delivery measures Hub's purchase pipeline end to end: it sends Hotmart purchase
// webhooks to a running Hub whose Meta destination points at `hub fake-meta`, waits until every
// acknowledged order reached the fake, and checks none was lost or accepted twice.
//
// By default it measures the capacity at the objective: it ramps the webhook rate in steps
// (-start, -step, -max), each held for -window (60 s), and reports the highest rate at which the
// webhook acknowledgement p99 stayed under -ack-p99 (500 ms) and webhook → Meta p95 under -e2e-p95
// (1 s), with every webhook acknowledged and none duplicated. The ramp stops at the first step
// that misses. Then it sends at twice that capacity for one window (-overload) to show that
// acknowledgements stay fast and nothing is lost when Hub is overloaded: Meta latency grows, and
// the queue drains afterwards. Its last two lines are:
//
//	delivery-overload: store=S rate=N/s orders=N ack_p99=Xms e2e_p95=Yms drained=Zs|no lost=N dup=N
//	delivery: store=S capacity=N/s ack_p99=Xms e2e_p95=Yms lost=N dup=N cpu_busy=N% steal=N% syscall_us=N fault_us=N probe_us=N probe_run_us=N hub_peak_rss_mb=N
//
// capacity's ack_p99 and e2e_p95 are the capacity step's; lost and dup cover every order of the
// run (lost: acknowledged, never accepted by the fake, not given up on by Hub; dup: accepted more
// than once). Latencies are measured from the moment a webhook was due to be sent (so a harness
// that falls behind does not hide the delay) to Hub's 200, and to the fake's acceptance (both
// clocks are this machine's).
//
// With -rate R it sends -n webhooks at that one rate instead, optionally making the fake fail a
// share of requests for a while (-fail-rate, -fail-mode, -fail-for), and its last line is:
//
//	delivery: store=S orders=N delivered=N dead=N lost=N dup=N p50=Xms p95=Yms p99=Zms hub_us_per_order=N pg_us_per_order=N hub_faults_per_order=N pg_faults_per_order=N cpu_busy=N% steal=N% syscall_us=N fault_us=N probe_us=N probe_run_us=N hub_peak_rss_mb=N
//
// dead is how many orders Hub gave up on (read through the admin API with -api-key; -1 without).
//
// hub_us_per_order and pg_us_per_order are the CPU time Hub's process (-hub-pid) and its
// PostgreSQL cluster (-pg-pid, the postmaster: every backend) spent per order from the first
// webhook until every order reached every fake, in µs; n/a when not measured (run.sh passes
// both, PostgreSQL's only with STORE=postgres).
//
// cpu_busy is how busy the whole machine was over the run (every CPU, from /proc/stat) and steal
// how much CPU time the hypervisor gave to other guests: a run with more than a few % of steal
// measured its neighbours as much as Hub. hub_peak_rss_mb is the Hub process's peak resident
// memory over its whole life, warm-up included (VmHWM in /proc/<pid>/status): what its CPU
// figures cost in memory.
//
// With -dests (run.sh: DESTS=meta,googleads,ga4,tiktok,webhook) the same orders also go to
// those destinations' fakes, at once. The capacity objective stays Meta's, but a step also
// misses it when another destination accepted one of its orders twice or had not accepted one
// by the end of the drain. When Google Ads or GA4 is among them, every order carries back
// (sck) a visitor whose Google ad click had a gclid and GA4's _ga and session cookies, sent to
// /v1/collect before the run (-public-key), so those destinations have what they need. Before
// the last line, one line per destination, Meta's first:
//
//	delivery-dest: store=S dest=D orders=N accepted=N dead=N lost=N dup=N p50=Xms p95=Yms
//
// accepted counts the orders the destination's fake accepted, lost and dup as above by the
// platform's idempotency key (Meta's and TikTok's event_id, Google Ads' and GA4's
// transaction id, the webhook-id), p50 and p95 are webhook → accepted by that fake over the
// capacity step's orders (over every order with -rate, or when no step met the objective).
//
// Either way it waits for the one-minute load average to be at most -max-load and refuses to run
// on a busier machine unless -force is given; a forced result ends with forced=1 and is not a
// measurement. bench/delivery/run.sh does the whole set-up; docs/benchmarks.md has the method.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hubtrack/hub/bench/measure"
)

func main() {
	var (
		webhookURL = flag.String("webhook", "", "Hub webhook URL for Hotmart: http://127.0.0.1:8080/v1/webhooks/hotmart/<the source's Hotmart token>")
		apiKey     = flag.String("api-key", "", "admin API key of the tenant: count dead deliveries and report delivery states (optional)")
		hottok     = flag.String("hottok", "bench_hottok", "the source's Hotmart hottok")
		fakeURL    = flag.String("fake", "http://127.0.0.1:9999", "base URL of hub fake-meta")
		destsFlag  = flag.String("dests", "", "the other destinations' fakes, name=URL comma-separated (googleads, ga4, tiktok, webhook): run.sh passes them for DESTS")
		publicKey  = flag.String("public-key", "", "the source's public key, for the Google ad clicks that Google Ads and GA4 need (-dests)")
		storeName  = flag.String("store", "unknown", "Hub's store, for the result line (run.sh passes $STORE)")
		conc       = flag.Int("concurrency", 2048, "webhooks in flight at most (high enough that a slow acknowledgement does not lower the rate)")
		wait       = flag.Duration("wait", 5*time.Minute, "how long to wait, at the end, for every order to reach the fake")
		prefix     = flag.String("prefix", fmt.Sprintf("B%d", time.Now().Unix()), "transaction id prefix (unique per run)")
		maxLoad    = flag.Float64("max-load", 1.0, "refuse to run while the one-minute load average is above this")
		quietWait  = flag.Duration("quiet-wait", 3*time.Minute, "how long to wait for the load average to fall to -max-load")
		force      = flag.Bool("force", false, "run on a busy machine anyway (a smoke run: the result line says forced=1)")

		start    = flag.Float64("start", 50, "capacity: the first step's rate (webhooks/s)")
		step     = flag.Float64("step", 50, "capacity: how much each step adds")
		maxRate  = flag.Float64("max", 2000, "capacity: the last step's rate at most")
		window   = flag.Duration("window", 60*time.Second, "capacity: how long each step holds its rate")
		drain    = flag.Duration("drain", 30*time.Second, "capacity: how long after a step's window its orders may take to reach the fake before they count as late")
		ackP99   = flag.Duration("ack-p99", 500*time.Millisecond, "capacity: the objective for the webhook acknowledgement p99")
		e2eP95   = flag.Duration("e2e-p95", time.Second, "capacity: the objective for webhook → Meta p95")
		overload = flag.Bool("overload", true, "capacity: then send at twice the capacity for one window")

		collectRate = flag.Float64("collect-rate", 0, "also send this many page views a second, one per request as t.js does, to /v1/collect (-public-key) during each measured window, and report their acknowledgement latency beside the webhooks' (not part of the objective): does a purchase backlog slow the tracking script's acknowledgements?")
		collectType = flag.String("collect-type", "page_view", "what -collect-rate sends: page_view, or lead (with an email, consent granted), for a Meta destination that takes leads (run.sh's META_EVENTS=Purchase,Lead): each lead is a delivery to the same Meta destination as the purchases, and the harness also reports how many leads reached Meta and how fast, and counts an acknowledged lead that never did as lost: do the purchases keep their objective while a launch's leads flood the same destination?")

		rate      = flag.Float64("rate", 0, "one fixed rate (webhooks/s) instead of the capacity ramp")
		n         = flag.Int("n", 2000, "fixed rate: purchase webhooks to send")
		failRate  = flag.Float64("fail-rate", 0, "fixed rate: share of Meta requests the fake fails during -fail-for")
		failMode  = flag.String("fail-mode", "500", "fixed rate: how the fake fails: 500, 429, timeout or invalid_token (permanent: those orders end dead)")
		failFor   = flag.Duration("fail-for", 10*time.Second, "fixed rate: how long the fake fails")
		hubPID    = flag.Int("hub-pid", 0, "fixed rate: pid of the Hub process, to report its CPU time per order (0: not measured)")
		pgPID     = flag.Int("pg-pid", 0, "fixed rate: pid of the postmaster of Hub's own PostgreSQL cluster, to report the cluster's CPU time per order (0: not measured)")
		timeline  = flag.Duration("timeline", 0, "fixed rate: also print Meta's latency per slice of this length of the sending window (e.g. 1s), to see whether a slow p95 is spread over the run or a few bursts")
		warmup    = flag.Int("warmup", 0, "orders sent first, at -rate or the ramp's -start, and waited for at the fake, before anything is measured: the tables hold rows and the planner has statistics, as a database in service does")
		warmupCmd = flag.String("warmup-cmd", "", "a shell command run after the warm-up (run.sh passes PostgreSQL's ANALYZE)")
		prof      measure.ProfileFlags
	)
	prof.Register(flag.CommandLine, 0, "of the overload run at twice the capacity (Hub saturated: where its CPU goes at the limit); with -rate or -overload=false, from the start")
	flag.Parse()
	if *webhookURL == "" {
		log.Fatal("delivery: -webhook is required")
	}
	others, err := parseDests(*destsFlag)
	if err != nil {
		log.Fatalf("delivery: -dests: %v", err)
	}
	urls := []string{*webhookURL, *fakeURL}
	for _, d := range others {
		urls = append(urls, d.url)
	}
	for _, u := range urls {
		if !loopback(u) {
			log.Fatalf("delivery: %s is not a loopback URL", u)
		}
	}
	if *rate <= 0 && (*start <= 0 || *step <= 0 || *maxRate < *start || *window <= 0) {
		log.Fatal("delivery: the ramp needs -start > 0, -step > 0, -max >= -start and -window > 0")
	}
	hubBase := *webhookURL
	if i := strings.Index(hubBase, "/v1/webhooks/"); i > 0 {
		hubBase = hubBase[:i]
	}
	r := &runner{
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conc}},
		// A fake's event list holds every event of the run: tens of megabytes by the end of a
		// ramp past 700/s, read while the overload's backlog keeps the machine busy, which took
		// longer than a webhook's 30 s (session q's PostgreSQL ramp stopped there).
		dump:    &http.Client{Timeout: 5 * time.Minute},
		webhook: *webhookURL, hottok: *hottok, fake: *fakeURL, hubBase: hubBase, apiKey: *apiKey,
		conc: *conc, sent: map[string]time.Time{}, hubPID: *hubPID, pgPID: *pgPID,
		fakes:       append([]fakeDest{{name: "meta", url: *fakeURL}}, others...),
		collectRate: *collectRate, collectType: *collectType, publicKey: *publicKey, leads: map[string]time.Time{},
	}
	if r.collectRate > 0 && r.publicKey == "" {
		log.Fatal("delivery: -collect-rate needs -public-key")
	}
	if r.collectType != "page_view" && r.collectType != "lead" {
		log.Fatalf("delivery: -collect-type %q: want page_view or lead", r.collectType)
	}
	for _, f := range r.fakes {
		if err := control(r.client, f.url+"/_fake/reset", nil); err != nil {
			log.Fatalf("delivery: reset the fake of %s: %v", f.name, err)
		}
	}
	if needsClick(others) {
		if *publicKey == "" {
			log.Fatal("delivery: Google Ads and GA4 need -public-key (the clicks their orders carry back)")
		}
		v, err := clicks(r.client, hubBase, *publicKey, *prefix, visitors)
		if err != nil {
			log.Fatalf("delivery: the Google ad clicks: %v", err)
		}
		r.visitors = v
	}
	forced, err := measure.Gate(os.Stderr, *maxLoad, *quietWait, *force)
	if err != nil {
		log.Fatalf("delivery: refused: %v", err)
	}
	mark := ""
	if forced {
		mark = " forced=1"
	}
	if *warmup > 0 {
		wr := *start
		if *rate > 0 {
			wr = *rate
		}
		r.warmUp(*prefix+"W", wr, *warmup, *wait, *warmupCmd)
	}
	if *rate > 0 || !*overload {
		defer prof.Start(os.Stderr)()
	}
	if *rate > 0 {
		fixed(r, *storeName, *prefix, *rate, *n, *failRate, *failMode, *failFor, *wait, *timeline, mark)
		return
	}

	obj := objective{ackP99: ms(*ackP99), e2eP95: ms(*e2eP95)}
	rp := ramp{start: *start, step: *step, max: *maxRate}
	var steps []stepResult
	mc := measure.StartMachine()
	for i := 0; ; i++ {
		rt, ok := rp.next(steps, obj)
		if !ok {
			break
		}
		res := r.step(fmt.Sprintf("%sS%02d", *prefix, i), rt, *window, *drain)
		verdict := "meets the objective"
		if !res.meets(obj) {
			verdict = "misses the objective"
		}
		fmt.Fprintf(os.Stderr, "step %d: %s -> %s\n", i+1, res, verdict)
		steps = append(steps, res)
	}
	best, found := capacity(steps, obj)

	var over stepResult
	overDrained, overAll := time.Duration(0), false
	if *overload && found {
		profiled := prof.Start(os.Stderr)
		over = r.step(*prefix+"X", 2*best.rate, *window, 0)
		profiled()
		fmt.Fprintf(os.Stderr, "overload at 2x capacity, at the end of its window: %s\n", over)
		t0 := time.Now()
		overAll = r.waitDelivered(over.ids, *wait)
		overDrained = time.Since(t0) // from the end of the overload window
		over.finish(r)
	} else if *overload {
		fmt.Fprintln(os.Stderr, "no step met the objective: no capacity to double, no overload run")
	}

	t := r.tally(*wait, nil)
	leadsBad := r.leadTally(*storeName, *wait, mark)
	measure.PrintLoadAfter(os.Stderr)
	machine := mc.Fields(os.Stderr)
	if *overload && found {
		verdict := "acknowledgements stayed fast"
		if !(over.ackP99 < obj.ackP99) || over.failed > 0 {
			verdict = "acknowledgements did NOT stay fast"
		}
		drained := fmt.Sprintf("the backlog drained %s after the window", overDrained.Round(time.Second))
		if !overAll {
			drained = fmt.Sprintf("the backlog had NOT drained %s after the window", overDrained.Round(time.Second))
		}
		fmt.Fprintf(os.Stderr, "overload: %s; %s\n", verdict, drained)
		lost, dup := t.countIn(over.ids)
		drainedIn := fmt.Sprintf("%.0fs", overDrained.Seconds())
		if !overAll {
			drainedIn = "no"
		}
		fmt.Printf("delivery-overload: store=%s rate=%.0f/s orders=%d ack_p99=%s e2e_p95=%s drained=%s lost=%d dup=%d%s%s\n",
			*storeName, over.rate, len(over.ids), fmtMS(over.ackP99), fmtMS(over.e2eP95), drainedIn, lost, dup, over.collect.fields(), mark)
	}
	basis := r.sentIDs()
	if found {
		basis = best.ids
	}
	bad := r.printDests(t, *storeName, basis, mark)
	capRate, capAck, capE2E := 0.0, math.NaN(), math.NaN()
	if found {
		capRate, capAck, capE2E = best.rate, best.ackP99, best.e2eP95
	}
	fmt.Printf("delivery: store=%s capacity=%.0f/s ack_p99=%s e2e_p95=%s lost=%d dup=%d%s%s\n",
		*storeName, capRate, fmtMS(capAck), fmtMS(capE2E), t.lost, t.dup, machine+measure.PeakRSSField(r.hubPID), mark)
	if t.lost > 0 || t.dup > 0 || bad || leadsBad {
		os.Exit(1)
	}
}

// leadTally waits (at most wait, and no longer than 30 s without a new lead at Meta: a Meta
// destination that does not take leads sends none) until every lead acknowledged in the run
// (-collect-type lead) reached Meta's fake, prints the line delivery-leads: store=S acked=N at_meta=N lost=N dup=N
// p50=… p95=… (due → Meta over every acknowledged lead, +Inf for one never there) and reports
// whether one was lost or sent twice. Without leads it prints nothing.
func (r *runner) leadTally(store string, wait time.Duration, mark string) (bad bool) {
	r.mu.Lock()
	due := make(map[string]time.Time, len(r.leads))
	for k, v := range r.leads {
		due[k] = v
	}
	r.mu.Unlock()
	if len(due) == 0 {
		return false
	}
	deadline := time.Now().Add(wait)
	var evs fakeEvents
	for lastMissing, since := -1, time.Now(); ; {
		var err error
		if evs, err = events(r.dump, r.fake); err != nil {
			log.Fatalf("delivery: read the fake's events: %v", err)
		}
		missing := 0
		for id := range due {
			if evs.Counts[id] == 0 {
				missing++
			}
		}
		if missing != lastMissing {
			lastMissing, since = missing, time.Now()
		}
		if missing == 0 || time.Now().After(deadline) || time.Since(since) > 30*time.Second {
			break
		}
		time.Sleep(time.Second)
	}
	c := collectResult{leads: sortedKeys(due)}
	c.reach(firstReceived(evs), evs.Counts, due)
	lost := len(c.leads) - c.reached
	fmt.Printf("delivery-leads: store=%s acked=%d at_meta=%d lost=%d dup=%d p50=%s p95=%s%s\n",
		store, len(c.leads), c.reached, lost, c.dup, fmtMS(pct(c.leadLat, 50)), fmtMS(pct(c.leadLat, 95)), mark)
	return lost > 0 || c.dup > 0
}

// objective is what a step must meet, in milliseconds.
type objective struct{ ackP99, e2eP95 float64 }

// stepResult is one rate held for a window.
type stepResult struct {
	rate           float64  // the rate asked for
	achieved       float64  // the rate the harness managed to send at
	ids            []string // the acknowledged orders' event ids
	failed         int      // webhooks not acknowledged (after retries)
	late           int      // acknowledged orders not at the fake when the step was judged
	dup            int      // orders the fake accepted more than once
	ackP99, e2eP95 float64  // ms; e2eP95 is +Inf when more than 5 % were late
	// others is, per other destination (-dests), its orders missing at the end of the drain
	// and those accepted more than once.
	others map[string]lateDup
	// collect is the page views sent to /v1/collect during the window (-collect-rate).
	collect collectResult
}

// lateDup counts a step's orders another destination had not accepted when the step was
// judged (late) and those it accepted more than once (dup).
type lateDup struct{ late, dup int }

func (s stepResult) String() string {
	out := fmt.Sprintf("rate=%.0f/s (sent at %.0f/s) orders=%d failed=%d late=%d dup=%d ack_p99=%s e2e_p95=%s",
		s.rate, s.achieved, len(s.ids), s.failed, s.late, s.dup, fmtMS(s.ackP99), fmtMS(s.e2eP95))
	for _, name := range sortedKeys(s.others) {
		o := s.others[name]
		out += fmt.Sprintf(" %s_late=%d %s_dup=%d", name, o.late, name, o.dup)
	}
	return out + s.collect.fields()
}

// meets reports whether the step kept the objective: every webhook acknowledged, none accepted
// twice, acknowledgement p99 and webhook → Meta p95 under their limits; and every other
// destination accepted each order, once, by the end of the drain.
func (s stepResult) meets(o objective) bool {
	for _, od := range s.others {
		if od.late > 0 || od.dup > 0 {
			return false
		}
	}
	return len(s.ids) > 0 && s.failed == 0 && s.dup == 0 && s.ackP99 < o.ackP99 && s.e2eP95 < o.e2eP95
}

// ramp is the sequence of rates the capacity search tries: start, start+step, ... up to max.
type ramp struct{ start, step, max float64 }

// next is the rate of the next step, or false when the search is over: after the first step that
// missed the objective, or past max.
func (r ramp) next(done []stepResult, o objective) (float64, bool) {
	if len(done) == 0 {
		return r.start, r.start <= r.max
	}
	last := done[len(done)-1]
	if !last.meets(o) {
		return 0, false
	}
	nxt := r.start + float64(len(done))*r.step
	return nxt, nxt <= r.max+1e-9
}

// capacity is the highest-rate step that met the objective with every slower step meeting it too
// (a rate is only sustained if the ones below it were), or false when the first step missed.
func capacity(steps []stepResult, o objective) (stepResult, bool) {
	var best stepResult
	found := false
	for _, s := range steps {
		if !s.meets(o) {
			break
		}
		if !found || s.rate > best.rate {
			best, found = s, true
		}
	}
	return best, found
}

// runner sends webhooks and keeps, for the whole run, when each acknowledged order was due.
type runner struct {
	client                                 *http.Client
	dump                                   *http.Client // reads the fakes' event lists (below)
	webhook, hottok, fake, hubBase, apiKey string
	conc                                   int
	fakes                                  []fakeDest // Meta's first
	visitors                               []string   // visitor ids with a Google ad click, for sck
	hubPID, pgPID                          int        // measured for CPU per order when set (fixed rate)
	collectRate                            float64    // page views or leads per second to /v1/collect in each measured window (0: none)
	collectType                            string     // what collectRate sends: page_view or lead
	publicKey                              string     // the source's public key, for /v1/collect

	mu    sync.Mutex
	sent  map[string]time.Time // event id -> when its webhook was due
	leads map[string]time.Time // acknowledged lead's event id -> when it was due (-collect-type lead)
}

// send sends count webhooks at rate, ids from prefix, and returns the acknowledged ids, their
// acknowledgement latencies (sorted), how many failed and the rate achieved.
func (r *runner) send(prefix string, rate float64, count int) (ids []string, ackLat []float64, failed int, achieved float64) {
	var mu sync.Mutex
	sem := make(chan struct{}, r.conc)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range count {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			txn := fmt.Sprintf("%s%07d", prefix, i)
			sck := "k_" + strings.ToLower(txn)
			if len(r.visitors) > 0 {
				sck = r.visitors[i%len(r.visitors)]
			}
			ok := post(r.client, r.webhook, r.hottok, purchase(txn, sck, time.Now()))
			lat := float64(time.Since(due).Microseconds()) / 1000
			id := "hotmart:" + txn + ":purchase"
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				failed++
				return
			}
			ids = append(ids, id)
			ackLat = append(ackLat, lat)
			r.mu.Lock()
			r.sent[id] = due
			r.mu.Unlock()
		}(i)
	}
	// The rate the webhooks went out at: up to the last one's dispatch (the window is count
	// intervals when on time), not its acknowledgement.
	achieved = float64(count) / max(time.Since(start), time.Duration(count)*interval).Seconds()
	wg.Wait()
	sort.Float64s(ackLat)
	return ids, ackLat, failed, achieved
}

// step holds rate for window, then gives the orders at most drain to reach the fake and judges
// the step (an order still missing counts as infinitely late).
func (r *runner) step(prefix string, rate float64, window, drain time.Duration) stepResult {
	count := max(1, int(math.Round(rate*window.Seconds())))
	var s stepResult
	s.rate = rate
	var ackLat []float64
	stop := r.collecting(prefix + "C")
	s.ids, ackLat, s.failed, s.achieved = r.send(prefix, rate, count)
	s.collect = stop()
	s.ackP99 = pct(ackLat, 99)
	if drain > 0 {
		r.waitDelivered(s.ids, drain)
	}
	s.finish(r)
	return s
}

// warmUp sends n orders at rate, waits until each has reached the fake, and runs cmd (if any)
// with sh -c. Without it, a PostgreSQL run starts on empty tables, and the plans Hub's prepared
// statements cache in the first minute are made on empty statistics until autovacuum's first
// ANALYZE (a sequential read of the whole orders table per delivery was seen: PostgreSQL spent
// 5.4 ms per order instead of 3.2). The warm-up's orders are in the final tally (lost, dup) but
// in no measured step or rate.
//
// With -collect-rate, the page views or leads go on during the warm-up too, so the day's
// touchpoints partition holds rows when cmd's ANALYZE runs. Analysed empty, a partition keeps
// those statistics until autovacuum next analyses it (a minute or more), and the generic plans
// made meanwhile read it whole: with 1,000 leads/s, each purchase's lookup by visitor read
// every touchpoint of the day (auto_explain: 1,699 buffers, 20,102 rows thrown away), which a
// database in service, whose day's partition autovacuum analysed, does not do.
func (r *runner) warmUp(prefix string, rate float64, n int, wait time.Duration, cmd string) {
	t0 := time.Now()
	stop := r.collecting(prefix + "C")
	ids, _, failed, achieved := r.send(prefix, rate, n)
	stop()
	if failed > 0 {
		log.Fatalf("delivery: warm-up: %d of %d webhooks not acknowledged", failed, n)
	}
	if !r.waitDelivered(ids, wait) {
		log.Fatalf("delivery: warm-up: not every order reached the fake within %s", wait)
	}
	ran := ""
	if cmd != "" {
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		if err != nil {
			log.Fatalf("delivery: warm-up command: %v: %s", err, out)
		}
		ran = "; then ran " + cmd
	}
	fmt.Fprintf(os.Stderr, "warm-up: %d orders at %.0f/s delivered in %s (not measured)%s\n", len(ids), achieved,
		time.Since(t0).Round(time.Second), ran)
}

// finish reads the fake and computes the step's late, dup and e2e p95.
func (s *stepResult) finish(r *runner) {
	evs, err := events(r.dump, r.fake)
	if err != nil {
		log.Fatalf("delivery: read the fake's events: %v", err)
	}
	first := firstReceived(evs)
	var lat []float64
	s.late, s.dup = 0, 0
	r.mu.Lock()
	for _, id := range s.ids {
		at, ok := first[id]
		if !ok {
			s.late++
			lat = append(lat, math.Inf(1))
			continue
		}
		lat = append(lat, float64(at.Sub(r.sent[id]).Microseconds())/1000)
		if evs.Counts[id] > 1 {
			s.dup++
		}
	}
	sort.Float64s(lat)
	s.e2eP95 = pct(lat, 95)
	s.collect.reach(first, evs.Counts, r.leads)
	r.mu.Unlock()
	s.others = nil
	for _, f := range r.fakes[1:] {
		evs, err := events(r.dump, f.url)
		if err != nil {
			log.Fatalf("delivery: read the events of the fake of %s: %v", f.name, err)
		}
		var ld lateDup
		for _, id := range s.ids {
			switch n := evs.Counts[id]; {
			case n == 0:
				ld.late++
			case n > 1:
				ld.dup++
			}
		}
		if s.others == nil {
			s.others = map[string]lateDup{}
		}
		s.others[f.name] = ld
	}
}

// waitDelivered polls the fakes until every one of ids reached each (true), or for at most d.
func (r *runner) waitDelivered(ids []string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		all := true
		for _, f := range r.fakes {
			evs, err := events(r.dump, f.url)
			if err != nil {
				log.Fatalf("delivery: read the events of the fake of %s: %v", f.name, err)
			}
			for _, id := range ids {
				if evs.Counts[id] == 0 {
					all = false
					break
				}
			}
			if !all {
				break
			}
		}
		if all || !time.Now().Before(deadline) {
			return all
		}
		// Polling reads every event the fake holds: not too often, it takes CPU from Hub.
		time.Sleep(time.Second)
	}
}

// destTally is one destination's outcome over the whole run.
type destTally struct {
	name      string
	evs       fakeEvents
	first     map[string]time.Time
	dead      map[string]bool // nil without -api-key
	lost, dup int
}

// tallyResult is the whole run's outcome: Meta's, and every destination's (Meta's first).
type tallyResult struct {
	destTally
	dests []destTally
}

// countIn counts lost and duplicated orders among ids.
func (t destTally) countIn(ids []string) (lost, dup int) {
	for _, id := range ids {
		if _, ok := t.first[id]; !ok && !t.dead[id] {
			lost++
		}
		if t.evs.Counts[id] > 1 {
			dup++
		}
	}
	return lost, dup
}

// sentIDs returns every acknowledged order of the run.
func (r *runner) sentIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sortedKeys(r.sent)
}

// tally waits (at most wait) until every acknowledged order of the run reached each fake or Hub
// gave up on it there, and counts lost and duplicated orders per destination. arrived, when
// set, is called once the wait is over, before the delivery states are read through the API.
func (r *runner) tally(wait time.Duration, arrived func()) tallyResult {
	r.mu.Lock()
	sent := make(map[string]time.Time, len(r.sent))
	for k, v := range r.sent {
		sent[k] = v
	}
	r.mu.Unlock()
	deadline := time.Now().Add(wait)
	lastCheck := time.Now()
	evs := make([]fakeEvents, len(r.fakes))
	for {
		pending := map[string][]string{}
		for i, f := range r.fakes {
			var err error
			evs[i], err = events(r.dump, f.url)
			if err != nil {
				log.Fatalf("delivery: read the events of the fake of %s: %v", f.name, err)
			}
			for id := range sent {
				if evs[i].Counts[id] == 0 {
					pending[f.name] = append(pending[f.name], id)
				}
			}
		}
		if len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		// Orders Hub gave up on (dead) will never reach the fake: stop waiting for them.
		if r.apiKey != "" && time.Since(lastCheck) > 5*time.Second {
			lastCheck = time.Now()
			if states, err := r.deliveryStates(sent); err == nil && allDead(pending, states) {
				break
			}
		}
		time.Sleep(time.Second)
	}
	if arrived != nil {
		arrived()
	}
	var states map[string]map[string][]string
	if r.apiKey != "" {
		var err error
		states, err = r.deliveryStates(sent)
		if err != nil {
			log.Fatalf("delivery: read deliveries through the admin API: %v", err)
		}
	}
	ids := make([]string, 0, len(sent))
	for id := range sent {
		ids = append(ids, id)
	}
	var t tallyResult
	for i, f := range r.fakes {
		d := destTally{name: f.name, evs: evs[i], first: firstReceived(evs[i])}
		if states != nil {
			d.dead = map[string]bool{}
			var parts []string
			for _, st := range sortedKeys(states[f.name]) {
				parts = append(parts, fmt.Sprintf("%s=%d", st, len(states[f.name][st])))
			}
			for _, id := range states[f.name]["dead"] {
				d.dead[id] = true
			}
			which := ""
			if len(r.fakes) > 1 {
				which = " at " + f.name
			}
			fmt.Fprintf(os.Stderr, "hub delivery states of this run's orders%s: %s\n", which, strings.Join(parts, " "))
		}
		d.lost, d.dup = d.countIn(ids)
		t.dests = append(t.dests, d)
	}
	t.destTally = t.dests[0]
	return t
}

// allDead reports whether every pending order of each destination is dead there.
func allDead(pending map[string][]string, states map[string]map[string][]string) bool {
	for name, ids := range pending {
		dead := map[string]bool{}
		for _, id := range states[name]["dead"] {
			dead[id] = true
		}
		for _, id := range ids {
			if !dead[id] {
				return false
			}
		}
	}
	return true
}

// destLine is one destination's result line: its counts over every order of the run, its
// latencies over basis (sorted ms, +Inf for an order it never accepted).
func destLine(store string, d destTally, ids, basis []string, sent map[string]time.Time, mark string) string {
	accepted := 0
	for _, id := range ids {
		if _, ok := d.first[id]; ok {
			accepted++
		}
	}
	lat := make([]float64, 0, len(basis))
	for _, id := range basis {
		at, ok := d.first[id]
		if !ok {
			if !d.dead[id] {
				lat = append(lat, math.Inf(1))
			}
			continue
		}
		lat = append(lat, float64(at.Sub(sent[id]).Microseconds())/1000)
	}
	sort.Float64s(lat)
	dead := -1
	if d.dead != nil {
		dead = len(d.dead)
	}
	return fmt.Sprintf("delivery-dest: store=%s dest=%s orders=%d accepted=%d dead=%d lost=%d dup=%d p50=%s p95=%s%s",
		store, d.name, len(ids), accepted, dead, d.lost, d.dup, fmtMS(pct(lat, 50)), fmtMS(pct(lat, 95)), mark)
}

// printDests prints a line per destination and reports whether one lost or duplicated an order.
func (r *runner) printDests(t tallyResult, store string, basis []string, mark string) bool {
	ids := r.sentIDs()
	r.mu.Lock()
	sent := make(map[string]time.Time, len(r.sent))
	for k, v := range r.sent {
		sent[k] = v
	}
	r.mu.Unlock()
	bad := false
	for _, d := range t.dests {
		fmt.Println(destLine(store, d, ids, basis, sent, mark))
		bad = bad || d.lost > 0 || d.dup > 0
	}
	return bad
}

// fixed is the single-rate run (-rate): n webhooks at rate, Meta optionally failing for a while.
func fixed(r *runner, storeName, prefix string, rate float64, n int, failRate float64, failMode string, failFor, wait, timeline time.Duration, mark string) {
	if failRate > 0 {
		if err := control(r.client, r.fake+"/_fake/faults", map[string]any{"mode": failMode, "rate": failRate}); err != nil {
			log.Fatalf("delivery: inject faults: %v", err)
		}
		go func() {
			time.Sleep(failFor)
			if err := control(r.client, r.fake+"/_fake/faults", map[string]any{"mode": "none"}); err != nil {
				log.Printf("delivery: clear faults: %v", err)
			}
		}()
	}
	cpu0, err := measure.ReadUsage(r.hubPID, r.pgPID)
	if err != nil {
		log.Fatalf("delivery: %v", err)
	}
	mc := measure.StartMachine()
	stop := r.collecting(prefix + "C")
	ids, ackLat, failed, achieved := r.send(prefix, rate, n)
	col := stop()
	var cpu1 measure.Usage
	t := r.tally(wait, func() {
		if cpu1, err = measure.ReadUsage(r.hubPID, r.pgPID); err != nil {
			log.Fatalf("delivery: %v", err)
		}
	})
	leadsBad := r.leadTally(storeName, wait, mark)
	measure.PrintLoadAfter(os.Stderr)
	machine := mc.Fields(os.Stderr)
	// CPU per order from the first webhook until every order reached every fake, before the
	// final read of the delivery states: the webhook, attribution, every destination's delivery
	// and River's job rows.
	orders := int64(len(ids))
	perOrder := fmt.Sprintf(" hub_us_per_order=%s pg_us_per_order=%s",
		measure.PerEventText(cpu1.Hub-cpu0.Hub, orders, r.hubPID > 0), measure.PerEventText(cpu1.PG-cpu0.PG, orders, r.pgPID > 0)) +
		cpu1.FaultFields(cpu0, orders, "order", r.hubPID > 0, r.pgPID > 0)
	var lat []float64
	r.mu.Lock()
	for _, id := range ids {
		if at, ok := t.first[id]; ok {
			lat = append(lat, float64(at.Sub(r.sent[id]).Microseconds())/1000)
		}
	}
	if timeline > 0 {
		printTimeline(os.Stderr, ids, r.sent, t.first, timeline)
	}
	r.mu.Unlock()
	sort.Float64s(lat)
	dead := -1
	if t.dead != nil {
		dead = len(t.dead)
	}
	fmt.Fprintf(os.Stderr, "webhook acknowledged by Hub: p50=%.0fms p95=%.0fms p99=%.0fms\n", pct(ackLat, 50), pct(ackLat, 95), pct(ackLat, 99))
	if col.sent > 0 {
		what := "page views"
		if col.leads != nil {
			what = "leads"
			r.mu.Lock()
			col.reach(t.first, t.evs.Counts, r.leads)
			r.mu.Unlock()
		}
		fmt.Fprintf(os.Stderr, "%s (/v1/collect) acknowledged by Hub meanwhile: %d sent at %.0f/s, %d not acknowledged, p50=%.0fms p95=%.0fms p99=%.0fms\n",
			what, col.sent, r.collectRate, col.failed, pct(col.lat, 50), pct(col.lat, 95), pct(col.lat, 99))
	}
	fmt.Fprintf(os.Stderr, "sent %d webhooks at %.0f/s (%d not acknowledged); fake failing %.0f%% of requests (%s) for %s; %d requests reached the fake; max latency %.0fms\n",
		n, achieved, failed, failRate*100, failMode, failFor, t.evs.Requests, pct(lat, 100))
	bad := r.printDests(t, storeName, r.sentIDs(), mark)
	fmt.Printf("delivery: store=%s orders=%d delivered=%d dead=%d lost=%d dup=%d p50=%.0fms p95=%.0fms p99=%.0fms%s%s%s%s\n",
		storeName, len(ids), len(lat), dead, t.lost, t.dup, pct(lat, 50), pct(lat, 95), pct(lat, 99), perOrder, col.fields(), machine+measure.PeakRSSField(r.hubPID), mark)
	if t.lost > 0 || t.dup > 0 || failed > 0 || bad || leadsBad {
		os.Exit(1)
	}
}

func firstReceived(evs fakeEvents) map[string]time.Time {
	first := map[string]time.Time{}
	for _, e := range evs.Events {
		if t, ok := first[e.EventID]; !ok || e.Received.Before(t) {
			first[e.EventID] = e.Received
		}
	}
	return first
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fmtMS prints a latency in ms: n/a when unknown, inf when some orders never arrived.
func fmtMS(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, 1):
		return "inf"
	}
	return fmt.Sprintf("%.0fms", v)
}

func loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}

// post sends one webhook, retrying a transport error or a 5xx/429 with the same body as a
// gateway would (Hub deduplicates by the delivery's id). It reports whether Hub answered 200.
func post(client *http.Client, u, hottok string, body []byte) bool {
	for attempt := range 4 {
		if attempt > 0 {
			time.Sleep(time.Duration(200<<attempt) * time.Millisecond)
		}
		req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-HOTMART-HOTTOK", hottok)
		resp, err := client.Do(req)
		if err != nil {
			log.Printf("delivery: webhook: %v", err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return true
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			log.Printf("delivery: webhook answered %d; retrying", resp.StatusCode)
		default:
			log.Printf("delivery: webhook answered %d", resp.StatusCode)
			return false
		}
	}
	return false
}

// destNames maps the tenant's destination ids to the names -dests uses (meta, googleads, ga4,
// tiktok, webhook), through the admin API.
func destNames(c *http.Client, base, key string) (map[string]string, error) {
	out := map[string]string{}
	cursor := ""
	for {
		u := base + "/api/v1/destinations?limit=100"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items []struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := getJSON(c, u, key, &page); err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			out[it.ID] = strings.ReplaceAll(it.Type, "_", "")
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// deliveryStates lists the tenant's deliveries through the admin API and groups this run's
// (by event id) by destination name and state.
func (r *runner) deliveryStates(sent map[string]time.Time) (map[string]map[string][]string, error) {
	names, err := destNames(r.client, r.hubBase, r.apiKey)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string][]string{}
	cursor := ""
	for {
		u := r.hubBase + "/api/v1/deliveries?limit=500"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items []struct {
				DestinationID string `json:"destination_id"`
				EventID       string `json:"event_id"`
				State         string `json:"state"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := getJSON(r.client, u, r.apiKey, &page); err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			if _, ok := sent[it.EventID]; ok {
				name := names[it.DestinationID]
				if out[name] == nil {
					out[name] = map[string][]string{}
				}
				out[name][it.State] = append(out[name][it.State], it.EventID)
			}
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

func getJSON(c *http.Client, u, key string, v any) error {
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return json.Unmarshal(b, v)
		case resp.StatusCode == http.StatusTooManyRequests && attempt < 10:
			time.Sleep(time.Second)
		default:
			return fmt.Errorf("GET %s: HTTP %d: %.300s", u, resp.StatusCode, b)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

// purchase is a Hotmart PURCHASE_APPROVED delivery (the shape of shared/fixtures/webhooks/hotmart.json)
// whose checkout carried sck back.
func purchase(txn, sck string, at time.Time) []byte {
	ms := at.UnixMilli()
	return []byte(fmt.Sprintf(`{"id":"%s-evt","creation_date":%d,"event":"PURCHASE_APPROVED","version":"2.0.0","data":{"product":{"id":1234567,"ucode":"0d5b4c2a-1111-4222-8333-444455556666","name":"Curso Exemplo"},"buyer":{"email":"buyer.%s@example.com","name":"Maria Exemplo Teste","first_name":"Maria","last_name":"Exemplo Teste","checkout_phone_code":"11","checkout_phone":"999998888","document":"00000000191","document_type":"CPF","address":{"country":"Brasil","country_iso":"BR","zipcode":"01310-100","state":"SP","city":"São Paulo"}},"purchase":{"approved_date":%d,"order_date":%d,"status":"APPROVED","transaction":"%s","price":{"value":197.0,"currency_value":"BRL"},"payment":{"type":"PIX","installments_number":1},"origin":{"src":"fb_ads","sck":"%s"},"buyer_ip":"203.0.113.45"}},"hottok":"bench"}`,
		strings.ToLower(txn), ms, strings.ToLower(txn), ms, ms-60000, txn, sck))
}

func control(c *http.Client, url string, body any) error {
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	return nil
}

type fakeEvents struct {
	Events []struct {
		EventID  string    `json:"event_id"`
		Received time.Time `json:"received"`
	} `json:"events"`
	Counts   map[string]int `json:"counts"`
	Requests int            `json:"requests"`
}

func events(c *http.Client, base string) (fakeEvents, error) {
	var out fakeEvents
	resp, err := c.Get(base + "/_fake/events")
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// fakeDest is a destination's fake: its name (meta, googleads, ga4, tiktok, webhook) and URL.
type fakeDest struct{ name, url string }

var destKinds = []string{"googleads", "ga4", "tiktok", "webhook"}

// parseDests parses -dests: name=URL pairs, comma-separated, each name once and not meta (its
// fake is -fake).
func parseDests(v string) ([]fakeDest, error) {
	var out []fakeDest
	seen := map[string]bool{}
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, u, ok := strings.Cut(part, "=")
		switch {
		case !ok || u == "":
			return nil, fmt.Errorf("%q is not name=URL", part)
		case name == "meta":
			return nil, errors.New("meta's fake is -fake, not in -dests")
		case !slices.Contains(destKinds, name):
			return nil, fmt.Errorf("unknown destination %q (one of %s)", name, strings.Join(destKinds, ", "))
		case seen[name]:
			return nil, fmt.Errorf("%s given twice", name)
		}
		seen[name] = true
		out = append(out, fakeDest{name: name, url: strings.TrimRight(u, "/")})
	}
	return out, nil
}

// needsClick reports whether a destination among ds needs a Google ad click on the order's
// visitor: Google Ads (a gclid) and GA4 (the _ga client id).
func needsClick(ds []fakeDest) bool {
	for _, d := range ds {
		if d.name == "googleads" || d.name == "ga4" {
			return true
		}
	}
	return false
}

// visitors is how many visitors with a Google ad click the orders share (round robin).
const visitors = 50

// clicks records, through /v1/collect, n visitors' landing from a Google ad (a gclid, GA4's _ga
// client id and a session of the stream G-FAKE0GA4, consent granted) and returns their ids,
// which the orders carry back in sck. It is not timed: it happens before the run.
func clicks(c *http.Client, base, key, prefix string, n int) ([]string, error) {
	at := time.Now().Add(-10 * time.Minute)
	var evs []string
	ids := make([]string, n)
	for i := range n {
		ids[i] = clickVisitor(prefix, i)
		evs = append(evs, clickEvent(ids[i], at, i))
	}
	body := fmt.Sprintf(`{"key":%q,"events":[%s]}`, key, strings.Join(evs, ","))
	if err := postCollect(c, base, body); err != nil {
		return nil, err
	}
	return ids, nil
}

// postCollect posts body to Hub's /v1/collect, as a browser would, and returns an error unless
// Hub acknowledged it (2xx).
func postCollect(c *http.Client, base, body string) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/collect", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST /v1/collect: HTTP %d: %.300s", resp.StatusCode, b)
	}
	return nil
}

// collectResult is the page views a measured window sent to /v1/collect: how many, how many were
// not acknowledged (an error status or no answer; not retried) and the acknowledgement latencies
// of the others, sorted, in ms from when each was due.
type collectResult struct {
	sent, failed int
	lat          []float64
	// With -collect-type lead: the acknowledged leads' event ids; how many of them Meta had
	// accepted when the window was judged (reached) and more than once (dup), and their
	// webhook-style latency, due → Meta, sorted, +Inf for each not there yet.
	leads        []string
	reached, dup int
	leadLat      []float64
}

// fields is the result's fields for a result line, or "" when nothing was sent.
func (c collectResult) fields() string {
	if c.sent == 0 {
		return ""
	}
	f := fmt.Sprintf(" collect_sent=%d collect_failed=%d collect_p50=%s collect_p99=%s",
		c.sent, c.failed, fmtMS(pct(c.lat, 50)), fmtMS(pct(c.lat, 99)))
	if c.leads != nil {
		f += fmt.Sprintf(" leads_at_meta=%d/%d leads_dup=%d lead_e2e_p50=%s lead_e2e_p95=%s",
			c.reached, len(c.leads), c.dup, fmtMS(pct(c.leadLat, 50)), fmtMS(pct(c.leadLat, 95)))
	}
	return f
}

// reach counts, from Meta's fake (first acceptance and counts by event id), the window's leads
// that reached it and their latency from when each was due (due, under the runner's mu).
func (c *collectResult) reach(first map[string]time.Time, counts map[string]int, due map[string]time.Time) {
	if c.leads == nil {
		return
	}
	c.reached, c.dup, c.leadLat = 0, 0, c.leadLat[:0]
	for _, id := range c.leads {
		at, ok := first[id]
		if !ok {
			c.leadLat = append(c.leadLat, math.Inf(1))
			continue
		}
		c.reached++
		if counts[id] > 1 {
			c.dup++
		}
		c.leadLat = append(c.leadLat, float64(at.Sub(due[id]).Microseconds())/1000)
	}
	sort.Float64s(c.leadLat)
}

// collecting starts sending page views (or leads, -collect-type) to /v1/collect at
// r.collectRate, open loop (each is sent when due, however slow the previous answers), one event
// per request as t.js sends one, each from a new visitor id from prefix; it returns the function
// that stops it, waits for the requests in flight and returns what was sent. An acknowledged
// lead's event id goes in r.leads with when it was due. Without -collect-rate it sends nothing.
func (r *runner) collecting(prefix string) func() collectResult {
	if r.collectRate <= 0 {
		return func() collectResult { return collectResult{} }
	}
	var (
		mu  sync.Mutex
		res collectResult
		wg  sync.WaitGroup
	)
	lead := r.collectType == "lead"
	if lead {
		res.leads = []string{}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	interval := time.Duration(float64(time.Second) / r.collectRate)
	go func() {
		defer close(stopped)
		start := time.Now()
		for i := 0; ; i++ {
			due := start.Add(time.Duration(i) * interval)
			select {
			case <-done:
				return
			case <-time.After(time.Until(due)):
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				id := clickVisitor(prefix, i)
				body := fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"%s-pv","visitor_id":%q,`+
					`"occurred_at":%q,"url":"https://shop.example/oferta?utm_source=facebook","consent":"granted"}]}`,
					r.publicKey, id, id, time.Now().UTC().Format(time.RFC3339))
				eventID := id + "-pv"
				if lead {
					eventID = id + "-lead"
					body = fmt.Sprintf(`{"key":%q,"events":[{"type":"lead","event_id":%q,"visitor_id":%q,"occurred_at":%q,`+
						`"url":"https://shop.example/inscricao?utm_source=facebook","email":"%s@example.com","consent":"granted"}]}`,
						r.publicKey, eventID, id, time.Now().UTC().Format(time.RFC3339), id)
				}
				err := postCollect(r.client, r.hubBase, body)
				lat := float64(time.Since(due).Microseconds()) / 1000
				mu.Lock()
				defer mu.Unlock()
				res.sent++
				if err != nil {
					res.failed++
					return
				}
				res.lat = append(res.lat, lat)
				if lead {
					res.leads = append(res.leads, eventID)
					r.mu.Lock()
					r.leads[eventID] = due
					r.mu.Unlock()
				}
			}(i)
		}
	}()
	return func() collectResult {
		close(done)
		<-stopped
		wg.Wait()
		sort.Float64s(res.lat)
		return res
	}
}

// clickVisitor is the id of the i-th visitor: at most 32 characters of [A-Za-z0-9_-], the
// shape Hub recognises in sck.
func clickVisitor(prefix string, i int) string {
	return fmt.Sprintf("g%.20s_%d", strings.ToLower(prefix), i)
}

// clickEvent is the page view of a Google ad click by visitor id at at.
func clickEvent(id string, at time.Time, i int) string {
	return fmt.Sprintf(`{"type":"page_view","event_id":"%s-pv","visitor_id":%q,"occurred_at":%q,`+
		`"url":"https://shop.example/oferta?gclid=Cj0KCQjwBench%d&utm_source=google","gclid":"Cj0KCQjwBench%d",`+
		`"ga_client_id":"%d.%d","ga_sessions":"FAKE0GA4:%d","consent":"granted","utm":{"source":"google","campaign":"bench"}}`,
		id, id, at.UTC().Format(time.RFC3339), i, i, 1000000000+i, at.Unix(), at.Unix())
}

// printTimeline prints, for each slice of the sending window, how many orders were due in it and
// the p50, p95 and max of their webhook → Meta latency (orders Meta never accepted are left out
// and counted).
func printTimeline(w io.Writer, ids []string, sent, first map[string]time.Time, slice time.Duration) {
	if len(ids) == 0 {
		return
	}
	start := sent[ids[0]]
	for _, id := range ids {
		if at := sent[id]; at.Before(start) {
			start = at
		}
	}
	type bucket struct {
		lat     []float64
		missing int
	}
	var bs []bucket
	for _, id := range ids {
		i := int(sent[id].Sub(start) / slice)
		for len(bs) <= i {
			bs = append(bs, bucket{})
		}
		at, ok := first[id]
		if !ok {
			bs[i].missing++
			continue
		}
		bs[i].lat = append(bs[i].lat, float64(at.Sub(sent[id]).Microseconds())/1000)
	}
	for i, b := range bs {
		sort.Float64s(b.lat)
		fmt.Fprintf(w, "timeline +%s: orders=%d meta p50=%.0fms p95=%.0fms max=%.0fms not_accepted=%d\n",
			time.Duration(i)*slice, len(b.lat)+b.missing, pct(b.lat, 50), pct(b.lat, 95), pct(b.lat, 100), b.missing)
	}
}

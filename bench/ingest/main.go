// Command ingest is the load harness for Hub's collect API: it drives POST /v1/collect over
// loopback with a configurable concurrency, event mix, batch size and duration against a running
// Hub, then reads the database and verifies that every acknowledged event is stored exactly once.
//
// With -target rudder it drives a running rudder-server gateway instead, through its public HTTP
// API (POST /v1/batch, Basic auth with the source's -write-key), with the same clients, event mix,
// event ids and retries, and verifies against rudder-server's gateway job tables (gw_jobs_N) in
// its PostgreSQL database (-database-url): the same figure for the two servers on one machine.
//
// It creates its own tenant and sources in the database Hub uses (-database-url for PostgreSQL or
// -sqlite-path for the embedded store), so start Hub on that database first. The last line of its
// output is:
//
//	ingest: store=postgres|sqlite [server=rudder|bound=W] rate=R/s p50=Xms p99=Yms lost=N dup=N hub_us_per_event=N pg_us_per_event=N gen_us_per_event=N hub_faults_per_event=N pg_faults_per_event=N cpu_busy=N% steal=N% syscall_us=N fault_us=N probe_us=N probe_run_us=N hub_peak_rss_mb=N [offered=N/s]
//
// By default the clients run a closed loop (each sends its next request once the last is
// answered); with -rate the load is open, on a fixed schedule, and offered gives its rate.
//
// hub_us_per_event is the CPU time (user + system, from /proc) the server process (-hub-pid: Hub,
// or rudder-server with -target rudder, whose line then says server=rudder) spent
// over the sending window per acknowledged event; pg_us_per_event the same for the whole
// PostgreSQL cluster (-pg-pid, its postmaster: every backend and background process, exited ones
// included). Either is n/a without its pid (and pg_us_per_event always with SQLite).
// gen_us_per_event is the harness's own CPU time per acknowledged event: the load generator
// shares the machine with the server, so the three together say how much of the two cores one
// event takes. With -bound the server is bench/ingestbound, Hub's collect API with its write
// replaced (bound=touchpoints|log|logapply|none; not Hub's figure: bench/ingest/README.md);
// with logapply the line also says how long the log took to drain after the load (drain_s)
// and what Hub and PostgreSQL spent per event from the window's start to then
// (all_us_per_event). The run
// waits for the one-minute load average to be at most -max-load and refuses to run on a busier
// machine unless -force is given; a forced result ends with forced=1 and is not a measurement.
//
// cpu_busy is how busy the whole machine was over the run (every CPU, from /proc/stat) and steal
// how much CPU time the hypervisor gave to other guests: a run with more than a few % of steal
// measured its neighbours as much as Hub. hub_peak_rss_mb is the Hub process's peak resident
// memory over its whole life, warm-up included (VmHWM in /proc/<pid>/status): what its CPU
// figures cost in memory.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubtrack/hub/bench/ingestbound/logrec"
	"github.com/hubtrack/hub/bench/measure"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlite"
)

func main() {
	var (
		baseURL     = flag.String("url", "http://127.0.0.1:8080", "base URL of the running Hub (or rudder-server gateway)")
		server      = flag.String("target", "hub", "the server under load: hub (POST /v1/collect) or rudder (rudder-server's gateway, POST /v1/batch)")
		writeKey    = flag.String("write-key", "", "with -target rudder: the write key of the rudder-server source to send to")
		databaseURL = flag.String("database-url", "", "PostgreSQL URL of the Hub database (to create the sources and verify), or with -target rudder of rudder-server's jobs database (to verify)")
		sqlitePath  = flag.String("sqlite-path", "", "SQLite file of the Hub database (instead of -database-url)")
		concurrency = flag.Int("concurrency", 64, "concurrent clients")
		rate        = flag.Float64("rate", 0, "events per second offered on a fixed schedule (open loop; each request's latency counts from its scheduled time, so a server that falls behind shows it); 0: closed loop, each client sends its next request when the last is answered")
		duration    = flag.Duration("duration", 20*time.Second, "how long to send and measure")
		timeline    = flag.Duration("timeline", 0, "also print the acknowledgement latency per slice of this length of the measured window (e.g. 1s), by when each request was due: whether a slow p99 is spread over the run or a few stalls")
		warmup      = flag.Duration("warmup", 0, "send the same load this long first: its events are stored and verified, but not counted in the rate, the latencies or the CPU per event (a server that has run a while, its connections open and caches warm)")
		batch       = flag.Int("batch", 10, "events per request (t.js sends 1 to a few)")
		sources     = flag.Int("sources", 8, "sources to spread the load over (each has its own rate limit)")
		mix         = flag.String("mix", "page_view=70,add_to_cart=10,initiate_checkout=10,lead=10", "event mix: type=weight,...")
		spoofIPs    = flag.Bool("spoof-ips", true, "send a random X-Forwarded-For per client (Hub must trust 127.0.0.1 as a proxy), as a crowd behind a load balancer")
		retries     = flag.Int("retries", 5, "retries of a request answered 429/503 or failed, with the same event ids")
		hubPID      = flag.Int("hub-pid", 0, "pid of the Hub process, to measure its CPU time per event (0: not measured)")
		pgPID       = flag.Int("pg-pid", 0, "pid of the PostgreSQL postmaster of Hub's own cluster, to measure the cluster's CPU time per event (0: not measured)")
		maxLoad     = flag.Float64("max-load", 1.0, "refuse to run while the one-minute load average is above this")
		quietWait   = flag.Duration("quiet-wait", 3*time.Minute, "how long to wait for the load average to fall to -max-load")
		force       = flag.Bool("force", false, "run on a busy machine anyway (a smoke run: the result line says forced=1)")
		tenantID    = flag.String("tenant", "", "create the run's sources in this existing tenant (one with destinations: run.sh's DESTINATION=meta) instead of a tenant of the run's own")
		boundWrite  = flag.String("bound", "", "the server is bench/ingestbound with this BOUND_WRITE (touchpoints, log, logapply or none; run.sh's BOUND): verify in its log table (log), in the touchpoints once the log is drained (logapply), or not at all (none: lost and dup are n/a); the last line says bound=…")
		prof        measure.ProfileFlags
	)
	prof.Register(flag.CommandLine, 3*time.Second, "while the load runs")
	flag.Parse()
	if *rate < 0 || math.IsNaN(*rate) || math.IsInf(*rate, 0) {
		log.Fatalf("ingest: -rate must be a number of events per second, or 0 for a closed loop; not %v", *rate)
	}
	if (*databaseURL == "") == (*sqlitePath == "") {
		log.Fatal("ingest: give exactly one of -database-url and -sqlite-path")
	}
	ctx := context.Background()
	weights, err := parseMix(*mix)
	if err != nil {
		log.Fatal(err)
	}
	switch *boundWrite {
	case "", "touchpoints":
	case "log", "logapply", "none":
		if *server != "hub" || *databaseURL == "" && *boundWrite != "none" {
			log.Fatal("ingest: -bound log and logapply need -target hub and -database-url; -bound none needs -target hub")
		}
	default:
		log.Fatalf("ingest: -bound must be touchpoints, log, logapply or none, not %q", *boundWrite)
	}
	var tg target
	switch *server {
	case "hub":
		tg = hubTarget{}
	case "rudder":
		if *writeKey == "" || *databaseURL == "" {
			log.Fatal("ingest: -target rudder needs -write-key and -database-url (rudder-server's jobs database)")
		}
		tg = rudderTarget{writeKey: *writeKey}
	default:
		log.Fatalf("ingest: -target must be hub or rudder, not %q", *server)
	}
	run := randHex(6)
	var (
		st     store.Store
		keys   []string
		tenant store.Tenant
		rudder *pgx.Conn
	)
	if *server == "rudder" {
		// Only read after the load, to verify: rudder-server owns this database.
		if rudder, err = pgx.Connect(ctx, *databaseURL); err != nil {
			log.Fatalf("ingest: connect to rudder-server's database: %v", err)
		}
		defer rudder.Close(ctx)
		keys = []string{*writeKey}
	} else if *databaseURL != "" {
		st, err = postgres.Open(ctx, *databaseURL)
	} else {
		st, err = sqlite.Open(ctx, *sqlitePath)
	}
	if err != nil {
		log.Fatalf("ingest: open store: %v", err)
	}
	if st != nil {
		defer st.Close()
		keys, tenant = hubSetup(ctx, st, run, *tenantID, *sources)
	}

	httpClient := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: *concurrency * 2, MaxIdleConnsPerHost: *concurrency * 2,
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		},
	}
	var (
		sent, acked, rejected, failed atomic.Int64
		bodyBytes                     atomic.Int64
		mu                            sync.Mutex
		latencies                     []time.Duration
		timed                         []timedLatency
		// The requests acknowledged whole, per client, by number: their events' ids are made
		// again for the check after the run (eventID), so that the harness keeps no string per
		// event while it measures: less for its own garbage collector to mark on the two cores
		// Hub and PostgreSQL use (-timeline counts its collections per slice).
		ackedReqs = make([][]int, *concurrency)
	)
	forced, err := measure.Gate(os.Stderr, *maxLoad, *quietWait, *force)
	if err != nil {
		log.Fatalf("ingest: refused: %v", err)
	}
	// The load runs from loadStart; what is measured, from start (after the warm-up) to deadline.
	loadStart := time.Now()
	start := loadStart.Add(*warmup)
	deadline := start.Add(*duration)
	var warmAcked atomic.Int64
	var wg sync.WaitGroup
	// client sends requests while next gives it a time: the time the request was due (open
	// loop), from which its latency counts, or a zero time (closed loop) for "now, once the
	// body is built".
	client := func(c int, next func() (time.Time, bool)) {
		rng := mrand.New(mrand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
		ip := fmt.Sprintf("198.18.%d.%d", rng.IntN(256), 1+rng.IntN(254))
		visitor := "k_bench" + strconv.Itoa(c)
		var local []time.Duration
		var localTimed []timedLatency
		var localReqs []int
		for n := 0; ; n++ {
			due, more := next()
			if !more {
				break
			}
			key := keys[rng.IntN(len(keys))]
			ids := make([]string, *batch)
			evs := make([]event, *batch)
			now := time.Now()
			for e := range ids {
				ids[e] = eventID(run, c, n, e)
				evs[e] = event{
					typ: pick(weights, rng), id: ids[e], at: now, visitor: visitor, client: c,
					url: fmt.Sprintf("https://shop.example.com/p/%d?utm_source=facebook&utm_campaign=bench&fbclid=IwAR%s%d", n, run, c),
				}
			}
			body := tg.body(key, evs)
			t0 := due
			if t0.IsZero() {
				t0 = time.Now()
			}
			warm := t0.Before(start)
			if !warm {
				bodyBytes.Add(int64(len(body)))
				sent.Add(int64(len(ids)))
			}
			ok, accepted := send(httpClient, tg, *baseURL, body, len(ids), ip, *spoofIPs, *retries)
			d := time.Since(t0)
			if !ok {
				failed.Add(int64(len(ids))) // warm-up or not: a failure is never hidden
				continue
			}
			if warm {
				warmAcked.Add(int64(accepted))
			} else {
				local = append(local, d)
				if *timeline > 0 {
					localTimed = append(localTimed, timedLatency{at: t0.Sub(start), d: d})
				}
				acked.Add(int64(accepted))
				rejected.Add(int64(len(ids) - accepted))
			}
			if accepted == len(ids) {
				localReqs = append(localReqs, n)
			}
		}
		mu.Lock()
		latencies = append(latencies, local...)
		timed = append(timed, localTimed...)
		ackedReqs[c] = localReqs
		mu.Unlock()
	}
	if *rate > 0 {
		due := make(chan time.Time, 1<<16)
		go schedule(loadStart, deadline, requestInterval(*rate, *batch), due)
		for c := range *concurrency {
			wg.Go(func() {
				client(c, func() (time.Time, bool) { t, ok := <-due; return t, ok })
			})
		}
	} else {
		for c := range *concurrency {
			wg.Go(func() {
				client(c, func() (time.Time, bool) { return time.Time{}, time.Now().Before(deadline) })
			})
		}
	}
	time.Sleep(time.Until(start))
	cpu0, err := measure.ReadUsage(*hubPID, *pgPID)
	if err != nil {
		log.Fatalf("ingest: %v", err)
	}
	gen0, err := measure.ProcessCPU(os.Getpid())
	if err != nil {
		log.Fatalf("ingest: %v", err)
	}
	profiled := prof.Start(os.Stderr)
	mc := measure.StartMachine()
	stopGCs := func() []time.Duration { return nil }
	if *timeline > 0 {
		stopGCs = watchGCs(start)
	}
	wg.Wait()
	gcs := stopGCs()
	elapsed := time.Since(start)
	cpu1, err := measure.ReadUsage(*hubPID, *pgPID)
	if err != nil {
		log.Fatalf("ingest: %v", err)
	}
	gen1, err := measure.ProcessCPU(os.Getpid())
	if err != nil {
		log.Fatalf("ingest: %v", err)
	}
	measure.PrintLoadAfter(os.Stderr)
	machine := mc.Fields(os.Stderr)
	profiled()
	// With -bound logapply the touchpoints are written behind the log: wait for the applier to
	// empty it, and measure what that took in time and CPU.
	drainField := ""
	if *boundWrite == "logapply" {
		drain, err := waitDrained(ctx, *databaseURL, 15*time.Minute)
		if err != nil {
			log.Fatalf("ingest: %v", err)
		}
		cpu2, err := measure.ReadUsage(*hubPID, *pgPID)
		if err != nil {
			log.Fatalf("ingest: %v", err)
		}
		all := cpu2.Hub - cpu0.Hub + cpu2.PG - cpu0.PG
		drainField = fmt.Sprintf(" drain_s=%.1f all_us_per_event=%s", drain.Seconds(),
			measure.PerEventText(all, acked.Load(), *hubPID > 0 && *pgPID > 0))
	}

	// Verify: every acknowledged id stored exactly once.
	var (
		counts map[string]int
		rows   int
	)
	switch {
	case rudder != nil:
		counts, rows, err = rudderStored(ctx, rudder, run)
	case *boundWrite == "log":
		counts, rows, err = logStored(ctx, *databaseURL, tenant.ID)
	case *boundWrite == "logapply": // drained: every event is a touchpoint now
		counts, rows, err = hubStored(ctx, st, tenant.ID)
	case *boundWrite == "none":
	default:
		counts, rows, err = hubStored(ctx, st, tenant.ID)
	}
	if err != nil {
		log.Fatalf("ingest: verify: %v", err)
	}
	lost, dup := 0, 0
	ackedIDs := make(map[string]struct{}, int(acked.Load()))
	for c, reqs := range ackedReqs {
		for _, n := range reqs {
			for e := range *batch {
				ackedIDs[eventID(run, c, n, e)] = struct{}{}
			}
		}
	}
	for id := range ackedIDs {
		if counts[id] == 0 {
			lost++
		}
	}
	for _, n := range counts {
		if n > 1 {
			dup += n - 1
		}
	}
	slices.Sort(latencies)
	if *timeline > 0 {
		// The wall clock of the window's start, to set the slices beside what other tools
		// logged at the same moments (the database's log, the kernel's counters).
		fmt.Fprintf(os.Stderr, "timeline: the window starts at %s\n", start.UTC().Format("15:04:05.000 MST"))
		printTimeline(os.Stderr, timed, gcs, *timeline)
	}
	n := acked.Load()
	hubUS := measure.PerEventText(cpu1.Hub-cpu0.Hub, n, *hubPID > 0)
	dialect, serverField := "postgres", " server=rudder"
	if st != nil {
		dialect, serverField = st.Dialect(), ""
	}
	pgUS := measure.PerEventText(cpu1.PG-cpu0.PG, n, *pgPID > 0 && dialect == "postgres")
	bytesPerEvent := 0.0
	if s := sent.Load(); s > 0 {
		bytesPerEvent = float64(bodyBytes.Load()) / float64(s)
	}
	fmt.Fprintf(os.Stderr, "ingest: target=%s run=%s tenant=%s concurrency=%d batch=%d sources=%d warmup=%s warmup_acked=%d duration=%s requests=%d sent=%d acked=%d stored=%d rejected=%d failed=%d retried_429=%d retried_503=%d retried_failed=%d body_bytes_per_event=%.0f hub_cpu=%s pg_cpu=%s\n",
		*server, run, tenant.ID, *concurrency, *batch, len(keys), *warmup, warmAcked.Load(), elapsed.Round(time.Millisecond), len(latencies), sent.Load(), n, rows, rejected.Load(), failed.Load(),
		retried429.Load(), retried503.Load(), retriedFailed.Load(), bytesPerEvent, cpu1.Hub-cpu0.Hub, cpu1.PG-cpu0.PG)
	lostText, dupText := strconv.Itoa(lost), strconv.Itoa(dup)
	if *boundWrite != "" {
		serverField = " bound=" + *boundWrite
		if *boundWrite == "none" {
			lostText, dupText = "n/a", "n/a" // nothing is stored: nothing to verify
		}
	}
	line := fmt.Sprintf("ingest: store=%s%s rate=%.0f/s p50=%.1fms p99=%.1fms lost=%s dup=%s hub_us_per_event=%s pg_us_per_event=%s gen_us_per_event=%s",
		dialect, serverField, float64(n)/elapsed.Seconds(), ms(percentile(latencies, 0.50)), ms(percentile(latencies, 0.99)), lostText, dupText, hubUS, pgUS,
		measure.PerEventText(gen1-gen0, n, true)) + drainField +
		cpu1.FaultFields(cpu0, n, "event", *hubPID > 0, *pgPID > 0 && dialect == "postgres") + machine + measure.PeakRSSField(*hubPID)
	if *rate > 0 {
		line += fmt.Sprintf(" offered=%.0f/s", *rate)
	}
	if forced {
		line += " forced=1"
	}
	fmt.Println(line)
}

// requestInterval is the time between two requests of batch events each at rate events per
// second.
func requestInterval(rate float64, batch int) time.Duration {
	return time.Duration(float64(time.Second) * float64(batch) / rate)
}

// schedule sends due the time each request is due, every interval from start until deadline,
// and closes it. It never skips a request: when the clients fall behind and due is full, it
// waits, and the requests it then sends late keep the times they were due (so their latency
// counts the wait, and a slow server cannot slow the load down: no coordinated omission).
func schedule(start, deadline time.Time, interval time.Duration, due chan<- time.Time) {
	defer close(due)
	for i := 0; ; i++ {
		t := start.Add(time.Duration(i) * interval)
		if !t.Before(deadline) {
			return
		}
		if d := time.Until(t); d > 0 {
			time.Sleep(d)
		}
		due <- t
	}
}

// send posts one request of events events, retrying 429/503 and transport errors with the same
// body (the event ids make retries safe). It returns whether the server acknowledged the request
// and how many events it accepted.
func send(client *http.Client, tg target, base string, body []byte, events int, ip string, spoof bool, retries int) (bool, int) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(http.MethodPost, base+tg.path(), bytes.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		tg.header(req)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36")
		if spoof {
			req.Header.Set("X-Forwarded-For", ip)
		}
		res, err := client.Do(req)
		status := 0
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			status = res.StatusCode
			if ok, n := tg.acked(status, b, events); ok {
				return true, n
			}
		}
		retryable := err != nil || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
		if !retryable || attempt >= retries {
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				log.Printf("ingest: request failed: %v", err)
			} else if status != 0 {
				log.Printf("ingest: request answered %d", status)
			}
			return false, 0
		}
		switch {
		case err != nil:
			retriedFailed.Add(1)
		case status == http.StatusTooManyRequests:
			retried429.Add(1)
		default:
			retried503.Add(1)
		}
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
	}
}

// The retries send made, by what the server answered: a retry's back-off (50 ms, doubling) is
// in its request's latency, so a p99 near 50 ms with retries is the harness waiting, not the
// server working.
var retried429, retried503, retriedFailed atomic.Int64

// countAccepted reads "accepted":N from a collect response without decoding all of it.
func countAccepted(b []byte) int {
	i := bytes.Index(b, []byte(`"accepted":`))
	if i < 0 {
		return 0
	}
	rest := b[i+len(`"accepted":`):]
	j := bytes.IndexAny(rest, ",}")
	if j < 0 {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(rest[:j])))
	return n
}

type weight struct {
	typ string
	w   int
}

func parseMix(s string) ([]weight, error) {
	var out []weight
	for _, part := range strings.Split(s, ",") {
		typ, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n <= 0 {
			return nil, fmt.Errorf("ingest: bad -mix item %q", part)
		}
		out = append(out, weight{typ, n})
	}
	return out, nil
}

func pick(ws []weight, rng *mrand.Rand) string {
	total := 0
	for _, w := range ws {
		total += w.w
	}
	n := rng.IntN(total)
	for _, w := range ws {
		if n < w.w {
			return w.typ
		}
		n -= w.w
	}
	return ws[0].typ
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// eventID is the id of event e of client c's request n in run.
func eventID(run string, c, n, e int) string { return fmt.Sprintf("%s-%d-%d-%d", run, c, n, e) }

// timedLatency is one acknowledged request's latency and when it was due (or sent, in a closed
// loop), from the start of the measured window.
type timedLatency struct{ at, d time.Duration }

// printTimeline prints, per slice of the measured window, the requests acknowledged, their
// latency's p50, p99 and maximum, and how many garbage collections the harness itself started
// (gcs: when each began, from the window's start): a slow slice with one of those may be the
// harness's delay, not the server's.
func printTimeline(w io.Writer, timed []timedLatency, gcs []time.Duration, slice time.Duration) {
	slots := map[int][]time.Duration{}
	collections := map[int]int{}
	last := 0
	for _, t := range timed {
		i := int(t.at / slice)
		slots[i] = append(slots[i], t.d)
		last = max(last, i)
	}
	for _, g := range gcs {
		collections[int(g/slice)]++
	}
	for i := 0; i <= last; i++ {
		ds := slots[i]
		slices.Sort(ds)
		top := time.Duration(0)
		if len(ds) > 0 {
			top = ds[len(ds)-1]
		}
		fmt.Fprintf(w, "timeline +%s: requests=%d p50=%.1fms p99=%.1fms max=%.1fms harness_gcs=%d\n",
			time.Duration(i)*slice, len(ds), ms(percentile(ds, 0.50)), ms(percentile(ds, 0.99)), ms(top), collections[i])
	}
}

// watchGCs notes, every 5 ms until the function it returns is called, when the harness's
// garbage collector started a cycle, from start; that call returns them, a last reading
// included. runtime/metrics reads the count without stopping the world. The count before
// watchGCs returns is not noted.
func watchGCs(start time.Time) (stop func() []time.Duration) {
	sample := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(sample)
	seen := sample[0].Value.Uint64()
	var out []time.Duration
	note := func() {
		metrics.Read(sample)
		for n := sample[0].Value.Uint64(); seen < n; seen++ {
			out = append(out, time.Since(start))
		}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				note()
				return
			case <-tick.C:
				note()
			}
		}
	}()
	return func() []time.Duration {
		close(quit)
		<-done
		return out
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// hubSetup creates the run's tenant (or takes tenantID's) and n sources in Hub's database and
// returns the sources' public keys and the tenant.
func hubSetup(ctx context.Context, st store.Store, run, tenantID string, n int) ([]string, store.Tenant) {
	if err := st.Migrate(ctx); err != nil {
		log.Fatalf("ingest: migrate: %v", err)
	}
	var (
		tenant store.Tenant
		err    error
	)
	if tenantID != "" {
		tenant, err = st.GetTenant(ctx, tenantID)
	} else {
		tenant, err = st.CreateTenant(ctx, store.Tenant{ID: "bench_" + run, Name: "bench " + run, CreatedAt: time.Now().UTC()})
	}
	if err != nil {
		log.Fatalf("ingest: tenant: %v", err)
	}
	keys := make([]string, n)
	for i := range keys {
		src, err := st.CreateSource(ctx, store.Source{
			ID: fmt.Sprintf("bench_%s_%d", run, i), TenantID: tenant.ID, Name: fmt.Sprintf("bench %d", i),
			PublicKey: fmt.Sprintf("pk_bench_%s_%d", run, i), WebhookToken: fmt.Sprintf("wh_bench_%s_%d", run, i),
			AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick,
			CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC(),
		})
		if err != nil {
			log.Fatalf("ingest: create source: %v", err)
		}
		keys[i] = src.PublicKey
	}
	return keys, tenant
}

// waitDrained waits until bench/ingestbound's log is empty (BOUND_WRITE=logapply) and returns
// how long that took.
func waitDrained(ctx context.Context, databaseURL string, limit time.Duration) (time.Duration, error) {
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, err
	}
	defer db.Close(ctx)
	start := time.Now()
	for {
		var left int64
		if err := db.QueryRow(ctx, `select count(*) from bench_ingest_log`).Scan(&left); err != nil {
			return 0, fmt.Errorf("count bench_ingest_log: %w", err)
		}
		if left == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("bench_ingest_log still holds %d rows %s after the load", left, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logStored counts the tenant's events in bench/ingestbound's log table (BOUND_WRITE=log) by
// client event id: each row holds records of a group's touchpoints (logrec).
func logStored(ctx context.Context, databaseURL, tenantID string) (map[string]int, int, error) {
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, 0, err
	}
	defer db.Close(ctx)
	rows, err := db.Query(ctx, `select body from bench_ingest_log`)
	if err != nil {
		return nil, 0, fmt.Errorf("read bench_ingest_log: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	n := 0
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, 0, err
		}
		tps, err := logrec.Decode(body)
		if err != nil {
			return nil, 0, fmt.Errorf("a bench_ingest_log row: %w", err)
		}
		for _, tp := range tps {
			if tp.TenantID == tenantID {
				counts[tp.ClientEventID]++
				n++
			}
		}
	}
	return counts, n, rows.Err()
}

// hubStored counts the tenant's touchpoints by client event id.
func hubStored(ctx context.Context, st store.Store, tenantID string) (map[string]int, int, error) {
	counts := map[string]int{}
	rows := 0
	f := store.TouchpointFilter{TenantID: tenantID, Limit: 1000}
	for {
		page, err := st.ListTouchpoints(ctx, f)
		if err != nil {
			return nil, 0, fmt.Errorf("list touchpoints: %w", err)
		}
		for _, tp := range page {
			counts[tp.ClientEventID]++
			rows++
		}
		if len(page) == 0 {
			break
		}
		f.After = page[len(page)-1].ID
	}
	return counts, rows, nil
}

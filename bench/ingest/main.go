// Command ingest is the load harness for Hub's collect API: it drives POST /v1/collect over
// loopback with a configurable concurrency, event mix, batch size and duration against a running
// Hub, then reads the database and verifies that every acknowledged event is stored exactly once.
//
// It creates its own tenant and sources in the database Hub uses (-database-url for PostgreSQL or
// -sqlite-path for the embedded store), so start Hub on that database first. The last line of its
// output is:
//
//	ingest: store=postgres|sqlite rate=R/s p50=Xms p99=Yms lost=N dup=N hub_us_per_event=N pg_us_per_event=N cpu_busy=N% steal=N% hub_peak_rss_mb=N
//
// hub_us_per_event is the CPU time (user + system, from /proc) the Hub process (-hub-pid) spent
// over the sending window per acknowledged event; pg_us_per_event the same for the whole
// PostgreSQL cluster (-pg-pid, its postmaster: every backend and background process, exited ones
// included). Either is n/a without its pid (and pg_us_per_event always with SQLite). The run
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubtrack/hub/bench/measure"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlite"
)

func main() {
	var (
		target      = flag.String("url", "http://127.0.0.1:8080", "base URL of the running Hub")
		databaseURL = flag.String("database-url", "", "PostgreSQL URL of the Hub database (to create the sources and verify)")
		sqlitePath  = flag.String("sqlite-path", "", "SQLite file of the Hub database (instead of -database-url)")
		concurrency = flag.Int("concurrency", 64, "concurrent clients")
		duration    = flag.Duration("duration", 20*time.Second, "how long to send")
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
		prof        measure.ProfileFlags
	)
	prof.Register(flag.CommandLine, 3*time.Second, "while the load runs")
	flag.Parse()
	if (*databaseURL == "") == (*sqlitePath == "") {
		log.Fatal("ingest: give exactly one of -database-url and -sqlite-path")
	}
	ctx := context.Background()
	var (
		st  store.Store
		err error
	)
	if *databaseURL != "" {
		st, err = postgres.Open(ctx, *databaseURL)
	} else {
		st, err = sqlite.Open(ctx, *sqlitePath)
	}
	if err != nil {
		log.Fatalf("ingest: open store: %v", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		log.Fatalf("ingest: migrate: %v", err)
	}
	weights, err := parseMix(*mix)
	if err != nil {
		log.Fatal(err)
	}

	run := randHex(6)
	tenant, err := st.CreateTenant(ctx, store.Tenant{ID: "bench_" + run, Name: "bench " + run, CreatedAt: time.Now().UTC()})
	if err != nil {
		log.Fatalf("ingest: create tenant: %v", err)
	}
	keys := make([]string, *sources)
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

	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: *concurrency * 2, MaxIdleConnsPerHost: *concurrency * 2,
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		},
	}
	var (
		sent, acked, rejected, failed atomic.Int64
		mu                            sync.Mutex
		latencies                     []time.Duration
		ackedIDs                      = make(map[string]struct{}, 1<<20)
	)
	forced, err := measure.Gate(os.Stderr, *maxLoad, *quietWait, *force)
	if err != nil {
		log.Fatalf("ingest: refused: %v", err)
	}
	cpu0, err := measure.ReadUsage(*hubPID, *pgPID)
	if err != nil {
		log.Fatalf("ingest: %v", err)
	}
	profiled := prof.Start(os.Stderr)
	mc := measure.StartMachine()
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range *concurrency {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			ip := fmt.Sprintf("198.18.%d.%d", rng.IntN(256), 1+rng.IntN(254))
			visitor := "k_bench" + strconv.Itoa(c)
			var local []time.Duration
			localIDs := make([]string, 0, 1024)
			for n := 0; time.Now().Before(deadline); n++ {
				key := keys[rng.IntN(len(keys))]
				ids := make([]string, *batch)
				var body bytes.Buffer
				fmt.Fprintf(&body, `{"key":%q,"events":[`, key)
				now := time.Now().UnixMilli()
				for e := range ids {
					ids[e] = fmt.Sprintf("%s-%d-%d-%d", run, c, n, e)
					if e > 0 {
						body.WriteByte(',')
					}
					typ := pick(weights, rng)
					fmt.Fprintf(&body, `{"type":%q,"event_id":%q,"occurred_at":%d,"url":"https://shop.example.com/p/%d?utm_source=facebook&utm_campaign=bench&fbclid=IwAR%s%d","visitor_id":%q,"fbp":"fb.1.%d.1234567890"`,
						typ, ids[e], now, n, run, c, visitor, now)
					if typ == "lead" {
						fmt.Fprintf(&body, `,"email":"bench%d@example.com"`, c)
					}
					body.WriteByte('}')
				}
				body.WriteString("]}")
				sent.Add(int64(len(ids)))
				t0 := time.Now()
				ok, accepted := send(client, *target, body.Bytes(), ip, *spoofIPs, *retries)
				d := time.Since(t0)
				if !ok {
					failed.Add(int64(len(ids)))
					continue
				}
				local = append(local, d)
				acked.Add(int64(accepted))
				rejected.Add(int64(len(ids) - accepted))
				if accepted == len(ids) {
					localIDs = append(localIDs, ids...)
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			for _, id := range localIDs {
				ackedIDs[id] = struct{}{}
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, err := measure.ReadUsage(*hubPID, *pgPID)
	if err != nil {
		log.Fatalf("ingest: %v", err)
	}
	measure.PrintLoadAfter(os.Stderr)
	machine := mc.Fields(os.Stderr)
	profiled()

	// Verify: every acknowledged id stored exactly once.
	counts := map[string]int{}
	rows := 0
	f := store.TouchpointFilter{TenantID: tenant.ID, Limit: 1000}
	for {
		page, err := st.ListTouchpoints(ctx, f)
		if err != nil {
			log.Fatalf("ingest: list touchpoints: %v", err)
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
	lost, dup := 0, 0
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
	n := acked.Load()
	hubUS := measure.PerEventText(cpu1.Hub-cpu0.Hub, n, *hubPID > 0)
	pgUS := measure.PerEventText(cpu1.PG-cpu0.PG, n, *pgPID > 0 && st.Dialect() == "postgres")
	fmt.Fprintf(os.Stderr, "ingest: run=%s tenant=%s concurrency=%d batch=%d sources=%d duration=%s requests=%d sent=%d acked=%d stored=%d rejected=%d failed=%d hub_cpu=%s pg_cpu=%s\n",
		run, tenant.ID, *concurrency, *batch, *sources, elapsed.Round(time.Millisecond), len(latencies), sent.Load(), n, rows, rejected.Load(), failed.Load(),
		cpu1.Hub-cpu0.Hub, cpu1.PG-cpu0.PG)
	line := fmt.Sprintf("ingest: store=%s rate=%.0f/s p50=%.1fms p99=%.1fms lost=%d dup=%d hub_us_per_event=%s pg_us_per_event=%s",
		st.Dialect(), float64(n)/elapsed.Seconds(), ms(percentile(latencies, 0.50)), ms(percentile(latencies, 0.99)), lost, dup, hubUS, pgUS) + machine + measure.PeakRSSField(*hubPID)
	if forced {
		line += " forced=1"
	}
	fmt.Println(line)
}

// send posts one request, retrying 429/503 and transport errors with the same body (the event
// ids make retries safe). It returns whether the request was answered 202 and how many events
// were accepted.
func send(client *http.Client, base string, body []byte, ip string, spoof bool, retries int) (bool, int) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(http.MethodPost, base+"/v1/collect", bytes.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36")
		if spoof {
			req.Header.Set("X-Forwarded-For", ip)
		}
		res, err := client.Do(req)
		status := 0
		var accepted int
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			status = res.StatusCode
			if status == http.StatusAccepted {
				accepted = countAccepted(b)
				return true, accepted
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
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
	}
}

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

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

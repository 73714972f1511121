// Command delivery measures webhook-received -> Meta-accepted latency end to end: it sends N
// Hotmart purchase webhooks at a given rate to a running Hub whose Meta destination points at
// `hub fake-meta`, optionally makes the fake fail a share of requests for a while, waits until
// every acknowledged order reached the fake, and checks none was lost or accepted twice.
//
// Its last line is exactly:
//
//	delivery: orders=N delivered=N dead=N lost=N dup=N p50=Xms p95=Yms p99=Zms
//
// orders is the webhooks Hub acknowledged; delivered how many of them the fake accepted; dead
// how many Hub gave up on (read through the admin API with -api-key; without it dead is not
// measured and printed as -1); lost the acknowledged orders the fake never accepted and Hub did
// not mark dead; dup the event ids the fake accepted more than once (there is no replay in this
// run, so any repeat is a double delivery). The latency is from the moment the harness sends the
// webhook to the moment the fake accepts the event (both clocks are this machine's).
//
// bench/delivery/run.sh does the whole set-up; docs/benchmarks.md has the figures.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	var (
		webhookURL = flag.String("webhook", "", "Hub webhook URL for Hotmart: http://127.0.0.1:8080/v1/webhooks/hotmart/<the source's Hotmart token>")
		apiKey     = flag.String("api-key", "", "admin API key of the tenant: count dead deliveries and report delivery states (optional)")
		hottok     = flag.String("hottok", "bench_hottok", "the source's Hotmart hottok")
		fakeURL    = flag.String("fake", "http://127.0.0.1:9999", "base URL of hub fake-meta")
		n          = flag.Int("n", 2000, "purchase webhooks to send")
		rate       = flag.Float64("rate", 200, "webhooks per second")
		conc       = flag.Int("concurrency", 256, "webhooks in flight at most (high enough that a slow acknowledgement does not lower the rate)")
		failRate   = flag.Float64("fail-rate", 0, "share of Meta requests the fake fails during -fail-for")
		failMode   = flag.String("fail-mode", "500", "how the fake fails: 500, 429, timeout or invalid_token (permanent: those orders end dead)")
		failFor    = flag.Duration("fail-for", 10*time.Second, "how long the fake fails")
		wait       = flag.Duration("wait", 3*time.Minute, "how long to wait for every order to reach the fake")
		prefix     = flag.String("prefix", fmt.Sprintf("B%d", time.Now().Unix()), "transaction id prefix (unique per run)")
	)
	flag.Parse()
	if *webhookURL == "" {
		log.Fatal("delivery: -webhook is required")
	}
	for _, u := range []string{*webhookURL, *fakeURL} {
		if !loopback(u) {
			log.Fatalf("delivery: %s is not a loopback URL", u)
		}
	}
	hubBase := *webhookURL
	if i := strings.Index(hubBase, "/v1/webhooks/"); i > 0 {
		hubBase = hubBase[:i]
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	if err := control(client, *fakeURL+"/_fake/reset", nil); err != nil {
		log.Fatalf("delivery: reset the fake: %v", err)
	}
	if *failRate > 0 {
		if err := control(client, *fakeURL+"/_fake/faults", map[string]any{"mode": *failMode, "rate": *failRate}); err != nil {
			log.Fatalf("delivery: inject faults: %v", err)
		}
		go func() {
			time.Sleep(*failFor)
			if err := control(client, *fakeURL+"/_fake/faults", map[string]any{"mode": "none"}); err != nil {
				log.Printf("delivery: clear faults: %v", err)
			}
		}()
	}

	sent := make(map[string]time.Time, *n) // event id -> when the webhook was sent
	var mu sync.Mutex
	acked, failed := 0, 0
	var ackLat []float64 // webhook sent -> Hub's 200
	sem := make(chan struct{}, *conc)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	for i := range *n {
		next := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(next))
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			txn := fmt.Sprintf("%s%07d", *prefix, i)
			body := purchase(txn, time.Now())
			t0 := time.Now()
			ok := post(client, *webhookURL, *hottok, body)
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				failed++
				return
			}
			acked++
			ackLat = append(ackLat, float64(time.Since(t0).Microseconds())/1000)
			sent["hotmart:"+txn+":purchase"] = t0
		}(i)
	}
	wg.Wait()
	sendRate := float64(*n) / time.Since(start).Seconds()

	// Wait until every acknowledged order reached the fake (or the deadline).
	deadline := time.Now().Add(*wait)
	lastCheck := time.Now()
	var evs fakeEvents
	for {
		var err error
		evs, err = events(client, *fakeURL)
		if err != nil {
			log.Fatalf("delivery: read the fake's events: %v", err)
		}
		var pending []string
		for id := range sent {
			if evs.Counts[id] == 0 {
				pending = append(pending, id)
			}
		}
		if len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		// Orders Hub gave up on (dead) will never reach the fake: stop waiting for them.
		if *apiKey != "" && time.Since(lastCheck) > 5*time.Second {
			lastCheck = time.Now()
			if states, err := deliveryStates(client, hubBase, *apiKey, sent); err == nil {
				dead := map[string]bool{}
				for _, id := range states["dead"] {
					dead[id] = true
				}
				all := true
				for _, id := range pending {
					all = all && dead[id]
				}
				if all {
					break
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}

	first := map[string]time.Time{}
	for _, e := range evs.Events {
		if t, ok := first[e.EventID]; !ok || e.Received.Before(t) {
			first[e.EventID] = e.Received
		}
	}
	// Hub's view: the state of each of our deliveries, through the admin API.
	dead := -1
	var deadIDs map[string]bool
	if *apiKey != "" {
		states, err := deliveryStates(client, hubBase, *apiKey, sent)
		if err != nil {
			log.Fatalf("delivery: read deliveries through the admin API: %v", err)
		}
		deadIDs = map[string]bool{}
		var parts []string
		for _, st := range sortedKeys(states) {
			parts = append(parts, fmt.Sprintf("%s=%d", st, len(states[st])))
		}
		for _, id := range states["dead"] {
			deadIDs[id] = true
		}
		dead = len(deadIDs)
		fmt.Fprintf(os.Stderr, "hub delivery states of this run's orders: %s\n", strings.Join(parts, " "))
	}

	var lat []float64
	lost, dup := 0, 0
	for id, t0 := range sent {
		r, ok := first[id]
		if !ok {
			if !deadIDs[id] {
				lost++
			}
			continue
		}
		lat = append(lat, float64(r.Sub(t0).Microseconds())/1000)
		if evs.Counts[id] > 1 {
			dup++
		}
	}
	sort.Float64s(lat)
	sort.Float64s(ackLat)
	fmt.Fprintf(os.Stderr, "webhook acknowledged by Hub: p50=%.0fms p95=%.0fms p99=%.0fms\n", pct(ackLat, 50), pct(ackLat, 95), pct(ackLat, 99))
	fmt.Fprintf(os.Stderr, "sent %d webhooks at %.0f/s (%d not acknowledged); fake failing %.0f%% of requests (%s) for %s; %d requests reached the fake; max latency %.0fms\n",
		*n, sendRate, failed, *failRate*100, *failMode, *failFor, evs.Requests, pct(lat, 100))
	fmt.Printf("delivery: orders=%d delivered=%d dead=%d lost=%d dup=%d p50=%.0fms p95=%.0fms p99=%.0fms\n",
		acked, len(lat), dead, lost, dup, pct(lat, 50), pct(lat, 95), pct(lat, 99))
	if lost > 0 || dup > 0 || failed > 0 {
		os.Exit(1)
	}
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

// deliveryStates lists the tenant's deliveries through the admin API and groups this run's
// (by event id) by state.
func deliveryStates(c *http.Client, base, key string, sent map[string]time.Time) (map[string][]string, error) {
	out := map[string][]string{}
	cursor := ""
	for {
		u := base + "/api/v1/deliveries?limit=500"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items []struct {
				EventID string `json:"event_id"`
				State   string `json:"state"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := getJSON(c, u, key, &page); err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			if _, ok := sent[it.EventID]; ok {
				out[it.State] = append(out[it.State], it.EventID)
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

// purchase is a Hotmart PURCHASE_APPROVED delivery (the shape of shared/fixtures/webhooks/hotmart.json).
func purchase(txn string, at time.Time) []byte {
	ms := at.UnixMilli()
	return []byte(fmt.Sprintf(`{"id":"%s-evt","creation_date":%d,"event":"PURCHASE_APPROVED","version":"2.0.0","data":{"product":{"id":1234567,"ucode":"0d5b4c2a-1111-4222-8333-444455556666","name":"Curso Exemplo"},"buyer":{"email":"buyer.%s@example.com","name":"Maria Exemplo Teste","first_name":"Maria","last_name":"Exemplo Teste","checkout_phone_code":"11","checkout_phone":"999998888","document":"00000000191","document_type":"CPF","address":{"country":"Brasil","country_iso":"BR","zipcode":"01310-100","state":"SP","city":"São Paulo"}},"purchase":{"approved_date":%d,"order_date":%d,"status":"APPROVED","transaction":"%s","price":{"value":197.0,"currency_value":"BRL"},"payment":{"type":"PIX","installments_number":1},"origin":{"src":"fb_ads","sck":"k_%s"},"buyer_ip":"203.0.113.45"}},"hottok":"bench"}`,
		strings.ToLower(txn), ms, strings.ToLower(txn), ms, ms-60000, txn, strings.ToLower(txn)))
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

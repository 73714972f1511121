package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collectLoad posts batches of page views to /v1/collect from workers clients until ctx is done
// and records the event ids of every batch Hub acknowledged whole (202, all accepted).
type collectLoad struct {
	mu    sync.Mutex
	acked map[string]time.Time // event id -> when its batch was acknowledged
	n     atomic.Int64
	wg    sync.WaitGroup
}

func startCollect(ctx context.Context, baseURL, key, run string, workers, batch int) *collectLoad {
	l := &collectLoad{acked: map[string]time.Time{}}
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range workers {
		l.wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				ids := make([]string, batch)
				var body bytes.Buffer
				fmt.Fprintf(&body, `{"key":%q,"events":[`, key)
				now := time.Now().UnixMilli()
				for e := range ids {
					ids[e] = fmt.Sprintf("%s-%d-%d-%d", run, w, n, e)
					if e > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"type":"page_view","event_id":%q,"occurred_at":%d,"url":"https://shop.example.com/p/%d?utm_source=facebook","visitor_id":"k_fault%d"}`,
						ids[e], now, n, w)
				}
				body.WriteString("]}")
				req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, baseURL+"/v1/collect", &body)
				req.Header.Set("Content-Type", "text/plain")
				req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36")
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(20 * time.Millisecond) // Hub is down: do not spin
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var cr struct {
					Accepted int `json:"accepted"`
				}
				if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &cr) != nil || cr.Accepted != len(ids) {
					continue
				}
				at := time.Now()
				l.mu.Lock()
				for _, id := range ids {
					l.acked[id] = at
				}
				l.mu.Unlock()
				l.n.Add(int64(len(ids)))
			}
		})
	}
	return l
}

// checkStored counts the load's acknowledged events against the tenant's touchpoints: lost (an
// acknowledged id not stored), dup (an id stored more than once).
func checkStored(h *hub, load *collectLoad) result {
	h.t.Helper()
	return checkStoredSince(h, load, time.Time{})
}

// checkStoredSince is checkStored where the kernel turned the filesystem read-only at roAt
// (when not zero): a lost event fails the test all the same (Hub must not acknowledge what it
// cannot keep), and the message says on which side of the fault it was acknowledged.
func checkStoredSince(h *hub, load *collectLoad, roAt time.Time) result {
	h.t.Helper()
	counts := map[string]int{}
	tps := list[touchpoint](h, "/touchpoints")
	for _, tp := range tps {
		counts[tp.ClientEventID]++
	}
	load.mu.Lock()
	defer load.mu.Unlock()
	r := result{acked: len(load.acked), stored: len(tps)}
	for id, at := range load.acked {
		if counts[id] == 0 {
			r.lost++
			h.t.Errorf("event %s acknowledged at %s%s is not stored", id, at.Format("15:04:05.000"), sinceFault(at, roAt))
		}
	}
	for _, n := range counts {
		r.dup += n - 1
	}
	return r
}

type touchpoint struct {
	ClientEventID string `json:"client_event_id"`
}

// TestKillDuringIngest: kill -9 while browsers' events pour into /v1/collect; after a restart
// every event Hub acknowledged (202) is stored, once.
func TestKillDuringIngest(t *testing.T) {
	suite(t)
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, store, options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			load := startCollect(ctx, h.url(""), h.pubKey, "kill", 8, 5)
			// Kill once a good number of events is acknowledged, with requests in flight.
			if !eventually(60*time.Second, func() bool { return load.n.Load() >= 1500 }) {
				t.Fatalf("only %d events acknowledged in a minute\n%s", load.n.Load(), h.proc.Output())
			}
			h.proc.Kill(t)
			cancel()
			load.wg.Wait()

			h.start()
			report(t, "kill-9-during-ingest", store, checkStored(h, load))
		})
	}
}

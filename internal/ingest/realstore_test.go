package ingest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// openStore opens and migrates a real store ("postgres" through testenv, or "sqlite" in a temp
// dir) with one tenant and the test source.
func openStore(t *testing.T, kind string, src store.Source) store.Store {
	t.Helper()
	s := teststore.Open(t, kind)
	seedStore(t, s, src)
	return s
}

// seedStore gives s one tenant and the test source.
func seedStore(t *testing.T, s store.Store, src store.Source) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateTenant(ctx, store.Tenant{ID: src.TenantID, Name: "Tenant", CreatedAt: testNow}); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	src.CreatedAt, src.UpdatedAt = testNow, testNow
	if src.AttributionModel == "" {
		src.AttributionModel = store.ModelLastClick
		src.AttributionWindow = 7 * 24 * time.Hour
	}
	if src.WebhookToken == "" {
		src.WebhookToken = "wh_" + src.ID
	}
	if _, err := s.CreateSource(ctx, src); err != nil {
		t.Fatalf("create source: %v", err)
	}
}

func storedTouchpoints(t *testing.T, s store.Store, tenantID string) []store.Touchpoint {
	t.Helper()
	var all []store.Touchpoint
	f := store.TouchpointFilter{TenantID: tenantID, Limit: 500}
	for {
		page, err := s.ListTouchpoints(context.Background(), f)
		if err != nil {
			t.Fatalf("list touchpoints: %v", err)
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all
		}
		f.After = page[len(page)-1].ID
	}
}

// countingStore counts the group commits (transactions: ingest writes a group in one) and
// InsertTouchpoints calls outside them on a real store.
type countingStore struct {
	store.Store
	mu      sync.Mutex
	inserts int
}

func (c *countingStore) count() {
	c.mu.Lock()
	c.inserts++
	c.mu.Unlock()
}

func (c *countingStore) Tx(ctx context.Context, fn func(store.Tx) error) error {
	c.count()
	return c.Store.Tx(ctx, fn)
}

func (c *countingStore) InsertTouchpoints(ctx context.Context, tps []store.Touchpoint) (int, error) {
	c.count()
	return c.Store.InsertTouchpoints(ctx, tps)
}

// TestRealStores: concurrent collect requests are group-committed into the real stores, every
// acknowledged event is stored exactly once (retries included), identities are linked, and the
// stored row reads back as written.
func TestRealStores(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			src := testSource()
			src.ID, src.PublicKey = "src_"+kind, "pk_"+kind
			real := openStore(t, kind, src)
			cs := &countingStore{Store: real}
			now := time.Now().UTC()
			f := newFixture(t, func(c *Config) {
				c.Store = cs
				c.Now = func() time.Time { return now }
				c.BatchWait = 5 * time.Millisecond
			})
			const clients, perClient, perBatch = 16, 10, 5
			var wg sync.WaitGroup
			for c := range clients {
				wg.Go(func() {
					for r := range perClient {
						body := fmt.Sprintf(`{"key":%q,"events":[`, src.PublicKey)
						for e := range perBatch {
							if e > 0 {
								body += ","
							}
							body += fmt.Sprintf(`{"type":"lead","event_id":"c%d-r%d-e%d","visitor_id":"k_c%d","email":"user%d@example.com","url":"https://shop.example.com/?fbclid=Fb%d"}`, c, r, e, c, c, c)
						}
						body += "]}"
						// Send every request twice: the retry must not duplicate.
						for range 2 {
							if rec := f.collect(body); rec.Code != http.StatusAccepted {
								t.Errorf("status %d: %s", rec.Code, rec.Body)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			tps := storedTouchpoints(t, real, src.TenantID)
			if want := clients * perClient * perBatch; len(tps) != want {
				t.Fatalf("stored %d touchpoints, want %d", len(tps), want)
			}
			seen := map[string]bool{}
			for _, tp := range tps {
				if seen[tp.ClientEventID] {
					t.Fatalf("duplicate %s", tp.ClientEventID)
				}
				seen[tp.ClientEventID] = true
			}
			cs.mu.Lock()
			inserts := cs.inserts
			cs.mu.Unlock()
			if requests := clients * perClient * 2; inserts == 0 || inserts >= requests {
				t.Errorf("%d group commits for %d requests: nothing was grouped (or nothing counted)", inserts, requests)
			}
			t.Logf("%s: %d requests in %d group commits", kind, clients*perClient*2, inserts)

			ids, err := real.VisitorsByIdentity(context.Background(), src.TenantID, store.IdentityEmail, tps[0].EmailHash)
			if err != nil || len(ids) != 1 || ids[0].VisitorID != tps[0].VisitorID {
				t.Errorf("identity of %s: %+v, %v", tps[0].VisitorID, ids, err)
			}
			byClick, err := real.TouchpointsByClickID(context.Background(), src.TenantID, store.ClickFBCLID, tps[0].FBCLID, now.Add(-time.Hour), now.Add(time.Hour), 100)
			if err != nil || len(byClick) == 0 {
				t.Errorf("by fbclid %q: %d, %v", tps[0].FBCLID, len(byClick), err)
			}
			for _, tp := range byClick {
				if tp.FBCLID != tps[0].FBCLID || !strings.HasSuffix(tp.FBC, "."+tp.FBCLID) {
					t.Errorf("by fbclid %q: fbclid %q, fbc %q", tps[0].FBCLID, tp.FBCLID, tp.FBC)
				}
			}
		})
	}
}

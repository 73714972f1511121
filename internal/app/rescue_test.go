package app

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
)

func TestRiverConfigRescuesWithinMinutes(t *testing.T) {
	t.Parallel()
	var c river.Config
	RiverConfig(&c)
	job := delivery.JobTimeout(deliveryBatchWindow, delivery.DefaultSendTimeout)
	if c.RescueStuckJobsAfter <= job || c.RescueStuckJobsAfter > 3*time.Minute {
		t.Fatalf("RescueStuckJobsAfter = %v: want more than a delivery job's timeout (%v), and minutes, not River's hour", c.RescueStuckJobsAfter, job)
	}
}

// TestStuckDeliveryRescued leaves what a replica killed mid-send leaves: a delivery in flight
// with its attempt open, and its job running since ten minutes ago. /metrics shows the stuck
// job; a serving Hub rescues it (River's rescuer runs every 30 s) and sends the delivery again
// as a counted resend, with the same event id, well before River's default hour.
func TestStuckDeliveryRescued(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for River's rescuer (30 s)")
	}
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			r := startHub(t, dialect)
			ctx := context.Background()
			tn, _, d := r.setup(t, "hottok")
			now := time.Now().UTC()
			var del store.Delivery
			err := r.app.Store.Tx(ctx, func(tx store.Tx) error {
				o, _, err := tx.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, Provider: "hotmart", ExternalID: "HP-STUCK", EventKey: "k",
					Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: now.Add(-15 * time.Minute), AmountMinor: 19700, Currency: "BRL",
					Buyer: store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com")}, ReceivedAt: now.Add(-15 * time.Minute)})
				if err != nil {
					return err
				}
				// The crashed replica's state: the delivery in flight, its attempt open.
				del, _, err = tx.CreateDelivery(ctx, store.Delivery{TenantID: tn.ID, OrderID: o.ID, DestinationID: d.ID, EventName: domain.EventPurchase,
					EventID: delivery.EventID(o, domain.EventPurchase), State: store.DeliveryPending, InFlight: true, CreatedAt: now.Add(-15 * time.Minute)})
				if err != nil {
					return err
				}
				if _, err := tx.InsertAttempt(ctx, store.Attempt{TenantID: tn.ID, DeliveryID: del.ID, At: now.Add(-10 * time.Minute),
					Outcome: store.AttemptInFlight, RequestID: "crashed-request", EventIDs: []string{del.EventID}}); err != nil {
					return err
				}
				// Scheduled far ahead so no live worker takes it before it is made running below.
				return tx.Enqueue(ctx, delivery.Args{TenantID: tn.ID, DeliveryID: del.ID}, &river.InsertOpts{ScheduledAt: now.Add(24 * time.Hour)})
			})
			if err != nil {
				t.Fatal(err)
			}
			// First running for a little longer than a job's timeout: stuck, but not yet old
			// enough for River's rescuer (RescueAfter), so the count cannot race with it.
			jobTimeout := delivery.JobTimeout(deliveryBatchWindow, delivery.DefaultSendTimeout)
			markRunningSince(t, r, jobTimeout+20*time.Second)
			if _, stuck, err := r.app.Store.Queue().Running(ctx, jobTimeout); err != nil || stuck != 1 {
				t.Fatalf("stuck jobs: %d %v", stuck, err)
			}
			// Then running since ten minutes ago, so the rescuer takes it at its next pass. The
			// gauges' values race with it: /metrics must have them, Running above counted the job.
			markRunningSince(t, r, 10*time.Minute)
			m := scrape(t, r.ops)
			for _, want := range []string{"hub_queue_running_jobs ", "hub_queue_stuck_jobs "} {
				if !strings.Contains(m, want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
			waitFor(t, "the stuck delivery to be rescued and sent", 2*time.Minute, func() bool {
				got, err := r.app.Store.GetDelivery(ctx, tn.ID, del.ID)
				return err == nil && got.State == store.DeliveryDelivered
			})
			got, _ := r.app.Store.GetDelivery(ctx, tn.ID, del.ID)
			at, _ := r.app.Store.ListAttempts(ctx, tn.ID, del.ID)
			if got.InFlight || got.Resends != 1 || len(at) != 2 || at[0].Outcome != store.AttemptResentAfterCrash || !at[1].Resend {
				t.Fatalf("delivery %+v attempts %+v", got, at)
			}
			if n := r.fake.Accepted()[del.EventID]; n != 1 {
				t.Fatalf("Meta accepted %s %d times", del.EventID, n)
			}
			// The worker counts an outcome once its transaction returned, a moment after the
			// state above became visible: wait for the counts, briefly.
			waitFor(t, `/metrics to count the resend and the delivery (hub_deliveries_total{destination_type="meta",outcome="resent_after_crash"|"delivered",reason=""} 1)`,
				10*time.Second, func() bool {
					m := scrape(t, r.ops)
					return strings.Contains(m, `hub_deliveries_total{destination_type="meta",outcome="resent_after_crash",reason=""} 1`) &&
						strings.Contains(m, `hub_deliveries_total{destination_type="meta",outcome="delivered",reason=""} 1`)
				})
		})
	}
}

// markRunningSince makes the test's one delivery job look like a job its replica was working,
// since ago, when it died.
func markRunningSince(t *testing.T, r *running, ago time.Duration) {
	t.Helper()
	ctx := context.Background()
	at := time.Now().Add(-ago).UTC()
	var err error
	switch st := r.app.Store.(type) {
	case *postgres.Store:
		_, err = st.Pool().Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = $1,
			attempted_by = ARRAY['crashed-replica'] WHERE kind = 'deliver'`, at)
	default:
		var db *sql.DB
		db, err = sql.Open("sqlite", filepath.Join(r.app.Config.DataDir, "hub.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1,
			attempted_at = ?, attempted_by = json_array('crashed-replica') WHERE kind = 'deliver'`, at.Format("2006-01-02 15:04:05.000"))
	}
	if err != nil {
		t.Fatal(err)
	}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLostFetchReleased leaves what a PostgreSQL crash in the middle of River's fetch leaves:
// a delivery job running, last attempted by this replica's own River client, that no worker
// of the replica has (the fetch committed, its answer never came). The replica puts it back
// and delivers it within seconds, not after River's rescue (RescueAfter, minutes). A job that
// is genuinely being worked by the replica, its send held by a slow Meta for several times
// the release's delay, is left alone and sent once.
func TestLostFetchReleased(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			slow := &slowMeta{delay: 6 * time.Second, arrived: make(chan struct{})}
			r := startHubWith(t, dialect, func(c *config.Config) {
				c.Declared["HUB_META_GRAPH_URL"] = slow.front(t, c.Declared["HUB_META_GRAPH_URL"])
			},
				withOrphanRelease(time.Second, 200*time.Millisecond))
			ctx := context.Background()
			tn, _, d := r.setup(t, "hottok")
			now := time.Now().UTC()
			newDelivery := func(ext string, scheduled time.Time, slowID bool) store.Delivery {
				t.Helper()
				var del store.Delivery
				err := r.app.Store.Tx(ctx, func(tx store.Tx) error {
					o, _, err := tx.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, Provider: "hotmart", ExternalID: ext, EventKey: "k",
						Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: now.Add(-time.Minute), AmountMinor: 19700, Currency: "BRL",
						Buyer: store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com")}, ReceivedAt: now.Add(-time.Minute)})
					if err != nil {
						return err
					}
					del, _, err = tx.CreateDelivery(ctx, store.Delivery{TenantID: tn.ID, OrderID: o.ID, DestinationID: d.ID, EventName: domain.EventPurchase,
						EventID: delivery.EventID(o, domain.EventPurchase), State: store.DeliveryPending, CreatedAt: now.Add(-time.Minute)})
					if err != nil {
						return err
					}
					if slowID {
						slow.set(ext) // in the event id, in a JSON or form-encoded body alike
					}
					return tx.Enqueue(ctx, delivery.Args{TenantID: tn.ID, DeliveryID: del.ID}, &river.InsertOpts{ScheduledAt: scheduled})
				})
				if err != nil {
					t.Fatal(err)
				}
				return del
			}
			// In flight: worked by this replica, its request held by Meta.
			inFlight := newDelivery("HP-INFLIGHT", time.Time{}, true)
			select {
			case <-slow.arrived:
			case <-time.After(30 * time.Second):
				t.Fatal("the in-flight delivery's request never reached Meta")
			}
			// Lost: scheduled far ahead so no worker takes it, then made what the lost fetch
			// left: running, attempted by this replica's client, now.
			lost := newDelivery("HP-LOST", now.Add(24*time.Hour), false)
			markFetchedBy(t, r, r.app.riverID)
			start := time.Now()
			waitFor(t, "the lost fetch's delivery to be sent", 20*time.Second, func() bool {
				got, err := r.app.Store.GetDelivery(ctx, tn.ID, lost.ID)
				return err == nil && got.State == store.DeliveryDelivered
			})
			t.Logf("lost fetch delivered %v after it was left running", time.Since(start).Round(time.Millisecond))
			waitFor(t, "the in-flight delivery to be sent", time.Minute, func() bool {
				got, err := r.app.Store.GetDelivery(ctx, tn.ID, inFlight.ID)
				return err == nil && got.State == store.DeliveryDelivered
			})
			for _, del := range []store.Delivery{inFlight, lost} {
				got, _ := r.app.Store.GetDelivery(ctx, tn.ID, del.ID)
				at, _ := r.app.Store.ListAttempts(ctx, tn.ID, del.ID)
				if got.InFlight || got.Resends != 0 || len(at) != 1 || at[0].Resend {
					t.Errorf("%s: delivery %+v attempts %+v: want one attempt, no resend", del.EventID, got, at)
				}
				if n := r.fake.Accepted()[del.EventID]; n != 1 {
					t.Errorf("Meta accepted %s %d times", del.EventID, n)
				}
			}
			if n := slow.held(); n != 1 {
				t.Errorf("the in-flight delivery was sent %d times", n)
			}
			m := scrape(t, r.ops)
			if want := `hub_queue_jobs_released_total{kind="deliver"} 1` + "\n"; !strings.Contains(m, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		})
	}
}

// slowMeta sits in front of the fake Meta and holds every request whose body contains one
// string (an order's external id) for delay before passing it on.
type slowMeta struct {
	delay   time.Duration
	arrived chan struct{} // closed at the first held request

	mu    sync.Mutex
	id    string
	count int
}

func (s *slowMeta) set(id string) { s.mu.Lock(); s.id = id; s.mu.Unlock() }

func (s *slowMeta) held() int { s.mu.Lock(); defer s.mu.Unlock(); return s.count }

func (s *slowMeta) front(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	return newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		hold := s.id != "" && bytes.Contains(body, []byte(s.id))
		if hold {
			s.count++
			if s.count == 1 {
				close(s.arrived)
			}
		}
		s.mu.Unlock()
		if hold {
			time.Sleep(s.delay)
		}
		proxy.ServeHTTP(w, req)
	}))
}

// markFetchedBy makes the test's scheduled delivery job look like one River's fetch claimed
// for client just now and then lost (a fetch takes only jobs already due: scheduled now).
func markFetchedBy(t *testing.T, r *running, client string) {
	t.Helper()
	ctx := context.Background()
	var (
		n   int64
		err error
	)
	switch st := r.app.Store.(type) {
	case *postgres.Store:
		var tag pgconn.CommandTag
		tag, err = st.Pool().Exec(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now(),
			scheduled_at = now(), attempted_by = array_append(attempted_by, $1::text) WHERE kind = 'deliver' AND state = 'scheduled'`, client)
		n = tag.RowsAffected()
	default:
		var db *sql.DB
		db, err = sql.Open("sqlite", filepath.Join(r.app.Config.DataDir, "hub.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var res sql.Result
		res, err = db.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1,
			attempted_at = datetime('now', 'subsec'), scheduled_at = datetime('now', 'subsec'), attempted_by = json_array(?1) WHERE kind = 'deliver' AND state = 'scheduled'`, client)
		if err == nil {
			n, err = res.RowsAffected()
		}
	}
	if err != nil || n != 1 {
		t.Fatalf("mark the job fetched: %d rows, %v", n, err)
	}
}

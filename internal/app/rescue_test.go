package app

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

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
			m = scrape(t, r.ops)
			for _, want := range []string{
				`hub_deliveries_total{destination_type="meta",outcome="resent_after_crash",reason=""} 1`,
				`hub_deliveries_total{destination_type="meta",outcome="delivered",reason=""} 1`,
			} {
				if !strings.Contains(m, want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
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

package intake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// carryDispatch records what the intake dispatches and runs nothing.
type carryDispatch struct {
	mu   sync.Mutex
	jobs []store.DeliveryJob
	ds   []store.Delivery
}

func (d *carryDispatch) Dispatch(ds []store.Delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ds = append(d.ds, ds...)
}

func (d *carryDispatch) DispatchJobs(jobs []store.DeliveryJob) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.jobs = append(d.jobs, jobs...)
}

func (*carryDispatch) Sweep(context.Context, time.Time, int) (int, error) { return 0, nil }

func (d *carryDispatch) take() ([]store.DeliveryJob, []store.Delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	jobs, ds := d.jobs, d.ds
	d.jobs, d.ds = nil, nil
	return jobs, ds
}

// TestCarriedJobIsWhatTheAttemptWouldRead: the job the intake hands to the first attempt of
// each delivery a purchase plans (Dispatcher.DispatchJobs) equals, field for field, what
// GetDeliveryJob reads right after the commit, on both stores: for an order matched to a
// touchpoint, an orphan (an attribution without a touchpoint), and an order with several
// destinations, one of them disabled (its skipped delivery is not dispatched).
func TestCarriedJobIsWhatTheAttemptWouldRead(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		rec := &carryDispatch{}
		h.svc.Dispatcher = rec
		f := h.fx["hotmart"]
		if _, err := h.st.WriteTouchpoints(ctx, []store.Touchpoint{{TenantID: h.tenant.ID, SourceID: h.src.ID, Type: "page_view",
			VisitorID: "k_8f3a2b1c9d", OccurredAt: stripeT.Add(-time.Hour), ReceivedAt: stripeT.Add(-time.Hour), Consent: "granted",
			URL:    "https://shop.example/?utm_source=facebook&utm_medium=paid&utm_campaign=Launch&utm_id=123&fbclid=F1",
			FBCLID: "F1", UTM: store.UTM{Source: "facebook", Medium: "paid", Campaign: "Launch"}}}, nil); err != nil {
			t.Fatal(err)
		}
		purchase := func(t *testing.T, what, order, visitor string, wantJobs int, wantTP bool) {
			t.Helper()
			body := strings.ReplaceAll(strings.ReplaceAll(f.RawBody, "HP1234567890", order), "k_8f3a2b1c9d", visitor)
			if code, r := h.send(t, "hotmart", h.src, body, f.Request.Headers, ""); code != http.StatusOK || r.State != string(store.InboxProcessed) {
				t.Fatalf("%s: %d %+v", what, code, r)
			}
			jobs, ds := rec.take()
			if len(jobs) != wantJobs || len(ds) != 0 {
				t.Fatalf("%s: %d jobs and %d deliveries dispatched, want %d jobs", what, len(jobs), len(ds), wantJobs)
			}
			for _, carried := range jobs {
				read, err := h.st.GetDeliveryJob(ctx, h.tenant.ID, carried.Delivery.ID)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if (carried.Touchpoint != nil) != wantTP || carried.Attribution == nil {
					t.Errorf("%s: carried attribution %+v, touchpoint %v; want one with a touchpoint: %v", what, carried.Attribution, carried.Touchpoint != nil, wantTP)
				}
				sameJob(t, what, carried, read)
			}
		}
		purchase(t, "matched", "HPCARRY1", "k_8f3a2b1c9d", 1, true)
		purchase(t, "orphan", "HPCARRY2", "k_nobody", 1, false)
		if _, err := h.st.CreateDestination(ctx, store.Destination{TenantID: h.tenant.ID, Type: "meta", Name: "second", Enabled: true,
			Config: json.RawMessage(`{"pixel_id":"2"}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.st.CreateDestination(ctx, store.Destination{TenantID: h.tenant.ID, Type: "meta", Name: "off", Enabled: false}); err != nil {
			t.Fatal(err)
		}
		purchase(t, "several destinations", "HPCARRY3", "k_8f3a2b1c9d", 2, true)
	})
}

// sameJob fails t unless carried is read: the rows the event is built from.
func sameJob(t *testing.T, what string, carried, read store.DeliveryJob) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"delivery", carried.Delivery, read.Delivery},
		{"destination", carried.Destination, read.Destination},
		{"order", carried.Order, read.Order},
		{"attribution", carried.Attribution, read.Attribution},
		{"touchpoint", carried.Touchpoint, read.Touchpoint},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			g, _ := json.Marshal(c.got)
			w, _ := json.Marshal(c.want)
			t.Errorf("%s: carried %s differs from GetDeliveryJob's\n carried %s\n read    %s", what, c.name, g, w)
		}
	}
}

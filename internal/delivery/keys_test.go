package delivery_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// The worker records on each delivered event the identifier keys Meta's builder sent: an order
// carrying an e-mail and the gateway's fbc counts em and fbc, and not ph (it had none); a
// failed send records nothing.
func TestWorkerRecordsIdentifierKeys(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		d := e.plan(t, store.OrderEvent{TenantID: e.tenant.ID, Provider: "hotmart", ExternalID: "HPKEYS1",
			EventKey: "k", Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: now.Add(-time.Minute), AmountMinor: 19700, Currency: "BRL",
			Buyer:      store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com")},
			Tracking:   store.Tracking{ClickIDs: domain.ClickIDs{FBC: "fb.1.1767225000000.IwAR2F4-Abc"}},
			ReceivedAt: now.Add(-time.Minute)}, "", now.Add(-time.Minute))
		if err := e.worker.Work(ctx, job(d, 1, 0)); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.state(t, d); got.State != store.DeliveryDelivered {
			t.Fatalf("delivery %+v", got)
		}
		rows, err := e.st.IdentifierCoverage(ctx, store.CoverageFilter{TenantID: e.tenant.ID, DestinationID: e.dest.ID,
			Since: now.Add(-time.Hour), Until: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Events != 1 {
			t.Fatalf("coverage rows = %+v", rows)
		}
		if got, want := dest.Keys(rows[0].Keys).Names(), []string{"em", "fbc"}; !reflect.DeepEqual(got, want) {
			t.Errorf("keys recorded = %v, want %v", got, want)
		}
	})
}

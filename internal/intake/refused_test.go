package intake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/all"
)

// unclean is the Hotmart adapter returning its events as no adapter may: with a U+0000 left in
// the native status, as if webhook.Finish had not cleaned them.
type unclean struct{ webhook.Adapter }

func (a unclean) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	ev, err := a.Adapter.Parse(req)
	for i := range ev {
		ev[i].NativeStatus += "\x00"
	}
	return ev, err
}

// TestDataTheDatabaseRefusesIsUnparseable: a delivery whose data the database refuses (a data
// exception: PostgreSQL's SQLSTATE class 22) fails the same way on every retry, so it is marked
// unparseable with the reason, on the failures page and reprocessable, instead of staying
// received with no error for ever. SQLite stores the same data.
func TestDataTheDatabaseRefusesIsUnparseable(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		reg := webhook.NewRegistry()
		hotmart, _ := all.Default().Lookup("hotmart")
		reg.Register(unclean{hotmart})
		h.svc.Adapters = reg
		f := h.fx["hotmart"]
		body := strings.ReplaceAll(f.RawBody, "HP1234567890", "HPNUL0000002")
		code, r := h.send(t, "hotmart", h.src, body, f.Request.Headers, "")
		_, orderErr := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "hotmart", "HPNUL0000002")
		if h.st.Dialect() == "sqlite" {
			if code != http.StatusOK || r.State != string(store.InboxProcessed) || orderErr != nil {
				t.Fatalf("%d %+v, order: %v; want processed", code, r, orderErr)
			}
			return
		}
		if code != http.StatusOK || r.State != string(store.InboxUnparseable) || !errors.Is(orderErr, store.ErrNotFound) {
			t.Fatalf("%d %+v, order: %v; want unparseable and no order", code, r, orderErr)
		}
		e, err := h.st.GetInbox(ctx, h.tenant.ID, r.InboxID)
		if err != nil || e.State != store.InboxUnparseable || !strings.Contains(e.Error, "the database refused the delivery's data") {
			t.Fatalf("inbox %s %q, %v", e.State, e.Error, err)
		}
		if st, err := h.svc.Process(ctx, h.tenant.ID, e.ID, true); err != nil || st != store.InboxUnparseable {
			t.Fatalf("reprocess: %v %v", st, err)
		}
	})
}

package intake_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestRefundAfterErasureKeepsNoRawCopy: a Hotmart buyer pays, is erased, and then her order is
// refunded and charged back by signed webhooks that name her again (e-mail, phone, name,
// document, address and IP in the body, her e-mail in the query, her IP in a header). Each is
// applied (the order is refunded, then charged back, and stays erased) and its raw copy is
// emptied in the same transaction: afterwards no column of any table holds any of her values,
// the order's history still names each webhook's row, a resent refund is still recognised as
// a duplicate (and emptied too), and reprocessing an emptied row changes nothing. The
// chargeback goes the way of a delivery left received (the sweep's job: Process).
func TestRefundAfterErasureKeepsNoRawCopy(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["hotmart"]
		needles := []string{"maria.teste@example.com", "maria.teste%40example.com", "999998888", "maria exemplo teste",
			"00000000191", "avenida paulista", "203.0.113.45"}
		hdr := map[string]string{"X-Forwarded-For": "203.0.113.45"}
		for k, v := range f.Request.Headers {
			hdr[k] = v
		}
		const query = "buyer=maria.teste%40example.com"
		event := func(id, created, native, status string) string {
			return strings.NewReplacer(
				`"id":"5f1c7b9e-3a2d-4c1e-9b8a-0d6e2f4a1c33"`, `"id":"`+id+`"`,
				`"creation_date":1767634205000`, `"creation_date":`+created,
				`"event":"PURCHASE_APPROVED"`, `"event":"`+native+`"`,
				`"status":"APPROVED"`, `"status":"`+status+`"`).Replace(f.RawBody)
		}
		send := func(what, body string, want store.InboxState) string {
			t.Helper()
			code, r := h.send(t, "hotmart", h.src, body, hdr, query)
			if code != http.StatusOK || r.State != string(want) {
				t.Fatalf("%s: %d %+v; want 200 %s", what, code, r, want)
			}
			return r.InboxID
		}
		nowhere := func(when string) {
			t.Helper()
			for n, where := range teststore.Scan(t, h.st, needles) {
				t.Errorf("%s the database still holds %q in %v", when, n, where)
			}
		}
		emptied := func(what, id string, state store.InboxState, orderID string) {
			t.Helper()
			e, err := h.st.GetInbox(ctx, h.tenant.ID, id)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if e.ErasedAt == nil || len(e.Body) != 0 || e.Query != "" || len(e.Headers) != 0 || e.State != state || e.OrderID != orderID {
				t.Errorf("%s's raw copy: state %s, order %q, erased at %v, body %q, query %q, headers %v; want %s, %q, emptied",
					what, e.State, e.OrderID, e.ErasedAt, e.Body, e.Query, e.Headers, state, orderID)
			}
		}

		send("purchase", f.RawBody, store.InboxProcessed)
		o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "hotmart", "HP1234567890")
		if err != nil || o.Buyer.EmailHash == "" {
			t.Fatalf("the paid order: %+v %v", o, err)
		}
		// The scan does find her while her raw webhook is there.
		if found := teststore.Scan(t, h.st, needles); len(found) != len(needles) {
			t.Fatalf("before the erasure the scan found only %v of %v", found, needles)
		}
		if _, err := h.st.ErasePerson(ctx, h.tenant.ID, store.Person{EmailHash: o.Buyer.EmailHash},
			store.AuditEntry{Actor: "key:ops", Action: "erasure"}); err != nil {
			t.Fatal(err)
		}
		nowhere("after the erasure")

		refund := event("5f1c7b9e-3a2d-4c1e-9b8a-0d6e2f4a1c34", "1767720600000", "PURCHASE_REFUNDED", "REFUNDED")
		refundID := send("refund", refund, store.InboxProcessed)
		nowhere("after the refund")
		if o, err = h.st.GetOrder(ctx, h.tenant.ID, o.ID); err != nil || o.Status != domain.StatusRefunded || o.ErasedAt == nil ||
			o.Buyer != (store.Buyer{}) {
			t.Fatalf("the refunded order: %+v %v", o, err)
		}
		emptied("the refund", refundID, store.InboxProcessed, o.ID)

		// The gateway resends the refund: the same event, recognised as such, and emptied too.
		resentID := send("resent refund", refund, store.InboxDuplicate)
		nowhere("after the resent refund")
		emptied("the resent refund", resentID, store.InboxDuplicate, o.ID)

		// A chargeback stored but left received (the replica stopped): the sweep's job
		// processes it.
		cb, err := h.st.InsertInbox(ctx, store.InboxEntry{TenantID: h.tenant.ID, SourceID: h.src.ID, Provider: "hotmart",
			ReceivedAt: stripeT, Headers: map[string]string{"X-Forwarded-For": "203.0.113.45", "X-Hotmart-Hottok": "[REDACTED]"}, Query: query,
			Body: []byte(event("5f1c7b9e-3a2d-4c1e-9b8a-0d6e2f4a1c35", "1768239000000", "PURCHASE_CHARGEBACK", "CHARGEBACK"))})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := h.svc.Process(ctx, h.tenant.ID, cb.ID, false); err != nil || st != store.InboxProcessed {
			t.Fatalf("the chargeback's job: %s %v", st, err)
		}
		nowhere("after the chargeback")
		emptied("the chargeback", cb.ID, store.InboxProcessed, o.ID)
		if o, err = h.st.GetOrder(ctx, h.tenant.ID, o.ID); err != nil || o.Status != domain.StatusChargeback || o.ErasedAt == nil {
			t.Fatalf("the charged back order: %+v %v", o, err)
		}

		// The order's history still names each applied webhook's row.
		hist, err := h.st.ListOrderHistory(ctx, h.tenant.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		named := map[string]bool{}
		for _, c := range hist {
			named[c.InboxID] = true
		}
		if len(hist) != 3 || !named[refundID] || !named[cb.ID] {
			t.Errorf("the order's history %+v; want the purchase, the refund (%s) and the chargeback (%s)", hist, refundID, cb.ID)
		}

		// Reprocessing an emptied row (the API's and the dashboard's action) changes nothing:
		// it is neither parsed again nor marked unparseable.
		for _, id := range []string{refundID, resentID, cb.ID} {
			before, _ := h.st.GetInbox(ctx, h.tenant.ID, id)
			res, err := h.svc.Reprocess(ctx, h.tenant.ID, id)
			if err != nil || res.State != before.State || res.Error != "" {
				t.Errorf("reprocess %s: %+v %v; want %s", id, res, err, before.State)
			}
			after, _ := h.st.GetInbox(ctx, h.tenant.ID, id)
			if after.State != before.State || after.ErasedAt == nil || !after.ProcessedAt.Equal(*before.ProcessedAt) {
				t.Errorf("reprocess %s changed the row: %s processed at %v, erased at %v; was %s at %v",
					id, after.State, after.ProcessedAt, after.ErasedAt, before.State, before.ProcessedAt)
			}
		}
		if got, err := h.st.GetOrder(ctx, h.tenant.ID, o.ID); err != nil || got.Status != o.Status || !got.UpdatedAt.Equal(o.UpdatedAt) {
			t.Errorf("the order after reprocessing: %+v %v; was %+v", got, err, o)
		}
	})
}

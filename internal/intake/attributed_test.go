package intake_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/attribution"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// TestNewPaidOrderWrittenOnce: a purchase webhook for a new order ends with the order matched
// and its attribution exactly what attribution.Match gives for the stored order at the
// intake's clock (what apply computed after inserting the order, before it was inserted with
// its match), and the order row written once: the statistics triggers add one delta for the
// order (and one per planned delivery), where inserting it and then updating its match added
// three. A retry of the delivery writes nothing. A pending order paid later is attributed as
// before.
func TestNewPaidOrderWrittenOnce(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["hotmart"]
		src, err := h.st.GetSource(ctx, h.tenant.ID, h.src.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The buyer's ad click, carrying the visitor id of the fixture's sck, before the payment.
		if _, err := h.st.WriteTouchpoints(ctx, []store.Touchpoint{{TenantID: h.tenant.ID, SourceID: h.src.ID, Type: "page_view",
			VisitorID: "k_8f3a2b1c9d", OccurredAt: stripeT.Add(-time.Hour), ReceivedAt: stripeT.Add(-time.Hour), Consent: "granted",
			URL:    "https://shop.example/?utm_source=facebook&utm_medium=paid&utm_campaign=Launch&utm_id=123&fbclid=F1",
			FBCLID: "F1", UTM: store.UTM{Source: "facebook", Medium: "paid", Campaign: "Launch"}}}, nil); err != nil {
			t.Fatal(err)
		}
		if n, err := h.st.CompactStats(ctx); err != nil || n != 0 {
			t.Fatalf("statistics deltas before any order: %d, %v", n, err)
		}
		attributedAsBefore := func(t *testing.T, ext string) store.Order {
			t.Helper()
			o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "hotmart", ext)
			if err != nil {
				t.Fatal(err)
			}
			want, err := attribution.Match(ctx, h.st, src, o, h.svc.Now().UTC())
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.st.GetAttribution(ctx, h.tenant.ID, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want.Attribution) {
				t.Errorf("%s: attribution\n got  %+v\n want %+v", ext, got, want.Attribution)
			}
			if !o.Matched || got.Rule != attribution.RuleVisitorID || got.Ad.Platform == "" || got.ClickAt == nil {
				t.Errorf("%s: order matched %v, attribution %+v: want matched to the ad click", ext, o.Matched, got)
			}
			sales, err := h.st.AdSales(ctx, store.AdSalesFilter{TenantID: h.tenant.ID, Since: stripeT.Add(-48 * time.Hour),
				Until: stripeT.Add(48 * time.Hour), Ads: true, ByClick: true})
			if err != nil || len(sales) != 1 || sales[0].Ad != got.Ad {
				t.Errorf("%s: ad sales %+v (%v), want the attribution's ad %+v", ext, sales, err, got.Ad)
			}
			return o
		}

		code, r := h.send(t, "hotmart", h.src, f.RawBody, f.Request.Headers, "")
		if code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("purchase: %d %+v", code, r)
		}
		o := attributedAsBefore(t, "HP1234567890")
		ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID})
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries %+v, %v", ds, err)
		}
		if n, err := h.st.CompactStats(ctx); err != nil || n != 1+int64(len(ds)) {
			t.Errorf("statistics deltas of a new paid order: %d (%v), want 1 for the order written once and 1 per delivery", n, err)
		}

		// The gateway's retry: a duplicate, nothing written.
		code, r = h.send(t, "hotmart", h.src, f.RawBody, f.Request.Headers, "")
		if code != http.StatusOK || r.State != string(store.InboxDuplicate) {
			t.Fatalf("retry: %d %+v", code, r)
		}
		if n, err := h.st.CompactStats(ctx); err != nil || n != 0 {
			t.Errorf("statistics deltas of a retry: %d, %v", n, err)
		}
		if again := attributedAsBefore(t, "HP1234567890"); !reflect.DeepEqual(again, o) {
			t.Errorf("order after the retry\n got  %+v\n want %+v", again, o)
		}

		// A PIX order created pending, then paid: attributed when paid, as before.
		pending := strings.ReplaceAll(f.RawBody, "HP1234567890", "HPPIX0000001")
		pending = strings.Replace(pending, `"id":"5f1c7b9e-3a2d-4c1e-9b8a-0d6e2f4a1c33"`, `"id":"pix-1"`, 1)
		paid := strings.Replace(pending, `"id":"pix-1"`, `"id":"pix-2"`, 1)
		pending = strings.Replace(pending, `"event":"PURCHASE_APPROVED"`, `"event":"PURCHASE_BILLET_PRINTED"`, 1)
		pending = strings.Replace(pending, `"status":"APPROVED"`, `"status":"BILLET_PRINTED"`, 1)
		for _, body := range []string{pending, paid} {
			if code, r := h.send(t, "hotmart", h.src, body, f.Request.Headers, ""); code != http.StatusOK || r.State != string(store.InboxProcessed) {
				t.Fatalf("pix: %d %+v", code, r)
			}
		}
		if o := attributedAsBefore(t, "HPPIX0000001"); o.Status != domain.StatusPaid {
			t.Errorf("pix order %s", o.Status)
		}
	})
}

// txReads records the attribution reads made inside the intake's transactions.
type txReads struct {
	store.Store
	mu    sync.Mutex
	reads []string
}

func (s *txReads) Tx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(readsTx{tx, s}) })
}

func (s *txReads) add(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads = append(s.reads, what)
}

type readsTx struct {
	store.Tx
	s *txReads
}

func (tx readsTx) GetOrderByExternalID(ctx context.Context, tenantID, provider, externalID string) (store.Order, error) {
	tx.s.add("GetOrderByExternalID")
	return tx.Tx.GetOrderByExternalID(ctx, tenantID, provider, externalID)
}

func (tx readsTx) TouchpointsByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	tx.s.add("TouchpointsByVisitor")
	return tx.Tx.TouchpointsByVisitor(ctx, tenantID, visitorID, since, until, limit)
}

func (tx readsTx) TouchpointsByClickID(ctx context.Context, tenantID string, kind store.ClickKind, value string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	tx.s.add("TouchpointsByClickID")
	return tx.Tx.TouchpointsByClickID(ctx, tenantID, kind, value, since, until, limit)
}

func (tx readsTx) TouchpointsByNetwork(ctx context.Context, tenantID, ip, userAgent string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	tx.s.add("TouchpointsByNetwork")
	return tx.Tx.TouchpointsByNetwork(ctx, tenantID, ip, userAgent, since, until, limit)
}

func (tx readsTx) VisitorsByIdentity(ctx context.Context, tenantID string, kind store.IdentityKind, hash string) ([]store.Identity, error) {
	tx.s.add("VisitorsByIdentity")
	return tx.Tx.VisitorsByIdentity(ctx, tenantID, kind, hash)
}

// TestNewPaidOrderMatchedBeforeTx: a purchase webhook for a new order is matched before the
// processing transaction (outside the one writer SQLite has), so the transaction makes none
// of the match's reads, and the order still ends matched to the buyer's ad click.
func TestNewPaidOrderMatchedBeforeTx(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["hotmart"]
		if _, err := h.st.WriteTouchpoints(ctx, []store.Touchpoint{{TenantID: h.tenant.ID, SourceID: h.src.ID, Type: "page_view",
			VisitorID: "k_8f3a2b1c9d", OccurredAt: stripeT.Add(-time.Hour), ReceivedAt: stripeT.Add(-time.Hour), Consent: "granted",
			URL:    "https://shop.example/?utm_source=facebook&utm_medium=paid&utm_campaign=Launch&utm_id=123&fbclid=F1",
			FBCLID: "F1", UTM: store.UTM{Source: "facebook", Medium: "paid", Campaign: "Launch"}}}, nil); err != nil {
			t.Fatal(err)
		}
		rec := &txReads{Store: h.st}
		h.svc.Store = rec
		code, r := h.send(t, "hotmart", h.src, f.RawBody, f.Request.Headers, "")
		if code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("purchase: %d %+v", code, r)
		}
		rec.mu.Lock()
		reads := rec.reads
		rec.mu.Unlock()
		if len(reads) != 0 {
			t.Errorf("reads inside the processing transaction: %v, want none (the match is read before it)", reads)
		}
		o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "hotmart", "HP1234567890")
		if err != nil {
			t.Fatal(err)
		}
		a, err := h.st.GetAttribution(ctx, h.tenant.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Matched || a.Rule != attribution.RuleVisitorID || a.ClickAt == nil {
			t.Errorf("order matched %v, attribution %+v: want matched to the ad click", o.Matched, a)
		}
	})
}

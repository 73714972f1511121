package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// paidOrder creates a paid order shaped by mutate, optionally attributed to touchpoint tpID, and
// plans its delivery.
func (e *env) paidOrder(t *testing.T, paidAt time.Time, tpID string, mutate func(*store.OrderEvent)) store.Delivery {
	t.Helper()
	e.n++
	oe := store.OrderEvent{TenantID: e.tenant.ID, Provider: "shopify", ExternalID: fmt.Sprintf("S%d-%d", e.n, time.Now().UnixNano()),
		EventKey: "k", Status: domain.StatusPaid, NativeStatus: "orders/paid", OccurredAt: paidAt, AmountMinor: 19700, Currency: "BRL",
		Buyer: store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com")}, ReceivedAt: paidAt}
	mutate(&oe)
	return e.plan(t, oe, tpID, paidAt)
}

// userData delivers d to the fake Graph API and returns the user_data Meta received.
func (e *env) userData(t *testing.T, d store.Delivery) map[string]json.RawMessage {
	t.Helper()
	if err := e.worker.Work(context.Background(), job(d, 1, 0)); err != nil {
		t.Fatal(err)
	}
	for _, ev := range e.fake.Events() {
		if ev.EventID != d.EventID {
			continue
		}
		var se struct {
			UserData map[string]json.RawMessage `json:"user_data"`
		}
		if err := json.Unmarshal(ev.Raw, &se); err != nil {
			t.Fatal(err)
		}
		return se.UserData
	}
	got, at := e.state(t, d)
	t.Fatalf("%s not at the fake: %+v %+v", d.EventID, got, at)
	return nil
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// An order that carries an fbclid back (Shopify's landing_site, a checkout's tracking
// parameters) but no _fbc, with no click Hub credited, still gives Meta an fbc:
// fb.1.<creation ms>.<fbclid>, the fbclid byte for byte, dated by the landing Hub recorded with
// that fbclid, else by the order.
func TestFBCFromTheOrdersClickID(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC().Truncate(time.Millisecond)

		t.Run("orphan: dated by the order", func(t *testing.T) {
			paid := now.Add(-time.Hour)
			d := e.paidOrder(t, paid, "", func(oe *store.OrderEvent) {
				oe.Tracking = store.Tracking{ClickIDs: domain.ClickIDs{FBCLID: "IwAR2F4-dbP0l7Mn1IawQQ_MixedCASE", GCLID: "Cj0KCQ", GBRAID: "0AAAAA-gb", WBRAID: "wb-1", TTCLID: "E.C.P.tt"}}
			})
			ud := e.userData(t, d)
			if want := fmt.Sprintf("fb.1.%d.IwAR2F4-dbP0l7Mn1IawQQ_MixedCASE", paid.UnixMilli()); str(ud["fbc"]) != want {
				t.Errorf("fbc = %s, want %s", ud["fbc"], want)
			}
			o, err := e.st.GetOrder(ctx, e.tenant.ID, d.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if tr := o.Tracking; tr.GCLID != "Cj0KCQ" || tr.GBRAID != "0AAAAA-gb" || tr.WBRAID != "wb-1" || tr.TTCLID != "E.C.P.tt" {
				t.Errorf("the order's click ids were not kept: %+v", tr)
			}
		})

		t.Run("dated by the landing Hub recorded with the fbclid", func(t *testing.T) {
			landed := now.Add(-3 * time.Hour)
			if _, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{{ID: "tp-landing-" + e.dialect, TenantID: e.tenant.ID, Type: "page_view",
				OccurredAt: landed, ReceivedAt: landed, VisitorID: "v-other", FBCLID: "IwAR-landed", URL: "https://loja.example.com.br/?fbclid=IwAR-landed"}}); err != nil {
				t.Fatal(err)
			}
			d := e.paidOrder(t, now.Add(-time.Hour), "", func(oe *store.OrderEvent) {
				oe.Tracking = store.Tracking{ClickIDs: domain.ClickIDs{FBCLID: "IwAR-landed"}}
			})
			if want := fmt.Sprintf("fb.1.%d.IwAR-landed", landed.UnixMilli()); str(e.userData(t, d)["fbc"]) != want {
				t.Errorf("fbc = %s, want %s", e.userData(t, d)["fbc"], want)
			}
		})

		t.Run("a cookie the gateway carried wins", func(t *testing.T) {
			d := e.paidOrder(t, now.Add(-time.Hour), "", func(oe *store.OrderEvent) {
				oe.Tracking = store.Tracking{ClickIDs: domain.ClickIDs{FBCLID: "IwAR-x", FBC: "fb.1.1767225000000.IwAR-x"}}
			})
			if got := str(e.userData(t, d)["fbc"]); got != "fb.1.1767225000000.IwAR-x" {
				t.Errorf("fbc = %s", got)
			}
		})

		t.Run("the credited click's fbclid is dated by its landing", func(t *testing.T) {
			clicked := now.Add(-2 * time.Hour)
			id := "tp-click-" + e.dialect
			if _, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{{ID: id, TenantID: e.tenant.ID, Type: "page_view",
				OccurredAt: clicked, ReceivedAt: clicked, VisitorID: "v1", FBCLID: "IwAR-Click", URL: "https://loja.example.com.br/?fbclid=IwAR-Click",
				UserAgent: "Mozilla/5.0"}}); err != nil {
				t.Fatal(err)
			}
			d := e.paidOrder(t, now.Add(-time.Hour), id, func(*store.OrderEvent) {})
			if want := fmt.Sprintf("fb.1.%d.IwAR-Click", clicked.UnixMilli()); str(e.userData(t, d)["fbc"]) != want {
				t.Errorf("fbc = %s, want %s", e.userData(t, d)["fbc"], want)
			}
		})
	})
}

// Birth date and gender reach Meta as db and ge; the buyer's national id reaches external_id
// only once the tenant opts in on the destination (send_national_id).
func TestBuyerDetailsAndNationalIDOptIn(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		cpf := pii.SHA256Hex("00000000191")
		buyer := func(oe *store.OrderEvent) {
			oe.Buyer.DateOfBirthHash, oe.Buyer.GenderHash, oe.Buyer.ExternalID = pii.SHA256Hex("19900520"), pii.SHA256Hex("f"), cpf
		}
		ud := e.userData(t, e.paidOrder(t, now.Add(-time.Hour), "", buyer))
		if got, want := string(ud["db"]), `["`+pii.SHA256Hex("19900520")+`"]`; got != want {
			t.Errorf("db = %s, want %s", got, want)
		}
		if got, want := string(ud["ge"]), `["`+pii.SHA256Hex("f")+`"]`; got != want {
			t.Errorf("ge = %s, want %s", got, want)
		}
		if ids := string(ud["external_id"]); ids != "" {
			t.Errorf("national id sent without the tenant's opt-in: external_id = %s", ids)
		}

		adm := &admin.Service{Store: e.st, Keys: e.keys}
		if _, err := adm.UpdateDestination(ctx, e.tenant.ID, e.dest.ID, admin.DestinationPatch{
			Config: map[string]string{meta.SettingSendNationalID: "true"}}, nil); err != nil {
			t.Fatal(err)
		}
		ud = e.userData(t, e.paidOrder(t, now.Add(-time.Hour), "", buyer))
		if got, want := string(ud["external_id"]), `["`+cpf+`"]`; got != want {
			t.Errorf("opted in: external_id = %s, want %s", got, want)
		}
	})
}

// Google's click ids reach the event from the credited click as well as from the order: each
// kind the click's, else the order's (the click's ids beat the order's, as for gclid). Before,
// a touchpoint's gbraid and wbraid were dropped, so an iOS Google click reached Google Ads only
// when the gateway carried its id back. Google Ads then sends one of the three, gclid first
// (dest/googleads; end to end: app.TestGoogleAdsIOSClickIDs).
func TestGoogleClickIDsFromTheCreditedClick(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC().Truncate(time.Millisecond)
		for i, c := range []struct {
			name  string
			order domain.ClickIDs
			click store.Touchpoint
			want  [3]string // gclid, gbraid, wbraid
		}{
			{"a wbraid on the click alone", domain.ClickIDs{}, store.Touchpoint{WBRAID: "wb-click"}, [3]string{"", "", "wb-click"}},
			{"a gbraid on the click alone", domain.ClickIDs{}, store.Touchpoint{GBRAID: "gb-click"}, [3]string{"", "gb-click", ""}},
			{"the order's gclid and the click's gbraid", domain.ClickIDs{GCLID: "g-order"}, store.Touchpoint{GBRAID: "gb-click"}, [3]string{"g-order", "gb-click", ""}},
			{"the click's gbraid beats the order's", domain.ClickIDs{GBRAID: "gb-order", WBRAID: "wb-order"}, store.Touchpoint{GBRAID: "gb-click"}, [3]string{"", "gb-click", "wb-order"}},
			{"the click's gclid beats the order's, braids kept", domain.ClickIDs{GCLID: "g-order"}, store.Touchpoint{GCLID: "g-click", WBRAID: "wb-click"}, [3]string{"g-click", "", "wb-click"}},
			{"no click", domain.ClickIDs{WBRAID: "wb-order"}, store.Touchpoint{}, [3]string{"", "", "wb-order"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				tpID := ""
				if c.click.GCLID+c.click.GBRAID+c.click.WBRAID != "" {
					tp := c.click
					tp.ID, tp.TenantID, tp.Type, tp.VisitorID = fmt.Sprintf("tp-google-%s-%d", e.dialect, i), e.tenant.ID, "page_view", "v-google"
					tp.OccurredAt, tp.ReceivedAt, tp.URL = now.Add(-2*time.Hour), now.Add(-2*time.Hour), "https://loja.example.com.br/oferta"
					if _, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{tp}); err != nil {
						t.Fatal(err)
					}
					tpID = tp.ID
				}
				d := e.paidOrder(t, now.Add(-time.Hour), tpID, func(oe *store.OrderEvent) { oe.Tracking = store.Tracking{ClickIDs: c.order} })
				ev, err := delivery.Event(ctx, e.st, d)
				if err != nil {
					t.Fatal(err)
				}
				if got := [3]string{ev.User.GCLID, ev.User.GBRAID, ev.User.WBRAID}; got != c.want {
					t.Errorf("gclid, gbraid, wbraid = %q, want %q", got, c.want)
				}
			})
		}
	})
}

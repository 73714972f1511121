package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// An integrator reconciling with a gateway finds an order by the gateway's id, the buyer's
// e-mail or phone (hashed on the way in, never in the URL) and the visitor id, with any key.
func TestFindOrderByWhatIntegratorsKnow(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		a := e.tenant("acme")
		b := e.tenant("beta") // the same buyer at another tenant is never found
		// The phone as a gateway sends it: national, as intake hashes it (no country code added).
		phone, err := pii.HashPhone("(11) 98765-4321", "")
		if err != nil {
			t.Fatal(err)
		}
		other := e.order(a.ID, a.Source.ID, "", "HP-OTHER", domain.StatusPaid, 100, "BRL", "someone@else.example")
		for _, tn := range []tenant{a, b} {
			o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, SourceID: tn.Source.ID, Provider: "hotmart", ExternalID: "HP-PHONE",
				EventKey: "ev", Status: domain.StatusPaid, AmountMinor: 100, Currency: "BRL", Buyer: store.Buyer{PhoneHash: phone}})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.PutAttribution(ctx, store.Attribution{TenantID: tn.ID, OrderID: o.ID, TouchpointID: tn.Touchpoint.ID, VisitorID: "v-buyer", Rule: "visitor_id", Confidence: 1}); err != nil {
				t.Fatal(err)
			}
		}
		byPhone, _ := st.GetOrderByExternalID(ctx, a.ID, "hotmart", "HP-PHONE")

		search := func(key string, body map[string]any) []string {
			t.Helper()
			var page api.Page[api.Order]
			e.must(http.StatusOK, key, "POST", "/api/v1/orders/search", body).json(t, &page)
			var ids []string
			for _, o := range page.Items {
				ids = append(ids, o.ID)
			}
			return ids
		}
		one := func(name string, got []string, want ...string) {
			t.Helper()
			if len(got) != len(want) {
				t.Errorf("%s: %v, want %v", name, got, want)
				return
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: %v, want %v", name, got, want)
				}
			}
		}
		one("by gateway id", search(a.ReadKey, map[string]any{"external_id": "HP-acme"}), a.Order.ID)
		one("by e-mail, typed differently", search(a.ReadKey, map[string]any{"email": "  Buyer@ACME.example "}), a.Order.ID)
		one("by phone as typed", search(a.ReadKey, map[string]any{"phone": "11 98765 4321"}), byPhone.ID)
		one("by phone with country code", search(a.ReadKey, map[string]any{"phone": "+55 11 98765-4321"}), byPhone.ID)
		one("by visitor id", search(a.AdminKey, map[string]any{"visitor_id": "v-buyer"}), byPhone.ID)
		one("e-mail and gateway id", search(a.ReadKey, map[string]any{"email": "someone@else.example", "external_id": "HP-OTHER"}), other.ID)
		one("nothing", search(a.ReadKey, map[string]any{"email": "nobody@acme.example"}))

		// The same on GET for the ids that are not personal data.
		var page api.Page[api.Order]
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/orders?external_id=HP-PHONE", nil).json(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != byPhone.ID {
			t.Errorf("GET by external_id: %+v", page.Items)
		}
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/orders?visitor_id=v-buyer", nil).json(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != byPhone.ID {
			t.Errorf("GET by visitor_id: %+v", page.Items)
		}

		// Bad input names the field.
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{}, "external_id"},
			{map[string]any{"email": "not-an-address"}, "email"},
			{map[string]any{"phone": "12"}, "phone"},
			{map[string]any{"external_id": "x", "limit": 9999}, "limit"},
		} {
			p := e.must(http.StatusBadRequest, a.ReadKey, "POST", "/api/v1/orders/search", c.body).problem(t)
			if len(p.Errors) == 0 || p.Errors[0].Field != c.field {
				t.Errorf("search %v: %+v, want field %s", c.body, p, c.field)
			}
		}
	})
}

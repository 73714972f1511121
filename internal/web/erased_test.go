package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// TestErasedBuyerOrderPage: after the dashboard erases a buyer, her order's page says, in
// English and in Portuguese, that her data was erased on that day (in the tenant's time zone)
// and that nothing more about them is sent; her delivery shows the reason in words, and no
// Replay button is offered, for the order or for a delivery.
func TestErasedBuyerOrderPage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			ctx := context.Background()
			tn := mustTenant(t, e)
			em, _ := pii.HashEmail("maria@example.com")
			now := time.Now().UTC()
			o, _, err := e.st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, SourceID: "src", Provider: "hotmart", ExternalID: "HP-ERASED",
				EventKey: "paid", Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: now, AmountMinor: 19700, Currency: "BRL",
				Buyer: store.Buyer{EmailHash: em}, ReceivedAt: now,
				Tracking: store.Tracking{VisitorID: "0194aaaa-maria", ClickIDs: domain.ClickIDs{FBP: "fb.1.1700000000000.42"}}})
			if err != nil {
				t.Fatal(err)
			}
			ds, err := e.st.CreateDestination(ctx, store.Destination{TenantID: tn.ID, Type: "meta", Name: "Meta pixel", Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			d, _, err := e.st.CreateDelivery(ctx, store.Delivery{TenantID: tn.ID, OrderID: o.ID, DestinationID: ds.ID,
				EventName: domain.EventPurchase, EventID: "ev-erased", State: store.DeliveryPending})
			if err != nil {
				t.Fatal(err)
			}
			before := c.get("/orders/" + o.ID + "?lang=en")
			mustContain(t, "order page before the erasure", before.body, `name="delivery_id" value="`+d.ID+`"`)

			tok := c.csrf("/settings")
			r := c.post("/settings/erase", url.Values{"csrf": {tok}, "email": {"maria@example.com"}})
			if r.status != http.StatusOK {
				t.Fatalf("erase: %d %s", r.status, r.body)
			}
			mustContain(t, "erasure flash", html.UnescapeString(r.body), "1 deliveries not yet sent will not be sent")
			got, err := e.st.GetOrder(ctx, tn.ID, o.ID)
			if err != nil || got.ErasedAt == nil {
				t.Fatalf("order after the erasure: %+v %v", got, err)
			}
			loc, err := time.LoadLocation(tn.TimeZone)
			if err != nil {
				t.Fatal(err)
			}
			day := got.ErasedAt.In(loc)
			for lang, want := range map[string][]string{
				"en": {"This person's data was erased on " + day.Format("Jan 2, 2006") + "; nothing more about them is sent",
					"Person's data erased", "nothing more about them is sent to any destination"},
				"pt-BR": {"Os dados desta pessoa foram apagados em " + day.Format("02/01/2006") + "; nada mais sobre ela é enviado",
					"Dados da pessoa apagados", "nada mais sobre ela é enviado a nenhum destino"},
			} {
				page := c.get("/orders/" + o.ID + "?lang=" + lang)
				if page.status != http.StatusOK {
					t.Fatalf("%s: order page %d", lang, page.status)
				}
				text := html.UnescapeString(page.body)
				mustContain(t, lang+" erased order page", text, want...)
				// The skipped delivery is never sent: the page does not list what it "sends".
				for _, replay := range []string{`action="/orders/` + o.ID + `/replay"`, `name="delivery_id"`,
					"Identifiers Hub sends the platform", "Identificadores que o Hub envia à plataforma"} {
					if strings.Contains(text, replay) {
						t.Errorf("%s: the erased order's page shows %s", lang, replay)
					}
				}
			}
		})
	}
}

// TestErasedWebhookOnOrderPage: a refund webhook that arrived after its buyer's erasure, applied
// and emptied as the intake does it (ScrubInbox), is listed on the order's page with a sentence,
// in English and in Portuguese, saying that its contents were removed because the person's data
// was erased, instead of an empty body.
func TestErasedWebhookOnOrderPage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			ctx := context.Background()
			tn := mustTenant(t, e)
			em, _ := pii.HashEmail("maria@example.com")
			now := time.Now().UTC()
			paid := store.OrderEvent{TenantID: tn.ID, SourceID: "src", Provider: "hotmart", ExternalID: "HP-ERASED",
				EventKey: "paid", Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: now, AmountMinor: 19700, Currency: "BRL",
				Buyer: store.Buyer{EmailHash: em}, ReceivedAt: now}
			o, _, err := e.st.ApplyOrderEvent(ctx, paid)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.ErasePerson(ctx, tn.ID, store.Person{EmailHash: em}, store.AuditEntry{Actor: "user:ana", Action: "person.erase"}); err != nil {
				t.Fatal(err)
			}
			in, err := e.st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: "src", Provider: "hotmart", ReceivedAt: now,
				Body: []byte(`{"event":"PURCHASE_REFUNDED","data":{"buyer":{"email":"maria@example.com"}}}`)})
			if err != nil {
				t.Fatal(err)
			}
			refund := paid
			refund.EventKey, refund.Status, refund.NativeStatus, refund.InboxID, refund.Buyer = "refunded", domain.StatusRefunded, "REFUNDED", in.ID, store.Buyer{}
			if err := e.st.Tx(ctx, func(tx store.Tx) error {
				if _, _, err := tx.ApplyOrderEvent(ctx, refund); err != nil {
					return err
				}
				if err := tx.SetInboxState(ctx, tn.ID, in.ID, store.InboxProcessed, "", o.ID, now); err != nil {
					return err
				}
				return tx.ScrubInbox(ctx, tn.ID, in.ID, now)
			}); err != nil {
				t.Fatal(err)
			}
			for lang, want := range map[string]string{
				"en":    "This webhook arrived after this person's data was erased: it updated the order's status and amounts, and then its headers and body were removed, so nothing about them is kept.",
				"pt-BR": "Este webhook chegou depois que os dados desta pessoa foram apagados: ele atualizou o status e os valores do pedido, e depois os cabeçalhos e o corpo dele foram removidos, então nada sobre ela é guardado.",
			} {
				page := c.get("/orders/" + o.ID + "?lang=" + lang)
				if page.status != http.StatusOK {
					t.Fatalf("%s: order page %d", lang, page.status)
				}
				text := html.UnescapeString(page.body)
				mustContain(t, lang+" order page", text, want)
				if strings.Contains(text, `<pre class="raw">`) || strings.Contains(text, "maria@example.com") {
					t.Errorf("%s: the order page shows a raw body for the emptied webhook", lang)
				}
			}
		})
	}
}

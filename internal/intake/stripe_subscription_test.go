package intake_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/attribution"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// stripeSign is the Stripe-Signature of body signed at the fixture's time with secret.
func stripeSign(secret, body string) string {
	ts := fmt.Sprint(stripeT.Unix())
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + body))
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// subscriptionEvents are the deliveries Stripe sends for a subscription bought through a
// Payment Link or Checkout Session at the pinned API version (the Stripe adapter's cases): the
// session, the first invoice paid (two events), its PaymentIntent and Charge, which name no
// invoice, and the invoice payment that links them.
var subscriptionEvents = []string{
	"subscription_session_completed", "subscription_invoice_paid", "subscription_invoice_payment_succeeded",
	"subscription_payment_intent_succeeded", "subscription_charge_succeeded", "subscription_invoice_payment_paid",
}

// TestStripeSubscriptionCountedOnce: a subscription's first payment is one order, paid and
// sent to Meta once, matched to the visitor the Checkout Session carries back
// (client_reference_id), whichever of Stripe's events about it arrive and in whatever order:
// the session first, the payment first (its PaymentIntent, Charge or invoice), every event
// twice (Stripe's retries), or all at once.
func TestStripeSubscriptionCountedOnce(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		secret := h.fx["stripe"].Verification.TestSecret
		bodies := map[string]string{}
		for _, name := range subscriptionEvents {
			bodies[name] = webhooktest.CaseBody(t, "stripe", name)
		}
		// The buyer's ad click, carrying the visitor id the session's client_reference_id names.
		if _, err := h.st.WriteTouchpoints(ctx, []store.Touchpoint{{TenantID: h.tenant.ID, SourceID: h.src.ID, Type: "page_view",
			VisitorID: "k_8f3a2b1c9d", OccurredAt: stripeT.Add(-time.Hour), ReceivedAt: stripeT.Add(-time.Hour), Consent: "granted",
			URL:    "https://loja.example.com.br/?utm_source=facebook&utm_campaign=assinatura_jan&fbclid=F1",
			FBCLID: "F1", UTM: store.UTM{Source: "facebook", Campaign: "assinatura_jan"}}}, nil); err != nil {
			t.Fatal(err)
		}
		// send posts the named event of the subscription run, its Stripe ids made the run's own,
		// and returns the inbox id of a delivery acknowledged before it was processed (every
		// inline slot busy: this replica's background workers process it), else "".
		send := func(t *testing.T, run, name string) string {
			t.Helper()
			body := strings.ReplaceAll(bodies[name], "TestOnlySub", "TestOnlySub"+run)
			hdr := map[string]string{"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": stripeSign(secret, body)}
			code, r := h.send(t, "stripe", h.src, body, hdr, "")
			if code != http.StatusOK {
				t.Errorf("%s: %d %+v", name, code, r)
			}
			if r.State == string(store.InboxReceived) {
				return r.InboxID
			}
			return ""
		}
		// settle waits until every delivery acknowledged before it was processed is processed.
		settle := func(t *testing.T, ids []string) {
			t.Helper()
			for _, id := range ids {
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					e, err := h.st.GetInbox(ctx, h.tenant.ID, id)
					if err != nil {
						t.Fatal(err)
					}
					if e.State != store.InboxReceived {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("delivery %s still received 30 s after its acknowledgement", id)
					}
				}
			}
		}
		// countedOnce checks the run's orders: one, paid, the first invoice's, its Purchase
		// planned once, matched to the session's visitor.
		countedOnce := func(t *testing.T, run string) {
			t.Helper()
			all, err := h.st.ListOrders(ctx, store.OrderFilter{TenantID: h.tenant.ID, Provider: "stripe", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var orders []store.Order
			for _, o := range all {
				if strings.Contains(o.ExternalID, "TestOnlySub"+run) {
					orders = append(orders, o)
				}
			}
			if len(orders) != 1 {
				ids := make([]string, len(orders))
				for i, o := range orders {
					ids[i] = o.ExternalID + " " + string(o.Status)
				}
				t.Fatalf("%d orders %v, want 1", len(orders), ids)
			}
			o := orders[0]
			if want := "in_1TestOnlySub" + run + "000000000000"; o.ExternalID != want || o.Status != domain.StatusPaid || o.AmountMinor != 9700 || o.Currency != "BRL" {
				t.Errorf("order %s %s %d %s, want %s paid 9700 BRL", o.ExternalID, o.Status, o.AmountMinor, o.Currency, want)
			}
			ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID})
			if err != nil || len(ds) != 1 {
				t.Errorf("deliveries %+v (%v), want the one Purchase", ds, err)
			} else if want := "stripe:" + o.ExternalID + ":purchase"; ds[0].EventID != want {
				t.Errorf("Purchase event id %q, want %q", ds[0].EventID, want)
			}
			if o.Tracking.ClientReferenceID != "k_8f3a2b1c9d" {
				t.Errorf("order tracking %+v, want the session's client_reference_id", o.Tracking)
			}
			a, err := h.st.GetAttribution(ctx, h.tenant.ID, o.ID)
			if err != nil || !o.Matched || a.VisitorID != "k_8f3a2b1c9d" || a.Rule != attribution.RuleVisitorID {
				t.Errorf("order matched %v, attribution %+v (%v): want the session's visitor", o.Matched, a, err)
			}
		}

		reversed := make([]string, len(subscriptionEvents))
		for i, name := range subscriptionEvents {
			reversed[len(subscriptionEvents)-1-i] = name
		}
		runs := map[string][]string{
			"S": subscriptionEvents, // the session first
			"P": reversed,           // the payment first: invoice payment, Charge, PaymentIntent, invoice, session
			"I": {"subscription_invoice_paid", "subscription_payment_intent_succeeded", "subscription_session_completed",
				"subscription_charge_succeeded"}, // the invoice first
			"R": append(append([]string{}, reversed...), subscriptionEvents...), // every event twice
		}
		for run, names := range runs {
			t.Run(run, func(t *testing.T) {
				var waiting []string
				for _, name := range names {
					if id := send(t, run, name); id != "" {
						waiting = append(waiting, id)
					}
				}
				settle(t, waiting)
				countedOnce(t, run)
			})
		}
		t.Run("at once", func(t *testing.T) {
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				waiting []string
			)
			for _, name := range append(append([]string{}, subscriptionEvents...), subscriptionEvents...) {
				wg.Go(func() {
					if id := send(t, "C", name); id != "" {
						mu.Lock()
						waiting = append(waiting, id)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			settle(t, waiting)
			countedOnce(t, "C")
		})
	})
}

// TestStripeOneOffPaymentIntentFirst: a one-off Checkout purchase (payment mode) whose
// PaymentIntent event arrives before the session is still one order, keyed by the
// PaymentIntent, paid and sent once, and matched to the visitor the session carries back: the
// PaymentIntent, which at the pinned API version cannot say that no invoice made it, waits for
// the session to create the order instead of creating it unmatched.
func TestStripeOneOffPaymentIntentFirst(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["stripe"]
		if _, err := h.st.WriteTouchpoints(ctx, []store.Touchpoint{{TenantID: h.tenant.ID, SourceID: h.src.ID, Type: "page_view",
			VisitorID: "k_8f3a2b1c9d", OccurredAt: stripeT.Add(-time.Hour), ReceivedAt: stripeT.Add(-time.Hour), Consent: "granted",
			URL: "https://loja.example.com.br/?fbclid=F1", FBCLID: "F1"}}, nil); err != nil {
			t.Fatal(err)
		}
		pi := webhooktest.CaseBody(t, "stripe", "one_off_payment_intent")
		hdr := map[string]string{"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": stripeSign(f.Verification.TestSecret, pi)}
		if code, r := h.send(t, "stripe", h.src, pi, hdr, ""); code != http.StatusOK || r.State != string(store.InboxIgnored) {
			t.Fatalf("the PaymentIntent first: %d %+v, want ignored", code, r)
		}
		if code, r := h.sendFixture(t, "stripe", h.src); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("the session: %d %+v", code, r)
		}
		// The PaymentIntent again (Stripe's retry, or the event resent by hand) joins it.
		if code, r := h.send(t, "stripe", h.src, pi, hdr, ""); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("the PaymentIntent after the session: %d %+v, want processed", code, r)
		}
		orders, err := h.st.ListOrders(ctx, store.OrderFilter{TenantID: h.tenant.ID, Provider: "stripe"})
		if err != nil || len(orders) != 1 {
			t.Fatalf("orders %+v (%v), want 1", orders, err)
		}
		o := orders[0]
		if o.ExternalID != "pi_3TestOnly0000000000000" || o.Status != domain.StatusPaid || !o.Matched {
			t.Errorf("order %s %s matched %v, want pi_3TestOnly0000000000000 paid and matched", o.ExternalID, o.Status, o.Matched)
		}
		if ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID}); err != nil || len(ds) != 1 {
			t.Errorf("deliveries %+v (%v), want the one Purchase", ds, err)
		}
		if a, err := h.st.GetAttribution(ctx, h.tenant.ID, o.ID); err != nil || a.VisitorID != "k_8f3a2b1c9d" {
			t.Errorf("attribution %+v (%v), want the session's visitor", a, err)
		}
	})
}

// TestStripeRenewalIsAnOrderOfItsOwn: a subscription's renewal (an invoice with billing_reason
// subscription_cycle) is an order of its own, keyed by its invoice, paid and sent once whatever
// order its events come in, as a renewal is for the gateways that send one (Kiwify's
// subscription_renewed); the first payment's order is left as it was.
func TestStripeRenewalIsAnOrderOfItsOwn(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		secret := h.fx["stripe"].Verification.TestSecret
		send := func(name string) {
			t.Helper()
			body := webhooktest.CaseBody(t, "stripe", name)
			hdr := map[string]string{"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": stripeSign(secret, body)}
			if code, r := h.send(t, "stripe", h.src, body, hdr, ""); code != http.StatusOK {
				t.Fatalf("%s: %d %+v", name, code, r)
			}
		}
		for _, name := range []string{"subscription_session_completed", "subscription_invoice_paid", "subscription_payment_intent_succeeded",
			"subscription_renewal_payment_intent_succeeded", "subscription_renewal_invoice_payment_succeeded",
			"subscription_renewal_invoice_paid", "subscription_renewal_invoice_paid", "subscription_renewal_payment_intent_succeeded"} {
			send(name)
		}
		orders, err := h.st.ListOrders(ctx, store.OrderFilter{TenantID: h.tenant.ID, Provider: "stripe"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]store.Order{}
		for _, o := range orders {
			got[o.ExternalID] = o
		}
		if len(got) != 2 {
			ids := make([]string, 0, len(got))
			for ext := range got {
				ids = append(ids, ext)
			}
			t.Fatalf("orders %v, want the first payment's and the renewal's", ids)
		}
		for _, ext := range []string{"in_1TestOnlySub000000000000", "in_1TestOnlySub000000000001"} {
			o, ok := got[ext]
			if !ok || o.Status != domain.StatusPaid || o.AmountMinor != 9700 {
				t.Errorf("order %s: %+v, want paid 9700", ext, o)
				continue
			}
			if ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID}); err != nil || len(ds) != 1 {
				t.Errorf("order %s: deliveries %+v (%v), want its one Purchase", ext, ds, err)
			}
		}
		if first := got["in_1TestOnlySub000000000000"]; first.Tracking.ClientReferenceID != "k_8f3a2b1c9d" {
			t.Errorf("the first payment's tracking %+v, want the session's", first.Tracking)
		}
	})
}

// TestStripeSubscriptionRefundReachesItsOrder: a refund or chargeback of a subscription's
// payment, whose events name only the PaymentIntent (and its Charge) at the pinned API version,
// reaches the subscription's order (its first invoice's, in_…) once invoice_payment.paid has
// told Hub which PaymentIntent paid that invoice, whether it came before the order or after:
// the order becomes refunded (all of it, or part: its net revenue drops by what was refunded)
// or charged back, no order is made under the PaymentIntent, and the destination that takes
// refunds and chargebacks (a webhook) gets exactly one of each, GA4 none. A renewal's refund
// reaches the renewal's order the same way. Without invoice_payment.paid the refund lands on
// an order of its own, as before.
func TestStripeSubscriptionRefundReachesItsOrder(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		secret := h.fx["stripe"].Verification.TestSecret
		hook, err := h.st.CreateDestination(ctx, store.Destination{TenantID: h.tenant.ID, Type: "webhook", Name: "crm", Enabled: true,
			Config: json.RawMessage(`{"url":"https://crm.example.com/hook","events":"Purchase,OrderRefunded,OrderChargeback"}`)})
		if err != nil {
			t.Fatal(err)
		}
		ga4, err := h.st.CreateDestination(ctx, store.Destination{TenantID: h.tenant.ID, Type: "ga4", Name: "ga4", Enabled: true,
			Config: json.RawMessage(`{"measurement_id":"G-TEST"}`)})
		if err != nil {
			t.Fatal(err)
		}
		// The first payment's PaymentIntent and Charge, as the subscription cases name them.
		const pi, ch = "pi_3TestOnlySub000000000000", "ch_3TestOnlySub000000000000"
		refund := func(refunded int) string {
			return strings.NewReplacer("pi_3TestOnly0000000000000", pi, "ch_3TestOnly0000000000000", ch,
				`"amount":19700`, `"amount":9700`, `"amount_refunded":19700`, fmt.Sprintf(`"amount_refunded":%d`, refunded),
				"evt_1TestOnlyRefund000000000", fmt.Sprintf("evt_1TestOnlySubRefund%05d", refunded),
			).Replace(webhooktest.CaseBody(t, "stripe", "charge_refunded"))
		}
		dispute := strings.NewReplacer("pi_3TestOnly0000000000000", pi, "ch_3TestOnly0000000000000", ch, `"amount":19700`, `"amount":9700`,
			"evt_1TestOnlyDispute00000000", "evt_1TestOnlySubDispute0000").Replace(webhooktest.CaseBody(t, "stripe", "dispute_created"))
		if !strings.Contains(refund(9700), pi) || strings.Contains(refund(9700), "19700") || !strings.Contains(dispute, pi) {
			t.Fatal("the refund and dispute bodies do not name the subscription's payment")
		}
		// send posts body with the run's own Stripe ids and returns the delivery's state.
		send := func(t *testing.T, run, body string) string {
			t.Helper()
			body = strings.ReplaceAll(body, "TestOnlySub", "TestOnlySub"+run)
			hdr := map[string]string{"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": stripeSign(secret, body)}
			code, r := h.send(t, "stripe", h.src, body, hdr, "")
			if code != http.StatusOK {
				t.Fatalf("%d %+v", code, r)
			}
			return r.State
		}
		sendCase := func(t *testing.T, run, name string) string {
			t.Helper()
			return send(t, run, webhooktest.CaseBody(t, "stripe", name))
		}
		// orders returns the run's orders by external id.
		orders := func(t *testing.T, run string) map[string]store.Order {
			t.Helper()
			all, err := h.st.ListOrders(ctx, store.OrderFilter{TenantID: h.tenant.ID, Provider: "stripe", Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]store.Order{}
			for _, o := range all {
				if strings.Contains(o.ExternalID, "TestOnlySub"+run) {
					out[o.ExternalID] = o
				}
			}
			return out
		}
		// deliveries counts the order's deliveries by destination and event name.
		deliveries := func(t *testing.T, o store.Order) map[string]int {
			t.Helper()
			ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int{}
			for _, d := range ds {
				switch d.DestinationID {
				case hook.ID:
					out["webhook "+d.EventName]++
				case ga4.ID:
					out["ga4 "+d.EventName]++
				default:
					out["meta "+d.EventName]++
				}
			}
			return out
		}
		// theOrder checks that the run has one order, its first invoice's, and returns it.
		theOrder := func(t *testing.T, run string, status domain.OrderStatus, net int64) store.Order {
			t.Helper()
			got := orders(t, run)
			inv := "in_1TestOnlySub" + run + "000000000000"
			o, ok := got[inv]
			if !ok || len(got) != 1 {
				ids := make([]string, 0, len(got))
				for ext, o := range got {
					ids = append(ids, ext+" "+string(o.Status))
				}
				t.Fatalf("orders %v, want only %s", ids, inv)
			}
			if o.Status != status || o.AmountMinor != 9700 || o.NetMinor() != net {
				t.Errorf("order %s: %s, amount %d, net %d; want %s, 9700, net %d", inv, o.Status, o.AmountMinor, o.NetMinor(), status, net)
			}
			return o
		}
		wantDeliveries := func(t *testing.T, o store.Order, want map[string]int) {
			t.Helper()
			if got := deliveries(t, o); !reflect.DeepEqual(got, want) {
				t.Errorf("deliveries %v, want %v", got, want)
			}
		}
		purchases := map[string]int{"meta Purchase": 1, "webhook Purchase": 1, "ga4 Purchase": 1}
		with := func(event string) map[string]int {
			m := maps.Clone(purchases)
			m["webhook "+event] = 1
			return m
		}

		t.Run("full refund, link learned after the order", func(t *testing.T) {
			for _, name := range []string{"subscription_session_completed", "subscription_invoice_paid",
				"subscription_payment_intent_succeeded", "subscription_invoice_payment_paid"} {
				sendCase(t, "F", name)
			}
			// The payment's Charge, once the link is known, joins the invoice's order too: it
			// creates nothing, and plans nothing more.
			if st := sendCase(t, "F", "subscription_charge_succeeded"); st != string(store.InboxProcessed) {
				t.Errorf("the Charge after the link: %s, want processed (joined)", st)
			}
			wantDeliveries(t, theOrder(t, "F", domain.StatusPaid, 9700), purchases)
			if st := send(t, "F", refund(9700)); st != string(store.InboxProcessed) {
				t.Errorf("refund: %s, want processed", st)
			}
			if st := send(t, "F", refund(9700)); st != string(store.InboxDuplicate) { // Stripe's retry
				t.Errorf("refund again: %s, want duplicate", st)
			}
			wantDeliveries(t, theOrder(t, "F", domain.StatusRefunded, 0), with(domain.EventOrderRefunded))
		})
		t.Run("partial refunds, link learned before the order", func(t *testing.T) {
			if st := sendCase(t, "P", "subscription_invoice_payment_paid"); st != string(store.InboxIgnored) {
				t.Errorf("invoice_payment.paid before its order: %s, want ignored", st)
			}
			// The PaymentIntent before its order is known: it only joins, and there is nothing yet.
			sendCase(t, "P", "subscription_payment_intent_succeeded")
			for _, name := range []string{"subscription_invoice_paid", "subscription_session_completed"} {
				sendCase(t, "P", name)
			}
			theOrder(t, "P", domain.StatusPaid, 9700)
			send(t, "P", refund(3000))
			o := theOrder(t, "P", domain.StatusRefunded, 6700)
			send(t, "P", refund(5000)) // a second refund: Stripe reports the total so far
			theOrder(t, "P", domain.StatusRefunded, 4700)
			wantDeliveries(t, o, with(domain.EventOrderRefunded))
		})
		t.Run("chargeback", func(t *testing.T) {
			for _, name := range []string{"subscription_session_completed", "subscription_invoice_payment_paid", "subscription_invoice_paid"} {
				sendCase(t, "D", name)
			}
			if st := send(t, "D", dispute); st != string(store.InboxProcessed) {
				t.Errorf("dispute: %s, want processed", st)
			}
			wantDeliveries(t, theOrder(t, "D", domain.StatusChargeback, 0), with(domain.EventOrderChargeback))
		})
		t.Run("a renewal's refund", func(t *testing.T) {
			for _, name := range []string{"subscription_session_completed", "subscription_invoice_paid", "subscription_invoice_payment_paid",
				"subscription_renewal_invoice_paid"} {
				sendCase(t, "N", name)
			}
			// The renewal's invoice_payment.paid: its invoice and PaymentIntent.
			send(t, "N", strings.NewReplacer("in_1TestOnlySub000000000000", "in_1TestOnlySub000000000001", pi, "pi_3TestOnlySub000000000001",
				"evt_1TestOnlySubInvPayment0", "evt_1TestOnlySubInvPayment1").Replace(webhooktest.CaseBody(t, "stripe", "subscription_invoice_payment_paid")))
			send(t, "N", strings.NewReplacer(pi, "pi_3TestOnlySub000000000001", ch, "ch_3TestOnlySub000000000001").Replace(refund(9700)))
			got := orders(t, "N")
			first, renewal := got["in_1TestOnlySubN000000000000"], got["in_1TestOnlySubN000000000001"]
			if len(got) != 2 || first.Status != domain.StatusPaid || renewal.Status != domain.StatusRefunded || renewal.NetMinor() != 0 {
				t.Errorf("orders %+v, want the first payment's paid and the renewal's refunded", got)
			}
			wantDeliveries(t, renewal, with(domain.EventOrderRefunded))
		})
		t.Run("no link: as before", func(t *testing.T) {
			for _, name := range []string{"subscription_session_completed", "subscription_invoice_paid"} {
				sendCase(t, "U", name)
			}
			send(t, "U", refund(9700))
			got := orders(t, "U")
			inv, own := got["in_1TestOnlySubU000000000000"], got["pi_3TestOnlySubU000000000000"]
			if len(got) != 2 || inv.Status != domain.StatusPaid || own.Status != domain.StatusRefunded {
				t.Errorf("orders %+v, want the subscription's paid and the refund's own", got)
			}
		})
	})
}

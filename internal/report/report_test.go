package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	teststore.Each(t, fn)
}

type fixture struct {
	t      *testing.T
	st     store.Store
	tenant string
	source string
}

func newFixture(t *testing.T, st store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := st.CreateSource(ctx, store.Source{TenantID: tn.ID, Name: "shop", PublicKey: "pk_" + tn.ID, WebhookToken: "wh_" + tn.ID,
		AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, st: st, tenant: tn.ID, source: src.ID}
}

func (f *fixture) destination(name string, enabled bool) store.Destination {
	f.t.Helper()
	d, err := f.st.CreateDestination(context.Background(), store.Destination{TenantID: f.tenant, Type: "meta", Name: name,
		Config: []byte(`{}`), Enabled: enabled, Health: store.DestinationHealth{State: "unknown"}})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// order records the given events of one order (in order) and returns it.
func (f *fixture) order(ext, provider string, amount int64, currency string, matched bool, statuses ...domain.OrderStatus) store.Order {
	f.t.Helper()
	ctx := context.Background()
	var o store.Order
	for i, s := range statuses {
		var err error
		o, _, err = f.st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: f.tenant, SourceID: f.source, Provider: provider, ExternalID: ext,
			EventKey: ext + "-" + string(s), Status: s, OccurredAt: time.Now().UTC().Add(time.Duration(i) * time.Second),
			AmountMinor: amount, Currency: currency, Products: []store.Product{{ID: "p1", Name: "Curso", Quantity: 1}}})
		if err != nil {
			f.t.Fatal(err)
		}
	}
	if matched {
		if err := f.st.PutAttribution(ctx, store.Attribution{TenantID: f.tenant, OrderID: o.ID, TouchpointID: "tp-" + ext, Rule: "visitor_id", Confidence: 1}); err != nil {
			f.t.Fatal(err)
		}
	}
	o, err := f.st.GetOrder(ctx, f.tenant, o.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

func (f *fixture) delivery(o store.Order, d store.Destination, state store.DeliveryState, reason string) store.Delivery {
	f.t.Helper()
	del, _, err := f.st.CreateDelivery(context.Background(), store.Delivery{TenantID: f.tenant, OrderID: o.ID, DestinationID: d.ID,
		EventName: "Purchase", EventID: o.Provider + ":" + o.ExternalID + ":purchase", State: state, Reason: reason})
	if err != nil {
		f.t.Fatal(err)
	}
	return del
}

func period() report.Period {
	now := time.Now().UTC()
	return report.Period{Since: now.Add(-time.Hour), Until: now.Add(time.Hour)}
}

func TestAccuracyReport(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st)
		meta := f.destination("meta", true)
		off := f.destination("meta off", false)

		delivered := f.order("O1", "hotmart", 19700, "BRL", true, domain.StatusPaid)
		f.delivery(delivered, meta, store.DeliveryDelivered, "")
		f.delivery(delivered, off, store.DeliverySkipped, "destination_disabled")

		dead := f.order("O2", "hotmart", 4700, "BRL", false, domain.StatusWaitingPayment, domain.StatusPaid)
		deadDel := f.delivery(dead, meta, store.DeliveryDead, "invalid_token")
		f.delivery(dead, off, store.DeliverySkipped, "destination_disabled")

		stale := f.order("O3", "kiwify", 990, "USD", false, domain.StatusPaid)
		f.delivery(stale, meta, store.DeliverySkipped, "stale")
		// O3 has no delivery for "meta off": never planned, a gap.

		refunded := f.order("O4", "kiwify", 990, "USD", true, domain.StatusPaid, domain.StatusRefunded)
		f.delivery(refunded, meta, store.DeliveryDelivered, "")
		f.delivery(refunded, off, store.DeliverySkipped, "destination_disabled")

		retrying := f.order("O5", "hotmart", 100, "BRL", false, domain.StatusPaid)
		f.delivery(retrying, meta, store.DeliveryRetrying, "rate_limited")
		f.delivery(retrying, off, store.DeliverySkipped, "destination_disabled")

		f.order("O6", "hotmart", 500, "BRL", false, domain.StatusWaitingPayment) // never paid: not in the report
		f.order("O7", "hotmart", 500, "BRL", false, domain.StatusRefused)

		// Another tenant's paid order never counts.
		g := newFixture(t, st)
		gd := g.destination("meta", true)
		g.delivery(g.order("G1", "hotmart", 100, "BRL", false, domain.StatusPaid), gd, store.DeliveryDelivered, "")

		acc, err := report.AccuracyReport(context.Background(), st, f.tenant, period())
		if err != nil {
			t.Fatal(err)
		}
		if acc.PaidOrders != 5 || len(acc.Destinations) != 2 {
			t.Fatalf("paid %d, destinations %d", acc.PaidOrders, len(acc.Destinations))
		}
		byName := map[string]report.DestinationAccuracy{}
		for _, d := range acc.Destinations {
			byName[d.Name] = d
		}
		m := byName["meta"]
		if m.PaidOrders != 5 || m.Delivered != 2 || m.NotSent != 1 || m.Gap != 2 || m.PaidOrders != m.Delivered+m.NotSent+m.Gap {
			t.Errorf("meta: %+v", m)
		}
		if !slices.Equal(m.NotSentByReason, []report.ReasonCount{{Reason: "stale", Count: 1}}) {
			t.Errorf("meta not sent: %+v", m.NotSentByReason)
		}
		gaps := map[string]report.GapOrder{}
		for _, g := range m.GapOrders {
			gaps[g.ExternalID] = g
		}
		if g := gaps["O2"]; g.State != "dead" || g.Reason != "invalid_token" || g.DeliveryID != deadDel.ID || g.AmountMinor != 4700 || g.Currency != "BRL" {
			t.Errorf("O2 gap: %+v", g)
		}
		if g := gaps["O5"]; g.State != "retrying" || g.Reason != "rate_limited" {
			t.Errorf("O5 gap: %+v", g)
		}
		o := byName["meta off"]
		if o.PaidOrders != 5 || o.Delivered != 0 || o.NotSent != 4 || o.Gap != 1 || o.GapOrders[0].ExternalID != "O3" || o.GapOrders[0].State != "missing" || o.GapOrders[0].DeliveryID != "" {
			t.Errorf("meta off: %+v", o)
		}
		if !slices.Equal(o.NotSentByReason, []report.ReasonCount{{Reason: "destination_disabled", Count: 4}}) {
			t.Errorf("meta off not sent: %+v", o.NotSentByReason)
		}

		// A destination added after the orders does not count them as its gap.
		late := f.destination("late", true)
		acc, err = report.AccuracyReport(context.Background(), st, f.tenant, period())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range acc.Destinations {
			if d.DestinationID == late.ID && (d.Gap != 0 || d.NotApplicable != 5) {
				t.Errorf("late destination: %+v", d)
			}
		}

		// The summary never sums currencies, and counts rates from the same data.
		s, err := report.Summarize(context.Background(), st, f.tenant, period())
		if err != nil {
			t.Fatal(err)
		}
		tot := s.Total
		if tot.Orders != 7 || tot.PaidOrders != 5 {
			t.Errorf("total orders %d paid %d", tot.Orders, tot.PaidOrders)
		}
		rows := map[string]report.StatusRow{}
		for _, r := range tot.ByStatus {
			rows[string(r.Status)+"/"+r.Provider+"/"+r.Currency] = r
		}
		if r := rows["paid/hotmart/BRL"]; r.Orders != 3 || r.RevenueMinor != 19700+4700+100 {
			t.Errorf("paid hotmart BRL: %+v", r)
		}
		if r := rows["paid/kiwify/USD"]; r.Orders != 1 || r.RevenueMinor != 990 {
			t.Errorf("paid kiwify USD: %+v", r)
		}
		if r := rows["refunded/kiwify/USD"]; r.Orders != 1 || r.RevenueMinor != 990 {
			t.Errorf("refunded kiwify USD: %+v", r)
		}
		if len(tot.ByStatus) != 5 {
			t.Errorf("by status rows: %+v", tot.ByStatus)
		}
		if tot.MatchRate.Numerator != 2 || tot.MatchRate.Denominator != 5 || *tot.MatchRate.Value != 0.4 {
			t.Errorf("match rate %+v", tot.MatchRate)
		}
		if tot.Deliveries != (report.DeliveryCounts{Delivered: 2, Dead: 1, Retrying: 1, Skipped: 5}) {
			t.Errorf("deliveries %+v", tot.Deliveries)
		}
		if tot.DeliverySuccessRate.Numerator != 2 || tot.DeliverySuccessRate.Denominator != 3 {
			t.Errorf("success rate %+v", tot.DeliverySuccessRate)
		}
		if !slices.Equal(tot.DeadByReason, []report.ReasonCount{{Reason: "invalid_token", Count: 1}}) {
			t.Errorf("dead by reason %+v", tot.DeadByReason)
		}
		var dayOrders int
		for _, d := range s.Days {
			dayOrders += d.Orders
		}
		if dayOrders != 7 || len(s.Days) < 1 || len(s.Days) > 2 {
			t.Errorf("days %+v", s.Days)
		}
	})
}

func TestSummaryDaysInLocation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st)
		f.order("A", "hotmart", 100, "BRL", false, domain.StatusPaid)
		loc := time.FixedZone("UTC-3", -3*3600)
		now := time.Now().In(loc)
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
		s, err := report.Summarize(context.Background(), st, f.tenant, report.Period{Since: day.AddDate(0, 0, -2), Until: day.Add(24*time.Hour - time.Second), Location: loc})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Days) != 3 || s.Days[2].Date != day.Format(time.DateOnly) || s.Days[2].Orders != 1 || s.Days[0].Orders != 0 || s.Days[0].ByStatus == nil {
			t.Errorf("days %+v", s.Days)
		}
		if s.Days[0].MatchRate.Value != nil {
			t.Error("a rate over zero orders must be absent, not 0")
		}
	})
}

func TestOrderCSVQuoting(t *testing.T) {
	t.Parallel()
	paid := time.Date(2026, 1, 5, 17, 30, 0, 0, time.UTC)
	orders := []store.Order{
		{ID: "o1", CreatedAt: paid, SourceID: "s1", Provider: "hotmart", ExternalID: "HP,123", Status: domain.StatusPaid,
			AmountMinor: 19700, Currency: "BRL", PaidAt: &paid, Matched: true,
			Products: []store.Product{{ID: "p1", Name: `Curso "Avançado", turma 2` + "\nlinha 2", Quantity: 2}},
			Tracking: store.Tracking{UTM: store.UTM{Source: "facebook", Campaign: "=HYPERLINK(\"http://evil\")"}}},
		{ID: "o2", CreatedAt: paid, Provider: "kiwify", ExternalID: "-5", Status: domain.StatusWaitingPayment, Currency: "USD"},
	}
	var buf bytes.Buffer
	c, err := report.NewOrderCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		if err := c.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	for _, want := range []string{
		"id,created_at,source_id,provider,external_id,status,native_status,amount_minor,currency,paid_at,matched,products,utm_source,utm_medium,utm_campaign,utm_content,utm_term\r\n",
		`"HP,123"`,
		// encoding/csv writes a line break inside a quoted field as CRLF too (RFC 4180 allows it).
		`"Curso ""Avançado"", turma 2` + "\r\nlinha 2 x2\"",
		`"'=HYPERLINK(""http://evil"")"`,
		",'-5,",
		"o1,2026-01-05T17:30:00Z,s1,hotmart,",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("csv lacks %q:\n%s", want, raw)
		}
	}
	if strings.Count(raw, "\r\n") != 4 || strings.Count(raw, "\n") != 4 {
		t.Errorf("want 3 CRLF-terminated records and one CRLF inside a field:\n%q", raw)
	}
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || len(rows[1]) != len(report.OrderColumns) || rows[1][11] != `Curso "Avançado", turma 2`+"\nlinha 2 x2" || rows[1][4] != "HP,123" {
		t.Errorf("round trip: %q", rows)
	}
}

func TestExportOrdersPages(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st)
		for _, ext := range []string{"A", "B", "C"} {
			f.order(ext, "hotmart", 100, "BRL", false, domain.StatusPaid)
		}
		f.order("D", "hotmart", 100, "BRL", false, domain.StatusWaitingPayment)
		var buf bytes.Buffer
		if err := report.ExportOrders(context.Background(), st, store.OrderFilter{TenantID: f.tenant, Status: domain.StatusPaid}, &buf); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(rows) != 4 {
			t.Fatalf("rows %q %v", rows, err)
		}
	})
}

package report_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestReportsMatchEveryRow proves that the reports, computed from the store's aggregates, say
// exactly what reading every order and delivery of the period says: random orders over several
// days (statuses, gateways, currencies, attributions, deliveries in every state to three
// destinations, one added midway), cut into days in zones with whole, half and no DST offsets.
func TestReportsMatchEveryRow(t *testing.T) {
	t.Parallel()
	for _, dialect := range teststore.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			var (
				mu  sync.Mutex
				now = time.Date(2026, 3, 26, 20, 0, 0, 0, time.UTC)
			)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			st := teststore.Open(t, dialect, store.WithClock(clock))
			f := newFixture(t, st)
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(7, 9))
			dests := []store.Destination{f.destination("meta", true), f.destination("meta off", false)}
			statuses := [][]domain.OrderStatus{
				{domain.StatusPaid}, {domain.StatusWaitingPayment}, {domain.StatusWaitingPayment, domain.StatusPaid},
				{domain.StatusPaid, domain.StatusRefunded}, {domain.StatusRefused}, {domain.StatusPaid, domain.StatusChargeback},
			}
			states := []store.DeliveryState{store.DeliveryDelivered, store.DeliveryDelivered, store.DeliveryDead, store.DeliverySkipped,
				store.DeliveryPending, store.DeliveryRetrying, ""}
			reasons := []string{"", "invalid_token", "stale", "rate_limited: retry in 30s"}
			var orders []store.Order
			for i := range 240 {
				advance(time.Duration(15+rng.IntN(45)) * time.Minute)
				if i == 120 {
					dests = append(dests, f.destination("late", true))
				}
				if i == 80 || i == 160 { // the totals kept on write: part compacted, part deltas
					if _, err := st.CompactStats(ctx); err != nil {
						t.Fatal(err)
					}
				}
				o := f.order(fmt.Sprintf("R%03d", i), []string{"hotmart", "kiwify", "stripe"}[rng.IntN(3)], int64(rng.IntN(50000)),
					[]string{"BRL", "USD"}[rng.IntN(2)], rng.IntN(3) > 0, statuses[rng.IntN(len(statuses))]...)
				orders = append(orders, o)
				for _, d := range dests {
					for _, event := range []string{"Purchase", "Lead"} {
						if s := states[rng.IntN(len(states))]; s != "" {
							f.delivery2(o, d, event, s, reasons[rng.IntN(len(reasons))])
						}
					}
				}
			}
			check(t, st, f.tenant, now, "written")
			// Later changes to orders and deliveries already compacted: refunds, late payments,
			// retries that end delivered or dead.
			for i, o := range orders {
				next := map[domain.OrderStatus]domain.OrderStatus{domain.StatusPaid: domain.StatusRefunded, domain.StatusWaitingPayment: domain.StatusPaid}[o.Status]
				if next == "" || i%3 != 0 {
					continue
				}
				if _, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: f.tenant, SourceID: f.source, Provider: o.Provider,
					ExternalID: o.ExternalID, EventKey: o.ExternalID + "-late-" + string(next), Status: next, OccurredAt: time.Now().UTC()}); err != nil {
					t.Fatal(err)
				}
			}
			for after := ""; ; {
				page, err := st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: f.tenant, After: after, Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				for i, d := range page {
					if i%4 == 0 && (d.State == store.DeliveryPending || d.State == store.DeliveryRetrying) {
						d.State, d.Reason = []store.DeliveryState{store.DeliveryDelivered, store.DeliveryDead}[i%8/4], "invalid_token"
						if err := st.UpdateDelivery(ctx, d); err != nil {
							t.Fatal(err)
						}
					}
				}
				if len(page) < 1000 {
					break
				}
				after = page[len(page)-1].ID
			}
			check(t, st, f.tenant, now, "changed")
			if _, err := st.CompactStats(ctx); err != nil {
				t.Fatal(err)
			}
			check(t, st, f.tenant, now, "compacted")
		})
	}
}

// check compares every report with reading every row, over several periods and zones.
func check(t *testing.T, st store.Store, tenant string, now time.Time, stage string) {
	t.Helper()
	ctx := context.Background()
	for _, zone := range []string{"UTC", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err) // time/tzdata is built in
		}
		for _, p := range []report.Period{
			{Since: now.Add(-10 * 24 * time.Hour), Until: now, Location: loc},
			{Since: now.Add(-50 * time.Hour), Until: now.Add(-20 * time.Hour), Location: loc},
			{Since: now.Add(-130 * time.Hour), Until: now.Add(-100 * time.Hour), Location: loc}, // before "late" existed
		} {
			name := fmt.Sprintf("%s: %s %s..%s", stage, zone, p.Since.Format(time.RFC3339), p.Until.Format(time.RFC3339))
			want, wantAcc := everyRow(t, st, tenant, p)
			got, err := report.Summarize(ctx, st, tenant, p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: summary\n got  %+v\n want %+v", name, got, want)
			}
			gotAcc, err := report.AccuracyReport(ctx, st, tenant, p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotAcc, wantAcc) {
				t.Errorf("%s: accuracy\n got  %+v\n want %+v", name, gotAcc, wantAcc)
			}
			s2, a2, err := report.Dashboard(ctx, st, tenant, p)
			if err != nil || !reflect.DeepEqual(s2, want) || !reflect.DeepEqual(a2, wantAcc) {
				t.Errorf("%s: Dashboard differs from Summarize and AccuracyReport (%v)", name, err)
			}
		}
	}
}

func (f *fixture) delivery2(o store.Order, d store.Destination, event string, state store.DeliveryState, reason string) {
	f.t.Helper()
	if _, _, err := f.st.CreateDelivery(context.Background(), store.Delivery{TenantID: f.tenant, OrderID: o.ID, DestinationID: d.ID,
		EventName: event, EventID: o.ExternalID + ":" + event, State: state, Reason: reason, Attempts: 1}); err != nil {
		f.t.Fatal(err)
	}
}

// everyRow computes the summary and the accuracy report the straightforward way: every order
// of the period and every delivery of the tenant, aggregated in Go.
func everyRow(t *testing.T, st store.Store, tenantID string, p report.Period) (report.Summary, report.Accuracy) {
	t.Helper()
	ctx := context.Background()
	var orders []store.Order
	for f := (store.OrderFilter{TenantID: tenantID, Since: p.Since, Until: p.Until, Limit: 1000}); ; {
		page, err := st.ListOrders(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, page...)
		if len(page) < 1000 {
			break
		}
		f.After = page[len(page)-1].ID
	}
	ds := map[string][]store.Delivery{}
	for f := (store.DeliveryFilter{TenantID: tenantID, Limit: 1000}); ; {
		page, err := st.ListDeliveries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			ds[d.OrderID] = append(ds[d.OrderID], d)
		}
		if len(page) < 1000 {
			break
		}
		f.After = page[len(page)-1].ID
	}

	type acc struct {
		f        report.Figures
		byStatus map[[3]string]*report.StatusRow
		matched  int
		dead     map[string]int
	}
	newAcc := func() *acc { return &acc{byStatus: map[[3]string]*report.StatusRow{}, dead: map[string]int{}} }
	add := func(a *acc, o store.Order) {
		a.f.Orders++
		k := [3]string{string(o.Status), o.Provider, o.Currency}
		if a.byStatus[k] == nil {
			a.byStatus[k] = &report.StatusRow{Status: o.Status, Provider: o.Provider, Currency: o.Currency}
		}
		a.byStatus[k].Orders++
		a.byStatus[k].RevenueMinor += o.AmountMinor
		a.byStatus[k].NetRevenueMinor += o.NetMinor()
		if o.PaidAt != nil {
			a.f.PaidOrders++
			if o.Matched {
				a.matched++
			}
		}
		for _, d := range ds[o.ID] {
			c := &a.f.Deliveries
			switch d.State {
			case store.DeliveryPending:
				c.Pending++
			case store.DeliveryRetrying:
				c.Retrying++
			case store.DeliveryDelivered:
				c.Delivered++
			case store.DeliveryDead:
				c.Dead++
				a.dead[or(d.Reason)]++
			case store.DeliverySkipped:
				c.Skipped++
			}
		}
	}
	figures := func(a *acc) report.Figures {
		f := a.f
		f.MatchRate = rate(a.matched, f.PaidOrders)
		f.DeliverySuccessRate = rate(f.Deliveries.Delivered, f.Deliveries.Delivered+f.Deliveries.Dead)
		f.ByStatus = []report.StatusRow{}
		for _, r := range a.byStatus {
			f.ByStatus = append(f.ByStatus, *r)
		}
		sort.Slice(f.ByStatus, func(i, j int) bool {
			x, y := f.ByStatus[i], f.ByStatus[j]
			if x.Status != y.Status {
				return x.Status.Rank() < y.Status.Rank() || (x.Status.Rank() == y.Status.Rank() && x.Status < y.Status)
			}
			if x.Provider != y.Provider {
				return x.Provider < y.Provider
			}
			return x.Currency < y.Currency
		})
		f.DeadByReason = counts(a.dead)
		return f
	}
	loc := p.Location
	total, days := newAcc(), map[string]*acc{}
	for _, o := range orders {
		day := o.CreatedAt.In(loc).Format(time.DateOnly)
		if days[day] == nil {
			days[day] = newAcc()
		}
		add(days[day], o)
		add(total, o)
	}
	s := report.Summary{Since: p.Since, Until: p.Until, TimeZone: loc.String(), Total: figures(total), Days: []report.Day{}}
	y, m, d := p.Since.In(loc).Date()
	for day := time.Date(y, m, d, 0, 0, 0, 0, loc); !day.After(p.Until.In(loc)); day = day.AddDate(0, 0, 1) {
		a := days[day.Format(time.DateOnly)]
		if a == nil {
			a = newAcc()
		}
		s.Days = append(s.Days, report.Day{Date: day.Format(time.DateOnly), Figures: figures(a)})
	}

	var paid []store.Order
	for _, o := range orders {
		if o.PaidAt != nil {
			paid = append(paid, o)
		}
	}
	sort.Slice(paid, func(i, j int) bool { return paid[i].ID < paid[j].ID })
	dests, err := st.ListDestinations(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(dests, func(i, j int) bool { return dests[i].ID < dests[j].ID })
	out := report.Accuracy{Since: p.Since, Until: p.Until, PaidOrders: len(paid), Destinations: []report.DestinationAccuracy{}}
	for _, dst := range dests {
		da := report.DestinationAccuracy{DestinationID: dst.ID, Type: dst.Type, Name: dst.Name, Enabled: dst.Enabled, GapOrders: []report.GapOrder{}}
		notSent := map[string]int{}
		for _, o := range paid {
			var del *store.Delivery
			for i, d := range ds[o.ID] {
				if d.DestinationID == dst.ID && d.EventName == "Purchase" {
					del = &ds[o.ID][i]
				}
			}
			if del == nil && o.CreatedAt.Before(dst.CreatedAt) {
				da.NotApplicable++
				continue
			}
			da.PaidOrders++
			g := report.GapOrder{OrderID: o.ID, Provider: o.Provider, ExternalID: o.ExternalID, PaidAt: *o.PaidAt,
				AmountMinor: o.AmountMinor, Currency: o.Currency, State: "missing"}
			if del != nil {
				switch del.State {
				case store.DeliveryDelivered:
					da.Delivered++
					continue
				case store.DeliverySkipped:
					da.NotSent++
					notSent[or(del.Reason)]++
					continue
				}
				g.DeliveryID, g.State, g.Reason, g.Attempts = del.ID, string(del.State), del.Reason, del.Attempts
			}
			da.GapOrders = append(da.GapOrders, g)
		}
		da.Gap = len(da.GapOrders)
		da.NotSentByReason = counts(notSent)
		out.Destinations = append(out.Destinations, da)
	}
	return s, out
}

func or(reason string) string {
	if reason == "" {
		return "unknown"
	}
	return reason
}

func rate(num, den int) report.Rate {
	r := report.Rate{Numerator: num, Denominator: den}
	if den > 0 {
		v := float64(num) / float64(den)
		r.Value = &v
	}
	return r
}

func counts(m map[string]int) []report.ReasonCount {
	out := []report.ReasonCount{}
	for r, n := range m {
		out = append(out, report.ReasonCount{Reason: r, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// Package report computes Hub's reports from store reads: orders and revenue per day, match and
// delivery rates, the accuracy report (paid orders at the gateways against what each destination
// received), and the CSV export of orders. Functions here are pure over a Reader, so the API and
// the dashboard share them.
package report

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// Reader is the part of store.Reader the reports use.
type Reader interface {
	ListOrders(ctx context.Context, f store.OrderFilter) ([]store.Order, error)
	ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error)
	ListDestinations(ctx context.Context, tenantID string) ([]store.Destination, error)
}

// pageSize is how many rows a report reads per query (the store's maximum).
const pageSize = 1000

// Period is the time range of a report: orders created in [Since, Until]; days are cut in
// Location (UTC when nil).
type Period struct {
	Since    time.Time
	Until    time.Time
	Location *time.Location
}

func (p Period) loc() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// Validate checks the period is a closed, forward range.
func (p Period) Validate() error {
	if p.Since.IsZero() || p.Until.IsZero() {
		return fmt.Errorf("report: since and until are required")
	}
	if !p.Until.After(p.Since) {
		return fmt.Errorf("report: until must be after since")
	}
	return nil
}

// Orders reads every order of the tenant created in the period, newest first.
func Orders(ctx context.Context, r Reader, tenantID string, p Period) ([]store.Order, error) {
	var out []store.Order
	err := EachOrder(ctx, r, store.OrderFilter{TenantID: tenantID, Since: p.Since, Until: p.Until}, func(o store.Order) error {
		out = append(out, o)
		return nil
	})
	return out, err
}

// EachOrder calls fn for every order matching f (After and Limit are managed here), newest first.
func EachOrder(ctx context.Context, r Reader, f store.OrderFilter, fn func(store.Order) error) error {
	f.Limit = pageSize
	for {
		page, err := r.ListOrders(ctx, f)
		if err != nil {
			return fmt.Errorf("report: list orders: %w", err)
		}
		for _, o := range page {
			if err := fn(o); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		f.After = page[len(page)-1].ID
	}
}

// deliveriesOf reads the deliveries of the given orders. Deliveries are listed newest first and
// are created after their order, so the scan stops at the first page older than the oldest
// order (with an hour of slack for clocks of other replicas).
func deliveriesOf(ctx context.Context, r Reader, tenantID string, orders map[string]store.Order, oldest time.Time) (map[string][]store.Delivery, error) {
	out := map[string][]store.Delivery{}
	if len(orders) == 0 {
		return out, nil
	}
	stop := oldest.Add(-time.Hour)
	f := store.DeliveryFilter{TenantID: tenantID, Limit: pageSize}
	for {
		page, err := r.ListDeliveries(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("report: list deliveries: %w", err)
		}
		for _, d := range page {
			if _, ok := orders[d.OrderID]; ok {
				out[d.OrderID] = append(out[d.OrderID], d)
			}
		}
		if len(page) < pageSize || page[len(page)-1].CreatedAt.Before(stop) {
			return out, nil
		}
		f.After = page[len(page)-1].ID
	}
}

// StatusRow is the orders and revenue of one status, provider and currency. Revenue is never
// summed across currencies.
type StatusRow struct {
	Status       store.OrderStatus `json:"status"`
	Provider     string            `json:"provider"`
	Currency     string            `json:"currency"`
	Orders       int               `json:"orders"`
	RevenueMinor int64             `json:"revenue_minor"`
}

// Rate is a ratio with its parts; Value is absent when the denominator is zero.
type Rate struct {
	Numerator   int      `json:"numerator"`
	Denominator int      `json:"denominator"`
	Value       *float64 `json:"value"`
}

func rate(num, den int) Rate {
	r := Rate{Numerator: num, Denominator: den}
	if den > 0 {
		v := float64(num) / float64(den)
		r.Value = &v
	}
	return r
}

// ReasonCount is how many deliveries ended with one reason.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// DeliveryCounts counts deliveries by state.
type DeliveryCounts struct {
	Pending   int `json:"pending"`
	Retrying  int `json:"retrying"`
	Delivered int `json:"delivered"`
	Dead      int `json:"dead"`
	Skipped   int `json:"skipped"`
}

// Figures are the numbers of a day or of the whole period.
type Figures struct {
	Orders   int         `json:"orders"`
	ByStatus []StatusRow `json:"by_status"`
	// PaidOrders counts orders that were paid (paid_at set, including later refunds).
	PaidOrders int `json:"paid_orders"`
	// MatchRate is paid orders attributed to a touchpoint over paid orders.
	MatchRate  Rate           `json:"match_rate"`
	Deliveries DeliveryCounts `json:"deliveries"`
	// DeliverySuccessRate is delivered over delivered + dead: deliveries still in flight and
	// deliberately skipped ones are not counted.
	DeliverySuccessRate Rate          `json:"delivery_success_rate"`
	DeadByReason        []ReasonCount `json:"dead_by_reason"`
}

// Day is one calendar day of a summary, in the period's location.
type Day struct {
	Date string `json:"date"` // YYYY-MM-DD
	Figures
}

// Summary is the per-day and total report of a period.
type Summary struct {
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	TimeZone string    `json:"time_zone"`
	Days     []Day     `json:"days"`
	Total    Figures   `json:"total"`
}

type acc struct {
	orders, paid, matched int
	byStatus              map[[3]string]*StatusRow
	deliveries            DeliveryCounts
	dead                  map[string]int
}

func newAcc() *acc { return &acc{byStatus: map[[3]string]*StatusRow{}, dead: map[string]int{}} }

func (a *acc) addOrder(o store.Order, ds []store.Delivery) {
	a.orders++
	k := [3]string{string(o.Status), o.Provider, o.Currency}
	row := a.byStatus[k]
	if row == nil {
		row = &StatusRow{Status: o.Status, Provider: o.Provider, Currency: o.Currency}
		a.byStatus[k] = row
	}
	row.Orders++
	row.RevenueMinor += o.AmountMinor
	if o.PaidAt != nil {
		a.paid++
		if o.Matched {
			a.matched++
		}
	}
	for _, d := range ds {
		switch d.State {
		case store.DeliveryPending:
			a.deliveries.Pending++
		case store.DeliveryRetrying:
			a.deliveries.Retrying++
		case store.DeliveryDelivered:
			a.deliveries.Delivered++
		case store.DeliveryDead:
			a.deliveries.Dead++
			reason := d.Reason
			if reason == "" {
				reason = "unknown"
			}
			a.dead[reason]++
		case store.DeliverySkipped:
			a.deliveries.Skipped++
		}
	}
}

func (a *acc) figures() Figures {
	f := Figures{Orders: a.orders, PaidOrders: a.paid, MatchRate: rate(a.matched, a.paid), Deliveries: a.deliveries,
		DeliverySuccessRate: rate(a.deliveries.Delivered, a.deliveries.Delivered+a.deliveries.Dead),
		ByStatus:            make([]StatusRow, 0, len(a.byStatus)), DeadByReason: reasons(a.dead)}
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
	return f
}

func reasons(m map[string]int) []ReasonCount {
	out := make([]ReasonCount, 0, len(m))
	for r, n := range m {
		out = append(out, ReasonCount{Reason: r, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// Summarize computes the per-day and total figures of the orders created in the period, and of
// their deliveries. Days without orders are listed with zeros, oldest first.
func Summarize(ctx context.Context, r Reader, tenantID string, p Period) (Summary, error) {
	if err := p.Validate(); err != nil {
		return Summary{}, err
	}
	loc := p.loc()
	orders, err := Orders(ctx, r, tenantID, p)
	if err != nil {
		return Summary{}, err
	}
	byID := make(map[string]store.Order, len(orders))
	for _, o := range orders {
		byID[o.ID] = o
	}
	ds, err := deliveriesOf(ctx, r, tenantID, byID, p.Since)
	if err != nil {
		return Summary{}, err
	}
	total, days := newAcc(), map[string]*acc{}
	for _, o := range orders {
		day := o.CreatedAt.In(loc).Format(time.DateOnly)
		if days[day] == nil {
			days[day] = newAcc()
		}
		days[day].addOrder(o, ds[o.ID])
		total.addOrder(o, ds[o.ID])
	}
	s := Summary{Since: p.Since, Until: p.Until, TimeZone: loc.String(), Total: total.figures(), Days: []Day{}}
	for d := dayStart(p.Since.In(loc)); !d.After(p.Until.In(loc)); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		a := days[key]
		if a == nil {
			a = newAcc()
		}
		s.Days = append(s.Days, Day{Date: key, Figures: a.figures()})
	}
	return s, nil
}

func dayStart(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// GapOrder is a paid order a destination did not receive and Hub did not deliberately skip.
type GapOrder struct {
	OrderID     string    `json:"order_id"`
	Provider    string    `json:"provider"`
	ExternalID  string    `json:"external_id"`
	PaidAt      time.Time `json:"paid_at"`
	AmountMinor int64     `json:"amount_minor"`
	Currency    string    `json:"currency"`
	// DeliveryID is empty when no delivery was ever planned (State "missing").
	DeliveryID string `json:"delivery_id,omitempty"`
	State      string `json:"state"` // missing, pending, retrying, dead
	Reason     string `json:"reason,omitempty"`
	Attempts   int    `json:"attempts"`
}

// DestinationAccuracy compares one destination's purchases with the paid orders.
type DestinationAccuracy struct {
	DestinationID string `json:"destination_id"`
	Type          string `json:"type"`
	Name          string `json:"name"`
	Enabled       bool   `json:"enabled"`
	// PaidOrders the destination should account for: paid orders created since the
	// destination was added.
	PaidOrders int `json:"paid_orders"`
	// NotApplicable counts paid orders created before the destination existed.
	NotApplicable int `json:"not_applicable"`
	Delivered     int `json:"delivered"`
	// NotSent is deliberately not sent (skipped), by reason: stale, no consent, destination
	// disabled...
	NotSent         int           `json:"not_sent"`
	NotSentByReason []ReasonCount `json:"not_sent_by_reason"`
	// Gap is PaidOrders - Delivered - NotSent, listed order by order in GapOrders.
	Gap       int        `json:"gap"`
	GapOrders []GapOrder `json:"gap_orders"`
}

// Accuracy is the accuracy report of a period.
type Accuracy struct {
	Since        time.Time             `json:"since"`
	Until        time.Time             `json:"until"`
	PaidOrders   int                   `json:"paid_orders"`
	Destinations []DestinationAccuracy `json:"destinations"`
}

// AccuracyReport compares the paid orders created in the period (paid at the gateway: paid_at
// set) with the Purchase deliveries of every destination: delivered, deliberately not sent
// (skipped, with its reason), or a gap (dead, still in flight, or never planned), listed order
// by order, oldest first.
func AccuracyReport(ctx context.Context, r Reader, tenantID string, p Period) (Accuracy, error) {
	if err := p.Validate(); err != nil {
		return Accuracy{}, err
	}
	all, err := Orders(ctx, r, tenantID, p)
	if err != nil {
		return Accuracy{}, err
	}
	paid := map[string]store.Order{}
	var list []store.Order
	for _, o := range all {
		if o.PaidAt != nil {
			paid[o.ID] = o
			list = append(list, o)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	ds, err := deliveriesOf(ctx, r, tenantID, paid, p.Since)
	if err != nil {
		return Accuracy{}, err
	}
	dests, err := r.ListDestinations(ctx, tenantID)
	if err != nil {
		return Accuracy{}, fmt.Errorf("report: list destinations: %w", err)
	}
	sort.Slice(dests, func(i, j int) bool { return dests[i].ID < dests[j].ID })
	out := Accuracy{Since: p.Since, Until: p.Until, PaidOrders: len(list), Destinations: make([]DestinationAccuracy, 0, len(dests))}
	for _, dst := range dests {
		da := DestinationAccuracy{DestinationID: dst.ID, Type: dst.Type, Name: dst.Name, Enabled: dst.Enabled, GapOrders: []GapOrder{}}
		notSent := map[string]int{}
		for _, o := range list {
			var del *store.Delivery
			for i, d := range ds[o.ID] {
				if d.DestinationID == dst.ID && d.EventName == dest.EventPurchase {
					del = &ds[o.ID][i]
					break
				}
			}
			if del == nil && o.CreatedAt.Before(dst.CreatedAt) {
				da.NotApplicable++
				continue
			}
			da.PaidOrders++
			g := GapOrder{OrderID: o.ID, Provider: o.Provider, ExternalID: o.ExternalID, PaidAt: *o.PaidAt,
				AmountMinor: o.AmountMinor, Currency: o.Currency, State: "missing"}
			if del != nil {
				switch del.State {
				case store.DeliveryDelivered:
					da.Delivered++
					continue
				case store.DeliverySkipped:
					da.NotSent++
					reason := del.Reason
					if reason == "" {
						reason = "unknown"
					}
					notSent[reason]++
					continue
				}
				g.DeliveryID, g.State, g.Reason, g.Attempts = del.ID, string(del.State), del.Reason, del.Attempts
			}
			da.GapOrders = append(da.GapOrders, g)
		}
		da.Gap = len(da.GapOrders)
		da.NotSentByReason = reasons(notSent)
		out.Destinations = append(out.Destinations, da)
	}
	return out, nil
}

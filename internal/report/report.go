// Package report computes Hub's reports from store reads: orders and revenue per day, match and
// delivery rates, the accuracy report (paid orders at the gateways against what each destination
// received), and the CSV export of orders. Functions here are pure over a Reader, so the API and
// the dashboard share them.
package report

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
	// Reports are read in the tenant's time zone: the zone database is built in, so a host or
	// image without /usr/share/zoneinfo still loads America/Sao_Paulo (the binary gets it
	// through api, which imports this package).
	_ "time/tzdata"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// Reader is the part of store.Reader the reports use. The figures come from the store's
// aggregates (OrderStats, DeliveryStats, ListDeliveryGaps), so a report reads a few rows per
// hour of its period rather than every order. Reports may query it concurrently: pass a
// store.Store, not a store.Tx.
type Reader interface {
	ListOrders(ctx context.Context, f store.OrderFilter) ([]store.Order, error)
	ListDestinations(ctx context.Context, tenantID string) ([]store.Destination, error)
	OrderStats(ctx context.Context, f store.StatsFilter) ([]store.OrderStatsRow, error)
	DeliveryStats(ctx context.Context, f store.StatsFilter) ([]store.DeliveryStatsRow, error)
	ListDeliveryGaps(ctx context.Context, f store.GapFilter) ([]store.DeliveryGap, error)
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
	for page, err := range store.Pages(pageSize, func(o store.Order) string { return o.ID }, func(after string, limit int) ([]store.Order, error) {
		f.After, f.Limit = after, limit
		return r.ListOrders(ctx, f)
	}) {
		if err != nil {
			return fmt.Errorf("report: list orders: %w", err)
		}
		for _, o := range page {
			if err := fn(o); err != nil {
				return err
			}
		}
	}
	return nil
}

// StatusRow is the orders and revenue of one status, provider and currency. Revenue is never
// summed across currencies. RevenueMinor is the orders' amounts, as the gateway reported them;
// NetRevenueMinor what the paid ones still bring in: their amounts less what refunds and
// chargebacks took (a won chargeback given back), the net revenue of the Campaigns report
// (store.Order.NetMinor). An order partially refunded is a refunded order whose net revenue
// is what was not refunded.
type StatusRow struct {
	Status          domain.OrderStatus `json:"status"`
	Provider        string             `json:"provider"`
	Currency        string             `json:"currency"`
	Orders          int                `json:"orders"`
	RevenueMinor    int64              `json:"revenue_minor"`
	NetRevenueMinor int64              `json:"net_revenue_minor"`
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

func (a *acc) addOrders(r store.OrderStatsRow) {
	a.orders += r.Orders
	k := [3]string{string(r.Status), r.Provider, r.Currency}
	row := a.byStatus[k]
	if row == nil {
		row = &StatusRow{Status: r.Status, Provider: r.Provider, Currency: r.Currency}
		a.byStatus[k] = row
	}
	row.Orders += r.Orders
	row.RevenueMinor += r.RevenueMinor
	row.NetRevenueMinor += r.NetRevenueMinor
	a.paid += r.Paid
	a.matched += r.PaidMatched
}

func (a *acc) addDeliveries(r store.DeliveryStatsRow) {
	n := r.Deliveries
	switch r.State {
	case store.DeliveryPending:
		a.deliveries.Pending += n
	case store.DeliveryRetrying:
		a.deliveries.Retrying += n
	case store.DeliveryDelivered:
		a.deliveries.Delivered += n
	case store.DeliveryDead:
		a.deliveries.Dead += n
		a.dead[reasonOr(r.Reason)] += n
	case store.DeliverySkipped:
		a.deliveries.Skipped += n
	}
}

func reasonOr(r string) string {
	if r == "" {
		return "unknown"
	}
	return r
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

// stats are the aggregates one period's reports are computed from.
type stats struct {
	orders     []store.OrderStatsRow
	deliveries []store.DeliveryStatsRow
}

// grid returns a bucket width and offset whose boundaries fall on every local midnight of the
// period, so that each bucket the store returns lies within one local day: hours shifted by
// the zone's offset (whole-hour and half-hour zones alike), or finer buckets when the offset
// changes by less than an hour within the period (Lord Howe's half-hour DST).
func (p Period) grid() (width, offset time.Duration) {
	loc := p.loc()
	_, zoneOff := p.Since.In(loc).Zone()
	for _, w := range []int64{3600, 900, 60, 1} {
		off := ((int64(zoneOff) % w) + w) % w
		aligned := true
		for d := dayStart(p.Since.In(loc)); aligned && !d.After(p.Until.In(loc)); d = d.AddDate(0, 0, 1) {
			aligned = (d.Unix()+off)%w == 0
		}
		if aligned {
			return time.Duration(w) * time.Second, time.Duration(off) * time.Second
		}
	}
	return time.Second, 0
}

func readStats(ctx context.Context, r Reader, tenantID string, p Period) (stats, error) {
	width, offset := p.grid()
	f := store.StatsFilter{TenantID: tenantID, Since: p.Since, Until: p.Until, Bucket: width, Offset: offset}
	// The two aggregates are independent scans: run them side by side.
	var (
		st   stats
		derr error
		wg   sync.WaitGroup
	)
	wg.Go(func() { st.deliveries, derr = r.DeliveryStats(ctx, f) })
	os, err := r.OrderStats(ctx, f)
	wg.Wait()
	if err != nil {
		return stats{}, fmt.Errorf("report: order stats: %w", err)
	}
	if derr != nil {
		return stats{}, fmt.Errorf("report: delivery stats: %w", derr)
	}
	st.orders = os
	return st, nil
}

// Summarize computes the per-day and total figures of the orders created in the period, and of
// their deliveries. Days without orders are listed with zeros, oldest first.
func Summarize(ctx context.Context, r Reader, tenantID string, p Period) (Summary, error) {
	if err := p.Validate(); err != nil {
		return Summary{}, err
	}
	st, err := readStats(ctx, r, tenantID, p)
	if err != nil {
		return Summary{}, err
	}
	return summarize(st, p), nil
}

func summarize(st stats, p Period) Summary {
	loc := p.loc()
	total, days := newAcc(), map[string]*acc{}
	day := func(b time.Time) *acc {
		key := b.In(loc).Format(time.DateOnly)
		if days[key] == nil {
			days[key] = newAcc()
		}
		return days[key]
	}
	for _, row := range st.orders {
		day(row.Bucket).addOrders(row)
		total.addOrders(row)
	}
	for _, row := range st.deliveries {
		day(row.Bucket).addDeliveries(row)
		total.addDeliveries(row)
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
	return s
}

// Dashboard computes the summary and the accuracy report of one period from one read of the
// aggregates, for pages that show both.
func Dashboard(ctx context.Context, r Reader, tenantID string, p Period) (Summary, Accuracy, error) {
	if err := p.Validate(); err != nil {
		return Summary{}, Accuracy{}, err
	}
	st, err := readStats(ctx, r, tenantID, p)
	if err != nil {
		return Summary{}, Accuracy{}, err
	}
	acc, err := accuracy(ctx, r, tenantID, p, st)
	if err != nil {
		return Summary{}, Accuracy{}, err
	}
	return summarize(st, p), acc, nil
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
	st, err := readStats(ctx, r, tenantID, p)
	if err != nil {
		return Accuracy{}, err
	}
	return accuracy(ctx, r, tenantID, p, st)
}

// purchases counts, per destination, the Purchase deliveries of paid orders by state, and the
// skipped ones by reason.
type purchases struct {
	byState map[store.DeliveryState]int
	skipped map[string]int
}

func purchasesOf(rows []store.DeliveryStatsRow) map[string]*purchases {
	out := map[string]*purchases{}
	for _, row := range rows {
		if !row.PaidOrder || row.EventName != domain.EventPurchase {
			continue
		}
		p := out[row.DestinationID]
		if p == nil {
			p = &purchases{byState: map[store.DeliveryState]int{}, skipped: map[string]int{}}
			out[row.DestinationID] = p
		}
		p.byState[row.State] += row.Deliveries
		if row.State == store.DeliverySkipped {
			p.skipped[reasonOr(row.Reason)] += row.Deliveries
		}
	}
	return out
}

func paidOf(rows []store.OrderStatsRow) int {
	n := 0
	for _, r := range rows {
		n += r.Paid
	}
	return n
}

func accuracy(ctx context.Context, r Reader, tenantID string, p Period, st stats) (Accuracy, error) {
	dests, err := r.ListDestinations(ctx, tenantID)
	if err != nil {
		return Accuracy{}, fmt.Errorf("report: list destinations: %w", err)
	}
	sort.Slice(dests, func(i, j int) bool { return dests[i].ID < dests[j].ID })
	paid := paidOf(st.orders)
	byDest := purchasesOf(st.deliveries)
	out := Accuracy{Since: p.Since, Until: p.Until, PaidOrders: paid, Destinations: make([]DestinationAccuracy, 0, len(dests))}
	for _, dst := range dests {
		da := DestinationAccuracy{DestinationID: dst.ID, Type: dst.Type, Name: dst.Name, Enabled: dst.Enabled, GapOrders: []GapOrder{}}
		// Paid orders created before the destination existed are not its concern, unless a
		// Purchase was planned for it anyway.
		if da.NotApplicable, err = notApplicable(ctx, r, tenantID, p, dst); err != nil {
			return Accuracy{}, err
		}
		da.PaidOrders = paid - da.NotApplicable
		pu := byDest[dst.ID]
		if pu == nil {
			pu = &purchases{byState: map[store.DeliveryState]int{}, skipped: map[string]int{}}
		}
		da.Delivered = pu.byState[store.DeliveryDelivered]
		da.NotSent = pu.byState[store.DeliverySkipped]
		da.NotSentByReason = reasons(pu.skipped)
		inFlightOrDead := pu.byState[store.DeliveryPending] + pu.byState[store.DeliveryRetrying] + pu.byState[store.DeliveryDead]
		missing := da.PaidOrders - da.Delivered - da.NotSent - inFlightOrDead
		if inFlightOrDead > 0 || missing > 0 {
			gaps, err := gapOrders(ctx, r, store.GapFilter{TenantID: tenantID, DestinationID: dst.ID, EventName: domain.EventPurchase,
				Since: p.Since, Until: p.Until, Missing: missing > 0, MissingSince: dst.CreatedAt})
			if err != nil {
				return Accuracy{}, err
			}
			da.GapOrders = gaps
		}
		da.Gap = len(da.GapOrders)
		out.Destinations = append(out.Destinations, da)
	}
	return out, nil
}

// notApplicable counts the paid orders of the period created before the destination, less
// those that have a Purchase delivery to it all the same. A destination older than the period
// needs no query.
func notApplicable(ctx context.Context, r Reader, tenantID string, p Period, dst store.Destination) (int, error) {
	if !dst.CreatedAt.After(p.Since) {
		return 0, nil
	}
	until := dst.CreatedAt.Add(-time.Microsecond) // times are stored to the microsecond
	if p.Until.Before(until) {
		until = p.Until
	}
	f := store.StatsFilter{TenantID: tenantID, Since: p.Since, Until: until, Bucket: 24 * time.Hour}
	os, err := r.OrderStats(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("report: order stats: %w", err)
	}
	n := paidOf(os)
	if n == 0 {
		return 0, nil
	}
	ds, err := r.DeliveryStats(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("report: delivery stats: %w", err)
	}
	if pu := purchasesOf(ds)[dst.ID]; pu != nil {
		for _, c := range pu.byState {
			n -= c
		}
	}
	return n, nil
}

// gapOrders reads every gap of one destination, oldest order id first.
func gapOrders(ctx context.Context, r Reader, f store.GapFilter) ([]GapOrder, error) {
	out := []GapOrder{}
	for page, err := range store.Pages(pageSize, func(g store.DeliveryGap) string { return g.OrderID }, func(after string, limit int) ([]store.DeliveryGap, error) {
		f.After, f.Limit = after, limit
		return r.ListDeliveryGaps(ctx, f)
	}) {
		if err != nil {
			return nil, fmt.Errorf("report: list delivery gaps: %w", err)
		}
		for _, g := range page {
			o := GapOrder{OrderID: g.OrderID, Provider: g.Provider, ExternalID: g.ExternalID, PaidAt: g.PaidAt,
				AmountMinor: g.AmountMinor, Currency: g.Currency, State: "missing"}
			if d := g.Delivery; d != nil {
				o.DeliveryID, o.State, o.Reason, o.Attempts = d.ID, string(d.State), d.Reason, d.Attempts
			}
			out = append(out, o)
		}
	}
	return out, nil
}

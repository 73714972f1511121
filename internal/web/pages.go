package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
)

// period is a dashboard range: today, the last 7 or the last 30 days, cut in the tenant's
// time zone. Label is a catalogue key.
type period struct {
	Key   string
	Label string
	report.Period
}

// periodLabels are the periods' catalogue keys.
var periodLabels = []string{"period.today", "period.30d", "period.7d"}

func (u *UI) period(r *http.Request, pg page) period {
	loc := tenantZone(pg.Tenant, u.cfg.Location)
	now := u.now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	key := r.URL.Query().Get("period")
	p := period{Key: key}
	switch key {
	case "today":
		p.Label, p.Since = periodLabels[0], today
	case "30d":
		p.Label, p.Since = periodLabels[1], today.AddDate(0, 0, -29)
	default:
		p.Key, p.Label, p.Since = "7d", periodLabels[2], today.AddDate(0, 0, -6)
	}
	p.Until, p.Location = now, loc
	return p
}

type providerRow struct {
	Provider string
	Orders   int
	Revenue  []moneyRow
}

type moneyRow struct {
	Currency string
	Minor    int64
}

// statusRow is the orders of a status in one currency: Minor their amounts, Net what the paid
// ones still bring in (report.StatusRow.NetRevenueMinor).
type statusRow struct {
	Status   domain.OrderStatus
	Currency string
	Orders   int
	Minor    int64
	Net      int64
}

type overviewData struct {
	Period       period
	Periods      []period
	Summary      report.Summary
	ByStatus     []statusRow
	ByProvider   []providerRow
	Orphans      int
	Destinations []report.DestinationAccuracy
	Chart        chart
	Sources      int
}

// overview shows the period's figures from the same report functions the API serves, so the
// numbers agree.
func (u *UI) overview(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	per := u.period(r, p)
	sum, acc, err := report.Dashboard(ctx, u.cfg.Reports, p.Tenant.ID, per.Period)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	srcs, err := u.cfg.Store.ListSources(ctx, p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := overviewData{Period: per, Summary: sum, Destinations: acc.Destinations, Chart: newChart(p.Loc, sum.Days), Sources: len(srcs)}
	for _, k := range []string{"today", "7d", "30d"} {
		r2 := r.Clone(ctx)
		r2.URL.RawQuery = "period=" + k
		d.Periods = append(d.Periods, u.period(r2, p))
	}
	d.Orphans = sum.Total.MatchRate.Denominator - sum.Total.MatchRate.Numerator
	status := map[[2]string]*statusRow{}
	prov := map[string]*providerRow{}
	for _, row := range sum.Total.ByStatus {
		k := [2]string{string(row.Status), row.Currency}
		if status[k] == nil {
			status[k] = &statusRow{Status: row.Status, Currency: row.Currency}
		}
		status[k].Orders += row.Orders
		status[k].Minor += row.RevenueMinor
		status[k].Net += row.NetRevenueMinor
		if prov[row.Provider] == nil {
			prov[row.Provider] = &providerRow{Provider: row.Provider}
		}
		pr := prov[row.Provider]
		pr.Orders += row.Orders
		// A gateway's net revenue: what its paid orders still bring in, whatever their status
		// now (a partially refunded order, a chargeback won), as the Campaigns report counts it.
		if row.NetRevenueMinor != 0 {
			i := slices.IndexFunc(pr.Revenue, func(m moneyRow) bool { return m.Currency == row.Currency })
			if i < 0 {
				pr.Revenue = append(pr.Revenue, moneyRow{Currency: row.Currency})
				i = len(pr.Revenue) - 1
			}
			pr.Revenue[i].Minor += row.NetRevenueMinor
		}
	}
	for _, s := range status {
		d.ByStatus = append(d.ByStatus, *s)
	}
	slices.SortFunc(d.ByStatus, func(a, b statusRow) int {
		return cmp.Or(cmp.Compare(b.Status.Rank(), a.Status.Rank()), cmp.Compare(a.Status, b.Status), cmp.Compare(a.Currency, b.Currency))
	})
	for _, pr := range prov {
		d.ByProvider = append(d.ByProvider, *pr)
	}
	slices.SortFunc(d.ByProvider, func(a, b providerRow) int {
		return cmp.Or(cmp.Compare(b.Orders, a.Orders), cmp.Compare(a.Provider, b.Provider))
	})
	p.Title, p.Nav, p.Data = p.Loc.T("title.overview"), "overview", d
	u.render(w, r, http.StatusOK, "overview", p)
}

// Orders.

const ordersPerPage = 50

type orderRow struct {
	store.Order
	Deliveries []store.Delivery
}

type ordersData struct {
	Rows      []orderRow
	Query     string // the search box's text
	Searched  bool
	Status    string
	Provider  string
	Matched   string
	State     string
	Since     string
	Until     string
	Next      string
	Statuses  []domain.OrderStatus
	States    []store.DeliveryState
	Providers []string
}

var allStatuses = []domain.OrderStatus{domain.StatusPaid, domain.StatusWaitingPayment, domain.StatusRefused, domain.StatusCancelled, domain.StatusRefunded, domain.StatusChargeback, domain.StatusChargebackWon}
var allStates = []store.DeliveryState{store.DeliveryDelivered, store.DeliveryPending, store.DeliveryRetrying, store.DeliveryDead, store.DeliverySkipped}

// orders lists one page of orders (indexed, cursor-paginated store reads only).
func (u *UI) orders(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	q := r.URL.Query()
	d := ordersData{Status: q.Get("status"), Provider: q.Get("provider"), Matched: q.Get("matched"), State: q.Get("state"),
		Since: q.Get("since"), Until: q.Get("until"), Statuses: allStatuses, States: allStates, Providers: u.cfg.Providers}
	f := store.OrderFilter{TenantID: p.Tenant.ID, Provider: d.Provider, After: q.Get("after"), Limit: ordersPerPage}
	if slices.Contains(allStatuses, domain.OrderStatus(d.Status)) {
		f.Status = domain.OrderStatus(d.Status)
	}
	switch d.Matched {
	case "yes":
		f.Matched = new(true)
	case "no":
		f.Matched = new(false)
	}
	loc := tenantZone(p.Tenant, u.cfg.Location)
	if t, err := time.ParseInLocation(time.DateOnly, d.Since, loc); err == nil {
		f.Since = t
	}
	if t, err := time.ParseInLocation(time.DateOnly, d.Until, loc); err == nil {
		f.Until = t.AddDate(0, 0, 1)
	}
	if st := store.DeliveryState(d.State); slices.Contains(allStates, st) {
		// By delivery state: page through that state's deliveries, newest first, and show
		// their orders (the other filters apply to those orders).
		ds, err := u.cfg.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: p.Tenant.ID, State: st, After: q.Get("after"), Limit: ordersPerPage})
		if err != nil {
			u.fail(w, r, err)
			return
		}
		var ids []string
		for _, del := range ds {
			if del.OrderID != "" && !slices.Contains(ids, del.OrderID) { // not a lead's delivery
				ids = append(ids, del.OrderID)
			}
		}
		os, err := u.cfg.Store.OrdersByID(ctx, p.Tenant.ID, ids)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		byID := make(map[string]store.Order, len(os))
		for _, o := range os {
			byID[o.ID] = o
		}
		for _, id := range ids { // in the deliveries' order
			o, ok := byID[id]
			if !ok {
				u.fail(w, r, store.ErrNotFound)
				return
			}
			if keep(o, f) {
				d.Rows = append(d.Rows, orderRow{Order: o})
			}
		}
		if len(ds) == ordersPerPage {
			d.Next = ds[len(ds)-1].ID
		}
	} else {
		os, err := u.cfg.Store.ListOrders(ctx, f)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		for _, o := range os {
			d.Rows = append(d.Rows, orderRow{Order: o})
		}
		if len(os) == ordersPerPage {
			d.Next = os[len(os)-1].ID
		}
	}
	u.renderOrders(w, r, p, d)
}

// searchOrders answers the orders page's search box: the gateway's order id, the buyer's
// e-mail or phone (hashed like intake does, never stored), or a visitor id. It is a POST so
// that an e-mail or phone never lands in a URL, a browser history or a proxy's log.
func (u *UI) searchOrders(w http.ResponseWriter, r *http.Request, p page) {
	q := strings.TrimSpace(r.PostFormValue("q"))
	d := ordersData{Query: q, Searched: true, Statuses: allStatuses, States: allStates, Providers: u.cfg.Providers}
	os, err := admin.SearchOrders(r.Context(), u.cfg.Store, p.Tenant.ID, q, u.cfg.PhoneCountry, ordersPerPage)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	for _, o := range os {
		d.Rows = append(d.Rows, orderRow{Order: o})
	}
	u.renderOrders(w, r, p, d)
}

// renderOrders loads the rows' deliveries and renders the orders page.
func (u *UI) renderOrders(w http.ResponseWriter, r *http.Request, p page, d ordersData) {
	ctx := r.Context()
	// The rows' deliveries in one read (newest first, at most 20 per order).
	ids := make([]string, len(d.Rows))
	for i, row := range d.Rows {
		ids[i] = row.ID
	}
	ds, err := u.cfg.Store.DeliveriesOfOrders(ctx, p.Tenant.ID, ids)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	byOrder := map[string][]store.Delivery{}
	for _, del := range ds {
		if len(byOrder[del.OrderID]) < 20 {
			byOrder[del.OrderID] = append(byOrder[del.OrderID], del)
		}
	}
	for i := range d.Rows {
		d.Rows[i].Deliveries = byOrder[d.Rows[i].ID]
	}
	p.Title, p.Nav, p.Data = p.Loc.T("title.orders"), "orders", d
	u.render(w, r, http.StatusOK, "orders", p)
}

func keep(o store.Order, f store.OrderFilter) bool {
	return (f.Status == "" || o.Status == f.Status) && (f.Provider == "" || o.Provider == f.Provider) &&
		(f.Matched == nil || o.Matched == *f.Matched) && (f.Since.IsZero() || !o.CreatedAt.Before(f.Since)) &&
		(f.Until.IsZero() || o.CreatedAt.Before(f.Until))
}

type deliveryView struct {
	store.Delivery
	Destination store.Destination
	Log         []store.Attempt
	// Sent says which identifiers the platform received (or is sent), by name.
	Sent string
}

type orderData struct {
	Order       store.Order
	History     []store.OrderStatusChange
	Attribution *store.Attribution
	Touchpoint  *store.Touchpoint
	Journey     []store.Touchpoint
	Deliveries  []deliveryView
	Inbox       []inboxView
	// Explain is the attribution in sentences (nil before the order is attributed).
	Explain *explanation
	// Reveal shows the personal data in the raw webhooks (never the gateway's secret);
	// MayReveal offers it.
	Reveal, MayReveal bool
	// Test: the buyer is webhook.TestBuyerEmail ("send a test purchase"); TestViews say, per
	// destination it went to, where the platform shows it (its spec's TestView).
	Test      bool
	TestViews []string
}

type inboxView struct {
	store.InboxEntry
	Body string
}

// testBuyerHash is how a test purchase's buyer is stored.
var testBuyerHash, _ = pii.HashEmail(webhook.TestBuyerEmail)

// order is the order page, its raw webhooks masked.
func (u *UI) order(w http.ResponseWriter, r *http.Request, p page) { u.showOrder(w, r, p, false) }

// revealOrder is "Show personal data": the order page with the buyer's data in its raw
// webhooks, each one shown written to the audit log. It is a POST, whose session form token
// auth checks, never a GET: the session cookie is SameSite=Lax, which a browser still sends
// with a link or redirect from another site and with an image on a sibling subdomain (a shop
// on the domain Hub tracks), so a revealing GET could be made by any page the admin opened,
// writing audit entries in the admin's name and opening the data on the admin's screen.
// Only a tenant admin reveals: an operator is refused, as in the API.
func (u *UI) revealOrder(w http.ResponseWriter, r *http.Request, p page) {
	if !mayRevealPII(p) {
		p.Title, p.Error = p.Loc.T("title.forbidden"), p.Loc.T("err.reveal_forbidden")
		u.render(w, r, http.StatusForbidden, "forbidden", p)
		return
	}
	u.showOrder(w, r, p, true)
}

// revealAddress answers a GET of the reveal address (the language links of a revealed page,
// which point at the page's own address) with the masked order page: only the button's POST
// reveals.
func (u *UI) revealAddress(w http.ResponseWriter, r *http.Request, _ page) {
	http.Redirect(w, r, "/orders/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
}

func (u *UI) showOrder(w http.ResponseWriter, r *http.Request, p page, reveal bool) {
	ctx := r.Context()
	tid := p.Tenant.ID
	o, err := u.cfg.Store.GetOrder(ctx, tid, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := orderData{Order: o, MayReveal: mayRevealPII(p), Test: o.Buyer.EmailHash != "" && o.Buyer.EmailHash == testBuyerHash}
	d.Reveal = d.MayReveal && reveal
	if d.History, err = u.cfg.Store.ListOrderHistory(ctx, tid, o.ID); err != nil {
		u.fail(w, r, err)
		return
	}
	a, err := u.cfg.Store.GetAttribution(ctx, tid, o.ID)
	switch {
	case err == nil:
		d.Attribution = &a
		if a.VisitorID != "" {
			j, err := u.cfg.Store.TouchpointsByVisitor(ctx, tid, a.VisitorID, time.Time{}, o.CreatedAt, 30)
			if err != nil {
				u.fail(w, r, err)
				return
			}
			slices.Reverse(j)
			d.Journey = j
		}
		if a.TouchpointID != "" {
			// The credited touchpoint is read by its id, not looked for in the journey: the
			// journey is the 30 newest visits up to the order's creation, so many later visits,
			// or a click after the order was created (a pix or boleto paid later), leave it out,
			// and the explanation would call an ad click "a visit". The journey is for display.
			tp, err := u.cfg.Store.GetTouchpoint(ctx, tid, a.TouchpointID)
			switch {
			case err == nil:
				d.Touchpoint = &tp
			case !errors.Is(err, store.ErrNotFound): // erased: the explanation says "a visit"
				u.fail(w, r, err)
				return
			}
		}
	case !errors.Is(err, store.ErrNotFound):
		u.fail(w, r, err)
		return
	}
	if d.Attribution != nil {
		known, err := u.knownVisitors(ctx, tid, o)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		d.Explain = explain(p.Loc, o, *d.Attribution, d.Touchpoint, known)
	}
	ds, err := u.orderDeliveries(r, tid, o.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	for _, del := range ds {
		v := deliveryView{Delivery: del}
		if v.Destination, err = u.cfg.Store.GetDestination(ctx, tid, del.DestinationID); err != nil {
			u.fail(w, r, err)
			return
		}
		if v.Log, err = u.cfg.Store.ListAttempts(ctx, tid, del.ID); err != nil {
			u.fail(w, r, err)
			return
		}
		if spec, ok := p.Loc.spec(v.Destination.Type); ok && d.Test {
			if tv := v.Destination.Name + ": " + p.Loc.In(spec.TestView); !slices.Contains(d.TestViews, tv) && spec.TestView.EN != "" {
				d.TestViews = append(d.TestViews, tv)
			}
		}
		if v.Sent, err = u.sentWords(ctx, p.Loc, del, v.Destination); err != nil {
			u.fail(w, r, err)
			return
		}
		d.Deliveries = append(d.Deliveries, v)
	}
	inboxIDs := []string{}
	for _, h := range d.History {
		if h.InboxID != "" && !slices.Contains(inboxIDs, h.InboxID) {
			inboxIDs = append(inboxIDs, h.InboxID)
		}
	}
	for _, id := range inboxIDs {
		e, err := u.cfg.Store.GetInbox(ctx, tid, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // erased or past retention
		}
		if err != nil {
			u.fail(w, r, err)
			return
		}
		if d.Reveal {
			u.audit(r, p, "webhook.reveal_pii", "inbox "+e.ID+" of order "+o.ID)
		}
		d.Inbox = append(d.Inbox, inboxView{InboxEntry: e, Body: rawWebhook(e, d.Reveal)})
	}
	p.Title, p.Nav, p.Data = p.Loc.T("order.h1", o.ExternalID), "orders", d
	u.render(w, r, http.StatusOK, "order", p)
}

// orderDeliveries returns an order's newest 50 deliveries through the order's index.
func (u *UI) orderDeliveries(r *http.Request, tenantID, orderID string) ([]store.Delivery, error) {
	ds, err := u.cfg.Store.DeliveriesOfOrders(r.Context(), tenantID, []string{orderID})
	return ds[:min(len(ds), 50)], err
}

func (u *UI) replayOrder(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	o, err := u.cfg.Store.GetOrder(ctx, p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	// One delivery named is the operator's deliberate replay (delivery.ReplayOne; force is the
	// confirmation to resend a delivered one past the platform's deduplication window); all of
	// the order's is a bulk one, which leaves delivered and skipped deliveries alone.
	var ids []string
	one := r.PostFormValue("delivery_id")
	if one != "" {
		ids = []string{one}
	} else {
		ds, err := u.orderDeliveries(r, p.Tenant.ID, o.ID)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
	}
	for _, id := range ids {
		if d, err := u.cfg.Store.GetDelivery(ctx, p.Tenant.ID, id); err != nil || d.OrderID != o.ID {
			u.fail(w, r, store.ErrNotFound)
			return
		}
	}
	var res delivery.ReplayResult
	if one != "" {
		res, err = delivery.ReplayOne(ctx, u.cfg.Store, u.cfg.Dests, p.Tenant.ID, one, u.now(), r.PostFormValue("force") == "1")
	} else {
		res, err = delivery.Replay(ctx, u.cfg.Store, u.cfg.Dests, p.Tenant.ID, ids, u.now())
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "delivery.replay", fmt.Sprintf("order %s: %s", o.ID, res.Summary()))
	redirectQuery(w, r, "/orders/"+o.ID, replayFlash(res))
}

// audit records the signed-in user's action (see admin.Audit).
func (u *UI) audit(r *http.Request, p page, action, detail string) {
	admin.Audit(r.Context(), u.cfg.Store, u.cfg.Log, store.AuditEntry{TenantID: p.Tenant.ID, Actor: "user:" + p.User.ID, Action: action, Detail: detail, At: u.now()})
}

// Failures.

// maxFailures bounds how many failing deliveries a page reads per state: a tenant with more
// has a systemic problem the first groups already show.
const maxFailures = 5000

type failureGroup struct {
	Reason      string
	State       store.DeliveryState
	Destination store.Destination
	Count       int
	Help        reasonHelp
	Setup       bool // fixed in the destination's settings
	Samples     []store.Delivery
	Truncated   bool
}

type failuresData struct {
	Groups  []failureGroup
	Inbox   []store.InboxEntry
	Capped  bool
	Pending int
}

func (u *UI) failingDeliveries(r *http.Request, tenantID string, st store.DeliveryState) ([]store.Delivery, bool, error) {
	var out []store.Delivery
	for page, err := range store.Pages(1000, func(d store.Delivery) string { return d.ID }, func(after string, limit int) ([]store.Delivery, error) {
		return u.cfg.Store.ListDeliveries(r.Context(), store.DeliveryFilter{TenantID: tenantID, State: st, After: after, Limit: limit})
	}) {
		if err != nil {
			return nil, false, err
		}
		if out = append(out, page...); len(out) >= maxFailures && len(page) == 1000 {
			return out, true, nil
		}
	}
	return out, false, nil
}

func (u *UI) failures(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	tid := p.Tenant.ID
	dests, err := u.cfg.Store.ListDestinations(ctx, tid)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	byID := map[string]store.Destination{}
	for _, d := range dests {
		byID[d.ID] = d
	}
	var data failuresData
	groups := map[string]*failureGroup{}
	for _, st := range []store.DeliveryState{store.DeliveryDead, store.DeliveryRetrying} {
		ds, capped, err := u.failingDeliveries(r, tid, st)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		data.Capped = data.Capped || capped
		for _, d := range ds {
			reason := reasonOf(d.Reason)
			k := string(st) + "|" + reason + "|" + d.DestinationID
			g := groups[k]
			if g == nil {
				g = &failureGroup{Reason: reason, State: st, Destination: byID[d.DestinationID], Help: p.Loc.reason(reason), Setup: needsSetup(reason)}
				groups[k] = g
			}
			g.Count++
			if len(g.Samples) < 5 {
				g.Samples = append(g.Samples, d)
			} else {
				g.Truncated = true
			}
		}
	}
	for _, g := range groups {
		data.Groups = append(data.Groups, *g)
	}
	slices.SortFunc(data.Groups, func(a, b failureGroup) int {
		return cmp.Or(cmp.Compare(a.State, b.State), cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
	})
	for _, st := range []store.InboxState{store.InboxUnparseable, store.InboxRejected} {
		es, err := u.cfg.Store.ListInbox(ctx, store.InboxFilter{TenantID: tid, State: st, Limit: 50})
		if err != nil {
			u.fail(w, r, err)
			return
		}
		data.Inbox = append(data.Inbox, es...)
	}
	slices.SortFunc(data.Inbox, func(a, b store.InboxEntry) int { return cmp.Compare(b.ID, a.ID) })
	p.Title, p.Nav, p.Data = p.Loc.T("title.failures"), "failures", data
	u.render(w, r, http.StatusOK, "failures", p)
}

// replayGroup replays every dead (or retrying) delivery of one reason and destination.
func (u *UI) replayGroup(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	reason, destID := r.PostFormValue("reason"), r.PostFormValue("destination_id")
	st := store.DeliveryState(r.PostFormValue("state"))
	if st != store.DeliveryDead && st != store.DeliveryRetrying {
		st = store.DeliveryDead
	}
	ds, _, err := u.failingDeliveries(r, p.Tenant.ID, st)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var ids []string
	for _, d := range ds {
		if reasonOf(d.Reason) == reason && d.DestinationID == destID {
			ids = append(ids, d.ID)
		}
	}
	res, err := delivery.Replay(ctx, u.cfg.Store, u.cfg.Dests, p.Tenant.ID, ids, u.now())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "delivery.replay_group", fmt.Sprintf("destination %s reason %s: %s", destID, reason, res.Summary()))
	redirectQuery(w, r, "/failures", replayFlash(res))
}

// replayFlash tells the user how many deliveries went back on the queue and, for the others,
// why they cannot be sent again (by reason code, put into words by the next page).
func replayFlash(res delivery.ReplayResult) url.Values {
	q := url.Values{"flash": {"flash.replayed"}, flashArg: {strconv.Itoa(res.Queued)}}
	counts := map[string]int{}
	var order []string
	for _, g := range res.Grouped() {
		if counts[g.Reason] == 0 {
			order = append(order, g.Reason)
		}
		counts[g.Reason] += g.Count
	}
	for _, reason := range order {
		q.Add("skip", reason+":"+strconv.Itoa(counts[reason]))
	}
	return q
}

func (u *UI) reprocess(w http.ResponseWriter, r *http.Request, p page) {
	if u.cfg.Intake == nil {
		u.fail(w, r, errors.New("web: reprocessing is not wired"))
		return
	}
	id := r.PostFormValue("inbox_id")
	res, err := intake.Reprocess(r.Context(), u.cfg.Store, u.cfg.Intake, p.Tenant.ID, id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "webhook.reprocess", "inbox "+id+" -> "+string(res.State))
	redirect(w, r, "/failures", "flash.reprocessed."+inboxFlash(res.State))
}

// Accuracy.

type accuracyData struct {
	Period   period
	Periods  []period
	Accuracy report.Accuracy
	Days     []report.Day
}

func (u *UI) accuracy(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	per := u.period(r, p)
	sum, acc, err := report.Dashboard(ctx, u.cfg.Reports, p.Tenant.ID, per.Period)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := accuracyData{Period: per, Accuracy: acc, Days: sum.Days}
	for _, k := range []string{"today", "7d", "30d"} {
		r2 := r.Clone(ctx)
		r2.URL.RawQuery = "period=" + k
		d.Periods = append(d.Periods, u.period(r2, p))
	}
	slices.Reverse(d.Days)
	p.Title, p.Nav, p.Data = p.Loc.T("title.accuracy"), "accuracy", d
	u.render(w, r, http.StatusOK, "accuracy", p)
}

// inboxFlash names the outcome of a reprocessed webhook for its flash message.
func inboxFlash(st store.InboxState) string {
	switch st {
	case store.InboxProcessed, store.InboxDuplicate, store.InboxIgnored, store.InboxUnparseable, store.InboxRejected:
		return string(st)
	}
	return "other"
}

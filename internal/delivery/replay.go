package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// ReplayResult says what a replay did: how many deliveries went back on the queue (Resends of
// them delivered already, so that their send is a recorded resend), and which were left alone,
// with the reason in plain words.
type ReplayResult struct {
	Queued  int
	Resends int
	Skipped []ReplaySkip
}

// ReplaySkip is one delivery a replay did not queue.
type ReplaySkip struct {
	DeliveryID string
	// Reason is dest.ReasonStale, "destination_disabled", one of the Replay… reasons below,
	// store.ReasonErased (the person's data was erased: never sent again), or a skipped
	// delivery's own reason (event_disabled, consent_denied).
	Reason string
	Detail string // a sentence for the operator
}

// The reasons a replay gives for a delivery it did not queue, besides those the worker gives.
const (
	// ReplayDelivered: a bulk replay leaves a delivered delivery alone; the platform has it.
	ReplayDelivered = "already_delivered"
	// ReplayInFlight: the delivery's send is on the wire now; its outcome is on its way.
	ReplayInFlight = "in_flight"
	// ReplayPastDedup: delivered longer ago than the platform drops a repeat of its event id
	// (dest.Spec.DedupWindow); sent again, it may count twice.
	ReplayPastDedup = "dedup_window_passed"
)

// tooOld is the age rule the worker and replays share: an event older than the platform
// accepts, less an hour so that a send that starts just in time is not refused in flight.
func tooOld(spec dest.Spec, eventTime, now time.Time) bool {
	return spec.MaxEventAge > 0 && now.Sub(eventTime) > spec.MaxEventAge-time.Hour
}

// staleDetail says in plain words why an old event is not sent.
func staleDetail(spec dest.Spec, eventName string) string {
	what := "this event"
	if eventName == domain.EventPurchase {
		what = "this purchase"
	}
	title := spec.Title
	if title == "" {
		title = spec.Type
	}
	return fmt.Sprintf("%s is older than the %s %s accepts; it cannot be sent again",
		what, humanAge(spec.MaxEventAge), title)
}

// humanAge writes a platform's age limit in days when it is whole days ("7 days").
func humanAge(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if n := int(d / (24 * time.Hour)); n != 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "1 day"
	}
	return d.String()
}

// Replay puts back on the queue, with the same event_id, the deliveries among ids that did
// not reach the platform: dead, retrying and pending ones. It is the bulk replay (a time range,
// a destination's dead deliveries, an order's, a failure group), so it leaves alone a delivered
// delivery (the platform has it, and past its deduplication window a second send would count
// twice) and a skipped one (Hub did not send it on purpose), and reports them in Skipped with
// the reason. Each replay is a new job. A delivery the worker would refuse anyway (its event is
// older than the destination accepts, or the destination is disabled), and one whose send is on
// the wire now, is not queued either. dests resolves destination types to their limits; nil
// applies none of them.
func Replay(ctx context.Context, st Store, dests *dest.Registry, tenantID string, ids []string, now time.Time) (ReplayResult, error) {
	return replay(ctx, st, dests, tenantID, ids, now, replayMode{})
}

// ReplayOne replays the one delivery an operator named. Unlike Replay it also takes a
// delivered delivery, a deliberate resend that the worker records as one (the attempt marked
// resend, the delivery's resends counted), unless it was delivered longer ago than the
// platform drops a repeat of its event id (dest.Spec.DedupWindow) and force is not set; and a
// skipped one once the cause of its skip is gone (the event enabled in the destination's
// events setting, its consent setting changed), else it is refused with that cause. A delivery
// about a person whose data was erased (store.ReasonErased, its own ErasedAt, a visit's
// delivered before the erasure included, or of an order with ErasedAt) is refused by every
// replay, force or not.
func ReplayOne(ctx context.Context, st Store, dests *dest.Registry, tenantID, id string, now time.Time, force bool) (ReplayResult, error) {
	return replay(ctx, st, dests, tenantID, []string{id}, now, replayMode{one: true, force: force})
}

// replayMode is how a replay chooses: one is an operator's replay of a single delivery by id
// (ReplayOne), force its confirmation that a delivered event may be sent past the platform's
// deduplication window.
type replayMode struct {
	one, force bool
}

func replay(ctx context.Context, st Store, dests *dest.Registry, tenantID string, ids []string, now time.Time, mode replayMode) (ReplayResult, error) {
	var res ReplayResult
	for _, id := range ids {
		var (
			skip   *ReplaySkip
			resend bool
		)
		err := st.Tx(ctx, func(tx store.Tx) error {
			skip = nil
			d, err := tx.GetDelivery(ctx, tenantID, id)
			if err != nil {
				return err
			}
			if skip, err = replayRefusal(ctx, tx, dests, d, now, mode); err != nil || skip != nil {
				return err
			}
			// The worker sends a delivered delivery's replay as a resend (it reads DeliveredAt,
			// which the update keeps).
			resend = d.State == store.DeliveryDelivered
			d.State, d.Reason, d.UpdatedAt = store.DeliveryPending, "replay requested", now
			if err := tx.UpdateDelivery(ctx, d); err != nil {
				return err
			}
			// Pending again, with a job: a delivery whose first attempt ran locally must not
			// look left without one to the sweep (Local.Sweep).
			if err := tx.MarkDeliveryQueued(ctx, tenantID, id); err != nil {
				return err
			}
			return tx.Enqueue(ctx, Args{TenantID: tenantID, DeliveryID: id, Replay: int(now.UnixNano())}, nil)
		})
		if err != nil {
			return res, fmt.Errorf("delivery: replay %s: %w", id, err)
		}
		if skip != nil {
			res.Skipped = append(res.Skipped, *skip)
			continue
		}
		res.Queued++
		if resend {
			res.Resends++
		}
	}
	return res, nil
}

// replayRefusal says why a delivery cannot be sent again, or nil when it can.
func replayRefusal(ctx context.Context, tx store.Tx, dests *dest.Registry, d store.Delivery, now time.Time, mode replayMode) (*ReplaySkip, error) {
	refuse := func(reason, detail string) (*ReplaySkip, error) {
		return &ReplaySkip{DeliveryID: d.ID, Reason: reason, Detail: detail}, nil
	}
	// Nothing more about an erased person is sent: not in bulk, not by id, not with force.
	erased, order, err := aboutErased(ctx, tx, d)
	if err != nil || erased {
		if err != nil {
			return nil, err
		}
		return refuse(store.ReasonErased, erasedDetail(d))
	}
	// A replay of a delivery whose send is on the wire would race its outcome: the outcome's
	// late write replaced the row the replay's run wrote, erasing its recorded resend.
	if busy, err := sendingNow(ctx, tx, dests, d, now); err != nil || busy {
		if err != nil {
			return nil, err
		}
		return refuse(ReplayInFlight, "it is being sent right now; try again in a minute")
	}
	ds, err := tx.GetDestination(ctx, d.TenantID, d.DestinationID)
	if err != nil {
		return nil, fmt.Errorf("load destination: %w", err)
	}
	if !ds.Enabled {
		return refuse("destination_disabled", fmt.Sprintf("the destination %q is disabled; enable it, then replay", ds.Name))
	}
	var spec dest.Spec
	known := false
	if dests != nil {
		if impl, ok := dests.Lookup(ds.Type); ok {
			spec, known = impl.Spec(), true
		}
	}
	if known {
		at, err := eventTime(ctx, tx, d, order)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// the worker reports what is missing
		case err != nil:
			return nil, err
		case tooOld(spec, at, now):
			return refuse(dest.ReasonStale, staleDetail(spec, d.EventName))
		}
	}
	switch d.State {
	case store.DeliveryDelivered:
		if !mode.one {
			return refuse(ReplayDelivered, "it was delivered already; the platform has it")
		}
		if sent := deliveredAt(d); known && spec.DedupWindow > 0 && now.Sub(sent) > spec.DedupWindow && !mode.force {
			return refuse(ReplayPastDedup, pastDedupDetail(spec, now.Sub(sent)))
		}
	case store.DeliverySkipped:
		// Hub did not send it on purpose. A bulk replay never does; one by id does once the
		// cause is gone (the destination's settings changed since).
		if !mode.one || skipHolds(ctx, tx, spec, known, ds, d) {
			return refuse(d.Reason, skippedDetail(d))
		}
	}
	return nil, nil
}

// aboutErased reports whether d is about a person whose data was erased: skipped for it,
// stamped erased itself (the erasure stamps every delivery of her orders and visits, a
// delivered one included), or of an order (a delivery.dead notice: whose subject is of an
// order, or is stamped) stamped erased. It also returns d's own order when it read it (nil for
// a notice, a touchpoint's delivery or an order not found), so that eventTime does not read it
// again.
func aboutErased(ctx context.Context, tx store.Tx, d store.Delivery) (bool, *store.Order, error) {
	if (d.State == store.DeliverySkipped && d.Reason == store.ReasonErased) || d.ErasedAt != nil {
		return true, nil, nil
	}
	own := d.SubjectID == ""
	if !own {
		subject, err := tx.GetDelivery(ctx, d.TenantID, d.SubjectID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return false, nil, nil
		case err != nil:
			return false, nil, fmt.Errorf("load the dead delivery: %w", err)
		}
		if subject.Reason == store.ReasonErased || subject.ErasedAt != nil {
			return true, nil, nil
		}
		d = subject
	}
	if d.OrderID == "" {
		return false, nil, nil
	}
	o, err := tx.GetOrder(ctx, d.TenantID, d.OrderID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil, nil
	case err != nil:
		return false, nil, fmt.Errorf("load order: %w", err)
	}
	if !own {
		return o.ErasedAt != nil, nil, nil
	}
	return o.ErasedAt != nil, &o, nil
}

// erasedDetail says why a delivery about an erased person is never sent again.
func erasedDetail(d store.Delivery) string {
	what := "this event"
	if d.EventName == domain.EventPurchase {
		what = "this purchase"
	}
	return what + " is about a person whose data was erased; nothing more about them is sent, and a replay cannot send it, with force or not"
}

// sendingNow reports whether d's send is on the wire now: d is in flight with an attempt in
// flight younger than a delivery job's timeout. Past it the job was cancelled or its worker
// died: the outcome is lost, and a replay is a counted resend.
func sendingNow(ctx context.Context, tx store.Tx, dests *dest.Registry, d store.Delivery, now time.Time) (bool, error) {
	if !d.InFlight {
		return false, nil
	}
	at, err := tx.ListAttempts(ctx, d.TenantID, d.ID)
	if err != nil {
		return false, fmt.Errorf("load attempts: %w", err)
	}
	// A second of batch window is more than any worker waits for company.
	limit := JobTimeout(time.Second, SendTimeout(dests))
	for _, a := range at {
		if a.Outcome == store.AttemptInFlight && now.Sub(a.At) < limit {
			return true, nil
		}
	}
	return false, nil
}

// deliveredAt is when the platform accepted d (its last update when that was not recorded).
func deliveredAt(d store.Delivery) time.Time {
	if d.DeliveredAt != nil {
		return *d.DeliveredAt
	}
	return d.UpdatedAt
}

// pastDedupDetail says why a delivered event is not sent again past the platform's
// deduplication window without the operator's confirmation.
func pastDedupDetail(spec dest.Spec, ago time.Duration) string {
	title := spec.Title
	if title == "" {
		title = spec.Type
	}
	return fmt.Sprintf("it was delivered %s ago, and %s drops a repeat of its event id only within %s of the first: sent again, it may count twice; to send it anyway, replay it with force",
		humanDuration(ago), title, humanDuration(spec.DedupWindow))
}

// humanDuration writes a duration in whole hours under three days ("48 hours"), else in whole
// days ("3 days").
func humanDuration(d time.Duration) string {
	if d >= 72*time.Hour {
		return humanAge(d.Truncate(24 * time.Hour))
	}
	if h := int(d / time.Hour); h != 1 {
		return fmt.Sprintf("%d hours", h)
	}
	return "1 hour"
}

// skipHolds reports whether the cause of a skipped delivery's skip still holds on ds as it
// now stands (spec is ds's type's when known). A cause it cannot check holds.
func skipHolds(ctx context.Context, tx store.Tx, spec dest.Spec, known bool, ds store.Destination, d store.Delivery) bool {
	switch d.Reason {
	case "destination_disabled", dest.ReasonStale:
		return false // checked above: the destination is enabled, the event not too old
	case dest.ReasonEventDisabled:
		// Only a purchase is planned skipped for its events setting; the others are not planned.
		return !EventEnabled(ds, d.EventName, d.EventName != domain.EventPurchase)
	case dest.ReasonConsentDenied:
		if !known {
			return true
		}
		ev, err := eventFor(ctx, tx, d, spec)
		return err != nil || dest.HeldForConsent(spec, configOf(ds), ev)
	}
	return true
}

// skippedDetail says why a skipped delivery is not sent by a replay.
func skippedDetail(d store.Delivery) string {
	what := "this event"
	if d.EventName == domain.EventPurchase {
		what = "this purchase"
	}
	switch d.Reason {
	case dest.ReasonEventDisabled:
		return fmt.Sprintf("%s was not sent on purpose: the destination's events setting does not include %s; add it there, then replay this delivery by itself", what, d.EventName)
	case dest.ReasonConsentDenied:
		return what + " was not sent on purpose: the visitor denied consent and the destination holds such events back; change that setting, then replay this delivery by itself"
	case "destination_disabled":
		return what + " was not sent on purpose: the destination was disabled; replay this delivery by itself"
	}
	return fmt.Sprintf("%s was not sent on purpose (%s); a replay does not send it", what, d.Reason)
}

// eventTime is the time the worker sends as the event's: the touchpoint's, the order's
// payment (its creation when it has no payment time), or a delivery.dead notice's creation.
// o, when not nil, is d's order, read already.
func eventTime(ctx context.Context, r EventReader, d store.Delivery, o *store.Order) (time.Time, error) {
	if d.SubjectID != "" {
		return d.CreatedAt, nil // a delivery.dead notice is dated when the delivery died
	}
	if d.TouchpointID != "" {
		tp, err := r.GetTouchpoint(ctx, d.TenantID, d.TouchpointID)
		return tp.OccurredAt, err
	}
	if o != nil {
		return orderEventTime(*o), nil
	}
	read, err := r.GetOrder(ctx, d.TenantID, d.OrderID)
	if err != nil {
		return time.Time{}, err
	}
	return orderEventTime(read), nil
}

func orderEventTime(o store.Order) time.Time {
	if o.PaidAt != nil {
		return *o.PaidAt
	}
	return o.OccurredAt
}

// Summary is a one-line account of a replay for the CLI, logs and audit entries.
func (r ReplayResult) Summary() string {
	s := fmt.Sprintf("%d queued for replay", r.Queued)
	if r.Resends > 0 {
		s += fmt.Sprintf(" (%d delivered already: sent again as a recorded resend)", r.Resends)
	}
	if len(r.Skipped) == 0 {
		return s
	}
	s += fmt.Sprintf(", %d skipped", len(r.Skipped))
	var why []string
	for _, g := range r.Grouped() {
		why = append(why, fmt.Sprintf("%d: %s", g.Count, g.Detail))
	}
	return s + " (" + strings.Join(why, "; ") + ")"
}

// SkipGroup is the skipped deliveries of a replay that share one reason and detail.
type SkipGroup struct {
	Reason      string
	Detail      string
	Count       int
	DeliveryIDs []string
}

// Grouped groups the skipped deliveries by reason and detail, in first-seen order, so that a
// bulk replay of hundreds of stale purchases says so once.
func (r ReplayResult) Grouped() []SkipGroup {
	var out []SkipGroup
	idx := map[string]int{}
	for _, s := range r.Skipped {
		key := s.Reason + "\x00" + s.Detail
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, SkipGroup{Reason: s.Reason, Detail: s.Detail})
		}
		out[i].Count++
		out[i].DeliveryIDs = append(out[i].DeliveryIDs, s.DeliveryID)
	}
	return out
}

// ReplayDead replays every dead delivery of a destination.
func ReplayDead(ctx context.Context, st Store, dests *dest.Registry, tenantID, destinationID string, now time.Time) (ReplayResult, error) {
	var ids []string
	for page, err := range store.Pages(500, deliveryID, func(after string, limit int) ([]store.Delivery, error) {
		return st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, DestinationID: destinationID, State: store.DeliveryDead, After: after, Limit: limit})
	}) {
		if err != nil {
			return ReplayResult{}, fmt.Errorf("delivery: list dead: %w", err)
		}
		for _, d := range page {
			ids = append(ids, d.ID)
		}
	}
	return Replay(ctx, st, dests, tenantID, ids, now)
}

// ReplayRange replays the deliveries of every paid order in [since, until) that did not reach
// the platform (Replay: delivered and skipped ones are left alone, and counted).
func ReplayRange(ctx context.Context, st Store, dests *dest.Registry, tenantID string, since, until, now time.Time) (ReplayResult, error) {
	var ids []string
	for orders, err := range store.Pages(500, func(o store.Order) string { return o.ID }, func(after string, limit int) ([]store.Order, error) {
		return st.ListOrders(ctx, store.OrderFilter{TenantID: tenantID, Since: since, Until: until, After: after, Limit: limit})
	}) {
		if err != nil {
			return ReplayResult{}, fmt.Errorf("delivery: list orders: %w", err)
		}
		for _, o := range orders {
			ds, err := st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, OrderID: o.ID, Limit: 100})
			if err != nil {
				return ReplayResult{}, fmt.Errorf("delivery: list deliveries: %w", err)
			}
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
		}
	}
	return Replay(ctx, st, dests, tenantID, ids, now)
}

func deliveryID(d store.Delivery) string { return d.ID }

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

// ReplayResult says what a replay did: how many deliveries went back on the queue, and which
// were left alone because they cannot be sent, with the reason in plain words.
type ReplayResult struct {
	Queued  int
	Skipped []ReplaySkip
}

// ReplaySkip is one delivery a replay did not queue.
type ReplaySkip struct {
	DeliveryID string
	Reason     string // dest.ReasonStale, "destination_disabled"
	Detail     string // a sentence for the operator
}

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

// Replay puts deliveries back on the queue with the same event_id, so the platform
// deduplicates anything it already has. Delivered and skipped deliveries are replayed too when
// asked for by id (an operator re-sending on purpose); each replay is a new job. A delivery
// the worker would refuse anyway (its event is older than the destination accepts, or the
// destination is disabled) is not queued: it is reported in Skipped with the reason.
// dests resolves destination types to their limits; nil queues every delivery.
func Replay(ctx context.Context, st Store, dests *dest.Registry, tenantID string, ids []string, now time.Time) (ReplayResult, error) {
	var res ReplayResult
	for _, id := range ids {
		var skip *ReplaySkip
		err := st.Tx(ctx, func(tx store.Tx) error {
			skip = nil
			d, err := tx.GetDelivery(ctx, tenantID, id)
			if err != nil {
				return err
			}
			if skip, err = replayRefusal(ctx, tx, dests, d, now); err != nil || skip != nil {
				return err
			}
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
	}
	return res, nil
}

// replayRefusal says why a delivery cannot be sent again, or nil when it can.
func replayRefusal(ctx context.Context, tx store.Tx, dests *dest.Registry, d store.Delivery, now time.Time) (*ReplaySkip, error) {
	ds, err := tx.GetDestination(ctx, d.TenantID, d.DestinationID)
	if err != nil {
		return nil, fmt.Errorf("load destination: %w", err)
	}
	if !ds.Enabled {
		return &ReplaySkip{DeliveryID: d.ID, Reason: "destination_disabled",
			Detail: fmt.Sprintf("the destination %q is disabled; enable it, then replay", ds.Name)}, nil
	}
	if dests == nil {
		return nil, nil
	}
	impl, ok := dests.Lookup(ds.Type)
	if !ok {
		return nil, nil
	}
	spec := impl.Spec()
	at, err := eventTime(ctx, tx, d)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // the worker reports what is missing
	}
	if err != nil {
		return nil, err
	}
	if tooOld(spec, at, now) {
		return &ReplaySkip{DeliveryID: d.ID, Reason: dest.ReasonStale, Detail: staleDetail(spec, d.EventName)}, nil
	}
	return nil, nil
}

// eventTime is the time the worker sends as the event's: the touchpoint's, the order's
// payment (its creation when it has no payment time), or a delivery.dead notice's creation.
func eventTime(ctx context.Context, r EventReader, d store.Delivery) (time.Time, error) {
	if d.SubjectID != "" {
		return d.CreatedAt, nil // a delivery.dead notice is dated when the delivery died
	}
	if d.TouchpointID != "" {
		tp, err := r.GetTouchpoint(ctx, d.TenantID, d.TouchpointID)
		return tp.OccurredAt, err
	}
	o, err := r.GetOrder(ctx, d.TenantID, d.OrderID)
	if err != nil {
		return time.Time{}, err
	}
	return orderEventTime(o), nil
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

// ReplayRange replays the deliveries of every paid order in [since, until).
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

package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Replay puts deliveries back on the queue with the same event_id, so the platform
// deduplicates anything it already has. Delivered and skipped deliveries are replayed too when
// asked for by id (an operator re-sending on purpose); each replay is a new job.
func Replay(ctx context.Context, st store.Store, tenantID string, ids []string, now time.Time) (int, error) {
	n := 0
	for _, id := range ids {
		err := st.Tx(ctx, func(tx store.Tx) error {
			d, err := tx.GetDelivery(ctx, tenantID, id)
			if err != nil {
				return err
			}
			d.State, d.Reason, d.UpdatedAt = store.DeliveryPending, "replay requested", now
			if err := tx.UpdateDelivery(ctx, d); err != nil {
				return err
			}
			return tx.Enqueue(ctx, Args{TenantID: tenantID, DeliveryID: id, Replay: int(now.UnixNano())}, nil)
		})
		if err != nil {
			return n, fmt.Errorf("delivery: replay %s: %w", id, err)
		}
		n++
	}
	return n, nil
}

// ReplayDead replays every dead delivery of a destination.
func ReplayDead(ctx context.Context, st store.Store, tenantID, destinationID string, now time.Time) (int, error) {
	var ids []string
	after := ""
	for {
		page, err := st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, DestinationID: destinationID, State: store.DeliveryDead, After: after, Limit: 500})
		if err != nil {
			return 0, fmt.Errorf("delivery: list dead: %w", err)
		}
		for _, d := range page {
			ids = append(ids, d.ID)
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	return Replay(ctx, st, tenantID, ids, now)
}

// ReplayRange replays the deliveries of every paid order in [since, until).
func ReplayRange(ctx context.Context, st store.Store, tenantID string, since, until, now time.Time) (int, error) {
	var ids []string
	after := ""
	for {
		orders, err := st.ListOrders(ctx, store.OrderFilter{TenantID: tenantID, Since: since, Until: until, After: after, Limit: 500})
		if err != nil {
			return 0, fmt.Errorf("delivery: list orders: %w", err)
		}
		for _, o := range orders {
			ds, err := st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, OrderID: o.ID, Limit: 100})
			if err != nil {
				return 0, fmt.Errorf("delivery: list deliveries: %w", err)
			}
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
		}
		if len(orders) < 500 {
			break
		}
		after = orders[len(orders)-1].ID
	}
	return Replay(ctx, st, tenantID, ids, now)
}

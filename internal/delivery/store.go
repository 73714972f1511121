package delivery

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Store is what the delivery worker and the replays read and write (store.Store is one).
type Store interface {
	EventReader
	Tx(ctx context.Context, fn func(store.Tx) error) error
	GetDelivery(ctx context.Context, tenantID, id string) (store.Delivery, error)
	// GetDeliveryJob is what a job reads: one statement per delivery.
	GetDeliveryJob(ctx context.Context, tenantID, id string) (store.DeliveryJob, error)
	GetDestination(ctx context.Context, tenantID, id string) (store.Destination, error)
	ListAttempts(ctx context.Context, tenantID, deliveryID string) ([]store.Attempt, error)
	ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error)
	ListOrders(ctx context.Context, f store.OrderFilter) ([]store.Order, error)
	SetDestinationHealth(ctx context.Context, tenantID, id string, h store.DestinationHealth) error
	SetDestinationTestAccepted(ctx context.Context, tenantID, id string, at time.Time) error
}

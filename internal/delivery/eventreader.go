package delivery

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// EventReader is what building a delivery's event reads (store.Store and store.Tx are ones).
type EventReader interface {
	GetAttribution(ctx context.Context, tenantID, orderID string) (store.Attribution, error)
	GetOrder(ctx context.Context, tenantID, id string) (store.Order, error)
	GetTouchpoint(ctx context.Context, tenantID, id string) (store.Touchpoint, error)
	TouchpointsByClickID(ctx context.Context, tenantID string, kind store.ClickKind, value string, since, until time.Time, limit int) ([]store.Touchpoint, error)
	GetDelivery(ctx context.Context, tenantID, id string) (store.Delivery, error)
	GetDestination(ctx context.Context, tenantID, id string) (store.Destination, error)
	ListOrderHistory(ctx context.Context, tenantID, orderID string) ([]store.OrderStatusChange, error)
}

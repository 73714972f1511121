package intake

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/attribution"
	"github.com/hubtrack/hub/internal/store"
)

// Store is what the webhook intake and reprocessing read and write (store.Store is one).
type Store interface {
	Tx(ctx context.Context, fn func(store.Tx) error) error
	GetInbox(ctx context.Context, tenantID, id string) (store.InboxEntry, error)
	GetSource(ctx context.Context, tenantID, id string) (store.Source, error)
	GetWebhookSource(ctx context.Context, provider, token string) (store.WebhookSource, error)
	InsertInbox(ctx context.Context, e store.InboxEntry) (store.InboxEntry, error)
	SetInboxState(ctx context.Context, tenantID, id string, state store.InboxState, errMsg string, orderID string, at time.Time) error
	ListInbox(ctx context.Context, f store.InboxFilter) ([]store.InboxEntry, error)
	// Read before the processing transaction: a new paid order's match (see attributeNew).
	GetOrderByExternalID(ctx context.Context, tenantID, provider, externalID string) (store.Order, error)
	attribution.Finder
	Lookups(ctx context.Context, ls []store.Lookup) error
}

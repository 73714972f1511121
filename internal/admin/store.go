package admin

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Store is what the operator actions read and write (store.Store is one).
type Store interface {
	Tx(ctx context.Context, fn func(store.Tx) error) error
	CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error)
	CreateDestination(ctx context.Context, d store.Destination) (store.Destination, error)
	CreateLink(ctx context.Context, l store.Link) (store.Link, error)
	CreateSource(ctx context.Context, s store.Source) (store.Source, error)
	CreateTenant(ctx context.Context, t store.Tenant) (store.Tenant, error)
	CreateFirstTenant(ctx context.Context, t store.Tenant, keys []store.APIKey) (bool, error)
	GetDestination(ctx context.Context, tenantID, id string) (store.Destination, error)
	GetSource(ctx context.Context, tenantID, id string) (store.Source, error)
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
	ListDestinations(ctx context.Context, tenantID string) ([]store.Destination, error)
	ListGatewaySecrets(ctx context.Context, tenantID, sourceID string) ([]store.GatewaySecret, error)
	ListSources(ctx context.Context, tenantID string) ([]store.Source, error)
	ListTenants(ctx context.Context) ([]store.Tenant, error)
	ListWebhookTokens(ctx context.Context, tenantID, sourceID string) ([]store.WebhookToken, error)
	PutGatewaySecret(ctx context.Context, s store.GatewaySecret) error
	PutWebhookToken(ctx context.Context, t store.WebhookToken) error
	RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error
	SwapDestinationCredentials(ctx context.Context, tenantID, id, old, next string) (bool, error)
	SwapGatewaySecret(ctx context.Context, tenantID, sourceID, provider, old, next string) (bool, error)
	UpdateDestination(ctx context.Context, d store.Destination) error
	UpdateSource(ctx context.Context, s store.Source) error
	GetGatewaySecret(ctx context.Context, tenantID, sourceID, provider string) (store.GatewaySecret, error)
	GetOrderByExternalID(ctx context.Context, tenantID, provider, externalID string) (store.Order, error)
	ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error)
	ListTouchpoints(ctx context.Context, f store.TouchpointFilter) ([]store.Touchpoint, error)
	ListAdAccounts(ctx context.Context, tenantID string) ([]store.AdAccount, error)
	CreateAdAccount(ctx context.Context, a store.AdAccount) (store.AdAccount, error)
	GetAdAccount(ctx context.Context, tenantID, id string) (store.AdAccount, error)
	UpdateAdAccountCredentials(ctx context.Context, tenantID, id, credentials string, at time.Time) error
	SetAdAccountImport(ctx context.Context, tenantID, id string, st store.AdAccountImport) error
	DeleteAdAccount(ctx context.Context, tenantID, id string) error
	SwapAdAccountCredentials(ctx context.Context, tenantID, id, old, next string) (bool, error)
}

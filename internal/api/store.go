package api

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// Store is what the API reads and writes (store.Store is one): the reports' and the replays'
// reads, the audit log, the alerts, and its own.
type Store interface {
	report.Reader
	report.CoverageReader
	store.CampaignReader
	delivery.Store
	admin.AuditLog
	store.AlertReader
	ErasePerson(ctx context.Context, tenantID string, p store.Person, audit store.AuditEntry) (store.ErasureResult, error)
	GetAPIKeyByLookup(ctx context.Context, lookup string) (store.APIKey, error)
	GetGatewaySecret(ctx context.Context, tenantID, sourceID, provider string) (store.GatewaySecret, error)
	GetInbox(ctx context.Context, tenantID, id string) (store.InboxEntry, error)
	GetSource(ctx context.Context, tenantID, id string) (store.Source, error)
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
	GetAdAccount(ctx context.Context, tenantID, id string) (store.AdAccount, error)
	ListAdAccounts(ctx context.Context, tenantID string) ([]store.AdAccount, error)
	ListAPIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error)
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error)
	ListGatewaySecrets(ctx context.Context, tenantID, sourceID string) ([]store.GatewaySecret, error)
	ListInbox(ctx context.Context, f store.InboxFilter) ([]store.InboxEntry, error)
	ListLinks(ctx context.Context, tenantID, sourceID string) ([]store.Link, error)
	ListOrderHistory(ctx context.Context, tenantID, orderID string) ([]store.OrderStatusChange, error)
	ListSources(ctx context.Context, tenantID string) ([]store.Source, error)
	ListTenants(ctx context.Context) ([]store.Tenant, error)
	ListTouchpoints(ctx context.Context, f store.TouchpointFilter) ([]store.Touchpoint, error)
	SetDestinationTestAccepted(ctx context.Context, tenantID, id string, at time.Time) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
	TouchpointsByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, limit int) ([]store.Touchpoint, error)
}

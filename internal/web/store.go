package web

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// Store is what the dashboard reads and writes (store.Store is one): the reports' and the
// replays' reads, the audit log, sessions in embedded mode, and its own.
type Store interface {
	report.Reader
	report.CoverageReader
	// The Campaigns page: the report's aggregates and money settings, and whether an ad
	// account is connected.
	store.CampaignReader
	ListAdAccounts(ctx context.Context, tenantID string) ([]store.AdAccount, error)
	delivery.Store
	admin.AuditLog
	CountUsers(ctx context.Context) (int, error)
	CreateSession(ctx context.Context, s store.Session) (store.Session, error)
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	CreateFirstUser(ctx context.Context, u store.User) (store.User, bool, error)
	DeleteSession(ctx context.Context, id string) error
	DeleteUser(ctx context.Context, tenantID, id string) error
	DeleteUserSessions(ctx context.Context, tenantID, userID string) (int64, error)
	DeliveriesOfOrders(ctx context.Context, tenantID string, orderIDs []string) ([]store.Delivery, error)
	ErasePerson(ctx context.Context, tenantID string, p store.Person, audit store.AuditEntry) (store.ErasureResult, error)
	GetAPIKeyByLookup(ctx context.Context, lookup string) (store.APIKey, error)
	GetInbox(ctx context.Context, tenantID, id string) (store.InboxEntry, error)
	GetSession(ctx context.Context, id string) (store.Session, error)
	GetSource(ctx context.Context, tenantID, id string) (store.Source, error)
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
	GetUser(ctx context.Context, tenantID, id string) (store.User, error)
	GetUserByEmail(ctx context.Context, email string) (store.User, error)
	ListAPIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error)
	ListGatewaySecrets(ctx context.Context, tenantID, sourceID string) ([]store.GatewaySecret, error)
	ListInbox(ctx context.Context, f store.InboxFilter) ([]store.InboxEntry, error)
	ListLinks(ctx context.Context, tenantID, sourceID string) ([]store.Link, error)
	ListOrderHistory(ctx context.Context, tenantID, orderID string) ([]store.OrderStatusChange, error)
	ListSources(ctx context.Context, tenantID string) ([]store.Source, error)
	ListTouchpoints(ctx context.Context, f store.TouchpointFilter) ([]store.Touchpoint, error)
	ListUsers(ctx context.Context, tenantID string) ([]store.User, error)
	OrdersByID(ctx context.Context, tenantID string, ids []string) ([]store.Order, error)
	SetDestinationTestAccepted(ctx context.Context, tenantID, id string, at time.Time) error
	SetTenantTimeZone(ctx context.Context, id, timeZone string) error
	TouchpointsByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, limit int) ([]store.Touchpoint, error)
	UpdateUser(ctx context.Context, tenantID, id string, c store.UserChange) (store.User, error)
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error)
	GetAlertSettings(ctx context.Context, tenantID string) (store.AlertSettings, error)
	PutAlertSettings(ctx context.Context, tenantID string, s store.AlertSettings) error
}

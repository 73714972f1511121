package admin

import (
	"context"
	"log/slog"

	"github.com/hubtrack/hub/internal/store"
)

// AuditLog is where operator actions are recorded (store.Store is one).
type AuditLog interface {
	InsertAudit(ctx context.Context, a store.AuditEntry) (store.AuditEntry, error)
}

// Audit records an operator action in its tenant's audit log: who (Actor: "api_key:<id>",
// "user:<id>", "cli:<os user>"), what (Action, e.g. "source.create") and on what (Detail, never
// a secret or personal data). The API, the dashboard and the CLI all record through here.
// The action has already happened, so a failure to record it does not undo it: it is logged
// as an error on log.
func Audit(ctx context.Context, l AuditLog, log *slog.Logger, e store.AuditEntry) {
	if _, err := l.InsertAudit(ctx, e); err != nil {
		log.ErrorContext(ctx, "audit: record failed", "action", e.Action, "tenant", e.TenantID, "error", err.Error())
	}
}

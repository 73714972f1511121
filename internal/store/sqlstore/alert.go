package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

const alertCols = `id, tenant_id, kind, subject, subject_name, detail, raised_at, resolved_at`

func scanAlert(r Row) (store.Alert, error) {
	var a store.Alert
	err := r.Scan(&a.ID, &a.TenantID, &a.Kind, &a.Subject, &a.SubjectName, &a.Detail, tm(&a.RaisedAt), ntm(&a.ResolvedAt))
	return a, err
}

func (q *queries) RaiseAlert(ctx context.Context, a store.Alert) (store.Alert, bool, error) {
	a.ID = q.newID(a.ID)
	a.RaisedAt = q.stamp(a.RaisedAt)
	a.ResolvedAt = nil
	var id string
	err := q.queryRow(ctx, q.w, `INSERT INTO alerts (`+alertCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
		ON CONFLICT DO NOTHING RETURNING id`,
		a.ID, a.TenantID, a.Kind, a.Subject, a.SubjectName, a.Detail, q.f.Time(a.RaisedAt)).Scan(&id)
	switch {
	case err == nil:
		return a, true, nil
	case isNoRows(err):
		return store.Alert{}, false, nil
	}
	return store.Alert{}, false, q.writeErr("raise alert", err)
}

func (q *queries) ResolveAlert(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	n, err := q.exec(ctx, q.w, `UPDATE alerts SET resolved_at = $3 WHERE tenant_id = $1 AND id = $2 AND resolved_at IS NULL`,
		tenantID, id, q.f.Time(q.stamp(at)))
	if err != nil {
		return false, wrap("resolve alert", err)
	}
	return n == 1, nil
}

func (q *queries) GetAlert(ctx context.Context, tenantID, id string) (store.Alert, error) {
	a, err := scanAlert(q.queryRow(ctx, q.r, `SELECT `+alertCols+` FROM alerts WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return store.Alert{}, readErr("get alert", err)
	}
	return a, nil
}

func (q *queries) ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error) {
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	if f.Open {
		w.conds = append(w.conds, `resolved_at IS NULL`)
	}
	if f.After != "" {
		w.add(`id < %s`, f.After)
	}
	rows, err := q.query(ctx, q.r, `SELECT `+alertCols+` FROM alerts`+w.String()+` ORDER BY id DESC LIMIT `+w.next(limitOf(f.Limit)), w.args...)
	return collect(rows, err, "list alerts", func(r Rows) (store.Alert, error) { return scanAlert(r) })
}

func (q *queries) GetAlertSettings(ctx context.Context, tenantID string) (store.AlertSettings, error) {
	var raw string
	err := q.queryRow(ctx, q.r, `SELECT settings FROM alert_settings WHERE tenant_id = $1`, tenantID).Scan(&raw)
	switch {
	case isNoRows(err):
		return store.AlertSettings{}, nil
	case err != nil:
		return store.AlertSettings{}, wrap("get alert settings", err)
	}
	var s store.AlertSettings
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return store.AlertSettings{}, wrap("get alert settings", err)
	}
	return s, nil
}

func (q *queries) PutAlertSettings(ctx context.Context, tenantID string, s store.AlertSettings) error {
	raw, err := jsonArg(s)
	if err != nil {
		return wrap("put alert settings", err)
	}
	_, err = q.exec(ctx, q.w, `INSERT INTO alert_settings (tenant_id, settings) VALUES ($1, $2)
		ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings`, tenantID, raw)
	if err != nil {
		return q.writeErr("put alert settings", err)
	}
	return nil
}

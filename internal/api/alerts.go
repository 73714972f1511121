package api

import (
	"context"
	"net/http"
	"time"

	"github.com/hubtrack/hub/internal/alert"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/store"
)

// Alert states as the API shows them: open until the condition clears, then resolved.
const (
	alertOpen     = "open"
	alertResolved = "resolved"
)

// Alert is an operational alert (docs/alerts.md) as the API shows it. Text is the sentence the
// e-mail notice and the dashboard show, written by package alert: what happened and what to do
// while open, that it is over once resolved, in the tenant's time zone.
type Alert struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	Subject     string            `json:"subject"`
	SubjectName string            `json:"subject_name"`
	Detail      string            `json:"detail"`
	State       string            `json:"state"`
	RaisedAt    time.Time         `json:"raised_at"`
	ResolvedAt  *time.Time        `json:"resolved_at"`
	Text        map[string]string `json:"text"`
}

// alertViewer writes alerts in the languages asked for, with the tenant's settings (the
// thresholds the sentences quote) and time zone, as the notices do.
type alertViewer struct {
	langs []string
	set   store.AlertSettings
	loc   *time.Location
}

func (a *API) alertViewer(ctx context.Context, tenantID string, langs []string) (alertViewer, error) {
	tn, err := a.cfg.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return alertViewer{}, err
	}
	set, err := a.cfg.Store.GetAlertSettings(ctx, tenantID)
	if err != nil {
		return alertViewer{}, err
	}
	return alertViewer{langs: langs, set: set, loc: alert.Zone(tn)}, nil
}

func (v alertViewer) view(s store.Alert) Alert {
	out := Alert{ID: s.ID, Kind: s.Kind, Subject: s.Subject, SubjectName: s.SubjectName, Detail: s.Detail,
		State: alertOpen, RaisedAt: s.RaisedAt.UTC(), Text: map[string]string{}}
	if s.ResolvedAt != nil {
		at := s.ResolvedAt.UTC()
		out.State, out.ResolvedAt = alertResolved, &at
	}
	for _, l := range v.langs {
		out.Text[l] = alert.Text(l, s, v.set, v.loc)
	}
	return out
}

// listAlerts lists the tenant's alerts newest first: state=open only the open ones, else all.
func (a *API) listAlerts(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "state", "lang")
	f := store.AlertFilter{TenantID: p.TenantID, Open: q.oneOf("state", alertOpen, "all") == alertOpen, After: q.cursor()}
	limit := q.limit()
	langs := languages(q)
	if err := q.err(); err != nil {
		return err
	}
	v, err := a.alertViewer(r.Context(), p.TenantID, langs)
	if err != nil {
		return err
	}
	f.Limit = limit + 1
	as, err := a.cfg.Store.ListAlerts(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page(as, limit, func(s store.Alert) string { return s.ID }, v.view))
	return nil
}

func (a *API) getAlert(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "lang")
	langs := languages(q)
	if err := q.err(); err != nil {
		return err
	}
	s, err := a.cfg.Store.GetAlert(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := a.alertViewer(r.Context(), p.TenantID, langs)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v.view(s))
	return nil
}

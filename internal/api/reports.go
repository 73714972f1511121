package api

import (
	"net/http"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/report"
)

// MaxReportRange bounds a report's period.
const MaxReportRange = 366 * 24 * time.Hour

// period reads since, until (default: the last 30 days) and tz (an IANA zone, default UTC).
func (a *API) period(q *query) report.Period {
	p := report.Period{Since: q.time("since", false), Until: q.time("until", true), Location: time.UTC}
	if tz := q.str("tz"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			q.fail("tz", "must be an IANA time zone like America/Sao_Paulo")
		} else {
			p.Location = loc
		}
	}
	if p.Until.IsZero() {
		p.Until = a.now()
	}
	if p.Since.IsZero() {
		p.Since = p.Until.Add(-30 * 24 * time.Hour)
	}
	switch {
	case !p.Until.After(p.Since):
		q.fail("until", "must be after since")
	case p.Until.Sub(p.Since) > MaxReportRange:
		q.fail("since", "the period must be at most 366 days")
	}
	return p
}

func (a *API) reportSummary(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "since", "until", "tz")
	per := a.period(q)
	if err := q.err(); err != nil {
		return err
	}
	s, err := report.Summarize(r.Context(), a.cfg.Reports, p.TenantID, per)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s)
	return nil
}

func (a *API) reportAccuracy(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "since", "until")
	per := a.period(q)
	if err := q.err(); err != nil {
		return err
	}
	acc, err := report.AccuracyReport(r.Context(), a.cfg.Reports, p.TenantID, per)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, acc)
	return nil
}

// destinationCoverage is the share of the destination's events sent in the period that carried
// each identifier key, and for Meta the estimated match score (report.IdentifierCoverage).
func (a *API) destinationCoverage(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "since", "until")
	per := a.period(q)
	if err := q.err(); err != nil {
		return err
	}
	d, err := a.cfg.Store.GetDestination(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	var shown []dest.Keys
	if impl, ok := a.cfg.Dests.Lookup(d.Type); ok {
		shown = impl.Spec().Keys
	}
	c, err := report.IdentifierCoverage(r.Context(), a.cfg.Store, d, shown, per)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

// exportOrders streams the orders matching the list filters as CSV. Once the first row is
// written an error can no longer become a problem document; it is logged and the body ends.
func (a *API) exportOrders(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "status", "provider", "matched", "since", "until")
	f := orderFilter(q, p.TenantID)
	if err := q.err(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
	w.Header().Set("Content-Disposition", `attachment; filename="orders.csv"`)
	if err := report.ExportOrders(r.Context(), a.cfg.Reports, f, w); err != nil {
		a.cfg.Log.Error("api: export orders", "request_id", httpx.RequestID(r.Context()), "error", err.Error())
	}
	return nil
}

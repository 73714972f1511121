package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
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

// Languages are the languages the API writes sentences in (lang=en or lang=pt-BR picks one;
// without it, both).
var Languages = []string{"en", "pt-BR"}

// coverageAnswer is report.Coverage and, for a destination whose platform gives its own match
// quality (Meta), that quality beside Hub's estimate.
type coverageAnswer struct {
	report.Coverage
	Platform *PlatformQuality `json:"platform_match_quality"`
}

// PlatformQuality is the platform's own match quality (Meta's Event Match Quality, 0 to 10 per
// event name) as report.PlatformMatchQuality keeps it, with the reason it is not available in
// words, by language.
type PlatformQuality struct {
	Available bool                `json:"available"`
	Scores    []dest.MatchQuality `json:"scores"`
	Problem   string              `json:"problem,omitempty"`
	Reason    map[string]string   `json:"reason,omitempty"`
	CheckedAt time.Time           `json:"checked_at"`
}

// destinationCoverage is the share of the destination's events sent in the period that carried
// each identifier key, and for Meta the estimated match score (report.IdentifierCoverage) and
// Meta's own Event Match Quality (report.PlatformMatchQuality, through its cache).
func (a *API) destinationCoverage(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "since", "until", "lang")
	per := a.period(q)
	langs := languages(q)
	if err := q.err(); err != nil {
		return err
	}
	d, err := a.cfg.Store.GetDestination(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	var shown []dest.Keys
	impl, ok := a.cfg.Dests.Lookup(d.Type)
	if ok {
		shown = impl.Spec().Keys
	}
	c, err := report.IdentifierCoverage(r.Context(), a.cfg.Store, d, shown, per)
	if err != nil {
		return err
	}
	ans := coverageAnswer{Coverage: c}
	if qr, ok := impl.(dest.QualityReader); ok {
		ans.Platform = a.platformQuality(r.Context(), qr, d, langs)
	}
	httpx.WriteJSON(w, http.StatusOK, ans)
	return nil
}

// languages reads lang: the one asked for, else every language.
func languages(q *query) []string {
	if l := q.oneOf("lang", Languages...); l != "" {
		return []string{l}
	}
	return Languages
}

// platformQuality reads d's platform's own match quality through the cache (asked every few
// hours, not per request). Settings or credentials that cannot be read are a refusal.
func (a *API) platformQuality(ctx context.Context, qr dest.QualityReader, d store.Destination, langs []string) *PlatformQuality {
	cfg := dest.Config{}
	var creds dest.Credentials
	if len(d.Config) > 0 && json.Unmarshal(d.Config, &cfg) != nil {
		cfg = dest.Config{}
	}
	if d.Credentials != "" {
		if m, err := a.credentials(d); err == nil {
			creds = dest.NewCredentials(m)
		}
	}
	pq := report.PlatformMatchQuality(ctx, a.cfg.Quality, qr, d, cfg, creds, a.now())
	v := &PlatformQuality{Available: pq.Available, Scores: pq.Scores, Problem: pq.Problem, CheckedAt: pq.CheckedAt}
	if v.Scores == nil {
		v.Scores = []dest.MatchQuality{}
	}
	if pq.Problem != "" {
		v.Reason = map[string]string{}
		for _, l := range langs {
			v.Reason[l] = report.QualityReason(pq.Problem, l)
		}
	}
	return v
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

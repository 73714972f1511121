package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/live"
	"github.com/hubtrack/hub/internal/store"
)

type liveData struct {
	Sources []store.Source
	Source  string
}

func (u *UI) live(w http.ResponseWriter, r *http.Request, p page) {
	srcs, err := u.cfg.Store.ListSources(r.Context(), p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p.Title, p.Nav, p.Data = p.Loc.T("live.h1"), "live", liveData{Sources: srcs, Source: r.URL.Query().Get("source")}
	u.render(w, r, http.StatusOK, "live", p)
}

// liveStream serves Server-Sent Events from the tenant's stream: the recent backlog first, then
// new events as they are published, filtered by source when asked. The browser's EventSource
// resumes from Last-Event-ID after a reconnect.
func (u *UI) liveStream(w http.ResponseWriter, r *http.Request, p page) {
	// The ResponseController reaches the connection through every wrapper that unwraps (the
	// access log's), where a type assertion on w sees only the outer writer.
	rc := http.NewResponseController(w)
	source := r.URL.Query().Get("source")
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = cache.StreamStart
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	if err := rc.Flush(); err != nil {
		u.cfg.Log.Error("web: live stream cannot flush", "error", err.Error())
		return
	}
	ctx := r.Context()
	names := map[string]string{} // destination id -> name, for this stream
	for {
		evs, next, err := live.Read(ctx, u.cfg.Cache, p.Tenant.ID, after, 100, 15*time.Second)
		if err != nil {
			if !errors.Is(err, context.Canceled) && ctx.Err() == nil {
				u.cfg.Log.Warn("web: live stream read", "error", err.Error())
			}
			return
		}
		if next == after {
			fmt.Fprint(w, ": keep-alive\n\n")
			if rc.Flush() != nil {
				return
			}
			continue
		}
		after = next
		for _, e := range evs {
			if source != "" && e.SourceID != source {
				continue
			}
			b, _ := json.Marshal(struct {
				live.Event
				Time    string `json:"time"`
				Label   string `json:"label"`
				Summary string `json:"summary"`
			}{e.Event, p.Loc.Time(e.At), p.Loc.Code("live.kind", e.Kind), u.liveWords(ctx, p.Loc, p.Tenant.ID, e.Event, names)})
			fmt.Fprintf(w, "id: %s\nevent: live\ndata: %s\n\n", e.ID, b)
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// liveWords puts a live event into the reader's language from its fields: "Webhook from
// Hotmart: accepted", "Purchase to Meta pixel: failed — Access token expired or revoked",
// "2 events: page view". An event without them (published by an older Hub) keeps its English
// summary. names caches destination names for the stream.
func (u *UI) liveWords(ctx context.Context, l locale, tenantID string, e live.Event, names map[string]string) string {
	switch {
	case e.Kind == "webhook" && e.Provider != "" && e.State != "":
		return l.T("live.webhook", l.Code("provider", e.Provider), l.Code("inbox_state", e.State))
	case e.Kind == "delivery" && e.EventName != "" && e.State != "":
		name, ok := names[e.DestinationID]
		if !ok {
			name = l.T("live.a_destination")
			if d, err := u.cfg.Store.GetDestination(ctx, tenantID, e.DestinationID); err == nil {
				name = d.Name
			}
			names[e.DestinationID] = name
		}
		s := l.T("live.delivery", l.Code("event", e.EventName), name, l.Code("delivery_state", e.State))
		if e.Reason != "" {
			s += " — " + l.reason(e.Reason).Title
		}
		return s
	case e.Kind == "touchpoint" && e.Type != "" && e.Count > 0:
		return l.N("live.events", e.Count) + ": " + l.Code("tp_type", e.Type)
	}
	return e.Summary
}

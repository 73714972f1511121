package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hubtrack/hub/internal/store"
)

// docsBase is where the guides are read: links, never repository paths.
const docsBase = "https://github.com/hubtrack/hub/blob/main/docs/"

// docsURL links a guide under docs/.
func docsURL(path string) string { return docsBase + strings.TrimPrefix(path, "docs/") }

// setupStep is one line of the setup checklist. Done is a fact read from the store, never an
// assumption; an unticked step says the next action in one sentence and links its guide.
type setupStep struct {
	ID    string
	Done  bool
	Class string // done, todo or bad (a step that failed: shown in red with the reason)
	Title string
	Fact  string // what was seen, when done (or what went wrong)
	Next  string
	Guide string // docs path, linked
}

// setupSteps reads the checklist's facts: a source exists, the snippet was seen (a first
// touchpoint), a gateway's webhook was accepted (the newest one rejected: red with why), a
// destination exists, the platform accepted a test event, and the public URL gateways call
// is https and not localhost.
func (u *UI) setupSteps(r *http.Request, p page, srcs []store.Source, ds []store.Destination) ([]setupStep, error) {
	ctx := r.Context()
	l := p.Loc
	tid := p.Tenant.ID
	step := func(id string, done bool, guide string) setupStep {
		s := setupStep{ID: id, Done: done, Class: "todo", Title: l.T("step." + id), Guide: guide}
		if done {
			s.Class = "done"
		} else {
			s.Next = l.T("step." + id + ".next")
		}
		return s
	}
	var steps []setupStep

	src := step("source", len(srcs) > 0, "gateways/README.md")
	if src.Done {
		src.Fact = l.N("step.source.fact", len(srcs))
	}
	steps = append(steps, src)

	tps, err := u.cfg.Store.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: tid, Limit: 1})
	if err != nil {
		return nil, err
	}
	sn := step("snippet", len(tps) > 0, "tracking.md")
	if sn.Done {
		sn.Fact = l.T("step.snippet.fact", l.Time(tps[0].ReceivedAt))
	}
	steps = append(steps, sn)

	wh := step("webhook", false, "gateways/README.md")
	latest, err := u.cfg.Store.ListInbox(ctx, store.InboxFilter{TenantID: tid, Limit: 1})
	if err != nil {
		return nil, err
	}
	var accepted []store.InboxEntry
	for _, st := range []store.InboxState{store.InboxProcessed, store.InboxDuplicate, store.InboxIgnored} {
		es, err := u.cfg.Store.ListInbox(ctx, store.InboxFilter{TenantID: tid, State: st, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(es) > 0 && (len(accepted) == 0 || es[0].ID > accepted[0].ID) {
			accepted = es
		}
	}
	switch {
	case len(latest) > 0 && !webhookAccepted(latest[0].State):
		e := latest[0]
		wh.Class = "bad"
		wh.Fact = l.T("step.webhook.bad", l.Code("provider", e.Provider), l.Time(e.ReceivedAt), l.T("inbox_why."+inboxSentence(e.State)))
		if e.State == store.InboxRejected && len(srcs) > 0 {
			wh.Guide = "gateways/" + e.Provider + ".md"
		}
	case len(accepted) > 0:
		wh.Done, wh.Class, wh.Next = true, "done", ""
		wh.Fact = l.T("step.webhook.fact", l.Code("provider", accepted[0].Provider), l.Time(accepted[0].ReceivedAt))
	}
	steps = append(steps, wh)

	steps = append(steps, step("destination", len(ds) > 0, "destinations/meta.md"))

	test := step("test", false, "destinations/meta.md")
	for _, d := range ds {
		if d.TestAcceptedAt != nil {
			test.Done, test.Class, test.Next = true, "done", ""
			test.Fact = l.T("step.test.fact", d.Name, l.Time(*d.TestAcceptedAt))
		}
	}
	if !test.Done {
		for _, d := range ds {
			if d.Health.State == "unhealthy" {
				test.Class = "bad"
				test.Fact = l.T("step.test.bad", d.Name, l.reason(d.Health.Reason).Title)
			}
		}
	}
	steps = append(steps, test)

	pub := step("public", publicURLWarning(u.cfg.PublicURL) == "", "infrastructure/README.md")
	if pub.Done {
		pub.Fact = u.cfg.PublicURL
	} else {
		pub.Class = "bad"
		pub.Fact = l.T(publicURLWarning(u.cfg.PublicURL))
	}
	steps = append(steps, pub)
	return steps, nil
}

// publicURLWarning is a catalogue key when gateways cannot call the webhook URLs Hub shows:
// an address on this machine, or plain http. Empty when the URL is fine.
func publicURLWarning(public string) string {
	pu, err := url.Parse(public)
	if err != nil || pu.Host == "" {
		return "warn.url_unset"
	}
	host := pu.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasPrefix(host, "127.") || host == "::1" || host == "0.0.0.0" {
		return "warn.url_localhost"
	}
	if pu.Scheme != "https" {
		return "warn.url_http"
	}
	return ""
}

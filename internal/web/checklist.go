package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/hubtrack/hub/internal/dest"
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
// is https and not localhost. What the destination steps say of a platform (its name, its
// test setting, where its test event shows, its guide) comes from the destinations' specs.
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

	// The destinations are offered in their specs' onboarding order (Hub's product choice is
	// spec data, dest.Spec.Onboarding); the page names none itself.
	offered := u.cfg.Dests.Onboarding()
	dst := step("destination", len(ds) > 0, "")
	if len(offered) > 0 {
		dst.Guide = "destinations/" + offered[0].Docs
	}
	if !dst.Done {
		titles := make([]string, len(offered))
		for i, sp := range offered {
			titles[i] = sp.TitleWords().In(l.Tag)
		}
		dst.Next = l.T("step.destination.next", l.or(titles))
	}
	steps = append(steps, dst)

	spec, name, cfg := testTarget(offered, ds)
	if name == "" {
		name = spec.TitleWords().In(l.Tag)
	}
	test := step("test", false, "")
	if spec.Docs != "" {
		test.Guide = "destinations/" + spec.Docs
	}
	next := []string{l.T("step.test.next")}
	if ts, ok := spec.CanTest(cfg); !ok && ts.Name != "" {
		next = append([]string{l.T("step.test.set", ts.LabelWords().In(l.Tag), name)}, next...)
	}
	if w := spec.TestView.In(l.Tag); w != "" {
		next = append(next, w)
	}
	test.Next = strings.Join(next, " ")
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

// testTarget is the destination the checklist's test step speaks of: the tenant's first in
// the onboarding order, with its name and settings, else (none yet) the first destination
// offered, without a name (the caller names it by its title). An unregistered type is passed
// over.
func testTarget(offered []dest.Spec, ds []store.Destination) (spec dest.Spec, name string, cfg dest.Config) {
	for _, sp := range offered {
		for _, d := range ds {
			if d.Type == sp.Type {
				cfg = dest.Config{}
				_ = json.Unmarshal(d.Config, &cfg) // unreadable settings read as none: the step then asks for the test setting
				return sp, d.Name, cfg
			}
		}
	}
	if len(offered) > 0 {
		return offered[0], "", dest.Config{}
	}
	return dest.Spec{}, "", dest.Config{}
}

// or joins words as a choice in the reader's language: "a, b or c".
func (l locale) or(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return l.T("list.or", strings.Join(words[:len(words)-1], ", "), words[len(words)-1])
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

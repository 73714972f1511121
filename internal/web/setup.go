package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

type destView struct {
	store.Destination
	Spec       dest.Spec
	Config     map[string]string
	SecretsSet []string
	// Rotating: the previous value of a generated secret is still in use (both sign).
	Rotating bool
	// Coverage is the identifier coverage of the events sent in the chosen period
	// (setupData.CoverageDays).
	Coverage report.Coverage
	// Quality is the platform's own match quality (Meta's Event Match Quality), for a
	// destination whose type can read it (dest.QualityReader); nil otherwise.
	Quality *report.PlatformQuality
	// QualityEvent is the event Quality's headline score is for: Purchase when the platform
	// scored it, else the first it scored.
	QualityEvent string
	QualityScore float64
}

// CoverageDays is the default period of the identifier coverage on the setup page, in days;
// CoveragePeriods are the periods a reader can choose (?coverage_days=7).
const CoverageDays = 30

var CoveragePeriods = []int{7, 30, 90}

// coverageDays is the period the request chose (chosen true), or CoverageDays when it chose
// none or one not offered (a stale or edited link shows the default rather than an error page).
func coverageDays(r *http.Request) (days int, chosen bool) {
	if v, err := strconv.Atoi(r.URL.Query().Get("coverage_days")); err == nil && slices.Contains(CoveragePeriods, v) {
		return v, true
	}
	return CoverageDays, false
}

type setupData struct {
	// CoverageDays is the period of every destination's coverage; CoveragePeriods the choices.
	CoverageDays    int
	CoveragePeriods []int
	// CoverageChosen: the reader chose the period, so the coverage blocks open.
	CoverageChosen bool
	Steps          []setupStep
	Sources        []store.Source
	Destinations   []destView
	Specs          []dest.Spec
	Providers      []string
	Test           *testResult
	// Secret is a secret Hub just generated (a webhook's signing secret), shown on this page
	// only: it is never in a URL, and no later page shows it.
	Secret *shownSecret
	// AdLinks are the URL parameters to paste in each ad platform's ads that declares them
	// (spend.Spec.AdLinks), with whether its recent ad clicks carry them.
	AdLinks []adLinks
}

type shownSecret struct {
	DestinationID string
	Name          string // the setting
	Value         string
}

type testResult struct {
	DestinationID string
	Delivered     bool
	Kind          string
	Reason        string
	Code          int
	Message       string
	TraceID       string
	HTTPStatus    int
}

func (u *UI) destView(d store.Destination) destView {
	v := destView{Destination: d, Config: map[string]string{}}
	if impl, ok := u.cfg.Dests.Lookup(d.Type); ok {
		v.Spec = impl.Spec()
	}
	if len(d.Config) > 0 {
		_ = json.Unmarshal(d.Config, &v.Config)
	}
	if d.Credentials != "" && u.cfg.Admin != nil {
		if creds, err := u.cfg.Admin.DestinationCredentials(d); err == nil {
			v.SecretsSet = dest.NewCredentials(creds).Names()
			for _, st := range v.Spec.Generated() {
				v.Rotating = v.Rotating || st.Previous != "" && creds[st.Previous] != ""
			}
		}
	}
	return v
}

func (u *UI) setup(w http.ResponseWriter, r *http.Request, p page) {
	u.renderSetup(w, r, p, http.StatusOK, nil)
}

func (u *UI) renderSetup(w http.ResponseWriter, r *http.Request, p page, status int, test *testResult) {
	u.renderSetupWith(w, r, p, status, setupData{Test: test})
}

func (u *UI) renderSetupWith(w http.ResponseWriter, r *http.Request, p page, status int, d setupData) {
	ctx := r.Context()
	srcs, err := u.cfg.Store.ListSources(ctx, p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	ds, err := u.cfg.Store.ListDestinations(ctx, p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Sources, d.Specs, d.Providers = srcs, u.cfg.Dests.Onboarding(), u.cfg.Providers
	now := u.now()
	d.CoverageDays, d.CoverageChosen = coverageDays(r)
	d.CoveragePeriods = CoveragePeriods
	for _, x := range ds {
		v := u.destView(x)
		per := report.Period{Since: now.Add(-time.Duration(d.CoverageDays) * 24 * time.Hour), Until: now}
		if v.Coverage, err = report.IdentifierCoverage(ctx, u.cfg.Store, x, v.Spec.Keys, per); err != nil {
			u.fail(w, r, err)
			return
		}
		u.platformQuality(ctx, &v)
		d.Destinations = append(d.Destinations, v)
	}
	if d.Steps, err = u.setupSteps(r, p, srcs, ds); err != nil {
		u.fail(w, r, err)
		return
	}
	if d.AdLinks, err = u.adLinksOf(ctx, p.Loc, p.Tenant.ID, u.spendSpecs()); err != nil {
		u.fail(w, r, err)
		return
	}
	p.Title, p.Nav, p.Data = p.Loc.T("title.setup"), "setup", d
	u.render(w, r, status, "setup", p)
}

// platformQuality reads the platform's own match quality of v's destination, when its type can
// read it, through the cache (report.PlatformMatchQuality: asked every few hours, not per page
// view). Settings or credentials that cannot be read are shown as a refusal.
func (u *UI) platformQuality(ctx context.Context, v *destView) {
	impl, ok := u.cfg.Dests.Lookup(v.Type)
	if !ok {
		return
	}
	qr, ok := impl.(dest.QualityReader)
	if !ok {
		return
	}
	cfg := dest.Config{}
	for k, val := range v.Config {
		cfg[k] = val
	}
	var creds dest.Credentials
	if v.Credentials != "" && u.cfg.Admin != nil {
		if m, err := u.cfg.Admin.DestinationCredentials(v.Destination); err == nil {
			creds = dest.NewCredentials(m)
		}
	}
	q := report.PlatformMatchQuality(ctx, u.cfg.Cache, qr, v.Destination, cfg, creds, u.now())
	v.Quality = &q
	if len(q.Scores) > 0 {
		v.QualityEvent = q.Scores[0].Event
		if _, ok := q.Score(domain.EventPurchase); ok {
			v.QualityEvent = domain.EventPurchase
		}
		v.QualityScore, _ = q.Score(v.QualityEvent)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' }) {
		out = append(out, strings.TrimRight(f, "/"))
	}
	return out
}

func (u *UI) createSource(w http.ResponseWriter, r *http.Request, p page) {
	in := admin.SourceInput{Name: strings.TrimSpace(r.PostFormValue("name")), AllowedOrigins: splitList(r.PostFormValue("origins"))}
	if days := r.PostFormValue("window_days"); days != "" {
		var n int
		if _, err := fmt.Sscan(days, &n); err != nil || n < 1 || n > 90 {
			p.Error = p.Loc.T("err.window")
			u.renderSetup(w, r, p, http.StatusUnprocessableEntity, nil)
			return
		}
		in.AttributionWindow = time.Duration(n) * 24 * time.Hour
	}
	if m := r.PostFormValue("model"); m != "" {
		in.AttributionModel = m
	}
	if prov, secret := r.PostFormValue("provider"), strings.TrimSpace(r.PostFormValue("secret")); prov != "" && secret != "" {
		if !slices.Contains(u.cfg.Providers, prov) {
			p.Error = p.Loc.T("err.unknown_gateway")
			u.renderSetup(w, r, p, http.StatusUnprocessableEntity, nil)
			return
		}
		in.Secrets = map[string]string{prov: secret}
	}
	if err := admin.CheckSource(in); err != nil {
		p.Error = userError(p.Loc, err)
		u.renderSetup(w, r, p, http.StatusUnprocessableEntity, nil)
		return
	}
	src, err := u.cfg.Admin.CreateSource(r.Context(), p.Tenant.ID, in)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "source.create", "source "+src.ID)
	redirect(w, r, "/setup/sources/"+src.ID, "flash.source_created")
}

// userError turns a validation error into a sentence for the page: the field's name in the
// reader's language and the problem as admin states it.
func userError(l locale, err error) string {
	var ve *admin.ValidationError
	if errors.As(err, &ve) {
		parts := make([]string, len(ve.Fields))
		for i, f := range ve.Fields {
			parts[i] = l.Code("field", f.Field) + ": " + l.Problem(f.Reason)
		}
		return l.T("err.please_fix", strings.Join(parts, "; "))
	}
	return l.T("err.please_check")
}

type gatewayView struct {
	Provider   string
	WebhookURL string // empty while the gateway has no token
	SecretSet  bool
	Unsigned   bool // the gateway signs nothing: the URL is its only protection
	Enabled    bool
	Doc        string
	// Testable: the gateway is enabled and builds test purchases.
	Testable bool
}

type sourceData struct {
	Source   store.Source
	Snippet  string
	Gateways []gatewayView
	Links    []linkView
	Status   sourceStatus
	// URLWarning is a catalogue key when the webhook URLs shown cannot be called by a
	// gateway (localhost, or plain http).
	URLWarning string
	// TestPurchase offers "send a test purchase" (Config.Public is set).
	TestPurchase bool
}

type linkView struct {
	store.Link
	URL string
}

// sourceStatus is the live setup check: has the snippet been seen, has a webhook arrived and
// was it accepted. The classes are ok, waiting or bad (a rejected webhook is bad, never ok).
type sourceStatus struct {
	SnippetSeen   bool      `json:"snippet_seen"`
	SnippetOrigin string    `json:"snippet_origin,omitempty"`
	SnippetAt     time.Time `json:"snippet_at"`
	WebhookSeen   bool      `json:"webhook_seen"`
	WebhookOK     bool      `json:"webhook_ok"`
	WebhookState  string    `json:"webhook_state,omitempty"`
	WebhookFrom   string    `json:"webhook_provider,omitempty"`
	WebhookAt     time.Time `json:"webhook_at"`
	Snippet       string    `json:"snippet_text"`
	Webhook       string    `json:"webhook_text"`
	SnippetClass  string    `json:"snippet_class"`
	WebhookClass  string    `json:"webhook_class"`
}

func (u *UI) status(r *http.Request, p page, src store.Source) (sourceStatus, error) {
	ctx := r.Context()
	var s sourceStatus
	tps, err := u.cfg.Store.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: p.Tenant.ID, SourceID: src.ID, Limit: 1})
	if err != nil {
		return s, err
	}
	if len(tps) > 0 {
		s.SnippetSeen, s.SnippetAt = true, tps[0].ReceivedAt
		if pu, err := url.Parse(tps[0].URL); err == nil && pu.Host != "" {
			s.SnippetOrigin = pu.Scheme + "://" + pu.Host
		}
	}
	es, err := u.cfg.Store.ListInbox(ctx, store.InboxFilter{TenantID: p.Tenant.ID, SourceID: src.ID, Limit: 1})
	if err != nil {
		return s, err
	}
	l := p.Loc
	s.Snippet, s.SnippetClass = l.T("status.snippet_waiting"), "waiting"
	if s.SnippetSeen {
		s.SnippetClass = "ok"
		if s.SnippetOrigin != "" {
			s.Snippet = l.T("status.snippet_seen", s.SnippetOrigin, l.Time(s.SnippetAt))
		} else {
			s.Snippet = l.T("status.snippet_seen_site", l.Time(s.SnippetAt))
		}
	}
	s.Webhook, s.WebhookClass = l.T("status.webhook_waiting"), "waiting"
	if len(es) > 0 {
		e := es[0]
		s.WebhookSeen, s.WebhookState, s.WebhookFrom, s.WebhookAt = true, string(e.State), e.Provider, e.ReceivedAt
		s.WebhookOK = webhookAccepted(e.State)
		s.WebhookClass = "bad"
		if s.WebhookOK {
			s.WebhookClass = "ok"
		}
		s.Webhook = l.T("status.webhook_last", l.Code("provider", e.Provider), l.Time(e.ReceivedAt), l.T("inbox_sentence."+inboxSentence(e.State)))
	}
	return s, nil
}

// webhookAccepted reports whether a stored webhook passed the gateway's check and was read.
func webhookAccepted(st store.InboxState) bool {
	switch st {
	case store.InboxProcessed, store.InboxDuplicate, store.InboxIgnored, store.InboxReceived:
		return true
	}
	return false
}

func inboxSentence(st store.InboxState) string {
	switch st {
	case store.InboxReceived, store.InboxProcessed, store.InboxDuplicate, store.InboxIgnored, store.InboxUnparseable, store.InboxRejected:
		return string(st)
	}
	return "other"
}

func (u *UI) source(w http.ResponseWriter, r *http.Request, p page) {
	u.renderSource(w, r, p, http.StatusOK)
}

func (u *UI) renderSource(w http.ResponseWriter, r *http.Request, p page, code int) {
	ctx := r.Context()
	src, err := u.cfg.Store.GetSource(ctx, p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := sourceData{Source: src, Snippet: u.cfg.Admin.SnippetTag(src)}
	secrets, err := u.cfg.Store.ListGatewaySecrets(ctx, p.Tenant.ID, src.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	tokens, err := u.cfg.Admin.WebhookTokens(ctx, src)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	for _, prov := range u.cfg.Providers {
		g := gatewayView{Provider: prov, Doc: "gateways/" + prov + ".md"}
		g.SecretSet = slices.ContainsFunc(secrets, func(s store.GatewaySecret) bool { return s.Provider == prov })
		if a, ok := u.adapters.Lookup(prov); ok && !a.Spec().Signed {
			g.Unsigned = true
		}
		if t := tokens[prov]; t != "" {
			g.WebhookURL = u.cfg.Admin.WebhookURL(prov, t)
			g.Enabled = g.SecretSet || g.Unsigned
		}
		if a, ok := u.adapters.Lookup(prov); ok && g.Enabled {
			g.Testable = a.Spec().Test != nil
		}
		d.Gateways = append(d.Gateways, g)
	}
	slices.SortStableFunc(d.Gateways, func(a, b gatewayView) int {
		if a.Enabled != b.Enabled {
			if a.Enabled {
				return -1
			}
			return 1
		}
		return 0
	})
	links, err := u.cfg.Store.ListLinks(ctx, p.Tenant.ID, src.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	for _, l := range links {
		d.Links = append(d.Links, linkView{Link: l, URL: u.cfg.Admin.LinkURL(l)})
	}
	if d.Status, err = u.status(r, p, src); err != nil {
		u.fail(w, r, err)
		return
	}
	d.URLWarning = publicURLWarning(u.cfg.PublicURL)
	d.TestPurchase = u.cfg.Public != nil
	p.Title, p.Nav, p.Data = p.Loc.T("title.source", src.Name), "setup", d
	u.render(w, r, code, "source", p)
}

// testPurchaseWait is how long "send a test purchase" waits for the destinations' answers
// before showing the order (which shows what is still on its way).
const testPurchaseWait = 10 * time.Second

// testPurchase sends the source a paid purchase as the chosen gateway would (signed with the
// source's secret, from the test buyer webhook.TestBuyerEmail) through Hub's public webhook
// endpoint, and shows its order: the match, and what each destination received.
func (u *UI) testPurchase(w http.ResponseWriter, r *http.Request, p page) {
	if u.cfg.Public == nil {
		u.fail(w, r, store.ErrNotFound)
		return
	}
	ctx := r.Context()
	prov := r.PostFormValue("provider")
	res, err := u.cfg.Admin.TestPurchase(ctx, admin.TestPurchaseInput{TenantID: p.Tenant.ID, SourceID: r.PathValue("id"),
		Provider: prov, Adapters: u.adapters, Dests: u.cfg.Dests, Public: u.cfg.Public, Wait: testPurchaseWait})
	var te *admin.TestPurchaseError
	if errors.As(err, &te) {
		p.Error = p.Loc.T("err.test_purchase."+te.Code, p.Loc.Code("provider", prov), te.Detail)
		u.renderSource(w, r, p, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "source.test_purchase", fmt.Sprintf("source %s gateway %s order %s", r.PathValue("id"), prov, res.Order.ID))
	redirect(w, r, "/orders/"+res.Order.ID, "flash.test_purchase", p.Loc.Code("provider", prov))
}

// sourceStatus answers the setup page's polling (JSON).
func (u *UI) sourceStatus(w http.ResponseWriter, r *http.Request, p page) {
	src, err := u.cfg.Store.GetSource(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		http.Error(w, p.Loc.T("err.not_found"), http.StatusNotFound)
		return
	}
	s, err := u.status(r, p, src)
	if err != nil {
		u.cfg.Log.Error("web: source status", "error", err.Error())
		http.Error(w, p.Loc.T("err.internal"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(s)
}

func (u *UI) putSecret(w http.ResponseWriter, r *http.Request, p page) {
	src, err := u.cfg.Store.GetSource(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	prov, secret := r.PostFormValue("provider"), strings.TrimSpace(r.PostFormValue("secret"))
	if !slices.Contains(u.cfg.Providers, prov) || secret == "" {
		redirect(w, r, "/setup/sources/"+src.ID, "flash.secret_missing")
		return
	}
	if err := u.cfg.Admin.PutGatewaySecret(r.Context(), src, prov, secret); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "source.secret", "source "+src.ID+" provider "+prov)
	redirect(w, r, "/setup/sources/"+src.ID, "flash.secret_saved", prov)
}

// rotateToken gives a gateway of the source a fresh webhook URL; the old one stops working at
// once. For an unsigned gateway without a URL it enables the gateway.
func (u *UI) rotateToken(w http.ResponseWriter, r *http.Request, p page) {
	src, err := u.cfg.Store.GetSource(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	prov := r.PostFormValue("provider")
	if !slices.Contains(u.cfg.Providers, prov) {
		redirect(w, r, "/setup/sources/"+src.ID, "flash.choose_gateway")
		return
	}
	if _, err := u.cfg.Admin.RotateWebhookToken(r.Context(), src, prov); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "source.token", "source "+src.ID+" provider "+prov)
	redirect(w, r, "/setup/sources/"+src.ID, "flash.new_url", prov)
}

func (u *UI) createLink(w http.ResponseWriter, r *http.Request, p page) {
	id := r.PathValue("id")
	l, err := u.cfg.Admin.CreateLink(r.Context(), p.Tenant.ID, id, strings.TrimSpace(r.PostFormValue("target")))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			u.fail(w, r, err)
			return
		}
		// admin refuses the target with a reason; the page says it in the reader's language.
		var ve *admin.ValidationError
		if errors.As(err, &ve) && len(ve.Fields) > 0 && ve.Fields[0].Reason == admin.LinkTargetOffOrigin {
			redirect(w, r, "/setup/sources/"+id, "flash.link_off_origin")
			return
		}
		if ve == nil {
			u.fail(w, r, err)
			return
		}
		redirect(w, r, "/setup/sources/"+id, "flash.link_invalid")
		return
	}
	u.audit(r, p, "link.create", "link "+l.Code)
	redirect(w, r, "/setup/sources/"+id, "flash.link_created")
}

// settingsFromForm reads a destination type's settings from a form: config and credentials.
func settingsFromForm(r *http.Request, spec dest.Spec) (cfg, creds map[string]string) {
	cfg, creds = map[string]string{}, map[string]string{}
	for _, s := range spec.Settings {
		v := strings.TrimSpace(r.PostFormValue("s_" + s.Name))
		if s.Secret {
			if v != "" {
				creds[s.Name] = v
			}
			continue
		}
		cfg[s.Name] = v
	}
	return cfg, creds
}

// validator checks destination settings with the registry, naming settings and problems in
// the reader's language.
type validator struct {
	reg *dest.Registry
	l   locale
}

func (v validator) Validate(typ string, config, credentials json.RawMessage) error {
	d, ok := v.reg.Lookup(typ)
	if !ok {
		return fmt.Errorf("unknown destination type %q", typ)
	}
	cfg, creds := dest.Config{}, map[string]string{}
	if len(config) > 0 {
		if err := json.Unmarshal(config, &cfg); err != nil {
			return err
		}
	}
	if len(credentials) > 0 {
		if err := json.Unmarshal(credentials, &creds); err != nil {
			return err
		}
	}
	var problems []string
	var ce *dest.ConfigError
	if err := d.ValidateConfig(cfg); errors.As(err, &ce) {
		for _, fp := range ce.Problems {
			problems = append(problems, v.label(d.Spec(), fp.Field)+": "+v.l.Problem(fp.Reason))
		}
	} else if err != nil {
		problems = append(problems, err.Error())
	}
	if ce := dest.CheckCredentials(d.Spec(), dest.NewCredentials(creds)); ce.Err() != nil {
		for _, fp := range ce.Problems {
			problems = append(problems, v.label(d.Spec(), fp.Field)+": "+v.l.Problem(fp.Reason))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func (v validator) label(spec dest.Spec, name string) string {
	if s, ok := spec.Setting(name); ok && s.Label != "" {
		return v.l.Setting(spec.Type, name, s.Label)
	}
	return name
}

func (u *UI) createDestination(w http.ResponseWriter, r *http.Request, p page) {
	typ := r.PostFormValue("type")
	impl, ok := u.cfg.Dests.Lookup(typ)
	if !ok {
		p.Error = p.Loc.T("err.dest_type")
		u.renderSetup(w, r, p, http.StatusUnprocessableEntity, nil)
		return
	}
	cfg, creds := settingsFromForm(r, impl.Spec())
	for k, v := range cfg {
		if v == "" {
			delete(cfg, k)
		}
	}
	// The secrets Hub generates (a webhook's signing secret) are made here and shown once,
	// on the page this answer renders.
	var shown *shownSecret
	for _, st := range impl.Spec().Generated() {
		if creds[st.Name] != "" {
			continue
		}
		v, err := st.Generate()
		if err != nil {
			u.fail(w, r, err)
			return
		}
		creds[st.Name], shown = v, &shownSecret{Name: st.Name, Value: v}
	}
	rawCfg, _ := json.Marshal(cfg)
	rawCreds, _ := json.Marshal(creds)
	v := validator{reg: u.cfg.Dests, l: p.Loc}
	if err := v.Validate(typ, rawCfg, rawCreds); err != nil {
		p.Error = p.Loc.T("err.please_fix", err.Error())
		u.renderSetup(w, r, p, http.StatusUnprocessableEntity, nil)
		return
	}
	in := admin.DestinationInput{Type: typ, Name: strings.TrimSpace(r.PostFormValue("name")), Config: rawCfg}
	if len(creds) > 0 {
		in.Credentials = rawCreds
	}
	d, err := u.cfg.Admin.AddDestination(r.Context(), p.Tenant.ID, in, v)
	var ve *admin.ValidationError
	if errors.As(err, &ve) { // a name over admin.MaxNameLength
		p.Error = userError(p.Loc, err)
		u.renderSetup(w, r, p, http.StatusUnprocessableEntity, nil)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "destination.create", "destination "+d.ID+" type "+d.Type)
	if shown != nil {
		shown.DestinationID = d.ID
		p.Flash = p.Loc.T("flash.dest_added")
		u.renderSetupWith(w, r, p, http.StatusOK, setupData{Secret: shown})
		return
	}
	redirect(w, r, "/setup#dest-"+d.ID, "flash.dest_added")
}

// rotateSecret replaces a destination's generated secret with a new one, shown once on the
// page it renders, keeping the old one as the previous secret (Hub signs with both); with
// end=1 it removes the previous secret, ending the rotation.
func (u *UI) rotateSecret(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	sd, err := u.cfg.Store.GetDestination(ctx, p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	impl, ok := u.cfg.Dests.Lookup(sd.Type)
	if !ok || len(impl.Spec().Generated()) == 0 {
		u.fail(w, r, fmt.Errorf("web: destination %s has no generated secret: %w", sd.ID, store.ErrNotFound))
		return
	}
	creds, err := u.cfg.Admin.DestinationCredentials(sd)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	patch := map[string]string{}
	var shown *shownSecret
	for _, st := range impl.Spec().Generated() {
		if r.PostFormValue("end") == "1" {
			if st.Previous != "" {
				patch[st.Previous] = ""
			}
			continue
		}
		v, err := st.Generate()
		if err != nil {
			u.fail(w, r, err)
			return
		}
		patch[st.Name], shown = v, &shownSecret{DestinationID: sd.ID, Name: st.Name, Value: v}
		if old := creds[st.Name]; st.Previous != "" && old != "" {
			patch[st.Previous] = old
		}
	}
	if _, err := u.cfg.Admin.UpdateDestination(ctx, p.Tenant.ID, sd.ID, admin.DestinationPatch{Credentials: patch}, validator{reg: u.cfg.Dests, l: p.Loc}); err != nil {
		u.fail(w, r, err)
		return
	}
	if shown == nil {
		u.audit(r, p, "destination.end_rotation", "destination "+sd.ID)
		redirect(w, r, "/setup#dest-"+sd.ID, "flash.rotation_ended")
		return
	}
	u.audit(r, p, "destination.rotate_secret", "destination "+sd.ID)
	u.renderSetupWith(w, r, p, http.StatusOK, setupData{Secret: shown})
}

func (u *UI) updateDestination(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	d, err := u.cfg.Store.GetDestination(ctx, p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	impl, ok := u.cfg.Dests.Lookup(d.Type)
	if !ok {
		u.fail(w, r, fmt.Errorf("web: destination type %s not available", d.Type))
		return
	}
	cfg, creds := settingsFromForm(r, impl.Spec())
	patch := admin.DestinationPatch{Config: cfg}
	if len(creds) > 0 {
		patch.Credentials = creds
	}
	if name := strings.TrimSpace(r.PostFormValue("name")); name != "" {
		patch.Name = &name
	}
	enabled := r.PostFormValue("enabled") == "on"
	patch.Enabled = &enabled
	if _, err := u.cfg.Admin.UpdateDestination(ctx, p.Tenant.ID, d.ID, patch, validator{reg: u.cfg.Dests, l: p.Loc}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			u.fail(w, r, err)
			return
		}
		var ve *admin.ValidationError
		if errors.As(err, &ve) { // the name: empty or too long
			p.Error = userError(p.Loc, err)
		} else {
			p.Error = p.Loc.T("err.please_fix", strings.TrimPrefix(strings.TrimPrefix(err.Error(), "admin: "), "destination: "))
		}
		u.renderSetup(w, r, p, http.StatusUnprocessableEntity, nil)
		return
	}
	u.audit(r, p, "destination.update", "destination "+d.ID)
	redirect(w, r, "/setup#dest-"+d.ID, "flash.dest_saved")
}

// testDestination sends one synthetic Purchase with the destination's test_event_code and
// shows what the platform answered. Without a test_event_code it refuses, so a test can never
// count as a real conversion.
func (u *UI) testDestination(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	sd, err := u.cfg.Store.GetDestination(ctx, p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	impl, ok := u.cfg.Dests.Lookup(sd.Type)
	if !ok {
		u.fail(w, r, fmt.Errorf("web: destination type %s not available", sd.Type))
		return
	}
	cfg := dest.Config{}
	if len(sd.Config) > 0 {
		if err := json.Unmarshal(sd.Config, &cfg); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	if ts, ok := impl.Spec().CanTest(cfg); !ok {
		p.Error = p.Loc.T("err.test_none")
		if ts.Name != "" {
			p.Error = p.Loc.T("err.test_code", ts.LabelWords().In(p.Loc.Tag))
		}
		u.renderSetup(w, r, p, http.StatusUnprocessableEntity, nil)
		return
	}
	creds, err := u.cfg.Admin.DestinationCredentials(sd)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	ev := u.testEvent()
	ev.Test = true
	res, err := impl.Send(ctx, cfg, dest.NewCredentials(creds), []dest.Event{ev})
	if err != nil || len(res.Outcomes) != 1 {
		u.fail(w, r, fmt.Errorf("web: test send: %v (%d outcomes)", err, len(res.Outcomes)))
		return
	}
	o := res.Outcomes[0]
	tr := &testResult{DestinationID: sd.ID, Delivered: o.Kind == dest.Delivered, Kind: string(o.Kind), Reason: o.Reason,
		Code: o.Code, Message: o.Message, TraceID: o.TraceID, HTTPStatus: o.HTTPStatus}
	h := store.DestinationHealth{State: "healthy", CheckedAt: u.now()}
	if !tr.Delivered {
		h = store.DestinationHealth{State: "unhealthy", Reason: o.Reason, CheckedAt: u.now()}
	}
	if err := u.cfg.Store.SetDestinationHealth(ctx, p.Tenant.ID, sd.ID, h); err != nil {
		u.cfg.Log.Warn("web: record destination health", "error", err.Error())
	}
	if tr.Delivered { // the setup checklist's "test event" step ticks from this record only
		if err := u.cfg.Store.SetDestinationTestAccepted(ctx, p.Tenant.ID, sd.ID, u.now()); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	u.audit(r, p, "destination.test", fmt.Sprintf("destination %s outcome %s %s", sd.ID, o.Kind, o.Reason))
	u.renderSetup(w, r, p, http.StatusOK, tr)
}

func (u *UI) testEvent() dest.Event {
	now := u.now()
	ev := dest.Event{
		Name: domain.EventPurchase, EventID: "hub_test_" + store.NewID(), EventTime: now, ActionSource: dest.ActionWebsite,
		EventSourceURL: strings.TrimRight(u.cfg.PublicURL, "/") + "/hub-test-event",
		User: dest.User{
			Emails:      []string{pii.SHA256Hex("test-event@hub.invalid")},
			ExternalIDs: []string{pii.SHA256Hex("hub-test-event")},
			ClientIP:    "203.0.113.10", // TEST-NET-3: never a real visitor
			UserAgent:   "Hub test event",
		},
	}
	ev.Custom = dest.Custom{ValueMinor: 100, Currency: "USD", OrderID: ev.EventID, ContentType: "product",
		ContentIDs: []string{"hub-test"}, Contents: []dest.Content{{ID: "hub-test", Quantity: 1, ItemPriceMinor: 100}}, NumItems: 1}
	return ev
}

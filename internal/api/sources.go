package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/store"
)

// Gateway is one payment gateway a source can receive webhooks from.
type Gateway struct {
	Provider string `json:"provider"`
	// WebhookURL carries the gateway's own token; it is empty while the gateway has none (a
	// signed gateway gets one with its secret, an unsigned one by a token rotation), and for a
	// read_only key, which may not see a credential (sourceView).
	WebhookURL string `json:"webhook_url"`
	// SecretSet says whether a verification secret is stored; the secret is never shown.
	SecretSet bool `json:"secret_set"`
	// Unsigned gateways (Appmax) sign nothing: their URL token is their only authentication.
	Unsigned bool `json:"unsigned"`
	// Enabled: the URL accepts deliveries (a token, and a secret unless the gateway is unsigned).
	Enabled bool `json:"enabled"`
}

// Source is a source as the API shows it.
type Source struct {
	ID                     string    `json:"id"`
	Name                   string    `json:"name"`
	PublicKey              string    `json:"public_key"`
	AllowedOrigins         []string  `json:"allowed_origins"`
	AttributionWindowHours int       `json:"attribution_window_hours"`
	AttributionModel       string    `json:"attribution_model"`
	CookieDomain           string    `json:"cookie_domain"`
	Gateways               []Gateway `json:"gateways"`
	Snippet                string    `json:"snippet"`
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
}

// sourceView is s as p may see it: a principal that may not change the source (read_only) sees
// no gateway's webhook URL. Its token is a credential: the only one of an unsigned gateway
// (Appmax), so a read-only key that read it could post orders, which its role forbids.
func (a *API) sourceView(ctx context.Context, p principal, s store.Source) (Source, error) {
	secrets, err := a.cfg.Store.ListGatewaySecrets(ctx, s.TenantID, s.ID)
	if err != nil {
		return Source{}, err
	}
	set := map[string]bool{}
	for _, gs := range secrets {
		set[gs.Provider] = true
	}
	tokens, err := a.cfg.Admin.WebhookTokens(ctx, s)
	if err != nil {
		return Source{}, err
	}
	v := Source{ID: s.ID, Name: s.Name, PublicKey: s.PublicKey, AllowedOrigins: s.AllowedOrigins,
		AttributionWindowHours: int(s.AttributionWindow / time.Hour), AttributionModel: s.AttributionModel,
		CookieDomain: s.CookieDomain, Snippet: a.cfg.Admin.SnippetTag(s), CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		Gateways: make([]Gateway, 0, len(a.cfg.Providers))}
	if v.AllowedOrigins == nil {
		v.AllowedOrigins = []string{}
	}
	for _, provider := range a.cfg.Providers {
		g := a.gatewayView(provider, tokens[provider], set[provider])
		if !p.canWrite() {
			g.WebhookURL = ""
		}
		v.Gateways = append(v.Gateways, g)
	}
	return v, nil
}

func (a *API) gatewayView(provider, token string, secretSet bool) Gateway {
	g := Gateway{Provider: provider, SecretSet: secretSet, Unsigned: !a.signed(provider)}
	if token != "" {
		g.WebhookURL = strings.TrimRight(a.cfg.PublicURL, "/") + "/v1/webhooks/" + provider + "/" + token
		g.Enabled = secretSet || g.Unsigned
	}
	return g
}

// signed reports whether provider's adapter authenticates its deliveries beyond the URL.
func (a *API) signed(provider string) bool {
	ad, ok := a.adapters.Lookup(provider)
	return !ok || ad.Spec().Signed
}

func (a *API) knownProvider(p string) bool { return slices.Contains(a.cfg.Providers, p) }

func (a *API) listSources(w http.ResponseWriter, r *http.Request, p principal) error {
	list := func(ctx context.Context) ([]store.Source, error) { return a.cfg.Store.ListSources(ctx, p.TenantID) }
	view := func(s store.Source) (Source, error) { return a.sourceView(r.Context(), p, s) }
	return writeList(w, r, list, func(s store.Source) string { return s.ID }, view)
}

// sourceBody is the JSON of a source to create or change; absent fields are left as they are
// on PATCH.
type sourceBody struct {
	Name                   *string           `json:"name"`
	AllowedOrigins         *[]string         `json:"allowed_origins"`
	AttributionWindowHours *int              `json:"attribution_window_hours"`
	AttributionModel       *string           `json:"attribution_model"`
	CookieDomain           *string           `json:"cookie_domain"`
	Secrets                map[string]string `json:"secrets"`
}

func (a *API) checkProviders(secrets map[string]string) error {
	var errs []domain.FieldError
	for _, p := range sortedKeys(secrets) {
		if !a.knownProvider(p) {
			errs = append(errs, domain.FieldError{Field: "secrets." + p, Reason: "unknown gateway; one of " + strings.Join(a.cfg.Providers, ", ")})
		}
	}
	if len(errs) > 0 {
		return httpx.Invalid(errs...)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (a *API) createSource(w http.ResponseWriter, r *http.Request, p principal) error {
	var body sourceBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	in := admin.SourceInput{Secrets: body.Secrets}
	if body.Name != nil {
		in.Name = *body.Name
	}
	if body.AllowedOrigins != nil {
		in.AllowedOrigins = *body.AllowedOrigins
	}
	if body.AttributionWindowHours != nil {
		in.AttributionWindow = windowDuration(*body.AttributionWindowHours)
	}
	if body.AttributionModel != nil {
		in.AttributionModel = *body.AttributionModel
	}
	if body.CookieDomain != nil {
		in.CookieDomain = *body.CookieDomain
	}
	if err := errors.Join(a.checkProviders(body.Secrets), windowField(admin.CheckSource(in))); err != nil {
		return mergeInvalid(err)
	}
	src, err := a.cfg.Admin.CreateSource(r.Context(), p.TenantID, in)
	if err != nil {
		return err
	}
	a.audit(r, p, "source.create", "source "+src.ID)
	v, err := a.sourceView(r.Context(), p, src)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, v)
	return nil
}

// windowDuration converts attribution_window_hours to a duration, checking the range (1–2160)
// on the integer first: hours past what time.Duration holds would wrap around (2^51+24 hours is
// exactly 24 h) and pass admin's check as another window. Out of range, 0 included (which is
// not "use the default" here), it returns -1, which admin refuses as attribution_window.
func windowDuration(hours int) time.Duration {
	if hours < 1 || hours > int(admin.MaxAttributionWindow/time.Hour) {
		return -1
	}
	return time.Duration(hours) * time.Hour
}

// windowField renames admin's attribution_window to the API's attribution_window_hours.
func windowField(err error) error {
	var ve *admin.ValidationError
	if errors.As(err, &ve) {
		for i := range ve.Fields {
			if ve.Fields[i].Field == "attribution_window" {
				ve.Fields[i].Field = "attribution_window_hours"
			}
		}
	}
	return err
}

// mergeInvalid folds joined validation errors into one 400 problem.
func mergeInvalid(err error) error {
	var fields []domain.FieldError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var (
			p  *httpx.Problem
			ve *admin.ValidationError
		)
		switch {
		case errors.As(err, &p):
			fields = append(fields, p.Errors...)
		case errors.As(err, &ve):
			for _, f := range ve.Fields {
				fields = append(fields, domain.FieldError{Field: f.Field, Reason: f.Reason})
			}
		default:
			fields = append(fields, domain.FieldError{Field: "body", Reason: err.Error()})
		}
	}
	walk(err)
	return httpx.Invalid(fields...)
}

func (a *API) getSource(w http.ResponseWriter, r *http.Request, p principal) error {
	src, err := a.cfg.Store.GetSource(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := a.sourceView(r.Context(), p, src)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) updateSource(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := a.cfg.Store.GetSource(ctx, p.TenantID, id); err != nil {
		return err
	}
	var body sourceBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	if err := a.checkProviders(body.Secrets); err != nil {
		return err
	}
	patch := admin.SourcePatch{Name: body.Name, AllowedOrigins: body.AllowedOrigins, AttributionModel: body.AttributionModel,
		CookieDomain: body.CookieDomain, Secrets: body.Secrets}
	if body.AttributionWindowHours != nil {
		d := windowDuration(*body.AttributionWindowHours)
		patch.AttributionWindow = &d
	}
	src, err := a.cfg.Admin.UpdateSource(ctx, p.TenantID, id, patch)
	if err != nil {
		return windowField(err)
	}
	a.audit(r, p, "source.update", "source "+src.ID)
	v, err := a.sourceView(ctx, p, src)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// sourceGateway reads the route's source (of the caller's tenant) and gateway (a known one).
func (a *API) sourceGateway(r *http.Request, p principal) (store.Source, string, error) {
	src, err := a.cfg.Store.GetSource(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return store.Source{}, "", err
	}
	provider := r.PathValue("provider")
	if !a.knownProvider(provider) {
		return store.Source{}, "", notFound()
	}
	return src, provider, nil
}

type secretBody struct {
	Secret string `json:"secret"`
}

// putSecret stores a gateway's verification secret; it is write-only.
func (a *API) putSecret(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	src, provider, err := a.sourceGateway(r, p)
	if err != nil {
		return err
	}
	var body secretBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Secret) == "" {
		return httpx.Invalid(domain.FieldError{Field: "secret", Reason: "must not be empty"})
	}
	if err := a.cfg.Admin.PutGatewaySecret(ctx, src, provider, body.Secret); err != nil {
		return err
	}
	a.audit(r, p, "source.secret", "source "+src.ID+" gateway "+provider)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateToken gives a source's gateway a fresh webhook URL token; the previous URL answers 404
// at once. For an unsigned gateway without a token it enables the gateway.
func (a *API) rotateToken(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	src, provider, err := a.sourceGateway(r, p)
	if err != nil {
		return err
	}
	t, err := a.cfg.Admin.RotateWebhookToken(ctx, src, provider)
	if err != nil {
		return err
	}
	_, err = a.cfg.Store.GetGatewaySecret(ctx, src.TenantID, src.ID, provider)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	a.audit(r, p, "source.token", "source "+src.ID+" gateway "+provider)
	httpx.WriteJSON(w, http.StatusOK, a.gatewayView(provider, t.Token, err == nil))
	return nil
}

// Link is a tracking link.
type Link struct {
	Code      string    `json:"code"`
	SourceID  string    `json:"source_id"`
	Target    string    `json:"target"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

func (a *API) linkView(l store.Link) Link {
	return Link{Code: l.Code, SourceID: l.SourceID, Target: l.Target, CreatedAt: l.CreatedAt,
		URL: strings.TrimRight(a.cfg.PublicURL, "/") + "/r/" + l.Code}
}

func (a *API) listLinks(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	src, err := a.cfg.Store.GetSource(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	list := func(ctx context.Context) ([]store.Link, error) { return a.cfg.Store.ListLinks(ctx, p.TenantID, src.ID) }
	return writeList(w, r, list, func(l store.Link) string { return l.Code }, always(a.linkView))
}

type linkBody struct {
	Target string `json:"target"`
}

// createLink makes a tracking link with a fresh short code. When the source lists allowed
// origins, the target must be on one of them (admin.CheckLinkTarget), so a link can never
// redirect elsewhere.
func (a *API) createLink(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	src, err := a.cfg.Store.GetSource(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	var body linkBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	// admin checks the target (URL, length, allowed origins) for every caller; a refusal is a
	// *admin.ValidationError, answered 400 with the field.
	l, err := a.cfg.Admin.CreateLink(ctx, p.TenantID, src.ID, body.Target)
	if err != nil {
		return err
	}
	a.audit(r, p, "link.create", "link "+l.Code+" source "+src.ID)
	httpx.WriteJSON(w, http.StatusCreated, a.linkView(l))
	return nil
}

// GatewaySetup says whether a gateway's webhooks have reached a source.
type GatewaySetup struct {
	Gateway
	// Received is true once any delivery arrived; Verified once one passed the gateway's
	// authenticity check.
	Received       bool           `json:"received"`
	Verified       bool           `json:"verified"`
	LastReceivedAt *time.Time     `json:"last_received_at,omitempty"`
	LastState      string         `json:"last_state,omitempty"`
	LastError      string         `json:"last_error,omitempty"`
	RecentByState  map[string]int `json:"recent_by_state"`
}

// OriginSeen is a site origin the snippet sent touchpoints from.
type OriginSeen struct {
	Origin     string    `json:"origin"`
	Allowed    bool      `json:"allowed"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Count      int       `json:"count"`
}

// Setup is a source's setup status.
type Setup struct {
	SourceID string         `json:"source_id"`
	Gateways []GatewaySetup `json:"gateways"`
	Snippet  SnippetSetup   `json:"snippet"`
}

// SnippetSetup says whether the snippet has been seen, from the latest touchpoints.
type SnippetSetup struct {
	Seen       bool         `json:"seen"`
	LastSeenAt *time.Time   `json:"last_seen_at,omitempty"`
	Origins    []OriginSeen `json:"origins"`
	// Sampled is how many of the latest touchpoints were looked at.
	Sampled int `json:"sampled"`
}

// setupSample bounds the rows read for a setup check.
const setupSample = 1000

func (a *API) sourceSetup(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	src, err := a.cfg.Store.GetSource(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	view, err := a.sourceView(ctx, p, src)
	if err != nil {
		return err
	}
	out := Setup{SourceID: src.ID, Gateways: make([]GatewaySetup, 0, len(view.Gateways))}
	for _, g := range view.Gateways {
		gs := GatewaySetup{Gateway: g, RecentByState: map[string]int{}}
		es, err := a.cfg.Store.ListInbox(ctx, store.InboxFilter{TenantID: p.TenantID, SourceID: src.ID, Provider: g.Provider, Limit: 100})
		if err != nil {
			return err
		}
		if len(es) > 0 {
			gs.Received = true
			gs.LastReceivedAt = &es[0].ReceivedAt
			gs.LastState, gs.LastError = string(es[0].State), es[0].Error
		}
		for _, e := range es {
			gs.RecentByState[string(e.State)]++
			if e.State != store.InboxRejected {
				gs.Verified = true
			}
		}
		out.Gateways = append(out.Gateways, gs)
	}
	tps, err := a.cfg.Store.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: p.TenantID, SourceID: src.ID, Limit: setupSample})
	if err != nil {
		return err
	}
	out.Snippet = snippetSetup(tps, src.AllowedOrigins)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// snippetSetup derives the origins the snippet was seen on from touchpoint page URLs.
func snippetSetup(tps []store.Touchpoint, allowed []string) SnippetSetup {
	s := SnippetSetup{Sampled: len(tps), Origins: []OriginSeen{}}
	byOrigin := map[string]*OriginSeen{}
	for _, tp := range tps {
		if tp.Type == "click" { // tracking-link clicks (GET /r/{code}) do not prove the snippet runs
			continue
		}
		u, err := url.Parse(tp.URL)
		if err != nil || u.Host == "" {
			continue
		}
		origin := u.Scheme + "://" + u.Host
		o := byOrigin[origin]
		if o == nil {
			o = &OriginSeen{Origin: origin, Allowed: len(allowed) == 0 || slices.Contains(allowed, origin)}
			byOrigin[origin] = o
		}
		o.Count++
		if tp.ReceivedAt.After(o.LastSeenAt) {
			o.LastSeenAt = tp.ReceivedAt
		}
		if s.LastSeenAt == nil || tp.ReceivedAt.After(*s.LastSeenAt) {
			t := tp.ReceivedAt
			s.LastSeenAt = &t
		}
	}
	for _, o := range byOrigin {
		s.Origins = append(s.Origins, *o)
	}
	sort.Slice(s.Origins, func(i, j int) bool { return s.Origins[i].Origin < s.Origins[j].Origin })
	s.Seen = len(s.Origins) > 0
	return s
}

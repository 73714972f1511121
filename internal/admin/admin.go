// Package admin owns the operator actions shared by the CLI and the admin API: creating
// tenants, API keys, sources and destinations, with secrets encrypted and keys hashed.
package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
)

// Service performs operator actions on a store.
type Service struct {
	Store     Store
	Keys      *pii.Keyring
	PublicURL string
	Now       func() time.Time
	// SpendSources are the ad platforms accounts can be connected from (spend/all's); nil
	// refuses every connection.
	SpendSources map[spend.Platform]spend.Source
	// SpendImport starts an account's import; nil leaves it to the scheduler.
	SpendImport SpendImport
	// SourceChanged, when set, is called once each write that changes what a webhook URL
	// selects (a token, a source's settings, a gateway secret) returned, whether or not it
	// reported success (a write whose answer was lost may have committed): the intake's
	// SourceCache.Forget, so that this replica's changes count at once.
	SourceChanged func()
}

// sourceChanged calls SourceChanged, if set.
func (s *Service) sourceChanged() {
	if s.SourceChanged != nil {
		s.SourceChanged()
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Token returns n random characters from [A-Za-z0-9].
func Token(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("admin: crypto/rand failed: " + err.Error())
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// NewWebhookToken returns a fresh gateway URL token: "wh_" and 32 random bytes, base64url.
func NewWebhookToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("admin: crypto/rand failed: " + err.Error())
	}
	return "wh_" + base64.RawURLEncoding.EncodeToString(b)
}

// NewKey is an API key just created: Plaintext is shown once and never stored.
type NewKey struct {
	store.APIKey
	Plaintext string
}

// MaxNameLength is the longest name, in bytes, of a tenant, API key, source or destination.
// Every write path goes through admin, so the API, the dashboard and the CLI share it.
const MaxNameLength = 200

// nameTooLong is the reason a name over MaxNameLength is refused with (field "name").
var nameTooLong = fmt.Sprintf("must be at most %d characters", MaxNameLength)

// checkName refuses a name over MaxNameLength as a ValidationError on field "name".
func checkName(name string) error {
	if len(name) > MaxNameLength {
		return &ValidationError{Fields: []domain.FieldError{{Field: "name", Reason: nameTooLong}}}
	}
	return nil
}

// CreateTenant creates a tenant and its first admin key.
func (s *Service) CreateTenant(ctx context.Context, name string) (store.Tenant, NewKey, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Tenant{}, NewKey{}, errors.New("admin: tenant name must not be empty")
	}
	if err := checkName(name); err != nil {
		return store.Tenant{}, NewKey{}, err
	}
	t := store.Tenant{ID: store.NewID(), Name: name, CreatedAt: s.now()}
	t, err := s.Store.CreateTenant(ctx, t)
	if err != nil {
		return store.Tenant{}, NewKey{}, fmt.Errorf("admin: create tenant: %w", err)
	}
	k, err := s.CreateAPIKey(ctx, t.ID, "first admin key", store.RoleAdmin)
	if err != nil {
		return store.Tenant{}, NewKey{}, err
	}
	return t, k, nil
}

// CreateFirstTenant creates the store's first tenant with an admin and an operator key, in one
// transaction, unless a tenant exists: then it returns created false and writes nothing. Many
// replicas may call it at once on an empty store; exactly one creates.
func (s *Service) CreateFirstTenant(ctx context.Context, name string) (t store.Tenant, admin, operator NewKey, created bool, err error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Tenant{}, NewKey{}, NewKey{}, false, errors.New("admin: tenant name must not be empty")
	}
	if err := checkName(name); err != nil {
		return store.Tenant{}, NewKey{}, NewKey{}, false, err
	}
	t = store.Tenant{ID: store.NewID(), Name: name, TimeZone: store.DefaultTimeZone, CreatedAt: s.now()}
	admin, operator = s.newKey(t.ID, "first admin key", store.RoleAdmin), s.newKey(t.ID, "operator key", store.RoleOperator)
	created, err = s.Store.CreateFirstTenant(ctx, t, []store.APIKey{admin.APIKey, operator.APIKey})
	if err != nil || !created {
		return store.Tenant{}, NewKey{}, NewKey{}, false, err
	}
	return t, admin, operator, true, nil
}

// newKey makes a key for a tenant without storing it.
func (s *Service) newKey(tenantID, name, role string) NewKey {
	plain, lookup, hash := pii.NewAPIKey("hub")
	return NewKey{APIKey: store.APIKey{ID: store.NewID(), TenantID: tenantID, Name: name, Role: role, Lookup: lookup, Hash: hash, CreatedAt: s.now()}, Plaintext: plain}
}

// CreateAPIKey creates a key for a tenant; the plaintext is returned once.
func (s *Service) CreateAPIKey(ctx context.Context, tenantID, name, role string) (NewKey, error) {
	switch role {
	case store.RoleOperator, store.RoleAdmin, store.RoleReadOnly:
	default:
		return NewKey{}, fmt.Errorf("admin: role must be %s, %s or %s", store.RoleAdmin, store.RoleReadOnly, store.RoleOperator)
	}
	if err := checkName(name); err != nil {
		return NewKey{}, err
	}
	if _, err := s.Store.GetTenant(ctx, tenantID); err != nil {
		return NewKey{}, fmt.Errorf("admin: tenant %s: %w", tenantID, err)
	}
	k := s.newKey(tenantID, name, role)
	stored, err := s.Store.CreateAPIKey(ctx, k.APIKey)
	if err != nil {
		return NewKey{}, fmt.Errorf("admin: create api key: %w", err)
	}
	return NewKey{APIKey: stored, Plaintext: k.Plaintext}, nil
}

// RevokeAPIKey revokes a tenant's key.
func (s *Service) RevokeAPIKey(ctx context.Context, tenantID, id string) error {
	if err := s.Store.RevokeAPIKey(ctx, tenantID, id, s.now()); err != nil {
		return fmt.Errorf("admin: revoke api key: %w", err)
	}
	return nil
}

// SourceInput is what an operator gives to create a source.
type SourceInput struct {
	Name              string
	AllowedOrigins    []string
	AttributionWindow time.Duration
	AttributionModel  string
	CookieDomain      string
	Secrets           map[string]string // provider -> verification secret
}

// DefaultAttributionWindow is used when a source does not set one.
const DefaultAttributionWindow = 7 * 24 * time.Hour

// CreateSource validates and creates a source with a fresh public key, and stores its gateway
// secrets encrypted, each gateway with a secret getting its own webhook URL token. (The source's
// own WebhookToken is random too but selects nothing; see store.Source.)
func (s *Service) CreateSource(ctx context.Context, tenantID string, in SourceInput) (store.Source, error) {
	if strings.TrimSpace(in.Name) == "" {
		return store.Source{}, errors.New("admin: source name must not be empty")
	}
	if err := checkName(strings.TrimSpace(in.Name)); err != nil {
		return store.Source{}, err
	}
	for _, o := range in.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return store.Source{}, fmt.Errorf("admin: allowed origin %q must look like https://shop.example.com", o)
		}
	}
	if in.AttributionWindow == 0 {
		in.AttributionWindow = DefaultAttributionWindow
	}
	if in.AttributionWindow < time.Hour || in.AttributionWindow > 90*24*time.Hour {
		return store.Source{}, errors.New("admin: attribution window must be between 1h and 90 days")
	}
	if in.AttributionModel == "" {
		in.AttributionModel = store.ModelLastClick
	}
	if in.AttributionModel != store.ModelLastClick && in.AttributionModel != store.ModelFirstClick {
		return store.Source{}, fmt.Errorf("admin: attribution model must be %s or %s", store.ModelLastClick, store.ModelFirstClick)
	}
	// The secrets are stored after the source: a blank one is refused before anything is
	// written, not after the source exists.
	ve := &ValidationError{}
	checkSecrets(ve, in.Secrets)
	if err := ve.Err(); err != nil {
		return store.Source{}, err
	}
	now := s.now()
	src := store.Source{
		ID: store.NewID(), TenantID: tenantID, Name: strings.TrimSpace(in.Name),
		PublicKey: "pk_" + Token(24), WebhookToken: "wh_" + Token(32),
		AllowedOrigins: in.AllowedOrigins, AttributionWindow: in.AttributionWindow,
		AttributionModel: in.AttributionModel, CookieDomain: in.CookieDomain,
		CreatedAt: now, UpdatedAt: now,
	}
	if _, err := s.Store.GetTenant(ctx, tenantID); err != nil {
		return store.Source{}, fmt.Errorf("admin: tenant %s: %w", tenantID, err)
	}
	src, err := s.Store.CreateSource(ctx, src)
	if err != nil {
		return store.Source{}, fmt.Errorf("admin: create source: %w", err)
	}
	for provider, secret := range in.Secrets {
		if err := s.PutGatewaySecret(ctx, src, provider, secret); err != nil {
			return store.Source{}, err
		}
	}
	return src, nil
}

// PutGatewaySecret encrypts and stores a gateway's verification secret for a source. The
// ciphertext is bound to the source and provider so it cannot be moved to another row. The
// secret it replaces is kept, still encrypted, for webhook.MaxSecretGrace as the row's
// Previous: the intake lets it verify the deliveries of a gateway that keeps signing with it
// for a while (webhook.Spec.SecretGrace, Shopify), and of no other.
func (s *Service) PutGatewaySecret(ctx context.Context, src store.Source, provider, secret string) error {
	if strings.TrimSpace(secret) == "" {
		// See CheckSource: blanks would enable the gateway with a secret anyone can send.
		ve := &ValidationError{}
		ve.Add("secret", "must not be empty")
		return ve
	}
	ct, err := s.Keys.Seal([]byte(secret), store.GatewaySecretAD(src.ID, provider))
	if err != nil {
		return fmt.Errorf("admin: encrypt %s secret: %w", provider, err)
	}
	now := s.now()
	gs := store.GatewaySecret{SourceID: src.ID, TenantID: src.TenantID, Provider: provider, Ciphertext: ct, UpdatedAt: now}
	if cur, err := s.Store.GetGatewaySecret(ctx, src.TenantID, src.ID, provider); err == nil {
		gs.Previous, gs.PreviousUntil = cur.Ciphertext, now.Add(webhook.MaxSecretGrace)
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("admin: read %s secret: %w", provider, err)
	}
	err = s.Store.PutGatewaySecret(ctx, gs)
	s.sourceChanged()
	if err != nil {
		return fmt.Errorf("admin: store %s secret: %w", provider, err)
	}
	// A gateway with a secret is enabled: it needs its URL. A secret change keeps the URL.
	toks, err := s.Store.ListWebhookTokens(ctx, src.TenantID, src.ID)
	if err != nil {
		return fmt.Errorf("admin: %s webhook token: %w", provider, err)
	}
	for _, t := range toks {
		if t.Provider == provider {
			return nil
		}
	}
	_, err = s.RotateWebhookToken(ctx, src, provider)
	return err
}

// RotateWebhookToken gives a source's gateway a fresh URL token and returns it; the previous
// token is refused (404) from then on. For a gateway without one it enables the gateway: an
// unsigned gateway (Appmax) is enabled this way, a signed one also needs its secret before its
// URL accepts anything.
func (s *Service) RotateWebhookToken(ctx context.Context, src store.Source, provider string) (store.WebhookToken, error) {
	t := store.WebhookToken{Token: NewWebhookToken(), TenantID: src.TenantID, SourceID: src.ID, Provider: provider, CreatedAt: s.now()}
	err := s.Store.PutWebhookToken(ctx, t)
	s.sourceChanged()
	if err != nil {
		return store.WebhookToken{}, fmt.Errorf("admin: %s webhook token: %w", provider, err)
	}
	return t, nil
}

// WebhookTokens returns a source's gateway URL tokens by provider.
func (s *Service) WebhookTokens(ctx context.Context, src store.Source) (map[string]string, error) {
	toks, err := s.Store.ListWebhookTokens(ctx, src.TenantID, src.ID)
	if err != nil {
		return nil, fmt.Errorf("admin: webhook tokens of %s: %w", src.ID, err)
	}
	out := make(map[string]string, len(toks))
	for _, t := range toks {
		out[t.Provider] = t.Token
	}
	return out, nil
}

// DestinationInput is what an operator gives to add a destination.
type DestinationInput struct {
	Type        string
	Name        string
	Config      json.RawMessage
	Credentials json.RawMessage
}

// Validator checks a destination's settings (the destination registry).
type Validator interface {
	Validate(typ string, config, credentials json.RawMessage) error
}

// AddDestination validates and stores a destination with its credentials encrypted.
func (s *Service) AddDestination(ctx context.Context, tenantID string, in DestinationInput, v Validator) (store.Destination, error) {
	if err := checkName(in.Name); err != nil {
		return store.Destination{}, err
	}
	if v != nil {
		if err := v.Validate(in.Type, in.Config, in.Credentials); err != nil {
			return store.Destination{}, fmt.Errorf("admin: destination: %w", err)
		}
	}
	if _, err := s.Store.GetTenant(ctx, tenantID); err != nil {
		return store.Destination{}, fmt.Errorf("admin: tenant %s: %w", tenantID, err)
	}
	now := s.now()
	d := store.Destination{ID: store.NewID(), TenantID: tenantID, Type: in.Type, Name: in.Name, Config: in.Config,
		Enabled: true, Health: store.DestinationHealth{State: "unknown", CheckedAt: now}, CreatedAt: now, UpdatedAt: now}
	if d.Name == "" {
		d.Name = in.Type
	}
	if len(in.Credentials) > 0 {
		ct, err := s.Keys.Seal(in.Credentials, store.CredentialsAD(d.ID))
		if err != nil {
			return store.Destination{}, fmt.Errorf("admin: encrypt credentials: %w", err)
		}
		d.Credentials = ct
	}
	d, err := s.Store.CreateDestination(ctx, d)
	if err != nil {
		return store.Destination{}, fmt.Errorf("admin: create destination: %w", err)
	}
	return d, nil
}

// WebhookURL is the URL to paste into a gateway's panel, with the gateway's own token.
func (s *Service) WebhookURL(provider, token string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/v1/webhooks/" + provider + "/" + token
}

// SnippetTag is the script tag to paste into the site.
func (s *Service) SnippetTag(src store.Source) string {
	return fmt.Sprintf(`<script async src="%s/t.js" data-key="%s"></script>`, strings.TrimRight(s.PublicURL, "/"), src.PublicKey)
}

// Reasons CreateLink gives for a refused target (field "target"); the dashboard words them.
const (
	LinkTargetInvalid   = "must be an absolute http(s) URL of at most 2048 characters"
	LinkTargetOffOrigin = "must be on one of the source's allowed origins"
)

// MaxLinkTarget is the longest target a tracking link may have, in bytes.
const MaxLinkTarget = 2048

// CreateLink creates a tracking link of a source: GET /r/{code} records a click and redirects
// to target. Every caller (API, dashboard, CLI) goes through these checks, so a link can never
// redirect off the source's allowed origins when it lists some: the target must be an absolute
// http(s) URL without user info (https://shop.example.com@evil.example reads as the shop to a
// person), and its scheme and host one of the origins (exactly; a wildcard origin is for
// /v1/collect and matches no link). A refused target is a *ValidationError.
func (s *Service) CreateLink(ctx context.Context, tenantID, sourceID, target string) (store.Link, error) {
	src, err := s.Store.GetSource(ctx, tenantID, sourceID)
	if err != nil {
		return store.Link{}, fmt.Errorf("admin: source %s: %w", sourceID, err)
	}
	if err := CheckLinkTarget(src, target); err != nil {
		return store.Link{}, err
	}
	l, err := s.Store.CreateLink(ctx, store.Link{Code: Token(8), TenantID: tenantID, SourceID: sourceID, Target: target, CreatedAt: s.now()})
	if err != nil {
		return store.Link{}, fmt.Errorf("admin: create link: %w", err)
	}
	return l, nil
}

// CheckLinkTarget validates a tracking link's target for src with the rules CreateLink applies.
func CheckLinkTarget(src store.Source, target string) error {
	ve := &ValidationError{}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(target) > MaxLinkTarget {
		ve.Add("target", LinkTargetInvalid)
		return ve
	}
	if len(src.AllowedOrigins) == 0 {
		return nil
	}
	origin := u.Scheme + "://" + u.Host
	for _, o := range src.AllowedOrigins {
		// An origin may be stored with a trailing slash (validOrigin accepts it) and hosts are
		// case-insensitive.
		if strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(o), "/"), origin) {
			return nil
		}
	}
	ve.Add("target", LinkTargetOffOrigin)
	return ve
}

// LinkURL is the public URL of a tracking link.
func (s *Service) LinkURL(l store.Link) string {
	return strings.TrimRight(s.PublicURL, "/") + "/r/" + l.Code
}

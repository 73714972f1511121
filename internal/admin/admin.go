// Package admin owns the operator actions shared by the CLI and the admin API: creating
// tenants, API keys, sources and destinations, with secrets encrypted and keys hashed.
package admin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// Service performs operator actions on a store.
type Service struct {
	Store     store.Store
	Keys      *pii.Keyring
	PublicURL string
	Now       func() time.Time
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

// NewKey is an API key just created: Plaintext is shown once and never stored.
type NewKey struct {
	store.APIKey
	Plaintext string
}

// CreateTenant creates a tenant and its first admin key.
func (s *Service) CreateTenant(ctx context.Context, name string) (store.Tenant, NewKey, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Tenant{}, NewKey{}, errors.New("admin: tenant name must not be empty")
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

// CreateAPIKey creates a key for a tenant; the plaintext is returned once.
func (s *Service) CreateAPIKey(ctx context.Context, tenantID, name, role string) (NewKey, error) {
	switch role {
	case store.RoleOperator, store.RoleAdmin, store.RoleReadOnly:
	default:
		return NewKey{}, fmt.Errorf("admin: role must be %s, %s or %s", store.RoleAdmin, store.RoleReadOnly, store.RoleOperator)
	}
	if _, err := s.Store.GetTenant(ctx, tenantID); err != nil {
		return NewKey{}, fmt.Errorf("admin: tenant %s: %w", tenantID, err)
	}
	plain, lookup, hash := pii.NewAPIKey("hub")
	k := store.APIKey{ID: store.NewID(), TenantID: tenantID, Name: name, Role: role, Lookup: lookup, Hash: hash, CreatedAt: s.now()}
	k, err := s.Store.CreateAPIKey(ctx, k)
	if err != nil {
		return NewKey{}, fmt.Errorf("admin: create api key: %w", err)
	}
	return NewKey{APIKey: k, Plaintext: plain}, nil
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

// CreateSource validates and creates a source with fresh public key and webhook token, and
// stores its gateway secrets encrypted.
func (s *Service) CreateSource(ctx context.Context, tenantID string, in SourceInput) (store.Source, error) {
	if strings.TrimSpace(in.Name) == "" {
		return store.Source{}, errors.New("admin: source name must not be empty")
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
// ciphertext is bound to the source and provider so it cannot be moved to another row.
func (s *Service) PutGatewaySecret(ctx context.Context, src store.Source, provider, secret string) error {
	if secret == "" {
		return fmt.Errorf("admin: %s secret must not be empty", provider)
	}
	ct, err := s.Keys.Seal([]byte(secret), store.GatewaySecretAD(src.ID, provider))
	if err != nil {
		return fmt.Errorf("admin: encrypt %s secret: %w", provider, err)
	}
	gs := store.GatewaySecret{SourceID: src.ID, TenantID: src.TenantID, Provider: provider, Ciphertext: ct, UpdatedAt: s.now()}
	if err := s.Store.PutGatewaySecret(ctx, gs); err != nil {
		return fmt.Errorf("admin: store %s secret: %w", provider, err)
	}
	return nil
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

// WebhookURL is the URL to paste into a gateway's panel.
func (s *Service) WebhookURL(provider string, src store.Source) string {
	return strings.TrimRight(s.PublicURL, "/") + "/v1/webhooks/" + provider + "/" + src.WebhookToken
}

// SnippetTag is the script tag to paste into the site.
func (s *Service) SnippetTag(src store.Source) string {
	return fmt.Sprintf(`<script async src="%s/t.js" data-key="%s"></script>`, strings.TrimRight(s.PublicURL, "/"), src.PublicKey)
}

// CreateLink creates a tracking link of a source: GET /r/{code} records a click and redirects
// to target.
func (s *Service) CreateLink(ctx context.Context, tenantID, sourceID, target string) (store.Link, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return store.Link{}, fmt.Errorf("admin: link target %q must be an absolute http(s) URL", target)
	}
	if _, err := s.Store.GetSource(ctx, tenantID, sourceID); err != nil {
		return store.Link{}, fmt.Errorf("admin: source %s: %w", sourceID, err)
	}
	l, err := s.Store.CreateLink(ctx, store.Link{Code: Token(8), TenantID: tenantID, SourceID: sourceID, Target: target, CreatedAt: s.now()})
	if err != nil {
		return store.Link{}, fmt.Errorf("admin: create link: %w", err)
	}
	return l, nil
}

// LinkURL is the public URL of a tracking link.
func (s *Service) LinkURL(l store.Link) string {
	return strings.TrimRight(s.PublicURL, "/") + "/r/" + l.Code
}

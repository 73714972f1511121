package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// ValidationError lists every invalid input of an operator action, so the API can answer with
// all of them at once ({field, reason} items) and the CLI can print them.
type ValidationError struct {
	Fields []domain.FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return "admin: invalid input: " + strings.Join(parts, "; ")
}

// Add records one invalid field.
func (e *ValidationError) Add(field, reason string) {
	e.Fields = append(e.Fields, domain.FieldError{Field: field, Reason: reason})
}

// Err returns e when it holds fields, else nil.
func (e *ValidationError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Limits of a source's attribution window.
const (
	MinAttributionWindow = time.Hour
	MaxAttributionWindow = 90 * 24 * time.Hour
)

// CheckSource validates a source's settings with the rules CreateSource applies, naming each
// field (name, allowed_origins[i], attribution_window, attribution_model, cookie_domain). A zero
// window or empty model is valid: CreateSource fills in the defaults.
func CheckSource(in SourceInput) error {
	ve := &ValidationError{}
	if strings.TrimSpace(in.Name) == "" {
		ve.Add("name", "must not be empty")
	} else if len(strings.TrimSpace(in.Name)) > MaxNameLength {
		ve.Add("name", nameTooLong)
	}
	for i, o := range in.AllowedOrigins {
		if !validOrigin(o) {
			ve.Add(fmt.Sprintf("allowed_origins[%d]", i), "must be an origin like https://shop.example.com (scheme and host, no path)")
		}
	}
	if in.AttributionWindow != 0 && (in.AttributionWindow < MinAttributionWindow || in.AttributionWindow > MaxAttributionWindow) {
		ve.Add("attribution_window", "must be between 1 hour and 90 days")
	}
	if in.AttributionModel != "" && in.AttributionModel != store.ModelLastClick && in.AttributionModel != store.ModelFirstClick {
		ve.Add("attribution_model", fmt.Sprintf("must be %s or %s", store.ModelLastClick, store.ModelFirstClick))
	}
	if d := in.CookieDomain; d != "" && (strings.ContainsAny(d, "/:; \t") || !strings.Contains(strings.TrimPrefix(d, "."), ".")) {
		ve.Add("cookie_domain", "must be a domain like example.com or .example.com")
	}
	checkSecrets(ve, in.Secrets)
	return ve.Err()
}

// checkSecrets adds a field secrets.<provider> for each blank gateway secret. A blank secret
// would enable the gateway, and a gateway comparing a token in the body would accept a
// delivery carrying the same blanks.
func checkSecrets(ve *ValidationError, secrets map[string]string) {
	for _, provider := range slices.Sorted(maps.Keys(secrets)) {
		if strings.TrimSpace(secrets[provider]) == "" {
			ve.Add("secrets."+provider, "must not be empty")
		}
	}
}

func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == "" && u.User == nil
}

// SourcePatch changes some settings of a source; nil fields are left as they are.
type SourcePatch struct {
	Name              *string
	AllowedOrigins    *[]string
	AttributionWindow *time.Duration
	AttributionModel  *string
	CookieDomain      *string
	// Secrets are stored (encrypted) after the settings are saved; provider -> secret.
	Secrets map[string]string
}

// UpdateSource applies a patch to a tenant's source after validating the result.
func (s *Service) UpdateSource(ctx context.Context, tenantID, id string, p SourcePatch) (store.Source, error) {
	src, err := s.Store.GetSource(ctx, tenantID, id)
	if err != nil {
		return store.Source{}, fmt.Errorf("admin: source %s: %w", id, err)
	}
	if p.Name != nil {
		src.Name = strings.TrimSpace(*p.Name)
	}
	if p.AllowedOrigins != nil {
		src.AllowedOrigins = *p.AllowedOrigins
	}
	if p.AttributionWindow != nil {
		src.AttributionWindow = *p.AttributionWindow
	}
	if p.AttributionModel != nil {
		src.AttributionModel = *p.AttributionModel
	}
	if p.CookieDomain != nil {
		src.CookieDomain = *p.CookieDomain
	}
	in := SourceInput{Name: src.Name, AllowedOrigins: src.AllowedOrigins, AttributionWindow: src.AttributionWindow,
		AttributionModel: src.AttributionModel, CookieDomain: src.CookieDomain, Secrets: p.Secrets}
	if err := CheckSource(in); err != nil {
		return store.Source{}, err
	}
	if src.AttributionWindow == 0 {
		src.AttributionWindow = DefaultAttributionWindow
	}
	if src.AttributionModel == "" {
		src.AttributionModel = store.ModelLastClick
	}
	src.UpdatedAt = s.now()
	err = s.Store.UpdateSource(ctx, src)
	s.sourceChanged()
	if err != nil {
		return store.Source{}, fmt.Errorf("admin: update source: %w", err)
	}
	for _, provider := range slices.Sorted(maps.Keys(p.Secrets)) {
		if err := s.PutGatewaySecret(ctx, src, provider, p.Secrets[provider]); err != nil {
			return store.Source{}, err
		}
	}
	return src, nil
}

// DestinationPatch changes some settings of a destination. Config and Credentials are merged
// into the current ones key by key (an empty string removes a key), so an operator can rotate an
// access token without sending the other settings again; nil maps leave them as they are.
type DestinationPatch struct {
	Name        *string
	Config      map[string]string
	Credentials map[string]string
	Enabled     *bool
}

// UpdateDestination applies a patch to a tenant's destination, validating the merged settings
// with v (nil skips validation) and re-encrypting the credentials when they change.
func (s *Service) UpdateDestination(ctx context.Context, tenantID, id string, p DestinationPatch, v Validator) (store.Destination, error) {
	d, err := s.Store.GetDestination(ctx, tenantID, id)
	if err != nil {
		return store.Destination{}, fmt.Errorf("admin: destination %s: %w", id, err)
	}
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		if name == "" {
			ve := &ValidationError{}
			ve.Add("name", "must not be empty")
			return store.Destination{}, ve
		}
		if err := checkName(name); err != nil {
			return store.Destination{}, err
		}
		d.Name = name
	}
	if p.Enabled != nil {
		d.Enabled = *p.Enabled
	}
	if p.Config != nil || p.Credentials != nil {
		cfg := map[string]string{}
		if len(d.Config) > 0 {
			if err := json.Unmarshal(d.Config, &cfg); err != nil {
				return store.Destination{}, fmt.Errorf("admin: destination %s: stored config: %w", id, err)
			}
		}
		creds, err := s.DestinationCredentials(d)
		if err != nil {
			return store.Destination{}, err
		}
		merge(cfg, p.Config)
		merge(creds, p.Credentials)
		rawCfg, err := json.Marshal(cfg)
		if err != nil {
			return store.Destination{}, fmt.Errorf("admin: encode config: %w", err)
		}
		rawCreds, err := json.Marshal(creds)
		if err != nil {
			return store.Destination{}, fmt.Errorf("admin: encode credentials: %w", err)
		}
		if v != nil {
			if err := v.Validate(d.Type, rawCfg, rawCreds); err != nil {
				return store.Destination{}, fmt.Errorf("admin: destination: %w", err)
			}
		}
		d.Config = rawCfg
		if p.Credentials != nil {
			d.Credentials = ""
			if len(creds) > 0 {
				ct, err := s.Keys.Seal(rawCreds, store.CredentialsAD(d.ID))
				if err != nil {
					return store.Destination{}, fmt.Errorf("admin: encrypt credentials: %w", err)
				}
				d.Credentials = ct
			}
		}
	}
	d.UpdatedAt = s.now()
	if err := s.Store.UpdateDestination(ctx, d); err != nil {
		return store.Destination{}, fmt.Errorf("admin: update destination: %w", err)
	}
	return d, nil
}

func merge(dst, patch map[string]string) {
	for k, v := range patch {
		if v == "" {
			delete(dst, k)
			continue
		}
		dst[k] = v
	}
}

// DestinationCredentials decrypts a destination's credentials (name -> secret). It is for
// sending and for listing which names are set; the values are never shown.
func (s *Service) DestinationCredentials(d store.Destination) (map[string]string, error) {
	creds := map[string]string{}
	if d.Credentials == "" {
		return creds, nil
	}
	plain, err := s.Keys.Open(d.Credentials, store.CredentialsAD(d.ID))
	if err != nil {
		return nil, fmt.Errorf("admin: decrypt credentials of %s: %w", d.ID, err)
	}
	if err := json.Unmarshal(plain, &creds); err != nil {
		return nil, fmt.Errorf("admin: credentials of %s are not a JSON object of strings", d.ID)
	}
	return creds, nil
}

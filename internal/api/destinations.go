package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// Health is a destination's last known health.
type Health struct {
	State     string     `json:"state"`
	Reason    string     `json:"reason,omitempty"`
	CheckedAt *time.Time `json:"checked_at,omitempty"`
}

// Destination is a destination as the API shows it: settings, and only the names of the
// credentials that are set, never their values.
type Destination struct {
	ID             string            `json:"id"`
	Type           string            `json:"type"`
	Name           string            `json:"name"`
	Config         map[string]string `json:"config"`
	CredentialsSet []string          `json:"credentials_set"`
	Enabled        bool              `json:"enabled"`
	Health         Health            `json:"health"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

func (a *API) destinationView(d store.Destination) (Destination, error) {
	cfg := map[string]string{}
	if len(d.Config) > 0 {
		if err := json.Unmarshal(d.Config, &cfg); err != nil {
			return Destination{}, fmt.Errorf("api: destination %s config: %w", d.ID, err)
		}
	}
	v := Destination{ID: d.ID, Type: d.Type, Name: d.Name, Config: cfg, CredentialsSet: []string{}, Enabled: d.Enabled,
		Health:    Health{State: d.Health.State, Reason: d.Health.Reason, CheckedAt: ptrTime(d.Health.CheckedAt)},
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if v.Health.State == "" {
		v.Health.State = "unknown"
	}
	if d.Credentials != "" {
		creds, err := a.credentials(d)
		if err != nil {
			return Destination{}, err
		}
		v.CredentialsSet = dest.NewCredentials(creds).Names()
	}
	return v, nil
}

func (a *API) credentials(d store.Destination) (map[string]string, error) {
	if a.cfg.Keys == nil {
		return nil, errors.New("api: no keyring to open destination credentials")
	}
	creds := map[string]string{}
	if d.Credentials == "" {
		return creds, nil
	}
	plain, err := a.cfg.Keys.Open(d.Credentials, store.CredentialsAD(d.ID))
	if err != nil {
		return nil, fmt.Errorf("api: open credentials of %s: %w", d.ID, err)
	}
	if err := json.Unmarshal(plain, &creds); err != nil {
		return nil, fmt.Errorf("api: credentials of %s are not a JSON object of strings", d.ID)
	}
	return creds, nil
}

// DestinationType is a registered destination type and its settings.
type DestinationType struct {
	Type        string        `json:"type"`
	Title       string        `json:"title"`
	Description string        `json:"description"`
	Settings    []TypeSetting `json:"settings"`
}

// TypeSetting is one setting of a destination type; Secret ones go in credentials.
type TypeSetting struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
	Secret      bool   `json:"secret"`
	Default     string `json:"default,omitempty"`
}

func (a *API) destinationTypes(w http.ResponseWriter, r *http.Request, _ principal) error {
	if err := newQuery(r).err(); err != nil {
		return err
	}
	out := []DestinationType{}
	for _, s := range a.cfg.Dests.Specs() {
		t := DestinationType{Type: s.Type, Title: s.Title, Description: s.Description, Settings: []TypeSetting{}}
		for _, st := range s.Settings {
			t.Settings = append(t.Settings, TypeSetting{Name: st.Name, Label: st.Label, Description: st.Description,
				Required: st.Required, Secret: st.Secret, Default: st.Default})
		}
		out = append(out, t)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (a *API) listDestinations(w http.ResponseWriter, r *http.Request, p principal) error {
	list := func(ctx context.Context) ([]store.Destination, error) {
		return a.cfg.Store.ListDestinations(ctx, p.TenantID)
	}
	return writeList(w, r, list, func(d store.Destination) string { return d.ID }, a.destinationView)
}

// validator checks destination settings against the registry, naming fields config.<name>
// and credentials.<name>.
type validator struct{ reg *dest.Registry }

func (v validator) Validate(typ string, config, credentials json.RawMessage) error {
	d, ok := v.reg.Lookup(typ)
	if !ok {
		return httpx.Invalid(domain.FieldError{Field: "type", Reason: "unknown destination type; one of " + strings.Join(v.reg.Types(), ", ")})
	}
	cfg, creds := dest.Config{}, map[string]string{}
	var errs []domain.FieldError
	if len(config) > 0 && string(config) != "null" {
		if err := json.Unmarshal(config, &cfg); err != nil {
			errs = append(errs, domain.FieldError{Field: "config", Reason: "must be an object of strings"})
		}
	}
	if len(credentials) > 0 && string(credentials) != "null" {
		if err := json.Unmarshal(credentials, &creds); err != nil {
			errs = append(errs, domain.FieldError{Field: "credentials", Reason: "must be an object of strings"})
		}
	}
	if len(errs) == 0 {
		var ce *dest.ConfigError
		if err := d.ValidateConfig(cfg); errors.As(err, &ce) {
			for _, fp := range ce.Problems {
				errs = append(errs, domain.FieldError{Field: "config." + fp.Field, Reason: fp.Reason})
			}
		} else if err != nil {
			errs = append(errs, domain.FieldError{Field: "config", Reason: err.Error()})
		}
		if ce := dest.CheckCredentials(d.Spec(), dest.NewCredentials(creds)); ce.Err() != nil {
			for _, fp := range ce.Problems {
				errs = append(errs, domain.FieldError{Field: "credentials." + fp.Field, Reason: fp.Reason})
			}
		}
	}
	if len(errs) > 0 {
		return httpx.Invalid(errs...)
	}
	return nil
}

type destinationBody struct {
	Type        string            `json:"type"`
	Name        string            `json:"name"`
	Config      map[string]string `json:"config"`
	Credentials map[string]string `json:"credentials"`
}

// CreatedDestination is the answer to a creation or a secret rotation: the destination and,
// this once, the secrets Hub generated for it (the webhook's signing_secret), by setting name.
// They are stored encrypted and never shown again.
type CreatedDestination struct {
	Destination
	Secrets map[string]string `json:"secrets,omitempty"`
}

// generate fills the settings Hub generates (dest.Setting.Generate) that creds lacks, and
// returns them to be shown once.
func generate(spec dest.Spec, creds map[string]string) (map[string]string, error) {
	shown := map[string]string{}
	for _, st := range spec.Generated() {
		if strings.TrimSpace(creds[st.Name]) != "" {
			continue // given by the operator (moving an endpoint that already knows its secret)
		}
		v, err := st.Generate()
		if err != nil {
			return nil, fmt.Errorf("api: generate %s: %w", st.Name, err)
		}
		creds[st.Name], shown[st.Name] = v, v
	}
	return shown, nil
}

func (a *API) createDestination(w http.ResponseWriter, r *http.Request, p principal) error {
	var body destinationBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	body.Credentials = nonNil(body.Credentials)
	var shown map[string]string
	if impl, ok := a.cfg.Dests.Lookup(body.Type); ok {
		var err error
		if shown, err = generate(impl.Spec(), body.Credentials); err != nil {
			return err
		}
	}
	if len(body.Name) > 200 {
		return httpx.Invalid(domain.FieldError{Field: "name", Reason: "must be at most 200 characters"})
	}
	cfg, err := json.Marshal(nonNil(body.Config))
	if err != nil {
		return err
	}
	creds, err := json.Marshal(nonNil(body.Credentials))
	if err != nil {
		return err
	}
	v := validator{a.cfg.Dests}
	if err := v.Validate(body.Type, cfg, creds); err != nil {
		return err
	}
	in := admin.DestinationInput{Type: body.Type, Name: strings.TrimSpace(body.Name), Config: cfg}
	if len(body.Credentials) > 0 {
		in.Credentials = creds
	}
	d, err := a.cfg.Admin.AddDestination(r.Context(), p.TenantID, in, v)
	if err != nil {
		return err
	}
	a.audit(r, p, "destination.create", "destination "+d.ID+" type "+d.Type)
	view, err := a.destinationView(d)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, CreatedDestination{Destination: view, Secrets: shown})
	return nil
}

// rotateSecret replaces a destination's generated secret (the webhook's signing_secret) with a
// new one, shown once in the answer, and keeps the old one in its Previous setting: Hub signs
// with both until the previous one is removed (PATCH credentials {"previous_signing_secret":
// ""}), so the endpoint can switch without losing a message.
func (a *API) rotateSecret(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	sd, err := a.cfg.Store.GetDestination(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	impl, ok := a.cfg.Dests.Lookup(sd.Type)
	if !ok {
		return httpx.NewProblem(http.StatusConflict, "destination type "+sd.Type+" is not available in this build")
	}
	gen := impl.Spec().Generated()
	if len(gen) == 0 {
		return httpx.NewProblem(http.StatusConflict, "destination type "+sd.Type+" has no secret Hub generates, so there is nothing to rotate")
	}
	creds, err := a.credentials(sd)
	if err != nil {
		return err
	}
	patch, shown := map[string]string{}, map[string]string{}
	for _, st := range gen {
		v, err := st.Generate()
		if err != nil {
			return fmt.Errorf("api: generate %s: %w", st.Name, err)
		}
		patch[st.Name], shown[st.Name] = v, v
		if old := creds[st.Name]; st.Previous != "" && old != "" {
			patch[st.Previous] = old
		}
	}
	d, err := a.cfg.Admin.UpdateDestination(ctx, p.TenantID, sd.ID, admin.DestinationPatch{Credentials: patch}, validator{a.cfg.Dests})
	if err != nil {
		return err
	}
	a.audit(r, p, "destination.rotate_secret", "destination "+d.ID)
	view, err := a.destinationView(d)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, CreatedDestination{Destination: view, Secrets: shown})
	return nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (a *API) getDestination(w http.ResponseWriter, r *http.Request, p principal) error {
	d, err := a.cfg.Store.GetDestination(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	view, err := a.destinationView(d)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, view)
	return nil
}

type destinationPatchBody struct {
	Name        *string           `json:"name"`
	Config      map[string]string `json:"config"`
	Credentials map[string]string `json:"credentials"`
	Enabled     *bool             `json:"enabled"`
}

func (a *API) updateDestination(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := a.cfg.Store.GetDestination(ctx, p.TenantID, id); err != nil {
		return err
	}
	var body destinationPatchBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	d, err := a.cfg.Admin.UpdateDestination(ctx, p.TenantID, id, admin.DestinationPatch{Name: body.Name, Config: body.Config,
		Credentials: body.Credentials, Enabled: body.Enabled}, validator{a.cfg.Dests})
	if err != nil {
		return err
	}
	a.audit(r, p, "destination.update", "destination "+d.ID)
	return a.writeDestination(w, d, http.StatusOK)
}

func (a *API) writeDestination(w http.ResponseWriter, d store.Destination, status int) error {
	view, err := a.destinationView(d)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, view)
	return nil
}

func (a *API) enableDestination(w http.ResponseWriter, r *http.Request, p principal) error {
	return a.setEnabled(w, r, p, true)
}

func (a *API) disableDestination(w http.ResponseWriter, r *http.Request, p principal) error {
	return a.setEnabled(w, r, p, false)
}

func (a *API) setEnabled(w http.ResponseWriter, r *http.Request, p principal, enabled bool) error {
	d, err := a.cfg.Admin.UpdateDestination(r.Context(), p.TenantID, r.PathValue("id"), admin.DestinationPatch{Enabled: &enabled}, nil)
	if err != nil {
		return err
	}
	action := "destination.disable"
	if enabled {
		action = "destination.enable"
	}
	a.audit(r, p, action, "destination "+d.ID)
	return a.writeDestination(w, d, http.StatusOK)
}

type testEventBody struct {
	EventName string `json:"event_name"`
}

// TestResult is the platform's answer to a test event.
type TestResult struct {
	Delivered  bool   `json:"delivered"`
	EventName  string `json:"event_name"`
	EventID    string `json:"event_id"`
	Kind       string `json:"kind"`
	Reason     string `json:"reason,omitempty"`
	Code       int    `json:"code,omitempty"`
	Subcode    int    `json:"subcode,omitempty"`
	Message    string `json:"message,omitempty"`
	TraceID    string `json:"trace_id,omitempty"`
	HTTPStatus int    `json:"http_status,omitempty"`
}

// testDestination sends one synthetic event with the destination's test setting (Spec's
// TestSetting, Meta's test_event_code) and reports what the platform answered. Without it the
// test is refused, so a test can never count as a real conversion.
func (a *API) testDestination(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	sd, err := a.cfg.Store.GetDestination(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	var body testEventBody
	if err := a.decodeOptional(w, r, &body); err != nil {
		return err
	}
	if body.EventName == "" {
		body.EventName = domain.EventPurchase
	}
	if body.EventName != domain.EventPurchase && body.EventName != domain.EventPageView {
		return httpx.Invalid(domain.FieldError{Field: "event_name", Reason: "must be Purchase or PageView"})
	}
	d, ok := a.cfg.Dests.Lookup(sd.Type)
	if !ok {
		return httpx.NewProblem(http.StatusConflict, "destination type "+sd.Type+" is not available in this build")
	}
	cfg := dest.Config{}
	if len(sd.Config) > 0 {
		if err := json.Unmarshal(sd.Config, &cfg); err != nil {
			return fmt.Errorf("api: destination %s config: %w", sd.ID, err)
		}
	}
	if ts, ok := d.Spec().CanTest(cfg); !ok {
		if ts.Name == "" {
			return httpx.NewProblem(http.StatusConflict, "destination type "+sd.Type+" has no test mode, so Hub cannot send a test event to it")
		}
		return httpx.Invalid(domain.FieldError{Field: "config." + ts.Name,
			Reason: "set " + ts.Name + " (" + ts.Label + ") first, so the test is not counted as a real conversion"})
	}
	creds, err := a.credentials(sd)
	if err != nil {
		return err
	}
	ev := a.testEvent(body.EventName)
	ev.Test = true
	res, err := d.Send(ctx, cfg, dest.NewCredentials(creds), []dest.Event{ev})
	if err != nil {
		return fmt.Errorf("api: test send: %w", err)
	}
	if len(res.Outcomes) != 1 {
		return fmt.Errorf("api: test send: %d outcomes for one event", len(res.Outcomes))
	}
	o := res.Outcomes[0]
	out := TestResult{Delivered: o.Kind == dest.Delivered, EventName: ev.Name, EventID: ev.EventID, Kind: string(o.Kind),
		Reason: o.Reason, Code: o.Code, Subcode: o.Subcode, Message: o.Message, TraceID: o.TraceID, HTTPStatus: o.HTTPStatus}
	a.recordHealth(ctx, sd, o)
	a.audit(r, p, "destination.test", fmt.Sprintf("destination %s event %s outcome %s %s", sd.ID, ev.Name, o.Kind, o.Reason))
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) testEvent(name string) dest.Event {
	now := a.now()
	ev := dest.Event{
		Name: name, EventID: "hub_test_" + store.NewID(), EventTime: now, ActionSource: dest.ActionWebsite,
		EventSourceURL: strings.TrimRight(a.cfg.PublicURL, "/") + "/hub-test-event",
		User: dest.User{
			Emails:      []string{pii.SHA256Hex("test-event@hub.invalid")},
			ExternalIDs: []string{pii.SHA256Hex("hub-test-event")},
			ClientIP:    "203.0.113.10", // TEST-NET-3: never a real visitor
			UserAgent:   "Hub test event",
		},
	}
	if name == domain.EventPurchase {
		ev.Custom = dest.Custom{ValueMinor: 100, Currency: "USD", OrderID: ev.EventID, ContentType: "product",
			ContentIDs: []string{"hub-test"}, Contents: []dest.Content{{ID: "hub-test", Quantity: 1, ItemPriceMinor: 100}}, NumItems: 1}
	}
	return ev
}

// recordHealth keeps what the test taught about the destination: healthy when delivered,
// unhealthy on a permanent refusal that concerns the destination's setup.
func (a *API) recordHealth(ctx context.Context, d store.Destination, o dest.Outcome) {
	var h store.DestinationHealth
	switch {
	case o.Kind == dest.Delivered:
		h = store.DestinationHealth{State: "healthy", CheckedAt: a.now()}
	case o.Kind == dest.Permanent && slices.Contains([]string{dest.ReasonInvalidToken, dest.ReasonPermission,
		dest.ReasonInvalidConfig, dest.ReasonPolicyBlocked}, o.Reason):
		h = store.DestinationHealth{State: "unhealthy", Reason: o.Reason, CheckedAt: a.now()}
	default:
		return
	}
	if err := a.cfg.Store.SetDestinationHealth(ctx, d.TenantID, d.ID, h); err != nil {
		a.cfg.Log.Warn("api: record destination health", "destination_id", d.ID, "error", err.Error())
	}
	if o.Kind == dest.Delivered { // the dashboard's setup checklist ticks "test event" from this
		if err := a.cfg.Store.SetDestinationTestAccepted(ctx, d.TenantID, d.ID, a.now()); err != nil {
			a.cfg.Log.Warn("api: record destination test", "destination_id", d.ID, "error", err.Error())
		}
	}
}

// ReplayResult counts the deliveries put back on the queue and those left alone, grouped by
// why they cannot be sent again.
type ReplayResult struct {
	Replayed int `json:"replayed"`
	// Resends counts the replayed deliveries that were delivered already (a replay by id):
	// their send is recorded as a resend.
	Resends int          `json:"resends"`
	Skipped int          `json:"skipped"`
	Skips   []ReplaySkip `json:"skips"`
}

// ReplaySkip is the deliveries of a replay not queued for one reason.
type ReplaySkip struct {
	Reason      string   `json:"reason"`
	Detail      string   `json:"detail"`
	Count       int      `json:"count"`
	DeliveryIDs []string `json:"delivery_ids"`
}

func replayResult(res delivery.ReplayResult) ReplayResult {
	out := ReplayResult{Replayed: res.Queued, Resends: res.Resends, Skipped: len(res.Skipped), Skips: []ReplaySkip{}}
	for _, g := range res.Grouped() {
		out.Skips = append(out.Skips, ReplaySkip{Reason: g.Reason, Detail: g.Detail, Count: g.Count, DeliveryIDs: g.DeliveryIDs})
	}
	return out
}

func (a *API) replayDead(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	d, err := a.cfg.Store.GetDestination(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := delivery.ReplayDead(ctx, a.cfg.Store, a.cfg.Dests, p.TenantID, d.ID, a.now())
	if err != nil {
		return err
	}
	a.audit(r, p, "delivery.replay_dead", fmt.Sprintf("destination %s: %s", d.ID, res.Summary()))
	httpx.WriteJSON(w, http.StatusAccepted, replayResult(res))
	return nil
}

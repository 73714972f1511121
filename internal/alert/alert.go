// Package alert owns Hub's operational alerts: the periodic check of each tenant's conditions (a
// destination turned unhealthy, few purchases delivered, a gateway or the snippet gone quiet), an
// alert raised once and resolved once per condition (the store's conditional insert and update,
// so replicas never notify twice), and the notices: e-mail through the operator's SMTP server
// and alert.raised/alert.resolved through every destination that takes alerts (the webhook).
package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// CheckEvery is how often a serving Hub checks the conditions.
const CheckEvery = 5 * time.Minute

// settle is how recent an order may be and still not count in the delivered share: its
// deliveries may still be on their way (a retry, Google's confirmation after 30 minutes).
const settle = time.Hour

// minDeliveries is the fewest purchases a destination must have in the window for the delivered
// share to mean something: two failures out of three is not a trend.
const minDeliveries = 10

// Store is what the alerts read, and raise and resolve through (store.Store is one).
type Store interface {
	ListTenants(ctx context.Context) ([]store.Tenant, error)
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
	ListDestinations(ctx context.Context, tenantID string) ([]store.Destination, error)
	GetDestination(ctx context.Context, tenantID, id string) (store.Destination, error)
	ListSources(ctx context.Context, tenantID string) ([]store.Source, error)
	ListWebhookTokens(ctx context.Context, tenantID, sourceID string) ([]store.WebhookToken, error)
	ListInbox(ctx context.Context, f store.InboxFilter) ([]store.InboxEntry, error)
	ListTouchpoints(ctx context.Context, f store.TouchpointFilter) ([]store.Touchpoint, error)
	DeliveryStats(ctx context.Context, f store.StatsFilter) ([]store.DeliveryStatsRow, error)
	ListUsers(ctx context.Context, tenantID string) ([]store.User, error)
	store.AlertReader
	Tx(ctx context.Context, fn func(store.Tx) error) error
}

// Service checks the conditions and sends the notices. Mail nil: no e-mail.
type Service struct {
	Store Store
	Dests *dest.Registry
	Keys  *pii.Keyring
	Mail  Mailer
	Log   *slog.Logger
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// condition is one alert that holds now.
type condition struct {
	name, detail string
}

type key struct{ kind, subject string }

// Check evaluates every tenant's conditions once (CheckTenant for each).
func (s *Service) Check(ctx context.Context) error {
	ts, err := s.Store.ListTenants(ctx)
	if err != nil {
		return fmt.Errorf("alert: check: %w", err)
	}
	var errs []error
	for _, t := range ts {
		if err := s.CheckTenant(ctx, t.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CheckTenant raises an alert for each condition of the tenant that holds and has no open
// alert, and resolves each open alert whose condition no longer holds, notifying both. A kind
// the tenant turned off raises nothing, and its open alerts are closed without a notice.
func (s *Service) CheckTenant(ctx context.Context, tenantID string) error {
	set, err := s.Store.GetAlertSettings(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("alert: check %s: %w", tenantID, err)
	}
	set = set.WithDefaults()
	now := s.now()
	holds, err := s.conditions(ctx, tenantID, set, now)
	if err != nil {
		return fmt.Errorf("alert: check %s: %w", tenantID, err)
	}
	open, err := s.Store.ListAlerts(ctx, store.AlertFilter{TenantID: tenantID, Open: true, Limit: 1000})
	if err != nil {
		return fmt.Errorf("alert: check %s: %w", tenantID, err)
	}
	dests, err := s.Store.ListDestinations(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("alert: check %s: %w", tenantID, err)
	}
	isOpen := map[key]bool{}
	for _, a := range open {
		k := key{a.Kind, a.Subject}
		isOpen[k] = true
		if _, still := holds[k]; still && set.On(a.Kind) {
			continue
		}
		notify := set.On(a.Kind)
		err := s.Store.Tx(ctx, func(tx store.Tx) error {
			done, err := tx.ResolveAlert(ctx, tenantID, a.ID, now)
			if err != nil || !done || !notify {
				return err // another replica resolved it (and notified)
			}
			return s.enqueue(ctx, tx, tenantID, a.ID, Resolved, dests)
		})
		if err != nil {
			return fmt.Errorf("alert: resolve %s: %w", a.ID, err)
		}
	}
	for k, c := range holds {
		if isOpen[k] || !set.On(k.kind) {
			continue
		}
		err := s.Store.Tx(ctx, func(tx store.Tx) error {
			a, isNew, err := tx.RaiseAlert(ctx, store.Alert{TenantID: tenantID, Kind: k.kind, Subject: k.subject,
				SubjectName: c.name, Detail: c.detail, RaisedAt: now})
			if err != nil || !isNew {
				return err // already open: raised by another replica, which notified
			}
			return s.enqueue(ctx, tx, tenantID, a.ID, Raised, dests)
		})
		if err != nil {
			return fmt.Errorf("alert: raise %s %s: %w", k.kind, k.subject, err)
		}
	}
	return nil
}

// enqueue plans the notices of one change, in its transaction: one e-mail, and one post to each
// enabled destination whose type takes alerts.
func (s *Service) enqueue(ctx context.Context, tx store.Tx, tenantID, alertID, state string, dests []store.Destination) error {
	if s.Mail != nil {
		if err := tx.Enqueue(ctx, MailArgs{TenantID: tenantID, AlertID: alertID, State: state}, nil); err != nil {
			return err
		}
	}
	for _, d := range dests {
		if !d.Enabled || !s.takesAlerts(d.Type) {
			continue
		}
		if err := tx.Enqueue(ctx, WebhookArgs{TenantID: tenantID, AlertID: alertID, State: state, DestinationID: d.ID}, nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) takesAlerts(typ string) bool {
	if s.Dests == nil {
		return false
	}
	impl, ok := s.Dests.Lookup(typ)
	return ok && impl.Spec().Alerts
}

// conditions lists what holds now, by kind and subject.
func (s *Service) conditions(ctx context.Context, tenantID string, set store.AlertSettings, now time.Time) (map[key]condition, error) {
	out := map[key]condition{}
	dests, err := s.Store.ListDestinations(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	enabled := map[string]store.Destination{}
	for _, d := range dests {
		if !d.Enabled {
			continue
		}
		enabled[d.ID] = d
		if d.Health.State == "unhealthy" {
			out[key{store.AlertDestinationUnhealthy, d.ID}] = condition{d.Name, d.Health.Reason}
		}
	}

	// The delivered share of each destination's purchases of paid orders created in the window
	// (up to settle ago); deliberately skipped ones (disabled, no consent, stale) do not count.
	stats, err := s.Store.DeliveryStats(ctx, store.StatsFilter{TenantID: tenantID,
		Since: now.Add(-time.Duration(set.WindowHours) * time.Hour), Until: now.Add(-settle)})
	if err != nil {
		return nil, err
	}
	type share struct{ delivered, total int }
	shares := map[string]*share{}
	for _, r := range stats {
		if !r.PaidOrder || r.EventName != domain.EventPurchase || r.State == store.DeliverySkipped {
			continue
		}
		if _, ok := enabled[r.DestinationID]; !ok {
			continue
		}
		sh := shares[r.DestinationID]
		if sh == nil {
			sh = &share{}
			shares[r.DestinationID] = sh
		}
		sh.total += r.Deliveries
		if r.State == store.DeliveryDelivered {
			sh.delivered += r.Deliveries
		}
	}
	for id, sh := range shares {
		if sh.total >= minDeliveries && sh.delivered*100 < set.DeliveredSharePercent*sh.total {
			out[key{store.AlertDeliveredShare, id}] = condition{enabled[id].Name, fmt.Sprintf("%d/%d", sh.delivered, sh.total)}
		}
	}

	sources, err := s.Store.ListSources(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	gatewayQuiet := time.Duration(set.GatewaySilentHours) * time.Hour
	snippetQuiet := time.Duration(set.SnippetSilentHours) * time.Hour
	for _, src := range sources {
		tokens, err := s.Store.ListWebhookTokens(ctx, tenantID, src.ID)
		if err != nil {
			return nil, err
		}
		for _, tok := range tokens {
			// Only a gateway that has sent before: a new one is not silent, it is not set up yet.
			last, err := s.Store.ListInbox(ctx, store.InboxFilter{TenantID: tenantID, SourceID: src.ID, Provider: tok.Provider, Limit: 1})
			if err != nil {
				return nil, err
			}
			if len(last) == 1 && now.Sub(last[0].ReceivedAt) >= gatewayQuiet {
				out[key{store.AlertGatewaySilent, src.ID + ":" + tok.Provider}] = condition{src.Name, last[0].ReceivedAt.UTC().Format(time.RFC3339)}
			}
		}
		last, err := s.Store.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: tenantID, SourceID: src.ID, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(last) == 1 && now.Sub(last[0].ReceivedAt) >= snippetQuiet {
			out[key{store.AlertSnippetSilent, src.ID}] = condition{src.Name, last[0].ReceivedAt.UTC().Format(time.RFC3339)}
		}
	}
	return out, nil
}

// CheckArgs is the periodic job that checks every tenant's conditions.
type CheckArgs struct{}

// Kind implements river.JobArgs.
func (CheckArgs) Kind() string { return "alert_check" }

// InsertOpts makes the replicas' schedules collapse into one job per period.
func (CheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: CheckEvery}}
}

// CheckWorker runs Check.
type CheckWorker struct {
	river.WorkerDefaults[CheckArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *CheckWorker) Work(ctx context.Context, _ *river.Job[CheckArgs]) error {
	return w.Service.Check(ctx)
}

// Schedule enqueues the check now and every period (CheckEvery when <= 0) until ctx ends.
// Every replica schedules it; the job is unique per period, so one of them checks.
func (s *Service) Schedule(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = CheckEvery
	}
	store.EnqueueEvery(ctx, s.Store, every, CheckArgs{}, func(err error) {
		s.log().Warn("alert: schedule the check", "error", err)
	})
}

// notice is an alert with what its notices say.
type notice struct {
	alert    store.Alert
	tenant   store.Tenant
	settings store.AlertSettings
	loc      *time.Location
}

func (s *Service) load(ctx context.Context, tenantID, alertID, state string) (notice, error) {
	a, err := s.Store.GetAlert(ctx, tenantID, alertID)
	if err != nil {
		return notice{}, err
	}
	if state == Raised {
		a.ResolvedAt = nil // the raised notice says what was raised, even if sent after it cleared
	}
	t, err := s.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return notice{}, err
	}
	set, err := s.Store.GetAlertSettings(ctx, tenantID)
	if err != nil {
		return notice{}, err
	}
	return notice{alert: a, tenant: t, settings: set, loc: Zone(t)}, nil
}

// Zone is the time zone an alert's sentences are written in: the tenant's, UTC when it is unset
// or unknown to this build. The e-mail, the webhook notice and the API use it, so all three say
// the same times.
func Zone(t store.Tenant) *time.Location {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Recipients are the tenant's alert e-mail addresses: its settings' list, else its enabled
// admins.
func (s *Service) Recipients(ctx context.Context, tenantID string, set store.AlertSettings) ([]string, error) {
	if len(set.Recipients) > 0 {
		return set.Recipients, nil
	}
	users, err := s.Store.ListUsers(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return Admins(users), nil
}

// Admins are the addresses of users' enabled admins: who gets the alert e-mails while the
// settings list none.
func Admins(users []store.User) []string {
	var out []string
	for _, u := range users {
		if u.Role == store.RoleAdmin && !u.Disabled {
			out = append(out, u.Email)
		}
	}
	return out
}

// ParseRecipients checks a comma- or line-separated list of e-mail addresses.
func ParseRecipients(s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ';' }) {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, err := mail.ParseAddress(f)
		if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
			return nil, fmt.Errorf("%q is not an e-mail address", f)
		}
		out = append(out, strings.ToLower(a.Address))
	}
	if len(out) > 20 {
		return nil, errors.New("at most 20 addresses")
	}
	return out, nil
}

// MailArgs e-mails one alert change.
type MailArgs struct {
	TenantID string `json:"tenant_id"`
	AlertID  string `json:"alert_id"`
	State    string `json:"state"`
}

// Kind implements river.JobArgs.
func (MailArgs) Kind() string { return "alert_mail" }

// InsertOpts makes one e-mail per change, retried for about a day.
func (MailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// MailWorker sends MailArgs.
type MailWorker struct {
	river.WorkerDefaults[MailArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *MailWorker) Work(ctx context.Context, job *river.Job[MailArgs]) error {
	return w.Service.Mail1(ctx, job.Args)
}

// Mail1 sends the e-mail of one alert change.
func (s *Service) Mail1(ctx context.Context, a MailArgs) error {
	if s.Mail == nil {
		return nil
	}
	n, err := s.load(ctx, a.TenantID, a.AlertID, a.State)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert: mail: %w", err)
	}
	to, err := s.Recipients(ctx, a.TenantID, n.settings)
	if err != nil {
		return fmt.Errorf("alert: mail: %w", err)
	}
	if len(to) == 0 {
		s.log().Warn("alert: no one to e-mail (no recipients set and no enabled admin)", "tenant_id", a.TenantID, "alert_id", a.AlertID)
		return nil
	}
	subject, body := Mail(n.alert, n.settings, n.loc, n.tenant.TimeZone)
	if err := s.Mail.Send(ctx, to, subject, body); err != nil {
		s.log().Warn("alert: e-mail not sent; retrying", "tenant_id", a.TenantID, "alert_id", a.AlertID, "error", err)
		return err
	}
	s.log().Info("alert: e-mailed", "tenant_id", a.TenantID, "alert_id", a.AlertID, "kind", n.alert.Kind, "state", a.State, "recipients", len(to))
	return nil
}

// Mail is an alert's e-mail: its subject and its text in Portuguese, then English.
func Mail(a store.Alert, set store.AlertSettings, loc *time.Location, zone string) (subject, body string) {
	pt, en := "Hub — alerta: ", "alert: "
	if a.ResolvedAt != nil {
		pt, en = "Hub — resolvido: ", "resolved: "
	}
	subject = pt + Title("pt-BR", a.Kind) + " / " + en + Title("en", a.Kind)
	body = Text("pt-BR", a, set, loc) + "\n\n(Horários no fuso " + zone + ". Configure os alertas no painel do Hub, em Alertas.)\n\n" +
		"— English —\n\n" + Text("en", a, set, loc) + "\n\n(Times in " + zone + ". Alert settings are on Hub's dashboard, under Alerts.)\n"
	return subject, body
}

// WebhookArgs posts one alert change to one destination.
type WebhookArgs struct {
	TenantID      string `json:"tenant_id"`
	AlertID       string `json:"alert_id"`
	State         string `json:"state"`
	DestinationID string `json:"destination_id"`
}

// Kind implements river.JobArgs.
func (WebhookArgs) Kind() string { return "alert_webhook" }

// InsertOpts makes one post per change and destination, retried for about a day.
func (WebhookArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// WebhookWorker sends WebhookArgs.
type WebhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *WebhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	return w.Service.Post(ctx, job.Args)
}

// Event is the alert.raised or alert.resolved event of an alert change: its event id is the
// same on every retry (the receiver's idempotency key).
func Event(a store.Alert, state string, set store.AlertSettings, loc *time.Location) dest.Event {
	name, at := domain.EventAlertRaised, a.RaisedAt
	if state == Resolved && a.ResolvedAt != nil {
		name, at = domain.EventAlertResolved, *a.ResolvedAt
	} else {
		a.ResolvedAt, state = nil, Raised
	}
	return dest.Event{Name: name, EventID: "alert_" + state + ":" + a.ID, EventTime: at, Alert: &dest.AlertNotice{
		ID: a.ID, Kind: a.Kind, State: state, Subject: a.Subject, SubjectName: a.SubjectName, Detail: a.Detail,
		RaisedAt: a.RaisedAt, ResolvedAt: a.ResolvedAt, Text: Texts(a, set, loc)}}
}

// Post sends one alert change to one destination. A destination gone, disabled or refusing for
// good is logged and given up; a retryable answer is retried by River.
func (s *Service) Post(ctx context.Context, a WebhookArgs) error {
	n, err := s.load(ctx, a.TenantID, a.AlertID, a.State)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert: post: %w", err)
	}
	ds, err := s.Store.GetDestination(ctx, a.TenantID, a.DestinationID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert: post: %w", err)
	}
	if !ds.Enabled || !s.takesAlerts(ds.Type) {
		return nil
	}
	impl, _ := s.Dests.Lookup(ds.Type)
	cfg, creds, err := s.settings(ds)
	if err != nil {
		s.log().Warn("alert: destination settings unreadable; alert not posted", "destination_id", ds.ID, "error", err)
		return nil
	}
	res, err := impl.Send(ctx, cfg, creds, []dest.Event{Event(n.alert, a.State, n.settings, n.loc)})
	if err != nil {
		return fmt.Errorf("alert: post: %w", err)
	}
	if len(res.Outcomes) != 1 {
		return fmt.Errorf("alert: post: %d outcomes for one event", len(res.Outcomes))
	}
	switch o := res.Outcomes[0]; o.Kind {
	case dest.Delivered:
		s.log().Info("alert: posted", "tenant_id", a.TenantID, "alert_id", a.AlertID, "destination_id", ds.ID, "state", a.State)
		return nil
	case dest.Retryable:
		return fmt.Errorf("alert: post to %s: %s (%s)", ds.ID, o.Reason, o.Message)
	default:
		s.log().Warn("alert: the destination refused the alert for good", "destination_id", ds.ID, "alert_id", a.AlertID, "reason", o.Reason, "message", o.Message)
		return nil
	}
}

// settings decodes a destination's config and decrypts its credentials (as the delivery
// worker does).
func (s *Service) settings(ds store.Destination) (dest.Config, dest.Credentials, error) {
	cfg := dest.Config{}
	if len(ds.Config) > 0 {
		if err := json.Unmarshal(ds.Config, &cfg); err != nil {
			return nil, dest.Credentials{}, fmt.Errorf("config: %w", err)
		}
	}
	creds := map[string]string{}
	if ds.Credentials != "" {
		if s.Keys == nil {
			return nil, dest.Credentials{}, errors.New("credentials: no keyring")
		}
		plain, err := s.Keys.Open(ds.Credentials, store.CredentialsAD(ds.ID))
		if err != nil {
			return nil, dest.Credentials{}, fmt.Errorf("credentials: %w", err)
		}
		if err := json.Unmarshal(plain, &creds); err != nil {
			return nil, dest.Credentials{}, errors.New("credentials: not a JSON object of strings")
		}
	}
	return cfg, dest.NewCredentials(creds), nil
}

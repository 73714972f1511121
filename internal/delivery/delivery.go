// Package delivery owns getting conversions to destinations: planning one delivery per
// destination in the order's transaction, the River worker that batches and sends them,
// retry classification with backoff, the shared circuit breaker, dead letters and replay.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// Args is the River job that delivers one delivery. Replay is a counter so that a replay is a
// new job even when an earlier one for the same delivery is retained.
type Args struct {
	TenantID   string `json:"tenant_id"`
	DeliveryID string `json:"delivery_id"`
	Replay     int    `json:"replay,omitempty"`
}

// Kind is the River job kind.
func (Args) Kind() string { return "deliver" }

// InsertOpts makes each (delivery, replay) job unique.
func (Args) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// MaxAttempts bounds retries; with the backoff below they span about five days, inside Meta's
// seven-day limit. The worker also refuses to send an event older than the destination allows.
const MaxAttempts = 25

// EventID is the deterministic dedup key of an order's conversion: the same on every retry and
// replay, and what a thank-you page pixel can compute from the gateway and transaction id.
func EventID(o store.Order, eventName string) string {
	return o.Provider + ":" + o.ExternalID + ":" + eventNameKey(eventName)
}

func eventNameKey(name string) string {
	switch name {
	case dest.EventPurchase:
		return "purchase"
	}
	return name
}

// Plan creates, inside the order's transaction, one delivery and one job per enabled
// destination for an order that just became paid. Refunds and chargebacks are recorded on the
// order and never sent as purchases.
func Plan(ctx context.Context, tx store.Tx, o store.Order, now time.Time) ([]store.Delivery, error) {
	if o.Status != store.StatusPaid {
		return nil, nil
	}
	dests, err := tx.ListDestinations(ctx, o.TenantID)
	if err != nil {
		return nil, fmt.Errorf("delivery: plan: %w", err)
	}
	var out []store.Delivery
	for _, d := range dests {
		del := store.Delivery{ID: store.NewID(), TenantID: o.TenantID, OrderID: o.ID, DestinationID: d.ID,
			EventName: dest.EventPurchase, EventID: EventID(o, dest.EventPurchase), State: store.DeliveryPending, CreatedAt: now, UpdatedAt: now}
		switch {
		case !d.Enabled:
			del.State, del.Reason = store.DeliverySkipped, "destination_disabled"
		case !EventEnabled(d, dest.EventPurchase, true):
			del.State, del.Reason = store.DeliverySkipped, dest.ReasonEventDisabled
		}
		created, isNew, err := tx.CreateDelivery(ctx, del)
		if err != nil {
			return nil, fmt.Errorf("delivery: plan: %w", err)
		}
		if !isNew {
			continue
		}
		out = append(out, created)
		if created.State == store.DeliverySkipped {
			continue
		}
		if err := tx.Enqueue(ctx, Args{TenantID: o.TenantID, DeliveryID: created.ID}, nil); err != nil {
			return nil, fmt.Errorf("delivery: plan: enqueue: %w", err)
		}
	}
	return out, nil
}

// TouchpointEvents maps the browser events Hub forwards to the destinations' event names.
var TouchpointEvents = map[string]string{
	"lead":              dest.EventLead,
	"initiate_checkout": dest.EventInitiateCheckout,
	"add_to_cart":       dest.EventAddToCart,
}

// EventEnabled reports whether a destination's "events" setting (comma-separated names) lets
// an event through; an empty setting means byDefault (purchases: yes; browser events: only
// when listed, since the Pixel usually reports them already).
func EventEnabled(d store.Destination, name string, byDefault bool) bool {
	var cfg map[string]string
	if len(d.Config) > 0 && json.Unmarshal(d.Config, &cfg) != nil {
		return byDefault
	}
	list := strings.TrimSpace(cfg["events"])
	if list == "" {
		return byDefault
	}
	for _, e := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(e), name) {
			return true
		}
	}
	return false
}

// PlanTouchpoints creates, inside the transaction that commits the touchpoints, a delivery and
// a job per destination that enabled the event, for every lead, checkout and add-to-cart that
// is not a bot's and was not sent without consent. The event id is the one the snippet shared
// with the Pixel, so the platform deduplicates the two. A touchpoint skipped as a duplicate by
// the insert has no row, and no delivery is planned for it again.
func PlanTouchpoints(ctx context.Context, tx store.Tx, tps []store.Touchpoint, now time.Time) (int, error) {
	dests := map[string][]store.Destination{}
	n := 0
	for _, tp := range tps {
		name, ok := TouchpointEvents[tp.Type]
		if !ok || tp.Bot || tp.Consent == "denied" {
			continue
		}
		ds, loaded := dests[tp.TenantID]
		if !loaded {
			var err error
			if ds, err = tx.ListDestinations(ctx, tp.TenantID); err != nil {
				return n, fmt.Errorf("delivery: plan touchpoints: %w", err)
			}
			dests[tp.TenantID] = ds
		}
		for _, d := range ds {
			if !d.Enabled || !EventEnabled(d, name, false) {
				continue
			}
			eventID := tp.ClientEventID
			if eventID == "" {
				eventID = "touchpoint:" + tp.ID
			}
			del, created, err := tx.CreateDelivery(ctx, store.Delivery{TenantID: tp.TenantID, TouchpointID: tp.ID, DestinationID: d.ID,
				EventName: name, EventID: eventID, State: store.DeliveryPending, CreatedAt: now, UpdatedAt: now})
			if errors.Is(err, store.ErrNotFound) {
				break // not inserted: a retried event whose deliveries were planned the first time
			}
			if err != nil {
				return n, fmt.Errorf("delivery: plan touchpoints: %w", err)
			}
			if !created {
				continue
			}
			if err := tx.Enqueue(ctx, Args{TenantID: tp.TenantID, DeliveryID: del.ID}, nil); err != nil {
				return n, fmt.Errorf("delivery: plan touchpoints: enqueue: %w", err)
			}
			n++
		}
	}
	return n, nil
}

// Worker delivers one delivery per job, batching concurrent jobs per destination.
type Worker struct {
	river.WorkerDefaults[Args]

	Store     store.Store
	Dests     *dest.Registry
	Keys      *pii.Keyring
	Breaker   *Breaker
	Log       *slog.Logger
	Now       func() time.Time
	Overrides func(d store.Destination, cfg dest.Config) // e.g. the configured Graph URL
	// Finished, when set, is told about every delivery whose state the worker recorded (live
	// views). It must not block.
	Finished func(ctx context.Context, d store.Delivery)
	batchers *batchers
}

// NewWorker builds a worker; batchWindow is how long a batch waits for company.
func NewWorker(w Worker, batchWindow time.Duration) *Worker {
	w.batchers = newBatchers(batchWindow)
	return &w
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// NextRetry backs off exponentially from 5 s to at most 6 h, with ±20 % jitter so a recovered
// platform is not hit by every retry at once.
func (w *Worker) NextRetry(job *river.Job[Args]) time.Time {
	return w.now().Add(Backoff(job.Attempt))
}

// Backoff is the wait before retry number attempt (1-based).
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := 5 * time.Second
	for i := 1; i < attempt && d < 6*time.Hour; i++ {
		d *= 2
	}
	if d > 6*time.Hour {
		d = 6 * time.Hour
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// Timeout bounds one job: a send plus its bookkeeping.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return time.Minute }

// errRetry makes River retry the job; the delivery row already says why.
var errRetry = errors.New("delivery: retryable failure")

// Work sends one delivery.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	a := job.Args
	d, err := w.Store.GetDelivery(ctx, a.TenantID, a.DeliveryID)
	if err != nil {
		return fmt.Errorf("delivery: load %s: %w", a.DeliveryID, err)
	}
	switch d.State {
	case store.DeliveryDelivered, store.DeliverySkipped:
		return nil // never sent twice
	case store.DeliveryDead:
		if a.Replay == 0 {
			return nil
		}
	}
	ds, err := w.Store.GetDestination(ctx, a.TenantID, d.DestinationID)
	if err != nil {
		return fmt.Errorf("delivery: load destination: %w", err)
	}
	if !ds.Enabled {
		return w.finish(ctx, d, store.DeliverySkipped, "destination_disabled", nil)
	}
	impl, ok := w.Dests.Lookup(ds.Type)
	if !ok {
		return w.finish(ctx, d, store.DeliveryDead, dest.ReasonInvalidConfig, nil)
	}
	cfg, creds, err := w.settings(ds)
	if err != nil {
		w.Log.Error("delivery: destination settings", "destination_id", ds.ID, "error", err)
		return w.finish(ctx, d, store.DeliveryDead, dest.ReasonInvalidConfig, nil)
	}
	ev, err := w.buildEvent(ctx, d)
	if err != nil {
		return err
	}
	if age := impl.Spec().MaxEventAge; age > 0 && w.now().Sub(ev.EventTime) > age-time.Hour {
		state := store.DeliverySkipped
		if d.Attempts > 0 {
			state = store.DeliveryDead // it was tried and ran out of time
		}
		return w.finish(ctx, d, state, dest.ReasonStale, nil)
	}

	bstate, wait, err := w.Breaker.Allow(ctx, ds.ID)
	if err != nil {
		w.Log.Warn("delivery: breaker state unavailable; sending", "destination_id", ds.ID, "error", err)
	}
	if bstate == BreakerOpen {
		return river.JobSnooze(wait)
	}

	start := w.now()
	out := w.batchers.send(ctx, batchKey{dest: ds.ID}, impl, cfg, creds, ev)
	latency := w.now().Sub(start)
	attempt := store.Attempt{ID: store.NewID(), TenantID: d.TenantID, DeliveryID: d.ID, At: start, HTTPStatus: out.HTTPStatus,
		LatencyMS: latency.Milliseconds(), Outcome: string(out.Kind), Code: out.Reason, Message: out.Message, TraceID: out.TraceID, Replay: a.Replay > 0}
	if out.Code != 0 {
		attempt.Code = fmt.Sprintf("%s (%d)", out.Reason, out.Code)
	}
	d.Attempts++
	switch out.Kind {
	case dest.Delivered:
		if err := w.Breaker.Success(ctx, ds.ID, bstate); err != nil {
			w.Log.Warn("delivery: breaker", "error", err)
		}
		return w.finish(ctx, d, store.DeliveryDelivered, "", &attempt)
	case dest.Retryable:
		if err := w.Breaker.Failure(ctx, ds.ID, bstate); err != nil {
			w.Log.Warn("delivery: breaker", "error", err)
		}
		if job.Attempt >= job.MaxAttempts {
			return w.finish(ctx, d, store.DeliveryDead, "retries_exhausted: "+out.Reason, &attempt)
		}
		if err := w.finish(ctx, d, store.DeliveryRetrying, out.Reason, &attempt); err != nil {
			return err
		}
		if out.RetryAfter > 0 {
			return river.JobSnooze(out.RetryAfter)
		}
		return fmt.Errorf("%w: %s", errRetry, out.Reason)
	default:
		if out.Reason == dest.ReasonInvalidToken || out.Reason == dest.ReasonPermission || out.Reason == dest.ReasonInvalidConfig {
			h := store.DestinationHealth{State: "unhealthy", Reason: out.Reason, CheckedAt: w.now()}
			if err := w.Store.SetDestinationHealth(ctx, ds.TenantID, ds.ID, h); err != nil {
				w.Log.Warn("delivery: destination health", "error", err)
			}
		}
		return w.finish(ctx, d, store.DeliveryDead, out.Reason, &attempt)
	}
}

// finish records the attempt and the delivery's new state in one transaction.
func (w *Worker) finish(ctx context.Context, d store.Delivery, state store.DeliveryState, reason string, at *store.Attempt) error {
	now := w.now()
	d.State, d.Reason, d.UpdatedAt = state, reason, now
	if state == store.DeliveryDelivered {
		d.DeliveredAt = &now
	}
	err := w.Store.Tx(ctx, func(tx store.Tx) error {
		if at != nil {
			if _, err := tx.InsertAttempt(ctx, *at); err != nil {
				return err
			}
		}
		return tx.UpdateDelivery(ctx, d)
	})
	if err != nil {
		return fmt.Errorf("delivery: record %s: %w", d.ID, err)
	}
	if w.Finished != nil {
		w.Finished(ctx, d)
	}
	w.Log.Info("delivery", "delivery_id", d.ID, "order_id", d.OrderID, "destination_id", d.DestinationID, "state", state, "reason", reason)
	return nil
}

// settings decodes a destination's config and decrypts its credentials.
func (w *Worker) settings(ds store.Destination) (dest.Config, dest.Credentials, error) {
	cfg := dest.Config{}
	if len(ds.Config) > 0 {
		if err := json.Unmarshal(ds.Config, &cfg); err != nil {
			return nil, dest.Credentials{}, fmt.Errorf("config: %w", err)
		}
	}
	if w.Overrides != nil {
		w.Overrides(ds, cfg)
	}
	creds := map[string]string{}
	if ds.Credentials != "" {
		plain, err := w.Keys.Open(ds.Credentials, store.CredentialsAD(ds.ID))
		if err != nil {
			return nil, dest.Credentials{}, fmt.Errorf("credentials: %w", err)
		}
		if err := json.Unmarshal(plain, &creds); err != nil {
			return nil, dest.Credentials{}, errors.New("credentials: not a JSON object of strings")
		}
	}
	return cfg, dest.NewCredentials(creds), nil
}

// buildEvent builds the platform-neutral conversion of a delivery: from its order (a purchase)
// or from its touchpoint (a browser event such as a lead).
func (w *Worker) buildEvent(ctx context.Context, d store.Delivery) (dest.Event, error) {
	if d.TouchpointID != "" {
		tp, err := w.Store.GetTouchpoint(ctx, d.TenantID, d.TouchpointID)
		if err != nil {
			return dest.Event{}, fmt.Errorf("delivery: load touchpoint: %w", err)
		}
		return touchpointEvent(tp, d), nil
	}
	o, err := w.Store.GetOrder(ctx, d.TenantID, d.OrderID)
	if err != nil {
		return dest.Event{}, fmt.Errorf("delivery: load order: %w", err)
	}
	return w.event(ctx, o, d)
}

// touchpointEvent is a browser event sent server-side, with the event id the snippet shared
// with the Pixel so the platform keeps one of the two.
func touchpointEvent(tp store.Touchpoint, d store.Delivery) dest.Event {
	ev := dest.Event{Name: d.EventName, EventID: d.EventID, EventTime: tp.OccurredAt}
	if tp.EmailHash != "" {
		ev.User.Emails = []string{tp.EmailHash}
	}
	if tp.PhoneHash != "" {
		ev.User.Phones = []string{tp.PhoneHash}
	}
	if tp.VisitorID != "" {
		ev.User.ExternalIDs = []string{tp.VisitorID}
	}
	applyTouchpoint(&ev, tp)
	return ev
}

// event builds the platform-neutral conversion from the order and its attribution.
func (w *Worker) event(ctx context.Context, o store.Order, d store.Delivery) (dest.Event, error) {
	at := o.OccurredAt
	if o.PaidAt != nil {
		at = *o.PaidAt
	}
	b := o.Buyer
	ev := dest.Event{
		Name: d.EventName, EventID: d.EventID, EventTime: at,
		User: dest.User{
			FirstName: b.FirstNameHash, LastName: b.LastNameHash, City: b.CityHash, State: b.StateHash,
			Zip: b.ZipHash, Country: b.CountryHash, ClientIP: b.IP, UserAgent: b.UserAgent,
			FBC: o.Tracking.FBC, FBP: o.Tracking.FBP,
		},
		Custom: dest.Custom{ValueMinor: o.AmountMinor, Currency: o.Currency, OrderID: o.ExternalID, ContentType: "product"},
	}
	if b.EmailHash != "" {
		ev.User.Emails = []string{b.EmailHash}
	}
	if b.PhoneHash != "" {
		ev.User.Phones = []string{b.PhoneHash}
	}
	if b.ExternalID != "" {
		ev.User.ExternalIDs = append(ev.User.ExternalIDs, b.ExternalID)
	}
	for _, p := range o.Products {
		if p.ID == "" {
			continue
		}
		q := p.Quantity
		if q <= 0 {
			q = 1
		}
		ev.Custom.ContentIDs = append(ev.Custom.ContentIDs, p.ID)
		ev.Custom.Contents = append(ev.Custom.Contents, dest.Content{ID: p.ID, Quantity: q, ItemPriceMinor: p.PriceMinor})
		ev.Custom.NumItems += q
	}
	attr, err := w.Store.GetAttribution(ctx, o.TenantID, o.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return dest.Event{}, fmt.Errorf("delivery: load attribution: %w", err)
	case attr.TouchpointID != "":
		tp, err := w.Store.GetTouchpoint(ctx, o.TenantID, attr.TouchpointID)
		if err != nil && !errors.Is(err, store.ErrNotFound) { // erased: send what the order has
			return dest.Event{}, fmt.Errorf("delivery: load touchpoint: %w", err)
		}
		if err == nil {
			applyTouchpoint(&ev, tp)
		}
		if attr.VisitorID != "" {
			ev.User.ExternalIDs = append(ev.User.ExternalIDs, attr.VisitorID)
		}
	}
	return ev, nil
}

// applyTouchpoint gives the event what the click knew: the browser's identifiers beat what the
// gateway saw (the checkout's IP is the gateway's view of the buyer, often the same), and the
// landing page is the event's source URL.
func applyTouchpoint(ev *dest.Event, tp store.Touchpoint) {
	if tp.FBC != "" {
		ev.User.FBC = tp.FBC
	} else if tp.FBCLID != "" && ev.User.FBC == "" {
		ev.User.FBC = fmt.Sprintf("fb.1.%d.%s", tp.OccurredAt.UnixMilli(), tp.FBCLID)
	}
	if tp.FBP != "" {
		ev.User.FBP = tp.FBP
	}
	if ev.User.ClientIP == "" {
		ev.User.ClientIP = tp.IP
	}
	if ev.User.UserAgent == "" {
		ev.User.UserAgent = tp.UserAgent
	}
	if tp.URL != "" {
		ev.EventSourceURL = tp.URL
	}
	ev.User.GAClientID, ev.User.TTP, ev.User.TTCLID, ev.User.GCLID = tp.GAClientID, tp.TTP, tp.TTCLID, tp.GCLID
}

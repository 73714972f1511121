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
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/live"
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
	case domain.EventPurchase:
		return "purchase"
	case domain.EventOrderRefunded:
		return "refunded"
	case domain.EventOrderChargeback:
		return "chargeback"
	case domain.EventOrderChargebackWon:
		return "chargeback_won"
	case domain.EventOrderCancelled:
		return "cancelled"
	}
	return name
}

// Plan creates, inside the order's transaction, the deliveries that follow from the order's
// move to its current status: for a paid order, one delivery and one job per destination (a
// skipped row for one that is disabled or does not take purchases); for a refunded, charged
// back or cancelled order (domain.StatusEvent), one per enabled destination whose events
// setting names that event and whose type sends it (dest.Spec.Sends, looked up in dests: the
// webhook), and nothing for the others: ad platforms never hear of them, even when an old
// stored config lists them. Refunds and chargebacks are never sent as purchases.
func Plan(ctx context.Context, tx store.Tx, dests *dest.Registry, o store.Order, now time.Time) ([]store.Delivery, error) {
	out, _, err := plan(ctx, tx, dests, o, now, false, nil)
	return out, err
}

// PlanFrom is Plan with the tenant's destination rows read by rows, a read this transaction
// issued earlier (store.Tx.ListDestinationsLater) so that it needs no round trip of its own.
func PlanFrom(ctx context.Context, tx store.Tx, dests *dest.Registry, o store.Order, now time.Time, rows func() ([]store.Destination, error)) ([]store.Delivery, error) {
	out, _, err := plan(ctx, tx, dests, o, now, false, rows)
	return out, err
}

// PlanLocal is Plan for a caller that runs the first attempts itself, in the process that
// commits the transaction, right after the commit (Local.Dispatch): the deliveries are created
// Local and no River job is enqueued for them. It returns those to dispatch (created, not
// skipped). Should the process stop before their attempts end, the sweep (Local.Sweep) finds
// them still Local and enqueues their jobs.
func PlanLocal(ctx context.Context, tx store.Tx, dests *dest.Registry, o store.Order, now time.Time) ([]store.Delivery, error) {
	_, jobs, err := plan(ctx, tx, dests, o, now, true, nil)
	ds := make([]store.Delivery, len(jobs))
	for i, j := range jobs {
		ds[i] = j.Delivery
	}
	return ds, err
}

// PlanLocalJobs is PlanLocal returning, with each delivery to dispatch, the part of its
// store.DeliveryJob the planning read and wrote: the delivery as created, its destination's row
// as this transaction read it, and o (which the caller passes as the transaction wrote it). The
// caller adds the order's attribution and touchpoint, when it knows them, and hands the job to
// Local.DispatchJobs (see there).
func PlanLocalJobs(ctx context.Context, tx store.Tx, dests *dest.Registry, o store.Order, now time.Time) ([]store.DeliveryJob, error) {
	_, jobs, err := plan(ctx, tx, dests, o, now, true, nil)
	return jobs, err
}

// PlanLocalJobsFrom is PlanLocalJobs with the destination rows read by rows (see PlanFrom).
func PlanLocalJobsFrom(ctx context.Context, tx store.Tx, dests *dest.Registry, o store.Order, now time.Time, rows func() ([]store.Destination, error)) ([]store.DeliveryJob, error) {
	_, jobs, err := plan(ctx, tx, dests, o, now, true, rows)
	return jobs, err
}

// plan is Plan, or PlanLocal when local is set; dispatch is the jobs PlanLocalJobs returns.
// list reads o's tenant's destinations in tx (nil: tx.ListDestinations).
func plan(ctx context.Context, tx store.Tx, dests *dest.Registry, o store.Order, now time.Time, local bool, list func() ([]store.Destination, error)) (out []store.Delivery, dispatch []store.DeliveryJob, err error) {
	name, lifecycle := domain.EventPurchase, false
	if o.Status != domain.StatusPaid {
		var ok bool
		if name, ok = domain.StatusEvent(o.Status); !ok {
			return nil, nil, nil
		}
		lifecycle = true
	}
	if list == nil {
		list = func() ([]store.Destination, error) { return tx.ListDestinations(ctx, o.TenantID) }
	}
	rows, err := list()
	if err != nil {
		return nil, nil, fmt.Errorf("delivery: plan: %w", err)
	}
	for _, d := range rows {
		if lifecycle && (!d.Enabled || !EventEnabled(d, name, true) || !Sends(dests, d, name)) {
			continue
		}
		del := store.Delivery{ID: store.NewID(), TenantID: o.TenantID, OrderID: o.ID, DestinationID: d.ID,
			EventName: name, EventID: EventID(o, name), State: store.DeliveryPending, CreatedAt: now, UpdatedAt: now}
		switch {
		case o.ErasedAt != nil:
			// Her data was erased: nothing more about her is sent, and the skip says why.
			del.State, del.Reason = store.DeliverySkipped, store.ReasonErased
		case !d.Enabled:
			del.State, del.Reason = store.DeliverySkipped, "destination_disabled"
		case !EventEnabled(d, name, false):
			del.State, del.Reason = store.DeliverySkipped, dest.ReasonEventDisabled
		}
		del.Local = local && del.State == store.DeliveryPending
		created, isNew, err := tx.CreateDelivery(ctx, del)
		if err != nil {
			return nil, nil, fmt.Errorf("delivery: plan: %w", err)
		}
		if !isNew {
			continue
		}
		out = append(out, created)
		switch {
		case created.State == store.DeliverySkipped:
		case created.Local:
			order := o
			dispatch = append(dispatch, store.DeliveryJob{Delivery: created, Destination: d, Order: &order})
		default:
			if err := tx.Enqueue(ctx, Args{TenantID: o.TenantID, DeliveryID: created.ID}, nil); err != nil {
				return nil, nil, fmt.Errorf("delivery: plan: enqueue: %w", err)
			}
		}
	}
	return out, dispatch, nil
}

// statusOf is the order status a lifecycle event reports (domain.StatusEvent backwards), or "".
func statusOf(eventName string) domain.OrderStatus {
	for _, s := range []domain.OrderStatus{domain.StatusRefunded, domain.StatusChargeback, domain.StatusChargebackWon, domain.StatusCancelled} {
		if n, _ := domain.StatusEvent(s); n == eventName {
			return s
		}
	}
	return ""
}

// PlanDead plans, in the transaction that records a delivery's death, a DeliveryDead
// delivery (the webhook's delivery.dead) to every other enabled destination whose events
// setting names it and whose type sends it (Sends): the merchant's system hears that a
// conversion did not reach a platform.
// A DeliveryDead delivery that dies itself reports nothing (no chain of notices), and each
// dead delivery is reported once per destination (a replay that dies again is not news).
func PlanDead(ctx context.Context, tx store.Tx, dests *dest.Registry, dead store.Delivery, now time.Time) error {
	if dead.EventName == domain.EventDeliveryDead || dead.ErasedAt != nil {
		return nil // no chain of notices; nothing about an erased person
	}
	rows, err := tx.ListDestinations(ctx, dead.TenantID)
	if err != nil {
		return fmt.Errorf("delivery: plan delivery.dead: %w", err)
	}
	for _, d := range rows {
		if d.ID == dead.DestinationID || !d.Enabled || !EventEnabled(d, domain.EventDeliveryDead, true) || !Sends(dests, d, domain.EventDeliveryDead) {
			continue
		}
		created, isNew, err := tx.CreateDelivery(ctx, store.Delivery{ID: store.NewID(), TenantID: dead.TenantID, SubjectID: dead.ID,
			DestinationID: d.ID, EventName: domain.EventDeliveryDead, EventID: "delivery_dead:" + dead.ID,
			State: store.DeliveryPending, CreatedAt: now, UpdatedAt: now})
		if err != nil {
			return fmt.Errorf("delivery: plan delivery.dead: %w", err)
		}
		if !isNew {
			continue
		}
		if err := tx.Enqueue(ctx, Args{TenantID: dead.TenantID, DeliveryID: created.ID}, nil); err != nil {
			return fmt.Errorf("delivery: plan delivery.dead: enqueue: %w", err)
		}
	}
	return nil
}

// errErased is deadEvent's refusal to build a notice about a person whose data was erased
// (store.Order.ErasedAt, store.Delivery.ErasedAt): the worker skips it with store.ReasonErased.
var errErased = errors.New("delivery: the person's data was erased")

// deadEvent is the DeliveryDead event of d: the dead delivery it reports, with what its order
// (or touchpoint) says, under d's own event id and time.
func deadEvent(ctx context.Context, r EventReader, d store.Delivery, spec dest.Spec) (dest.Event, error) {
	dead, err := r.GetDelivery(ctx, d.TenantID, d.SubjectID)
	if err != nil {
		return dest.Event{}, fmt.Errorf("delivery: load the dead delivery: %w", err)
	}
	ds, err := r.GetDestination(ctx, d.TenantID, dead.DestinationID)
	if err != nil {
		return dest.Event{}, fmt.Errorf("delivery: load the dead delivery's destination: %w", err)
	}
	var ev dest.Event
	switch {
	case dead.Reason == store.ReasonErased, dead.ErasedAt != nil:
		// The dead delivery is about an erased person (its order's buyer or its visit's
		// visitor): the notice would carry what they say.
		return dest.Event{}, errErased
	case dead.OrderID != "":
		// The notice carries what the dead delivery's order says: nothing once its buyer
		// was erased.
		o, err := r.GetOrder(ctx, d.TenantID, dead.OrderID)
		if err != nil {
			return dest.Event{}, fmt.Errorf("delivery: load order: %w", err)
		}
		if o.ErasedAt != nil {
			return dest.Event{}, errErased
		}
		if ev, err = orderEvent(ctx, r, o, dead, spec, nil); err != nil {
			return dest.Event{}, err
		}
	case dead.TouchpointID != "":
		if ev, err = eventFor(ctx, r, dead, spec); err != nil {
			return dest.Event{}, err
		}
	}
	diedAt := dead.UpdatedAt
	if dead.State != store.DeliveryDead {
		diedAt = d.CreatedAt // replayed since; the notice keeps the moment it died
	}
	ev.Name, ev.EventID, ev.EventTime = d.EventName, d.EventID, d.CreatedAt
	ev.Dead = &dest.DeadDelivery{DeliveryID: dead.ID, DestinationID: ds.ID, DestinationType: ds.Type, DestinationName: ds.Name,
		EventName: dead.EventName, EventID: dead.EventID, Reason: dead.Reason, Attempts: dead.Attempts, DiedAt: diedAt}
	if dead.State != store.DeliveryDead && dead.Reason == "" {
		ev.Dead.Reason = "dead"
	}
	return ev, nil
}

// TouchpointEvents maps the browser events Hub forwards to the destinations' event names.
var TouchpointEvents = map[string]string{
	"lead":              domain.EventLead,
	"initiate_checkout": domain.EventInitiateCheckout,
	"add_to_cart":       domain.EventAddToCart,
}

// EventEnabled applies dest.EventEnabled, the one event filter, to a destination row: browser
// is true for the browser events (TouchpointEvents), false for an order's purchase. A config
// that is not a JSON object of strings enables nothing but the default.
func EventEnabled(d store.Destination, name string, browser bool) bool {
	cfg, _ := parseConfig(d.Config)
	return dest.EventEnabled(cfg, name, browser)
}

// configs holds destination settings parsed from their JSON, keyed by the JSON itself (so a
// changed row is parsed anew): a group's planning (EventEnabled, for each browser event and
// each destination), a send's consent check (configOf) and its test-event mark (testAccepted)
// each parsed the same row's config again, 5 % of Hub's CPU in bench/ingest with browser
// events to Meta. The maps are shared: read them, never write them. At most configsMax are
// kept; when full it starts over.
var configs struct {
	mu sync.Mutex
	m  map[string]parsedConfig
}

type parsedConfig struct {
	cfg   dest.Config
	valid bool
}

const configsMax = 1024

// parseConfig is raw parsed as a dest.Config (read only), valid false when it is not one
// (then cfg is nil); an empty raw is an empty, valid config.
func parseConfig(raw []byte) (dest.Config, bool) {
	if len(raw) == 0 {
		return nil, true
	}
	configs.mu.Lock()
	p, ok := configs.m[string(raw)]
	configs.mu.Unlock()
	if ok {
		return p.cfg, p.valid
	}
	var cfg dest.Config
	if json.Unmarshal(raw, &cfg) != nil {
		cfg = nil
	} else {
		p.valid = true
	}
	p.cfg = cfg
	configs.mu.Lock()
	if configs.m == nil || len(configs.m) >= configsMax {
		configs.m = make(map[string]parsedConfig)
	}
	configs.m[string(raw)] = p
	configs.mu.Unlock()
	return p.cfg, p.valid
}

// Sends applies dest.Spec.Sends to a destination row: whether its type, looked up in dests,
// can send Hub's event name. A notice (dest.Notices) is never sent by a type dests does not
// know, nor when dests is nil; every conversion is.
func Sends(dests *dest.Registry, d store.Destination, name string) bool {
	if _, notice := dest.Notice(name); !notice {
		return true
	}
	if dests == nil {
		return false
	}
	impl, ok := dests.Lookup(d.Type)
	return ok && impl.Spec().Sends(name)
}

// TouchpointsPlan says how PlanTouchpoints plans a group's deliveries.
type TouchpointsPlan struct {
	// Written says that the transaction wrote every touchpoint of the group itself
	// (store.Tx.WriteTouchpoints stored them all: none was a retry of one stored before), so
	// each delivery is created without looking its touchpoint up (store.Delivery's
	// TouchpointWritten). Otherwise each is looked up by its whole key, and one not found (a
	// retry, skipped by the write) plans nothing.
	Written bool
	// Local creates the deliveries Local, with no River job, for a caller that runs their first
	// attempts itself right after the commit (Local.DispatchJobs); otherwise each gets its job
	// in the transaction.
	Local bool
	// Destinations holds, per tenant, its destinations' read issued earlier in the transaction
	// (ReadTouchpointDestinations), so that the planning spends no round trip of its own on it;
	// a tenant it lacks is read by the planning (store.Tx.ListDestinations).
	Destinations map[string]func() ([]store.Destination, error)
}

// ReadTouchpointDestinations issues in tx, before the group's touchpoints are written, the read
// of the destinations of every tenant PlanTouchpoints will plan for in tps (store.Tx's
// ListDestinationsLater), for the caller to pass as TouchpointsPlan.Destinations. On PostgreSQL
// the reads travel with BEGIN and the touchpoints' write, one round trip for the three. It reads
// nothing for a group PlanTouchpoints plans nothing for.
//
// The read comes before the write in the transaction where it used to follow it; the
// destinations planned for are the same: a group's touchpoints have all arrived before its
// transaction begins, so a destination whose creation was acknowledged before a touchpoint
// arrived is committed before either read, and one created later may be planned for or not
// either way (the read took a snapshot of its own at READ COMMITTED).
func ReadTouchpointDestinations(ctx context.Context, tx store.Tx, tps []store.Touchpoint) map[string]func() ([]store.Destination, error) {
	var reads map[string]func() ([]store.Destination, error)
	for i := range tps {
		tp := &tps[i]
		if _, ok := plansFor(tp); !ok {
			continue
		}
		if _, issued := reads[tp.TenantID]; issued {
			continue
		}
		if reads == nil {
			reads = map[string]func() ([]store.Destination, error){}
		}
		reads[tp.TenantID] = tx.ListDestinationsLater(ctx, tp.TenantID)
	}
	return reads
}

// plansFor is the event name PlanTouchpoints delivers tp as, and whether it plans for tp at all:
// a lead, checkout or add-to-cart that is not a bot's and whose visitor did not deny Hub's
// measurement (consent denied, or the analytics signal denied: Meta's and TikTok's APIs have no
// consent field, and ingest kept none of the visit's identifiers for any platform to match).
func plansFor(tp *store.Touchpoint) (string, bool) {
	name, ok := TouchpointEvents[tp.Type]
	if !ok || tp.Bot || tp.MeasurementDenied() {
		return "", false
	}
	return name, true
}

// PlanTouchpoints creates, inside the transaction that commits the touchpoints, a delivery per
// destination that enabled the event, for every lead, checkout and add-to-cart plansFor takes
// (not a bot's, Hub's measurement not denied), and returns those it created, each with the part
// of its store.DeliveryJob the planning holds: the delivery, its destination's row as this
// transaction read it and the touchpoint as the caller wrote it. With p.Local that is what its
// first attempt sends from (Local.DispatchJobs); otherwise each has its River job already. The
// event id is the one the snippet shared with the Pixel, so the platform deduplicates the two.
// A touchpoint skipped as a duplicate by the insert has no row, and no delivery is planned for
// it again.
func PlanTouchpoints(ctx context.Context, tx store.Tx, tps []store.Touchpoint, now time.Time, p TouchpointsPlan) ([]store.DeliveryJob, error) {
	dests := map[string][]store.Destination{}
	var out []store.DeliveryJob
	for i := range tps {
		tp := &tps[i]
		name, ok := plansFor(tp)
		if !ok {
			continue
		}
		ds, loaded := dests[tp.TenantID]
		if !loaded {
			read, issued := p.Destinations[tp.TenantID]
			if !issued {
				read = func() ([]store.Destination, error) { return tx.ListDestinations(ctx, tp.TenantID) }
			}
			var err error
			if ds, err = read(); err != nil {
				return out, fmt.Errorf("delivery: plan touchpoints: %w", err)
			}
			dests[tp.TenantID] = ds
		}
		for _, d := range ds {
			if !d.Enabled || !EventEnabled(d, name, true) {
				continue
			}
			eventID := tp.ClientEventID
			if eventID == "" {
				eventID = "touchpoint:" + tp.ID
			}
			del, created, err := tx.CreateDelivery(ctx, store.Delivery{TenantID: tp.TenantID, TouchpointID: tp.ID, TouchpointAt: tp.OccurredAt,
				TouchpointWritten: p.Written, DestinationID: d.ID, EventName: name, EventID: eventID, State: store.DeliveryPending,
				Local: p.Local, CreatedAt: now, UpdatedAt: now})
			if errors.Is(err, store.ErrNotFound) {
				break // not inserted: a retried event whose deliveries were planned the first time
			}
			if err != nil {
				return out, fmt.Errorf("delivery: plan touchpoints: %w", err)
			}
			if !created {
				continue
			}
			if !del.Local {
				if err := tx.Enqueue(ctx, Args{TenantID: tp.TenantID, DeliveryID: del.ID}, nil); err != nil {
					return out, fmt.Errorf("delivery: plan touchpoints: enqueue: %w", err)
				}
			}
			written := *tp
			out = append(out, store.DeliveryJob{Delivery: del, Destination: d, Touchpoint: &written})
		}
	}
	return out, nil
}

// Worker delivers one delivery per job, batching concurrent jobs per destination.
type Worker struct {
	river.WorkerDefaults[Args]

	Store   Store
	Dests   *dest.Registry
	Keys    *pii.Keyring
	Breaker *Breaker
	Log     *slog.Logger
	Now     func() time.Time
	// Live shows every delivery whose state the worker recorded on the live view; nil shows
	// none. Publishing only queues.
	Live *live.Hub
	// SendTimeout bounds one request to a destination; zero takes the longest Spec().Timeout
	// of the registered destinations (else DefaultSendTimeout). The job's timeout is derived
	// from it (JobTimeout).
	SendTimeout time.Duration
	// Outcomes, when set, counts recorded outcomes by destination_type, outcome (delivered,
	// retried, dead, skipped, resent_after_crash) and reason (see NewOutcomes).
	Outcomes *prometheus.CounterVec
	// ConfirmAfter, when positive, replaces every dest.Confirmer's wait before its first poll
	// (tests and the local walkthrough; Google's is 30 minutes).
	ConfirmAfter time.Duration
	// Quota, when set, holds each destination to its Spec().RequestsPerMinute with a token
	// bucket per destination shared by every replica (the cache); nil applies no quota.
	Quota    cache.Limiter
	window   time.Duration
	batchers *batchers
	senders  *senders
	slots    *slots
	outcomes *groupCommit
	healed   *healed
}

// healed is when a Worker last wrote each destination healthy (markHealthy), by destination id.
type healed struct {
	mu sync.Mutex // held by markHealthy: one health write at a time
	at map[string]time.Time
}

// ConcurrencyWait is about how long a job waits on the queue when its destination has as many
// sends on the wire as its concurrency limit allows (plus up to as much again of jitter).
const ConcurrencyWait = time.Second

// DefaultSendTimeout bounds a send when no destination declares its timeout: the egress
// client's own (30 s).
const DefaultSendTimeout = 30 * time.Second

// SendTimeout is the longest Spec().Timeout of the destinations in r, else DefaultSendTimeout.
func SendTimeout(r *dest.Registry) time.Duration {
	if r != nil {
		if t := r.MaxTimeout(); t > 0 {
			return t
		}
	}
	return DefaultSendTimeout
}

// jobMargin covers a job's bookkeeping around the send: loading the delivery and recording
// the attempt in flight and then its outcome.
const jobMargin = 15 * time.Second

// JobTimeout bounds one delivery job: the batch window, the destination's timeout and the
// bookkeeping around them.
func JobTimeout(batchWindow, sendTimeout time.Duration) time.Duration {
	if sendTimeout <= 0 {
		sendTimeout = DefaultSendTimeout
	}
	return batchWindow + sendTimeout + jobMargin
}

// RescueAfter is River's RescueStuckJobsAfter for Hub: twice the longest job's timeout. A job
// still running then belongs to a worker that crashed or hung, and is retried, so a crash
// delays a delivery by about two minutes rather than River's default hour. Every other job
// kind keeps River's one-minute default timeout, under this bound.
func RescueAfter(batchWindow, sendTimeout time.Duration) time.Duration {
	return 2 * max(JobTimeout(batchWindow, sendTimeout), time.Minute)
}

// NewOutcomes builds the delivery outcome counter (hub_deliveries_total) for Worker.Outcomes.
func NewOutcomes() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hub", Name: "deliveries_total",
		Help: "Delivery outcomes recorded, by destination type, outcome (delivered, retried, dead, skipped, resent_after_crash, waited: put back at the destination's concurrency limit, superseded: a late outcome that left its delivery to a newer write) and reason."},
		[]string{"destination_type", "outcome", "reason"})
}

// Outcome labels of hub_deliveries_total besides the delivery states.
const (
	OutcomeRetried          = "retried"
	OutcomeResentAfterCrash = store.AttemptResentAfterCrash
	// OutcomeWaited counts jobs put back on the queue because their destination was at its
	// concurrency limit (nothing was sent).
	OutcomeWaited = "waited"
	// OutcomeSuperseded counts sends whose outcome came after their delivery had moved on (a
	// replay, an erasure, a later send): recorded on the attempt, not on the delivery
	// (store.Writer.FinishAttempts), and counted here instead of as its delivery's state.
	OutcomeSuperseded = "superseded"
)

// SupersededWords is the sentence the API and the dashboard show on a superseded attempt
// (store.Attempt.Superseded): its outcome is what the platform answered, but the delivery had
// moved on and keeps the newer state.
var SupersededWords = dest.Words{
	EN: "This answer arrived after the delivery had moved on (a replay, an erasure or a later send): it is recorded here and did not change the delivery.",
	PT: "Esta resposta chegou depois que a entrega já tinha mudado (um reenvio, uma exclusão ou um envio mais novo): fica registrada aqui e não alterou a entrega.",
}

// ReasonNotRecorded is the reason when the attempt could not be recorded before sending (the
// store failed), so nothing was sent; the job retries.
const ReasonNotRecorded = "not_recorded"

// NewWorker builds a worker; batchWindow is how long a batch waits for company.
func NewWorker(w Worker, batchWindow time.Duration) *Worker {
	if w.SendTimeout <= 0 {
		w.SendTimeout = SendTimeout(w.Dests)
	}
	w.window = batchWindow
	w.senders = &senders{}
	w.slots = &slots{}
	w.batchers = newBatchers(batchWindow, w.SendTimeout, w.begin)
	if w.Quota != nil {
		w.batchers.quota = w.takeQuota
	}
	w.outcomes = &groupCommit{tx: func(ctx context.Context, fn func(store.Tx) error) error { return w.Store.Tx(ctx, fn) }}
	w.healed = &healed{at: map[string]time.Time{}}
	return &w
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// NextRetry backs off exponentially from 5 s to at most 6 h, with ±20 % jitter so a recovered
// platform is not hit by every retry at once. It counts from the wall clock River schedules by,
// not the worker's Now (a test's or the walkthrough's clock in the past made the retry due at
// once).
func (*Worker) NextRetry(job *river.Job[Args]) time.Time {
	return time.Now().Add(Backoff(attemptOf(job)))
}

// attemptOf is the delivery's attempt number the job is making: River's, plus the attempts
// made before the job was enqueued with fewer than MaxAttempts (a local first attempt, see
// Local), so the backoff goes on from where they left it.
func attemptOf(job *river.Job[Args]) int {
	if job.MaxAttempts <= 0 || job.MaxAttempts >= MaxAttempts {
		return job.Attempt
	}
	return job.Attempt + MaxAttempts - job.MaxAttempts
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

// Timeout bounds one job: a send plus its bookkeeping (JobTimeout).
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return JobTimeout(w.window, w.SendTimeout) }

// errRetry makes River retry the job; the delivery row already says why.
var errRetry = errors.New("delivery: retryable failure")

// Work sends one delivery.
//
// A send is at least once on the wire and once per platform by the event id: before the
// request leaves, the attempt is recorded in flight (with the batch's request id and event
// ids) and the delivery marked in flight, in one transaction. If the outcome is lost after
// that (a crash, a job timeout, a failed write of the outcome), the delivery is still in
// flight when its job runs again (River rescues a crashed worker's job after RescueAfter):
// the lost attempt is closed as resent_after_crash and the new one is a counted resend with
// the same event id, which the platform deduplicates.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	return w.work(ctx, job, nil)
}

// work is Work; carried, when not nil, is the job's DeliveryJob as the transaction that
// planned the delivery wrote and read it (Local.DispatchJobs), used instead of reading it.
// A carried job is used only to send: any other decision (the delivery not pending, the
// destination disabled or unusable, the event too old or held for consent) is taken again on
// a fresh read, and the send's in-flight write is made only if the delivery's row is still as
// planned (begin, store.Tx.UpdateDeliveryIf); when it is not, the job is read again and the
// attempt goes on from there, so nothing written in between is overwritten.
func (w *Worker) work(ctx context.Context, job *river.Job[Args], carried *store.DeliveryJob) error {
	a := job.Args
	dj := carried
	if dj == nil {
		// One statement reads the delivery with everything its event is built from (and the
		// destination's row as it now stands, so a changed setting is seen at once).
		read, err := w.Store.GetDeliveryJob(ctx, a.TenantID, a.DeliveryID)
		if err != nil {
			return fmt.Errorf("delivery: load %s: %w", a.DeliveryID, err)
		}
		dj = &read
	}
	// fresh takes the decision again on the rows as they now stand (carried only).
	fresh := func() error { return w.work(ctx, job, nil) }
	d, ds := dj.Delivery, dj.Destination
	if carried != nil && (d.State != store.DeliveryPending || d.InFlight || a.Replay != 0) {
		return fresh()
	}
	switch d.State {
	case store.DeliveryDelivered, store.DeliverySkipped:
		return nil // never sent twice
	case store.DeliveryDead:
		if a.Replay == 0 {
			return nil
		}
	}
	if d.ErasedAt != nil || (dj.Order != nil && dj.Order.ErasedAt != nil) {
		// The erasure skips what it finds; one that reached the queue anyway (a replay that
		// raced the erasure, a delivery planned for an erased order) is not sent.
		if carried != nil {
			return fresh()
		}
		return w.finish(ctx, ds.Type, d, store.DeliverySkipped, store.ReasonErased, nil)
	}
	if !ds.Enabled {
		if carried != nil {
			return fresh()
		}
		return w.finish(ctx, ds.Type, d, store.DeliverySkipped, "destination_disabled", nil)
	}
	impl, ok := w.Dests.Lookup(ds.Type)
	if !ok {
		if carried != nil {
			return fresh()
		}
		return w.finish(ctx, ds.Type, d, store.DeliveryDead, dest.ReasonInvalidConfig, nil)
	}
	sender, limit, err := w.sender(ds, impl)
	if err != nil {
		if carried != nil {
			return fresh()
		}
		w.Log.Error("delivery: destination settings", "destination_id", ds.ID, "error", err)
		return w.finish(ctx, ds.Type, d, store.DeliveryDead, dest.ReasonInvalidConfig, nil)
	}
	ev, err := w.buildEvent(ctx, *dj, impl.Spec())
	if errors.Is(err, errErased) {
		if carried != nil {
			return fresh()
		}
		return w.finish(ctx, ds.Type, d, store.DeliverySkipped, store.ReasonErased, nil)
	}
	if err != nil {
		return err
	}
	if tooOld(impl.Spec(), ev.EventTime, w.now()) {
		if carried != nil {
			return fresh()
		}
		state := store.DeliverySkipped
		if d.Attempts > 0 || d.InFlight {
			state = store.DeliveryDead // it was tried and ran out of time
		}
		return w.finish(ctx, ds.Type, d, state, dest.ReasonStale, nil)
	}
	if dest.HeldForConsent(impl.Spec(), configOf(ds), ev) {
		if carried != nil {
			return fresh()
		}
		return w.finish(ctx, ds.Type, d, store.DeliverySkipped, dest.ReasonConsentDenied, nil)
	}

	bstate, err := w.Breaker.Allow(ctx, ds.ID)
	if err != nil {
		w.Log.Warn("delivery: breaker state unavailable; sending", "destination_id", ds.ID, "error", err)
	}
	if bstate.State == BreakerOpen {
		return river.JobSnooze(bstate.Wait)
	}

	p := &pending{ev: ev, d: d, replay: a.Replay > 0, carried: carried != nil, low: store.LowPriority(ctx)}
	if a.Replay != 0 && d.DeliveredAt != nil && !d.InFlight {
		// An operator's replay of a delivered event (ReplayOne): the platform has it, so this
		// send repeats it, and is recorded as a resend like a send after a lost outcome.
		p.resend = true
		w.Log.Info("delivery: resending a delivered event on an operator's replay; the platform deduplicates it by event id within its window",
			"delivery_id", d.ID, "destination_id", ds.ID, "destination_type", ds.Type)
	}
	if d.InFlight {
		// The last send's outcome was lost: it may have reached the platform.
		p.resend = true
		at, err := w.Store.ListAttempts(ctx, d.TenantID, d.ID)
		if err != nil {
			return fmt.Errorf("delivery: load attempts: %w", err)
		}
		for _, t := range at {
			if t.Outcome == store.AttemptInFlight {
				p.stale = append(p.stale, t.ID)
			}
		}
		w.Log.Warn("delivery: resending after a lost outcome (crash, timeout or failed write); the platform deduplicates it by event id",
			"delivery_id", d.ID, "destination_id", ds.ID, "destination_type", ds.Type, "lost_attempts", len(p.stale))
	}
	// The destination's concurrency limit: when its sends on the wire are at the limit, the
	// job waits on the queue (a snooze, not an attempt) instead of holding a worker.
	if !w.slots.acquire(ds.ID, limit) {
		w.count(ds.Type, OutcomeWaited, "")
		return river.JobSnooze(ConcurrencyWait + time.Duration(rand.Int64N(int64(ConcurrencyWait))))
	}
	start := w.now()
	res := w.batchers.send(ctx, batchKey{dest: ds.ID, rpm: impl.Spec().RequestsPerMinute}, impl.Spec().MaxBatch, sender, p)
	w.slots.release(ds.ID, limit)
	out, attempt := res.Outcome, res.attempt
	if res.changed {
		// Carried, and the row changed since it was planned (a replay, another run): nothing
		// was recorded or sent; go on from the row as it now stands.
		w.Log.Debug("delivery: carried job's delivery changed since it was planned; reading it", "delivery_id", d.ID)
		return fresh()
	}
	if attempt.ID == "" {
		// Nothing was recorded by this job: either begin failed and nothing was sent, or the
		// job was cancelled while its batch was in the air (then the delivery is in flight and
		// the next run is a resend).
		w.count(ds.Type, OutcomeRetried, out.Reason)
		if out.Reason == dest.ReasonRateLimited && out.RetryAfter > 0 {
			return river.JobSnooze(out.RetryAfter) // the destination's quota: nothing was sent
		}
		w.Log.Warn("delivery: no outcome recorded; retrying", "delivery_id", d.ID, "destination_id", ds.ID, "reason", out.Reason)
		return fmt.Errorf("%w: %s", errRetry, out.Reason)
	}
	lost := d.InFlight // the last send's outcome was lost or unknown
	d = res.d
	if p.resend && lost {
		// An operator's replay of a delivered event is no such failure: the delivery and its
		// attempt record that resend, this counter does not.
		w.count(ds.Type, OutcomeResentAfterCrash, "")
	}
	latency := w.now().Sub(start)
	attempt.HTTPStatus, attempt.LatencyMS, attempt.Outcome, attempt.Code, attempt.Message, attempt.TraceID =
		out.HTTPStatus, latency.Milliseconds(), string(out.Kind), out.Reason, out.Message, out.TraceID
	if out.Code != 0 {
		attempt.Code = fmt.Sprintf("%s (%d)", out.Reason, out.Code)
	}
	d.Attempts++
	switch out.Kind {
	case dest.Delivered:
		if err := w.Breaker.Success(ctx, ds.ID, bstate); err != nil {
			w.Log.Warn("delivery: breaker", "error", err)
		}
		// A success proves the credentials and settings work: clear an earlier unhealthy
		// state (written only when it changes).
		w.markHealthy(ctx, ds)
		// Sent with the platform's test setting (Meta's test_event_code): the platform showed
		// it in its test tool, which is what the setup checklist's "test event" step ticks on.
		w.testAccepted(ctx, ds, impl.Spec())
		// An asynchronous platform's acceptance: its verdict is asked later, by a job
		// inserted with this outcome.
		reason := ""
		args, opts := w.confirmJob(sender, d, out)
		if args != nil {
			reason = acceptedReason(args.RequestID)
		}
		// The identifier keys sent, for the match-quality report: as Send converted the
		// event, else (a sender that does not say) converted again.
		d.Keys = res.keys
		if d.Keys == nil {
			d.Keys = keysOf(sender, ev)
		}
		return w.finishThen(ctx, ds.Type, d, store.DeliveryDelivered, reason, &attempt, args, opts)
	case dest.Retryable:
		if err := w.Breaker.Failure(ctx, ds.ID, bstate); err != nil {
			w.Log.Warn("delivery: breaker", "error", err)
		}
		if job.Attempt >= job.MaxAttempts {
			return w.finish(ctx, ds.Type, d, store.DeliveryDead, "retries_exhausted: "+out.Reason, &attempt)
		}
		// A send that may have reached the platform (no answer in time, the connection lost
		// after the request was written, a 2xx answer Hub could not read) leaves the delivery
		// in flight, as a lost outcome does: the next send is a recorded resend.
		d.InFlight = mayHaveArrived(out)
		if err := w.finish(ctx, ds.Type, d, store.DeliveryRetrying, out.Reason, &attempt); err != nil {
			return err
		}
		if attempt.Superseded {
			return nil // the delivery moved on without this job (a replay's job sends it)
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
			w.forgetHealed(ds.ID) // the next success writes healthy again
		}
		return w.finish(ctx, ds.Type, d, store.DeliveryDead, out.Reason, &attempt)
	}
}

// mayHaveArrived reports whether a retryable outcome leaves it unknown whether the platform got
// the request, so that sending it again is a resend: no answer in time, the connection lost
// after the request may have been written, a 2xx answer Hub could not read (or one without
// this event), the send cancelled mid-request. A request that never left (a refused
// connection, an address egress refuses, a context ended before sending: dest.Outcome.Unsent)
// did not, and neither did one the platform answered with an error (rate_limited,
// server_error, transient).
func mayHaveArrived(out dest.Outcome) bool {
	if out.Kind != dest.Retryable || out.Unsent {
		return false
	}
	switch out.Reason {
	case dest.ReasonTimeout, dest.ReasonNetwork, dest.ReasonMalformedResponse, dest.ReasonCancelled:
		return true
	}
	return false
}

// begin records, in one transaction before the batch's request leaves, the request (its id
// and every event id of the batch) and an attempt in flight for each of its events (request
// id, resend flag), closes the attempts whose outcome was lost, and marks each delivery in
// flight.
//
// A carried item's delivery is written only if its row is still as planned
// (UpdateDeliveryIf); when one is not, the transaction is run again without the carried items,
// which begin returns apart (dropped) to be read again by their jobs: nothing is recorded or
// sent for them. kept is the other items: recorded, or, with an error, not.
func (w *Worker) begin(ctx context.Context, requestID string, items []*pending) (kept, dropped []*pending, err error) {
	err = w.beginTx(ctx, requestID, items)
	if !errors.Is(err, store.ErrChanged) {
		return items, nil, err
	}
	for _, p := range items {
		if p.carried {
			dropped = append(dropped, p)
		} else {
			kept = append(kept, p)
		}
	}
	if len(kept) > 0 {
		err = w.beginTx(ctx, requestID, kept)
	}
	return kept, dropped, err
}

// beginTx is begin's transaction for items.
func (w *Worker) beginTx(ctx context.Context, requestID string, items []*pending) error {
	ids := make([]string, len(items))
	for i, p := range items {
		ids[i] = p.ev.EventID
	}
	now := w.now()
	type rec struct {
		at store.Attempt
		d  store.Delivery
	}
	recs := make([]rec, len(items))
	// A batch of browser events' deliveries only is low priority, as their jobs are; one that
	// carries a purchase is not.
	low := true
	for _, p := range items {
		low = low && p.low
	}
	if low {
		ctx = store.WithLowPriority(ctx)
	}
	err := w.Store.Tx(ctx, func(tx store.Tx) error {
		// The batch's event ids once per tenant (a batch is one destination's, so one
		// tenant's), not on each attempt: n ids, not n².
		recorded := map[string]bool{}
		for _, p := range items {
			if recorded[p.d.TenantID] {
				continue
			}
			recorded[p.d.TenantID] = true
			if err := tx.InsertAttemptRequest(ctx, store.AttemptRequest{TenantID: p.d.TenantID, ID: requestID, At: now, EventIDs: ids}); err != nil {
				return err
			}
		}
		// The batch's attempts and in-flight marks in one call: on PostgreSQL, for a batch of 10
		// or more, a few statements over arrays, not two per event.
		ws := make([]store.AttemptWrite, len(items))
		for i, p := range items {
			for _, id := range p.stale {
				lost := store.Attempt{ID: id, TenantID: p.d.TenantID, Outcome: store.AttemptResentAfterCrash,
					Message: "outcome lost (crash, timeout or failed write); sent again in request " + requestID}
				if err := tx.UpdateAttempt(ctx, lost); err != nil {
					return err
				}
			}
			d := p.d
			d.InFlight, d.UpdatedAt = true, now
			if p.resend {
				d.Resends++
			}
			recs[i] = rec{store.Attempt{ID: store.NewID(), TenantID: p.d.TenantID, DeliveryID: p.d.ID, At: now,
				Outcome: store.AttemptInFlight, Replay: p.replay, RequestID: requestID, Resend: p.resend}, d}
			ws[i] = store.AttemptWrite{Attempt: &recs[i].at, Delivery: d}
			if p.carried {
				ws[i].Was = &p.d
			}
		}
		return tx.BeginAttempts(ctx, ws)
	})
	if errors.Is(err, store.ErrChanged) {
		return err // begin sends the others
	}
	if err != nil {
		w.Log.Warn("delivery: record attempts in flight; not sending", "request_id", requestID, "events", len(items), "error", err)
		return fmt.Errorf("delivery: begin %s: %w", requestID, err)
	}
	for i, p := range items {
		p.attempt, p.d = recs[i].at, recs[i].d
		p.attempt.EventIDs = ids
	}
	return nil
}

func (w *Worker) count(destType, outcome, reason string) {
	if w.Outcomes != nil {
		w.Outcomes.WithLabelValues(destType, outcome, reason).Inc()
	}
}

// finish records the outcome of the attempt recorded in flight (at, when there was one) and
// the delivery's new state in one transaction, which it shares with the outcomes of other jobs
// that finish at the same moment (groupCommit: a batch's jobs all do). If this write fails
// after a send, the delivery stays in flight and the next run is a counted resend; another
// job's failed write never fails this one.
func (w *Worker) finish(ctx context.Context, destType string, d store.Delivery, state store.DeliveryState, reason string, at *store.Attempt) error {
	return w.finishThen(ctx, destType, d, state, reason, at, nil, nil)
}

// finishThen is finish that also inserts the job confirm (with opts) in the same transaction,
// when confirm is not nil: the confirm job of an accepted delivery. A delivery.dead notice
// (PlanDead) is planned in that transaction too. The live view, the counter and the log follow
// the commit, in the job's goroutine.
//
// An outcome whose delivery no longer awaits its attempt (at.Superseded once written: a replay,
// an erasure or a later send moved the row on while this send was on the wire) changed only its
// attempt (store.Writer.FinishAttempts): it plans no notice and no confirm job, publishes no
// live event, and counts as superseded, not as the state it would have written, so nothing the
// newer writer recorded is counted twice.
func (w *Worker) finishThen(ctx context.Context, destType string, d store.Delivery, state store.DeliveryState, reason string, at *store.Attempt,
	confirm *ConfirmArgs, opts *river.InsertOpts) error {
	now := w.now()
	d.State, d.Reason, d.UpdatedAt = state, reason, now
	if state == store.DeliveryDelivered {
		d.DeliveredAt = &now
	}
	switch {
	case state == store.DeliveryRetrying && at != nil && d.InFlight:
		// A retryable outcome that leaves it unknown whether the platform got the send
		// (mayHaveArrived, set by the caller): it stays in flight.
	case at != nil || state != store.DeliveryRetrying && state != store.DeliveryPending:
		d.InFlight = false // an outcome, or a final state: nothing is on the wire for it any more
	}
	row := &store.AttemptWrite{Attempt: at, Delivery: d}
	// then is the outcome's own writes after its rows, when it has any (most have none).
	var then func(ctx context.Context, tx store.Tx) error
	if state == store.DeliveryDead || confirm != nil {
		then = func(ctx context.Context, tx store.Tx) error {
			if at != nil && at.Superseded {
				return nil // the row was not written: nothing follows from it
			}
			if state == store.DeliveryDead {
				if err := PlanDead(ctx, tx, w.Dests, d, now); err != nil {
					return err
				}
			}
			if confirm != nil {
				return tx.Enqueue(ctx, *confirm, opts)
			}
			return nil
		}
	}
	var err error
	if w.outcomes != nil {
		err = w.outcomes.do(ctx, row, then)
	} else { // a Worker not built by NewWorker
		err = w.Store.Tx(ctx, func(tx store.Tx) error {
			if err := tx.FinishAttempts(ctx, []store.AttemptWrite{*row}); err != nil || then == nil {
				return err
			}
			return then(ctx, tx)
		})
	}
	if err != nil {
		return fmt.Errorf("delivery: record %s: %w", d.ID, err)
	}
	if at != nil && at.Superseded {
		w.count(destType, OutcomeSuperseded, reasonOf(reason))
		w.Log.Info("delivery: late outcome recorded on its attempt only; the delivery had moved on (a replay, an erasure or a later send)",
			"delivery_id", d.ID, "attempt_id", at.ID, "destination_id", d.DestinationID, "destination_type", destType, "outcome", at.Outcome)
		return nil
	}
	w.Live.Delivery(d)
	switch state {
	case store.DeliveryDelivered:
		w.count(destType, string(state), "")
	case store.DeliveryRetrying:
		w.count(destType, OutcomeRetried, reason)
	default:
		w.count(destType, string(state), reason)
	}
	level := slog.LevelInfo
	if state == store.DeliveryDead {
		level = slog.LevelWarn // an alert: a conversion the platform will not get without a replay
	}
	w.Log.Log(ctx, level, "delivery", "delivery_id", d.ID, "order_id", d.OrderID, "destination_id", d.DestinationID,
		"destination_type", destType, "state", state, "reason", reason)
	return nil
}

// sender returns the destination bound to the settings of ds's row: decoded, decrypted and
// validated once per version of the row (its config, sealed credentials and type), not per job
// or batch. Each replica keeps its own; every job compares with the row it has just loaded, so
// a change made through any replica is seen at once. Settings the destination refuses give a
// Sender that records invalid_config for every event, as a send would.
func (w *Worker) sender(ds store.Destination, impl dest.Destination) (dest.Sender, int, error) {
	if s, limit, ok := w.senders.get(ds); ok {
		return s, limit, nil
	}
	cfg, creds, err := w.settings(ds)
	if err != nil {
		return nil, 0, err
	}
	s := dest.Prepared(impl, cfg, creds) // a refusal's message has the credentials redacted
	limit := dest.ConcurrencyLimit(impl.Spec(), cfg)
	w.senders.put(ds, s, limit)
	return s, limit, nil
}

// testAccepted records that ds accepted an event sent with its test setting set (a test
// purchase, or the gateway's own test while a test code is on).
func (w *Worker) testAccepted(ctx context.Context, ds store.Destination, spec dest.Spec) {
	ts, ok := spec.TestSetting()
	if !ok {
		return
	}
	if cfg, ok := parseConfig(ds.Config); !ok || cfg.Get(spec, ts.Name) == "" {
		return
	}
	if err := w.Store.SetDestinationTestAccepted(ctx, ds.TenantID, ds.ID, w.now()); err != nil {
		w.Log.Warn("delivery: record the accepted test event", "destination_id", ds.ID, "error", err)
	}
}

// healedFor is how long markHealthy trusts its own write of a destination's health over the
// row a delivery carries: beyond it, a row whose time is earlier than the write (a clock of
// another replica behind this one) is believed again.
const healedFor = time.Minute

// markHealthy writes ds healthy after a delivered event, unless the row it was read from says
// so already, or this worker wrote it healthy since that row's health was written (within
// healedFor). The deliveries of a destination that recovers, or of one not yet checked, all
// carry the row as it was when their group or job read it: each wrote "healthy" again, one
// after the other on the row's lock (bench/ingest with browser events to Meta: 195 such
// writes at a run's start, 5.7 ms each). A health written after this worker's (another
// replica's "unhealthy", an operator's check) is newer than the write, so the next success
// writes healthy again.
func (w *Worker) markHealthy(ctx context.Context, ds store.Destination) {
	if ds.Health.State == "healthy" {
		return
	}
	// The successes of one batch arrive together: the first writes, the others wait for it
	// and then find its write.
	h := w.healed
	h.mu.Lock()
	defer h.mu.Unlock()
	now := w.now()
	if t, ok := h.at[ds.ID]; ok && !ds.Health.CheckedAt.After(t) && now.Sub(t) < healedFor {
		return
	}
	if err := w.Store.SetDestinationHealth(ctx, ds.TenantID, ds.ID, store.DestinationHealth{State: "healthy", CheckedAt: now}); err != nil {
		w.Log.Warn("delivery: destination health", "error", err)
		return
	}
	if len(h.at) >= 1024 {
		clear(h.at)
	}
	h.at[ds.ID] = now
}

// forgetHealed makes the next success of destination id write it healthy.
func (w *Worker) forgetHealed(id string) {
	w.healed.mu.Lock()
	defer w.healed.mu.Unlock()
	delete(w.healed.at, id)
}

// settings decodes a destination's config and decrypts its credentials.
func (w *Worker) settings(ds store.Destination) (dest.Config, dest.Credentials, error) {
	cfg := dest.Config{}
	if len(ds.Config) > 0 {
		if err := json.Unmarshal(ds.Config, &cfg); err != nil {
			return nil, dest.Credentials{}, fmt.Errorf("config: %w", err)
		}
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

// configOf decodes a destination's non-secret settings; a config that is not a JSON object of
// strings is empty (the sender refuses such a destination as invalid_config anyway).
func configOf(ds store.Destination) dest.Config {
	cfg, ok := parseConfig(ds.Config)
	if !ok || cfg == nil {
		return dest.Config{}
	}
	return cfg
}

// buildEvent builds the platform-neutral conversion of a delivery for a destination of spec
// (see Event) from the rows GetDeliveryJob read with it; only a notice's dead delivery, an
// order's history (spec.OrderHistory) and the landing of an order's own click id are read
// apart.
func (w *Worker) buildEvent(ctx context.Context, dj store.DeliveryJob, spec dest.Spec) (dest.Event, error) {
	d := dj.Delivery
	switch {
	case d.SubjectID != "":
		return deadEvent(ctx, w.Store, d, spec)
	case d.TouchpointID != "":
		if dj.Touchpoint == nil {
			return dest.Event{}, fmt.Errorf("delivery: load touchpoint: %w", store.ErrNotFound)
		}
		return touchpointEvent(*dj.Touchpoint, d), nil
	case dj.Order == nil:
		return dest.Event{}, fmt.Errorf("delivery: load order: %w", store.ErrNotFound)
	}
	return orderEvent(ctx, w.Store, *dj.Order, d, spec, &attributed{attr: dj.Attribution, tp: dj.Touchpoint})
}

// attributed is an order's attribution and credited touchpoint, each nil when there is none,
// when they were read with the delivery.
type attributed struct {
	attr *store.Attribution
	tp   *store.Touchpoint
}

// attributionOf returns pre when it was read with the delivery, else reads the order's
// attribution and its touchpoint (nil when there is none, or it was erased).
func attributionOf(ctx context.Context, r EventReader, o store.Order, pre *attributed) (attributed, error) {
	if pre != nil {
		return *pre, nil
	}
	attr, err := r.GetAttribution(ctx, o.TenantID, o.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return attributed{}, nil
	case err != nil:
		return attributed{}, fmt.Errorf("delivery: load attribution: %w", err)
	}
	out := attributed{attr: &attr}
	if attr.TouchpointID != "" {
		tp, err := r.GetTouchpoint(ctx, o.TenantID, attr.TouchpointID)
		switch {
		case err == nil:
			out.tp = &tp
		case !errors.Is(err, store.ErrNotFound): // erased: send what the order has
			return attributed{}, fmt.Errorf("delivery: load touchpoint: %w", err)
		}
	}
	return out, nil
}

// Event builds the platform-neutral conversion of a delivery: from its order (a purchase, a
// refund...), from its touchpoint (a browser event such as a lead) or from the dead delivery a
// delivery.dead notice reports. The worker sends it; the dashboard reads it to say which
// identifiers a platform received.
func Event(ctx context.Context, r EventReader, d store.Delivery) (dest.Event, error) {
	return eventFor(ctx, r, d, dest.Spec{})
}

// eventFor is Event with what spec asks for (the order's history).
func eventFor(ctx context.Context, r EventReader, d store.Delivery, spec dest.Spec) (dest.Event, error) {
	if d.SubjectID != "" {
		return deadEvent(ctx, r, d, spec)
	}
	if d.TouchpointID != "" {
		tp, err := r.GetTouchpoint(ctx, d.TenantID, d.TouchpointID)
		if err != nil {
			return dest.Event{}, fmt.Errorf("delivery: load touchpoint: %w", err)
		}
		return touchpointEvent(tp, d), nil
	}
	o, err := r.GetOrder(ctx, d.TenantID, d.OrderID)
	if err != nil {
		return dest.Event{}, fmt.Errorf("delivery: load order: %w", err)
	}
	return orderEvent(ctx, r, o, d, spec, nil)
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
	// Google's and TikTok's own hashes of the lead, computed at intake by their rules.
	if tp.GoogleEmailHash != "" {
		ev.User.GoogleEmails = []string{tp.GoogleEmailHash}
	}
	if tp.GooglePhoneHash != "" {
		ev.User.GooglePhones = []string{tp.GooglePhoneHash}
	}
	if tp.TikTokPhoneHash != "" {
		ev.User.TikTokPhones = []string{tp.TikTokPhoneHash}
	}
	if tp.VisitorID != "" {
		ev.User.ExternalIDs = []string{tp.VisitorID}
	}
	applyTouchpoint(&ev, tp)
	return ev
}

// orderEvent builds the platform-neutral conversion from the order and its attribution (pre
// when read with the delivery, else read through r).
func orderEvent(ctx context.Context, r EventReader, o store.Order, d store.Delivery, spec dest.Spec, pre *attributed) (dest.Event, error) {
	at := orderEventTime(o)
	_, lifecycle := domain.StatusEvent(statusOf(d.EventName))
	if lifecycle {
		at = o.OccurredAt // the latest event's; the history below dates it exactly
	}
	b, t := o.Buyer, o.Tracking
	ev := dest.Event{
		Name: d.EventName, EventID: d.EventID, EventTime: at,
		User: dest.User{
			FirstName: b.FirstNameHash, LastName: b.LastNameHash, City: b.CityHash, State: b.StateHash,
			Zip: b.ZipHash, Country: b.CountryHash, DateOfBirth: b.DateOfBirthHash, Gender: b.GenderHash,
			ClientIP: b.IP, UserAgent: b.UserAgent,
			FBC: t.FBC, FBP: t.FBP, GCLID: t.GCLID, GBRAID: t.GBRAID, WBRAID: t.WBRAID, TTCLID: t.TTCLID,
		},
		Custom: dest.Custom{ValueMinor: o.AmountMinor, Currency: o.Currency, OrderID: o.ExternalID, ContentType: "product"},
		Order:  dest.Order{Gateway: o.Provider, Status: string(o.Status)},
	}
	if spec.OrderHistory {
		hist, err := r.ListOrderHistory(ctx, o.TenantID, o.ID)
		if err != nil {
			return dest.Event{}, fmt.Errorf("delivery: load order history: %w", err)
		}
		for _, h := range hist {
			if !h.Applied {
				continue
			}
			ev.Order.History = append(ev.Order.History, dest.StatusChange{Status: string(h.Status), NativeStatus: h.NativeStatus, At: h.OccurredAt.UTC()})
			if lifecycle && string(h.Status) == string(statusOf(d.EventName)) {
				ev.EventTime = h.OccurredAt // the change this event reports
			}
		}
	}
	if t.FBCLID != "" {
		// The order carried a click id back (a landing URL, the checkout's tracking parameters):
		// the click happened no later than the order did.
		ev.User.FBCLID, ev.User.FBCLIDAt = t.FBCLID, orderTime(o)
	}
	if b.EmailHash != "" {
		ev.User.Emails = []string{b.EmailHash}
	}
	if b.PhoneHash != "" {
		ev.User.Phones = []string{b.PhoneHash}
	}
	// Google's and TikTok's own hashes, computed at intake by their rules.
	if b.GoogleEmailHash != "" {
		ev.User.GoogleEmails = []string{b.GoogleEmailHash}
	}
	if b.GooglePhoneHash != "" {
		ev.User.GooglePhones = []string{b.GooglePhoneHash}
	}
	ev.User.GoogleFirstName, ev.User.GoogleLastName = b.GoogleFirstNameHash, b.GoogleLastNameHash
	ev.User.GooglePostalCode, ev.User.GoogleRegionCode = b.GooglePostalCode, b.GoogleRegionCode
	if b.TikTokPhoneHash != "" {
		ev.User.TikTokPhones = []string{b.TikTokPhoneHash}
	}
	if b.ExternalID != "" {
		ev.User.NationalIDs = []string{b.ExternalID}
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
	credit, err := attributionOf(ctx, r, o, pre)
	if err != nil {
		return dest.Event{}, err
	}
	// A credited visit whose visitor denied Hub's measurement lends the purchase nothing, as one
	// with consent denied (ingest kept none of its identifiers): a touchpoint stored before ingest
	// stripped a denied analytics signal's identifiers still has them.
	if attr := credit.attr; attr != nil && attr.TouchpointID != "" && (credit.tp == nil || !credit.tp.MeasurementDenied()) {
		if credit.tp != nil {
			applyTouchpoint(&ev, *credit.tp)
		}
		if attr.VisitorID != "" {
			ev.User.ExternalIDs = append(ev.User.ExternalIDs, attr.VisitorID)
		}
	}
	if ev.User.FBC == "" && t.FBCLID != "" && ev.User.FBCLID == t.FBCLID {
		if err := landing(ctx, r, o, &ev); err != nil {
			return dest.Event{}, err
		}
	}
	return ev, nil
}

// clickLookback bounds the search for the landing of an order's click id: Meta's _fbc cookie
// lives 90 days, so an older click would not have been credited by the browser either.
const clickLookback = 90 * 24 * time.Hour

// landing dates the order's fbclid by the earliest touchpoint Hub recorded with it (the visit
// the ad click landed on), when that is earlier than the order: Meta's fbc creation time is when
// the click id was first seen.
func landing(ctx context.Context, r EventReader, o store.Order, ev *dest.Event) error {
	until := ev.User.FBCLIDAt
	tps, err := r.TouchpointsByClickID(ctx, o.TenantID, store.ClickFBCLID, o.Tracking.FBCLID, until.Add(-clickLookback), until, 100)
	if err != nil {
		return fmt.Errorf("delivery: find the landing of the order's click id: %w", err)
	}
	for _, tp := range tps {
		if tp.FBCLID == o.Tracking.FBCLID && !tp.OccurredAt.IsZero() && tp.OccurredAt.Before(ev.User.FBCLIDAt) {
			ev.User.FBCLIDAt = tp.OccurredAt
		}
	}
	return nil
}

// orderTime is the earliest time Hub knows the order existed: its first event, its payment or
// the moment Hub recorded it.
func orderTime(o store.Order) time.Time {
	at := o.CreatedAt
	for _, t := range []time.Time{o.OccurredAt, derefTime(o.PaidAt)} {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// applyTouchpoint gives the event what the click knew: the browser's identifiers beat what the
// gateway saw (the checkout's IP is the gateway's view of the buyer, often the same), and the
// landing page is the event's source URL.
func applyTouchpoint(ev *dest.Event, tp store.Touchpoint) {
	if tp.FBC != "" {
		ev.User.FBC = tp.FBC
	}
	if tp.FBCLID != "" {
		// The credited click's own id, dated by its landing; Meta's destination builds fbc
		// from it when no cookie is known.
		ev.User.FBCLID, ev.User.FBCLIDAt = tp.FBCLID, tp.OccurredAt
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
		ev.Referrer = tp.Referrer
	}
	if c, ok := touchpointConsent(tp); ok {
		ev.Consent = c
	}
	// The click's ids beat the order's, each of its own kind; the order's stay when the click had
	// none. Google's three are kept apart: Google Ads sends one, gclid before gbraid before wbraid
	// (docs/destinations/google-ads.md), so an order's gclid still beats the click's gbraid.
	for _, c := range []struct {
		dst *string
		v   string
	}{
		{&ev.User.GAClientID, tp.GAClientID}, {&ev.User.GASessions, tp.GASessions}, {&ev.User.TTP, tp.TTP}, {&ev.User.TTCLID, tp.TTCLID}, {&ev.User.GCLID, tp.GCLID},
		{&ev.User.GBRAID, tp.GBRAID}, {&ev.User.WBRAID, tp.WBRAID},
	} {
		if c.v != "" {
			*c.dst = c.v
		}
	}
}

// touchpointConsent is the visit's consent for Google's two signals: its own signals when the
// snippet sent any (hub('consent', {...}), Consent Mode v2), else its one consent decision for
// both (the string form, and touchpoints recorded before the signals existed). ok is false
// when nothing is known, so an order keeps what it had.
func touchpointConsent(tp store.Touchpoint) (dest.ConsentSignals, bool) {
	known := func(v string) dest.Consent {
		if c := dest.Consent(v); c == dest.ConsentGranted || c == dest.ConsentDenied {
			return c
		}
		return ""
	}
	if tp.Signals.AdUserData != "" || tp.Signals.AdPersonalization != "" {
		return dest.ConsentSignals{AdUserData: known(tp.Signals.AdUserData), AdPersonalization: known(tp.Signals.AdPersonalization)}, true
	}
	if c := known(tp.Consent); c != "" {
		return dest.AllConsent(c), true
	}
	return dest.ConsentSignals{}, false
}

// takeQuota takes one request from the destination's quota. The bucket holds a fifth of the
// minute's requests and refills the rest over the minute, so no 60-second window exceeds the
// quota. A cache failure lets the request go (Google's 429 is still retried).
func (w *Worker) takeQuota(ctx context.Context, key batchKey) (bool, time.Duration) {
	if key.rpm <= 0 {
		return true, 0
	}
	burst := max(key.rpm/5, 1)
	ok, wait, err := w.Quota.Allow(ctx, "quota:"+key.dest, float64(key.rpm-burst)/60, burst)
	if err != nil {
		w.Log.Warn("delivery: quota unavailable; sending", "destination_id", key.dest, "error", err)
		return true, 0
	}
	if !ok && wait <= 0 {
		wait = time.Second
	}
	return ok, wait
}

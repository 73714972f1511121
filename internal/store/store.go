// Package store owns Hub's domain types and the Store interface every database implementation
// (store/postgres, store/sqlite) satisfies. The conformance suite in store/storetest proves they
// behave the same.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/riverqueue/river"
)

// Errors callers decide on.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflict")
	// ErrChanged is UpdateDeliveryIf's refusal: the row is not as the caller last knew it.
	ErrChanged = errors.New("store: changed since it was read")
	// ErrStorageFailed marks a write the store refused, or that failed, because its storage
	// failed (an I/O error, a full or read-only disk): nothing written since can be trusted to
	// last, so callers must not acknowledge it (answer 503, the client retries).
	ErrStorageFailed = errors.New("store: storage failed")
	// ErrRetryKeyTaken is a transaction's WriteTouchpoints finding, on a store that writes a
	// group's retry keys as new until one is refused (PostgreSQL), a key stored already: the
	// transaction can only roll back, and the store checks the keys of the groups that follow.
	// Tx runs its function once more on it, so its callers see it only if that run fails the
	// same way.
	ErrRetryKeyTaken = errors.New("store: a retry key was stored already; the transaction runs again")
	// ErrInvalidData marks a transaction the database refused for a value it cannot hold (on
	// PostgreSQL a data exception, SQLSTATE class 22: U+0000 in text or jsonb, a number out of
	// range): it fails the same way however often it runs, so callers must not retry it.
	ErrInvalidData = errors.New("store: the database refused a value")
	// ErrOtherSite is ApplyOrderEvent's refusal of an event whose order key names another
	// shop's order (Order.OtherSite): nothing is written, and the caller applies the event
	// under its shop's own key instead (see OrderEvent.Site).
	ErrOtherSite = errors.New("store: the order of that key is another site's")
)

// Store is the whole persistence seam. Reads are tenant-scoped: a row of another tenant is
// ErrNotFound, never visible.
//
// IDs and timestamps: a value passed to a Create/Insert method with an empty ID gets a UUIDv7,
// and a zero CreatedAt (ReceivedAt, At, UpdatedAt) gets the store's clock; those methods return
// the value as stored. Times are stored in UTC with microsecond precision.
type Store interface {
	// Dialect names the implementation: "postgres" or "sqlite".
	Dialect() string
	// Migrate applies the embedded, forward-only migrations (Hub's and River's) under a lock so
	// several replicas can start at once.
	Migrate(ctx context.Context) error
	// MigrationStatus reports whether every embedded migration (Hub's and River's) has been
	// applied.
	MigrationStatus(ctx context.Context) (current bool, err error)
	Ping(ctx context.Context) error
	// Heartbeat records that replica could commit a write at at (readiness): it fails when the
	// database cannot take a write (read-only, disk full).
	Heartbeat(ctx context.Context, replica string, at time.Time) error
	// CompactStats folds the report deltas written since the last call into the kept totals
	// OrderStats and DeliveryStats read, and returns how many it folded. The aggregates are
	// exact without it; compacting keeps them fast. Safe to call from several replicas at once.
	CompactStats(ctx context.Context) (folded int64, err error)
	// Close stops the queue if it is still running (cancelling jobs) and closes the pools.
	Close() error

	// Tx runs fn in one database transaction; jobs enqueued through the Tx commit or roll back
	// with it. fn must use only the Tx it is given (on SQLite the store has a single writer
	// connection, so a write through the Store inside fn would wait for fn to finish). When fn
	// returns ErrRetryKeyTaken (wrapped), Tx rolls back and runs it once more in a new
	// transaction, so fn must have no effect outside the Tx.
	Tx(ctx context.Context, fn func(Tx) error) error

	// Queue is the River client bound to this database.
	Queue() Queue

	Reader
	Writer
	// AdSpend is outside Reader and Writer: no transaction needs it, and its consumers (the
	// spend import, the admin actions, the Campaigns report) declare the part they use.
	AdSpend
	// CampaignReader (money settings, sales per ad, spend per ad) is outside Reader and
	// Writer for the same reason: only the Campaigns report and its settings use it.
	CampaignReader
}

// Tx is a transaction: every write, plus enqueueing jobs atomically with those writes. After a
// method returns an error the transaction may be unusable (PostgreSQL aborts it): return the
// error from fn. On PostgreSQL some writes whose caller needs no answer but their success
// (UpdateDelivery, UpdateAttempt, InsertAttempt, InsertAttemptRequest, SetInboxState,
// MarkDeliveryQueued, PutAttribution, CreateDelivery with TouchpointWritten) are sent with the
// next statement or with the COMMIT, so their failure (store.ErrNotFound included) may be
// returned by a later call, or by Tx itself, and always fails Tx: do not decide anything inside
// fn on their errors.
type Tx interface {
	Reader
	Writer
	// Enqueue inserts a River job in this transaction.
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
	// EnqueueMany inserts River jobs in this transaction in one statement (River's
	// InsertManyTx).
	EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error
	// ListDestinationsLater is ListDestinations in this transaction, issued now and answered
	// by the returned function: on PostgreSQL the read travels with the transaction's next
	// statement that needs an answer (no round trip of its own unless the function is called
	// first); elsewhere it runs at once.
	ListDestinationsLater(ctx context.Context, tenantID string) func() ([]Destination, error)
}

// Queue starts and stops River's workers on the store's database. Jobs are inserted (Tx.Enqueue)
// by an insert-only client that exists from Open; Start builds the working client.
type Queue interface {
	// Start begins working jobs with the given workers and queues (nil queues: the default
	// queue with 10 workers). Call once. ctx bounds only the start-up; Stop ends the work.
	Start(ctx context.Context, workers *river.Workers, queues map[string]river.QueueConfig) error
	// Stop stops fetching new jobs and waits for running ones until ctx is done; then it
	// cancels the running jobs (River's StopAndCancel) and waits for them to return. Stopping a
	// queue that was never started is a no-op.
	Stop(ctx context.Context) error
	// Pending counts jobs that are available, scheduled or retryable (for /metrics).
	Pending(ctx context.Context) (int64, error)
	// Running counts the jobs being worked and, of those, the ones started more than
	// stuckAfter ago (for /metrics).
	Running(ctx context.Context, stuckAfter time.Duration) (running, stuck int64, err error)
}

// Reader holds every tenant-scoped read. Lists without a filter return every row of the
// tenant, newest first (id descending); filtered lists page with After (an id: rows with a
// smaller id) and Limit (default 100, at most 1000).
type Reader interface {
	GetTenant(ctx context.Context, id string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)

	// GetAPIKeyByLookup finds a key by its public lookup prefix (any tenant; the caller
	// then compares the hash in constant time).
	GetAPIKeyByLookup(ctx context.Context, lookup string) (APIKey, error)
	ListAPIKeys(ctx context.Context, tenantID string) ([]APIKey, error)

	GetSource(ctx context.Context, tenantID, id string) (Source, error)
	ListSources(ctx context.Context, tenantID string) ([]Source, error)
	// GetWebhookToken and GetSourceByPublicKey are the two unauthenticated lookups: the
	// gateway's token in a webhook URL (/v1/webhooks/{provider}/{token}; a token selects its
	// source for its own provider only) and the public key in t.js.
	GetWebhookToken(ctx context.Context, provider, token string) (WebhookToken, error)
	GetSourceByPublicKey(ctx context.Context, key string) (Source, error)
	// GetWebhookSource is GetWebhookToken with the token's source and the gateway's secret
	// read in the same statement (the webhook intake's three reads in one round trip);
	// ErrNotFound when the token selects nothing.
	GetWebhookSource(ctx context.Context, provider, token string) (WebhookSource, error)
	// ListWebhookTokens returns a source's gateway tokens ordered by provider.
	ListWebhookTokens(ctx context.Context, tenantID, sourceID string) ([]WebhookToken, error)
	// GetGatewaySecret returns the encrypted secret for one gateway of a source.
	GetGatewaySecret(ctx context.Context, tenantID, sourceID, provider string) (GatewaySecret, error)
	// ListGatewaySecrets returns a source's secrets ordered by provider.
	ListGatewaySecrets(ctx context.Context, tenantID, sourceID string) ([]GatewaySecret, error)

	GetDestination(ctx context.Context, tenantID, id string) (Destination, error)
	ListDestinations(ctx context.Context, tenantID string) ([]Destination, error)

	// GetLinkByCode is unauthenticated (GET /r/{code}).
	GetLinkByCode(ctx context.Context, code string) (Link, error)
	// ListLinks returns a tenant's links, of one source unless sourceID is empty, newest first.
	ListLinks(ctx context.Context, tenantID, sourceID string) ([]Link, error)

	ListTouchpoints(ctx context.Context, f TouchpointFilter) ([]Touchpoint, error)
	GetTouchpoint(ctx context.Context, tenantID, id string) (Touchpoint, error)
	// TouchpointsByVisitor returns a visitor's touchpoints in [since, until], newest first.
	// A zero since or until leaves that end open; limit <= 0 means 100.
	TouchpointsByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, limit int) ([]Touchpoint, error)
	// AdClicksByVisitor returns a visitor's ad clicks in [since, until] (touchpoints whose URL
	// carried a click id, gbraid and wbraid included, utm_source or utm_campaign), newest first, or oldest first when
	// oldestFirst; limit <= 0 means 100. The matcher reads them when fifty later visits
	// without an ad fill TouchpointsByVisitor's answer.
	AdClicksByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, oldestFirst bool, limit int) ([]Touchpoint, error)
	// TouchpointsByClickID finds touchpoints carrying a click id (kind: fbclid, gclid or
	// ttclid; an fbc is looked up by the fbclid it carries), newest first. An unknown kind is
	// an error.
	TouchpointsByClickID(ctx context.Context, tenantID string, kind ClickKind, value string, since, until time.Time, limit int) ([]Touchpoint, error)
	// TouchpointsByNetwork finds touchpoints with the same client IP and user agent, newest first.
	TouchpointsByNetwork(ctx context.Context, tenantID, ip, userAgent string, since, until time.Time, limit int) ([]Touchpoint, error)
	// VisitorsByIdentity returns the visitors seen with a hashed e-mail or phone, most recently
	// seen first.
	VisitorsByIdentity(ctx context.Context, tenantID string, kind IdentityKind, hash string) ([]Identity, error)
	// Lookups runs several of the indexed reads above at once (see Lookup), each answered as
	// its method answers it, and keeps each result in its Lookup: on PostgreSQL pipelined, in
	// one round trip on one connection of the read pool; on SQLite one after another. An
	// error fails the whole call.
	Lookups(ctx context.Context, ls []Lookup) error

	GetInbox(ctx context.Context, tenantID, id string) (InboxEntry, error)
	ListInbox(ctx context.Context, f InboxFilter) ([]InboxEntry, error)

	GetOrder(ctx context.Context, tenantID, id string) (Order, error)
	GetOrderByExternalID(ctx context.Context, tenantID, provider, externalID string) (Order, error)
	// GetOrderAlias returns what PutOrderAlias recorded for the gateway's key alias;
	// ErrNotFound when nothing was.
	GetOrderAlias(ctx context.Context, tenantID, provider, alias string) (OrderAlias, error)
	ListOrders(ctx context.Context, f OrderFilter) ([]Order, error)
	// ListOrderHistory returns an order's events in the order they happened (OccurredAt, then
	// RecordedAt).
	ListOrderHistory(ctx context.Context, tenantID, orderID string) ([]OrderStatusChange, error)
	GetAttribution(ctx context.Context, tenantID, orderID string) (Attribution, error)

	GetDelivery(ctx context.Context, tenantID, id string) (Delivery, error)
	// GetDeliveryJob reads, in one statement, what sending a delivery needs: the delivery,
	// its destination, its order with the order's attribution, and the touchpoint (the
	// delivery's own, or the one the order is attributed to). ErrNotFound when the delivery
	// is not there.
	GetDeliveryJob(ctx context.Context, tenantID, id string) (DeliveryJob, error)
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// ListAttempts returns a delivery's attempts oldest first.
	ListAttempts(ctx context.Context, tenantID, deliveryID string) ([]Attempt, error)

	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// GetUserByEmail finds a dashboard user by e-mail (any tenant: e-mails are unique across
	// tenants, so that logging in needs nothing else); the caller verifies the password.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	GetUser(ctx context.Context, tenantID, id string) (User, error)
	// ListUsers returns a tenant's dashboard users, newest first.
	ListUsers(ctx context.Context, tenantID string) ([]User, error)
	// CountUsers counts the dashboard users of every tenant (zero means first run).
	CountUsers(ctx context.Context) (int, error)
	// GetSession finds a dashboard session by the hash of its token (any tenant), expired or not.
	GetSession(ctx context.Context, id string) (Session, error)

	// OrderStats aggregates the tenant's orders created in [Since, Until] by creation-time
	// bucket, status, provider and currency, in the database: reports read these instead of
	// every order.
	OrderStats(ctx context.Context, f StatsFilter) ([]OrderStatsRow, error)
	// DeliveryStats aggregates the deliveries of the tenant's orders created in [Since, Until]
	// by the bucket of their order's creation time, destination, event, state, reason and
	// whether the order was paid.
	DeliveryStats(ctx context.Context, f StatsFilter) ([]DeliveryStatsRow, error)
	// ListDeliveryGaps lists, oldest order id first, the paid orders created in [Since, Until]
	// whose delivery of EventName to the destination is neither delivered nor skipped: those
	// whose delivery is pending, retrying or dead, and (with Missing) those created at or
	// after MissingSince that have no such delivery at all.
	ListDeliveryGaps(ctx context.Context, f GapFilter) ([]DeliveryGap, error)
	// OrdersByID returns the tenant's orders among ids (any order; ids of other tenants or
	// unknown ids are left out). At most 1000 ids.
	OrdersByID(ctx context.Context, tenantID string, ids []string) ([]Order, error)
	// DeliveriesOfOrders returns the deliveries of the tenant's orders among orderIDs, newest
	// first. At most 1000 ids.
	DeliveriesOfOrders(ctx context.Context, tenantID string, orderIDs []string) ([]Delivery, error)
	// IdentifierCoverage counts the delivered events sent in [Since, Until) (by DeliveredAt)
	// that have their identifier keys recorded, by destination and set of keys. Deliveries sent
	// before keys were recorded are left out.
	IdentifierCoverage(ctx context.Context, f CoverageFilter) ([]KeysCount, error)
	// DedupCoverage counts a destination's Purchases delivered in [Since, Until) (by
	// DeliveredAt), and how many of them have their event id among the Pixel event ids the
	// snippet shared with the browser Pixel (RecordPixelEvents) for the same event name.
	DedupCoverage(ctx context.Context, f DedupFilter) (DedupCount, error)

	AlertReader
}

// Writer holds every write. Writes that must be atomic with others run inside Tx. Updates and
// state changes of a row that does not exist in the tenant return ErrNotFound; a value that
// breaks a uniqueness rule (a tenant id, key lookup, source token or public key, link code)
// returns ErrConflict.
type Writer interface {
	CreateTenant(ctx context.Context, t Tenant) (Tenant, error)
	// CreateFirstTenant creates t and keys (all of t's) in one transaction when the store has
	// no tenant yet, and reports whether it did; when a tenant exists it writes nothing. Replicas
	// that start together on an empty store create exactly one: the others wait for the
	// creator's transaction and then find its tenant (or, when it rolled back, create theirs).
	CreateFirstTenant(ctx context.Context, t Tenant, keys []APIKey) (created bool, err error)
	// SetTenantTimeZone sets the tenant's IANA time zone (the caller validates it).
	SetTenantTimeZone(ctx context.Context, id, timeZone string) error

	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	// RevokeAPIKey sets RevokedAt; revoking twice is not an error (the first time is kept).
	RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	CreateSource(ctx context.Context, s Source) (Source, error)
	// UpdateSource replaces every mutable field (all but ID, TenantID, CreatedAt); a zero
	// UpdatedAt gets the clock.
	UpdateSource(ctx context.Context, s Source) error
	// PutGatewaySecret inserts or replaces the encrypted secret for (source, provider).
	PutGatewaySecret(ctx context.Context, s GatewaySecret) error
	// SwapGatewaySecret replaces a gateway secret's ciphertext with next only if it still is
	// old, and reports whether it did: a re-seal under a new key never undoes a concurrent
	// change of the secret. The secret's UpdatedAt is kept.
	SwapGatewaySecret(ctx context.Context, tenantID, sourceID, provider, old, next string) (bool, error)
	// PutWebhookToken inserts or replaces the token of (source, provider): the previous token
	// selects nothing from then on. The source must be the tenant's (else ErrNotFound).
	PutWebhookToken(ctx context.Context, t WebhookToken) error

	CreateDestination(ctx context.Context, d Destination) (Destination, error)
	// UpdateDestination replaces type, name, config, credentials and enabled.
	UpdateDestination(ctx context.Context, d Destination) error
	SetDestinationHealth(ctx context.Context, tenantID, id string, h DestinationHealth) error
	// SetDestinationTestAccepted records that the platform accepted a test event at at.
	SetDestinationTestAccepted(ctx context.Context, tenantID, id string, at time.Time) error
	// SwapDestinationCredentials is SwapGatewaySecret for a destination's credentials.
	SwapDestinationCredentials(ctx context.Context, tenantID, id, old, next string) (bool, error)

	// CreateLink requires Code.
	CreateLink(ctx context.Context, l Link) (Link, error)

	// InsertTouchpoints appends touchpoints in one statement (an INSERT over arrays on
	// PostgreSQL, one transaction of prepared INSERTs on SQLite) and fills in, on the elements themselves, a missing ID (UUIDv7),
	// ReceivedAt (the clock) and OccurredAt (ReceivedAt). A touchpoint whose
	// ID or (source, client event id) already exists is skipped, so a retried batch never
	// duplicates; inserted counts the new rows.
	InsertTouchpoints(ctx context.Context, tps []Touchpoint) (inserted int, err error)
	// LinkIdentities records that visitors were seen with hashed e-mails/phones
	// (upsert on tenant+kind+hash+visitor, keeping first and last seen).
	LinkIdentities(ctx context.Context, ids []Identity) error
	// WriteTouchpoints is InsertTouchpoints and LinkIdentities in one transaction, with as few
	// round trips as the store allows (one statement on PostgreSQL; called outside a
	// transaction, that statement alone in autocommit, one round trip): the write of an ingest
	// group commit. The same promises hold: repeated touchpoints are skipped, repeated
	// identities (within ids too) are merged.
	WriteTouchpoints(ctx context.Context, tps []Touchpoint, ids []Identity) (inserted int, err error)

	// InsertInbox stores a raw webhook delivery. Called before anything is parsed. A zero
	// State is InboxReceived.
	InsertInbox(ctx context.Context, e InboxEntry) (InboxEntry, error)
	// SetInboxState records the outcome of processing a delivery.
	SetInboxState(ctx context.Context, tenantID, id string, state InboxState, errMsg string, orderID string, at time.Time) error
	// ScrubInbox empties a stored delivery's body, query and headers and stamps its ErasedAt
	// with at, keeping the row (its id, state, order and the history rows that name it): the
	// intake calls it, in the transaction that applies the delivery, for one about an order
	// whose buyer was erased. A delivery scrubbed already keeps its first ErasedAt.
	ScrubInbox(ctx context.Context, tenantID, id string, at time.Time) error
	// SweepInbox hands out deliveries left received (every tenant): up to limit of those
	// received before the time and not handed out yet, oldest first, are marked swept at at and
	// returned in id order. Each delivery is handed out once, also to sweeps running at once:
	// call it in the transaction that enqueues their processing.
	SweepInbox(ctx context.Context, before time.Time, limit int, at time.Time) ([]InboxRef, error)

	// ApplyOrderEvent records one normalised order event idempotently: a repeated event
	// (same order and event key) changes nothing; a status older in the lifecycle than the
	// current one is kept in history but does not roll the order back. PaidAt is set from the
	// first paid event recorded, even a late one. An event whose key names an order of
	// another site (Order.OtherSite(e.Site)) is refused with ErrOtherSite, writing nothing.
	ApplyOrderEvent(ctx context.Context, e OrderEvent) (Order, OrderChange, error)
	// PutOrderAlias records that the gateway's key a.Alias names the order keyed a.ExternalID,
	// whether or not that order exists yet. The first record of an alias is kept: recording it
	// again, to the same order or another, changes nothing. A zero CreatedAt gets the clock.
	PutOrderAlias(ctx context.Context, a OrderAlias) error
	// PutAttribution inserts or replaces the order's attribution and sets Order.Matched.
	PutAttribution(ctx context.Context, a Attribution) error

	// CreateDelivery inserts a delivery unless one exists for (order, touchpoint or subject,
	// event name, destination); the bool says whether it was created, and the existing one is
	// returned when it was not.
	CreateDelivery(ctx context.Context, d Delivery) (Delivery, bool, error)
	// UpdateDelivery records state, reason, attempts and delivered at; a zero UpdatedAt gets
	// the clock. The row then awaits no attempt's outcome: a send in flight for it is
	// superseded (FinishAttempts).
	UpdateDelivery(ctx context.Context, d Delivery) error
	// UpdateDeliveryIf is UpdateDelivery when the row still has was's state, reason, attempts,
	// in-flight flag, resends and UpdatedAt (was: the row as the caller last knew it, e.g. as
	// CreateDelivery returned it); else it writes nothing and fails with ErrChanged, which on
	// PostgreSQL may come from a later call or from Tx (see Tx), and fails the transaction.
	// Written, the row awaits no attempt's outcome, as after UpdateDelivery.
	UpdateDeliveryIf(ctx context.Context, d, was Delivery) error
	// MarkDeliveryQueued clears Local: call it in the transaction that enqueues the
	// delivery's job. A delivery already queued is left as it is (no error).
	MarkDeliveryQueued(ctx context.Context, tenantID, id string) error
	// SweepDeliveries hands out deliveries left without a job (every tenant): up to limit of
	// the Local ones still pending or retrying created (CreatedAt) before the time, oldest
	// first, are marked queued and returned. Each is handed out once, also to sweeps running
	// at once: call it in the transaction that enqueues their jobs.
	SweepDeliveries(ctx context.Context, before time.Time, limit int) ([]DeliveryRef, error)
	InsertAttempt(ctx context.Context, a Attempt) (Attempt, error)
	// InsertAttemptRequest records the event ids of one request (a batch) once, for every
	// attempt it carries: written on each attempt, a batch of n events stored n² ids (a Meta
	// batch holds up to 1,000). A request already recorded for the tenant is left as it is.
	InsertAttemptRequest(ctx context.Context, r AttemptRequest) error
	// UpdateAttempt records the outcome of an attempt inserted in flight (status, latency,
	// outcome, code, message, trace id).
	UpdateAttempt(ctx context.Context, a Attempt) error
	// BeginAttempts records a request's sends before it leaves: for each write, its Attempt
	// (InsertAttempt; a zero ID or At is set in place) and its delivery's row (UpdateDelivery,
	// or with Was UpdateDeliveryIf), which then awaits that attempt's outcome (FinishAttempts)
	// until another write of the row. All or nothing: a guarded row that changed fails it with
	// ErrChanged, an attempt whose delivery is not its tenant's with ErrNotFound. Each delivery
	// appears at most once. On PostgreSQL each kind of write (the attempts, the unguarded rows,
	// the guarded rows) of 10 rows or more is one statement over arrays, where the single calls
	// take one per row.
	BeginAttempts(ctx context.Context, ws []AttemptWrite) error
	// FinishAttempts records sends' outcomes. A write without an Attempt (a decision taken
	// without sending) writes its delivery's row (UpdateDelivery). A write with one records the
	// attempt's outcome (status, latency, outcome, code, message, trace id: what happened on
	// the wire, whatever became of the row since) and writes its delivery's row only while the
	// row still awaits that attempt (BeginAttempts set it, no other write of the row came
	// since); then the row awaits none. When the row does not await it (a replay, an erasure,
	// a later run of the job, or this attempt's own outcome written already moved the row on),
	// the row is left as that newer writer left it and the attempt is recorded superseded
	// (Attempt.Superseded, also set in place on the write's Attempt before FinishAttempts
	// returns, false otherwise): that is no error, and the call's other writes are written as
	// they would be without it, so one stale outcome in a group never costs the others
	// theirs. Every write of a delivery's state other than BeginAttempts leaves the row
	// awaiting no attempt: UpdateDelivery, UpdateDeliveryIf, FinishAttempts, and any store
	// method that sets a delivery's state (an erasure's skip included) must clear it too, or a
	// late outcome overwrites what it wrote. Was is not used. All or nothing otherwise: an
	// attempt that does not exist for its
	// tenant, or a delivery without an attempt that does not, fails it with ErrNotFound. Each
	// delivery appears at most once. On PostgreSQL the rows without an attempt, and the
	// outcomes with their rows, each of 10 rows or more, are one statement over arrays each;
	// the outcomes answer (whether each was superseded), so a call with attempts costs one
	// round trip of its own.
	FinishAttempts(ctx context.Context, ws []AttemptWrite) error

	// InsertAudit records an operator action.
	InsertAudit(ctx context.Context, a AuditEntry) (AuditEntry, error)
	// ErasePerson erases a data subject within the tenant, in one transaction: the hashes given
	// and those linked to them (the other identifiers of the same orders and visitors) lose
	// their identity links, orders (buyer, IP and user agent included) and touchpoints (hashes,
	// IP, user agent; the visits of those orders' visitors and their credited visits too); raw
	// webhooks of those orders, and any raw webhook whose body, query or headers contain one of
	// the person's Forms, are deleted; the Forms are cut out of every touchpoint's URL,
	// referrer, props, name and UTM values and every order's tracking. Every order scrubbed gets
	// ErasedAt, and so does every delivery of those orders and touchpoints and every
	// delivery.dead notice about one of them (Delivery.ErasedAt, a delivered one included);
	// those not delivered also become DeliverySkipped with ReasonErased and not in flight, so
	// nothing more about the person is sent. The audit entry is recorded in the same
	// transaction. The number of statements does not grow with the number of her orders and
	// touchpoints.
	ErasePerson(ctx context.Context, tenantID string, p Person, audit AuditEntry) (ErasureResult, error)
	// DeleteInboxBefore enforces raw-webhook retention (every tenant).
	DeleteInboxBefore(ctx context.Context, before time.Time) (int64, error)
	// RecordPixelEvents records event ids the snippet shared with the browser Pixel; one already
	// recorded (tenant, event name, event id) is kept as it is.
	RecordPixelEvents(ctx context.Context, evs []PixelEvent) error
	// DeleteTouchpointsBefore deletes touchpoints that occurred before the time (every tenant),
	// and the Pixel event ids received before it.
	DeleteTouchpointsBefore(ctx context.Context, before time.Time) (int64, error)
	// DeleteIdentitiesBefore deletes the identity links (hashed e-mail or phone to visitor)
	// last seen before the time (every tenant).
	DeleteIdentitiesBefore(ctx context.Context, before time.Time) (int64, error)
	// PrepareTouchpoints creates the storage touchpoints of the coming days need (PostgreSQL:
	// the day partitions from yesterday to a week ahead, moving any of their rows out of the
	// default partition, and statistics for those from today on that an ANALYZE recorded as
	// empty: analysed again if they hold rows, created again if not; SQLite: nothing) and
	// returns how many partitions it created, again or for the first time.
	PrepareTouchpoints(ctx context.Context, now time.Time) (int, error)
	// ScrubOrderNetworkBefore removes the buyer's IP and user agent from orders created before
	// the time (every tenant) and returns how many orders changed.
	ScrubOrderNetworkBefore(ctx context.Context, before time.Time) (int64, error)

	// CreateUser adds a dashboard user; an e-mail already used (by any tenant) is ErrConflict.
	CreateUser(ctx context.Context, u User) (User, error)
	// CreateFirstUser creates u when no tenant has a dashboard user yet, and reports whether it
	// did; otherwise it writes nothing. Of two first-run claims at once exactly one creates (as
	// CreateFirstTenant).
	CreateFirstUser(ctx context.Context, u User) (User, bool, error)
	// UpdateUser applies a change to a user of the tenant and returns the user as changed. A
	// change that would leave the tenant without an enabled admin is ErrConflict (checked under
	// a lock, so two admins demoting each other cannot both succeed).
	UpdateUser(ctx context.Context, tenantID, id string, c UserChange) (User, error)
	// DeleteUser removes a user of the tenant and its stored sessions; removing the tenant's
	// last enabled admin is ErrConflict.
	DeleteUser(ctx context.Context, tenantID, id string) error
	// DeleteUserSessions removes the stored sessions of a user of the tenant.
	DeleteUserSessions(ctx context.Context, tenantID, userID string) (int64, error)
	// CreateSession stores a dashboard session (ID is the hash of the cookie's token).
	CreateSession(ctx context.Context, s Session) (Session, error)
	// DeleteSession removes a session; removing an absent one is not an error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteSessionsBefore removes sessions that expired before the given time (every tenant).
	DeleteSessionsBefore(ctx context.Context, before time.Time) (int64, error)

	AlertWriter
}

// Option configures a store at Open.
type Option func(*Options)

// Options are the settings Open applies; implementations read them with Apply.
type Options struct {
	// Now is the clock for timestamps the store fills in. Default time.Now.
	Now func() time.Time
	// NewID generates row IDs. Default UUIDv7 strings.
	NewID func() string
	// River adjusts the configuration of both River clients (insert-only and working) before
	// they are built: logger, poll intervals, retry policy, middleware. Workers and Queues are
	// set by Queue.Start.
	River func(*river.Config)
	// MaxConns bounds the PostgreSQL connection pool; 0 keeps the driver's default.
	MaxConns int
	// Logger receives the store's own warnings (SQLite: its storage failing and recovering).
	// Default slog.Default().
	Logger *slog.Logger
	// Orphans puts back the jobs this process's River client fetched but never worked
	// (OrphanRelease); the zero value leaves them to River's rescuer.
	Orphans OrphanRelease
}

// OrphanRelease sets how the working River client's lost fetches are put back. A fetch marks
// its jobs running, attempted by the client, in one statement; when the database crashes after
// committing it but before answering, no worker of the client ever gets those jobs, and River
// rescues them only after RescueStuckJobsAfter. Queue.Start records every fetch a worker of this
// process starts; every Every, a running job whose last attempt is this client's, older than
// After and younger than Within, that no worker started, is made available again. Such a job
// never ran, so this cannot send anything twice.
type OrphanRelease struct {
	// After is how long a fetch has to reach a worker before its jobs count as lost: far longer
	// than River takes to hand fetched jobs to workers (microseconds to milliseconds). Zero
	// disables the release.
	After time.Duration
	// Every is how often the client looks (one indexed query).
	Every time.Duration
	// Within bounds the age of the fetches looked at: older ones are River's rescuer's
	// (RescueStuckJobsAfter). Required with After.
	Within time.Duration
	// Released, when set, is called once per job put back, with the job's kind (metrics).
	Released func(kind string)
}

// WithOrphanRelease enables putting back lost fetches (see OrphanRelease).
func WithOrphanRelease(r OrphanRelease) Option { return func(o *Options) { o.Orphans = r } }

// WithClock sets the clock used for timestamps the store fills in.
func WithClock(now func() time.Time) Option { return func(o *Options) { o.Now = now } }

// WithIDGenerator sets the generator of row IDs.
func WithIDGenerator(newID func() string) Option { return func(o *Options) { o.NewID = newID } }

// WithRiverConfig adjusts River's configuration (see Options.River).
func WithRiverConfig(fn func(*river.Config)) Option { return func(o *Options) { o.River = fn } }

// WithMaxConns bounds the connection pool (PostgreSQL; a pool_max_conns in the URL wins).
func WithMaxConns(n int) Option { return func(o *Options) { o.MaxConns = n } }

// WithLogger sets the logger for the store's own warnings.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// Apply returns the options with defaults filled in.
func Apply(opts ...Option) Options {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = NewID
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Roles for API keys.
const (
	RoleOperator = "operator" // may create tenants
	RoleAdmin    = "admin"
	RoleReadOnly = "read_only"
)

type Tenant struct {
	ID   string
	Name string
	// TimeZone is the IANA zone the dashboard shows times and cuts days in (default
	// DefaultTimeZone).
	TimeZone  string
	CreatedAt time.Time
}

// DefaultTimeZone is a new tenant's time zone: most of Hub's users sell in Brazil.
const DefaultTimeZone = "America/Sao_Paulo"

type APIKey struct {
	ID         string
	TenantID   string
	Name       string
	Role       string
	Lookup     string // public, non-secret prefix used to find the row
	Hash       []byte // SHA-256 of the full key
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Attribution models.
const (
	ModelLastClick  = "last_click"
	ModelFirstClick = "first_click"
)

type Source struct {
	ID        string
	TenantID  string
	Name      string
	PublicKey string // in t.js; identifies the source, not a secret
	// WebhookToken selects nothing: each gateway has its own token (WebhookToken type). It is
	// the token every gateway configured before per-gateway tokens kept (see the migration
	// "webhook tokens per gateway").
	WebhookToken      string
	AllowedOrigins    []string
	AttributionWindow time.Duration
	AttributionModel  string
	CookieDomain      string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// WebhookToken is the secret in one gateway's webhook URL of a source,
// /v1/webhooks/{provider}/{token}: it selects the source for that provider alone, so one
// gateway's leaked URL cannot be used to post another gateway's deliveries. A source has at
// most one per provider; a provider without one is not enabled for the source (404).
type WebhookToken struct {
	Token     string
	TenantID  string
	SourceID  string
	Provider  string
	CreatedAt time.Time
}

// WebhookSource is what a webhook URL selects (Reader.GetWebhookSource): the gateway's token,
// its source, and the gateway's encrypted secret, nil when the source has none for it.
type WebhookSource struct {
	Token  WebhookToken
	Source Source
	Secret *GatewaySecret
}

// GatewaySecret is a gateway's verification secret for one source, encrypted at rest.
type GatewaySecret struct {
	SourceID   string
	TenantID   string
	Provider   string
	Ciphertext string
	UpdatedAt  time.Time
	// Previous is the secret this one replaced, encrypted like Ciphertext (with the same
	// GatewaySecretAD), kept while the gateway may still sign with it: until PreviousUntil.
	// Empty when there is none (webhook.Spec.SecretGrace). Only the intake opens it.
	Previous      string
	PreviousUntil time.Time
}

type DestinationHealth struct {
	State     string // healthy | unhealthy | unknown
	Reason    string
	CheckedAt time.Time
}

type Destination struct {
	ID          string
	TenantID    string
	Type        string // meta, ga4, tiktok, webhook
	Name        string
	Config      json.RawMessage // non-secret settings (pixel id, enabled events, test_event_code)
	Credentials string          // encrypted (pii.Keyring); never returned by the API
	Enabled     bool
	Health      DestinationHealth
	// TestAcceptedAt is when the platform last accepted a test event sent from the dashboard
	// or the API (nil: never), so the setup checklist ticks only after a real test.
	TestAcceptedAt *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Link is a tracking link: GET /r/{code} records a click and redirects to Target.
type Link struct {
	Code      string
	TenantID  string
	SourceID  string
	Target    string
	CreatedAt time.Time
}

// ClickKind names a click identifier.
type ClickKind string

const (
	ClickFBCLID ClickKind = "fbclid"
	ClickGCLID  ClickKind = "gclid"
	ClickTTCLID ClickKind = "ttclid"
)

// UTM is a touchpoint's or an order's campaign parameters (domain.UTM).
type UTM = domain.UTM

// Touchpoint is one thing a visitor did: a page view, click, lead, checkout. Append-only.
type Touchpoint struct {
	ID            string
	TenantID      string
	SourceID      string
	Type          string // page_view, click, lead, initiate_checkout, add_to_cart, identify, custom
	Name          string // custom event name
	ClientEventID string // from the browser; shared with the Meta Pixel as eventID when present
	OccurredAt    time.Time
	ReceivedAt    time.Time
	URL           string
	Referrer      string
	VisitorID     string
	FBCLID        string
	GCLID         string
	// GBRAID and WBRAID are Google's click ids of iOS traffic, taken like GCLID (byte for byte:
	// they are case-sensitive); empty (stored as NULL) when the visit carried none.
	GBRAID     string
	WBRAID     string
	TTCLID     string
	FBC        string
	FBP        string
	GAClientID string
	// GASessions are the visitor's GA4 sessions, domain.GASessions' text form
	// ("QEHZPBE5HH:1757409568").
	GASessions string
	TTP        string
	UTM        UTM
	IP         string
	UserAgent  string
	Consent    string // granted | denied | unknown
	// Signals is the consent per purpose the snippet knew (hub('consent', {...}) or Google
	// Consent Mode v2), each "granted", "denied" or "" (unknown). A touchpoint without any keeps
	// Consent as the one decision for all purposes.
	Signals   ConsentSignals
	EmailHash string // Meta's rules (domain.Normalize)
	PhoneHash string
	// GoogleEmailHash and GooglePhoneHash are the lead's e-mail and phone hashed by Google's
	// rules, TikTokPhoneHash the phone by TikTok's (as store.Buyer's em_google, ph_google,
	// ph_tiktok); empty (stored as NULL) when the event carried none.
	GoogleEmailHash string
	GooglePhoneHash string
	TikTokPhoneHash string
	Bot             bool
	Props           json.RawMessage
}

// ConsentSignals is a visitor's consent per purpose: Google's two advertising signals and
// analytics. Each is "granted", "denied" or "" when unknown.
type ConsentSignals struct {
	AdUserData        string
	AdPersonalization string
	Analytics         string
}

// MeasurementDenied reports whether the visitor denied Hub's own measurement of the visit:
// consent denied (the string form, for every purpose) or the analytics signal denied (the object
// form, Consent Mode's analytics_storage). Hub then keeps none of the visit's identifiers and
// sends the event nowhere (docs/tracking.md, Consent): t.js sends nothing in either case, so
// an event that says so came from another client and gets what the snippet would have given it.
func (tp *Touchpoint) MeasurementDenied() bool {
	return tp.Consent == "denied" || tp.Signals.Analytics == "denied"
}

type TouchpointFilter struct {
	TenantID  string
	SourceID  string
	VisitorID string
	Type      string
	Since     time.Time
	Until     time.Time
	After     string // cursor: touchpoint id; results are ordered by id descending, before After
	Limit     int
}

// IdentityKind is the kind of hashed identifier linked to a visitor.
type IdentityKind string

const (
	IdentityEmail IdentityKind = "em"
	IdentityPhone IdentityKind = "ph"
)

type Identity struct {
	TenantID  string
	Kind      IdentityKind
	Hash      string
	VisitorID string
	FirstSeen time.Time
	LastSeen  time.Time
}

// InboxState is where a raw webhook delivery stands.
type InboxState string

const (
	InboxReceived    InboxState = "received"    // stored, not yet processed
	InboxProcessed   InboxState = "processed"   // produced order events
	InboxDuplicate   InboxState = "duplicate"   // authentic, but already seen
	InboxIgnored     InboxState = "ignored"     // authentic, an event Hub does not use
	InboxUnparseable InboxState = "unparseable" // authentic, but the adapter could not parse it
	InboxRejected    InboxState = "rejected"    // failed the gateway's authenticity check
)

// InboxEntry is a raw webhook delivery exactly as received.
type InboxEntry struct {
	ID          string
	TenantID    string
	SourceID    string
	Provider    string
	ReceivedAt  time.Time
	Headers     map[string]string
	Query       string
	Body        []byte
	State       InboxState
	Error       string
	OrderID     string
	ProcessedAt *time.Time
	// ErasedAt is when the body, query and headers were emptied because the delivery is
	// about an order whose buyer was erased (Writer.ScrubInbox); nil when they are as received.
	ErasedAt *time.Time
}

// DeliveryRef names a delivery, with the attempts it has made.
type DeliveryRef struct {
	TenantID string
	ID       string
	Attempts int
}

// InboxRef names a raw webhook delivery.
type InboxRef struct {
	TenantID string
	ID       string
}

type InboxFilter struct {
	TenantID string
	SourceID string
	Provider string
	State    InboxState
	After    string
	Limit    int
}

type Product struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Quantity   int    `json:"quantity"`
	PriceMinor int64  `json:"price_minor,omitempty"`
}

// Buyer holds what delivery needs about the buyer: identifiers normalised and SHA-256 hashed
// (the raw values live only in the inbox), plus the network identifiers sent unhashed.
type Buyer struct {
	EmailHash     string `json:"em,omitempty"`
	PhoneHash     string `json:"ph,omitempty"`
	FirstNameHash string `json:"fn,omitempty"`
	LastNameHash  string `json:"ln,omitempty"`
	CityHash      string `json:"ct,omitempty"`
	StateHash     string `json:"st,omitempty"`
	ZipHash       string `json:"zp,omitempty"`
	CountryHash   string `json:"country,omitempty"`
	// DateOfBirthHash (YYYYMMDD) and GenderHash (f or m) are hashed by Meta's rules too.
	DateOfBirthHash string `json:"db,omitempty"`
	GenderHash      string `json:"ge,omitempty"`
	// ExternalID is the buyer's hashed national document (CPF/CNPJ). Destinations send it only
	// when the tenant opts in (Meta: send_national_id).
	ExternalID string `json:"external_id,omitempty"`
	// Google and TikTok normalise e-mails and phones differently from Meta, so their hashes are
	// computed at intake beside Meta's, from the raw values (never from Meta's hashes):
	// GoogleEmailHash by domain.GoogleEmail (Gmail dots and +tag removed), GooglePhoneHash by
	// domain.GooglePhone and TikTokPhoneHash by domain.TikTokPhone (both E.164 with the '+').
	// TikTok's e-mail rule is Meta's, so EmailHash serves TikTok.
	GoogleEmailHash string `json:"em_google,omitempty"`
	GooglePhoneHash string `json:"ph_google,omitempty"`
	TikTokPhoneHash string `json:"ph_tiktok,omitempty"`
	// Google's address identifier (Data Manager AddressInfo, GA4 user_data.address): the given
	// and family names hashed by domain.GoogleName, and the postal code and ISO alpha-2 region
	// code kept unhashed, as Google requires (domain.GooglePostalCode, domain.GoogleRegionCode).
	// Each is set only when the gateway sent it.
	GoogleFirstNameHash string `json:"fn_google,omitempty"`
	GoogleLastNameHash  string `json:"ln_google,omitempty"`
	GooglePostalCode    string `json:"zp_google,omitempty"`
	GoogleRegionCode    string `json:"country_google,omitempty"`
	IP                  string `json:"client_ip_address,omitempty"`
	UserAgent           string `json:"client_user_agent,omitempty"`
}

// Tracking is what the gateway carried back from the checkout URL.
type Tracking struct {
	VisitorID string `json:"visitor_id,omitempty"`
	// VisitorIDs are every value that looks like a Hub visitor id, in priority order (a src
	// such as "fb_ads" has the shape of one too); the matcher tries each.
	VisitorIDs        []string `json:"visitor_ids,omitempty"`
	Src               string   `json:"src,omitempty"`
	Sck               string   `json:"sck,omitempty"`
	UTM               UTM      `json:"utm"`
	ClientReferenceID string   `json:"client_reference_id,omitempty"`
	// ClickIDs: fbclid, fbc, fbp, gclid, gbraid, wbraid, ttclid (flat in JSON).
	domain.ClickIDs
	Metadata map[string]string `json:"metadata,omitempty"`
}

// OrderEvent is one normalised gateway event about an order, ready to be applied.
type OrderEvent struct {
	TenantID   string
	SourceID   string
	InboxID    string
	Provider   string
	ExternalID string // the gateway's order/transaction id
	// Site is the shop the order belongs to, for gateways whose order ids are unique within one
	// shop only (webhook.OrderEvent.Site); "" for the others. It is written when the event
	// creates the order, and an event of one site is refused (ErrOtherSite) on an order of
	// another: the intake then keys it by its id and site together.
	Site         string
	EventKey     string // idempotency key of this event within the order
	Status       domain.OrderStatus
	NativeStatus string
	OccurredAt   time.Time
	AmountMinor  int64
	Currency     string
	// RefundedMinor is the amount refunded so far, in minor units of Currency, when the gateway
	// says it (webhook.OrderEvent.RefundedMinor): a refund event with more than the order's
	// refunds so far takes off only the difference. 0 when not carried: a refund then takes
	// the whole order.
	RefundedMinor int64
	Products      []Product
	Buyer         Buyer
	Tracking      Tracking
	ReceivedAt    time.Time
	// NewOrderID is the id the order gets if this event creates it; "" lets the store choose.
	NewOrderID string
	// Attribution, when set, is the attribution of the order this event would create,
	// computed beforehand on NewOrder(e) (its OrderID is NewOrderID). If the event does create
	// the order, ApplyOrderEvent writes the order with its match (Matched, the ad, the click
	// time) in the INSERT itself and the attribution row beside it, and says so
	// (OrderChange.Attributed): a new order is then written once, not inserted and then
	// updated by PutAttribution, which rewrites the row and every index holding its match.
	// Otherwise (the order exists, the event is a duplicate) it is ignored and nothing of it
	// is written. It needs NewOrderID and OccurredAt set.
	Attribution *Attribution
}

// NewOrder is the order e creates if its order is new, as ApplyOrderEvent stores and returns
// it, with e.NewOrderID as its id, except for what the store sets when it writes the row
// (CreatedAt and UpdatedAt, from its clock) and the match (Matched): the order an attribution
// is computed for before it exists (OrderEvent.Attribution). The products, buyer and tracking
// go through JSON as the store keeps them. ok is false when it cannot be told beforehand (no
// OccurredAt: the store dates the order by its own clock) or cannot be encoded.
func NewOrder(e OrderEvent) (o Order, ok bool) {
	if e.OccurredAt.IsZero() {
		return Order{}, false
	}
	occurred := e.OccurredAt.UTC().Truncate(time.Microsecond)
	o = Order{ID: e.NewOrderID, TenantID: e.TenantID, SourceID: e.SourceID, Provider: e.Provider, ExternalID: e.ExternalID,
		Site: e.Site, Status: e.Status, NativeStatus: e.NativeStatus, AmountMinor: e.AmountMinor, Currency: e.Currency, OccurredAt: occurred}
	if e.Status == domain.StatusPaid {
		o.PaidAt = &occurred
	}
	if jsonCopy(e.Products, &o.Products) != nil || jsonCopy(e.Buyer, &o.Buyer) != nil || jsonCopy(e.Tracking, &o.Tracking) != nil {
		return Order{}, false
	}
	return o, true
}

// jsonCopy decodes into dst what encoding src gives, as a round trip through the database does.
func jsonCopy(src, dst any) error {
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

type Order struct {
	ID           string
	TenantID     string
	SourceID     string
	Provider     string
	ExternalID   string
	Status       domain.OrderStatus
	NativeStatus string
	AmountMinor  int64
	Currency     string
	Products     []Product
	Buyer        Buyer
	Tracking     Tracking
	PaidAt       *time.Time // when the gateway says it was paid
	OccurredAt   time.Time  // of the latest applied event
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Matched      bool // has an attribution with a touchpoint
	// Site is the shop the order belongs to (OrderEvent.Site); "" for gateways whose ids are
	// global, and for every order stored before Hub kept sites.
	Site string
	// ReversedMinor is what the order's refunds and chargebacks took off its revenue, less what
	// a won chargeback gave back, in minor units of Currency: the amounts the Campaigns report
	// subtracts. A paid order still brings in AmountMinor - ReversedMinor (NetMinor).
	ReversedMinor int64
	// ErasedAt is when its buyer was erased (Writer.ErasePerson); nil when she never was. Nothing
	// more about an erased order is sent: its deliveries not delivered then were skipped with
	// ReasonErased, and those planned later are created skipped with it.
	ErasedAt *time.Time
}

// NetMinor is what the order still brings in: its amount less what refunds and chargebacks
// took, when it was paid; 0 for an order never paid.
func (o Order) NetMinor() int64 {
	if o.PaidAt == nil {
		return 0
	}
	return o.AmountMinor - o.ReversedMinor
}

// OtherSite reports whether an event of site belongs to another shop's order than o, which
// its key names: both have a site and they differ. An order without one (stored before Hub
// kept sites) or an event without one is taken as the same shop's: nothing tells them apart.
func (o Order) OtherSite(site string) bool {
	return o.Site != "" && site != "" && o.Site != site
}

// OrderAlias is another key a gateway gives one order (webhook.OrderEvent.Aliases): a Stripe
// subscription's order is keyed by its invoice (in_…), while a refund or a dispute of its
// payment names only the PaymentIntent (pi_…) or the Charge (ch_…). It is kept by key, not by
// the order's id, so an alias learned before its order exists counts once the order does.
type OrderAlias struct {
	TenantID   string
	Provider   string
	Alias      string // the other key
	ExternalID string // the key of the order it names (Order.ExternalID)
	CreatedAt  time.Time
}

// OrderChange says what ApplyOrderEvent did.
type OrderChange struct {
	Created       bool
	Duplicate     bool // the same event was applied before; nothing changed
	StatusChanged bool
	Previous      domain.OrderStatus
	// Attributed: the event created the order with its OrderEvent.Attribution, written with it.
	Attributed bool
}

type OrderStatusChange struct {
	OrderID      string
	EventKey     string
	Status       domain.OrderStatus
	NativeStatus string
	OccurredAt   time.Time
	RecordedAt   time.Time
	// Applied is false when the event arrived out of order and did not change the status;
	// a refund that adds to a partially refunded order's refunds is applied too.
	Applied bool
	InboxID string
}

type OrderFilter struct {
	TenantID string
	Status   domain.OrderStatus
	Provider string
	Matched  *bool
	Since    time.Time
	Until    time.Time
	After    string
	Limit    int
	// ExternalID is the gateway's order or transaction id (of any gateway unless Provider is
	// set). EmailHash and PhoneHashes find a buyer's orders by hashed identifier (an order
	// matches any of PhoneHashes); VisitorID the orders attributed to a visitor.
	ExternalID  string
	EmailHash   string
	PhoneHashes []string
	VisitorID   string
}

// Candidate is a touchpoint considered by the matcher and why it lost (or won).
type Candidate struct {
	TouchpointID string    `json:"touchpoint_id"`
	Rule         string    `json:"rule"`
	OccurredAt   time.Time `json:"occurred_at"`
	Outcome      string    `json:"outcome"` // chosen | lost: <reason>
}

type Attribution struct {
	TenantID     string
	OrderID      string
	TouchpointID string // empty for an orphan
	VisitorID    string
	Rule         string // visitor_id, identity, click_id, network, none
	Confidence   float64
	Explanation  string
	Candidates   []Candidate
	// Ad is the ad of the credited click (domain.ParseAdRef of its landing URL and UTMs, or
	// of the order's own tracking when no touchpoint was found) and ClickAt its time; kept
	// here so the Campaigns report reads them after touchpoints are pruned. Ad.Platform is
	// empty and ClickAt nil when no paid click is known.
	Ad        domain.AdRef
	ClickAt   *time.Time
	CreatedAt time.Time
}

// DeliveryState is where one conversion stands for one destination.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryRetrying  DeliveryState = "retrying"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryDead      DeliveryState = "dead"
	DeliverySkipped   DeliveryState = "skipped" // deliberately not sent: stale, no consent, disabled
)

// ReasonErased is the reason of a skipped delivery about a person whose data was erased
// (Writer.ErasePerson): nothing more about her is sent, and no replay sends it.
const ReasonErased = "erased"

// DeliveryJob is a delivery with the rows its send reads (Reader.GetDeliveryJob), as they
// stood at one moment.
type DeliveryJob struct {
	Delivery    Delivery
	Destination Destination
	// Order is the delivery's order; nil when the delivery has none (a touchpoint's event, a
	// delivery.dead notice) or when the row is gone.
	Order *Order
	// Attribution is the order's, with TenantID, OrderID, TouchpointID and VisitorID only;
	// nil when the order is not attributed.
	Attribution *Attribution
	// Touchpoint is the delivery's own touchpoint, else the one the order is attributed to;
	// nil when there is none or it was erased.
	Touchpoint *Touchpoint
}

// Delivery is one conversion for one destination: a purchase (OrderID set) or a browser event
// such as a lead (TouchpointID set).
type Delivery struct {
	ID           string
	TenantID     string
	OrderID      string
	TouchpointID string
	// TouchpointAt is when the delivery's touchpoint occurred, when the caller knows it
	// (delivery.PlanTouchpoints does): CreateDelivery then looks for the touchpoint on that
	// moment only, by its whole key (on PostgreSQL one day's partition, whatever the
	// statistics). Not stored; reads leave it zero.
	TouchpointAt time.Time
	// TouchpointWritten says that the caller wrote the delivery's touchpoint, under the same
	// tenant, in the transaction it creates the delivery in (delivery.PlanTouchpoints after a
	// group's WriteTouchpoints stored every touchpoint of it): CreateDelivery then does not look
	// it up, reports the delivery created, and on PostgreSQL sends its insert with the
	// transaction's next statement, so its failure (the destination not the tenant's, a
	// delivery already there) fails the transaction, like the writes the Tx doc lists. Not
	// stored; reads leave it false.
	TouchpointWritten bool
	// SubjectID is, on a DeliveryDead delivery (a webhook telling the merchant's system that
	// another delivery died), the dead delivery; such a delivery has no order or touchpoint of
	// its own. A delivery belongs to exactly one of OrderID, TouchpointID and SubjectID.
	SubjectID     string
	DestinationID string
	EventName     string // Purchase, Lead, ...
	EventID       string // deterministic; equal to the Pixel's eventID when shared
	State         DeliveryState
	Reason        string
	Attempts      int
	// InFlight is set, in its own transaction, before a send leaves and cleared with its
	// outcome: still set when the job runs again, the last send may have reached the platform.
	InFlight bool
	// Resends counts sends that repeated one whose outcome was lost (a crash, a timeout, a
	// failed write of the outcome); the platform deduplicates them by EventID.
	Resends int
	// Local is set on a delivery whose first attempt runs in the process that committed it
	// (delivery.PlanLocal): no River job was enqueued with it. MarkDeliveryQueued clears it
	// when its job is enqueued; SweepDeliveries hands out those left so after a crash.
	Local       bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeliveredAt *time.Time
	// ErasedAt is when the person the delivery is about (its order's buyer, its visit's
	// visitor, or the person of the delivery a delivery.dead notice is about) was erased
	// (Writer.ErasePerson stamps every such delivery, a delivered one included); nil when she
	// never was. Nothing sends a delivery with ErasedAt again: no replay, not with force, and
	// the worker skips it with ReasonErased. CreateDelivery does not write it: a delivery
	// planned after the erasure of its order is created skipped with ReasonErased instead.
	ErasedAt *time.Time
	// Keys are the identifier keys the delivered event carried (dest.Keys bits), written by
	// UpdateDelivery with the delivered state; nil keeps the stored value. Only
	// IdentifierCoverage reads them: GetDelivery and ListDeliveries leave Keys nil.
	Keys *int64
}

type DeliveryFilter struct {
	TenantID      string
	DestinationID string
	OrderID       string
	State         DeliveryState
	After         string
	Limit         int
}

type Attempt struct {
	ID         string
	TenantID   string
	DeliveryID string
	At         time.Time
	HTTPStatus int
	LatencyMS  int64
	Outcome    string // in_flight | delivered | retryable | permanent | resent_after_crash
	Code       string
	Message    string
	TraceID    string
	Replay     bool
	// RequestID names the request (one batch) that carried the attempt; EventIDs are the
	// event ids of that whole batch. The delivery worker records them once per request
	// (InsertAttemptRequest) and inserts its attempts without them; ListAttempts fills them in
	// from the request. An attempt inserted with EventIDs of its own keeps those.
	RequestID string
	EventIDs  []string
	// Resend marks a send that repeats one whose outcome was lost.
	Resend bool
	// Superseded marks an attempt whose outcome came after its delivery's row had moved on
	// (a replay, an erasure, a later send): the outcome is what the platform answered, but it
	// did not change the delivery (Writer.FinishAttempts). Set by FinishAttempts only.
	Superseded bool
}

// AttemptWrite is one send's rows for BeginAttempts and FinishAttempts: its attempt (nil when
// the outcome has none), its delivery as it is to be written and, for BeginAttempts, the row as
// the caller last knew it when the write must be refused if it changed since.
type AttemptWrite struct {
	Attempt  *Attempt
	Delivery Delivery
	Was      *Delivery
}

// AttemptRequest is one request (a batch) of the delivery worker: its id (the attempts'
// RequestID), when it was recorded, and the event ids it carried.
type AttemptRequest struct {
	TenantID string
	ID       string
	At       time.Time
	EventIDs []string
}

// Attempt outcomes the delivery worker records besides the destination's own.
const (
	// AttemptInFlight: recorded before the request leaves; replaced by the outcome.
	AttemptInFlight = "in_flight"
	// AttemptResentAfterCrash: the outcome of this send was lost (crash, timeout, failed
	// write); the batch may have reached the platform, and a later attempt sent it again.
	AttemptResentAfterCrash = "resent_after_crash"
)

type AuditEntry struct {
	ID       string
	TenantID string
	Actor    string
	Action   string
	Detail   string
	At       time.Time
}

// Person names a data subject to erase: the hashes of the normalised e-mail and phone, and
// the raw spellings searched for in raw text (pii.EmailForms, pii.PhoneForms): lower case,
// matched as substrings, ASCII case-insensitively.
type Person struct {
	EmailHash string
	PhoneHash string
	// PhoneHashes are the other hashes the same phone may be stored under (admin.PhoneHashes:
	// as written, with or without the default calling code), each erased as PhoneHash is.
	PhoneHashes []string
	Forms       []string
}

type ErasureResult struct {
	InboxDeleted      int64
	IdentitiesDeleted int64
	TouchpointsErased int64
	OrdersScrubbed    int64
	// DeliveriesCancelled counts the deliveries about the person that were not delivered
	// (pending, retrying, dead, skipped for another reason, or in flight) and are now skipped
	// with ReasonErased: those of her orders and touchpoints, and the delivery.dead notices
	// about them.
	DeliveriesCancelled int64
	// Hashes are every hashed identifier erased (those given and those linked to them), for
	// the caller to drop from caches keyed on them.
	Hashes []IdentityHash
}

// IdentityHash is one hashed identifier.
type IdentityHash struct {
	Kind IdentityKind
	Hash string
}

type AuditFilter struct {
	TenantID string
	After    string
	Limit    int
}

// User is a person who logs in to the dashboard of one tenant.
type User struct {
	ID           string
	TenantID     string
	Email        string // normalised: trimmed, lower case
	PasswordHash string // argon2id, PHC string format
	// Role is RoleAdmin, RoleOperator or RoleReadOnly (what the dashboard lets the user do);
	// CreateUser makes an empty role admin, as the migration did for existing users.
	Role     string
	Disabled bool
	// SessionsSince ends every session created before it (set when the user is disabled or
	// changes password), whichever backend holds the sessions.
	SessionsSince *time.Time
	// Language is the dashboard language the user chose ("pt-BR" or "en"); "" until one is
	// chosen, when the browser's languages decide.
	Language  string
	CreatedAt time.Time
}

// UserChange is what UpdateUser changes; nil fields stay as they are.
type UserChange struct {
	Role          *string
	Disabled      *bool
	PasswordHash  *string
	SessionsSince *time.Time
	Language      *string
}

// Session is a dashboard login. The cookie carries a random token; only its hash is stored.
type Session struct {
	ID        string // SHA-256 (hex) of the cookie's token
	TenantID  string
	UserID    string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// StatsFilter selects the orders an aggregate covers: the tenant's orders created in [Since,
// Until] (a zero end is open), grouped into time buckets of their creation time. A bucket
// starts at every instant t where t.Unix()+Offset is a multiple of Bucket, so a caller can
// choose buckets that never straddle a local midnight and fold them into days in any zone.
type StatsFilter struct {
	TenantID string
	Since    time.Time
	Until    time.Time
	// Bucket is the width of a bucket, whole seconds (zero: one hour).
	Bucket time.Duration
	// Offset shifts the bucket boundaries, whole seconds in [0, Bucket).
	Offset time.Duration
}

// OrderStatsRow is the orders of one bucket, status, provider and currency.
type OrderStatsRow struct {
	Bucket       time.Time // start of the bucket, UTC
	Status       domain.OrderStatus
	Provider     string
	Currency     string
	Orders       int
	RevenueMinor int64 // sum of the amounts, in Currency
	Paid         int   // orders with PaidAt set
	PaidMatched  int   // paid orders that are Matched
	// NetRevenueMinor is what the paid orders still bring in: the sum of their Order.NetMinor
	// (amounts less what refunds and chargebacks took, a won chargeback given back).
	NetRevenueMinor int64
}

// DeliveryStatsRow counts the deliveries of one bucket (of their order's creation time),
// destination, event, state and reason, of paid or of unpaid orders.
type DeliveryStatsRow struct {
	Bucket        time.Time
	DestinationID string
	EventName     string
	State         DeliveryState
	Reason        string
	PaidOrder     bool
	Deliveries    int
}

// CoverageFilter selects the delivered events IdentifierCoverage counts; DestinationID may be
// empty (every destination).
type CoverageFilter struct {
	TenantID      string
	DestinationID string
	Since         time.Time
	Until         time.Time
}

// PixelEvent is an event id the snippet shared with the browser Pixel (fbq's eventID), under
// the Pixel's event name (Purchase, Lead...). It holds no personal data.
type PixelEvent struct {
	TenantID   string
	SourceID   string
	EventName  string
	EventID    string
	ReceivedAt time.Time
}

// DedupFilter selects the Purchases DedupCoverage counts: one destination's, by event name.
type DedupFilter struct {
	TenantID      string
	DestinationID string
	EventName     string
	Since         time.Time
	Until         time.Time
}

// DedupCount is how many events a destination delivered (Events) and how many of them the
// browser Pixel also received with the same event id (Shared).
type DedupCount struct {
	Events int
	Shared int
}

// KeysCount is how many delivered events of a destination carried exactly the set Keys.
type KeysCount struct {
	DestinationID string
	Keys          int64
	Events        int
}

// GapFilter selects a destination's gaps (see Reader.ListDeliveryGaps), paged by order id
// ascending: After is an order id (rows with a greater id), Limit defaults to 100, at most 1000.
type GapFilter struct {
	TenantID      string
	DestinationID string
	EventName     string
	Since         time.Time
	Until         time.Time
	// Missing also lists paid orders without any delivery of EventName to the destination,
	// created at or after MissingSince (the destination's creation: older orders are not its
	// concern). It reads every paid order of the period, so callers set it only when a count
	// says there are such orders.
	Missing      bool
	MissingSince time.Time
	After        string
	Limit        int
}

// DeliveryGap is a paid order and its delivery to a destination, if any.
type DeliveryGap struct {
	OrderID     string
	Provider    string
	ExternalID  string
	PaidAt      time.Time
	AmountMinor int64
	Currency    string
	CreatedAt   time.Time
	// Delivery is nil when none was ever planned.
	Delivery *Delivery
}

package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

var inboxStates = []string{string(store.InboxReceived), string(store.InboxProcessed), string(store.InboxDuplicate),
	string(store.InboxIgnored), string(store.InboxUnparseable), string(store.InboxRejected)}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "state", "provider", "source_id")
	f := store.InboxFilter{TenantID: p.TenantID, State: store.InboxState(q.oneOf("state", inboxStates...)),
		Provider: q.str("provider"), SourceID: q.str("source_id"), After: q.cursor()}
	limit := q.limit()
	if err := q.err(); err != nil {
		return err
	}
	if err := a.checkSource(r.Context(), p.TenantID, f.SourceID); err != nil {
		return err
	}
	f.Limit = limit + 1
	es, err := a.cfg.Store.ListInbox(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page(es, limit, func(e store.InboxEntry) string { return e.ID },
		func(e store.InboxEntry) Webhook { return webhookView(e, false) }))
	return nil
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request, p principal) error {
	reveal, err := revealPII(r, p)
	if err != nil {
		return err
	}
	e, err := a.cfg.Store.GetInbox(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if reveal {
		a.audit(r, p, "webhook.reveal_pii", "inbox "+e.ID)
	}
	httpx.WriteJSON(w, http.StatusOK, maskedWebhook(e, reveal))
	return nil
}

// Reprocessed is the outcome of reprocessing one stored webhook.
type Reprocessed struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

func (a *API) reprocessWebhook(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	e, err := a.cfg.Store.GetInbox(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if a.cfg.Intake == nil {
		return httpx.NewProblem(http.StatusServiceUnavailable, "webhook processing is not configured")
	}
	res, err := intake.Reprocess(ctx, a.cfg.Store, a.cfg.Intake, p.TenantID, e.ID)
	if err != nil {
		return err
	}
	out := Reprocessed{ID: res.ID, State: string(res.State), Error: res.Error}
	a.audit(r, p, "webhook.reprocess", fmt.Sprintf("inbox %s state %s", e.ID, res.State))
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

type reprocessBody struct {
	Provider string `json:"provider"`
	SourceID string `json:"source_id"`
	Limit    int    `json:"limit"`
}

// ReprocessResult lists what a bulk reprocess did.
type ReprocessResult struct {
	Reprocessed int            `json:"reprocessed"`
	ByState     map[string]int `json:"by_state"`
	Items       []Reprocessed  `json:"items"`
}

// reprocessWebhooks reprocesses the tenant's unparseable webhooks (newest first, up to limit),
// typically after an adapter fix.
func (a *API) reprocessWebhooks(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	var body reprocessBody
	if err := a.decodeOptional(w, r, &body); err != nil {
		return err
	}
	if body.Limit == 0 {
		body.Limit = 100
	}
	if body.Limit < 1 || body.Limit > 1000 {
		return httpx.Invalid(domain.FieldError{Field: "limit", Reason: "must be from 1 to 1000"})
	}
	if err := a.checkSource(ctx, p.TenantID, body.SourceID); err != nil {
		return err
	}
	if a.cfg.Intake == nil {
		return httpx.NewProblem(http.StatusServiceUnavailable, "webhook processing is not configured")
	}
	out := ReprocessResult{ByState: map[string]int{}, Items: []Reprocessed{}}
	_, err := intake.ReprocessUnparseable(ctx, a.cfg.Store, a.cfg.Intake, p.TenantID,
		intake.UnparseableFilter{SourceID: body.SourceID, Provider: body.Provider, Limit: body.Limit},
		func(res intake.Reprocessed, err error) error {
			item := Reprocessed{ID: res.ID, State: string(res.State)}
			if err != nil {
				if errors.Is(err, ctx.Err()) && ctx.Err() != nil {
					return err
				}
				a.cfg.Log.Error("api: reprocess", "inbox_id", res.ID, "error", err.Error())
				item.State, item.Error = "error", "processing failed; see the server log for request "+httpx.RequestID(ctx)
			}
			out.ByState[item.State]++
			out.Items = append(out.Items, item)
			return nil
		})
	if err != nil {
		return err
	}
	out.Reprocessed = len(out.Items)
	a.audit(r, p, "webhook.reprocess_bulk", fmt.Sprintf("%d unparseable webhooks reprocessed", out.Reprocessed))
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// replayOneBody is the optional body of a replay by id: force confirms sending again a
// delivered event past the platform's deduplication window, where it may count twice.
type replayOneBody struct {
	Force bool `json:"force"`
}

func (a *API) replayDelivery(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	var body replayOneBody
	if err := a.decodeOptional(w, r, &body); err != nil {
		return err
	}
	d, err := a.cfg.Store.GetDelivery(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := delivery.ReplayOne(ctx, a.cfg.Store, a.cfg.Dests, p.TenantID, d.ID, a.now(), body.Force)
	if err != nil {
		return err
	}
	if len(res.Skipped) > 0 {
		// Nothing was queued: say why instead of accepting a replay the worker would skip.
		s := res.Skipped[0]
		return httpx.NewProblem(http.StatusConflict, "delivery "+d.ID+" cannot be sent again: "+s.Detail,
			domain.FieldError{Field: "id", Reason: s.Detail})
	}
	a.audit(r, p, "delivery.replay", "delivery "+d.ID+": "+res.Summary())
	httpx.WriteJSON(w, http.StatusAccepted, replayResult(res))
	return nil
}

type replayRangeBody struct {
	Since string `json:"since"`
	Until string `json:"until"`
}

// MaxReplayRange bounds a time-range replay.
const MaxReplayRange = 31 * 24 * time.Hour

// replayRange replays the deliveries of the orders created in [since, until].
func (a *API) replayRange(w http.ResponseWriter, r *http.Request, p principal) error {
	var body replayRangeBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	var errs []domain.FieldError
	fail := func(f, reason string) { errs = append(errs, domain.FieldError{Field: f, Reason: reason}) }
	since := parseTime(body.Since, "since", false, fail)
	until := parseTime(body.Until, "until", true, fail)
	if body.Since == "" {
		fail("since", "required")
	}
	if body.Until == "" {
		fail("until", "required")
	}
	if len(errs) == 0 && !until.After(since) {
		fail("until", "must be after since")
	}
	if len(errs) == 0 && until.Sub(since) > MaxReplayRange {
		fail("until", "the range must be at most 31 days")
	}
	if len(errs) > 0 {
		return httpx.Invalid(errs...)
	}
	res, err := delivery.ReplayRange(r.Context(), a.cfg.Store, a.cfg.Dests, p.TenantID, since, until, a.now())
	if err != nil {
		return err
	}
	a.audit(r, p, "delivery.replay_range", fmt.Sprintf("%s..%s: %s", since.Format(time.RFC3339), until.Format(time.RFC3339), res.Summary()))
	httpx.WriteJSON(w, http.StatusAccepted, replayResult(res))
	return nil
}

type erasureBody struct {
	Email string `json:"email"`
	Phone string `json:"phone"`
	// PhoneCountry is the calling code for a phone given without one (default the API's).
	PhoneCountry string `json:"phone_country"`
}

// ErasureResult counts what a data-subject erasure removed.
type ErasureResult struct {
	AuditID           string `json:"audit_id"`
	InboxDeleted      int64  `json:"inbox_deleted"`
	IdentitiesDeleted int64  `json:"identities_deleted"`
	TouchpointsErased int64  `json:"touchpoints_erased"`
	OrdersScrubbed    int64  `json:"orders_scrubbed"`
	// DeliveriesCancelled counts the deliveries about the person not delivered yet (pending,
	// retrying, dead, in flight) that are now skipped with the reason erased: nothing more
	// about her is sent, and no replay sends them.
	DeliveriesCancelled int64 `json:"deliveries_cancelled"`
}

// erase removes a data subject's raw webhooks, identity links, hashed identifiers, IP and user
// agent, and the e-mail and phone wherever raw text holds them, and skips her deliveries not
// delivered (see store.Reader.ErasePerson), then the identity keys an earlier version's hot
// index may have left in the cache. The e-mail and phone are never stored or logged; the audit
// entry records counts.
func (a *API) erase(w http.ResponseWriter, r *http.Request, p principal) error {
	var body erasureBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	var (
		errs             []domain.FieldError
		person           store.Person
		email, phone, cc = strings.TrimSpace(body.Email), strings.TrimSpace(body.Phone), body.PhoneCountry
	)
	if email == "" && phone == "" {
		errs = append(errs, domain.FieldError{Field: "email", Reason: "give an email, a phone or both"})
	}
	if email != "" {
		h, err := pii.HashEmail(email)
		if err != nil {
			errs = append(errs, domain.FieldError{Field: "email", Reason: "is not a valid e-mail address"})
		}
		person.EmailHash = h
		person.Forms = append(person.Forms, pii.EmailForms(email)...)
	}
	if cc == "" {
		cc = a.cfg.PhoneCountry
	}
	if phone != "" {
		h, err := pii.HashPhone(phone, cc)
		if err != nil {
			errs = append(errs, domain.FieldError{Field: "phone", Reason: "is not a valid phone number"})
		}
		// A phone stored before Hub hashed the snippet's leads with the default calling code
		// (or sent by a gateway without one) has the hash of the number as written.
		person.PhoneHash, person.PhoneHashes = h, admin.PhoneHashes(phone, cc)
		person.Forms = append(person.Forms, pii.PhoneForms(phone, cc)...)
	}
	if len(errs) > 0 {
		return httpx.Invalid(errs...)
	}
	var what []string
	if person.EmailHash != "" {
		what = append(what, "email")
	}
	if person.PhoneHash != "" {
		what = append(what, "phone")
	}
	entry := store.AuditEntry{ID: store.NewID(), TenantID: p.TenantID, Actor: p.actor(), Action: "erasure",
		Detail: "data-subject erasure by " + strings.Join(what, " and "), At: a.now()}
	res, err := a.cfg.Store.ErasePerson(r.Context(), p.TenantID, person, entry)
	if err != nil {
		return err
	}
	if a.cfg.IdentityCache != nil {
		// The store is erased already; a failure here is reported so that the erasure is run
		// again (the store part then finds nothing, the cache keys of the given hashes go).
		if err := ingest.ForgetIdentities(r.Context(), a.cfg.IdentityCache, p.TenantID, res.Hashes); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, ErasureResult{AuditID: entry.ID, InboxDeleted: res.InboxDeleted,
		IdentitiesDeleted: res.IdentitiesDeleted, TouchpointsErased: res.TouchpointsErased, OrdersScrubbed: res.OrdersScrubbed,
		DeliveriesCancelled: res.DeliveriesCancelled})
	return nil
}

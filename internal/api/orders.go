package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/attribution"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/store"
)

// Touchpoint is a touchpoint as the API shows it. Hashed identifiers are reduced to whether
// they are present.
type Touchpoint struct {
	ID            string            `json:"id"`
	SourceID      string            `json:"source_id"`
	Type          string            `json:"type"`
	Name          string            `json:"name,omitempty"`
	ClientEventID string            `json:"client_event_id,omitempty"`
	OccurredAt    time.Time         `json:"occurred_at"`
	ReceivedAt    time.Time         `json:"received_at"`
	URL           string            `json:"url,omitempty"`
	Referrer      string            `json:"referrer,omitempty"`
	VisitorID     string            `json:"visitor_id,omitempty"`
	ClickIDs      map[string]string `json:"click_ids,omitempty"`
	UTM           UTM               `json:"utm"`
	IP            string            `json:"ip,omitempty"`
	UserAgent     string            `json:"user_agent,omitempty"`
	Consent       string            `json:"consent,omitempty"`
	Identified    bool              `json:"identified"`
	Bot           bool              `json:"bot"`
	Props         json.RawMessage   `json:"props,omitempty"`
}

// UTM holds campaign parameters (the stored ones, domain.UTM).
type UTM = domain.UTM

func touchpointView(t store.Touchpoint) Touchpoint {
	v := Touchpoint{ID: t.ID, SourceID: t.SourceID, Type: t.Type, Name: t.Name, ClientEventID: t.ClientEventID,
		OccurredAt: t.OccurredAt, ReceivedAt: t.ReceivedAt, URL: t.URL, Referrer: t.Referrer, VisitorID: t.VisitorID,
		UTM: t.UTM, IP: t.IP, UserAgent: t.UserAgent, Consent: t.Consent,
		Identified: t.EmailHash != "" || t.PhoneHash != "", Bot: t.Bot}
	if len(t.Props) > 0 && json.Valid(t.Props) {
		v.Props = t.Props
	}
	ids := map[string]string{"fbclid": t.FBCLID, "gclid": t.GCLID, "gbraid": t.GBRAID, "wbraid": t.WBRAID, "ttclid": t.TTCLID, "fbc": t.FBC, "fbp": t.FBP,
		"ga_client_id": t.GAClientID, "ga_sessions": t.GASessions, "ttp": t.TTP}
	for k, val := range ids {
		if val == "" {
			delete(ids, k)
		}
	}
	if len(ids) > 0 {
		v.ClickIDs = ids
	}
	return v
}

// checkSource turns a source id given as a filter into 404 when it is not the tenant's.
func (a *API) checkSource(ctx context.Context, tenantID, id string) error {
	if id == "" {
		return nil
	}
	_, err := a.cfg.Store.GetSource(ctx, tenantID, id)
	return err
}

func (a *API) checkDestination(ctx context.Context, tenantID, id string) error {
	if id == "" {
		return nil
	}
	_, err := a.cfg.Store.GetDestination(ctx, tenantID, id)
	return err
}

func (a *API) checkOrder(ctx context.Context, tenantID, id string) error {
	if id == "" {
		return nil
	}
	_, err := a.cfg.Store.GetOrder(ctx, tenantID, id)
	return err
}

func (a *API) listTouchpoints(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "visitor_id", "type", "source_id", "since", "until")
	f := store.TouchpointFilter{TenantID: p.TenantID, VisitorID: q.str("visitor_id"), Type: q.str("type"),
		SourceID: q.str("source_id"), Since: q.time("since", false), Until: q.time("until", true), After: q.cursor()}
	limit := q.limit()
	if err := q.err(); err != nil {
		return err
	}
	if err := a.checkSource(r.Context(), p.TenantID, f.SourceID); err != nil {
		return err
	}
	f.Limit = limit + 1
	ts, err := a.cfg.Store.ListTouchpoints(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page(ts, limit, func(t store.Touchpoint) string { return t.ID }, touchpointView))
	return nil
}

func (a *API) getTouchpoint(w http.ResponseWriter, r *http.Request, p principal) error {
	tp, err := a.cfg.Store.GetTouchpoint(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, touchpointView(tp))
	return nil
}

// Order is an order as the API shows it. The buyer is reduced to which identifiers are known:
// they are hashes, useful to nobody reading them.
type Order struct {
	ID           string `json:"id"`
	SourceID     string `json:"source_id"`
	Provider     string `json:"provider"`
	ExternalID   string `json:"external_id"`
	Status       string `json:"status"`
	NativeStatus string `json:"native_status,omitempty"`
	AmountMinor  int64  `json:"amount_minor"`
	// ReversedMinor is what refunds and chargebacks took off the order (a won chargeback
	// given back); NetRevenueMinor what the order still brings in: the amount less that, 0
	// for an order never paid. The reports count the same (store.Order.NetMinor).
	ReversedMinor   int64           `json:"reversed_minor"`
	NetRevenueMinor int64           `json:"net_revenue_minor"`
	Currency        string          `json:"currency"`
	Products        []store.Product `json:"products"`
	BuyerFields     []string        `json:"buyer_fields"`
	Tracking        store.Tracking  `json:"tracking"`
	Matched         bool            `json:"matched"`
	PaidAt          *time.Time      `json:"paid_at,omitempty"`
	OccurredAt      time.Time       `json:"occurred_at"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	// ErasedAt is when the buyer's data was erased (POST /erasure): nothing more about the
	// order is sent, and its deliveries are never replayed.
	ErasedAt *time.Time `json:"erased_at,omitempty"`
}

func orderView(o store.Order) Order {
	v := Order{ID: o.ID, SourceID: o.SourceID, Provider: o.Provider, ExternalID: o.ExternalID, Status: string(o.Status),
		NativeStatus: o.NativeStatus, AmountMinor: o.AmountMinor, ReversedMinor: o.ReversedMinor, NetRevenueMinor: o.NetMinor(),
		Currency: o.Currency, Products: o.Products,
		Tracking: o.Tracking, Matched: o.Matched, PaidAt: o.PaidAt, OccurredAt: o.OccurredAt, CreatedAt: o.CreatedAt,
		UpdatedAt: o.UpdatedAt, BuyerFields: buyerFields(o.Buyer), ErasedAt: o.ErasedAt}
	if v.Products == nil {
		v.Products = []store.Product{}
	}
	return v
}

func buyerFields(b store.Buyer) []string {
	out := []string{}
	for _, f := range []struct {
		name string
		set  bool
	}{{"em", b.EmailHash != ""}, {"ph", b.PhoneHash != ""}, {"fn", b.FirstNameHash != ""}, {"ln", b.LastNameHash != ""},
		{"ct", b.CityHash != ""}, {"st", b.StateHash != ""}, {"zp", b.ZipHash != ""}, {"country", b.CountryHash != ""},
		{"db", b.DateOfBirthHash != ""}, {"ge", b.GenderHash != ""}, {"external_id", b.ExternalID != ""}, {"client_ip_address", b.IP != ""}, {"client_user_agent", b.UserAgent != ""}} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

var orderStatuses = []string{string(domain.StatusWaitingPayment), string(domain.StatusRefused), string(domain.StatusCancelled),
	string(domain.StatusPaid), string(domain.StatusRefunded), string(domain.StatusChargeback), string(domain.StatusChargebackWon)}

// orderFilter reads the order filters shared by the list and the CSV export.
func orderFilter(q *query, tenantID string) store.OrderFilter {
	return store.OrderFilter{TenantID: tenantID, Status: domain.OrderStatus(q.oneOf("status", orderStatuses...)),
		Provider: q.str("provider"), Matched: q.boolPtr("matched"), Since: q.time("since", false), Until: q.time("until", true)}
}

func (a *API) listOrders(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "status", "provider", "matched", "since", "until", "external_id", "visitor_id")
	f := orderFilter(q, p.TenantID)
	f.ExternalID, f.VisitorID = q.str("external_id"), q.str("visitor_id")
	f.After = q.cursor()
	limit := q.limit()
	if err := q.err(); err != nil {
		return err
	}
	f.Limit = limit + 1
	os, err := a.cfg.Store.ListOrders(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page(os, limit, func(o store.Order) string { return o.ID }, orderView))
	return nil
}

// orderSearchBody finds orders by what an integrator knows. The e-mail and phone travel in the
// body, not the URL (which proxies and load balancers log), and are hashed on the way in.
type orderSearchBody struct {
	ExternalID   string `json:"external_id"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	PhoneCountry string `json:"phone_country"`
	VisitorID    string `json:"visitor_id"`
	Provider     string `json:"provider"`
	Limit        int    `json:"limit"`
	Cursor       string `json:"cursor"`
}

// searchOrders answers POST /orders/search: the orders matching every field given.
func (a *API) searchOrders(w http.ResponseWriter, r *http.Request, p principal) error {
	var body orderSearchBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	s := admin.OrderSearch{ExternalID: body.ExternalID, Email: body.Email, Phone: body.Phone, PhoneCountry: body.PhoneCountry, VisitorID: body.VisitorID}
	if s.PhoneCountry == "" {
		s.PhoneCountry = a.cfg.PhoneCountry
	}
	if s.Empty() {
		return httpx.Invalid(domain.FieldError{Field: "external_id", Reason: "give an external_id, email, phone or visitor_id"})
	}
	limit := body.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	var errs []domain.FieldError
	if limit < 1 || limit > MaxLimit {
		errs = append(errs, domain.FieldError{Field: "limit", Reason: "must be an integer from 1 to " + strconv.Itoa(MaxLimit)})
	}
	if len(body.Cursor) > 128 {
		errs = append(errs, domain.FieldError{Field: "cursor", Reason: "is not a cursor returned by this API"})
	}
	f, err := s.Filter(p.TenantID)
	var ve *admin.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			errs = append(errs, domain.FieldError{Field: fe.Field, Reason: fe.Reason})
		}
	}
	if len(errs) > 0 {
		return httpx.Invalid(errs...)
	}
	f.Provider, f.After, f.Limit = strings.TrimSpace(body.Provider), body.Cursor, limit+1
	os, err := a.cfg.Store.ListOrders(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page(os, limit, func(o store.Order) string { return o.ID }, orderView))
	return nil
}

// OrderDetail is an order with everything that happened to it.
type OrderDetail struct {
	Order
	History     []StatusChange `json:"history"`
	Attribution *Attribution   `json:"attribution"`
	Deliveries  []Delivery     `json:"deliveries"`
	Webhooks    []Webhook      `json:"webhooks"`
}

// StatusChange is one gateway event in an order's history.
type StatusChange struct {
	EventKey     string    `json:"event_key"`
	Status       string    `json:"status"`
	NativeStatus string    `json:"native_status,omitempty"`
	OccurredAt   time.Time `json:"occurred_at"`
	RecordedAt   time.Time `json:"recorded_at"`
	Applied      bool      `json:"applied"`
	InboxID      string    `json:"inbox_id,omitempty"`
}

// Attribution explains which touchpoint an order was matched to, and why.
type Attribution struct {
	TouchpointID string  `json:"touchpoint_id,omitempty"`
	VisitorID    string  `json:"visitor_id,omitempty"`
	Rule         string  `json:"rule"`
	Confidence   float64 `json:"confidence"`
	// Explanation says it in English sentences (the API's language): which ad click got the
	// credit and why, with its date in the tenant's time zone, or why none did and what would
	// have matched. It is written when the order is read, so it names no ids or raw timestamps
	// and follows the tenant's zone.
	Explanation string            `json:"explanation"`
	Candidates  []store.Candidate `json:"candidates"`
	CreatedAt   time.Time         `json:"created_at"`
	// Touchpoint is the chosen touchpoint, when it still exists.
	Touchpoint *Touchpoint `json:"touchpoint,omitempty"`
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	reveal, err := revealPII(r, p)
	if err != nil {
		return err
	}
	o, err := a.cfg.Store.GetOrder(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := OrderDetail{Order: orderView(o), History: []StatusChange{}, Deliveries: []Delivery{}, Webhooks: []Webhook{}}
	hist, err := a.cfg.Store.ListOrderHistory(ctx, p.TenantID, o.ID)
	if err != nil {
		return err
	}
	inboxIDs := []string{}
	seen := map[string]bool{}
	for _, h := range hist {
		out.History = append(out.History, StatusChange{EventKey: h.EventKey, Status: string(h.Status), NativeStatus: h.NativeStatus,
			OccurredAt: h.OccurredAt, RecordedAt: h.RecordedAt, Applied: h.Applied, InboxID: h.InboxID})
		if h.InboxID != "" && !seen[h.InboxID] {
			seen[h.InboxID] = true
			inboxIDs = append(inboxIDs, h.InboxID)
		}
	}
	for _, id := range inboxIDs {
		e, err := a.cfg.Store.GetInbox(ctx, p.TenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // past retention, or erased
		}
		if err != nil {
			return err
		}
		if reveal {
			a.audit(r, p, "webhook.reveal_pii", "inbox "+e.ID+" of order "+o.ID)
		}
		out.Webhooks = append(out.Webhooks, maskedWebhook(e, reveal))
	}
	at, err := a.cfg.Store.GetAttribution(ctx, p.TenantID, o.ID)
	switch {
	case err == nil:
		cands := at.Candidates
		if cands == nil {
			cands = []store.Candidate{}
		}
		out.Attribution = &Attribution{TouchpointID: at.TouchpointID, VisitorID: at.VisitorID, Rule: at.Rule,
			Confidence: at.Confidence, Explanation: at.Explanation, Candidates: cands, CreatedAt: at.CreatedAt}
		var chosen *store.Touchpoint
		if at.TouchpointID != "" {
			tp, err := a.cfg.Store.GetTouchpoint(ctx, p.TenantID, at.TouchpointID)
			switch {
			case err == nil:
				v := touchpointView(tp)
				out.Attribution.Touchpoint, chosen = &v, &tp
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		if out.Attribution.Explanation, err = a.explain(ctx, p.TenantID, o, at, chosen); err != nil {
			return err
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	ds, err := a.cfg.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: p.TenantID, OrderID: o.ID, Limit: 1000})
	if err != nil {
		return err
	}
	for _, d := range ds {
		v, err := a.deliveryWithAttempts(ctx, d)
		if err != nil {
			return err
		}
		out.Deliveries = append(out.Deliveries, v)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// Delivery is one conversion for one destination; Attempts only in details.
type Delivery struct {
	ID            string `json:"id"`
	OrderID       string `json:"order_id"`
	DestinationID string `json:"destination_id"`
	EventName     string `json:"event_name"`
	EventID       string `json:"event_id"`
	State         string `json:"state"`
	Reason        string `json:"reason,omitempty"`
	Attempts      int    `json:"attempts"`
	// InFlight: a send is on the wire (or its outcome was lost or left unknown, a timeout, and
	// the next send is a resend).
	InFlight bool `json:"in_flight"`
	// Resends counts sends repeated after a lost outcome (same event id: deduplicated).
	Resends     int        `json:"resends"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// ErasedAt is when the person the delivery is about was erased (POST /erasure), on the
	// deliveries that existed then: it is never sent again, not even by a forced replay. A
	// delivered one stays delivered. One planned later is skipped with the reason erased.
	ErasedAt *time.Time `json:"erased_at,omitempty"`
	// ReasonText says the reason in a sentence, by language (en, pt-BR), for the reasons that
	// need one besides their code: erased.
	ReasonText map[string]string `json:"reason_text,omitempty"`
	AttemptLog []Attempt         `json:"attempt_log,omitempty"`
}

// reasonTexts are the sentences of Delivery.ReasonText, by reason code and language (Languages).
var reasonTexts = map[string]map[string]string{
	store.ReasonErased: {
		"en":    "This person's data was erased, so nothing more about them is sent to any destination; this delivery was not sent, and no replay sends it.",
		"pt-BR": "Os dados desta pessoa foram apagados, então nada mais sobre ela é enviado a nenhum destino; esta entrega não foi enviada, e nenhum reenvio a envia.",
	},
}

// Attempt is one try at sending a delivery.
type Attempt struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	HTTPStatus int       `json:"http_status,omitempty"`
	LatencyMS  int64     `json:"latency_ms"`
	Outcome    string    `json:"outcome"`
	Code       string    `json:"code,omitempty"`
	Message    string    `json:"message,omitempty"`
	TraceID    string    `json:"trace_id,omitempty"`
	Replay     bool      `json:"replay"`
	// RequestID and EventIDs name the request (a batch) that carried the attempt.
	RequestID string   `json:"request_id,omitempty"`
	EventIDs  []string `json:"event_ids,omitempty"`
	// Resend: this send repeated one whose outcome was lost.
	Resend bool `json:"resend"`
	// Superseded: this outcome arrived after the delivery had moved on (a replay, an erasure,
	// a later send); it is what the platform answered, but did not change the delivery. Text
	// says so in a sentence, by language, on a superseded attempt only.
	Superseded bool              `json:"superseded"`
	Text       map[string]string `json:"text,omitempty"`
}

func deliveryView(d store.Delivery) Delivery {
	return Delivery{ID: d.ID, OrderID: d.OrderID, DestinationID: d.DestinationID, EventName: d.EventName, EventID: d.EventID,
		State: string(d.State), Reason: d.Reason, Attempts: d.Attempts, InFlight: d.InFlight, Resends: d.Resends,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, DeliveredAt: d.DeliveredAt, ErasedAt: d.ErasedAt, ReasonText: reasonTexts[d.Reason]}
}

func (a *API) deliveryWithAttempts(ctx context.Context, d store.Delivery) (Delivery, error) {
	v := deliveryView(d)
	at, err := a.cfg.Store.ListAttempts(ctx, d.TenantID, d.ID)
	if err != nil {
		return Delivery{}, err
	}
	v.AttemptLog = make([]Attempt, 0, len(at))
	for _, t := range at {
		a := Attempt{ID: t.ID, At: t.At, HTTPStatus: t.HTTPStatus, LatencyMS: t.LatencyMS,
			Outcome: t.Outcome, Code: t.Code, Message: t.Message, TraceID: t.TraceID, Replay: t.Replay,
			RequestID: t.RequestID, EventIDs: t.EventIDs, Resend: t.Resend, Superseded: t.Superseded}
		if t.Superseded {
			a.Text = map[string]string{"en": delivery.SupersededWords.EN, "pt-BR": delivery.SupersededWords.PT}
		}
		v.AttemptLog = append(v.AttemptLog, a)
	}
	return v, nil
}

var deliveryStates = []string{string(store.DeliveryPending), string(store.DeliveryRetrying), string(store.DeliveryDelivered),
	string(store.DeliveryDead), string(store.DeliverySkipped)}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "state", "destination_id", "order_id")
	f := store.DeliveryFilter{TenantID: p.TenantID, State: store.DeliveryState(q.oneOf("state", deliveryStates...)),
		DestinationID: q.str("destination_id"), OrderID: q.str("order_id"), After: q.cursor()}
	limit := q.limit()
	if err := q.err(); err != nil {
		return err
	}
	ctx := r.Context()
	if err := errors.Join(a.checkDestination(ctx, p.TenantID, f.DestinationID), a.checkOrder(ctx, p.TenantID, f.OrderID)); err != nil {
		return err
	}
	f.Limit = limit + 1
	ds, err := a.cfg.Store.ListDeliveries(ctx, f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page(ds, limit, func(d store.Delivery) string { return d.ID }, deliveryView))
	return nil
}

func (a *API) getDelivery(w http.ResponseWriter, r *http.Request, p principal) error {
	d, err := a.cfg.Store.GetDelivery(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := a.deliveryWithAttempts(r.Context(), d)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// Webhook is a raw webhook delivery from the inbox. The headers, query and body are shown only
// in details, masked (see maskedWebhook): the gateway's secret always, personal data unless an
// admin asked for it with ?reveal=pii. The stored delivery itself stays byte for byte, unless it
// is about a buyer whose data was erased (ErasedAt).
type Webhook struct {
	ID          string            `json:"id"`
	SourceID    string            `json:"source_id"`
	Provider    string            `json:"provider"`
	ReceivedAt  time.Time         `json:"received_at"`
	State       string            `json:"state"`
	Error       string            `json:"error,omitempty"`
	OrderID     string            `json:"order_id,omitempty"`
	ProcessedAt *time.Time        `json:"processed_at,omitempty"`
	Size        int               `json:"size"`
	Headers     map[string]string `json:"headers,omitempty"`
	Query       string            `json:"query,omitempty"`
	Body        *string           `json:"body,omitempty"`
	// BodyEncoding is "text" or, for a body that is not UTF-8, "base64".
	BodyEncoding string `json:"body_encoding,omitempty"`
	// ErasedAt is when the headers, query and body were removed because the webhook is about
	// an order whose buyer's data was erased (it arrived after the erasure: a refund, a
	// chargeback, a resend); ErasedText says so in a sentence, by language (en, pt-BR).
	ErasedAt   *time.Time        `json:"erased_at,omitempty"`
	ErasedText map[string]string `json:"erased_text,omitempty"`
}

// erasedWebhookText is Webhook.ErasedText, by language (Languages).
var erasedWebhookText = map[string]string{
	"en":    "This webhook is about a person whose data was erased, so its headers, query and body were removed once it had updated the order's status and amounts; nothing about them is kept.",
	"pt-BR": "Este webhook é de uma pessoa cujos dados foram apagados, então os cabeçalhos, a consulta e o corpo recebidos foram removidos depois de atualizar o status e os valores do pedido; nada sobre ela é guardado.",
}

// webhookView shows e; with detail, e's headers, query and body must already be masked.
func webhookView(e store.InboxEntry, detail bool) Webhook {
	v := Webhook{ID: e.ID, SourceID: e.SourceID, Provider: e.Provider, ReceivedAt: e.ReceivedAt, State: string(e.State),
		Error: e.Error, OrderID: e.OrderID, ProcessedAt: e.ProcessedAt, Size: len(e.Body), ErasedAt: e.ErasedAt}
	if e.ErasedAt != nil {
		v.ErasedText = erasedWebhookText
	}
	if detail {
		v.Headers, v.Query = e.Headers, e.Query
		body, enc := string(e.Body), "text"
		if !utf8.Valid(e.Body) {
			body, enc = base64.StdEncoding.EncodeToString(e.Body), "base64"
		}
		v.Body, v.BodyEncoding = &body, enc
	}
	return v
}

// explain writes an attribution in words (attribution.Describe) for the tenant's time zone,
// after checking which of the order's visitor-id-shaped values are Hub visitors (src=fb_ads
// has the shape of one but is a campaign label).
func (a *API) explain(ctx context.Context, tenantID string, o store.Order, at store.Attribution, chosen *store.Touchpoint) (string, error) {
	t, err := a.cfg.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	loc := time.UTC
	if t.TimeZone != "" {
		if l, err := time.LoadLocation(t.TimeZone); err == nil {
			loc = l
		}
	}
	var known map[string]bool
	if at.TouchpointID == "" {
		ids := o.Tracking.VisitorIDs
		if len(ids) == 0 && o.Tracking.VisitorID != "" {
			ids = []string{o.Tracking.VisitorID}
		}
		known = map[string]bool{}
		for _, id := range ids[:min(len(ids), 8)] {
			tps, err := a.cfg.Store.TouchpointsByVisitor(ctx, tenantID, id, time.Time{}, o.CreatedAt.Add(24*time.Hour), 1)
			if err != nil {
				return "", err
			}
			known[id] = len(tps) > 0
		}
	}
	return attribution.Describe(o, at, chosen, known, loc), nil
}

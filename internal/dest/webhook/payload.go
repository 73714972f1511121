package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/hubtrack/hub/internal/dest"
)

// Version is the payload schema's version, sent as "version". A change that removes or renames
// a field gets a new version; new fields may appear within one.
const Version = 1

// payload is what Hub posts, one event per request. docs/destinations/webhooks.md documents it
// field by field.
type payload struct {
	Type      string `json:"type"`
	Version   int    `json:"version"`
	ID        string `json:"id"`        // the event id, the same on every retry and replay
	Timestamp string `json:"timestamp"` // when the conversion happened, RFC 3339 UTC
	Data      data   `json:"data"`
}

type data struct {
	OrderID     string       `json:"order_id,omitempty"`
	Gateway     string       `json:"gateway,omitempty"`
	Status      string       `json:"status,omitempty"`
	History     []change     `json:"status_history,omitempty"`
	AmountMinor *int64       `json:"amount_minor,omitempty"`
	Currency    string       `json:"currency,omitempty"`
	Items       []item       `json:"items,omitempty"`
	PageURL     string       `json:"page_url,omitempty"`
	Attribution *attribution `json:"attribution,omitempty"`
	Buyer       *buyer       `json:"buyer,omitempty"`
	Delivery    *delivery    `json:"delivery,omitempty"`
	Alert       *alert       `json:"alert,omitempty"`
}

// alert is the operational alert an alert.raised or alert.resolved event reports.
type alert struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	State       string            `json:"state"`
	Subject     string            `json:"subject"`
	SubjectName string            `json:"subject_name,omitempty"`
	Detail      string            `json:"detail,omitempty"`
	RaisedAt    string            `json:"raised_at"`
	ResolvedAt  string            `json:"resolved_at,omitempty"`
	Text        map[string]string `json:"text"`
}

// change is one status the order went through.
type change struct {
	Status       string `json:"status"`
	NativeStatus string `json:"native_status,omitempty"`
	At           string `json:"at"`
}

// delivery is the dead delivery a delivery.dead event reports.
type delivery struct {
	ID              string `json:"id"`
	DestinationID   string `json:"destination_id"`
	DestinationType string `json:"destination_type"`
	DestinationName string `json:"destination_name,omitempty"`
	EventName       string `json:"event_name"`
	EventID         string `json:"event_id"`
	Reason          string `json:"reason"`
	Attempts        int    `json:"attempts"`
	DiedAt          string `json:"died_at"`
}

type item struct {
	ID             string `json:"id"`
	Quantity       int    `json:"quantity"`
	UnitPriceMinor int64  `json:"unit_price_minor,omitempty"`
}

// attribution holds the campaign (the UTM parameters of the page the conversion is credited
// to) and the click identifiers.
type attribution struct {
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	UTMTerm     string `json:"utm_term,omitempty"`
	UTMContent  string `json:"utm_content,omitempty"`
	FBCLID      string `json:"fbclid,omitempty"`
	FBC         string `json:"fbc,omitempty"`
	FBP         string `json:"fbp,omitempty"`
	GCLID       string `json:"gclid,omitempty"`
	GBRAID      string `json:"gbraid,omitempty"`
	WBRAID      string `json:"wbraid,omitempty"`
	TTCLID      string `json:"ttclid,omitempty"`
	TTP         string `json:"ttp,omitempty"`
	GAClientID  string `json:"ga_client_id,omitempty"`
}

// buyer is sent only with include_pii. Hub keeps e-mails and phones only as SHA-256 hashes
// (Meta's normalisation), so that is what it can send.
type buyer struct {
	EmailSHA256 []string `json:"email_sha256,omitempty"`
	PhoneSHA256 []string `json:"phone_sha256,omitempty"`
	ExternalIDs []string `json:"external_ids,omitempty"`
	IP          string   `json:"ip,omitempty"`
	UserAgent   string   `json:"user_agent,omitempty"`
}

// Build implements dest.Destination: the body Send posts for its one event.
func (w *Webhook) Build(cfg dest.Config, events []dest.Event) ([]byte, error) {
	if len(events) > MaxBatch {
		return nil, fmt.Errorf("webhook: build %d events: %w", len(events), dest.ErrBatchTooLarge)
	}
	if len(events) == 0 {
		return nil, errors.New("webhook: build: no event")
	}
	if err := w.ValidateConfig(cfg); err != nil {
		return nil, err
	}
	body, ee := build(cfg.Get(spec, SettingIncludePII) == "true", 0, events[0])
	if ee != nil {
		return nil, ee
	}
	return body, nil
}

// build returns the JSON body of e, or its refusal.
func build(includePII bool, i int, e dest.Event) ([]byte, *dest.EventError) {
	refuse := func(detail string) ([]byte, *dest.EventError) {
		return nil, &dest.EventError{Index: i, EventID: e.EventID, Reason: dest.ReasonInvalidEvent, Detail: detail}
	}
	typ, ok := eventType(e.Name)
	if e.Test {
		typ, ok = TypeTest, true
	}
	switch {
	case !ok:
		return refuse(fmt.Sprintf("webhook: no webhook type for the event %q (%s)", e.Name, eventsHelp))
	case e.EventID == "":
		return refuse("webhook: the event has no id")
	case e.EventTime.IsZero():
		return refuse("webhook: the event has no time")
	case e.Custom.ValueMinor < 0:
		return refuse("webhook: negative value")
	case typ == "delivery.dead" && e.Dead == nil:
		return refuse("webhook: a delivery.dead event without the delivery it reports")
	case (typ == "alert.raised" || typ == "alert.resolved") && e.Alert == nil:
		return refuse("webhook: an " + typ + " event without the alert it reports")
	}
	p := payload{Type: typ, Version: Version, ID: e.EventID, Timestamp: e.EventTime.UTC().Format(time.RFC3339), Data: data{
		OrderID: e.Custom.OrderID, PageURL: e.EventSourceURL, Gateway: e.Order.Gateway, Status: e.Order.Status,
	}}
	if (typ == "order.paid" || typ == TypeTest) && p.Data.Status == "" {
		p.Data.Status = "paid"
	}
	for _, h := range e.Order.History {
		p.Data.History = append(p.Data.History, change{Status: h.Status, NativeStatus: h.NativeStatus, At: h.At.UTC().Format(time.RFC3339)})
	}
	if d := e.Dead; d != nil && typ == "delivery.dead" {
		p.Data.Delivery = &delivery{ID: d.DeliveryID, DestinationID: d.DestinationID, DestinationType: d.DestinationType,
			DestinationName: d.DestinationName, EventName: d.EventName, EventID: d.EventID, Reason: d.Reason, Attempts: d.Attempts,
			DiedAt: d.DiedAt.UTC().Format(time.RFC3339)}
	}
	if a := e.Alert; a != nil && (typ == "alert.raised" || typ == "alert.resolved") {
		p.Data.Alert = &alert{ID: a.ID, Kind: a.Kind, State: a.State, Subject: a.Subject, SubjectName: a.SubjectName,
			Detail: a.Detail, RaisedAt: a.RaisedAt.UTC().Format(time.RFC3339), Text: a.Text}
		if a.ResolvedAt != nil {
			p.Data.Alert.ResolvedAt = a.ResolvedAt.UTC().Format(time.RFC3339)
		}
	}
	if e.Custom.Currency != "" {
		v := e.Custom.ValueMinor
		p.Data.AmountMinor, p.Data.Currency = &v, e.Custom.Currency
	}
	for _, c := range e.Custom.Contents {
		p.Data.Items = append(p.Data.Items, item{ID: c.ID, Quantity: c.Quantity, UnitPriceMinor: c.ItemPriceMinor})
	}
	u := e.User
	a := attribution{FBCLID: u.FBCLID, FBC: u.FBC, FBP: u.FBP, GCLID: u.GCLID, GBRAID: u.GBRAID, WBRAID: u.WBRAID,
		TTCLID: u.TTCLID, TTP: u.TTP, GAClientID: u.GAClientID}
	if pu, err := url.Parse(e.EventSourceURL); err == nil && e.EventSourceURL != "" {
		q := pu.Query()
		a.UTMSource, a.UTMMedium, a.UTMCampaign = q.Get("utm_source"), q.Get("utm_medium"), q.Get("utm_campaign")
		a.UTMTerm, a.UTMContent = q.Get("utm_term"), q.Get("utm_content")
	}
	if a != (attribution{}) {
		p.Data.Attribution = &a
	}
	if includePII {
		b := buyer{EmailSHA256: hashes(u.Emails), PhoneSHA256: hashes(u.Phones), ExternalIDs: u.ExternalIDs,
			IP: u.ClientIP, UserAgent: u.UserAgent}
		if len(b.EmailSHA256)+len(b.PhoneSHA256)+len(b.ExternalIDs) > 0 || b.IP != "" || b.UserAgent != "" {
			p.Data.Buyer = &b
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs keep their & as is
	if err := enc.Encode(p); err != nil {
		return refuse("webhook: encode: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// hashes keeps the values that are SHA-256 hex, as the store keeps them: a raw value (which
// dest.User should never hold) is left out rather than sent in the clear.
func hashes(vs []string) []string {
	var out []string
	for _, v := range vs {
		if sha256Hex.MatchString(v) {
			out = append(out, v)
		}
	}
	return out
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9_:\-]{1,200}$`)

// messageID is the webhook-id of an event: its event id, the delivery's idempotency key, the same
// on every retry and replay. Standard Webhooks forbids '.' in it (the signed content joins id,
// timestamp and body with dots), so an event id with other characters is replaced by a digest
// of itself, as stable.
func messageID(eventID string) string {
	if safeID.MatchString(eventID) {
		return eventID
	}
	sum := sha256.Sum256([]byte(eventID))
	return "evt_" + hex.EncodeToString(sum[:20])
}

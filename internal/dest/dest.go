// Package dest owns the destination seam: the platform-neutral conversion event, the Destination
// interface every ad platform adapter implements, its typed per-event outcomes and the explicit
// registry. Destinations build payloads, send them and classify the answer; they do no database
// I/O, so the delivery worker owns all state (attempts, retries, dead letters).
package dest

import (
	"context"
	"time"
)

// Destination is one ad or analytics platform. Implementations are safe for concurrent use.
type Destination interface {
	// Type is the registry key, e.g. "meta". It never changes once released.
	Type() string
	// Spec declares the destination's settings and limits, once, for validation, API, UI and docs.
	Spec() Spec
	// ValidateConfig checks the non-secret settings against the spec and the platform's formats.
	// Errors are *ConfigError, listing each field at fault.
	ValidateConfig(cfg Config) error
	// Build returns the exact request body Send would post for events. It is pure and
	// deterministic (the same input gives the same bytes) and never contains credentials. It
	// refuses events the platform would refuse (stale, invalid) with *EventError values joined.
	Build(cfg Config, events []Event) ([]byte, error)
	// Prepare checks the settings and credentials once (ValidateConfig, CheckCredentials and
	// whatever the destination derives from them: endpoint, flags) and returns the destination
	// bound to them. The delivery worker keeps one Sender per version of a destination's row, so
	// batches re-validate and re-decrypt nothing. Errors are *ConfigError or a plain error
	// saying what is wrong; neither quotes a secret.
	Prepare(cfg Config, creds Credentials) (Sender, error)
	// Send is Prepare then Sender.Send, for one-off sends (a test event): a settings problem
	// is an invalid_config Outcome for every event, without a request.
	Send(ctx context.Context, cfg Config, creds Credentials, events []Event) (BatchResult, error)
}

// Sender is a destination bound to one version of its settings and credentials. It is safe
// for concurrent use.
type Sender interface {
	// Send delivers a batch of at most Spec().MaxBatch events and returns one Outcome per
	// event, in the order given. What the platform or the network says is always an Outcome,
	// never an error; the error is only for a batch the caller should not have built
	// (ErrBatchTooLarge). Send does not filter events by name: the one event filter
	// (EventEnabled) runs when deliveries are planned.
	Send(ctx context.Context, events []Event) (BatchResult, error)
}

// Refusing is the Sender of settings that Prepare refused: every event gets a permanent
// invalid_config outcome with err's message, and nothing is sent.
func Refusing(err error) Sender { return refusing{err} }

type refusing struct{ err error }

func (r refusing) Send(_ context.Context, events []Event) (BatchResult, error) {
	res := BatchResult{Outcomes: make([]Outcome, len(events))}
	for i, e := range events {
		res.Outcomes[i] = Outcome{EventID: e.EventID, Kind: Permanent, Reason: ReasonInvalidConfig, Message: r.err.Error()}
	}
	return res, nil
}

// ActionSource says where the conversion happened, with Meta's values (the widest set; other
// platforms map from it).
type ActionSource string

// Action sources (Meta server-event parameters).
const (
	ActionWebsite           ActionSource = "website"
	ActionApp               ActionSource = "app"
	ActionEmail             ActionSource = "email"
	ActionPhoneCall         ActionSource = "phone_call"
	ActionChat              ActionSource = "chat"
	ActionPhysicalStore     ActionSource = "physical_store"
	ActionSystemGenerated   ActionSource = "system_generated"
	ActionBusinessMessaging ActionSource = "business_messaging"
	ActionOther             ActionSource = "other"
)

// Event is one conversion to send, platform-neutral.
type Event struct {
	// Name is a standard event name (domain.EventPurchase, ...) or a custom one.
	Name string
	// EventID is the deduplication key, deterministic and chosen by the caller (for a webhook
	// purchase, an id the thank-you page pixel also knows, e.g. the gateway transaction id).
	EventID string
	// EventTime is when the conversion happened (UTC). Platforms refuse old events.
	EventTime time.Time
	// ActionSource may be left empty: each destination then derives it (Meta: "website" when
	// EventSourceURL and User.UserAgent are known, else "other").
	ActionSource ActionSource
	// EventSourceURL is the page where the event happened, when there was a web visit.
	EventSourceURL string
	// Referrer is the page that led to EventSourceURL, when Hub saw the visit (TikTok sends it).
	Referrer string
	User     User
	Custom   Custom
	// Consent is the visitor's consent per purpose as Hub stored it with the credited visit
	// (the snippet's hub('consent', ...) or Google Consent Mode v2): each signal is
	// ConsentGranted, ConsentDenied, or empty when unknown.
	Consent ConsentSignals
	// Order is the order's lifecycle (gateway, status, history) for the destinations whose
	// Spec asks for it (OrderHistory: the webhook); zero for browser events.
	Order Order
	// Dead describes the delivery a DeliveryDead event reports; nil for every other event.
	Dead *DeadDelivery
	// Alert describes the alert an AlertRaised or AlertResolved event reports; nil otherwise.
	Alert *AlertNotice
	// Test marks the one event a test send (the API's or the dashboard's Test action) builds.
	// A destination without a test setting marks it in what it sends (the webhook's type
	// "test"), so the receiver never counts it as a conversion.
	Test bool
}

// Order is an order's lifecycle as a destination may report it.
type Order struct {
	Gateway string // the gateway's name (hotmart)
	Status  string // Hub's order status now (domain.OrderStatus)
	// History holds the order's status changes, oldest first; only destinations whose Spec
	// sets OrderHistory get it.
	History []StatusChange
}

// StatusChange is one status an order went through.
type StatusChange struct {
	Status       string // Hub's status
	NativeStatus string // the gateway's own word for it
	At           time.Time
}

// DeadDelivery is the delivery a DeliveryDead event reports.
type DeadDelivery struct {
	DeliveryID      string
	DestinationID   string
	DestinationType string
	DestinationName string
	EventName       string
	EventID         string
	Reason          string
	Attempts        int
	DiedAt          time.Time
}

// AlertNotice is the operational alert (package alert) an AlertRaised or AlertResolved event
// reports.
type AlertNotice struct {
	ID          string
	Kind        string // store.Alert* kinds: destination_unhealthy, delivered_share, ...
	State       string // raised | resolved
	Subject     string
	SubjectName string
	Detail      string
	RaisedAt    time.Time
	ResolvedAt  *time.Time
	// Text is the alert's sentence by language ("en", "pt-BR"), in the tenant's time zone.
	Text map[string]string
}

// Consent is a stored consent decision.
type Consent string

// Consent values; the empty Consent is unknown.
const (
	ConsentGranted Consent = "granted"
	ConsentDenied  Consent = "denied"
)

// ConsentSignals is a visitor's consent for Google's two advertising purposes, each its own
// signal (Consent Mode v2): AdUserData is consent to send the visitor's data to Google for
// advertising, AdPersonalization consent to personalised advertising.
type ConsentSignals struct {
	AdUserData        Consent
	AdPersonalization Consent
}

// AllConsent is the same decision for every signal (the string form hub('consent', 'granted')).
func AllConsent(c Consent) ConsentSignals {
	return ConsentSignals{AdUserData: c, AdPersonalization: c}
}

// User identifies the buyer. The personal keys hold lowercase hex SHA-256 values of the data
// normalised by Meta's rules (package pii); the store keeps e-mails and phones only in that form.
// Destinations pass a value that already is a SHA-256 hex through as is and hash anything else
// with pii.Hash, so a raw value never leaves Hub in the clear; values that do not normalise are
// left out.
//
// Google normalises e-mails and phones differently (Gmail dots, E.164 with '+'), so Google's
// destinations read GoogleEmails and GooglePhones, computed at intake by Google's rules, and
// never Emails or Phones when those are hashes (a Meta-normalised hash is not Google's). TikTok
// reads TikTokPhones for the same reason (E.164 with '+').
type User struct {
	Emails      []string // em
	Phones      []string // ph, digits only with the country code
	FirstName   string   // fn
	LastName    string   // ln
	City        string   // ct
	State       string   // st
	Zip         string   // zp
	Country     string   // country
	DateOfBirth string   // db
	Gender      string   // ge
	ExternalIDs []string // external_id, e.g. a CRM or visitor id; identical to the pixel's
	// NationalIDs are the buyer's national document numbers (Brazil's CPF/CNPJ), hashed. They
	// are personal data the tenant may not want to share: a destination sends them (Meta: as
	// external_id) only when its settings opt in.
	NationalIDs []string
	// GoogleEmails and GooglePhones are SHA-256 hex values of the e-mails and phones normalised
	// by Google's rules (domain.GoogleEmail, domain.GooglePhone: Gmail dots and +tag removed,
	// E.164 with the '+'); a value that is not a hash is normalised and hashed by the
	// destination.
	GoogleEmails []string
	GooglePhones []string
	// TikTokPhones are SHA-256 hex values of the phones normalised by TikTok's rule
	// (domain.TikTokPhone: E.164 with the '+'), computed at intake; TikTok's e-mail rule is
	// Meta's, so its destination reads Emails. A value that is not a hash is normalised and
	// hashed by the destination.
	TikTokPhones []string
	// GoogleFirstName and GoogleLastName are SHA-256 hex values of the names normalised by
	// Google's rule (domain.GoogleName), computed at intake; GooglePostalCode and
	// GoogleRegionCode (ISO 3166-1 alpha-2, uppercase) are plain, as Google's address
	// identifier requires. Empty when the gateway did not send them.
	GoogleFirstName  string
	GoogleLastName   string
	GooglePostalCode string
	GoogleRegionCode string

	// Sent unhashed, byte for byte.
	ClientIP  string // IPv4 or IPv6
	UserAgent string
	FBC       string // Meta _fbc cookie as the browser or the gateway carried it
	FBP       string // Meta _fbp cookie
	// FBCLID is Meta's click id when no _fbc cookie is known, and FBCLIDAt the earliest time
	// Hub knows the click happened (the landing's time, else the order's); Meta's destination
	// builds fbc from them. Both are sent byte for byte: the fbclid is case-sensitive.
	FBCLID     string
	FBCLIDAt   time.Time
	GAClientID string // GA4 client id, from the _ga cookie ("<random>.<first seen>", domain.GAClientID)
	// GASessions holds the visitor's GA4 sessions by container (the _ga_<container> cookies), in
	// domain.GASessions' text form ("QEHZPBE5HH:1757409568"); the GA4 destination picks its
	// measurement id's.
	GASessions string
	TTP        string // TikTok _ttp cookie (tiktok)
	TTCLID     string // TikTok click id (tiktok)
	// GCLID, GBRAID and WBRAID are Google's click ids: the gclid, and the ids a click from iOS
	// carries instead (Google: gbraid for clicks tied to app conversions, wbraid to web
	// conversions). Each is the credited click's, else the order's; Google Ads sends one of them.
	GCLID  string
	GBRAID string
	WBRAID string
}

// Custom holds the commercial details.
type Custom struct {
	// ValueMinor is the value in minor units of Currency (19700 = BRL 197.00). Never negative:
	// refunds are not sent as negative purchases.
	ValueMinor int64
	// Currency is the ISO 4217 code, upper case. Empty means the event has no value.
	Currency    string
	OrderID     string
	ContentIDs  []string
	ContentType string // "product" or "product_group"; empty to omit
	Contents    []Content
	NumItems    int
}

// Content is one line item.
type Content struct {
	ID             string
	Quantity       int
	ItemPriceMinor int64 // in minor units of Custom.Currency; 0 to omit
}

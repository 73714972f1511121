package ga4

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
)

// The Measurement Protocol request body (protocols-destinations.md §2.2). Field order is fixed
// by the structs, so the bytes are deterministic. The API secret travels in the query string of
// the request to Google, never here.
type payload struct {
	ClientID        string    `json:"client_id"`
	TimestampMicros int64     `json:"timestamp_micros"`
	Consent         *consent  `json:"consent,omitempty"`
	UserData        *userData `json:"user_data,omitempty"`
	Events          []event   `json:"events"`
}

// consent is the request's consent: GRANTED or DENIED for each of Google's two signals, from
// the visitor's own (dest.Event.Consent); an unknown signal is left out, and with both unknown
// so is consent. The enum strings come from a third-party schema of the Measurement Protocol
// (UNVERIFIED in Hub's protocol reference), and match Google's example.
type consent struct {
	AdUserData        string `json:"ad_user_data,omitempty"`
	AdPersonalization string `json:"ad_personalization,omitempty"`
}

func consentOf(c dest.ConsentSignals) *consent {
	word := map[dest.Consent]string{dest.ConsentGranted: "GRANTED", dest.ConsentDenied: "DENIED"}
	out := consent{AdUserData: word[c.AdUserData], AdPersonalization: word[c.AdPersonalization]}
	if out == (consent{}) {
		return nil
	}
	return &out
}

type userData struct {
	SHA256Email []string  `json:"sha256_email_address,omitempty"`
	SHA256Phone []string  `json:"sha256_phone_number,omitempty"`
	Address     []address `json:"address,omitempty"`
}

// address is one entry of user_data.address: names hashed (lowercase hex SHA-256), postal code
// and country unhashed. Hub does not keep the city, region or street for Google, so they are
// never sent.
type address struct {
	SHA256FirstName string `json:"sha256_first_name,omitempty"`
	SHA256LastName  string `json:"sha256_last_name,omitempty"`
	PostalCode      string `json:"postal_code,omitempty"`
	Country         string `json:"country,omitempty"`
}

type event struct {
	Name   string `json:"name"`
	Params params `json:"params"`
}

// params are the event's parameters: at most 25 (maxParams), each text at most 100 characters.
type params struct {
	TransactionID      string      `json:"transaction_id,omitempty"`
	Value              json.Number `json:"value,omitempty"`
	Currency           string      `json:"currency,omitempty"`
	SessionID          string      `json:"session_id,omitempty"`
	EngagementTimeMsec int         `json:"engagement_time_msec"`
	Items              []item      `json:"items,omitempty"`
	// HubSyntheticClientID marks an event sent under a synthetic client id (the no_client_id
	// setting's "synthetic"), so it can be told apart in GA4's exports.
	HubSyntheticClientID int `json:"hub_synthetic_client_id,omitempty"`
}

type item struct {
	ItemID   string      `json:"item_id"`
	Price    json.Number `json:"price,omitempty"`
	Quantity int         `json:"quantity,omitempty"`
}

// names maps Hub's standard event names to GA4's recommended ones; other names are sent as they
// are, when GA4's naming rules allow them. The event_names setting overrides them (eventNames).
var names = map[string]string{
	strings.ToLower(domain.EventPurchase):             "purchase",
	strings.ToLower(domain.EventLead):                 "generate_lead",
	strings.ToLower(domain.EventInitiateCheckout):     "begin_checkout",
	strings.ToLower(domain.EventAddToCart):            "add_to_cart",
	strings.ToLower(domain.EventAddPaymentInfo):       "add_payment_info",
	strings.ToLower(domain.EventCompleteRegistration): "sign_up",
	strings.ToLower(domain.EventViewContent):          "view_item",
	strings.ToLower(domain.EventPageView):             "page_view",
	"refund":                                          "refund",
}

// DefaultEventNames is the event_names setting's default: the mapping of Hub's four events a
// GA4 e-commerce report reads, as names already maps them, shown in the dashboard.
const DefaultEventNames = "Purchase=purchase,Lead=generate_lead,InitiateCheckout=begin_checkout,AddToCart=add_to_cart"

// eventNames returns the Hub-to-GA4 name map (lowercased Hub names): names, overridden by the
// event_names setting (its default when empty), and the setting's pairs. problem says what is
// wrong with the setting, empty when nothing is; it is a fixed sentence, so the dashboard can
// translate it.
func eventNames(cfg dest.Config) (map[string]string, []dest.Pair, string) {
	pairs, ok := dest.ParsePairs(cfg.Get(spec, SettingEventNames))
	if !ok {
		return nil, nil, "pairs are Hub=GA4 names, like Lead=sign_up"
	}
	m := maps.Clone(names)
	for _, p := range pairs {
		if problem := checkName(p.To); problem != "" {
			return nil, nil, problem
		}
		m[strings.ToLower(p.Hub)] = p.To
	}
	return m, pairs, ""
}

// transactional are GA4's events whose transaction_id GA4 deduplicates on.
var transactional = map[string]bool{"purchase": true, "refund": true}

// reservedNames are event names GA4 reserves (Google's Event Builder list, §2.4).
var reservedNames = []string{"ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query",
	"adunit_exposure", "app_clear_data", "app_install", "app_update", "app_remove", "error", "first_open",
	"first_visit", "in_app_purchase", "notification_dismiss", "notification_foreground", "notification_open",
	"notification_receive", "os_update", "screen_view", "session_start", "user_engagement"}

// reservedPrefixes are name prefixes GA4 reserves for its own events. They are not in Hub's
// protocol reference (UNVERIFIED there), so Hub refuses them defensively.
var reservedPrefixes = []string{"firebase_", "ga_", "google_", "gtag."}

// name is the name GA4 receives for Hub's event name.
func (s settings) name(hub string) string {
	if v, ok := s.names[strings.ToLower(hub)]; ok {
		return v
	}
	return hub
}

// checkName applies GA4's naming rules to an event name; "" when it passes. The problems are
// fixed sentences (the dashboard translates them when the event_names setting breaks a rule).
func checkName(n string) string {
	switch {
	case len(n) > maxNameLen:
		return "GA4 event names are at most 40 characters"
	case !nameRe.MatchString(n):
		return "GA4 event names start with a letter and hold only letters, digits and '_'"
	case slices.Contains(reservedNames, strings.ToLower(n)):
		return "the event name is reserved by GA4"
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(strings.ToLower(n), p) {
			return "the event name starts with a prefix GA4 reserves (firebase_, ga_, google_, gtag.)"
		}
	}
	return ""
}

// Build implements dest.Destination: the request body for one event.
func (g *GA4) Build(cfg dest.Config, events []dest.Event) ([]byte, error) {
	if len(events) > MaxBatch {
		return nil, fmt.Errorf("ga4: build %d events: %w", len(events), dest.ErrBatchTooLarge)
	}
	if len(events) == 0 {
		return nil, errors.New("ga4: build: no event")
	}
	s, err := g.settings(cfg)
	if err != nil {
		return nil, fmt.Errorf("ga4: build: %w", err)
	}
	p, ee := s.convert(0, events[0], g.now())
	if ee != nil {
		return nil, fmt.Errorf("ga4: build: %w", ee)
	}
	body, ee := encode(0, events[0], p)
	if ee != nil {
		return nil, fmt.Errorf("ga4: build: %w", ee)
	}
	return body, nil
}

// encode is the request body of p, refused when GA4 would drop it for its size.
func encode(i int, e dest.Event, p payload) ([]byte, *dest.EventError) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, &dest.EventError{Index: i, EventID: e.EventID, Reason: dest.ReasonInvalidEvent, Detail: "ga4: encode payload: " + err.Error()}
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(body) >= MaxBody {
		return nil, &dest.EventError{Index: i, EventID: e.EventID, Reason: dest.ReasonInvalidEvent,
			Detail: fmt.Sprintf("the request would be %d bytes; GA4 takes less than %d (too many items?)", len(body), MaxBody)}
	}
	return body, nil
}

// keys are the identifier keys a request body carries, read off the bytes sent: the client id
// as browser_id (unless it is a synthetic one, which identifies nobody), the user data's e-mail
// and phone, and the address's names, postal code and country.
func keys(body []byte) dest.Keys {
	var p payload
	if json.Unmarshal(body, &p) != nil {
		return 0
	}
	synthetic := len(p.Events) > 0 && p.Events[0].Params.HubSyntheticClientID != 0
	k := dest.Keys(0).With(dest.KeyBrowserID, p.ClientID != "" && !synthetic)
	if ud := p.UserData; ud != nil {
		k = k.With(dest.KeyEmail, len(ud.SHA256Email) > 0).With(dest.KeyPhone, len(ud.SHA256Phone) > 0)
		for _, a := range ud.Address {
			k = k.With(dest.KeyFirstName, a.SHA256FirstName != "").With(dest.KeyLastName, a.SHA256LastName != "").
				With(dest.KeyZip, a.PostalCode != "").With(dest.KeyCountry, a.Country != "")
		}
	}
	return k
}

// convert checks one event by GA4's validation rules (GA4 would accept a bad one with a 2xx
// and drop it silently, so Hub refuses it here, with the reason) and maps it to a request.
func (s settings) convert(i int, e dest.Event, now time.Time) (payload, *dest.EventError) {
	refuse := func(reason, detail string) (payload, *dest.EventError) {
		return payload{}, &dest.EventError{Index: i, EventID: e.EventID, Reason: reason, Detail: detail}
	}
	name := s.name(e.Name)
	switch {
	case e.Name == "":
		return refuse(dest.ReasonInvalidEvent, "event name is empty")
	case e.EventID == "":
		return refuse(dest.ReasonInvalidEvent, "event id is empty; it is the purchase's transaction_id, on which GA4 deduplicates")
	case e.EventTime.IsZero() || e.EventTime.Unix() <= 0:
		return refuse(dest.ReasonInvalidEvent, "event time is not set")
	}
	if detail := checkName(name); detail != "" {
		return refuse(dest.ReasonInvalidEvent, detail)
	}
	if age := now.Sub(e.EventTime); age > MaxEventAge {
		return refuse(dest.ReasonStale, fmt.Sprintf("event is %s old; GA4 records events at most %s old (older ones would be recorded at the wrong time)", age.Round(time.Minute), MaxEventAge))
	}
	p := payload{TimestampMicros: e.EventTime.UnixMicro(), Events: []event{{Name: name, Params: params{EngagementTimeMsec: EngagementMsec}}}}
	ev := &p.Events[0]
	switch id := domain.GAClientID(e.User.GAClientID); { // the client id, or the whole _ga value
	case id != "":
		p.ClientID = id
		ev.Params.SessionID = s.session(e, now)
	case s.synthetic:
		p.ClientID = SyntheticClientID(e)
		ev.Params.HubSyntheticClientID = 1
	default:
		return refuse(ReasonNoClientID, "Hub never saw the buyer's GA4 client ID (_ga cookie), which GA4 requires for a web stream; set no_client_id to synthetic to send such events without attribution")
	}
	if transactional[name] {
		if len(e.EventID) > maxParamText {
			return refuse(dest.ReasonInvalidEvent, fmt.Sprintf("event id is %d characters; GA4's transaction_id takes at most %d", len(e.EventID), maxParamText))
		}
		ev.Params.TransactionID = e.EventID
	}
	c := e.Custom
	switch {
	case c.ValueMinor < 0:
		return refuse(dest.ReasonInvalidEvent, "negative value; refunds are not sent as negative purchases")
	case c.Currency != "":
		v, err := domain.FormatMinor(c.ValueMinor, c.Currency)
		if err != nil || c.Currency != strings.ToUpper(c.Currency) {
			return refuse(dest.ReasonInvalidEvent, "currency is not an upper-case ISO 4217 code")
		}
		ev.Params.Value, ev.Params.Currency = json.Number(v), c.Currency
	case c.ValueMinor != 0:
		return refuse(dest.ReasonInvalidEvent, "value without a currency")
	}
	for _, it := range c.Contents {
		if it.ID == "" || len(it.ID) > maxParamText {
			return refuse(dest.ReasonInvalidEvent, fmt.Sprintf("item without an id, or with one over %d characters", maxParamText))
		}
		x := item{ItemID: it.ID, Quantity: max(it.Quantity, 0)}
		if it.ItemPriceMinor != 0 {
			if it.ItemPriceMinor < 0 || c.Currency == "" {
				return refuse(dest.ReasonInvalidEvent, "item price needs a currency and must not be negative")
			}
			v, _ := domain.FormatMinor(it.ItemPriceMinor, c.Currency)
			x.Price = json.Number(v)
		}
		ev.Params.Items = append(ev.Params.Items, x)
	}
	p.Consent = consentOf(e.Consent)
	p.UserData = userDataOf(e.User)
	return p, nil
}

// session returns the session id of the visitor's session in this stream, when Hub captured
// its _ga_<container> cookie and GA4 would still attribute the event to it: the event happened
// after the session started, and the request is made within SessionWindow of that start.
func (s settings) session(e dest.Event, now time.Time) string {
	sessions, ok := domain.ParseGASessions(e.User.GASessions)
	if !ok {
		return ""
	}
	id := sessions[s.container]
	start, err := strconv.ParseInt(id, 10, 64)
	if err != nil || start <= 0 {
		return ""
	}
	st := time.Unix(start, 0)
	if e.EventTime.Before(st) || now.Sub(st) > SessionWindow {
		return ""
	}
	return id
}

// SyntheticClientID is the client id an event without one is sent under when the settings ask
// for it: "<10 digits>.<event time in Unix seconds>", the form of a real one, derived from the
// event id so every retry of the event uses the same one. GA4 counts it as a new user with no
// attribution (protocols-destinations.md §2.7); the event carries hub_synthetic_client_id=1.
func SyntheticClientID(e dest.Event) string {
	sum := sha256.Sum256([]byte("hub-ga4-synthetic:" + e.EventID))
	n := binary.BigEndian.Uint64(sum[:8])%9_000_000_000 + 1_000_000_000
	return fmt.Sprintf("%d.%d", n, e.EventTime.Unix())
}

// userDataOf maps the buyer's e-mails, phones and name with address (what of it intake kept:
// names, postal code, country; GA4 takes any of them) to GA4's user-provided data, hashed by
// Google's rules (lowercase hex SHA-256; Gmail dots removed, phones E.164 with '+'). Google's
// hashes come from GoogleEmails and GooglePhones (hashed at intake); Emails and Phones are used
// only for values that are not hashes yet, because their hashes are Meta's. Intake's Google
// e-mail rule also removes a Gmail "+tag", which GA's page does not mention (UNVERIFIED): a
// Gmail address with a +tag may not match in GA4.
func userDataOf(u dest.User) *userData {
	ud := userData{
		SHA256Email: pii.MergeHashes(u.GoogleEmails, u.Emails, domain.GoogleEmail),
		SHA256Phone: pii.MergeHashes(u.GooglePhones, u.Phones, googlePhone),
	}
	a := address{SHA256FirstName: nameHash(domain.FieldFirstName, u.GoogleFirstName), SHA256LastName: nameHash(domain.FieldLastName, u.GoogleLastName),
		PostalCode: strings.TrimSpace(u.GooglePostalCode), Country: strings.TrimSpace(u.GoogleRegionCode)}
	if a != (address{}) {
		ud.Address = []address{a}
	}
	if len(ud.SHA256Email) == 0 && len(ud.SHA256Phone) == 0 && len(ud.Address) == 0 {
		return nil
	}
	return &ud
}

func googlePhone(raw string) (string, error) { return domain.GooglePhone(raw, "") }

// nameHash passes intake's hash through and hashes a plain name by Google's rule
// (domain.GoogleName: digits and symbols removed); an empty or unusable name gives "".
func nameHash(f domain.Field, v string) string {
	if pii.IsSHA256Hex(v) {
		return strings.ToLower(strings.TrimSpace(v))
	}
	n, err := domain.GoogleName(f, v)
	if err != nil {
		return ""
	}
	return pii.SHA256Hex(n)
}

package googleads

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
)

// The IngestEventsRequest (proto3 JSON mapping: camelCase, enums as strings). Field order is
// fixed by the structs, so the bytes are deterministic.
type payload struct {
	Destinations []destination `json:"destinations"`
	Encoding     string        `json:"encoding"`
	ValidateOnly bool          `json:"validateOnly,omitempty"`
	Events       []event       `json:"events"`
}

type productAccount struct {
	AccountType string `json:"accountType"`
	AccountID   string `json:"accountId"`
}

type destination struct {
	Reference            string          `json:"reference"`
	OperatingAccount     productAccount  `json:"operatingAccount"`
	LoginAccount         *productAccount `json:"loginAccount,omitempty"`
	ProductDestinationID string          `json:"productDestinationId"`
}

type event struct {
	DestinationReferences []string       `json:"destinationReferences"`
	TransactionID         string         `json:"transactionId"`
	EventTimestamp        string         `json:"eventTimestamp"`
	EventSource           string         `json:"eventSource"`
	Currency              string         `json:"currency,omitempty"`
	ConversionValue       json.Number    `json:"conversionValue,omitempty"`
	AdIdentifiers         *adIdentifiers `json:"adIdentifiers,omitempty"`
	UserData              *userData      `json:"userData,omitempty"`
	Consent               *consent       `json:"consent,omitempty"`
	EventDeviceInfo       *deviceInfo    `json:"eventDeviceInfo,omitempty"`
}

// consent is the event-level Consent: CONSENT_GRANTED or CONSENT_DENIED for each of Google's
// two signals, from the visitor's own (dest.Event.Consent). An unknown signal is left out
// (Google then applies the account's defaults) rather than sent as CONSENT_STATUS_UNSPECIFIED,
// and with both unknown so is consent.
type consent struct {
	AdUserData        string `json:"adUserData,omitempty"`
	AdPersonalization string `json:"adPersonalization,omitempty"`
}

func consentOf(c dest.ConsentSignals) *consent {
	word := map[dest.Consent]string{dest.ConsentGranted: "CONSENT_GRANTED", dest.ConsentDenied: "CONSENT_DENIED"}
	out := consent{AdUserData: word[c.AdUserData], AdPersonalization: word[c.AdPersonalization]}
	if out == (consent{}) {
		return nil
	}
	return &out
}

type adIdentifiers struct {
	GCLID  string `json:"gclid,omitempty"`
	GBRAID string `json:"gbraid,omitempty"`
	WBRAID string `json:"wbraid,omitempty"`
}

type userData struct {
	UserIdentifiers []userIdentifier `json:"userIdentifiers"`
}

// userIdentifier is a oneof: exactly one field is set.
type userIdentifier struct {
	EmailAddress string       `json:"emailAddress,omitempty"`
	PhoneNumber  string       `json:"phoneNumber,omitempty"`
	Address      *addressInfo `json:"address,omitempty"`
}

type addressInfo struct {
	GivenName  string `json:"givenName"`
	FamilyName string `json:"familyName"`
	RegionCode string `json:"regionCode"`
	PostalCode string `json:"postalCode"`
}

// deviceInfo carries the user agent only: Google Ads does not match on IP addresses of EEA,
// UK and Swiss users, and Hub does not know where a buyer is when it sends (the country is
// stored hashed), so the IP is never sent.
type deviceInfo struct {
	UserAgent string `json:"userAgent,omitempty"`
}

// settings is what Build and Send derive from a destination's Config.
type settings struct {
	operating    string
	login        string
	action       string
	actions      map[string]string
	source       string
	validateOnly bool
}

func parseSettings(cfg dest.Config) settings {
	m, _, _ := actionMap(cfg)
	return settings{
		operating:    customerID(cfg.Get(spec, SettingOperatingAccount)),
		login:        customerID(cfg.Get(spec, SettingLoginAccount)),
		action:       cfg.Get(spec, SettingConversionAction),
		actions:      m,
		source:       cfg.Get(spec, SettingEventSource),
		validateOnly: cfg.Get(spec, SettingValidateOnly) == "true",
	}
}

func (s settings) actionFor(name string) string {
	if id, ok := s.actions[strings.ToLower(name)]; ok {
		return id
	}
	return s.action
}

// Build implements dest.Destination.
func (g *GoogleAds) Build(cfg dest.Config, events []dest.Event) ([]byte, error) {
	if len(events) > MaxBatch {
		return nil, fmt.Errorf("googleads: build %d events: %w", len(events), dest.ErrBatchTooLarge)
	}
	if err := g.ValidateConfig(cfg); err != nil {
		return nil, fmt.Errorf("googleads: build: %w", err)
	}
	s := parseSettings(cfg)
	out, err := dest.ConvertAll(events, g.now(), func(i int, e dest.Event, now time.Time) (event, *dest.EventError) {
		return convert(s, i, e, now)
	})
	if err != nil {
		return nil, fmt.Errorf("googleads: build: %w", err)
	}
	return encode(s, out)
}

// encode builds the request of events: one destination per conversion action they use.
func encode(s settings, events []event) ([]byte, error) {
	p := payload{Encoding: "HEX", ValidateOnly: s.validateOnly, Events: events}
	for _, e := range events {
		ref := e.DestinationReferences[0]
		if slices.ContainsFunc(p.Destinations, func(d destination) bool { return d.Reference == ref }) {
			continue
		}
		d := destination{Reference: ref, ProductDestinationID: ref,
			OperatingAccount: productAccount{AccountType: "GOOGLE_ADS", AccountID: s.operating}}
		if s.login != "" {
			d.LoginAccount = &productAccount{AccountType: "GOOGLE_ADS", AccountID: s.login}
		}
		p.Destinations = append(p.Destinations, d)
	}
	if len(p.Destinations) > maxDestinations {
		return nil, fmt.Errorf("googleads: the events use %d conversion actions; one request names at most %d", len(p.Destinations), maxDestinations)
	}
	if p.Events == nil {
		p.Events = []event{}
	}
	if p.Destinations == nil {
		p.Destinations = []destination{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("googleads: encode payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// convert checks one event the way Google would (one invalid event fails a whole request) and
// maps it to the Data Manager's Event.
func convert(s settings, i int, e dest.Event, now time.Time) (event, *dest.EventError) {
	refuse := func(reason, detail string) (event, *dest.EventError) {
		return event{}, &dest.EventError{Index: i, EventID: e.EventID, Reason: reason, Detail: detail}
	}
	switch {
	case e.Name == "":
		return refuse(dest.ReasonInvalidEvent, "event name is empty")
	case e.EventID == "":
		return refuse(dest.ReasonInvalidEvent, "event id is empty; it is the conversion's transactionId")
	case e.EventTime.IsZero():
		return refuse(dest.ReasonInvalidEvent, "event time is not set")
	}
	if age := now.Sub(e.EventTime); age > MaxEventAge {
		return refuse(dest.ReasonStale, fmt.Sprintf("event is %s old; Google Ads accepts at most %s", age.Round(time.Minute), MaxEventAge))
	}
	ev := event{
		DestinationReferences: []string{s.actionFor(e.Name)},
		TransactionID:         e.EventID,
		EventTimestamp:        e.EventTime.UTC().Format(time.RFC3339Nano),
		EventSource:           s.source,
	}
	c := e.Custom
	switch {
	case c.ValueMinor < 0:
		return refuse(dest.ReasonInvalidEvent, "negative value; refunds are not sent as negative conversions")
	case c.Currency != "":
		v, err := domain.FormatMinor(c.ValueMinor, c.Currency)
		if err != nil {
			return refuse(dest.ReasonInvalidEvent, "currency is not an ISO 4217 code")
		}
		ev.Currency, ev.ConversionValue = c.Currency, json.Number(v)
	case c.ValueMinor != 0:
		return refuse(dest.ReasonInvalidEvent, "value without a currency")
	}
	// One click id: Google refuses a gclid together with a gbraid or wbraid.
	switch u := e.User; {
	case u.GCLID != "":
		ev.AdIdentifiers = &adIdentifiers{GCLID: u.GCLID}
	case u.GBRAID != "":
		ev.AdIdentifiers = &adIdentifiers{GBRAID: u.GBRAID}
	case u.WBRAID != "":
		ev.AdIdentifiers = &adIdentifiers{WBRAID: u.WBRAID}
	}
	if ids := identifiers(e.User); len(ids) > 0 {
		ev.UserData = &userData{UserIdentifiers: ids}
	}
	if ev.AdIdentifiers == nil && ev.UserData == nil {
		return refuse(ReasonNoIdentifiers, "neither a Google click id (gclid, gbraid, wbraid) nor an e-mail, phone or name with address Google can match")
	}
	ev.Consent = consentOf(e.Consent)
	if e.User.UserAgent != "" {
		ev.EventDeviceInfo = &deviceInfo{UserAgent: e.User.UserAgent}
	}
	return ev, nil
}

// keys are the identifier keys an event carries as Google receives it: its one click id
// (gclid as click_id, gbraid, wbraid), each kind of user identifier (the address's four parts
// count as first and last name, zip and country) and the user agent.
func keys(ev event) dest.Keys {
	var k dest.Keys
	if a := ev.AdIdentifiers; a != nil {
		k = k.With(dest.KeyClickID, a.GCLID != "").With(dest.KeyGBRAID, a.GBRAID != "").With(dest.KeyWBRAID, a.WBRAID != "")
	}
	if ud := ev.UserData; ud != nil {
		for _, id := range ud.UserIdentifiers {
			k = k.With(dest.KeyEmail, id.EmailAddress != "").With(dest.KeyPhone, id.PhoneNumber != "")
			if a := id.Address; a != nil {
				k = k.With(dest.KeyFirstName, a.GivenName != "").With(dest.KeyLastName, a.FamilyName != "").
					With(dest.KeyZip, a.PostalCode != "").With(dest.KeyCountry, a.RegionCode != "")
			}
		}
	}
	if ev.EventDeviceInfo != nil {
		k = k.With(dest.KeyUserAgent, ev.EventDeviceInfo.UserAgent != "")
	}
	return k
}

func isHash(v string) bool { return pii.IsSHA256Hex(v) }

// identifiers returns the event's user identifiers hashed by Google's rules, at most
// MaxIdentifiers: e-mails, then phones, then the name with the address. Google's hashes come
// from GoogleEmails and GooglePhones (hashed at intake by Google's rules); Emails and Phones are
// used only for values that are not hashes yet, because their hashes are Meta's. Names hash the
// same for both platforms. The address needs the region and postal code in plain text, so it is
// sent only when the event has them unhashed.
func identifiers(u dest.User) []userIdentifier {
	var out []userIdentifier
	seen := map[string]bool{}
	add := func(id userIdentifier, key string) {
		if len(out) < MaxIdentifiers && !seen[key] {
			seen[key] = true
			out = append(out, id)
		}
	}
	for _, v := range pii.MergeHashes(u.GoogleEmails, u.Emails, domain.GoogleEmail) {
		add(userIdentifier{EmailAddress: v}, "em:"+v)
	}
	for _, v := range pii.MergeHashes(u.GooglePhones, u.Phones, func(raw string) (string, error) { return domain.GooglePhone(raw, "") }) {
		add(userIdentifier{PhoneNumber: v}, "ph:"+v)
	}
	if a := address(u); a != nil {
		add(userIdentifier{Address: a}, "address")
	}
	return out
}

var regionRe = regexp.MustCompile(`^[A-Za-z]{2}$`)

// address is the name-and-address identifier: hashed given and family names with the plain
// region code and postal code, all four required by Google (never sent partial). Intake's
// Google fields (GoogleFirstName, GoogleLastName, GooglePostalCode, GoogleRegionCode) are used
// when all four are there; otherwise an event that carries the plain region and postal code
// (and names, hashed by the rule Meta shares) is used as before.
func address(u dest.User) *addressInfo {
	if u.GoogleFirstName != "" && u.GoogleLastName != "" && u.GooglePostalCode != "" && regionRe.MatchString(u.GoogleRegionCode) {
		first, err1 := googleNameHash(domain.FieldFirstName, u.GoogleFirstName)
		last, err2 := googleNameHash(domain.FieldLastName, u.GoogleLastName)
		if err1 == nil && err2 == nil {
			return &addressInfo{GivenName: first, FamilyName: last, RegionCode: strings.ToUpper(u.GoogleRegionCode), PostalCode: u.GooglePostalCode}
		}
	}
	country, zip := strings.TrimSpace(u.Country), strings.TrimSpace(u.Zip)
	if !regionRe.MatchString(country) || zip == "" || isHash(zip) {
		return nil
	}
	first, err1 := pii.Hash(domain.FieldFirstName, u.FirstName)
	last, err2 := pii.Hash(domain.FieldLastName, u.LastName)
	if err1 != nil || err2 != nil || u.FirstName == "" || u.LastName == "" {
		return nil
	}
	return &addressInfo{GivenName: first, FamilyName: last, RegionCode: strings.ToUpper(country), PostalCode: zip}
}

// googleNameHash passes a hash through and hashes a plain name by Google's rule.
func googleNameHash(f domain.Field, v string) (string, error) {
	if isHash(v) {
		return strings.ToLower(strings.TrimSpace(v)), nil
	}
	n, err := domain.GoogleName(f, v)
	if err != nil {
		return "", err
	}
	return pii.SHA256Hex(n), nil
}

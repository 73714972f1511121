package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
)

// The request body (Meta: parameters/main-body, server-event, customer-information-parameters,
// custom-data). Field order is fixed by the structs, so the bytes are deterministic.
type payload struct {
	Data          []serverEvent `json:"data"`
	TestEventCode string        `json:"test_event_code,omitempty"`
	PartnerAgent  string        `json:"partner_agent,omitempty"`
	// AccessToken is set by Send only; Build's output never holds it.
	AccessToken string `json:"access_token,omitempty"`
}

type serverEvent struct {
	EventName      string      `json:"event_name"`
	EventTime      int64       `json:"event_time"`
	EventID        string      `json:"event_id"`
	ActionSource   string      `json:"action_source"`
	EventSourceURL string      `json:"event_source_url,omitempty"`
	UserData       userData    `json:"user_data"`
	CustomData     *customData `json:"custom_data,omitempty"`
	// Limited Data Use (the limited_data_use setting): ["LDU"] with country and state 0, which
	// asks Meta to geolocate the event (protocols.md §1.2); absent otherwise.
	DataProcessingOptions        []string `json:"data_processing_options,omitempty"`
	DataProcessingOptionsCountry *int     `json:"data_processing_options_country,omitempty"`
	DataProcessingOptionsState   *int     `json:"data_processing_options_state,omitempty"`
}

// options are the settings that shape every event of a destination.
type options struct {
	nationalID bool // send_national_id
	ldu        bool // limited_data_use
}

// limitedDataUse marks se for Limited Data Use, letting Meta geolocate it (country and state 0).
func limitedDataUse(se *serverEvent) {
	geolocate := 0
	se.DataProcessingOptions = []string{"LDU"}
	se.DataProcessingOptionsCountry, se.DataProcessingOptionsState = &geolocate, &geolocate
}

type userData struct {
	Em              []string `json:"em,omitempty"`
	Ph              []string `json:"ph,omitempty"`
	Fn              []string `json:"fn,omitempty"`
	Ln              []string `json:"ln,omitempty"`
	DB              []string `json:"db,omitempty"`
	Ge              []string `json:"ge,omitempty"`
	Ct              []string `json:"ct,omitempty"`
	St              []string `json:"st,omitempty"`
	Zp              []string `json:"zp,omitempty"`
	Country         []string `json:"country,omitempty"`
	ExternalID      []string `json:"external_id,omitempty"`
	ClientIPAddress string   `json:"client_ip_address,omitempty"`
	ClientUserAgent string   `json:"client_user_agent,omitempty"`
	Fbc             string   `json:"fbc,omitempty"`
	Fbp             string   `json:"fbp,omitempty"`
}

type customData struct {
	Value       json.Number `json:"value,omitempty"`
	Currency    string      `json:"currency,omitempty"`
	OrderID     string      `json:"order_id,omitempty"`
	ContentIDs  []string    `json:"content_ids,omitempty"`
	ContentType string      `json:"content_type,omitempty"`
	Contents    []content   `json:"contents,omitempty"`
	NumItems    int         `json:"num_items,omitempty"`
}

type content struct {
	ID        string      `json:"id"`
	Quantity  int         `json:"quantity,omitempty"`
	ItemPrice json.Number `json:"item_price,omitempty"`
}

// Build implements dest.Destination.
func (m *Meta) Build(cfg dest.Config, events []dest.Event) ([]byte, error) {
	if len(events) > MaxBatch {
		return nil, fmt.Errorf("meta: build %d events: %w", len(events), dest.ErrBatchTooLarge)
	}
	if err := m.ValidateConfig(cfg); err != nil {
		return nil, fmt.Errorf("meta: build: %w", err)
	}
	opts := optionsOf(cfg)
	data, err := dest.ConvertAll(events, m.now(), func(i int, e dest.Event, now time.Time) (serverEvent, *dest.EventError) {
		return convert(opts, i, e, now)
	})
	if err != nil {
		return nil, fmt.Errorf("meta: build: %w", err)
	}
	return encode(payload{Data: data, TestEventCode: cfg.Get(spec, SettingTestEventCode), PartnerAgent: m.partnerAgent()})
}

func encode(p payload) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs stay readable; the output is still valid JSON
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("meta: encode payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// convert checks one event the way Meta would, so a bad event is refused on its own instead of
// failing the whole batch at Meta, and maps it to Meta's server event.
func convert(o options, i int, e dest.Event, now time.Time) (serverEvent, *dest.EventError) {
	refuse := func(reason, detail string) (serverEvent, *dest.EventError) {
		return serverEvent{}, &dest.EventError{Index: i, EventID: e.EventID, Reason: reason, Detail: detail}
	}
	if e.Name == "" {
		return refuse(dest.ReasonInvalidEvent, "event name is empty")
	}
	if e.EventID == "" {
		return refuse(dest.ReasonInvalidEvent, "event id is empty; Meta deduplicates on it")
	}
	if e.EventTime.IsZero() {
		return refuse(dest.ReasonInvalidEvent, "event time is not set")
	}
	source := actionSource(e)
	if !validSources[source] {
		return refuse(dest.ReasonInvalidEvent, "unknown action source "+string(source))
	}
	maxAge := MaxEventAge
	if source == dest.ActionPhysicalStore {
		maxAge = MaxPhysicalStoreAge
	}
	if age := now.Sub(e.EventTime); age > maxAge {
		return refuse(dest.ReasonStale, fmt.Sprintf("event is %s old; Meta accepts at most %s", age.Round(time.Minute), maxAge))
	}
	if source == dest.ActionWebsite && (e.EventSourceURL == "" || e.User.UserAgent == "") {
		return refuse(dest.ReasonInvalidEvent, "website events need event_source_url and client_user_agent")
	}
	cd, detail := custom(e)
	if detail != "" {
		return refuse(dest.ReasonInvalidEvent, detail)
	}
	ud := user(e.User, o.nationalID)
	if weak(ud) {
		return refuse(dest.ReasonWeakUserData, "user data has no key Meta accepts on its own (e-mail, phone, external id, fbc/fbp, IP with user agent)")
	}
	se := serverEvent{
		EventName:      e.Name,
		EventTime:      e.EventTime.Unix(),
		EventID:        e.EventID,
		ActionSource:   string(source),
		EventSourceURL: e.EventSourceURL,
		UserData:       ud,
		CustomData:     cd,
	}
	if o.ldu {
		limitedDataUse(&se)
	}
	return se, nil
}

var validSources = map[dest.ActionSource]bool{
	dest.ActionWebsite: true, dest.ActionApp: true, dest.ActionEmail: true, dest.ActionPhoneCall: true,
	dest.ActionChat: true, dest.ActionPhysicalStore: true, dest.ActionSystemGenerated: true,
	dest.ActionBusinessMessaging: true, dest.ActionOther: true,
}

// actionSource derives Meta's action_source when the caller left it empty. "website" needs the
// page URL and the browser's user agent (Meta requires both for website events), so it is used
// only when Hub saw the visit. Otherwise "other": the conversion was reported by a payment
// gateway, which is none of Meta's named channels, and "system_generated" is for conversions the
// business's own systems produce (renewals), which the caller must say explicitly.
func actionSource(e dest.Event) dest.ActionSource {
	if e.ActionSource != "" {
		return e.ActionSource
	}
	if e.EventSourceURL != "" && e.User.UserAgent != "" {
		return dest.ActionWebsite
	}
	return dest.ActionOther
}

func custom(e dest.Event) (*customData, string) {
	c := e.Custom
	if c.ValueMinor >= 0 && c.Currency == "" && e.Name == domain.EventPurchase {
		return nil, "Purchase needs a currency and a value"
	}
	amounts, problem := dest.CheckAmounts(c)
	if problem != "" {
		return nil, problem
	}
	cd := &customData{
		Currency:    c.Currency,
		OrderID:     c.OrderID,
		ContentIDs:  c.ContentIDs,
		ContentType: c.ContentType,
		NumItems:    c.NumItems,
	}
	cd.Value = json.Number(amounts.Value)
	for i, it := range c.Contents {
		cd.Contents = append(cd.Contents, content{ID: it.ID, Quantity: it.Quantity, ItemPrice: json.Number(amounts.Prices[i])})
	}
	if cd.Currency == "" && cd.OrderID == "" && len(cd.ContentIDs) == 0 && cd.ContentType == "" && len(cd.Contents) == 0 && cd.NumItems == 0 {
		return nil, ""
	}
	return cd, ""
}

// user maps Hub's user to Meta's user_data. Personal keys go through pii.Hash: SHA-256 values pass
// unchanged, anything else is normalised and hashed by Meta's rules, and values that do not
// normalise are left out. Click ids, cookies, IP and user agent are sent byte for byte. The
// buyer's national ids join external_id only when the destination opts in (nationalIDs).
func user(u dest.User, nationalIDs bool) userData {
	ids := u.ExternalIDs
	if nationalIDs {
		ids = append(slices.Clip(ids), u.NationalIDs...)
	}
	return userData{
		Em:              hashAll(domain.FieldEmail, u.Emails...),
		Ph:              hashAll(domain.FieldPhone, u.Phones...),
		Fn:              hashAll(domain.FieldFirstName, u.FirstName),
		Ln:              hashAll(domain.FieldLastName, u.LastName),
		DB:              hashAll(domain.FieldDateOfBirth, u.DateOfBirth),
		Ge:              hashAll(domain.FieldGender, u.Gender),
		Ct:              hashAll(domain.FieldCity, u.City),
		St:              hashAll(domain.FieldState, u.State),
		Zp:              hashAll(domain.FieldZip, u.Zip),
		Country:         hashAll(domain.FieldCountry, u.Country),
		ExternalID:      hashAll(domain.FieldExternalID, ids...),
		ClientIPAddress: u.ClientIP,
		ClientUserAgent: u.UserAgent,
		Fbc:             fbc(u),
		Fbp:             u.FBP,
	}
}

// fbc is the _fbc cookie when one is known, else the value Meta documents for a click id seen
// server-side: fb.<subdomain index>.<creation time in ms>.<fbclid>, with subdomain index 1 (Meta:
// "use 1 when the value is built server-side") and the fbclid copied byte for byte (it is
// case-sensitive). Without a creation time there is no honest value, so none is sent.
func fbc(u dest.User) string {
	if u.FBC != "" {
		return u.FBC
	}
	if u.FBCLID == "" || u.FBCLIDAt.IsZero() || u.FBCLIDAt.Unix() <= 0 {
		return ""
	}
	return fmt.Sprintf("fb.1.%d.%s", u.FBCLIDAt.UnixMilli(), u.FBCLID)
}

func hashAll(f domain.Field, values ...string) []string {
	var out []string
	for _, v := range values {
		if v == "" {
			continue
		}
		h, err := pii.Hash(f, v)
		if err != nil || slices.Contains(out, h) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// keys are the identifier keys an event's user_data carries.
func keys(se serverEvent) dest.Keys {
	u := se.UserData
	return dest.Keys(0).
		With(dest.KeyEmail, len(u.Em) > 0).With(dest.KeyPhone, len(u.Ph) > 0).
		With(dest.KeyFirstName, len(u.Fn) > 0).With(dest.KeyLastName, len(u.Ln) > 0).
		With(dest.KeyCity, len(u.Ct) > 0).With(dest.KeyState, len(u.St) > 0).
		With(dest.KeyZip, len(u.Zp) > 0).With(dest.KeyCountry, len(u.Country) > 0).
		With(dest.KeyBirthDate, len(u.DB) > 0).With(dest.KeyGender, len(u.Ge) > 0).
		With(dest.KeyExternalID, len(u.ExternalID) > 0).
		With(dest.KeyFBC, u.Fbc != "").With(dest.KeyFBP, u.Fbp != "").
		With(dest.KeyIP, u.ClientIPAddress != "").With(dest.KeyUserAgent, u.ClientUserAgent != "")
}

// weak reports user data made only of the combinations Meta refuses (since API v13): a subset of
// ct, country, st, zp, ge and the user agent; only db and the user agent; only fn or ln with ge.
func weak(u userData) bool {
	present := map[string]bool{
		"em": len(u.Em) > 0, "ph": len(u.Ph) > 0, "fn": len(u.Fn) > 0, "ln": len(u.Ln) > 0,
		"db": len(u.DB) > 0, "ge": len(u.Ge) > 0, "ct": len(u.Ct) > 0, "st": len(u.St) > 0,
		"zp": len(u.Zp) > 0, "country": len(u.Country) > 0, "external_id": len(u.ExternalID) > 0,
		"ip": u.ClientIPAddress != "", "ua": u.ClientUserAgent != "", "fbc": u.Fbc != "", "fbp": u.Fbp != "",
	}
	subsetOf := func(allowed ...string) bool {
		for k, ok := range present {
			if ok && !slices.Contains(allowed, k) {
				return false
			}
		}
		return true
	}
	return subsetOf("ct", "country", "st", "zp", "ge", "ua") ||
		subsetOf("db", "ua") ||
		subsetOf("fn", "ge") ||
		subsetOf("ln", "ge")
}

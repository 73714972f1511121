package tiktok

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

// The request body (Events API 2.0, event/track). Field order is fixed by the structs, so the
// bytes are deterministic. The access token travels in the Access-Token header, never here.
type payload struct {
	EventSource   string  `json:"event_source"`
	EventSourceID string  `json:"event_source_id"`
	TestEventCode string  `json:"test_event_code,omitempty"`
	Data          []event `json:"data"`
}

type event struct {
	Event          string      `json:"event"`
	EventTime      int64       `json:"event_time"`
	EventID        string      `json:"event_id"`
	User           user        `json:"user"`
	Page           *page       `json:"page,omitempty"`
	Properties     *properties `json:"properties,omitempty"`
	LimitedDataUse bool        `json:"limited_data_use,omitempty"`
}

type user struct {
	TTCLID     string   `json:"ttclid,omitempty"`
	TTP        string   `json:"ttp,omitempty"`
	Email      []string `json:"email,omitempty"`
	Phone      []string `json:"phone,omitempty"`
	ExternalID []string `json:"external_id,omitempty"`
	IP         string   `json:"ip,omitempty"`
	UserAgent  string   `json:"user_agent,omitempty"`
}

// keys are the identifier keys an event's user object carries: TikTok's click id (ttclid) and
// browser cookie (ttp) count as the click and browser ids.
func keys(ev event) dest.Keys {
	u := ev.User
	return dest.Keys(0).With(dest.KeyEmail, len(u.Email) > 0).With(dest.KeyPhone, len(u.Phone) > 0).
		With(dest.KeyExternalID, len(u.ExternalID) > 0).With(dest.KeyIP, u.IP != "").With(dest.KeyUserAgent, u.UserAgent != "").
		With(dest.KeyClickID, u.TTCLID != "").With(dest.KeyBrowserID, u.TTP != "")
}

type page struct {
	URL      string `json:"url,omitempty"`
	Referrer string `json:"referrer,omitempty"`
}

type properties struct {
	Currency    string      `json:"currency,omitempty"`
	Value       json.Number `json:"value,omitempty"`
	OrderID     string      `json:"order_id,omitempty"`
	ContentIDs  []string    `json:"content_ids,omitempty"`
	ContentType string      `json:"content_type,omitempty"`
	Contents    []content   `json:"contents,omitempty"`
	NumItems    int         `json:"num_items,omitempty"`
}

type content struct {
	ContentID string      `json:"content_id"`
	Quantity  int         `json:"quantity,omitempty"`
	Price     json.Number `json:"price,omitempty"`
}

// settings are what Build and Send derive from a destination's Config.
type settings struct {
	pixelCode      string
	testCode       string
	limitedDataUse bool
	names          map[string]string
}

func (t *TikTok) settings(cfg dest.Config) (settings, error) {
	if err := t.ValidateConfig(cfg); err != nil {
		return settings{}, err
	}
	names, _, err := eventNames(cfg)
	if err != nil { // ValidateConfig checked it
		return settings{}, err
	}
	return settings{pixelCode: cfg.Get(spec, SettingPixelCode), testCode: cfg.Get(spec, SettingTestEventCode),
		limitedDataUse: limitedDataUse(cfg), names: names}, nil
}

// Build implements dest.Destination.
func (t *TikTok) Build(cfg dest.Config, events []dest.Event) ([]byte, error) {
	if len(events) > MaxBatch {
		return nil, fmt.Errorf("tiktok: build %d events: %w", len(events), dest.ErrBatchTooLarge)
	}
	s, err := t.settings(cfg)
	if err != nil {
		return nil, fmt.Errorf("tiktok: build: %w", err)
	}
	data, err := dest.ConvertAll(events, t.now(), s.convert)
	if err != nil {
		return nil, fmt.Errorf("tiktok: build: %w", err)
	}
	return s.encode(data)
}

func (s settings) encode(data []event) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs stay readable; the output is still valid JSON
	if err := enc.Encode(payload{EventSource: "web", EventSourceID: s.pixelCode, TestEventCode: s.testCode, Data: data}); err != nil {
		return nil, fmt.Errorf("tiktok: encode payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// convert checks one event, so a bad one is refused on its own instead of failing the whole
// batch at TikTok, and maps it to TikTok's event.
func (s settings) convert(i int, e dest.Event, now time.Time) (event, *dest.EventError) {
	refuse := func(reason, detail string) (event, *dest.EventError) {
		return event{}, &dest.EventError{Index: i, EventID: e.EventID, Reason: reason, Detail: detail}
	}
	switch {
	case e.Name == "":
		return refuse(dest.ReasonInvalidEvent, "event name is empty")
	case e.EventID == "":
		return refuse(dest.ReasonInvalidEvent, "event id is empty; TikTok deduplicates on it")
	case e.EventTime.IsZero() || e.EventTime.Unix() <= 0:
		return refuse(dest.ReasonInvalidEvent, "event time is not set")
	}
	if age := now.Sub(e.EventTime); age > MaxEventAge {
		return refuse(dest.ReasonStale, fmt.Sprintf("event is %s old; Hub sends TikTok events at most %s old", age.Round(time.Minute), MaxEventAge))
	}
	props, detail := custom(e.Custom)
	if detail != "" {
		return refuse(dest.ReasonInvalidEvent, detail)
	}
	ev := event{
		Event:          tiktokName(s.names, e.Name),
		EventTime:      e.EventTime.Unix(),
		EventID:        e.EventID,
		User:           userOf(e.User),
		Properties:     props,
		LimitedDataUse: s.limitedDataUse,
	}
	if e.EventSourceURL != "" || e.Referrer != "" {
		ev.Page = &page{URL: e.EventSourceURL, Referrer: e.Referrer}
	}
	return ev, nil
}

func custom(c dest.Custom) (*properties, string) {
	amounts, problem := dest.CheckAmounts(c)
	if problem != "" {
		return nil, problem
	}
	p := &properties{Currency: c.Currency, OrderID: c.OrderID, ContentIDs: c.ContentIDs, ContentType: c.ContentType, NumItems: c.NumItems,
		Value: json.Number(amounts.Value)}
	for i, it := range c.Contents {
		p.Contents = append(p.Contents, content{ContentID: it.ID, Quantity: it.Quantity, Price: json.Number(amounts.Prices[i])})
	}
	if p.Currency == "" && p.OrderID == "" && len(p.ContentIDs) == 0 && p.ContentType == "" && len(p.Contents) == 0 && p.NumItems == 0 {
		return nil, ""
	}
	return p, ""
}

// userOf maps Hub's user to TikTok's, by TikTok's hashing rules:
//   - e-mail: trimmed and lowercased, which is also Meta's rule, so the hashes Hub stores pass
//     through and raw addresses are normalised (domain.TikTokEmail) and hashed;
//   - phone: E.164 WITH the '+' (domain.TikTokPhone): TikTokPhones, hashed at intake by that
//     rule, pass through. A hash in Phones is of Meta's form (digits without '+') and could
//     never match at TikTok, so it is left out; only a raw number there is normalised and
//     hashed;
//   - external_id: the id as it is, only trimmed (domain.TikTokExternalID), then hashed; a
//     value that already is a SHA-256 hex passes through.
//
// National ids are not sent. The click id, the _ttp cookie, IP and user agent go byte for byte.
func userOf(u dest.User) user {
	out := user{TTCLID: u.TTCLID, TTP: u.TTP, IP: u.ClientIP, UserAgent: u.UserAgent}
	for _, v := range u.Emails {
		out.Email = addHash(out.Email, v, domain.TikTokEmail)
	}
	for _, v := range u.TikTokPhones {
		out.Phone = addHash(out.Phone, v, func(s string) (string, error) { return domain.TikTokPhone(s, "") })
	}
	for _, v := range u.Phones {
		if pii.IsSHA256Hex(v) {
			continue
		}
		out.Phone = addHash(out.Phone, v, func(s string) (string, error) { return domain.TikTokPhone(s, "") })
	}
	for _, v := range u.ExternalIDs {
		out.ExternalID = addHash(out.ExternalID, v, domain.TikTokExternalID)
	}
	return out
}

// addHash appends the SHA-256 hex of v normalised by norm, or v itself lowercased when it
// already is a SHA-256 hex; values that do not normalise and repeats are left out.
func addHash(list []string, v string, norm func(string) (string, error)) []string {
	var h string
	if pii.IsSHA256Hex(v) {
		h, _ = pii.Hash(domain.FieldExternalID, v) // a hash passes through, lowercased
	} else {
		n, err := norm(v)
		if err != nil {
			return list
		}
		h = pii.SHA256Hex(n)
	}
	if h == "" || slices.Contains(list, h) {
		return list
	}
	return append(list, h)
}

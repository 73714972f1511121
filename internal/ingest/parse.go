package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/domain"
)

// Event is one browser event as POST /v1/collect accepts it (see docs/tracking.md).
type Event struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	EventID    string          `json:"event_id"`
	OccurredAt json.RawMessage `json:"occurred_at"`
	URL        string          `json:"url"`
	Referrer   string          `json:"referrer"`
	VisitorID  string          `json:"visitor_id"`
	FBCLID     string          `json:"fbclid"`
	GCLID      string          `json:"gclid"`
	GBRAID     string          `json:"gbraid"`
	WBRAID     string          `json:"wbraid"`
	TTCLID     string          `json:"ttclid"`
	FBC        string          `json:"fbc"`
	FBP        string          `json:"fbp"`
	GAClientID string          `json:"ga_client_id"`
	GASessions string          `json:"ga_sessions"`
	TTP        string          `json:"ttp"`
	UTM        EventUTM        `json:"utm"`
	Email      string          `json:"email"`
	Phone      string          `json:"phone"`
	Consent    string          `json:"consent"`
	// Signals is the consent per purpose (hub('consent', {...}) or Google Consent Mode v2).
	Signals   EventSignals `json:"consent_signals"`
	Webdriver bool         `json:"webdriver"`
	// Pixel says the snippet gave this event's event_id to the browser Meta Pixel (fbq's
	// eventID), so the server copy of the same event can be deduplicated against it.
	Pixel bool            `json:"pixel"`
	Props json.RawMessage `json:"props"`
}

// EventUTM holds the utm_* parameters of the landing URL.
type EventUTM struct {
	Source   string `json:"source"`
	Medium   string `json:"medium"`
	Campaign string `json:"campaign"`
	Content  string `json:"content"`
	Term     string `json:"term"`
}

// EventSignals is an event's consent per purpose, each "granted", "denied" or absent.
type EventSignals struct {
	AdUserData        string `json:"ad_user_data"`
	AdPersonalization string `json:"ad_personalization"`
	Analytics         string `json:"analytics"`
}

// Event types a browser may send. "click" is recorded by tracking links only.
var eventTypes = map[string]bool{
	"page_view": true, "lead": true, "initiate_checkout": true, "add_to_cart": true,
	"identify": true, "custom": true, "purchase": true,
}

// Consent values.
const (
	ConsentGranted = "granted"
	ConsentDenied  = "denied"
	ConsentUnknown = "unknown"
)

// Limits bound what ParseCollect accepts.
type Limits struct {
	MaxEvents     int
	MaxFutureSkew time.Duration
	MaxEventAge   time.Duration
}

// ParsedEvent is one event of a request after validation: Errors is empty when it is accepted.
type ParsedEvent struct {
	Index      int
	Field      string // "events[3]" in a batch, "" for a single event
	Event      Event
	OccurredAt time.Time // zero when absent (then the receive time is used)
	Errors     []domain.FieldError
}

// CollectRequest is a parsed POST /v1/collect body.
type CollectRequest struct {
	Key    string
	Batch  bool
	Events []ParsedEvent
}

// RequestError is a request-level failure: nothing in the request is usable.
type RequestError struct {
	Detail string
	Errors []domain.FieldError
}

func (e *RequestError) Error() string {
	if len(e.Errors) > 0 {
		return "ingest: " + e.Errors[0].Field + ": " + e.Errors[0].Reason
	}
	return "ingest: " + e.Detail
}

func requestError(field, reason string) *RequestError {
	return &RequestError{Detail: "the request is invalid", Errors: []domain.FieldError{{Field: field, Reason: reason}}}
}

// ParseCollect decodes and validates a collect body: {"key":..., "events":[...]} or a single
// event object (with its "key"). A malformed body or envelope is a *RequestError; an invalid
// event only marks that event, so its valid siblings still go through.
//
// The body is decoded in one pass without reflection (collectjson.go). A body that pass cannot
// decode exactly as encoding/json would (a syntax error, a value of the wrong type, a key that
// matches a field only ignoring case) is parsed again by parseCollectReflect, whose error texts
// (encoding/json's, with byte offsets) are part of the API. The events' raw values (Props,
// OccurredAt) may be slices of body, which the caller must not change afterwards.
func ParseCollect(body []byte, lim Limits, now time.Time) (*CollectRequest, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, &RequestError{Detail: "the body is empty; send a JSON object"}
	}
	if trimmed[0] != '{' {
		return nil, &RequestError{Detail: "the body must be a JSON object"}
	}
	req, err := parseCollectFast(trimmed, lim, now)
	if err == errNotFast {
		return parseCollectReflect(trimmed, lim, now)
	}
	return req, err
}

// parseCollectReflect is ParseCollect with encoding/json: the envelope, then each event again.
// trimmed starts with '{'.
func parseCollectReflect(trimmed []byte, lim Limits, now time.Time) (*CollectRequest, error) {
	var env struct {
		Key json.RawMessage `json:"key"`
		// Decoded straight into raw events: the body is scanned once for validity and once to
		// split it, and each event once more when it is parsed.
		Events []json.RawMessage `json:"events"`
	}
	// Unmarshal checks the whole body is valid JSON before it assigns anything, so a type error
	// here is a well-formed body whose "events" is not an array.
	if err := json.Unmarshal(trimmed, &env); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "events" {
			return nil, requestError("events", "must be an array of event objects")
		}
		return nil, &RequestError{Detail: "the body is not valid JSON: " + syntaxDetail(err)}
	}
	req := &CollectRequest{}
	if len(env.Key) > 0 && string(env.Key) != "null" {
		if err := json.Unmarshal(env.Key, &req.Key); err != nil {
			return nil, requestError("key", "must be a string")
		}
	}
	if env.Events == nil { // absent or null: the body is one event
		req.Events = []ParsedEvent{parseEvent(trimmed, 0, "", lim, now)}
		return req, nil
	}
	req.Batch = true
	raw := env.Events
	if len(raw) == 0 {
		return nil, requestError("events", "must hold at least one event")
	}
	if len(raw) > lim.MaxEvents {
		return nil, requestError("events", fmt.Sprintf("holds %d events; at most %d per request", len(raw), lim.MaxEvents))
	}
	req.Events = make([]ParsedEvent, len(raw))
	for i, r := range raw {
		req.Events[i] = parseEvent(r, i, "events["+strconv.Itoa(i)+"]", lim, now)
	}
	return req, nil
}

func syntaxDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	return err.Error()
}

func parseEvent(raw []byte, index int, prefix string, lim Limits, now time.Time) ParsedEvent {
	pe := ParsedEvent{Index: index, Field: prefix}
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		pe.Errors = append(pe.Errors, domain.FieldError{Field: fieldOr(prefix, "event"), Reason: "must be a JSON object"})
		return pe
	}
	if err := json.Unmarshal(raw, &pe.Event); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			pe.reject(te.Field, "must be "+jsonKind(te.Type.String()))
		} else {
			pe.Errors = append(pe.Errors, domain.FieldError{Field: fieldOr(prefix, "event"), Reason: "is not a valid event object"})
		}
		return pe
	}
	validateEvent(&pe, lim, now)
	return pe
}

// validateEvent checks a decoded event, appending to pe.Errors what is wrong with it.
func validateEvent(pe *ParsedEvent, lim Limits, now time.Time) {
	bad := pe.reject
	e := &pe.Event

	switch {
	case e.Type == "":
		bad("type", "is required")
	case !eventTypes[e.Type]:
		bad("type", "must be one of page_view, lead, initiate_checkout, add_to_cart, purchase, identify, custom")
	}
	if e.Type == "custom" && e.Name == "" {
		bad("name", "is required for a custom event")
	}
	if e.Name != "" && !validText(e.Name, 64) {
		bad("name", "must be at most 64 printable characters")
	}
	if e.EventID != "" && (len(e.EventID) > 64 || !printableToken(e.EventID)) {
		bad("event_id", "must be at most 64 printable ASCII characters without spaces")
	}

	if len(e.OccurredAt) > 0 && string(e.OccurredAt) != "null" {
		t, reason := parseTime(e.OccurredAt)
		switch {
		case reason != "":
			bad("occurred_at", reason)
		case t.After(now.Add(lim.MaxFutureSkew)):
			bad("occurred_at", fmt.Sprintf("is in the future (more than %s ahead of the server clock)", lim.MaxFutureSkew))
		case t.Before(now.Add(-lim.MaxEventAge)):
			bad("occurred_at", fmt.Sprintf("is older than %s", lim.MaxEventAge))
		default:
			pe.OccurredAt = t.UTC()
		}
	}

	switch {
	case e.URL == "" && e.Type == "page_view":
		bad("url", "is required for a page_view")
	case e.URL != "":
		if reason := checkURL(e.URL, true); reason != "" {
			bad("url", reason)
		}
	}
	if e.Referrer != "" {
		if reason := checkURL(e.Referrer, false); reason != "" {
			bad("referrer", reason)
		}
	}
	if e.VisitorID != "" && !ValidVisitorID(e.VisitorID) {
		bad("visitor_id", "must be 1 to 32 characters of A-Z, a-z, 0-9, '_' and '-'")
	}
	for _, f := range []struct{ name, v string }{{"fbclid", e.FBCLID}, {"gclid", e.GCLID}, {"gbraid", e.GBRAID}, {"wbraid", e.WBRAID}, {"ttclid", e.TTCLID}} {
		if f.v != "" && (len(f.v) > 512 || !printableToken(f.v)) {
			bad(f.name, "must be at most 512 printable ASCII characters without spaces")
		}
	}
	if e.FBC != "" && !validFBValue(e.FBC) {
		bad("fbc", "must look like fb.1.<ms>.<fbclid>")
	}
	if e.FBP != "" && !validFBValue(e.FBP) {
		bad("fbp", "must look like fb.1.<ms>.<random>")
	}
	if _, ok := domain.ParseGASessions(e.GASessions); !ok {
		bad("ga_sessions", fmt.Sprintf("must be at most %d <container>:<session id> pairs joined by commas, like QEHZPBE5HH:1757409568", domain.MaxGASessions))
	}
	for _, f := range []struct{ name, v string }{{"ga_client_id", e.GAClientID}, {"ttp", e.TTP}} {
		if f.v != "" && (len(f.v) > 128 || !printableToken(f.v)) {
			bad(f.name, "must be at most 128 printable ASCII characters without spaces")
		}
	}
	for _, f := range []struct{ name, v string }{
		{"utm.source", e.UTM.Source}, {"utm.medium", e.UTM.Medium}, {"utm.campaign", e.UTM.Campaign},
		{"utm.content", e.UTM.Content}, {"utm.term", e.UTM.Term},
	} {
		if f.v != "" && !validText(f.v, 256) {
			bad(f.name, "must be at most 256 printable characters")
		}
	}
	switch e.Consent {
	case "", ConsentGranted, ConsentDenied, ConsentUnknown:
	default:
		bad("consent", "must be granted, denied or unknown")
	}
	for _, f := range []struct{ name, v string }{
		{"consent_signals.ad_user_data", e.Signals.AdUserData}, {"consent_signals.ad_personalization", e.Signals.AdPersonalization},
		{"consent_signals.analytics", e.Signals.Analytics},
	} {
		switch f.v {
		case "", ConsentGranted, ConsentDenied:
		default:
			bad(f.name, "must be granted or denied")
		}
	}
	if len(e.Email) > 320 {
		bad("email", "must be at most 320 characters")
	}
	if len(e.Phone) > 64 {
		bad("phone", "must be at most 64 characters")
	}
	if len(e.Props) > 0 && string(e.Props) != "null" {
		switch {
		case e.Props[0] != '{':
			bad("props", "must be a JSON object")
		case len(e.Props) > 4096:
			bad("props", "must be at most 4096 bytes")
		}
	}
}

// reject records that the event's field name is wrong for reason, naming the field under the
// event's own (pe.Field, empty for a single event).
func (pe *ParsedEvent) reject(name, reason string) {
	if pe.Field != "" {
		name = pe.Field + "." + name
	}
	pe.Errors = append(pe.Errors, domain.FieldError{Field: name, Reason: reason})
}

func fieldOr(prefix, def string) string {
	if prefix == "" {
		return def
	}
	return prefix
}

// parseTime accepts Unix milliseconds (a JSON number) or an RFC 3339 string.
func parseTime(raw json.RawMessage) (time.Time, string) {
	const want = "must be Unix milliseconds (a number) or an RFC 3339 string"
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, want
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, want
		}
		return t, ""
	}
	ms, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || ms < 0 || ms > 1e15 {
		return time.Time{}, want
	}
	return time.UnixMilli(int64(ms)), ""
}

// checkURL returns why v is not an acceptable URL, or "". A page URL must be absolute http(s);
// a referrer may have any scheme (Android apps send android-app://...).
func checkURL(v string, page bool) string {
	if len(v) > 2048 {
		return "must be at most 2048 bytes"
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return "must be a valid URL"
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		return "must be an absolute URL"
	}
	if page && u.Scheme != "http" && u.Scheme != "https" {
		return "must be an http or https URL"
	}
	if page && u.Host == "" {
		return "must be an absolute URL"
	}
	return ""
}

// validText: valid UTF-8, no control characters, at most max bytes.
func validText(v string, max int) bool {
	return len(v) <= max && utf8.ValidString(v) && !strings.ContainsFunc(v, unicode.IsControl)
}

func jsonKind(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "ingest.EventUTM":
		return "an object"
	case "json.RawMessage":
		return "JSON"
	}
	if strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "float") || strings.HasPrefix(goType, "uint") {
		return "a number"
	}
	return "of another type (" + goType + ")"
}

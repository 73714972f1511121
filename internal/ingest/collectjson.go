package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// This file decodes a collect body in one pass over its bytes, without reflection: the envelope
// and its events at once, each field straight into Event. It decodes only what it can decode
// exactly as encoding/json does (parseCollectReflect) and gives up on the rest, which is rare
// and malformed or unusual: a syntax error (encoding/json's text and byte offset are in the
// answer), a key written with escapes, non-ASCII or matching a field only ignoring case
// (encoding/json matches those), a duplicate "key" or "events", an "events" that is not an array
// or null, nesting deeper than fastMaxDepth. A value of the wrong type inside an event (a number
// for "type") sends only that event to parseEvent, which reports the field as before.

// fastMaxDepth bounds the nesting the scanner follows (encoding/json allows 10000, and reports
// deeper bodies with its own error; those go to it).
const fastMaxDepth = 512

type jscan struct {
	b []byte
	// bs is b as one string: a decoded string without escapes is a substring of it, so the
	// event's fields share one allocation (and keep the body's bytes alive as long as they live).
	bs string
	i  int
}

// slowEvent is an event that parseEvent decodes again from its bytes.
type slowEvent struct{ index, start, end int }

// errNotFast: the body goes to parseCollectReflect.
var errNotFast = errors.New("ingest: body not decoded in one pass")

// parseCollectFast is ParseCollect's single pass, or errNotFast. trimmed starts with '{'.
func parseCollectFast(trimmed []byte, lim Limits, now time.Time) (*CollectRequest, error) {
	s := jscan{b: trimmed, bs: string(trimmed), i: 1}
	var (
		keyRaw      []byte
		keySeen     bool
		eventsSeen  bool
		batch       bool
		events      []ParsedEvent
		slow        []slowEvent
		count       int
		top         Event
		topWrongTyp bool
	)
	s.ws()
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			key, ok := s.key()
			if !ok {
				return nil, errNotFast
			}
			switch string(key) {
			case "key":
				if keySeen {
					return nil, errNotFast
				}
				keySeen = true
				start := s.i
				if !s.skip(0) {
					return nil, errNotFast
				}
				keyRaw = s.b[start:s.i]
			case "events":
				if eventsSeen {
					return nil, errNotFast
				}
				eventsSeen = true
				switch s.peek() {
				case 'n':
					if !s.lit("null") {
						return nil, errNotFast
					}
				case '[':
					batch = true
					if events, slow, count, ok = s.events(lim.MaxEvents); !ok {
						return nil, errNotFast
					}
				default: // encoding/json reports the type error, after checking the rest
					return nil, errNotFast
				}
			default:
				wrongType, ok := s.eventField(key, &top, 0, true)
				if !ok {
					return nil, errNotFast
				}
				topWrongTyp = topWrongTyp || wrongType
			}
			more, ok := s.after('}')
			if !ok {
				return nil, errNotFast
			}
			if !more {
				break
			}
		}
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, errNotFast
	}

	req := &CollectRequest{}
	if len(keyRaw) > 0 && string(keyRaw) != "null" {
		if keyRaw[0] != '"' {
			return nil, requestError("key", "must be a string")
		}
		s := jscan{b: keyRaw, bs: string(keyRaw)}
		if _, ok := s.str(&req.Key, 0); !ok {
			return nil, errNotFast
		}
	}
	if !batch {
		if topWrongTyp {
			req.Events = []ParsedEvent{parseEvent(trimmed, 0, "", lim, now)}
			return req, nil
		}
		req.Events = []ParsedEvent{{Event: top}}
		validateEvent(&req.Events[0], lim, now)
		return req, nil
	}
	req.Batch = true
	if count == 0 {
		return nil, requestError("events", "must hold at least one event")
	}
	if count > lim.MaxEvents {
		return nil, requestError("events", fmt.Sprintf("holds %d events; at most %d per request", count, lim.MaxEvents))
	}
	next := 0
	for i := range events {
		pe := &events[i]
		pe.Index = i
		pe.Field = "events[" + strconv.Itoa(i) + "]"
		if next < len(slow) && slow[next].index == i {
			*pe = parseEvent(trimmed[slow[next].start:slow[next].end], i, pe.Field, lim, now)
			next++
			continue
		}
		validateEvent(pe, lim, now)
	}
	req.Events = events
	return req, nil
}

// eventScratch holds the slices events decodes into before it knows how many events there
// are: appending to a new slice would allocate it five times for ten events (each time a
// larger copy of a struct of some 600 bytes), where the copy of the result is one allocation
// of the right size.
var eventScratch = sync.Pool{New: func() any { return new([]ParsedEvent) }}

// events decodes an "events" array (s at '['). Elements past max are checked but not decoded;
// count is how many there are. Elements that are not objects, and events with a value of the
// wrong type, are listed in slow for parseEvent.
func (s *jscan) events(max int) (events []ParsedEvent, slow []slowEvent, count int, ok bool) {
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
		return []ParsedEvent{}, nil, 0, true
	}
	scratch := eventScratch.Get().(*[]ParsedEvent)
	buf := (*scratch)[:0]
	defer func() {
		clear(buf) // the pool must not keep the body's strings alive
		*scratch = buf[:0]
		eventScratch.Put(scratch)
	}()
	for {
		start := s.i
		switch {
		case count >= max:
			if !s.skip(1) {
				return nil, nil, 0, false
			}
		case s.peek() == '{':
			buf = append(buf, ParsedEvent{})
			wrongType, ok := s.event(&buf[len(buf)-1].Event, 1)
			if !ok {
				return nil, nil, 0, false
			}
			if wrongType {
				slow = append(slow, slowEvent{count, start, s.i})
			}
		default:
			if !s.skip(1) {
				return nil, nil, 0, false
			}
			buf = append(buf, ParsedEvent{})
			slow = append(slow, slowEvent{count, start, s.i})
		}
		count++
		switch more, ok := s.after(']'); {
		case !ok:
			return nil, nil, 0, false
		case !more:
			if len(buf) > 0 {
				events = append(make([]ParsedEvent, 0, len(buf)), buf...)
			}
			return events, slow, count, true
		}
		s.ws()
	}
}

// event decodes an event object (s at '{') into e, which it does not clear first: like
// encoding/json, a repeated key overwrites and a null leaves the value as it was.
func (s *jscan) event(e *Event, depth int) (wrongType, ok bool) {
	return s.object(depth, func(key []byte) (wrongType, ok bool) {
		return s.eventField(key, e, depth, false)
	})
}

// object decodes an object (s at its '{'), each member's value by member (s at the value);
// wrongType: some member's value had a type encoding/json would refuse.
func (s *jscan) object(depth int, member func(key []byte) (wrongType, ok bool)) (wrongType, ok bool) {
	if depth > fastMaxDepth {
		return false, false
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return false, true
	}
	for {
		key, ok := s.key()
		if !ok {
			return false, false
		}
		wt, ok := member(key)
		if !ok {
			return false, false
		}
		wrongType = wrongType || wt
		switch more, ok := s.after('}'); {
		case !ok:
			return false, false
		case !more:
			return wrongType, true
		}
	}
}

// eventField decodes the value of key (s at the value) into e. top: the key is in the body's
// object, where "key" and "events" are also fields.
func (s *jscan) eventField(key []byte, e *Event, depth int, top bool) (wrongType, ok bool) {
	var dst *string
	switch string(key) {
	case "type":
		dst = &e.Type
	case "name":
		dst = &e.Name
	case "event_id":
		dst = &e.EventID
	case "url":
		dst = &e.URL
	case "referrer":
		dst = &e.Referrer
	case "visitor_id":
		dst = &e.VisitorID
	case "fbclid":
		dst = &e.FBCLID
	case "gclid":
		dst = &e.GCLID
	case "gbraid":
		dst = &e.GBRAID
	case "wbraid":
		dst = &e.WBRAID
	case "ttclid":
		dst = &e.TTCLID
	case "fbc":
		dst = &e.FBC
	case "fbp":
		dst = &e.FBP
	case "ga_client_id":
		dst = &e.GAClientID
	case "ga_sessions":
		dst = &e.GASessions
	case "ttp":
		dst = &e.TTP
	case "email":
		dst = &e.Email
	case "phone":
		dst = &e.Phone
	case "consent":
		dst = &e.Consent
	case "occurred_at":
		return false, s.raw(&e.OccurredAt, depth+1)
	case "props":
		return false, s.raw(&e.Props, depth+1)
	case "webdriver":
		return s.boolean(&e.Webdriver, depth+1)
	case "pixel":
		return s.boolean(&e.Pixel, depth+1)
	case "utm":
		switch s.peek() {
		case '{':
			return s.utm(&e.UTM, depth+1)
		case 'n':
			return false, s.lit("null")
		}
		return true, s.skip(depth + 1)
	case "consent_signals":
		switch s.peek() {
		case '{':
			return s.strings(map[string]*string{"ad_user_data": &e.Signals.AdUserData, "ad_personalization": &e.Signals.AdPersonalization,
				"analytics": &e.Signals.Analytics}, signalFieldNames, depth+1)
		case 'n':
			return false, s.lit("null")
		}
		return true, s.skip(depth + 1)
	default:
		if foldsToField(key, eventFieldNames) || (top && (bytes.EqualFold(key, []byte("key")) || bytes.EqualFold(key, []byte("events")))) {
			return false, false
		}
		return false, s.skip(depth + 1)
	}
	return s.str(dst, depth+1)
}

// strings decodes an object of string fields (s at its '{'): each key of fields into its
// string; a key that folds to one of names (but is not exactly it) is left to encoding/json.
func (s *jscan) strings(fields map[string]*string, names []string, depth int) (wrongType, ok bool) {
	return s.object(depth, func(key []byte) (wrongType, ok bool) {
		if dst := fields[string(key)]; dst != nil {
			return s.str(dst, depth+1)
		}
		return false, !foldsToField(key, names) && s.skip(depth+1)
	})
}

func (s *jscan) utm(u *EventUTM, depth int) (wrongType, ok bool) {
	return s.object(depth, func(key []byte) (wrongType, ok bool) {
		var dst *string
		switch string(key) {
		case "source":
			dst = &u.Source
		case "medium":
			dst = &u.Medium
		case "campaign":
			dst = &u.Campaign
		case "content":
			dst = &u.Content
		case "term":
			dst = &u.Term
		default:
			return false, !foldsToField(key, utmFieldNames) && s.skip(depth+1)
		}
		return s.str(dst, depth+1)
	})
}

var (
	eventFieldNames = []string{"type", "name", "event_id", "occurred_at", "url", "referrer", "visitor_id",
		"fbclid", "gclid", "gbraid", "wbraid", "ttclid", "fbc", "fbp", "ga_client_id", "ga_sessions", "ttp", "utm", "email",
		"phone", "consent", "consent_signals", "webdriver", "pixel", "props"}
	utmFieldNames    = []string{"source", "medium", "campaign", "content", "term"}
	signalFieldNames = []string{"ad_user_data", "ad_personalization", "analytics"}
)

// foldsToField: encoding/json would match key (ASCII, not exactly a field name) to a field.
func foldsToField(key []byte, names []string) bool {
	for _, n := range names {
		if len(n) == len(key) && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// str decodes a string value into dst (s at the value); null leaves dst as it was.
func (s *jscan) str(dst *string, depth int) (wrongType, ok bool) {
	switch s.peek() {
	case '"':
		start := s.i
		plain, ok := s.skipString()
		if !ok {
			return false, false
		}
		if plain {
			*dst = s.bs[start+1 : s.i-1]
			return false, true
		}
		v, ok := decodeString(s.b[start:s.i])
		*dst = v
		return false, ok
	case 'n':
		return false, s.lit("null")
	}
	return true, s.skip(depth)
}

// boolean decodes a true or false value into dst (s at the value); null leaves dst as it was.
func (s *jscan) boolean(dst *bool, depth int) (wrongType, ok bool) {
	switch s.peek() {
	case 't':
		*dst = true
		return false, s.lit("true")
	case 'f':
		*dst = false
		return false, s.lit("false")
	case 'n':
		return false, s.lit("null")
	}
	return true, s.skip(depth)
}

// raw sets dst to a value's bytes, as json.RawMessage does (null included), without copying
// them: dst is a slice of the body (with no room to append into it), which ParseCollect's
// caller does not change afterwards.
func (s *jscan) raw(dst *json.RawMessage, depth int) bool {
	start := s.i
	if !s.skip(depth) {
		return false
	}
	*dst = s.b[start:s.i:s.i]
	return true
}

// key reads an object key and its colon, leaving s at the value. Keys with escapes or
// non-ASCII bytes are not decoded here (encoding/json folds some of them onto field names).
func (s *jscan) key() ([]byte, bool) {
	s.ws()
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			key := s.b[start:j]
			s.i = j + 1
			s.ws()
			if s.peek() != ':' {
				return nil, false
			}
			s.i++
			s.ws()
			return key, true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return nil, false
}

// after moves past the comma or the closing byte that ends the member or element s has just
// read: more is true after a comma, ok false when neither comes.
func (s *jscan) after(closing byte) (more, ok bool) {
	s.ws()
	c := s.peek()
	s.i++
	return c == ',', c == ',' || c == closing
}

func (s *jscan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jscan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *jscan) lit(l string) bool {
	if len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return true
	}
	return false
}

// skip checks one value (s at it) and moves past it.
func (s *jscan) skip(depth int) bool {
	if depth > fastMaxDepth {
		return false
	}
	switch c := s.peek(); c {
	case '"':
		_, ok := s.skipString()
		return ok
	case '{':
		s.i++
		s.ws()
		if s.peek() == '}' {
			s.i++
			return true
		}
		for {
			s.ws()
			if s.peek() != '"' {
				return false
			}
			if _, ok := s.skipString(); !ok {
				return false
			}
			s.ws()
			if s.peek() != ':' {
				return false
			}
			s.i++
			s.ws()
			if !s.skip(depth + 1) {
				return false
			}
			if more, ok := s.after('}'); !more {
				return ok
			}
		}
	case '[':
		s.i++
		s.ws()
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			s.ws()
			if !s.skip(depth + 1) {
				return false
			}
			if more, ok := s.after(']'); !more {
				return ok
			}
		}
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.number()
		}
		return false
	}
}

// number moves past a number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jscan) number() bool {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func (s *jscan) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// skipString moves past a string (s at its quote) that is valid JSON; plain: it has no escape
// and is valid UTF-8, so its bytes are its value.
func (s *jscan) skipString() (plain, ok bool) {
	j := s.i + 1
	plain = true
	ascii := true
	for j < len(s.b) {
		c := s.b[j]
		switch {
		case c == '"':
			if !ascii && plain && !utf8.Valid(s.b[s.i+1:j]) {
				plain = false
			}
			s.i = j + 1
			return plain, true
		case c == '\\':
			plain = false
			if j+1 >= len(s.b) {
				return false, false
			}
			switch s.b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(s.b) {
					return false, false
				}
				for _, h := range s.b[j+2 : j+6] {
					if !isHex(h) {
						return false, false
					}
				}
				j += 6
			default:
				return false, false
			}
		case c < 0x20:
			return false, false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			j++
		}
	}
	return false, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// decodeString decodes a string literal with escapes or invalid UTF-8 the way encoding/json
// does (lone surrogates and bad bytes become U+FFFD); such strings are rare in collect bodies.
func decodeString(lit []byte) (string, bool) {
	var v string
	if err := json.Unmarshal(lit, &v); err != nil {
		return "", false
	}
	return v, true
}

package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// appendJSON appends h as JSON, byte for byte what json.Marshal(h) gives (the hot index writes
// one per touchpoint, and reflection was a visible share of that path's CPU).
func (h *HotTouchpoint) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, h.ID)
	b = append(b, `,"source_id":`...)
	b = appendJSONString(b, h.SourceID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, h.Type)
	b = append(b, `,"occurred_at":"`...)
	b, err := h.OccurredAt.AppendText(b) // what time.Time.MarshalJSON writes between its quotes
	if err != nil {
		return nil, fmt.Errorf("ingest: hot touchpoint occurred_at: %w", err)
	}
	b = append(b, '"')
	for _, f := range [...]struct{ name, v string }{
		{`,"visitor_id":`, h.VisitorID}, {`,"fbclid":`, h.FBCLID}, {`,"gclid":`, h.GCLID},
		{`,"ttclid":`, h.TTCLID}, {`,"fbc":`, h.FBC}, {`,"fbp":`, h.FBP},
	} {
		if f.v != "" {
			b = append(b, f.name...)
			b = appendJSONString(b, f.v)
		}
	}
	if h.Bot {
		b = append(b, `,"bot":true`...)
	}
	return append(b, '}'), nil
}

// appendJSONString appends s quoted as encoding/json does: HTML-escaped (<, >, & as \u003c...),
// invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeHotJSON decodes a hot-index value as json.Unmarshal does into a zero HotTouchpoint, without reflection: the values the index holds are appendJSON's output (no
// whitespace, the field names as written, plain strings), which it reads directly, every string
// a slice of one copy of b. Anything else it does not read exactly as encoding/json would (a
// string with an escape or invalid UTF-8, whitespace, an unknown or differently cased key,
// null, a value of another type) goes to json.Unmarshal, so the result is always its result.
func decodeHotJSON(b []byte) (HotTouchpoint, error) {
	var h HotTouchpoint
	if decodeHotFast(b, &h) {
		return h, nil
	}
	var slow HotTouchpoint
	err := json.Unmarshal(b, &slow)
	return slow, err
}

// decodeHotFast is decodeHotJSON's direct path; false means "not read, ask encoding/json".
func decodeHotFast(b []byte, h *HotTouchpoint) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	var s string // one copy of b, which the strings below are slices of
	i := 1
	if b[i] == '}' {
		return i == len(b)-1
	}
	for {
		next, ok := hotString(b, i)
		if !ok || next >= len(b) || b[next] != ':' {
			return false
		}
		key := b[i+1 : next-1]
		i = next + 1
		if i >= len(b) {
			return false
		}
		switch string(key) {
		case "bot":
			switch {
			case bytes.HasPrefix(b[i:], []byte("true")):
				h.Bot, i = true, i+4
			case bytes.HasPrefix(b[i:], []byte("false")):
				h.Bot, i = false, i+5
			default:
				return false
			}
		case "occurred_at":
			next, ok := hotString(b, i)
			if !ok {
				return false
			}
			// What encoding/json hands time.Time's UnmarshalJSON: the literal, quotes included.
			if h.OccurredAt.UnmarshalJSON(b[i:next]) != nil {
				return false
			}
			i = next
		default:
			var f *string
			switch string(key) {
			case "id":
				f = &h.ID
			case "source_id":
				f = &h.SourceID
			case "type":
				f = &h.Type
			case "visitor_id":
				f = &h.VisitorID
			case "fbclid":
				f = &h.FBCLID
			case "gclid":
				f = &h.GCLID
			case "ttclid":
				f = &h.TTCLID
			case "fbc":
				f = &h.FBC
			case "fbp":
				f = &h.FBP
			default:
				return false
			}
			next, ok := hotString(b, i)
			if !ok {
				return false
			}
			if s == "" {
				s = string(b)
			}
			*f = s[i+1 : next-1]
			i = next
		}
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i == len(b)-1
		default:
			return false
		}
	}
}

// hotString reads the JSON string starting at b[i] when it needs no decoding (no escape, no
// control character, valid UTF-8) and returns the index after its closing quote.
func hotString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	start := i + 1
	ascii := true
	for j := start; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:j]) {
				return 0, false
			}
			return j + 1, true
		case c == '\\' || c < 0x20:
			return 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, false
}

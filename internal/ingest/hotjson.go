package ingest

import (
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

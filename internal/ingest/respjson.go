package ingest

import (
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/domain"
)

// writeCollectResponse writes resp as the 202 answer, the bytes httpx.WriteJSON wrote
// (json.NewEncoder's Encode: the JSON and a newline), with Cache-Control: no-store, without
// reflection and into a pooled buffer.
func writeCollectResponse(w http.ResponseWriter, resp *CollectResponse) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	buf := respBufs.Get().(*[]byte)
	*buf = append(resp.appendJSON((*buf)[:0]), '\n')
	_, _ = w.Write(*buf)
	if cap(*buf) <= 64<<10 {
		respBufs.Put(buf)
	}
}

// respBufs are the buffers collect responses are written into (a few hundred bytes each).
var respBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendJSON appends r as json.Marshal(r) writes it (the 202 body of every /v1/collect
// request, where encoding/json's reflection was a visible share of the handler's CPU).
func (r *CollectResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"accepted":`...)
	b = strconv.AppendInt(b, int64(r.Accepted), 10)
	b = append(b, `,"rejected":`...)
	b = strconv.AppendInt(b, int64(r.Rejected), 10)
	if r.VisitorID != "" {
		b = append(b, `,"visitor_id":`...)
		b = appendJSONString(b, r.VisitorID)
	}
	b = append(b, `,"results":`...)
	if r.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Results {
			if i > 0 {
				b = append(b, ',')
			}
			b = r.Results[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (e *EventResult) appendJSON(b []byte) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(e.Index), 10)
	if e.EventID != "" {
		b = append(b, `,"event_id":`...)
		b = appendJSONString(b, e.EventID)
	}
	b = append(b, `,"status":`...)
	b = appendJSONString(b, e.Status)
	if len(e.Errors) > 0 {
		b = append(b, `,"errors":`...)
		b = appendFieldErrors(b, e.Errors)
	}
	if len(e.Warnings) > 0 {
		b = append(b, `,"warnings":`...)
		b = appendFieldErrors(b, e.Warnings)
	}
	return append(b, '}')
}

func appendFieldErrors(b []byte, errs []domain.FieldError) []byte {
	b = append(b, '[')
	for i, fe := range errs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"field":`...)
		b = appendJSONString(b, fe.Field)
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, fe.Reason)
		b = append(b, '}')
	}
	return append(b, ']')
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

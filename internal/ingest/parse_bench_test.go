package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchBatch is a /v1/collect body of n events shaped like the ones the snippet sends.
func benchBatch(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"key":"pk_test","events":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		id := strconv.Itoa(i)
		b.WriteString(`{"type":"page_view","event_id":"e_` + id + `","occurred_at":1772366400000,` +
			`"url":"https://shop.example.com/produto/curso?fbclid=IwAR_x` + id + `&utm_source=facebook&utm_medium=paid",` +
			`"referrer":"https://l.facebook.com/","visitor_id":"k_8f3a2b1c9d","fbclid":"IwAR_x` + id + `",` +
			`"fbc":"fb.1.1772366400000.IwAR_x` + id + `","fbp":"fb.1.1772366400000.1234567890",` +
			`"ga_client_id":"123.456","utm":{"source":"facebook","medium":"paid","campaign":"lançamento"},` +
			`"consent":"granted","props":{"title":"Curso","value":97.5}}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

var benchLimits = Limits{MaxEvents: 100, MaxFutureSkew: 5 * time.Minute, MaxEventAge: 72 * time.Hour}

func BenchmarkParseCollect(b *testing.B) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, n := range []int{1, 10} {
		body := benchBatch(n)
		b.Run("events="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req, err := ParseCollect(body, benchLimits, now)
				if err != nil || len(req.Events[0].Errors) > 0 {
					b.Fatal(err, req.Events[0].Errors)
				}
			}
		})
	}
}

// benchSink keeps a benchmark's result alive, so that its buffer is allocated as in the handler.
var benchSink []byte

// BenchmarkCollectResponse writes the 202 body of a request of 10 accepted events, with
// encoding/json's Encoder (as before) and with the append encoder.
func BenchmarkCollectResponse(b *testing.B) {
	r := CollectResponse{Accepted: 10, VisitorID: "k_8f3a2b1c9d", Results: make([]EventResult, 10)}
	for i := range r.Results {
		r.Results[i] = EventResult{Index: i, EventID: "01JEV000000000000000000000" + strconv.Itoa(i), Status: "accepted"}
	}
	b.Run("json.Encoder", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := json.NewEncoder(&buf).Encode(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf := respBufs.Get().(*[]byte)
			*buf = append(r.appendJSON((*buf)[:0]), '\n')
			respBufs.Put(buf)
		}
	})
}

// BenchmarkReadBody reads a /v1/collect body of 10 events with io.ReadAll (as before) and with
// readBody sized from its Content-Length.
func BenchmarkReadBody(b *testing.B) {
	body := benchBatch(10)
	b.Run("io.ReadAll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := io.ReadAll(bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			benchSink = v
		}
	})
	b.Run("readBody", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := readBody(bytes.NewReader(body), int64(len(body)), 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			benchSink = v
		}
	})
}

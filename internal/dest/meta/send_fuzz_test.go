package meta

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/pii"
)

// FuzzParseResponse feeds arbitrary answers to the response classifier: it must not panic, must
// always decide, and must keep messages bounded.
func FuzzParseResponse(f *testing.F) {
	seeds := []struct {
		status int
		header string
		body   string
	}{
		{200, "", `{"events_received":1,"messages":[],"fbtrace_id":"AbCdEf123"}`},
		{400, "", `{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"is_transient":false,"fbtrace_id":"x"}}`},
		{400, `{"1":[{"estimated_time_to_regain_access":5}]}`, `{"error":{"code":17,"error_subcode":2446079}}`},
		{429, "", ``},
		{500, "", `<html>`},
		{200, "", `{"events_received":`},
	}
	for _, s := range seeds {
		f.Add(s.status, s.header, []byte(s.body))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, buc string, body []byte) {
		if status < 100 || status > 999 {
			status = 200 + status%300
			if status < 100 {
				status += 300
			}
		}
		h := http.Header{}
		h.Set("X-Business-Use-Case-Usage", buc)
		h.Set("Retry-After", strings.TrimSpace(buc))
		resp := &http.Response{StatusCode: status, Header: h}
		o := classify(resp, bytes.Clone(body), 1, now, "EAAfuzz0token")
		switch o.Kind {
		case dest.Delivered:
			if o.Reason != "" || status < 200 || status > 299 {
				t.Fatalf("delivered with %+v", o)
			}
		case dest.Retryable, dest.Permanent:
			if o.Reason == "" {
				t.Fatalf("no reason: %+v", o)
			}
		default:
			t.Fatalf("no decision: %+v", o)
		}
		if len(o.Message) > dest.MaxMessage+len("…") || o.RetryAfter < 0 {
			t.Fatalf("bad outcome %+v", o)
		}
	})
}

// FuzzBuild: any event either builds into valid JSON, identically twice, or is refused with an
// *dest.EventError; raw personal data never reaches the payload unhashed.
func FuzzBuild(f *testing.F) {
	f.Add("Purchase", "id-1", "maria@example.com", "+55 11 99999-8888", "São Paulo", "BRL", int64(19700), int64(-60))
	f.Add("", "", "", "", "", "", int64(-1), int64(-999999))
	f.Add("Lead", "x", "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f", "abc", "\xff", "JPY", int64(1), int64(0))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := &Meta{Now: func() time.Time { return now }}
	cfg := dest.Config{SettingPixelID: "1"}
	f.Fuzz(func(t *testing.T, name, id, email, phone, city, currency string, value, ageSeconds int64) {
		e := dest.Event{
			Name: name, EventID: id, EventTime: now.Add(time.Duration(ageSeconds) * time.Second),
			User:   dest.User{Emails: []string{email}, Phones: []string{phone}, City: city, FBP: "fb.1.1.1"},
			Custom: dest.Custom{ValueMinor: value, Currency: currency},
		}
		a, err := m.Build(cfg, []dest.Event{e})
		if err != nil {
			if len(dest.EventErrors(err)) != 1 {
				t.Fatalf("refusal without an EventError: %v", err)
			}
			return
		}
		b, _ := m.Build(cfg, []dest.Event{e})
		if !bytes.Equal(a, b) || !json.Valid(a) {
			t.Fatalf("bad or unstable payload: %s", a)
		}
		var p payload
		if err := json.Unmarshal(a, &p); err != nil || len(p.Data) != 1 {
			t.Fatalf("payload does not decode: %v", err)
		}
		u := p.Data[0].UserData
		for _, list := range [][]string{u.Em, u.Ph, u.Ct} {
			for _, h := range list {
				if !pii.IsSHA256Hex(h) || h != strings.ToLower(h) {
					t.Fatalf("unhashed value %q in payload %s", h, a)
				}
			}
		}
	})
}

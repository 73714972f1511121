package fakemeta

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParseRequest posts arbitrary bodies to the events edge: the fake must answer, never panic,
// and accept only what its checks let through.
func FuzzParseRequest(f *testing.F) {
	f.Add("application/json", `{"data":[{"event_name":"Purchase","event_time":1767225600,"event_id":"a","action_source":"other","user_data":{"fbp":"fb.1.1.1"}}],"access_token":"t"}`)
	f.Add("application/json", `{"data":[{"event_name":"x","event_time":1,"action_source":"website","user_data":{"em":"y"}}]}`)
	f.Add("application/x-www-form-urlencoded", `data=%5B%7B%7D%5D&access_token=t`)
	f.Add("text/plain", `{`)
	s := New()
	f.Fuzz(func(t *testing.T, contentType, body string) {
		req := httptest.NewRequest("POST", "/v25.0/123/events", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

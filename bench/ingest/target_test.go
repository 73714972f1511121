package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func testEvents() []event {
	at := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	url := "https://shop.example.com/p/1?utm_source=facebook&utm_campaign=bench&fbclid=IwARrun3"
	return []event{
		{typ: "page_view", id: "run-3-1-0", at: at, url: url, visitor: "k_bench3", client: 3},
		{typ: "lead", id: "run-3-1-1", at: at, url: url, visitor: "k_bench3", client: 3},
	}
}

func TestHubBody(t *testing.T) {
	t.Parallel()
	// The body Hub's figures were measured with, byte for byte.
	want := `{"key":"pk_1","events":[` +
		`{"type":"page_view","event_id":"run-3-1-0","occurred_at":1796328000000,"url":"https://shop.example.com/p/1?utm_source=facebook&utm_campaign=bench&fbclid=IwARrun3","visitor_id":"k_bench3","fbp":"fb.1.1796328000000.1234567890"},` +
		`{"type":"lead","event_id":"run-3-1-1","occurred_at":1796328000000,"url":"https://shop.example.com/p/1?utm_source=facebook&utm_campaign=bench&fbclid=IwARrun3","visitor_id":"k_bench3","fbp":"fb.1.1796328000000.1234567890","email":"bench3@example.com"}]}`
	if got := string(hubTarget{}.body("pk_1", testEvents())); got != want {
		t.Fatalf("hub body:\n got %s\nwant %s", got, want)
	}
}

func TestRudderBody(t *testing.T) {
	t.Parallel()
	var got struct {
		Batch []struct {
			Type, Event, MessageID, AnonymousID, OriginalTimestamp string
			Context                                                struct {
				Page   struct{ URL string }
				Traits map[string]string
			}
			Properties map[string]string
		}
	}
	if err := json.Unmarshal(rudderTarget{writeKey: "wk"}.body("wk", testEvents()), &got); err != nil {
		t.Fatalf("rudder body is not JSON: %v", err)
	}
	if len(got.Batch) != 2 {
		t.Fatalf("batch has %d messages, want 2", len(got.Batch))
	}
	page, lead := got.Batch[0], got.Batch[1]
	if page.Type != "page" || lead.Type != "track" || lead.Event != "lead" {
		t.Errorf("types: %q, %q/%q; want page, track/lead", page.Type, lead.Type, lead.Event)
	}
	for i, m := range got.Batch {
		e := testEvents()[i]
		if m.MessageID != e.id || m.AnonymousID != e.visitor || m.Context.Page.URL != e.url ||
			m.OriginalTimestamp != "2026-12-03T20:00:00.000Z" || m.Properties["fbp"] != "fb.1.1796328000000.1234567890" {
			t.Errorf("message %d = %+v", i, m)
		}
	}
	if lead.Context.Traits["email"] != "bench3@example.com" || page.Context.Traits != nil {
		t.Errorf("traits: page %v, lead %v", page.Context.Traits, lead.Context.Traits)
	}
}

func TestRudderRequest(t *testing.T) {
	t.Parallel()
	tg := rudderTarget{writeKey: "wk_1"}
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1"+tg.path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tg.header(req)
	if user, pass, ok := req.BasicAuth(); !ok || user != "wk_1" || pass != "" || req.URL.Path != "/v1/batch" {
		t.Errorf("request %s with basic auth %q:%q (%v), want /v1/batch as wk_1", req.URL.Path, user, pass, ok)
	}
	for _, c := range []struct {
		status   int
		ok       bool
		accepted int
	}{{http.StatusOK, true, 10}, {http.StatusAccepted, false, 0}, {http.StatusTooManyRequests, false, 0}, {http.StatusBadRequest, false, 0}} {
		if ok, n := tg.acked(c.status, []byte("OK"), 10); ok != c.ok || n != c.accepted {
			t.Errorf("acked(%d) = %v, %d; want %v, %d", c.status, ok, n, c.ok, c.accepted)
		}
	}
}

func TestGWTable(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"gw_jobs_1": true, "gw_jobs_12": true, "gw_jobs_1_1": true,
		"gw_job_status_1": false, "gw_jobs_": false, "gw_jobs_1_view": false, "rt_jobs_1": false,
	} {
		if got := gwTable.MatchString(name); got != want {
			t.Errorf("gwTable.MatchString(%q) = %v, want %v", name, got, want)
		}
	}
}

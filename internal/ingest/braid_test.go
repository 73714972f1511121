package ingest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/store"
)

// A visitor from a Google ad on iOS lands with gbraid or wbraid instead of gclid. Every way a
// visit reaches Hub keeps them on the touchpoint as it keeps gclid: /v1/collect (the snippet's
// fields, else the page URL's query), a tracking link and the noscript pixel; byte for byte
// (Google says they are case-sensitive).

// TestCollectKeepsGoogleIOSClickIDs: the event's own gbraid and wbraid, else the page URL's.
func TestCollectKeepsGoogleIOSClickIDs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, fields       string
		gbraid, wbraid     string
		gclid, visitorWant string
	}{
		{"the snippet's fields", `"url":"https://shop.example.com/p","gbraid":"0AAAAA-Gb_1","wbraid":"Wb.Case~Sensitive"`, "0AAAAA-Gb_1", "Wb.Case~Sensitive", "", "k_abc"},
		{"the page URL alone", `"url":"https://shop.example.com/p?wbraid=Wb.FromURL&utm_source=google"`, "", "Wb.FromURL", "", "k_abc"},
		{"both from the URL, with a gclid", `"url":"https://shop.example.com/p?gclid=Cj0&gbraid=0AAA%2Bgb&wbraid=wb"`, "0AAA+gb", "wb", "Cj0", "k_abc"},
		{"the event's beat the URL's", `"url":"https://shop.example.com/p?wbraid=url-one","wbraid":"event-one"`, "", "event-one", "", "k_abc"},
		{"one the URL spoils is dropped, the event kept", `"url":"https://shop.example.com/p?wbraid=a%20b&gbraid=` + strings.Repeat("x", 513) + `"`, "", "", "", "k_abc"},
		{"consent denied keeps none", `"url":"https://shop.example.com/p?wbraid=wb","gbraid":"gb","consent":"denied"`, "", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			rec := f.collect(`{"key":"pk_test","type":"page_view","visitor_id":"k_abc",` + c.fields + `}`)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status = %d; %s", rec.Code, rec.Body)
			}
			tps := f.store.touchpoints()
			if len(tps) != 1 {
				t.Fatalf("stored %d", len(tps))
			}
			tp := tps[0]
			if tp.GBRAID != c.gbraid || tp.WBRAID != c.wbraid || tp.GCLID != c.gclid || tp.VisitorID != c.visitorWant {
				t.Errorf("gbraid %q, wbraid %q, gclid %q, visitor %q; want %q, %q, %q, %q",
					tp.GBRAID, tp.WBRAID, tp.GCLID, tp.VisitorID, c.gbraid, c.wbraid, c.gclid, c.visitorWant)
			}
		})
	}
}

// TestCollectRefusesBadGoogleIOSClickIDs: an event's gbraid or wbraid follows gclid's rule (at
// most 512 printable ASCII characters without spaces): otherwise the event is refused with the
// field named and why, and its valid siblings still go through.
func TestCollectRefusesBadGoogleIOSClickIDs(t *testing.T) {
	t.Parallel()
	const reason = "must be at most 512 printable ASCII characters without spaces"
	for _, c := range []struct{ field, value string }{
		{"gbraid", "a b"}, {"wbraid", strings.Repeat("w", 513)}, {"gbraid", "ação"}, {"wbraid", `a\"b`}, {"wbraid", "a;b"},
	} {
		f := newFixture(t)
		rec := f.collect(`{"key":"pk_test","events":[{"type":"lead","` + c.field + `":"` + c.value + `"},{"type":"lead","gbraid":"ok","wbraid":"ok"}]}`)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("%s=%q: status = %d; %s", c.field, c.value, rec.Code, rec.Body)
		}
		var resp CollectResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, r := range resp.Results {
			for _, e := range r.Errors {
				found = found || (e.Field == "events[0]."+c.field && e.Reason == reason)
			}
		}
		if !found {
			t.Errorf("%s=%q: no error naming events[0].%s with %q: %s", c.field, c.value, c.field, reason, rec.Body)
		}
		if tps := f.store.touchpoints(); len(tps) != 1 || tps[0].GBRAID != "ok" || tps[0].WBRAID != "ok" {
			t.Errorf("%s=%q: stored %+v; want the valid sibling alone", c.field, c.value, tps)
		}
	}
}

// TestTrackingLinkKeepsGoogleIOSClickIDs: a tracking link's click keeps the query's gbraid and
// wbraid (an unusable one is dropped), and the redirect carries them to the landing page.
func TestTrackingLinkKeepsGoogleIOSClickIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.do(httptest.NewRequest("GET", "http://track.example.com/r/promo?wbraid=Wb_1.x&gbraid=a%20b&utm_source=google", nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("status = %d; %s", rec.Code, rec.Body)
	}
	tps := f.store.touchpoints()
	if len(tps) != 1 || tps[0].Type != "click" || tps[0].WBRAID != "Wb_1.x" || tps[0].GBRAID != "" {
		t.Fatalf("touchpoints = %+v", tps)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if q := loc.Query(); q.Get("wbraid") != "Wb_1.x" || q.Get("gbraid") != "a b" || q.Get("x") != "1" {
		t.Errorf("Location = %s; want the click's parameters copied as they came", loc)
	}
}

// TestPixelKeepsGoogleIOSClickIDs: the noscript pixel takes gbraid and wbraid from its own
// parameters, else from the page URL, and refuses a bad one with the field named.
func TestPixelKeepsGoogleIOSClickIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	page := url.QueryEscape("https://shop.example.com/noscript?wbraid=Wb-page")
	for _, q := range []string{"event_id=px1&url=" + page, "event_id=px2&gbraid=Gb-param&url=" + page} {
		if rec := f.do(httptest.NewRequest("GET", "/v1/pixel.gif?key=pk_test&"+q, nil)); rec.Code != http.StatusOK {
			t.Fatalf("%s: status = %d; %s", q, rec.Code, rec.Body)
		}
	}
	got := map[string]store.Touchpoint{}
	for _, tp := range f.store.touchpoints() {
		got[tp.ClientEventID] = tp
	}
	if tp := got["px1"]; tp.WBRAID != "Wb-page" || tp.GBRAID != "" {
		t.Errorf("px1: gbraid %q, wbraid %q", tp.GBRAID, tp.WBRAID)
	}
	if tp := got["px2"]; tp.WBRAID != "Wb-page" || tp.GBRAID != "Gb-param" {
		t.Errorf("px2: gbraid %q, wbraid %q", tp.GBRAID, tp.WBRAID)
	}
	rec := f.do(httptest.NewRequest("GET", "/v1/pixel.gif?key=pk_test&gbraid=a+b&url="+page, nil))
	if p := decodeProblem(t, rec.Body.Bytes()); rec.Code != http.StatusBadRequest || !hasField(p.Errors, "gbraid") {
		t.Errorf("bad gbraid: %d %+v", rec.Code, p)
	}
}

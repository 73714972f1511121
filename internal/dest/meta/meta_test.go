package meta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
)

var update = flag.Bool("update", false, "rewrite golden files")

const token = "EAAtest0secret0token+/="

// at is a Meta sending to the Graph API at baseURL (the operator's setting) through the
// egress client allowing loopback.
var at = desttest.At(meta.New, meta.OperatorGraphURL)

func TestConformance(t *testing.T) {
	t.Parallel()
	strict := fakemeta.New()
	strict.Token = "EAAstrict+token/with=symbols"
	desttest.RunStrict(t, at, fakemeta.New(), strict)
}

func newMeta() *meta.Meta {
	return &meta.Meta{Now: desttest.Clock, HubVersion: "1.2.3", Client: desttest.LoopbackClient()}
}

var cfg = dest.Config{meta.SettingPixelID: "1234567890"}

func creds() dest.Credentials {
	return dest.NewCredentials(map[string]string{meta.SettingAccessToken: token})
}

// purchase is a representative webhook purchase joined with its web visit: the store's hashes
// for e-mail and phone, the rest raw (Build hashes them), cookies and click ids as captured.
func purchase() dest.Event {
	e := desttest.Purchase()
	e.EventSourceURL = "https://loja.example.com.br/obrigado?utm_source=facebook&sck=k_8f3a2b1c9d"
	u := &e.User
	u.LastName, u.City, u.State, u.Zip, u.Country = "Teste", "São Paulo", "SP", "01310-100", "BR"
	u.ExternalIDs = []string{"00000000191"}
	u.UserAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"
	u.FBC = "fb.1.1767225000000.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
	u.FBP = "fb.1.1767224000000.1116446470"
	return e
}

func TestBuildGoldenPurchase(t *testing.T) {
	t.Parallel()
	c := dest.Config{meta.SettingPixelID: "1234567890", meta.SettingTestEventCode: "TEST12345"}
	got, err := newMeta().Build(c, []dest.Event{purchase()})
	if err != nil {
		t.Fatal(err)
	}
	desttest.Golden(t, filepath.Join("testdata", "purchase.golden.json"), got, *update)
	if strings.Contains(string(got), token) || strings.Contains(string(got), "access_token") {
		t.Error("the payload must not carry the token")
	}
}

// TestBuildGoldenFBCLIDOnly pins the payload of an order that carried only an fbclid back (no
// _fbc cookie, no click Hub saw): fbc is built as fb.1.<first seen ms>.<fbclid>, and the
// national id stays out of external_id without the tenant's opt-in.
func TestBuildGoldenFBCLIDOnly(t *testing.T) {
	t.Parallel()
	e := purchase()
	e.EventSourceURL, e.User.UserAgent, e.User.FBP = "", "", ""
	e.User.FBC = ""
	e.User.FBCLID = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
	e.User.FBCLIDAt = time.Date(2025, 12, 31, 23, 50, 0, 0, time.UTC)
	e.User.ExternalIDs = nil
	e.User.NationalIDs = []string{"3063d153fa20d07a4a2671bbec38df27444dff886539a1f4d5d21cafd15d22bb"}
	e.User.DateOfBirth, e.User.Gender = "1990-05-20", "f"
	got, err := newMeta().Build(cfg, []dest.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	desttest.Golden(t, filepath.Join("testdata", "purchase_fbclid.golden.json"), got, *update)
}

func mustBuild(t *testing.T, m *meta.Meta, c dest.Config, evs ...dest.Event) map[string]any {
	t.Helper()
	b, err := m.Build(c, evs)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func firstEvent(p map[string]any) map[string]any {
	return p["data"].([]any)[0].(map[string]any)
}

func TestBuildRules(t *testing.T) {
	t.Parallel()
	m := newMeta()

	t.Run("action source", func(t *testing.T) {
		e := purchase()
		if got := firstEvent(mustBuild(t, m, cfg, e))["action_source"]; got != "website" {
			t.Errorf("web visit: action_source = %v, want website", got)
		}
		e.EventSourceURL, e.User.UserAgent = "", ""
		if got := firstEvent(mustBuild(t, m, cfg, e))["action_source"]; got != "other" {
			t.Errorf("no web visit: action_source = %v, want other", got)
		}
		e.ActionSource = dest.ActionSystemGenerated
		if got := firstEvent(mustBuild(t, m, cfg, e))["action_source"]; got != "system_generated" {
			t.Errorf("explicit: action_source = %v", got)
		}
	})

	t.Run("raw personal data is hashed, hashes pass through", func(t *testing.T) {
		e := purchase()
		e.User.Emails = []string{" John_Smith@gmail.com ", "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f", "not-an-email"}
		e.User.Phones = []string{"+1 (650) 555-1212"}
		e.User.Gender, e.User.DateOfBirth = "Female", "2/16/1997"
		ud := firstEvent(mustBuild(t, m, cfg, e))["user_data"].(map[string]any)
		want := map[string]string{
			"em": `["62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"]`,
			"ph": `["e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"]`,
			"ge": `["252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111"]`,
			"db": `["01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c"]`,
		}
		for k, w := range want {
			got, _ := json.Marshal(ud[k])
			if string(got) != w {
				t.Errorf("user_data.%s = %s, want %s", k, got, w)
			}
		}
	})

	// Meta's parameters/fbp-and-fbc: fb.<subdomainIndex>.<creationTime ms>.<fbclid>, index 1 when
	// built server-side, the fbclid case-sensitive and copied byte for byte.
	t.Run("fbc is built from an fbclid when no cookie is known", func(t *testing.T) {
		e := purchase()
		e.User.FBC = ""
		e.User.FBCLID = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
		e.User.FBCLIDAt = time.Date(2019, 4, 8, 22, 49, 1, 205e6, time.UTC)
		ud := firstEvent(mustBuild(t, m, cfg, e))["user_data"].(map[string]any)
		if want := "fb.1.1554763741205.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"; ud["fbc"] != want {
			t.Errorf("fbc = %v, want %s", ud["fbc"], want)
		}
		e.User.FBC = "fb.1.1767225000000.FromTheCookie"
		if ud := firstEvent(mustBuild(t, m, cfg, e))["user_data"].(map[string]any); ud["fbc"] != e.User.FBC {
			t.Errorf("the cookie must win over a built value: fbc = %v", ud["fbc"])
		}
		e.User.FBC, e.User.FBCLIDAt = "", time.Time{}
		if ud := firstEvent(mustBuild(t, m, cfg, e))["user_data"].(map[string]any); ud["fbc"] != nil {
			t.Errorf("no creation time, no fbc: got %v", ud["fbc"])
		}
	})

	t.Run("an fbclid alone is a key Meta accepts", func(t *testing.T) {
		e := purchase()
		e.ActionSource = dest.ActionOther
		e.User = dest.User{FBCLID: "IwAR-only", FBCLIDAt: desttest.FixedNow.Add(-time.Hour)}
		ud := firstEvent(mustBuild(t, m, cfg, e))["user_data"].(map[string]any)
		if want := fmt.Sprintf("fb.1.%d.IwAR-only", desttest.FixedNow.Add(-time.Hour).UnixMilli()); ud["fbc"] != want {
			t.Errorf("fbc = %v, want %s", ud["fbc"], want)
		}
	})

	t.Run("national ids are sent only when the tenant opts in", func(t *testing.T) {
		e := purchase()
		cpf := "3063d153fa20d07a4a2671bbec38df27444dff886539a1f4d5d21cafd15d22bb" // SHA-256 of CPF 00000000191
		e.User.ExternalIDs = []string{"crm-42"}
		e.User.NationalIDs = []string{cpf}
		ids := func(c dest.Config) string {
			b, _ := json.Marshal(firstEvent(mustBuild(t, m, c, e))["user_data"].(map[string]any)["external_id"])
			return string(b)
		}
		if got := ids(cfg); strings.Contains(got, cpf) {
			t.Errorf("default: external_id = %s, must not carry the national id", got)
		}
		optIn := dest.Config{meta.SettingPixelID: "1234567890", meta.SettingSendNationalID: "true"}
		if got := ids(optIn); !strings.Contains(got, cpf) {
			t.Errorf("opted in: external_id = %s, want the national id %s in it", got, cpf)
		}
		if n := len(e.User.ExternalIDs); n != 1 {
			t.Errorf("Build changed the caller's external ids: %d", n)
		}
	})

	t.Run("limited data use only when set", func(t *testing.T) {
		e := purchase()
		if b, err := m.Build(cfg, []dest.Event{e}); err != nil || bytes.Contains(b, []byte("data_processing_options")) {
			t.Errorf("default: %s (%v), want no data_processing_options", b, err)
		}
		ldu := dest.Config{meta.SettingPixelID: "1234567890", meta.SettingLimitedDataUse: "true"}
		want := `"data_processing_options":["LDU"],"data_processing_options_country":0,"data_processing_options_state":0`
		if b, err := m.Build(ldu, []dest.Event{e}); err != nil || !bytes.Contains(b, []byte(want)) {
			t.Errorf("limited data use: %s (%v), want %s", b, err, want)
		}
	})

	t.Run("value is exact in major units", func(t *testing.T) {
		e := purchase()
		e.Custom = dest.Custom{ValueMinor: 1, Currency: "USD"}
		b, _ := m.Build(cfg, []dest.Event{e})
		if !bytes.Contains(b, []byte(`"custom_data":{"value":0.01,"currency":"USD"}`)) {
			t.Errorf("custom_data: %s", b)
		}
		e.Custom = dest.Custom{ValueMinor: 500, Currency: "JPY"}
		b, _ = m.Build(cfg, []dest.Event{e})
		if !bytes.Contains(b, []byte(`"value":500,"currency":"JPY"`)) {
			t.Errorf("custom_data: %s", b)
		}
	})

	t.Run("lead without value has no custom_data", func(t *testing.T) {
		e := purchase()
		e.Name, e.Custom = domain.EventLead, dest.Custom{}
		if _, ok := firstEvent(mustBuild(t, m, cfg, e))["custom_data"]; ok {
			t.Error("custom_data should be omitted")
		}
	})

	t.Run("partner agent and no test code by default", func(t *testing.T) {
		p := mustBuild(t, m, cfg, purchase())
		if p["partner_agent"] != "hub-1.2.3" {
			t.Errorf("partner_agent = %v", p["partner_agent"])
		}
		if _, ok := p["test_event_code"]; ok {
			t.Error("test_event_code must be absent unless configured")
		}
		if p := mustBuild(t, &meta.Meta{}, cfg, desttest.Events(1, time.Now())...); p["partner_agent"] != "hub-dev" {
			t.Errorf("default partner_agent = %v", p["partner_agent"])
		}
	})

	t.Run("physical store events may be 62 days old", func(t *testing.T) {
		e := purchase()
		e.ActionSource, e.EventTime = dest.ActionPhysicalStore, desttest.FixedNow.Add(-30*24*time.Hour)
		mustBuild(t, m, cfg, e)
	})

	t.Run("a full batch of 1000 builds", func(t *testing.T) {
		evs := desttest.Events(meta.MaxBatch, desttest.FixedNow.Add(-time.Hour))
		if p := mustBuild(t, m, cfg, evs...); len(p["data"].([]any)) != meta.MaxBatch {
			t.Error("not all events built")
		}
	})
}

func TestBuildRefusals(t *testing.T) {
	t.Parallel()
	m := newMeta()
	tests := []struct {
		name   string
		cfg    dest.Config
		mutate func(*dest.Event)
		reason string
	}{
		{"older than 7 days", cfg, func(e *dest.Event) { e.EventTime = desttest.FixedNow.Add(-7*24*time.Hour - time.Second) }, dest.ReasonStale},
		{"physical store older than 62 days", cfg, func(e *dest.Event) {
			e.ActionSource, e.EventTime = dest.ActionPhysicalStore, desttest.FixedNow.Add(-63*24*time.Hour)
		}, dest.ReasonStale},
		{"no name", cfg, func(e *dest.Event) { e.Name = "" }, dest.ReasonInvalidEvent},
		{"no event id", cfg, func(e *dest.Event) { e.EventID = "" }, dest.ReasonInvalidEvent},
		{"no time", cfg, func(e *dest.Event) { e.EventTime = time.Time{} }, dest.ReasonInvalidEvent},
		{"unknown action source", cfg, func(e *dest.Event) { e.ActionSource = "tv" }, dest.ReasonInvalidEvent},
		{"website without url", cfg, func(e *dest.Event) { e.ActionSource, e.EventSourceURL = dest.ActionWebsite, "" }, dest.ReasonInvalidEvent},
		{"negative value", cfg, func(e *dest.Event) { e.Custom.ValueMinor = -1 }, dest.ReasonInvalidEvent},
		{"purchase without currency", cfg, func(e *dest.Event) { e.Custom.Currency = "" }, dest.ReasonInvalidEvent},
		{"bad currency", cfg, func(e *dest.Event) { e.Custom.Currency = "real" }, dest.ReasonInvalidEvent},
		{"only weak keys", cfg, func(e *dest.Event) {
			e.ActionSource = dest.ActionOther
			e.User = dest.User{City: "São Paulo", Country: "BR", Zip: "01310-100", Gender: "f", UserAgent: "UA"}
		}, dest.ReasonWeakUserData},
		{"only fn and ge", cfg, func(e *dest.Event) {
			e.ActionSource = dest.ActionOther
			e.User = dest.User{FirstName: "Maria", Gender: "f"}
		}, dest.ReasonWeakUserData},
		{"no user data", cfg, func(e *dest.Event) { e.ActionSource, e.User = dest.ActionOther, dest.User{} }, dest.ReasonWeakUserData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			good, bad := purchase(), purchase()
			tt.mutate(&bad)
			_, err := m.Build(tt.cfg, []dest.Event{good, bad})
			ees := dest.EventErrors(err)
			if len(ees) != 1 || ees[0].Index != 1 || ees[0].Reason != tt.reason {
				t.Fatalf("Build err = %v, want one %s refusal for event 1", err, tt.reason)
			}
		})
	}
}

// The events setting is applied once, when deliveries are planned (dest.EventEnabled): Build
// and Send send what they are given, so a purchase the planner let through is never refused here.
func TestBuildDoesNotFilterEvents(t *testing.T) {
	t.Parallel()
	m := newMeta()
	for _, events := range []string{"purchase", "Lead, InitiateCheckout"} {
		cfg := dest.Config{meta.SettingPixelID: "1", meta.SettingEvents: events}
		if p := mustBuild(t, m, cfg, purchase()); len(p["data"].([]any)) != 1 {
			t.Errorf("events %q: Build = %v, want the purchase", events, p)
		}
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	m := meta.New(dest.Env{})
	tests := []struct {
		cfg   dest.Config
		field string // "" = valid
	}{
		{dest.Config{meta.SettingPixelID: "123"}, ""},
		{dest.Config{meta.SettingPixelID: "123", meta.SettingAPIVersion: "v26.0", meta.SettingEvents: "Purchase,Lead", meta.SettingTestEventCode: "TEST1"}, ""},
		{dest.Config{}, meta.SettingPixelID},
		{dest.Config{meta.SettingPixelID: "px-123"}, meta.SettingPixelID},
		{dest.Config{meta.SettingPixelID: "123", meta.SettingAPIVersion: "25.0"}, meta.SettingAPIVersion},
		// The Graph API's address is the operator's (HUB_META_GRAPH_URL), never a tenant's.
		{dest.Config{meta.SettingPixelID: "123", "graph_url": "http://169.254.169.254"}, "graph_url"},
		{dest.Config{meta.SettingPixelID: "123", "graph_url": "https://graph.facebook.com"}, "graph_url"},
		{dest.Config{meta.SettingPixelID: "123", meta.SettingEvents: "Purchase Lead"}, meta.SettingEvents},
		{dest.Config{meta.SettingPixelID: "123", meta.SettingAccessToken: token}, meta.SettingAccessToken},
		{dest.Config{meta.SettingPixelID: "123", meta.SettingSendNationalID: "true"}, ""},
		{dest.Config{meta.SettingPixelID: "123", meta.SettingSendNationalID: "yes"}, meta.SettingSendNationalID},
		{dest.Config{meta.SettingPixelID: "123", meta.SettingLimitedDataUse: "true"}, ""},
		{dest.Config{meta.SettingPixelID: "123", meta.SettingLimitedDataUse: "on"}, meta.SettingLimitedDataUse},
	}
	for _, tt := range tests {
		err := m.ValidateConfig(tt.cfg)
		if tt.field == "" {
			if err != nil {
				t.Errorf("ValidateConfig(%v) = %v", tt.cfg, err)
			}
			continue
		}
		var ce *dest.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("ValidateConfig(%v) = %v, want a problem with %s", tt.cfg, err, tt.field)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Error("the error quotes the token")
		}
	}
}

type capture struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (c *capture) handler(status int, header http.Header, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs, c.body = append(c.reqs, r), append(c.body, b)
		c.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

func TestSendRequestShape(t *testing.T) {
	t.Parallel()
	var c capture
	srv := httptest.NewServer(c.handler(200, nil, `{"events_received":1,"messages":[],"fbtrace_id":"AbC"}`))
	defer srv.Close()
	m := newMeta()
	m.GraphURL = srv.URL
	conf := dest.Config{meta.SettingPixelID: "1234567890", meta.SettingAPIVersion: "v24.0"}
	res, err := m.Send(context.Background(), conf, creds(), []dest.Event{purchase()})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Kind != dest.Delivered || o.TraceID != "AbC" || o.HTTPStatus != 200 || o.EventID != "hotmart:HP1234567890:purchase" {
		t.Errorf("outcome = %+v", o)
	}
	r := c.reqs[0]
	if r.Method != http.MethodPost || r.URL.Path != "/v24.0/1234567890/events" {
		t.Errorf("request = %s %s", r.Method, r.URL.Path)
	}
	// The token is in the body, never in the URL (which access logs keep).
	if r.URL.RawQuery != "" || strings.Contains(r.RequestURI, "access_token") {
		t.Errorf("request URI %q carries a query", r.RequestURI)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var sent map[string]any
	if err := json.Unmarshal(c.body[0], &sent); err != nil {
		t.Fatal(err)
	}
	if sent["access_token"] != token {
		t.Errorf("body access_token = %v, want the token", sent["access_token"])
	}
	delete(sent, "access_token")
	want, _ := m.Build(conf, []dest.Event{purchase()})
	if bytes.Contains(want, []byte(token)) || bytes.Contains(want, []byte("access_token")) {
		t.Errorf("Build's output holds the token: %s", want)
	}
	var built map[string]any
	if err := json.Unmarshal(want, &built); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sent, built) {
		t.Errorf("body is not Build's output plus the token:\n%s\n%s", c.body[0], want)
	}
}

func TestSendDefaultsToGraphFacebook(t *testing.T) {
	t.Parallel()
	var seen string
	m := newMeta()
	m.Client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = r.URL.Scheme + "://" + r.URL.Host + r.URL.Path
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"events_received":1}`))}, nil
	})}
	res, _ := m.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
	if seen != "https://graph.facebook.com/v25.0/1234567890/events" || res.Outcomes[0].Kind != dest.Delivered {
		t.Errorf("posted to %q, outcome %+v", seen, res.Outcomes[0])
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestClassify(t *testing.T) {
	t.Parallel()
	graphErr := func(code, sub int, transient bool) string {
		return fmt.Sprintf(`{"error":{"message":"m %d","type":"OAuthException","code":%d,"error_subcode":%d,"is_transient":%t,"fbtrace_id":"T%d"}}`, code, code, sub, transient, code)
	}
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		kind       dest.Kind
		reason     string
		code       int
		retryAfter time.Duration
	}{
		{"ok", 200, nil, `{"events_received":1,"messages":[],"fbtrace_id":"x"}`, dest.Delivered, "", 0, 0},
		{"ok but wrong count", 200, nil, `{"events_received":0}`, dest.Retryable, dest.ReasonMalformedResponse, 0, 0},
		{"ok but html", 200, nil, `<html>`, dest.Retryable, dest.ReasonMalformedResponse, 0, 0},
		{"expired token", 400, nil, graphErr(190, 463, false), dest.Permanent, dest.ReasonInvalidToken, 190, 0},
		{"session", 400, nil, graphErr(102, 0, false), dest.Permanent, dest.ReasonInvalidToken, 102, 0},
		{"permission 10", 403, nil, graphErr(10, 0, false), dest.Permanent, dest.ReasonPermission, 10, 0},
		{"permission 200", 403, nil, graphErr(200, 0, false), dest.Permanent, dest.ReasonPermission, 200, 0},
		{"policy", 400, nil, graphErr(368, 0, false), dest.Permanent, dest.ReasonPolicyBlocked, 368, 0},
		{"invalid parameter", 400, nil, graphErr(100, 0, false), dest.Permanent, dest.ReasonInvalidParameter, 100, 0},
		{"too old", 400, nil, graphErr(100, 2804003, false), dest.Permanent, dest.ReasonStale, 100, 0},
		{"transient flag", 400, nil, graphErr(100, 0, true), dest.Retryable, dest.ReasonTransient, 100, 0},
		{"unknown 1", 400, nil, graphErr(1, 0, false), dest.Retryable, dest.ReasonTransient, 1, 0},
		{"service 2", 400, nil, graphErr(2, 0, false), dest.Retryable, dest.ReasonTransient, 2, 0},
		{"app rate 4", 400, nil, graphErr(4, 0, false), dest.Retryable, dest.ReasonRateLimited, 4, 0},
		{"user rate 17 with BUC header", 400, http.Header{"X-Business-Use-Case-Usage": {`{"123":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":5},{"estimated_time_to_regain_access":2}]}`}},
			graphErr(17, 2446079, false), dest.Retryable, dest.ReasonRateLimited, 17, 5 * time.Minute},
		{"app limit 341", 400, nil, graphErr(341, 0, false), dest.Retryable, dest.ReasonRateLimited, 341, 0},
		{"too many calls 613", 400, nil, graphErr(613, 1487742, false), dest.Retryable, dest.ReasonRateLimited, 613, 0},
		{"429 seconds", 429, http.Header{"Retry-After": {"30"}}, ``, dest.Retryable, dest.ReasonRateLimited, 0, 30 * time.Second},
		{"429 date", 429, http.Header{"Retry-After": {desttest.FixedNow.Add(time.Minute).Format(http.TimeFormat)}}, ``, dest.Retryable, dest.ReasonRateLimited, 0, time.Minute},
		{"500", 500, nil, graphErr(2, 0, true), dest.Retryable, dest.ReasonServerError, 2, 0},
		{"503 html", 503, nil, `<html>busy</html>`, dest.Retryable, dest.ReasonServerError, 0, 0},
		{"408", 408, nil, ``, dest.Retryable, dest.ReasonTimeout, 0, 0},
		{"404 html", 404, nil, `not found`, dest.Permanent, dest.ReasonRejected, 0, 0},
		{"redirect not followed", 302, http.Header{"Location": {"https://evil.example/"}}, ``, dest.Permanent, dest.ReasonRejected, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c capture
			srv := httptest.NewServer(c.handler(tt.status, tt.header, tt.body))
			defer srv.Close()
			m := newMeta()
			m.GraphURL = srv.URL
			res, err := m.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
			if err != nil {
				t.Fatal(err)
			}
			o := res.Outcomes[0]
			if o.Kind != tt.kind || o.Reason != tt.reason || o.Code != tt.code || o.RetryAfter != tt.retryAfter || o.HTTPStatus != tt.status {
				t.Errorf("outcome = %+v, want %s/%s code %d retry-after %v status %d", o, tt.kind, tt.reason, tt.code, tt.retryAfter, tt.status)
			}
			if tt.code != 0 && o.TraceID != fmt.Sprintf("T%d", tt.code) {
				t.Errorf("TraceID = %q", o.TraceID)
			}
			if len(c.reqs) != 1 {
				t.Errorf("%d requests, want 1", len(c.reqs))
			}
		})
	}
}

// Meta's message could quote the request; the transport's error quotes the URL, token included.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, res dest.BatchResult) {
		t.Helper()
		s := fmt.Sprintf("%+v %#v", res, res)
		for _, leak := range []string{token, "EAAtest0secret0token%2B%2F%3D"} {
			if strings.Contains(s, leak) {
				t.Errorf("token leaked: %s", s)
			}
		}
	}
	t.Run("echoed by Meta", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var b struct {
				AccessToken string `json:"access_token"`
			}
			_ = json.NewDecoder(r.Body).Decode(&b)
			w.WriteHeader(400)
			msg, _ := json.Marshal("bad token " + b.AccessToken + " in " + r.URL.String())
			fmt.Fprintf(w, `{"error":{"message":%s,"code":190,"error_user_msg":%s}}`, msg, msg)
		}))
		defer srv.Close()
		m := newMeta()
		m.GraphURL = srv.URL
		res, _ := m.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
		if res.Outcomes[0].Reason != dest.ReasonInvalidToken || !strings.Contains(res.Outcomes[0].Message, "[REDACTED]") {
			t.Errorf("outcome = %+v", res.Outcomes[0])
		}
		check(t, res)
	})
	t.Run("network error", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close() // connection refused
		m := newMeta()
		m.GraphURL = url
		res, _ := m.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
		if o := res.Outcomes[0]; o.Kind != dest.Retryable || o.Reason != dest.ReasonNetwork {
			t.Errorf("outcome = %+v", o)
		}
		check(t, res)
	})
	t.Run("client timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		m := newMeta()
		m.GraphURL = srv.URL
		m.Client = egress.New(egress.Config{Allow: desttest.Loopback, Timeout: 100 * time.Millisecond})
		res, _ := m.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
		if o := res.Outcomes[0]; o.Kind != dest.Retryable || o.Reason != dest.ReasonTimeout {
			t.Errorf("outcome = %+v", o)
		}
		check(t, res)
	})
}

// One event Meta refuses must not sink the other 9: the batch is split until it is found.
func TestSendIsolatesTheBadEvent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		var p struct {
			Data []struct {
				EventID string `json:"event_id"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&p)
		for _, e := range p.Data {
			if e.EventID == "desttest:order-6:purchase" {
				w.WriteHeader(400)
				io.WriteString(w, `{"error":{"message":"(#100) Invalid parameter","code":100,"fbtrace_id":"bad"}}`)
				return
			}
		}
		fmt.Fprintf(w, `{"events_received":%d,"messages":[],"fbtrace_id":"ok"}`, len(p.Data))
	}))
	defer srv.Close()
	m := newMeta()
	m.GraphURL = srv.URL
	evs := desttest.Events(10, desttest.FixedNow.Add(-time.Hour))
	res, err := m.Send(context.Background(), cfg, creds(), evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range res.Outcomes {
		want := dest.Delivered
		if i == 6 {
			want = dest.Permanent
		}
		if o.Kind != want || o.EventID != evs[i].EventID {
			t.Errorf("outcome %d = %+v, want %s", i, o, want)
		}
	}
	if res.Outcomes[6].Reason != dest.ReasonInvalidParameter || res.Outcomes[6].TraceID != "bad" {
		t.Errorf("bad event outcome = %+v", res.Outcomes[6])
	}
	if res.Requests != requests || requests > 10 {
		t.Errorf("Requests = %d, server saw %d", res.Requests, requests)
	}
}

// Locally refused events are not sent; the rest are.
func TestSendRefusesStaleWithoutSending(t *testing.T) {
	t.Parallel()
	fake := fakemeta.New()
	fake.Now = desttest.Clock
	srv := httptest.NewServer(fake)
	defer srv.Close()
	conf, cr := fake.Settings()
	m := newMeta()
	m.GraphURL = srv.URL
	stale, fresh := purchase(), purchase()
	stale.EventID, stale.EventTime = "stale", desttest.FixedNow.Add(-8*24*time.Hour)
	res, err := m.Send(context.Background(), conf, cr, []dest.Event{stale, fresh})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Kind != dest.Permanent || o.Reason != dest.ReasonStale || o.EventID != "stale" {
		t.Errorf("stale outcome = %+v", o)
	}
	if o := res.Outcomes[1]; o.Kind != dest.Delivered {
		t.Errorf("fresh outcome = %+v", o)
	}
	if got := fake.Accepted(); len(got) != 1 || got[fresh.EventID] != 1 {
		t.Errorf("fake accepted %v", got)
	}

	// All refused: no request at all.
	res, _ = m.Send(context.Background(), conf, cr, []dest.Event{stale})
	if res.Requests != 0 || fake.Requests() != 1 {
		t.Errorf("Requests = %d, fake saw %d", res.Requests, fake.Requests())
	}
}

func TestSendTestEventCode(t *testing.T) {
	t.Parallel()
	fake := fakemeta.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	conf, cr := fake.Settings()
	conf[meta.SettingTestEventCode] = "TEST12345"
	evs := desttest.Events(1, time.Now().Add(-time.Minute))
	if res, _ := at(srv.URL).Send(context.Background(), conf, cr, evs); res.Outcomes[0].Kind != dest.Delivered {
		t.Fatalf("outcome = %+v", res.Outcomes[0])
	}
	if got := fake.Events(); len(got) != 1 || got[0].TestEventCode != "TEST12345" {
		t.Errorf("fake events = %+v", got)
	}
	if n := fake.TokensInURL(); n != 0 {
		t.Errorf("%d requests carried the token in the URL", n)
	}
}

// The fake authenticates the body's token only, and refuses (and counts) one in the URL.
func TestFakeAuthenticatesTheBodyToken(t *testing.T) {
	t.Parallel()
	fake := fakemeta.New()
	fake.Token = "EAAbody+only/token="
	srv := httptest.NewServer(fake)
	defer srv.Close()
	conf, cr := fake.Settings()
	evs := desttest.Events(2, time.Now().Add(-time.Minute))
	res, _ := at(srv.URL).Send(context.Background(), conf, cr, evs)
	for i, o := range res.Outcomes {
		if o.Kind != dest.Delivered {
			t.Errorf("outcome %d = %+v", i, o)
		}
	}
	if n := fake.TokensInURL(); n != 0 || fake.Requests() != 1 {
		t.Errorf("token in the URL %d times, %d requests", n, fake.Requests())
	}
	res, _ = at(srv.URL).Send(context.Background(), conf, dest.NewCredentials(map[string]string{meta.SettingAccessToken: "EAAwrong"}), evs)
	if o := res.Outcomes[0]; o.Reason != dest.ReasonInvalidToken {
		t.Errorf("wrong token: outcome %+v", o)
	}
}

// graph_url was a tenant setting: any value is refused with a field error naming the operator's
// setting, and a Send with it stored reaches nothing.
func TestGraphURLIsNotASetting(t *testing.T) {
	t.Parallel()
	var c capture
	srv := httptest.NewServer(c.handler(200, nil, `{"events_received":1}`))
	defer srv.Close()
	m := newMeta()
	bad := dest.Config{meta.SettingPixelID: "123", "graph_url": srv.URL}
	var ce *dest.ConfigError
	if err := m.ValidateConfig(bad); !errors.As(err, &ce) || len(ce.Problems) != 1 ||
		ce.Problems[0] != (domain.FieldError{Field: "graph_url", Reason: "not a destination setting; the operator sets HUB_META_GRAPH_URL"}) {
		t.Fatalf("ValidateConfig = %v", err)
	}
	if _, ok := m.Spec().Setting("graph_url"); ok {
		t.Error("the spec still declares graph_url")
	}
	res, _ := m.Send(context.Background(), bad, creds(), []dest.Event{purchase()})
	if o := res.Outcomes[0]; o.Kind != dest.Permanent || o.Reason != dest.ReasonInvalidConfig || res.Requests != 0 {
		t.Errorf("outcome = %+v, %d requests", o, res.Requests)
	}
	if len(c.reqs) != 0 {
		t.Errorf("%d requests reached the tenant's URL", len(c.reqs))
	}
}

// Without the operator's allow-list, the default client refuses a Graph API URL on loopback,
// private or metadata addresses, and says what to fix without naming the address.
func TestSendRefusesPrivateGraphURL(t *testing.T) {
	t.Parallel()
	var c capture
	srv := httptest.NewServer(c.handler(200, nil, `{"events_received":1}`))
	defer srv.Close()
	for _, u := range []string{srv.URL, "http://localhost:" + srv.URL[strings.LastIndex(srv.URL, ":")+1:], "http://169.254.169.254", "http://10.0.0.1:8080"} {
		m := &meta.Meta{GraphURL: u, Now: desttest.Clock} // nil Client: egress.Default
		res, _ := m.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
		o := res.Outcomes[0]
		if o.Kind != dest.Retryable || o.Reason != dest.ReasonNetwork || !strings.Contains(o.Message, "HUB_EGRESS_ALLOW") {
			t.Errorf("%s: outcome = %+v", u, o)
		}
		for _, leak := range []string{"127.0.0.1", "169.254.169.254", "10.0.0.1", token} {
			if strings.Contains(o.Message, leak) {
				t.Errorf("%s: the message names %s: %s", u, leak, o.Message)
			}
		}
	}
	if len(c.reqs) != 0 {
		t.Errorf("%d requests reached the loopback server", len(c.reqs))
	}
}

// A tenant sees Meta's error code, subcode, message and fbtrace_id, and nothing of an answer
// that is not a Graph API error.
func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"graph error", 400, `{"error":{"message":"Error validating access token: Session has expired.","type":"OAuthException","code":190,"error_subcode":463,"error_user_title":"Token expired","error_user_msg":"Get a new token","fbtrace_id":"AbC123"}}`,
			"meta: OAuthException: Error validating access token: Session has expired. (Token expired: Get a new token) [code 190, subcode 463, fbtrace_id AbC123]"},
		{"graph error without subcode", 500, `{"error":{"message":"An unexpected error has occurred.","code":2,"is_transient":true}}`,
			"meta: An unexpected error has occurred. [code 2]"},
		{"html page", 502, `<html><body>internal admin panel: db password hunter2</body></html>`, "meta: unexpected answer: HTTP 502"},
		{"other json", 400, `{"Code":"Success","AccessKeyId":"ASIAINTERNAL","SecretAccessKey":"hunter2"}`, "meta: unexpected answer: HTTP 400"},
		{"error as a string", 403, `{"error":"hunter2 is not allowed"}`, "meta: unexpected answer: HTTP 403"},
		{"empty error object", 404, `{"error":{"detail":"hunter2"}}`, "meta: unexpected answer: HTTP 404"},
		{"2xx not an answer", 200, `ami-id\ninstance-id hunter2`, "meta: unexpected answer: HTTP 200"},
		{"redirect", 302, `see hunter2`, "meta: unexpected answer: HTTP 302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c capture
			srv := httptest.NewServer(c.handler(tt.status, http.Header{"Location": {"http://169.254.169.254/"}}, tt.body))
			defer srv.Close()
			m := newMeta()
			m.GraphURL = srv.URL
			res, _ := m.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
			if o := res.Outcomes[0]; o.Message != tt.want {
				t.Errorf("message = %q, want %q", o.Message, tt.want)
			}
		})
	}
}

// The operator's settings reach the destination at construction: the Graph API's address, and
// the API version of a destination that sets none (a destination's own version wins).
func TestOperatorSettings(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		_, _ = io.WriteString(w, `{"events_received":1,"fbtrace_id":"T"}`)
	}))
	t.Cleanup(srv.Close)
	m := meta.New(dest.Env{Client: desttest.LoopbackClient(),
		Operator: map[string]string{meta.OperatorGraphURL.Env: srv.URL, meta.OperatorAPIVersion.Env: "v26.0"}})
	if st, _ := m.Spec().Setting(meta.SettingAPIVersion); st.Default != "v26.0" {
		t.Errorf("api_version default = %q, want the operator's", st.Default)
	}
	creds := dest.NewCredentials(map[string]string{meta.SettingAccessToken: token})
	for _, cfg := range []dest.Config{{meta.SettingPixelID: "42"}, {meta.SettingPixelID: "42", meta.SettingAPIVersion: "v24.0"}} {
		res, err := m.Send(context.Background(), cfg, creds, desttest.Events(1, time.Now().Add(-time.Minute)))
		if err != nil || res.Outcomes[0].Kind != dest.Delivered {
			t.Fatalf("Send: %+v %v", res, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(paths, " ") != "/v26.0/42/events /v24.0/42/events" {
		t.Errorf("paths = %q", paths)
	}
	if st, _ := meta.New(dest.Env{}).Spec().Setting(meta.SettingAPIVersion); st.Default != meta.DefaultAPIVersion {
		t.Errorf("without the operator's: default %q", st.Default)
	}
}

// A long token Meta quotes past the message's cut must not leave its first part behind: the
// message is redacted before it is cut, on an error and on a success's messages alike.
func TestTokenAtTheCutNeverLeaks(t *testing.T) {
	t.Parallel()
	long := "EAAG" + strings.Repeat("Zx9Q", 50)
	for _, tt := range []struct {
		name   string
		status int
		body   func(quoted string) string
	}{
		{"error", 400, func(q string) string {
			return fmt.Sprintf(`{"error":{"message":%s,"type":"OAuthException","code":190}}`, q)
		}},
		{"success messages", 200, func(q string) string {
			return fmt.Sprintf(`{"events_received":1,"messages":[%s],"fbtrace_id":"AbC"}`, q)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var b struct {
					AccessToken string `json:"access_token"`
				}
				_ = json.NewDecoder(r.Body).Decode(&b)
				q, _ := json.Marshal(strings.Repeat("x", 400) + " Malformed access token " + b.AccessToken)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body(string(q)))
			}))
			defer srv.Close()
			m := newMeta()
			m.GraphURL = srv.URL
			res, err := m.Send(context.Background(), cfg, dest.NewCredentials(map[string]string{meta.SettingAccessToken: long}), []dest.Event{purchase()})
			if err != nil {
				t.Fatal(err)
			}
			msg := res.Outcomes[0].Message
			if !strings.Contains(msg, "Malformed access token") {
				t.Fatalf("message = %q, want Meta's text", msg)
			}
			if strings.Contains(msg, long[:12]) {
				t.Errorf("message keeps part of the token: %q", msg)
			}
		})
	}
}

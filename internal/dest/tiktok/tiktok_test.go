package tiktok_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/tiktok"
	"github.com/hubtrack/hub/internal/dest/tiktok/faketiktok"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
)

var update = flag.Bool("update", false, "rewrite golden files")

const token = "ttTest0secret0token+/="

var at = desttest.At(tiktok.New, tiktok.OperatorAPIURL)

func TestConformance(t *testing.T) {
	t.Parallel()
	strict := faketiktok.New()
	strict.Token = "ttstrict+token/with=symbols"
	desttest.RunStrict(t, at, faketiktok.New(), strict)
}

func newTikTok(baseURL string) *tiktok.TikTok {
	return &tiktok.TikTok{APIURL: baseURL, Now: desttest.Clock, HubVersion: "1.2.3",
		Client: desttest.LoopbackClient()}
}

var cfg = dest.Config{tiktok.SettingPixelCode: "CXXXXXXXXXXXXXXXXXXX"}

func creds() dest.Credentials {
	return dest.NewCredentials(map[string]string{tiktok.SettingAccessToken: token})
}

// purchase is a webhook purchase joined with its web visit, as the delivery worker builds it:
// the store's hashes for e-mail and phone (Meta's form, and TikTok's own phone hash), the visitor
// id raw, click ids as captured.
func purchase() dest.Event {
	e := desttest.Purchase()
	e.EventSourceURL, e.Referrer = "https://loja.example.com.br/oferta?ttclid=E.C.P.abc123&utm_source=tiktok", "https://www.tiktok.com/"
	u := &e.User
	// +5511999998888 by TikTok's rule (E.164 with the '+'), hashed at intake.
	u.TikTokPhones = []string{"6ff01b83d6cd5a652fbd5730a4aa124c3ca8f7e65c805f3323fea3e726d93678"}
	u.ExternalIDs, u.NationalIDs = []string{"k_8f3a2b1c9d"}, []string{"00000000191"}
	u.UserAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"
	u.FBC, u.TTCLID, u.TTP = "fb.1.1767225000000.IwAR2F4", "E.C.P.abc123", "2Q3aTTPcookie"
	return e
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	desttest.Golden(t, filepath.Join("testdata", name), got, *update)
}

func TestBuildGoldenPurchase(t *testing.T) {
	t.Parallel()
	c := dest.Config{tiktok.SettingPixelCode: "CXXXXXXXXXXXXXXXXXXX", tiktok.SettingTestEventCode: "TEST12345"}
	got, err := newTikTok("").Build(c, []dest.Event{purchase()})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "purchase.golden.json", got)
	for _, leak := range []string{token, "Access-Token", "access_token", "00000000191", "Maria", "fb.1."} {
		if strings.Contains(string(got), leak) {
			t.Errorf("the payload carries %q", leak)
		}
	}
}

// The old names, the limited data use flag and a lead from the snippet (no value).
func TestBuildGoldenLegacyNamesLead(t *testing.T) {
	t.Parallel()
	c := dest.Config{tiktok.SettingPixelCode: "CXXXXXXXXXXXXXXXXXXX",
		tiktok.SettingEventNames: "purchase=completepayment, Lead=SubmitForm", tiktok.SettingLimitedDataUse: "true"}
	lead := dest.Event{Name: domain.EventLead, EventID: "lead-1", EventTime: desttest.FixedNow.Add(-time.Minute),
		EventSourceURL: "https://loja.example.com.br/", User: dest.User{Emails: []string{" Maria@Example.com "},
			Phones: []string{"(+1)2133734253"}, ExternalIDs: []string{"user_123"}, UserAgent: "Mozilla/5.0"}}
	got, err := newTikTok("").Build(c, []dest.Event{purchase(), lead})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "legacy_lead.golden.json", got)
}

// TikTok's hashing vectors (protocols-destinations.md §3.3), through Build.
func TestHashingVectors(t *testing.T) {
	t.Parallel()
	e := purchase()
	e.User = dest.User{Emails: []string{" ALICE_abc@gmail.com "}, Phones: []string{"(+1)2133734253"}, ExternalIDs: []string{"user_123"}}
	got, err := newTikTok("").Build(cfg, []dest.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Data []struct {
			User struct {
				E []string `json:"email"`
				P []string `json:"phone"`
				X []string `json:"external_id"`
			} `json:"user"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatal(err)
	}
	u := p.Data[0].User
	for _, c := range []struct {
		name string
		got  []string
		want string
	}{
		{"email", u.E, "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"},
		{"phone", u.P, "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"},
		{"external_id", u.X, "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b"},
	} {
		if len(c.got) != 1 || c.got[0] != c.want {
			t.Errorf("%s = %v, want [%s]", c.name, c.got, c.want)
		}
	}
}

// A stored phone hash is Meta's (digits without '+'): it could never match TikTok's, so it is
// left out rather than sent wrong; a stored e-mail hash is TikTok's too and passes through.
func TestStoredHashes(t *testing.T) {
	t.Parallel()
	e := purchase()
	metaPhone, _ := pii.HashPhone("+55 11 98765-4321", "55")
	metaEmail, _ := pii.HashEmail("Maria@Example.com")
	e.User = dest.User{Emails: []string{metaEmail}, Phones: []string{metaPhone}}
	got, err := newTikTok("").Build(cfg, []dest.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), metaPhone) || strings.Contains(string(got), `"phone"`) {
		t.Errorf("a Meta phone hash was sent: %s", got)
	}
	if !strings.Contains(string(got), `"email":["`+metaEmail+`"]`) {
		t.Errorf("the stored e-mail hash was not passed through: %s", got)
	}
}

// TikTok's own phone hash, computed at intake by TikTok's rule (the reference's vector:
// "(+1)2133734253" is +12133734253), is sent beside the Meta hash that is left out.
func TestTikTokPhoneHashSent(t *testing.T) {
	t.Parallel()
	const want = "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"
	metaPhone, _ := pii.HashPhone("(+1)2133734253", "")
	e := purchase()
	e.User = dest.User{Phones: []string{metaPhone}, TikTokPhones: []string{want, strings.ToUpper(want)}}
	got, err := newTikTok("").Build(cfg, []dest.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `"phone":["`+want+`"]`) || strings.Contains(string(got), metaPhone) {
		t.Errorf("want TikTok's phone hash alone, once: %s", got)
	}
}

func TestBuildRefusals(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		mod    func(*dest.Event)
		reason string
	}{
		"no name":        {func(e *dest.Event) { e.Name = "" }, dest.ReasonInvalidEvent},
		"no id":          {func(e *dest.Event) { e.EventID = "" }, dest.ReasonInvalidEvent},
		"no time":        {func(e *dest.Event) { e.EventTime = time.Time{} }, dest.ReasonInvalidEvent},
		"stale":          {func(e *dest.Event) { e.EventTime = desttest.FixedNow.Add(-8 * 24 * time.Hour) }, dest.ReasonStale},
		"negative":       {func(e *dest.Event) { e.Custom.ValueMinor = -1 }, dest.ReasonInvalidEvent},
		"no currency":    {func(e *dest.Event) { e.Custom.Currency = "" }, dest.ReasonInvalidEvent},
		"bad currency":   {func(e *dest.Event) { e.Custom.Currency = "REAIS" }, dest.ReasonInvalidEvent},
		"content w/o id": {func(e *dest.Event) { e.Custom.Contents[0].ID = "" }, dest.ReasonInvalidEvent},
	} {
		t.Run(name, func(t *testing.T) {
			e := purchase()
			c.mod(&e)
			_, err := newTikTok("").Build(cfg, []dest.Event{e})
			ees := dest.EventErrors(err)
			if len(ees) != 1 || ees[0].Reason != c.reason {
				t.Errorf("Build err = %v, want one %s", err, c.reason)
			}
		})
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		cfg   dest.Config
		field string // "" for valid
	}{
		"minimal":      {dest.Config{"pixel_code": "CXXXXXXXXXXXXXXXXXXX"}, ""},
		"all":          {dest.Config{"pixel_code": "C4ABCDEFGH123", "events": "Purchase,Lead", "event_names": "Purchase=CompletePayment,Lead=SubmitForm", "test_event_code": "TEST12345", "limited_data_use": "true"}, ""},
		"no pixel":     {dest.Config{}, "pixel_code"},
		"bad pixel":    {dest.Config{"pixel_code": "C-1 2"}, "pixel_code"},
		"bad bool":     {dest.Config{"pixel_code": "CXXXXXX", "limited_data_use": "yes"}, "limited_data_use"},
		"unknown name": {dest.Config{"pixel_code": "CXXXXXX", "event_names": "Purchase=Buy"}, "event_names"},
		"not a pair":   {dest.Config{"pixel_code": "CXXXXXX", "event_names": "Purchase"}, "event_names"},
		// A notice is never sent to TikTok: naming one is refused, not accepted harmlessly.
		"notice named":       {dest.Config{"pixel_code": "CXXXXXX", "event_names": "Purchase=CompletePayment,OrderRefunded=Purchase"}, "event_names"},
		"token in settings":  {dest.Config{"pixel_code": "CXXXXXX", "access_token": "x"}, "access_token"},
		"base URL not a set": {dest.Config{"pixel_code": "CXXXXXX", "api_url": "https://evil.example"}, "api_url"},
	} {
		t.Run(name, func(t *testing.T) {
			err := newTikTok("").ValidateConfig(c.cfg)
			var ce *dest.ConfigError
			switch {
			case c.field == "" && err != nil:
				t.Errorf("ValidateConfig = %v, want nil", err)
			case c.field != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), c.field+":")):
				t.Errorf("ValidateConfig = %v, want a problem with %s", err, c.field)
			}
		})
	}
}

// The request: POST to the track path, the token only in the Access-Token header, the body
// Build returns.
func TestSendRequestShape(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = r
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		body = buf.Bytes()
		_, _ = w.Write([]byte(`{"code":0,"message":"OK","request_id":"r1","data":{}}`))
	}))
	defer srv.Close()
	tt := newTikTok(srv.URL + "/")
	res, err := tt.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcomes[0].Kind != dest.Delivered || res.Requests != 1 {
		t.Fatalf("outcome %+v, %d requests", res.Outcomes[0], res.Requests)
	}
	want, _ := tt.Build(cfg, []dest.Event{purchase()})
	mu.Lock()
	defer mu.Unlock()
	if got.Method != http.MethodPost || got.URL.Path != tiktok.TrackPath || got.URL.RawQuery != "" {
		t.Errorf("request %s %s", got.Method, got.URL)
	}
	if got.Header.Get("Access-Token") != token || got.Header.Get("Content-Type") != "application/json" || got.Header.Get("User-Agent") != "hub-1.2.3" {
		t.Errorf("headers %v", got.Header)
	}
	if !bytes.Equal(body, want) {
		t.Errorf("body differs from Build:\n%s\n%s", body, want)
	}
}

func TestSendDefaultsToBusinessAPI(t *testing.T) {
	t.Parallel()
	var seen string
	tt := &tiktok.TikTok{Now: desttest.Clock, Client: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		seen = r.URL.String()
		return nil, errors.New("offline")
	})}}
	res, _ := tt.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
	if seen != "https://business-api.tiktok.com/open_api/v1.3/event/track/" {
		t.Errorf("posted to %q", seen)
	}
	if o := res.Outcomes[0]; o.Kind != dest.Retryable || o.Reason != dest.ReasonNetwork {
		t.Errorf("outcome %+v", o)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The classification table, through the fake's injected codes.
func TestClassifyCodes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		code   int
		kind   dest.Kind
		reason string
	}{
		{40001, dest.Permanent, dest.ReasonInvalidParameter},
		{40002, dest.Permanent, dest.ReasonPermission},
		{40100, dest.Retryable, dest.ReasonRateLimited},
		{40101, dest.Permanent, dest.ReasonInvalidToken},
		{40105, dest.Permanent, dest.ReasonInvalidToken},
		{42900, dest.Retryable, dest.ReasonRateLimited},
		{50000, dest.Retryable, dest.ReasonServerError},
		{50002, dest.Retryable, dest.ReasonServerError},
		{51234, dest.Retryable, dest.ReasonServerError},
		{40999, dest.Retryable, dest.ReasonTransient},
	} {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			t.Parallel()
			fake := faketiktok.New()
			srv := httptest.NewServer(fake)
			defer srv.Close()
			if err := fake.InjectFault(fmt.Sprintf("code:%d", c.code), 0); err != nil {
				t.Fatal(err)
			}
			res, err := newTikTok(srv.URL).Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
			if err != nil {
				t.Fatal(err)
			}
			o := res.Outcomes[0]
			if o.Kind != c.kind || o.Reason != c.reason || o.Code != c.code || o.TraceID == "" {
				t.Errorf("outcome %+v, want %s/%s with code %d and a request id", o, c.kind, c.reason, c.code)
			}
			if !strings.Contains(o.Message, fmt.Sprintf("[code %d", c.code)) {
				t.Errorf("message %q does not name the code", o.Message)
			}
		})
	}
}

// An unknown code is retried, but one sender gives up after MaxUnknownRetries answers.
func TestUnknownCodeIsCapped(t *testing.T) {
	t.Parallel()
	fake := faketiktok.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	if err := fake.InjectFault("code:40999", 0); err != nil {
		t.Fatal(err)
	}
	s, err := newTikTok(srv.URL).Prepare(cfg, creds())
	if err != nil {
		t.Fatal(err)
	}
	evs := []dest.Event{purchase()}
	for i := range tiktok.MaxUnknownRetries {
		res, _ := s.Send(context.Background(), evs)
		if o := res.Outcomes[0]; o.Kind != dest.Retryable {
			t.Fatalf("answer %d: %+v, want retryable", i+1, o)
		}
	}
	res, _ := s.Send(context.Background(), evs)
	if o := res.Outcomes[0]; o.Kind != dest.Permanent || o.Reason != dest.ReasonRejected || o.Code != 40999 {
		t.Errorf("answer %d: %+v, want permanent rejected", tiktok.MaxUnknownRetries+1, o)
	}
	// A known retryable code is never capped.
	if err := fake.InjectFault("code:40100", 0); err != nil {
		t.Fatal(err)
	}
	for range tiktok.MaxUnknownRetries + 2 {
		res, _ := s.Send(context.Background(), evs)
		if o := res.Outcomes[0]; o.Kind != dest.Retryable || o.Reason != dest.ReasonRateLimited {
			t.Fatalf("40100: %+v", o)
		}
	}
}

// HTTP 200 with a non-zero code is an error; a body that is not TikTok's is never repeated.
func TestClassifyAnswers(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		status int
		body   string
		kind   dest.Kind
		reason string
	}{
		"ok":              {200, `{"code":0,"message":"OK","request_id":"r","data":{}}`, dest.Delivered, ""},
		"200 with error":  {200, `{"code":40001,"message":"bad","request_id":"r"}`, dest.Permanent, dest.ReasonInvalidParameter},
		"html 200":        {200, `<html>portal ` + token + `</html>`, dest.Retryable, dest.ReasonMalformedResponse},
		"html 502":        {502, `<html>bad gateway</html>`, dest.Retryable, dest.ReasonServerError},
		"html 403":        {403, `<html>forbidden</html>`, dest.Permanent, dest.ReasonRejected},
		"429 no body":     {429, ``, dest.Retryable, dest.ReasonRateLimited},
		"echoes token":    {200, `{"code":40105,"message":"token ` + token + ` revoked"}`, dest.Permanent, dest.ReasonInvalidToken},
		"json null code":  {200, `{"message":"OK"}`, dest.Retryable, dest.ReasonMalformedResponse},
		"408 unparseable": {408, `timeout`, dest.Retryable, dest.ReasonTimeout},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			res, _ := newTikTok(srv.URL).Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
			o := res.Outcomes[0]
			if o.Kind != c.kind || o.Reason != c.reason {
				t.Errorf("outcome %+v, want %s/%s", o, c.kind, c.reason)
			}
			if strings.Contains(o.Message, token) || strings.Contains(o.Message, "portal") {
				t.Errorf("message %q repeats what it must not", o.Message)
			}
		})
	}
}

func TestSendTestEventCode(t *testing.T) {
	t.Parallel()
	fake := faketiktok.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := dest.Config{tiktok.SettingPixelCode: "CXXXXXXXXXXXXXXXXXXX", tiktok.SettingTestEventCode: "TEST12345"}
	res, err := newTikTok(srv.URL).Send(context.Background(), c, creds(), []dest.Event{purchase()})
	if err != nil || res.Outcomes[0].Kind != dest.Delivered {
		t.Fatalf("%v %+v", err, res)
	}
	evs := fake.Events()
	if len(evs) != 1 || evs[0].TestEventCode != "TEST12345" || evs[0].PixelCode != "CXXXXXXXXXXXXXXXXXXX" || evs[0].Event != "Purchase" {
		t.Errorf("fake saw %+v", evs)
	}
	if st, ok := tiktok.New(dest.Env{}).Spec().TestSetting(); !ok || st.Name != tiktok.SettingTestEventCode {
		t.Errorf("TestSetting = %+v, %v", st, ok)
	}
}

// A stale event among good ones gets its own outcome and is not sent.
func TestSendRefusesStaleWithoutSending(t *testing.T) {
	t.Parallel()
	fake := faketiktok.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	old := purchase()
	old.EventID, old.EventTime = "old", desttest.FixedNow.Add(-8*24*time.Hour)
	res, err := newTikTok(srv.URL).Send(context.Background(), cfg, creds(), []dest.Event{purchase(), old})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcomes[0].Kind != dest.Delivered || res.Outcomes[1].Reason != dest.ReasonStale || res.Outcomes[1].EventID != "old" {
		t.Errorf("outcomes %+v", res.Outcomes)
	}
	if got := fake.Accepted(); len(got) != 1 || got["old"] != 0 {
		t.Errorf("fake accepted %v", got)
	}
}

func TestSendRefusesPrivateAPIURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(faketiktok.New())
	defer srv.Close()
	tt := &tiktok.TikTok{APIURL: srv.URL, Now: desttest.Clock} // nil Client: egress.Default
	res, err := tt.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Kind != dest.Retryable || o.Reason != dest.ReasonNetwork || strings.Contains(o.Message, "127.0.0.1") {
		t.Errorf("outcome %+v", o)
	}
}

func TestOperatorSetting(t *testing.T) {
	t.Parallel()
	bad := tiktok.New(dest.Env{Operator: map[string]string{"HUB_TIKTOK_API_URL": "ftp://x"}})
	if _, err := bad.Prepare(cfg, creds()); err == nil || !strings.Contains(err.Error(), "HUB_TIKTOK_API_URL") {
		t.Errorf("Prepare with a bad base URL = %v", err)
	}
	if got := tiktok.New(dest.Env{}).APIURL; got != tiktok.DefaultAPIURL {
		t.Errorf("default APIURL = %q", got)
	}
}

// A long token TikTok quotes past the message's cut must not leave its first part behind: the
// message is redacted before it is cut.
func TestTokenAtTheCutNeverLeaks(t *testing.T) {
	t.Parallel()
	long := "tt" + strings.Repeat("Zx9Q", 50)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, _ := json.Marshal(strings.Repeat("x", 440) + " Access token is invalid: " + r.Header.Get("Access-Token"))
		fmt.Fprintf(w, `{"code":40105,"message":%s,"request_id":"r1"}`, q)
	}))
	defer srv.Close()
	tt := newTikTok(srv.URL)
	res, err := tt.Send(context.Background(), cfg, dest.NewCredentials(map[string]string{tiktok.SettingAccessToken: long}), []dest.Event{purchase()})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[0]
	if o.Reason != dest.ReasonInvalidToken || !strings.Contains(o.Message, "Access token is invalid") {
		t.Fatalf("outcome = %+v", o)
	}
	if strings.Contains(o.Message, long[:12]) {
		t.Errorf("message keeps part of the token: %q", o.Message)
	}
}

package ga4_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/ga4"
	"github.com/hubtrack/hub/internal/dest/ga4/fakega4"
	"github.com/hubtrack/hub/internal/domain"
)

var update = flag.Bool("update", false, "rewrite golden files")

// secret has characters the query string must escape, so a leak check sees both spellings.
const secret = "ga4Test+secret/with=symbols&x"

var at = desttest.At(ga4.New, ga4.OperatorURL)

func TestConformance(t *testing.T) {
	t.Parallel()
	strict := fakega4.New()
	strict.Secret = secret
	desttest.RunStrict(t, at, fakega4.New(), strict)
}

func newGA4(baseURL string) *ga4.GA4 {
	return &ga4.GA4{URL: baseURL, Now: desttest.Clock, Client: desttest.LoopbackClient()}
}

var cfg = dest.Config{ga4.SettingMeasurementID: "G-QEHZPBE5HH"}

func creds() dest.Credentials {
	return dest.NewCredentials(map[string]string{ga4.SettingAPISecret: secret})
}

// purchase is a webhook purchase joined with its web visit, as the delivery worker builds it:
// the _ga client id and the _ga_<container> sessions the snippet captured, Meta's and Google's
// hashes.
func purchase() dest.Event {
	e := desttest.Purchase()
	e.EventSourceURL = "https://loja.example.com.br/oferta?gclid=Cj0abc"
	u := &e.User
	u.GoogleEmails = []string{"86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"}
	u.GooglePhones = []string{"38225ec3dccec4189659c110ddc4f3dc9c27539850cb6a9ddae31ae03a5cf441"}
	u.GoogleFirstName = "81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2" // jane
	u.GoogleLastName = "799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f"  // doe
	u.GooglePostalCode, u.GoogleRegionCode = "01310-100", "BR"
	u.ExternalIDs, u.NationalIDs = []string{"k_8f3a2b1c9d"}, []string{"00000000191"}
	u.UserAgent, u.GAClientID, u.GCLID = "Mozilla/5.0 (iPhone)", "1958185836.1757409569", "Cj0abc"
	// The session started 20 minutes before the purchase; another stream's is ignored.
	u.GASessions = fmt.Sprintf("OTHERSTREAM:1,QEHZPBE5HH:%d", time.Date(2025, 12, 31, 23, 40, 0, 0, time.UTC).Unix())
	e.Consent = dest.AllConsent(dest.ConsentGranted)
	e.Custom = dest.Custom{ValueMinor: 24990, Currency: "BRL", OrderID: "HP1234567890", ContentIDs: []string{"SKU1"},
		ContentType: "product", Contents: []dest.Content{{ID: "SKU1", Quantity: 1, ItemPriceMinor: 24990}}, NumItems: 1}
	return e
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	desttest.Golden(t, filepath.Join("testdata", name), got, *update)
}

// valid checks a body by the validation server's rules, as the fake applies them.
func valid(t *testing.T, body []byte) {
	t.Helper()
	f := fakega4.New()
	f.Now = desttest.Clock
	if msgs := f.Validate(body); len(msgs) > 0 {
		t.Errorf("GA4's validation rules refuse %s: %+v", body, msgs)
	}
}

func TestBuildGoldenPurchase(t *testing.T) {
	t.Parallel()
	got, err := newGA4("").Build(cfg, []dest.Event{purchase()})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "purchase.golden.json", got)
	valid(t, got)
	for _, leak := range []string{secret, "api_secret", "00000000191", "Maria", "k_8f3a2b1c9d", "2001:db8", "62a14e44", "b8e374ec", "OTHERSTREAM"} {
		if strings.Contains(string(got), leak) {
			t.Errorf("payload contains %q: %s", leak, got)
		}
	}
}

// The visit's consent goes as GA4's consent block: each of Google's signals from the visitor's
// own, an unknown one left out, and the block left out when both are unknown.
func TestConsent(t *testing.T) {
	t.Parallel()
	g, d := dest.ConsentGranted, dest.ConsentDenied
	for _, c := range []struct {
		in   dest.ConsentSignals
		want string
	}{
		{dest.AllConsent(g), `"consent":{"ad_user_data":"GRANTED","ad_personalization":"GRANTED"}`},
		{dest.AllConsent(d), `"consent":{"ad_user_data":"DENIED","ad_personalization":"DENIED"}`},
		{dest.ConsentSignals{AdUserData: g, AdPersonalization: d}, `"consent":{"ad_user_data":"GRANTED","ad_personalization":"DENIED"}`},
		{dest.ConsentSignals{AdUserData: d, AdPersonalization: g}, `"consent":{"ad_user_data":"DENIED","ad_personalization":"GRANTED"}`},
		{dest.ConsentSignals{AdPersonalization: d}, `"consent":{"ad_personalization":"DENIED"}`},
		{dest.ConsentSignals{}, ""},
	} {
		e := purchase()
		e.Consent = c.in
		got, err := newGA4("").Build(cfg, []dest.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		valid(t, got)
		if c.want == "" && strings.Contains(string(got), "consent") || c.want != "" && !strings.Contains(string(got), c.want) {
			t.Errorf("consent %+v: want %s in %s", c.in, c.want, got)
		}
	}
}

// Every standard event Hub may send builds into a payload GA4's validation rules accept, under
// GA4's recommended name.
func TestBuildEveryStandardEventIsValid(t *testing.T) {
	t.Parallel()
	want := map[string]string{domain.EventPurchase: "purchase", domain.EventLead: "generate_lead",
		domain.EventInitiateCheckout: "begin_checkout", domain.EventAddToCart: "add_to_cart",
		domain.EventAddPaymentInfo: "add_payment_info", domain.EventCompleteRegistration: "sign_up",
		domain.EventViewContent: "view_item", domain.EventPageView: "page_view",
		domain.EventSubscribe: "Subscribe", domain.EventStartTrial: "StartTrial", "Refund": "refund"}
	for hub, name := range want {
		e := purchase()
		e.Name = hub
		got, err := newGA4("").Build(cfg, []dest.Event{e})
		if err != nil {
			t.Errorf("%s: %v", hub, err)
			continue
		}
		valid(t, got)
		var p struct {
			Events []struct {
				Name   string         `json:"name"`
				Params map[string]any `json:"params"`
			} `json:"events"`
		}
		if err := json.Unmarshal(got, &p); err != nil || len(p.Events) != 1 || p.Events[0].Name != name {
			t.Errorf("%s: sent as %s, want %s", hub, got, name)
			continue
		}
		_, hasTx := p.Events[0].Params["transaction_id"]
		if hasTx != (name == "purchase" || name == "refund") {
			t.Errorf("%s: transaction_id present = %v", hub, hasTx)
		}
	}
}

func TestBuildRefusals(t *testing.T) {
	t.Parallel()
	g := newGA4("")
	for _, tt := range []struct {
		name   string
		edit   func(e *dest.Event)
		reason string
	}{
		{"stale", func(e *dest.Event) { e.EventTime = desttest.FixedNow.Add(-ga4.MaxEventAge - time.Minute) }, dest.ReasonStale},
		{"no client id", func(e *dest.Event) { e.User.GAClientID = "" }, ga4.ReasonNoClientID},
		{"not a client id", func(e *dest.Event) { e.User.GAClientID = "fb.1.2.3" }, ga4.ReasonNoClientID},
		{"no event id", func(e *dest.Event) { e.EventID = "" }, dest.ReasonInvalidEvent},
		{"long transaction id", func(e *dest.Event) { e.EventID = strings.Repeat("x", 101) }, dest.ReasonInvalidEvent},
		{"reserved name", func(e *dest.Event) { e.Name = "session_start" }, dest.ReasonInvalidEvent},
		{"reserved prefix", func(e *dest.Event) { e.Name = "google_thing" }, dest.ReasonInvalidEvent},
		{"bad name", func(e *dest.Event) { e.Name = "Compra Feita" }, dest.ReasonInvalidEvent},
		{"long name", func(e *dest.Event) { e.Name = "a" + strings.Repeat("b", 40) }, dest.ReasonInvalidEvent},
		{"negative value", func(e *dest.Event) { e.Custom.ValueMinor = -1 }, dest.ReasonInvalidEvent},
		{"value without currency", func(e *dest.Event) { e.Custom.Currency = ""; e.Custom.Contents = nil }, dest.ReasonInvalidEvent},
		{"lower-case currency", func(e *dest.Event) { e.Custom.Currency = "brl" }, dest.ReasonInvalidEvent},
		{"too big", func(e *dest.Event) {
			for i := range 3000 {
				e.Custom.Contents = append(e.Custom.Contents, dest.Content{ID: fmt.Sprintf("sku-%d-%s", i, strings.Repeat("x", 40)), Quantity: 1})
			}
		}, dest.ReasonInvalidEvent},
	} {
		e := purchase()
		tt.edit(&e)
		_, err := g.Build(cfg, []dest.Event{e})
		ees := dest.EventErrors(err)
		if len(ees) != 1 || ees[0].Reason != tt.reason {
			t.Errorf("%s: Build err = %v, want one %s", tt.name, err, tt.reason)
		}
	}
}

// Without a client id GA4 cannot take a web event (§2.7): by default it is refused, and with
// no_client_id=synthetic it goes under a deterministic synthetic id, marked, without session.
func TestSyntheticClientID(t *testing.T) {
	t.Parallel()
	e := purchase()
	e.User.GAClientID = ""
	c := dest.Config{ga4.SettingMeasurementID: "G-QEHZPBE5HH", ga4.SettingNoClientID: ga4.NoClientIDSynthetic}
	a, err := newGA4("").Build(c, []dest.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newGA4("").Build(c, []dest.Event{e})
	if !bytes.Equal(a, b) {
		t.Error("the synthetic client id is not deterministic")
	}
	valid(t, a)
	id := ga4.SyntheticClientID(e)
	if !domain.ValidGAClientID(id) || !strings.HasSuffix(id, fmt.Sprintf(".%d", e.EventTime.Unix())) {
		t.Errorf("synthetic client id %q is not <digits>.<event time>", id)
	}
	if !strings.Contains(string(a), `"client_id":"`+id+`"`) || !strings.Contains(string(a), `"hub_synthetic_client_id":1`) || strings.Contains(string(a), "session_id") {
		t.Errorf("payload = %s", a)
	}
	other := e
	other.EventID = "hotmart:HP999:purchase"
	if ga4.SyntheticClientID(other) == id {
		t.Error("two events share a synthetic client id")
	}
}

// The session id is sent only for the destination's own stream, and only while GA4 would still
// attribute the event to that session.
func TestSession(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 12, 31, 23, 40, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		sessions string
		now      time.Time
		want     bool
	}{
		{"own stream", fmt.Sprintf("QEHZPBE5HH:%d", start.Unix()), desttest.FixedNow, true},
		{"another stream only", fmt.Sprintf("OTHER:%d", start.Unix()), desttest.FixedNow, false},
		{"request 24 h after the session start", fmt.Sprintf("QEHZPBE5HH:%d", start.Unix()), start.Add(ga4.SessionWindow + time.Minute), false},
		{"session after the purchase", fmt.Sprintf("QEHZPBE5HH:%d", desttest.FixedNow.Unix()), desttest.FixedNow, false},
		{"unreadable", "QEHZPBE5HH:abc", desttest.FixedNow, false},
	} {
		e := purchase()
		e.User.GASessions = tt.sessions
		now := tt.now
		g := &ga4.GA4{Now: func() time.Time { return now }}
		got, err := g.Build(cfg, []dest.Event{e})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if has := strings.Contains(string(got), fmt.Sprintf(`"session_id":"%d"`, start.Unix())); has != tt.want {
			t.Errorf("%s: session_id sent = %v, want %v: %s", tt.name, has, tt.want, got)
		}
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	g := &ga4.GA4{}
	for _, tt := range []struct {
		cfg   dest.Config
		field string
	}{
		{dest.Config{}, ga4.SettingMeasurementID},
		{dest.Config{ga4.SettingMeasurementID: "UA-1234-1"}, ga4.SettingMeasurementID},
		{dest.Config{ga4.SettingMeasurementID: "G-ABC", ga4.SettingRegion: "us"}, ga4.SettingRegion},
		{dest.Config{ga4.SettingMeasurementID: "G-ABC", ga4.SettingNoClientID: "invent"}, ga4.SettingNoClientID},
		{dest.Config{ga4.SettingMeasurementID: "G-ABC", dest.SettingDeniedConsent: "drop"}, dest.SettingDeniedConsent},
		{dest.Config{ga4.SettingMeasurementID: "G-ABC", ga4.SettingValidateOnly: "false"}, ga4.SettingValidateOnly},
		{dest.Config{ga4.SettingMeasurementID: "G-ABC", ga4.SettingAPISecret: "x"}, ga4.SettingAPISecret},
		{dest.Config{ga4.SettingMeasurementID: "G-ABC", ga4.SettingEvents: "Purchase=x"}, ga4.SettingEvents},
	} {
		err := g.ValidateConfig(tt.cfg)
		var ce *dest.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.field+":") {
			t.Errorf("ValidateConfig(%v) = %v, want a problem with %s", tt.cfg, err, tt.field)
		}
	}
	if err := g.ValidateConfig(dest.Config{ga4.SettingMeasurementID: "g-qehzpbe5hh", ga4.SettingRegion: "eu",
		ga4.SettingNoClientID: "synthetic", ga4.SettingValidateOnly: "true", ga4.SettingEvents: "Purchase,Lead",
		dest.SettingDeniedConsent: dest.DeniedConsentHold}); err != nil {
		t.Errorf("valid settings refused: %v", err)
	}
}

// The event_names setting maps Hub's events to GA4's names: by default (shown in the dashboard
// as the setting's default) Purchase, Lead, InitiateCheckout and AddToCart get GA4's recommended
// e-commerce names; a pair overrides one (Hub's side in any case) and leaves the others alone.
func TestEventNamesMapping(t *testing.T) {
	t.Parallel()
	st, ok := (&ga4.GA4{}).Spec().Setting(ga4.SettingEventNames)
	if !ok || st.Default != "Purchase=purchase,Lead=generate_lead,InitiateCheckout=begin_checkout,AddToCart=add_to_cart" {
		t.Fatalf("event_names setting = %+v, %v", st, ok)
	}
	sentAs := func(c dest.Config, hub string) string {
		t.Helper()
		e := purchase()
		e.Name = hub
		body, err := newGA4("").Build(c, []dest.Event{e})
		if err != nil {
			t.Fatalf("%s with %v: %v", hub, c, err)
		}
		valid(t, body)
		var p struct {
			Events []struct {
				Name string `json:"name"`
			} `json:"events"`
		}
		if err := json.Unmarshal(body, &p); err != nil || len(p.Events) != 1 {
			t.Fatalf("%s: %s", hub, body)
		}
		return p.Events[0].Name
	}
	mapped := dest.Config{ga4.SettingMeasurementID: "G-QEHZPBE5HH", ga4.SettingEventNames: "lead=sign_up, Purchase=compra_curso"}
	for _, tt := range []struct {
		cfg       dest.Config
		hub, want string
	}{
		{cfg, domain.EventPurchase, "purchase"},
		{cfg, domain.EventLead, "generate_lead"},
		{cfg, domain.EventInitiateCheckout, "begin_checkout"},
		{cfg, domain.EventAddToCart, "add_to_cart"},
		{mapped, domain.EventLead, "sign_up"},
		{mapped, domain.EventPurchase, "compra_curso"},
		{mapped, domain.EventInitiateCheckout, "begin_checkout"},
		{mapped, domain.EventAddPaymentInfo, "add_payment_info"},
	} {
		if got := sentAs(tt.cfg, tt.hub); got != tt.want {
			t.Errorf("%s with event_names %q: sent as %s, want %s", tt.hub, tt.cfg[ga4.SettingEventNames], got, tt.want)
		}
	}
}

// event_names is checked by GA4's naming rules (GA4 would take a bad name with a 2xx and drop
// the event silently) and refuses Hub's notices, which only a webhook sends; each problem is one
// of a few fixed sentences the dashboard translates.
func TestEventNamesValidation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value, problem string
	}{
		{"Purchase", "pairs are Hub=GA4 names, like Lead=sign_up"},
		{"Purchase=", "pairs are Hub=GA4 names, like Lead=sign_up"},
		{"Lead=sign up", "pairs are Hub=GA4 names, like Lead=sign_up"},
		{"Lead=" + strings.Repeat("a", 41), "GA4 event names are at most 40 characters"},
		{"Lead=1lead", "GA4 event names start with a letter and hold only letters, digits and '_'"},
		{"Lead=lead-form", "GA4 event names start with a letter and hold only letters, digits and '_'"},
		{"Lead=_lead", "GA4 event names start with a letter and hold only letters, digits and '_'"},
		{"Lead=session_start", "the event name is reserved by GA4"},
		{"Lead=Google_lead", "the event name starts with a prefix GA4 reserves (firebase_, ga_, google_, gtag.)"},
		{"Purchase=purchase,OrderRefunded=refund", dest.NoticeReason(domain.EventOrderRefunded)},
		{"orderchargeback=chargeback", dest.NoticeReason(domain.EventOrderChargeback)},
		{"DeliveryDead=delivery_dead", dest.NoticeReason(domain.EventDeliveryDead)},
	} {
		err := (&ga4.GA4{}).ValidateConfig(dest.Config{ga4.SettingMeasurementID: "G-ABC", ga4.SettingEventNames: tt.value})
		var ce *dest.ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Field != ga4.SettingEventNames || ce.Problems[0].Reason != tt.problem {
			t.Errorf("event_names %q: ValidateConfig = %v, want the problem %q", tt.value, err, tt.problem)
		}
	}
	ok := dest.Config{ga4.SettingMeasurementID: "G-ABC", ga4.SettingEventNames: "Purchase=purchase, Lead=" + strings.Repeat("a", 40) + ",CustomThing=custom_thing"}
	if err := (&ga4.GA4{}).ValidateConfig(ok); err != nil {
		t.Errorf("valid event_names refused: %v", err)
	}
}

// The request: POST to /mp/collect with the measurement id and the secret in the query string
// (the protocol's own design), JSON body, no redirect followed; the EU region goes to its host.
func TestSendRequestShape(t *testing.T) {
	t.Parallel()
	for _, region := range []string{"", ga4.RegionEU} {
		var got *http.Request
		var body []byte
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Clone(context.Background())
			body, _ = readAll(r)
			w.WriteHeader(http.StatusNoContent)
		}))
		wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Errorf("region %q reached the wrong host", region) }))
		g := newGA4(wrong.URL)
		g.EUURL = wrong.URL
		c := dest.Config{ga4.SettingMeasurementID: "g-qehzpbe5hh"}
		if region == ga4.RegionEU {
			g.EUURL = srv.URL
			c[ga4.SettingRegion] = region
		} else {
			g.URL = srv.URL
		}
		res, err := g.Send(context.Background(), c, creds(), []dest.Event{purchase()})
		srv.Close()
		wrong.Close()
		if err != nil || len(res.Outcomes) != 1 || res.Outcomes[0].Kind != dest.Delivered || res.Requests != 1 {
			t.Fatalf("region %q: %+v, %v", region, res, err)
		}
		if got.Method != http.MethodPost || got.URL.Path != ga4.CollectPath || got.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s %s", got.Method, got.URL.Path, got.Header.Get("Content-Type"))
		}
		if q := got.URL.Query(); q.Get("measurement_id") != "G-QEHZPBE5HH" || q.Get("api_secret") != secret || len(q) != 2 {
			t.Errorf("query = %v", q)
		}
		want, _ := newGA4("").Build(c, []dest.Event{purchase()})
		if !bytes.Equal(body, want) {
			t.Errorf("sent %s, Build gives %s", body, want)
		}
	}
}

func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

// GA4 answers 2xx to anything, so the classification rests on the status alone; a redirect is
// never followed (it would carry the secret elsewhere).
func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		header map[string]string
		kind   dest.Kind
		reason string
	}{
		{http.StatusNoContent, nil, dest.Delivered, ""},
		{http.StatusOK, nil, dest.Delivered, ""},
		{http.StatusTooManyRequests, map[string]string{"Retry-After": "7"}, dest.Retryable, dest.ReasonRateLimited},
		{http.StatusServiceUnavailable, nil, dest.Retryable, dest.ReasonServerError},
		{http.StatusRequestTimeout, nil, dest.Retryable, dest.ReasonTimeout},
		{http.StatusBadRequest, nil, dest.Permanent, dest.ReasonRejected},
		{http.StatusFound, map[string]string{"Location": "https://elsewhere.example/"}, dest.Permanent, dest.ReasonRejected},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range tt.header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(tt.status)
		}))
		res, err := newGA4(srv.URL).Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		o := res.Outcomes[0]
		if o.Kind != tt.kind || o.Reason != tt.reason || o.HTTPStatus != tt.status {
			t.Errorf("HTTP %d: %+v, want %s/%s", tt.status, o, tt.kind, tt.reason)
		}
		if tt.status == http.StatusTooManyRequests && o.RetryAfter != 7*time.Second {
			t.Errorf("RetryAfter = %v", o.RetryAfter)
		}
		if strings.Contains(o.Message, secret) || strings.Contains(o.Message, url.QueryEscape(secret)) {
			t.Errorf("message leaks the secret: %s", o.Message)
		}
	}
}

// validate_only (the test send) goes to /debug/mp/collect, whose validation messages decide.
func TestValidateOnlyUsesTheValidationServer(t *testing.T) {
	t.Parallel()
	fake := fakega4.New()
	fake.Now = desttest.Clock
	srv := httptest.NewServer(fake)
	defer srv.Close()
	g := newGA4(srv.URL)
	c := dest.Config{ga4.SettingMeasurementID: "G-QEHZPBE5HH", ga4.SettingValidateOnly: "true"}
	res, err := g.Send(context.Background(), c, creds(), []dest.Event{purchase()})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Kind != dest.Delivered || !strings.Contains(o.Message, "records nothing") {
		t.Errorf("valid event: %+v", o)
	}
	if len(fake.Events()) != 0 || fake.Requests() != 1 {
		t.Errorf("the validation server recorded %d events in %d requests", len(fake.Events()), fake.Requests())
	}

	// A payload the validation server refuses: its messages become the reason shown.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != ga4.DebugPath {
			t.Errorf("path %s", r.URL.Path)
		}
		_, _ = w.Write([]byte(`{"validationMessages":[{"fieldPath":"events","description":"Event at index: [0] has invalid name [_badEventName]. Names must start with an alphabetic character.","validationCode":"NAME_INVALID"}]}`))
	}))
	defer bad.Close()
	res, _ = newGA4(bad.URL).Send(context.Background(), c, creds(), []dest.Event{purchase()})
	if o := res.Outcomes[0]; o.Kind != dest.Permanent || o.Reason != dest.ReasonInvalidParameter || !strings.Contains(o.Message, "NAME_INVALID") {
		t.Errorf("refused event: %+v", o)
	}
	// An answer that is not the validation server's.
	if err := fake.InjectFault(fakega4.ModeMalformed, 1); err != nil {
		t.Fatal(err)
	}
	res, _ = g.Send(context.Background(), c, creds(), []dest.Event{purchase()})
	if o := res.Outcomes[0]; o.Kind != dest.Retryable || o.Reason != dest.ReasonMalformedResponse {
		t.Errorf("malformed: %+v", o)
	}
}

// The fake, like GA4, answers 204 to a wrong secret and to an invalid payload and records
// nothing: what the destination cannot see, the fake can tell a test.
func TestFakeDropsSilently(t *testing.T) {
	t.Parallel()
	fake := fakega4.New()
	fake.Secret = secret
	srv := httptest.NewServer(fake)
	defer srv.Close()
	wrong := dest.NewCredentials(map[string]string{ga4.SettingAPISecret: "not-the-secret"})
	res, _ := newGA4(srv.URL).Send(context.Background(), cfg, wrong, []dest.Event{purchase()})
	if res.Outcomes[0].Kind != dest.Delivered || len(fake.Events()) != 0 || len(fake.Dropped()) != 1 {
		t.Errorf("wrong secret: %+v, %d recorded, dropped %+v", res.Outcomes[0], len(fake.Events()), fake.Dropped())
	}
	if msgs := fake.Validate([]byte(`{"events":[{"name":"_bad","params":{"currency":"brl","value":1}}],"extra":1}`)); len(msgs) < 4 {
		t.Errorf("Validate found %+v", msgs)
	}
}

// The secret is in the URL of the request to Google, and Go's transport errors quote that URL:
// no outcome, however the request fails, may carry it.
func TestSecretNeverInOutcomes(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // connection refused, with the URL in the *url.Error
	// The second destination's egress client refuses loopback addresses.
	for _, g := range []*ga4.GA4{newGA4(base), {URL: base, Now: desttest.Clock}} {
		res, err := g.Send(context.Background(), cfg, creds(), []dest.Event{purchase()})
		if err != nil {
			t.Fatal(err)
		}
		o := res.Outcomes[0]
		if o.Kind != dest.Retryable || o.Reason != dest.ReasonNetwork {
			t.Errorf("outcome %+v, want retryable network_error", o)
		}
		for _, s := range []string{secret, url.QueryEscape(secret), "api_secret"} {
			if strings.Contains(fmt.Sprintf("%+v", res), s) {
				t.Errorf("outcome leaks %q: %+v", s, res)
			}
		}
	}
	// A refused setting quotes no secret either.
	_, err := (&ga4.GA4{}).Prepare(dest.Config{ga4.SettingMeasurementID: "G-QEHZPBE5HH", "api_key": secret}, creds())
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("Prepare = %v", err)
	}
}

func TestOperatorSettings(t *testing.T) {
	t.Parallel()
	g := ga4.New(dest.Env{Operator: map[string]string{ga4.OperatorURL.Env: "https://ga.example", ga4.OperatorEUURL.Env: "https://eu.example"}})
	if g.URL != "https://ga.example" || g.EUURL != "https://eu.example" {
		t.Errorf("New: %+v", g)
	}
	d := ga4.New(dest.Env{})
	if d.URL != ga4.DefaultURL || d.EUURL != ga4.DefaultEUURL {
		t.Errorf("defaults: %+v", d)
	}
	if _, err := (&ga4.GA4{URL: "https://ga.example/?x=1"}).Prepare(cfg, creds()); err == nil || !strings.Contains(err.Error(), ga4.OperatorURL.Env) {
		t.Errorf("Prepare with a bad operator URL = %v", err)
	}
}

// user_data.address carries what intake kept of the name and address: the names hashed by
// Google's rule (a plain name is hashed here: digits and symbols removed), the postal code and
// country plain; none of it, no address.
func TestUserDataAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                        string
		first, last, postal, region string
		want                        string
	}{
		{name: "all four, the reference vectors", first: "81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2", last: "Doe2!",
			postal: "01310-100", region: "BR",
			want: `"address":[{"sha256_first_name":"81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2",` +
				`"sha256_last_name":"799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f","postal_code":"01310-100","country":"BR"}]`},
		{name: "only the postal code and country", postal: "01310-100", region: "BR",
			want: `"address":[{"postal_code":"01310-100","country":"BR"}]`},
		{name: "nothing"},
	}
	for _, tt := range tests {
		e := purchase()
		e.User.GoogleFirstName, e.User.GoogleLastName, e.User.GooglePostalCode, e.User.GoogleRegionCode = tt.first, tt.last, tt.postal, tt.region
		got, err := newGA4("").Build(cfg, []dest.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		if tt.want == "" {
			if strings.Contains(string(got), `"address"`) {
				t.Errorf("%s: address sent: %s", tt.name, got)
			}
			continue
		}
		if !strings.Contains(string(got), tt.want) {
			t.Errorf("%s: got %s\nwant %s", tt.name, got, tt.want)
		}
		valid(t, got)
	}
}

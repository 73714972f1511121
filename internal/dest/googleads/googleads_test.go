package googleads_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/googleads"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// at returns a destination sending to the fake at baseURL, its token endpoint included.
func at(baseURL string) dest.Destination {
	return &googleads.GoogleAds{BaseURL: baseURL, TokenURL: baseURL + "/token", Client: desttest.LoopbackClient()}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	desttest.Run(t, at, fakegoogleads.New())
}

// start runs a fake and returns it with its settings and a destination sending to it.
func start(t *testing.T) (*fakegoogleads.Server, *httptest.Server, *googleads.GoogleAds) {
	t.Helper()
	fake := fakegoogleads.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv, at(srv.URL).(*googleads.GoogleAds)
}

// goldenEvent is the protocol file's example (§1.9): a gclid, jane.doe@example.com, a phone and
// a name with address, as raw values so the reference hash vectors are computed by Hub, and
// consent granted.
func goldenEvent() dest.Event {
	return dest.Event{
		Name: domain.EventPurchase, EventID: "ORDER-10045", EventTime: time.Date(2026, 8, 20, 17, 3, 12, 0, time.UTC),
		User: dest.User{
			GCLID:        "Cj0KCQjw-golden_BwE",
			GoogleEmails: []string{"Jane.Doe@Example.com"},
			GooglePhones: []string{"+55 11 98765-4321"},
			// Meta's hashes of the same buyer: never sent to Google.
			Emails:    []string{"62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"},
			Phones:    []string{"b8e374ecc3a7a117a4df68efc21b0157f7c2ea542f7edaf29b33dc8818cf695e"},
			FirstName: "Jane", LastName: "Doe", Country: "br", Zip: "01310-100",
			ClientIP: "203.0.113.9", UserAgent: "Mozilla/5.0 (golden)",
		},
		Custom:  dest.Custom{ValueMinor: 24990, Currency: "BRL", OrderID: "10045"},
		Consent: dest.AllConsent(dest.ConsentGranted),
	}
}

func goldenConfig() dest.Config {
	return dest.Config{googleads.SettingOperatingAccount: "123-456-7890", googleads.SettingLoginAccount: "9876543210",
		googleads.SettingConversionAction: "987654321"}
}

// The request body, byte for byte, with the protocol file's hash vectors.
func TestGoldenRequest(t *testing.T) {
	t.Parallel()
	g := &googleads.GoogleAds{Now: func() time.Time { return time.Date(2026, 8, 21, 0, 0, 0, 0, time.UTC) }}
	got, err := g.Build(goldenConfig(), []dest.Event{goldenEvent()})
	if err != nil {
		t.Fatal(err)
	}
	for _, vector := range []string{
		`"emailAddress":"86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"`, // jane.doe@example.com
		`"phoneNumber":"38225ec3dccec4189659c110ddc4f3dc9c27539850cb6a9ddae31ae03a5cf441"`,  // +5511987654321
		`"givenName":"81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2"`,
		`"familyName":"799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f"`,
		`"regionCode":"BR","postalCode":"01310-100"`,
		`"encoding":"HEX"`, `"transactionId":"ORDER-10045"`, `"conversionValue":249.90`, `"currency":"BRL"`,
		`"operatingAccount":{"accountType":"GOOGLE_ADS","accountId":"1234567890"}`,
		`"productDestinationId":"987654321"`, `"eventSource":"WEB"`, `"gclid":"Cj0KCQjw-golden_BwE"`,
		`"consent":{"adUserData":"CONSENT_GRANTED","adPersonalization":"CONSENT_GRANTED"}`,
	} {
		if !bytes.Contains(got, []byte(vector)) {
			t.Errorf("request lacks %s", vector)
		}
	}
	for _, leak := range []string{"62a14e44", "b8e374ec", "203.0.113.9"} {
		if bytes.Contains(got, []byte(leak)) {
			t.Errorf("request holds %s (a Meta hash or the IP)", leak)
		}
	}
	path := filepath.Join("testdata", "ingest_golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSuffix(want, []byte("\n"))) {
		t.Errorf("request differs from %s:\n got %s\nwant %s", path, got, want)
	}
}

// Gmail addresses lose dots and +tag by Google's rule; a Meta hash in Emails is never sent.
func TestGoogleNormalisation(t *testing.T) {
	t.Parallel()
	g := &googleads.GoogleAds{}
	ev := goldenEvent()
	ev.EventTime = time.Now().Add(-time.Hour)
	ev.User = dest.User{Emails: []string{"J.Doe+news@gmail.com", "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"}}
	got, err := g.Build(goldenConfig(), []dest.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	want := domainHash(t, "jdoe@gmail.com")
	var p struct {
		Events []struct {
			UserData struct {
				UserIdentifiers []map[string]any `json:"userIdentifiers"`
			} `json:"userData"`
		} `json:"events"`
	}
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatal(err)
	}
	ids := p.Events[0].UserData.UserIdentifiers
	if len(ids) != 1 || ids[0]["emailAddress"] != want {
		t.Errorf("identifiers = %v, want only the Google hash of jdoe@gmail.com (%s)", ids, want)
	}
}

func domainHash(t *testing.T, email string) string {
	t.Helper()
	n, err := domain.GoogleEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	g := &googleads.GoogleAds{}
	ev := dest.Event{Name: "Purchase", EventID: "x", EventTime: time.Now(), User: dest.User{GoogleEmails: []string{n}}}
	b, err := g.Build(goldenConfig(), []dest.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(`"emailAddress":"`))
	return string(b[i+16 : i+16+64])
}

func TestNoIdentifiersSkipped(t *testing.T) {
	t.Parallel()
	fake, _, g := start(t)
	cfg, creds := fake.Settings()
	ev := goldenEvent()
	ev.EventTime = time.Now().Add(-time.Hour)
	ev.User = dest.User{Emails: []string{"62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"}, ClientIP: "203.0.113.9"}
	good := goldenEvent()
	good.EventID, good.EventTime = "good", time.Now().Add(-time.Hour)
	res, err := g.Send(context.Background(), cfg, creds, []dest.Event{ev, good})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Kind != dest.Permanent || o.Reason != googleads.ReasonNoIdentifiers {
		t.Errorf("no identifiers: %+v, want permanent no_identifiers", o)
	}
	if o := res.Outcomes[1]; o.Kind != dest.Delivered || o.TraceID == "" {
		t.Errorf("good event: %+v, want delivered with the request id", o)
	}
	if got := fake.Accepted(); len(got) != 1 || got["good"] != 1 {
		t.Errorf("accepted %v", got)
	}
}

func TestAtMostTenIdentifiers(t *testing.T) {
	t.Parallel()
	ev := goldenEvent()
	for i := range 12 {
		ev.User.GoogleEmails = append(ev.User.GoogleEmails, strings.Repeat("x", i+1)+"@example.com")
	}
	b, err := (&googleads.GoogleAds{Now: func() time.Time { return ev.EventTime }}).Build(goldenConfig(), []dest.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte(`"emailAddress"`)) + bytes.Count(b, []byte(`"phoneNumber"`)) + bytes.Count(b, []byte(`"address"`)); n != googleads.MaxIdentifiers {
		t.Errorf("%d identifiers, want %d", n, googleads.MaxIdentifiers)
	}
}

// The token is minted once per prepared sender and reused; a new one replaces it shortly
// before it expires.
func TestTokenCachedUntilShortlyBeforeExpiry(t *testing.T) {
	t.Parallel()
	fake, srv, _ := start(t)
	now := time.Now()
	clock := func() time.Time { return now }
	g := &googleads.GoogleAds{BaseURL: srv.URL, TokenURL: srv.URL + "/token", Now: func() time.Time { return clock() },
		Client: desttest.LoopbackClient()}
	cfg, creds := fake.Settings()
	s, err := g.Prepare(cfg, creds)
	if err != nil {
		t.Fatal(err)
	}
	send := func(id string) {
		t.Helper()
		ev := goldenEvent()
		ev.EventID, ev.EventTime = id, now.Add(-time.Hour)
		res, err := s.Send(context.Background(), []dest.Event{ev})
		if err != nil || res.Outcomes[0].Kind != dest.Delivered {
			t.Fatalf("Send: %+v, %v", res.Outcomes, err)
		}
	}
	send("a")
	send("b")
	if n := fake.Tokens(); n != 1 {
		t.Errorf("%d tokens minted for two sends, want 1", n)
	}
	now = now.Add(56 * time.Minute) // the token lives an hour: within 5 minutes of expiry
	send("c")
	if n := fake.Tokens(); n != 2 {
		t.Errorf("%d tokens minted, want a new one near expiry", n)
	}
}

// The key's own token_uri is used when the destination does not override it, and the token
// request goes through the egress client (which refuses loopback unless allowed).
func TestTokenURIFromKeyThroughEgress(t *testing.T) {
	t.Parallel()
	fake, srv, _ := start(t)
	cfg, _ := fake.Settings()
	creds := dest.NewCredentials(map[string]string{googleads.SettingServiceAccount: fake.KeyJSON(srv.URL + "/token")})
	ev := goldenEvent()
	ev.EventTime = time.Now().Add(-time.Hour)

	g := &googleads.GoogleAds{BaseURL: srv.URL, Client: desttest.LoopbackClient()}
	res, err := g.Send(context.Background(), cfg, creds, []dest.Event{ev})
	if err != nil || res.Outcomes[0].Kind != dest.Delivered || fake.Tokens() != 1 {
		t.Fatalf("with the key's token_uri: %+v, %v, %d tokens", res.Outcomes, err, fake.Tokens())
	}
	strict := &googleads.GoogleAds{BaseURL: srv.URL, Client: egress.New(egress.Config{})}
	res, err = strict.Send(context.Background(), cfg, creds, []dest.Event{ev})
	if err != nil || res.Outcomes[0].Kind != dest.Retryable || res.Outcomes[0].Reason != dest.ReasonNetwork || fake.Tokens() != 1 {
		t.Errorf("egress refusing loopback: %+v, %v, %d tokens; want network_error and no token minted", res.Outcomes, err, fake.Tokens())
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault  string
		kind   dest.Kind
		reason string
	}{
		{fakegoogleads.Fault503, dest.Retryable, dest.ReasonServerError},
		{fakegoogleads.Fault504, dest.Retryable, dest.ReasonServerError},
		{desttest.Fault429, dest.Retryable, dest.ReasonRateLimited},
		{fakegoogleads.FaultPermission, dest.Permanent, dest.ReasonPermission},
		{desttest.FaultInvalidToken, dest.Permanent, dest.ReasonInvalidToken},
		{fakegoogleads.FaultTokenDenied, dest.Permanent, dest.ReasonInvalidToken},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			fake, _, g := start(t)
			cfg, creds := fake.Settings()
			if err := fake.InjectFault(tc.fault, 0); err != nil {
				t.Fatal(err)
			}
			evs := desttest.Events(2, time.Now().Add(-time.Minute))
			res, err := g.Send(context.Background(), cfg, creds, evs)
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range res.Outcomes {
				if o.Kind != tc.kind || o.Reason != tc.reason {
					t.Errorf("outcome %d = %s/%s (%s), want %s/%s", i, o.Kind, o.Reason, o.Message, tc.kind, tc.reason)
				}
				if tc.kind == dest.Permanent && !strings.Contains(o.Message, "googleads: ") {
					t.Errorf("outcome %d has no reason to show: %q", i, o.Message)
				}
			}
			if len(fake.Accepted()) != 0 {
				t.Errorf("accepted %v", fake.Accepted())
			}
		})
	}
}

// validate_only asks Google to validate without recording: the fake accepts nothing.
func TestValidateOnly(t *testing.T) {
	t.Parallel()
	fake, _, g := start(t)
	cfg, creds := fake.Settings()
	cfg[googleads.SettingValidateOnly] = "true"
	res, err := g.Send(context.Background(), cfg, creds, desttest.Events(1, time.Now().Add(-time.Minute)))
	if err != nil || res.Outcomes[0].Kind != dest.Delivered || !strings.Contains(res.Outcomes[0].Message, "validated only") {
		t.Fatalf("%+v, %v", res.Outcomes, err)
	}
	if len(fake.Accepted()) != 0 || fake.Requests() != 1 {
		t.Errorf("validate only: accepted %v in %d requests", fake.Accepted(), fake.Requests())
	}
	cfg[googleads.SettingValidateOnly] = "false"
	if err := g.ValidateConfig(cfg); err == nil {
		t.Error("validate_only=false accepted; it must be true or empty, so a test send is never recorded")
	}
}

// denied_consent is send (the default) or hold, nothing else.
func TestDeniedConsentSetting(t *testing.T) {
	t.Parallel()
	g := &googleads.GoogleAds{}
	for v, ok := range map[string]bool{"": true, dest.DeniedConsentSend: true, dest.DeniedConsentHold: true, "drop": false} {
		cfg := goldenConfig()
		cfg[dest.SettingDeniedConsent] = v
		if err := g.ValidateConfig(cfg); (err == nil) != ok {
			t.Errorf("denied_consent %q: %v", v, err)
		}
	}
}

// Events mapped to other conversion actions go to their own destination of the request.
func TestConversionActionPerEvent(t *testing.T) {
	t.Parallel()
	fake, _, g := start(t)
	cfg, creds := fake.Settings()
	cfg[googleads.SettingConversionActions] = "lead=111"
	evs := desttest.Events(2, time.Now().Add(-time.Minute))
	evs[1].Name = domain.EventLead
	res, err := g.Send(context.Background(), cfg, creds, evs)
	if err != nil || res.Outcomes[0].Kind != dest.Delivered || res.Outcomes[1].Kind != dest.Delivered {
		t.Fatalf("%+v, %v", res.Outcomes, err)
	}
	body := string(fake.Bodies()[0])
	for _, want := range []string{`"productDestinationId":"987654321"`, `"productDestinationId":"111"`, `"destinationReferences":["111"]`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	cfg[googleads.SettingConversionActions] = "lead"
	if err := g.ValidateConfig(cfg); err == nil {
		t.Error("conversion_actions without an id accepted")
	}
}

// A notice (OrderRefunded, ...) is never sent to Google Ads, so conversion_actions refuses a
// conversion action for one, saying plainly why (the words the dashboard translates), instead of
// accepting a pair that can never be used.
func TestConversionActionsRefuseNotices(t *testing.T) {
	t.Parallel()
	g := &googleads.GoogleAds{}
	for _, n := range dest.Notices {
		cfg := goldenConfig()
		cfg[googleads.SettingConversionActions] = "Purchase=111," + strings.ToLower(n) + "=222"
		err := g.ValidateConfig(cfg)
		var ce *dest.ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Field != googleads.SettingConversionActions ||
			ce.Problems[0].Reason != dest.NoticeReason(n) {
			t.Errorf("conversion_actions naming %s: ValidateConfig = %v, want one problem %q", n, err, dest.NoticeReason(n))
		}
	}
}

// A key that is not a service-account key is refused by Prepare without quoting it.
func TestBadKey(t *testing.T) {
	t.Parallel()
	g := &googleads.GoogleAds{}
	cfg := goldenConfig()
	secret := `{"type":"authorized_user","refresh_token":"1//secret-refresh"}`
	_, err := g.Prepare(cfg, dest.NewCredentials(map[string]string{googleads.SettingServiceAccount: secret}))
	if err == nil || strings.Contains(err.Error(), "secret-refresh") {
		t.Errorf("Prepare = %v", err)
	}
	_ = http.StatusOK
}

// The visit's consent is sent per event, each of Google's signals from the visitor's own; an
// unknown signal is left out rather than sent as unspecified.
func TestConsent(t *testing.T) {
	t.Parallel()
	g := &googleads.GoogleAds{}
	gr, de := dest.ConsentGranted, dest.ConsentDenied
	for _, c := range []struct {
		in   dest.ConsentSignals
		want string
	}{
		{dest.AllConsent(gr), `"consent":{"adUserData":"CONSENT_GRANTED","adPersonalization":"CONSENT_GRANTED"}`},
		{dest.AllConsent(de), `"consent":{"adUserData":"CONSENT_DENIED","adPersonalization":"CONSENT_DENIED"}`},
		{dest.ConsentSignals{AdUserData: gr, AdPersonalization: de}, `"consent":{"adUserData":"CONSENT_GRANTED","adPersonalization":"CONSENT_DENIED"}`},
		{dest.ConsentSignals{AdUserData: de}, `"consent":{"adUserData":"CONSENT_DENIED"}`},
		{dest.ConsentSignals{}, ""},
		{dest.AllConsent("unknown"), ""},
	} {
		ev := goldenEvent()
		ev.EventTime, ev.Consent = time.Now().Add(-time.Hour), c.in
		got, err := g.Build(goldenConfig(), []dest.Event{ev})
		if err != nil {
			t.Fatal(err)
		}
		if c.want == "" && bytes.Contains(got, []byte(`"consent"`)) || c.want != "" && !bytes.Contains(got, []byte(c.want)) {
			t.Errorf("consent %+v: want %s in %s", c.in, c.want, got)
		}
	}
}

// The address identifier from intake's Google fields (names hashed by Google's rule, postal and
// region codes plain), as delivery fills them: the reference request's AddressInfo. It is
// never sent partial: without any one of the four parts there is no address.
func TestAddressFromIntakeGoogleFields(t *testing.T) {
	t.Parallel()
	full := dest.User{
		GCLID:            "Cj0",
		GoogleFirstName:  "81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2", // jane
		GoogleLastName:   "Doe Jr.",                                                          // hashed here by Google's rule
		GooglePostalCode: "01310-100", GoogleRegionCode: "BR",
		// Meta's hashed zip and country, as delivery carries them: never an address alone.
		Zip: "9a4a139dfbfcd2fc89a3cb4302dad65a35abd8d29a56c09a962b69c5cf3bca40", Country: "885036a0da3dff3c3e05bc79bf49382b12bc5098514ed57ce0875aba1aa2c40d",
	}
	want := `{"address":{"givenName":"81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2",` +
		`"familyName":"799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f","regionCode":"BR","postalCode":"01310-100"}}`
	build := func(u dest.User) []byte {
		t.Helper()
		ev := goldenEvent()
		ev.User = u
		b, err := (&googleads.GoogleAds{Now: func() time.Time { return ev.EventTime }}).Build(goldenConfig(), []dest.Event{ev})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := build(full); !bytes.Contains(b, []byte(`"userIdentifiers":[`+want+`]`)) {
		t.Errorf("address missing or different:\n got %s\nwant %s", b, want)
	}
	for name, drop := range map[string]func(*dest.User){
		"no given name":  func(u *dest.User) { u.GoogleFirstName = "" },
		"no family name": func(u *dest.User) { u.GoogleLastName = "" },
		"no postal code": func(u *dest.User) { u.GooglePostalCode = "" },
		"no region code": func(u *dest.User) { u.GoogleRegionCode = "" },
	} {
		u := full
		drop(&u)
		if b := build(u); bytes.Contains(b, []byte(`"address"`)) {
			t.Errorf("%s: partial address sent: %s", name, b)
		}
	}
}

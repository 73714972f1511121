package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/dest/webhook/fakewebhook"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
)

var update = flag.Bool("update", false, "rewrite the golden payloads and docs/destinations/webhooks.schema.json (from the OpenAPI document)")

// loopback is what the operator's HUB_EGRESS_ALLOW gives Hub in these tests: the fake receiver
// listens on 127.0.0.1, which the egress client otherwise refuses.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func allowed(now func() time.Time) *webhook.Webhook {
	return webhook.New(dest.Env{Client: egress.New(egress.Config{Allow: loopback}), Now: now, HubVersion: "test"})
}

func TestConformance(t *testing.T) {
	fake := fakewebhook.New()
	desttest.Run(t, func(baseURL string) dest.Destination {
		fake.SetURL(baseURL)
		return allowed(nil)
	}, fake)
}

// receiver serves a fresh fake on loopback and returns it with its settings.
func receiver(t *testing.T) (*fakewebhook.Server, dest.Config, dest.Credentials) {
	t.Helper()
	fake := fakewebhook.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.SetURL(srv.URL)
	cfg, creds := fake.Settings()
	return fake, cfg, creds
}

func purchase(at time.Time) dest.Event {
	return desttest.Events(1, at)[0]
}

// Without the operator's allow-list the egress client refuses the loopback receiver: nothing is
// sent, and the delivery is retried while the operator fixes it.
func TestEgressRefusesLoopbackUnlessAllowed(t *testing.T) {
	t.Parallel()
	fake, cfg, creds := receiver(t)
	res, err := webhook.New(dest.Env{Client: egress.New(egress.Config{})}).Send(context.Background(), cfg, creds, []dest.Event{purchase(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Kind != dest.Retryable || o.Reason != dest.ReasonNetwork || !strings.Contains(o.Message, "HUB_EGRESS_ALLOW") {
		t.Errorf("outcome = %+v, want a retryable refusal naming HUB_EGRESS_ALLOW", o)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("the receiver got %d requests", n)
	}
}

func TestHeadersAndResend(t *testing.T) {
	t.Parallel()
	fake, cfg, creds := receiver(t)
	// The fake checks the timestamp against the real clock, within five minutes.
	clock := time.Now().Add(-time.Minute).Truncate(time.Second)
	w := allowed(func() time.Time { return clock })
	ev := purchase(time.Now())
	s, err := w.Prepare(cfg, creds)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		res, err := s.Send(context.Background(), []dest.Event{ev})
		if err != nil || res.Outcomes[0].Kind != dest.Delivered || res.Requests != 1 {
			t.Fatalf("Send = %+v, %v", res, err)
		}
	}
	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("webhook-id"); got != ev.EventID {
			t.Errorf("webhook-id = %q, want the event id %q on every send", got, ev.EventID)
		}
		if got := r.Header.Get("webhook-timestamp"); got != strconv.FormatInt(clock.Unix(), 10) {
			t.Errorf("webhook-timestamp = %q, want %d", got, clock.Unix())
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if sig := r.Header.Get("webhook-signature"); len(strings.Fields(sig)) != 1 || !strings.HasPrefix(sig, "v1,") {
			t.Errorf("webhook-signature = %q, want one v1 signature", sig)
		}
	}
	if !bytes.Equal(reqs[0].Body, reqs[1].Body) {
		t.Error("a resend changed the body")
	}
	if n := fake.Accepted()[ev.EventID]; n != 1 {
		t.Errorf("the receiver counted the event %d times, want once (deduplicated by webhook-id)", n)
	}
}

// During a rotation Hub signs with both secrets, so a receiver still on the old one and a
// receiver already on the new one both accept; a receiver on neither refuses.
func TestRotation(t *testing.T) {
	t.Parallel()
	fresh, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := webhook.NewSecret()
	fake, cfg, _ := receiver(t)
	rotating := dest.NewCredentials(map[string]string{webhook.SettingSecret: fresh, webhook.SettingPreviousSecret: fakewebhook.Secret})
	w := allowed(nil)
	for _, c := range []struct {
		receiverHas []string
		want        dest.Kind
	}{
		{[]string{fakewebhook.Secret}, dest.Delivered},
		{[]string{fresh}, dest.Delivered},
		{[]string{other}, dest.Permanent},
	} {
		fake.Reset()
		fake.SetSecrets(c.receiverHas...)
		res, err := w.Send(context.Background(), cfg, rotating, []dest.Event{purchase(time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Outcomes[0]; o.Kind != c.want {
			t.Errorf("receiver with %d secret(s): outcome %+v, want %s", len(c.receiverHas), o, c.want)
		}
		if sig := fake.Requests()[0].Header.Get("webhook-signature"); len(strings.Fields(sig)) != 2 {
			t.Errorf("webhook-signature = %q, want two signatures during the rotation", sig)
		}
	}
}

func TestStatusClassification(t *testing.T) {
	t.Parallel()
	fake, cfg, creds := receiver(t)
	w := allowed(nil)
	for _, c := range []struct {
		fault  string
		kind   dest.Kind
		reason string
	}{
		{"200", dest.Delivered, ""},
		{"202", dest.Delivered, ""},
		{"410", dest.Permanent, dest.ReasonInvalidConfig},
		{"404", dest.Permanent, dest.ReasonInvalidConfig},
		{"301", dest.Permanent, dest.ReasonInvalidConfig},
		{"401", dest.Permanent, dest.ReasonInvalidToken},
		{"403", dest.Permanent, dest.ReasonPermission},
		{"422", dest.Permanent, dest.ReasonInvalidParameter},
		{"409", dest.Permanent, dest.ReasonRejected},
		{"408", dest.Retryable, dest.ReasonTimeout},
		{"429", dest.Retryable, dest.ReasonRateLimited},
		{"502", dest.Retryable, dest.ReasonServerError},
		{"503", dest.Retryable, dest.ReasonServerError},
	} {
		fake.Reset()
		if err := fake.InjectFault(c.fault, 1); err != nil {
			t.Fatal(err)
		}
		res, err := w.Send(context.Background(), cfg, creds, []dest.Event{purchase(time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		o := res.Outcomes[0]
		if o.Kind != c.kind || o.Reason != c.reason || o.HTTPStatus != atoi(c.fault) {
			t.Errorf("%s: outcome %s/%s (HTTP %d, %q), want %s/%s", c.fault, o.Kind, o.Reason, o.HTTPStatus, o.Message, c.kind, c.reason)
		}
		if o.Kind == dest.Permanent && o.Message == "" {
			t.Errorf("%s: a permanent outcome without a message", c.fault)
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func TestGoldenPayloads(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 18, 4, 5, 0, time.UTC)
	paid := purchase(at)
	paid.User.FBCLID, paid.User.GCLID, paid.User.TTCLID = "IwAR2F4-dbP0l7Mn1", "Cj0KCQiA", "E.C.P.abc"
	lead := dest.Event{Name: domain.EventLead, EventID: "lead-7f3a", EventTime: at,
		EventSourceURL: "https://loja.example.com.br/?utm_source=facebook&utm_campaign=black-friday",
		User:           dest.User{Emails: []string{"62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f", "raw@example.com"}, FBP: "fb.1.1767224000000.1116446470"}}
	w := webhook.New(dest.Env{})
	for _, c := range []struct {
		name string
		pii  string
		ev   dest.Event
	}{
		{"order_paid.json", "false", paid},
		{"order_paid_pii.json", "true", paid},
		{"lead_created_pii.json", "true", lead},
	} {
		cfg := dest.Config{webhook.SettingURL: "https://crm.example.com/hub", webhook.SettingIncludePII: c.pii, webhook.SettingEvents: "Purchase,Lead"}
		body, err := w.Build(cfg, []dest.Event{c.ev})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		desttest.Golden(t, filepath.Join("testdata", c.name), body, *update)
		hasBuyer := strings.Contains(string(body), `"buyer"`)
		if hasBuyer != (c.pii == "true") {
			t.Errorf("%s: include_pii=%s but buyer present = %v", c.name, c.pii, hasBuyer)
		}
		if strings.Contains(string(body), "raw@example.com") {
			t.Errorf("%s: a raw e-mail left Hub", c.name)
		}
	}
}

func TestBuildRefusesOtherEvents(t *testing.T) {
	t.Parallel()
	ev := purchase(time.Now())
	ev.Name = domain.EventAddToCart
	_, err := webhook.New(dest.Env{}).Build(dest.Config{webhook.SettingURL: "https://crm.example.com/hub"}, []dest.Event{ev})
	if ees := dest.EventErrors(err); len(ees) != 1 || ees[0].Reason != dest.ReasonInvalidEvent {
		t.Errorf("Build(AddToCart) = %v, want an invalid_event refusal", err)
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	w := webhook.New(dest.Env{})
	for _, c := range []struct {
		cfg   dest.Config
		field string // "" when valid
	}{
		{dest.Config{"url": "https://crm.example.com/hub?src=hub"}, ""},
		{dest.Config{"url": "http://127.0.0.1:8080/hook"}, ""},
		{dest.Config{"url": "http://[::1]:8080/hook"}, ""},
		{dest.Config{"url": "http://10.1.2.3/hook"}, ""},
		{dest.Config{"url": "http://localhost:8080/hook"}, ""},
		{dest.Config{"url": "http://crm.example.com/hub"}, "url"},
		{dest.Config{"url": "http://8.8.8.8/hub"}, "url"},
		{dest.Config{"url": "https://user:pass@crm.example.com/hub"}, "url"},
		{dest.Config{"url": "ftp://crm.example.com/hub"}, "url"},
		{dest.Config{"url": "crm.example.com/hub"}, "url"},
		{dest.Config{"url": "https://crm.example.com/hub#x"}, "url"},
		{dest.Config{}, "url"},
		{dest.Config{"url": "https://crm.example.com/hub", "events": "purchase, lead"}, ""},
		{dest.Config{"url": "https://crm.example.com/hub", "events": "order.paid"}, "events"},
		{dest.Config{"url": "https://crm.example.com/hub", "events": "Purchase,AddToCart"}, "events"},
		{dest.Config{"url": "https://crm.example.com/hub", "include_pii": "yes"}, "include_pii"},
		{dest.Config{"url": "https://crm.example.com/hub", "signing_secret": "whsec_x"}, "signing_secret"},
	} {
		err := w.ValidateConfig(c.cfg)
		if c.field == "" {
			if err != nil {
				t.Errorf("%v: %v", c.cfg, err)
			}
			continue
		}
		ce, ok := err.(*dest.ConfigError)
		if !ok || len(ce.Problems) == 0 || ce.Problems[0].Field != c.field {
			t.Errorf("%v: %v, want a problem with %s", c.cfg, err, c.field)
			continue
		}
		if v := c.cfg["url"]; c.field == "url" && v != "" && strings.Contains(err.Error(), v) {
			t.Errorf("the error quotes the URL: %v", err)
		}
	}
}

func TestPrepareRefusesBadSecrets(t *testing.T) {
	t.Parallel()
	cfg := dest.Config{"url": "https://crm.example.com/hub"}
	for _, creds := range []map[string]string{
		{webhook.SettingSecret: "not-a-secret-value-at-all-1234"},
		{webhook.SettingSecret: fakewebhook.Secret, webhook.SettingPreviousSecret: "whsec_c2hvcnQ="},
		{webhook.SettingPreviousSecret: fakewebhook.Secret},
	} {
		_, err := webhook.New(dest.Env{}).Prepare(cfg, dest.NewCredentials(creds))
		if err == nil {
			t.Errorf("Prepare(%d secrets) = nil error", len(creds))
			continue
		}
		for _, v := range creds {
			if strings.Contains(err.Error(), v) {
				t.Errorf("the error quotes a secret: %v", err)
			}
		}
	}
}

// An event id with characters Standard Webhooks forbids in webhook-id (the dot joins the signed
// parts) is replaced by a stable digest; a safe one is sent as is.
func TestMessageIDOfUnsafeEventID(t *testing.T) {
	t.Parallel()
	fake, cfg, creds := receiver(t)
	ev := purchase(time.Now())
	ev.EventID = "hotmart:HP1.234 5:purchase"
	w := allowed(nil)
	for range 2 {
		if res, _ := w.Send(context.Background(), cfg, creds, []dest.Event{ev}); res.Outcomes[0].Kind != dest.Delivered {
			t.Fatalf("outcome %+v", res.Outcomes[0])
		}
	}
	reqs := fake.Requests()
	id := reqs[0].Header.Get("webhook-id")
	if !strings.HasPrefix(id, "evt_") || strings.ContainsAny(id, ". ") || reqs[1].Header.Get("webhook-id") != id {
		t.Errorf("webhook-ids %q, %q: want one stable evt_ digest", id, reqs[1].Header.Get("webhook-id"))
	}
	if n := fake.Accepted()[ev.EventID]; n != 1 {
		t.Errorf("accepted %d times, want once", n)
	}
}

// TestNeverFollowsRedirects: a client that follows redirects (an operator's or a test's, built
// on the egress transport) is still made not to: a 307 would post the signed event again to
// wherever Location points. The outcome is a permanent failure that says to set the final URL.
func TestNeverFollowsRedirects(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var followed int
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		followed++
		mu.Unlock()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: egress.NewTransport(egress.Config{Allow: loopback})}
	w := webhook.New(dest.Env{Client: client, HubVersion: "test"})
	_, creds := fakewebhook.New().Settings()
	res, err := w.Send(context.Background(), dest.Config{webhook.SettingURL: srv.URL + "/hook"}, creds, []dest.Event{purchase(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[0]
	if o.Kind != dest.Permanent || o.Reason != dest.ReasonInvalidConfig || o.HTTPStatus != http.StatusTemporaryRedirect ||
		!strings.Contains(o.Message, "does not follow redirects") {
		t.Errorf("outcome = %+v, want a permanent invalid_config naming the redirect", o)
	}
	mu.Lock()
	defer mu.Unlock()
	if followed != 0 {
		t.Errorf("the redirect was followed: the signed event was posted %d more times", followed)
	}
}

// TestCheckCredentialsRefusesBadSecrets: the spec's credential check, which the API, the
// dashboard and the operator's commands run before storing a destination, refuses a signing
// secret Prepare could not use, on its own field, with a reason worded in both languages that
// never quotes it; a good secret passes.
func TestCheckCredentialsRefusesBadSecrets(t *testing.T) {
	t.Parallel()
	spec := webhook.New(dest.Env{}).Spec()
	for _, c := range []struct {
		creds map[string]string
		field string
	}{
		{map[string]string{webhook.SettingSecret: "not-a-secret-value-at-all-1234"}, webhook.SettingSecret},
		{map[string]string{webhook.SettingSecret: "whsec_!!!notbase64"}, webhook.SettingSecret},
		{map[string]string{webhook.SettingSecret: fakewebhook.Secret, webhook.SettingPreviousSecret: "whsec_c2hvcnQ="}, webhook.SettingPreviousSecret},
	} {
		ce := dest.CheckCredentials(spec, dest.NewCredentials(c.creds))
		if len(ce.Problems) != 1 || ce.Problems[0].Field != c.field {
			t.Errorf("CheckCredentials(%v) = %+v, want one problem on %s", c.creds, ce.Problems, c.field)
			continue
		}
		reason := ce.Problems[0].Reason
		if w, ok := spec.Problem(reason); !ok || w.PT == "" {
			t.Errorf("problem %q is not worded in the spec", reason)
		}
		for _, v := range c.creds {
			if strings.Contains(reason, v) {
				t.Errorf("the problem quotes a secret: %q", reason)
			}
		}
	}
	if err := dest.CheckCredentials(spec, dest.NewCredentials(map[string]string{webhook.SettingSecret: fakewebhook.Secret})).Err(); err != nil {
		t.Errorf("a good secret: %v", err)
	}
}

// TestReceiverAnswerNeverLeaksTheSecret: the excerpt of a receiver's refusal that the outcome
// quotes (the attempt log, the API, the dashboard, the alert notices' log) has the signing
// secrets removed before it is cut: a receiver that echoes back its request and the secret it
// verified with, or the key its library parsed out of it, must not put the secret in front of
// whoever reads the delivery. A secret the cut at 200 characters crosses would otherwise leave
// its first part behind, where no later redaction can recognise it.
func TestReceiverAnswerNeverLeaksTheSecret(t *testing.T) {
	t.Parallel()
	current, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	forgotten, _ := webhook.NewSecret() // a secret the receiver still holds and Hub no longer does
	previous := fakewebhook.Secret
	key := func(s string) string { return strings.TrimPrefix(s, webhook.SecretPrefix) }
	raw, err := base64.StdEncoding.DecodeString(key(current))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		answer func(r *http.Request) string
		cut    bool // the answer is longer than the excerpt: the marker may be past the cut
	}{
		{"secret echoed", func(*http.Request) string { return "signature mismatch: expected secret " + current }, false},
		{"key without the prefix", func(*http.Request) string { return "hmac key " + key(current) + " did not match" }, false},
		{"key without padding", func(*http.Request) string {
			return "hmac key " + strings.TrimRight(key(current), "=") + " did not match"
		}, false},
		{"key in the URL-safe alphabet", func(*http.Request) string { return "key " + base64.RawURLEncoding.EncodeToString(raw) }, false},
		{"key in hex", func(*http.Request) string { return "key " + hex.EncodeToString(raw) }, false},
		{"previous secret", func(*http.Request) string { return "tried " + previous + " too" }, false},
		{"a secret Hub does not know", func(*http.Request) string { return "tried " + forgotten }, false},
		{"URL-escaped", func(*http.Request) string { return "query secret=" + url.QueryEscape(current) }, false},
		{"request headers echoed", func(r *http.Request) string {
			var b strings.Builder
			_ = r.Header.Write(&b)
			return "debug: Webhook-Secret: " + current + "\r\n" + b.String()
		}, true},
		{"secret at the cut", func(*http.Request) string { return strings.Repeat("x", 180) + " " + current }, true},
		{"key at the cut", func(*http.Request) string { return strings.Repeat("é", 185) + " " + key(current) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(c.answer(r)))
			}))
			t.Cleanup(srv.Close)
			cfg := dest.Config{webhook.SettingURL: srv.URL + "/hooks"}
			creds := dest.NewCredentials(map[string]string{webhook.SettingSecret: current, webhook.SettingPreviousSecret: previous})
			res, err := allowed(nil).Send(context.Background(), cfg, creds, []dest.Event{purchase(time.Now())})
			if err != nil {
				t.Fatal(err)
			}
			o := res.Outcomes[0]
			if o.Kind != dest.Permanent || !strings.Contains(o.Message, "the endpoint answered 400") {
				t.Fatalf("outcome %+v, want a permanent refusal quoting the endpoint", o)
			}
			for _, s := range []string{current, previous, forgotten, base64.RawURLEncoding.EncodeToString(raw), hex.EncodeToString(raw)} {
				if part := key(s)[:8]; strings.Contains(o.Message, part) {
					t.Errorf("the message keeps part of a secret (%q): %q", part, o.Message)
				}
			}
			if !c.cut && !strings.Contains(o.Message, "[REDACTED]") {
				t.Errorf("the message does not say what was removed: %q", o.Message)
			}
		})
	}
}

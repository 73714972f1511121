// Package desttest is the conformance suite every destination passes against its fake server:
// a happy batch is delivered, injected faults are classified as the delivery worker expects,
// credentials never leak, and Build is deterministic.
//
// Platforms that never report an error (Spec.Unconfirmed: GA4's Measurement Protocol answers
// 2xx to a wrong secret and to an invalid event alike) run a documented variant instead of
// being given a fake that answers errors the platform never sends: their fake answers the
// invalid_token and invalid_param faults with a success and records nothing, and the suite
// expects Delivered and nothing recorded, which pins down that Hub cannot see those failures
// (their Test setting, which the suite requires, makes the platform validate instead); a 2xx
// with an unreadable body is Delivered too, since such a platform's answer has no body to read.
package desttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
)

// Fault modes every fake server understands, by InjectFault and by its HTTP control endpoint.
const (
	FaultNone         = "none"
	Fault429          = "429"           // HTTP 429 with a Retry-After header
	Fault500          = "500"           // HTTP 500
	FaultTimeout      = "timeout"       // no answer until the client gives up
	FaultInvalidToken = "invalid_token" // the platform's expired-token error
	FaultInvalidParam = "invalid_param" // the platform's invalid-parameter error
	FaultMalformed    = "malformed"     // HTTP 200 with a body that is not the platform's answer
)

// FakeServer is a platform's fake, as the suite drives it.
type FakeServer interface {
	http.Handler
	// InjectFault makes the next count requests fail in mode; count <= 0 means every request
	// until Reset or FaultNone.
	InjectFault(mode string, count int) error
	// Accepted returns how many times each event id was accepted.
	Accepted() map[string]int
	// Reset clears faults and recorded events.
	Reset()
	// Settings returns settings and credentials the fake accepts. Where the platform is, is never
	// a setting (a tenant could point Hub anywhere): the suite's newDest takes it.
	Settings() (dest.Config, dest.Credentials)
}

// Events returns n valid purchases at the given time, with distinct event ids and every user key
// set (hashes for the personal keys, Meta's and Google's) and a Google click id.
func Events(n int, at time.Time) []dest.Event {
	evs := make([]dest.Event, n)
	for i := range evs {
		evs[i] = dest.Event{
			Name:           domain.EventPurchase,
			EventID:        fmt.Sprintf("desttest:order-%d:purchase", i),
			EventTime:      at.Add(-time.Duration(i) * time.Second).UTC(),
			ActionSource:   dest.ActionWebsite,
			EventSourceURL: "https://loja.example.com.br/obrigado",
			User: dest.User{
				Emails:      []string{"62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"},
				Phones:      []string{"b8e374ecc3a7a117a4df68efc21b0157f7c2ea542f7edaf29b33dc8818cf695e"},
				Country:     "885036a0da3dff3c3e05bc79bf49382b12bc5098514ed57ce0875aba1aa2c40d",
				ExternalIDs: []string{fmt.Sprintf("%064x", i+1)},
				ClientIP:    "2001:db8::1",
				UserAgent:   "Mozilla/5.0 (desttest)",
				FBC:         "fb.1.1767225000000.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk",
				FBP:         "fb.1.1767224000000.1116446470",
				// Google's: jane.doe@example.com hashed by Google's rules, and a click id.
				GoogleEmails: []string{"86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"},
				GCLID:        fmt.Sprintf("Cj0KCQjwdesttest%d_BwE", i),
				// GA4's client id, from the _ga cookie.
				GAClientID: fmt.Sprintf("%d.1767225000", 1958185836+i),
			},
			Custom: dest.Custom{
				ValueMinor: 19700, Currency: "BRL", OrderID: fmt.Sprintf("order-%d", i),
				ContentIDs: []string{"4711"}, NumItems: 1,
				Contents: []dest.Content{{ID: "4711", Quantity: 1, ItemPriceMinor: 19700}},
			},
		}
	}
	return evs
}

// Run runs the suite. newDest returns the destination sending to the platform at baseURL (the
// fake, on a loopback address its outbound client must allow); it must use the real clock (the
// suite's events are a minute old).
func Run(t *testing.T, newDest func(baseURL string) dest.Destination, fake FakeServer) {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	d := newDest(srv.URL)
	cfg, creds := fake.Settings()
	spec := d.Spec()
	secrets := secretValues(spec, creds)
	if len(secrets) == 0 {
		t.Fatal("desttest: the fake's credentials hold no secret value; the leak checks would prove nothing")
	}
	// events returns n events, or the most one Send takes (a destination that sends one event
	// per request declares MaxBatch 1).
	events := func(n int) []dest.Event { return Events(min(n, spec.MaxBatch), time.Now().Add(-time.Minute)) }

	// send runs one Send on a clean fake with the fault injected until the end of the subtest,
	// and checks what holds for every send: one outcome per event, in order, no secret anywhere.
	send := func(t *testing.T, ctx context.Context, fault string, evs []dest.Event) dest.BatchResult {
		t.Helper()
		fake.Reset()
		t.Cleanup(fake.Reset)
		if fault != "" {
			if err := fake.InjectFault(fault, 0); err != nil {
				t.Fatalf("InjectFault(%s): %v", fault, err)
			}
		}
		res, err := d.Send(ctx, cfg, creds, evs)
		if err != nil {
			noSecret(t, secrets, err.Error())
			t.Fatalf("Send: %v", err)
		}
		noSecret(t, secrets, fmt.Sprintf("%+v", res))
		if len(res.Outcomes) != len(evs) {
			t.Fatalf("Send returned %d outcomes for %d events", len(res.Outcomes), len(evs))
		}
		for i, o := range res.Outcomes {
			if o.EventID != evs[i].EventID {
				t.Errorf("outcome %d is for %q, want %q", i, o.EventID, evs[i].EventID)
			}
		}
		return res
	}
	expect := func(t *testing.T, res dest.BatchResult, kind dest.Kind, reason string) {
		t.Helper()
		for i, o := range res.Outcomes {
			if o.Kind != kind || o.Reason != reason {
				t.Errorf("outcome %d = %s/%s (%q), want %s/%s", i, o.Kind, o.Reason, o.Message, kind, reason)
			}
		}
	}
	noneAccepted := func(t *testing.T) {
		t.Helper()
		if got := fake.Accepted(); len(got) != 0 {
			t.Errorf("fake accepted %v, want nothing", got)
		}
	}

	t.Run("spec", func(t *testing.T) {
		if d.Type() == "" || spec.Type != d.Type() {
			t.Errorf("Type() = %q, Spec().Type = %q", d.Type(), spec.Type)
		}
		if spec.MaxBatch <= 0 || spec.MaxEventAge <= 0 || spec.Timeout <= 0 {
			t.Errorf("Spec: MaxBatch = %d, MaxEventAge = %v, Timeout = %v; all must be set", spec.MaxBatch, spec.MaxEventAge, spec.Timeout)
		}
		if spec.Title == "" || spec.Docs == "" || len(spec.Identifiers) == 0 {
			t.Errorf("Spec: Title %q, Docs %q, Identifiers %v; all must be set", spec.Title, spec.Docs, spec.Identifiers)
		}
		tests := 0
		for _, st := range spec.Settings {
			if st.Name == "" || st.Label == "" || st.Description == "" {
				t.Errorf("setting %+v needs a name, a label and a description", st)
			}
			if st.Name == dest.SettingEvents && st.Kind != dest.KindEvents || st.Kind == dest.KindEvents && st.Name != dest.SettingEvents {
				t.Errorf("setting %s: the enabled events are the setting %q of kind %q (dest.EventEnabled reads it)", st.Name, dest.SettingEvents, dest.KindEvents)
			}
			if st.Test {
				tests++
			}
		}
		if tests > 1 {
			t.Errorf("%d settings are marked Test; at most one routes events to the platform's test view", tests)
		}
		if spec.Unconfirmed && tests != 1 {
			t.Error("an Unconfirmed platform reports no error when sending, so it needs a Test setting that makes it validate")
		}
		for _, op := range spec.Operator {
			if !strings.HasPrefix(op.Env, "HUB_") || op.Description == "" {
				t.Errorf("operator setting %+v needs a HUB_ environment variable and a description", op)
			}
		}
	})

	t.Run("prepare once, send many", func(t *testing.T) {
		fake.Reset()
		t.Cleanup(fake.Reset)
		s, err := d.Prepare(cfg, creds)
		if err != nil {
			t.Fatalf("Prepare(fake settings): %v", err)
		}
		for range 2 {
			evs := events(2)
			res, err := s.Send(context.Background(), evs)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			noSecret(t, secrets, fmt.Sprintf("%+v", res))
			expect(t, res, dest.Delivered, "")
		}
		if _, err := d.Prepare(cfg, dest.NewCredentials(nil)); err == nil {
			t.Error("Prepare without credentials = nil, want an error")
		} else {
			noSecret(t, secrets, err.Error())
		}
		c := clone(cfg)
		c["no_such_setting"] = "x"
		if _, err := d.Prepare(c, creds); err == nil {
			t.Error("Prepare with an unknown setting = nil, want an error")
		}
	})

	t.Run("validate config", func(t *testing.T) {
		if err := d.ValidateConfig(cfg); err != nil {
			t.Fatalf("ValidateConfig(fake settings): %v", err)
		}
		for _, st := range spec.Settings {
			if !st.Required || st.Secret || st.Default != "" {
				continue
			}
			c := clone(cfg)
			delete(c, st.Name)
			err := d.ValidateConfig(c)
			var ce *dest.ConfigError
			if !errors.As(err, &ce) || !mentions(ce, st.Name) {
				t.Errorf("without %s: ValidateConfig = %v, want a *ConfigError naming it", st.Name, err)
			}
		}
		c := clone(cfg)
		c["no_such_setting"] = "x"
		if err := d.ValidateConfig(c); err == nil {
			t.Error("unknown setting: ValidateConfig = nil, want an error")
		}
	})

	t.Run("build is deterministic and holds no secret", func(t *testing.T) {
		evs := events(3)
		a, err := d.Build(cfg, evs)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		b, err := d.Build(cfg, evs)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("Build is not deterministic:\n%s\n%s", a, b)
		}
		noSecret(t, secrets, string(a))
	})

	t.Run("batch too large", func(t *testing.T) {
		evs := Events(spec.MaxBatch+1, time.Now().Add(-time.Minute))
		if _, err := d.Build(cfg, evs); !errors.Is(err, dest.ErrBatchTooLarge) {
			t.Errorf("Build(%d events) err = %v, want ErrBatchTooLarge", len(evs), err)
		}
		if _, err := d.Send(context.Background(), cfg, creds, evs); !errors.Is(err, dest.ErrBatchTooLarge) {
			t.Errorf("Send(%d events) err = %v, want ErrBatchTooLarge", len(evs), err)
		}
		noneAccepted(t)
	})

	t.Run("empty batch", func(t *testing.T) {
		res := send(t, context.Background(), "", nil)
		if res.Requests != 0 {
			t.Errorf("empty batch made %d requests", res.Requests)
		}
	})

	t.Run("happy batch delivered once", func(t *testing.T) {
		evs := events(3)
		res := send(t, context.Background(), "", evs)
		expect(t, res, dest.Delivered, "")
		if res.Requests < 1 {
			t.Errorf("Requests = %d", res.Requests)
		}
		got := fake.Accepted()
		for _, e := range evs {
			if got[e.EventID] != 1 {
				t.Errorf("fake accepted %q %d times, want once", e.EventID, got[e.EventID])
			}
		}
		if len(got) != len(evs) {
			t.Errorf("fake accepted %d ids, want %d", len(got), len(evs))
		}
	})

	t.Run("429 is retryable with retry-after", func(t *testing.T) {
		res := send(t, context.Background(), Fault429, events(2))
		expect(t, res, dest.Retryable, dest.ReasonRateLimited)
		for i, o := range res.Outcomes {
			if o.RetryAfter <= 0 || o.HTTPStatus != http.StatusTooManyRequests {
				t.Errorf("outcome %d: RetryAfter = %v, HTTPStatus = %d; want > 0 and 429", i, o.RetryAfter, o.HTTPStatus)
			}
		}
		noneAccepted(t)
	})

	t.Run("5xx is retryable", func(t *testing.T) {
		res := send(t, context.Background(), Fault500, events(2))
		expect(t, res, dest.Retryable, dest.ReasonServerError)
		noneAccepted(t)
	})

	t.Run("timeout is retryable", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		res := send(t, ctx, FaultTimeout, events(2))
		expect(t, res, dest.Retryable, dest.ReasonTimeout)
		noneAccepted(t)
	})

	t.Run("cancelled context is retryable", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res := send(t, ctx, "", events(1))
		expect(t, res, dest.Retryable, dest.ReasonCancelled)
		noneAccepted(t)
	})

	if spec.Unconfirmed {
		// The variant: the platform says nothing, so neither can Hub.
		t.Run("unconfirmed: an invalid token looks delivered and records nothing", func(t *testing.T) {
			res := send(t, context.Background(), FaultInvalidToken, events(2))
			expect(t, res, dest.Delivered, "")
			noneAccepted(t)
		})
		t.Run("unconfirmed: an invalid parameter looks delivered and records nothing", func(t *testing.T) {
			res := send(t, context.Background(), FaultInvalidParam, events(2))
			expect(t, res, dest.Delivered, "")
			noneAccepted(t)
		})
		t.Run("unconfirmed: a 2xx with any body is delivered", func(t *testing.T) {
			res := send(t, context.Background(), FaultMalformed, events(2))
			expect(t, res, dest.Delivered, "")
		})
	} else {
		t.Run("invalid token is permanent", func(t *testing.T) {
			res := send(t, context.Background(), FaultInvalidToken, events(2))
			expect(t, res, dest.Permanent, dest.ReasonInvalidToken)
			noneAccepted(t)
		})

		t.Run("invalid parameter is permanent", func(t *testing.T) {
			res := send(t, context.Background(), FaultInvalidParam, events(2))
			expect(t, res, dest.Permanent, dest.ReasonInvalidParameter)
			noneAccepted(t)
		})

		t.Run("malformed response is retryable", func(t *testing.T) {
			res := send(t, context.Background(), FaultMalformed, events(2))
			expect(t, res, dest.Retryable, dest.ReasonMalformedResponse)
		})
	}

	t.Run("missing credentials is permanent without a request", func(t *testing.T) {
		fake.Reset()
		evs := events(2)
		res, err := d.Send(context.Background(), cfg, dest.NewCredentials(nil), evs)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		if len(res.Outcomes) != len(evs) || res.Requests != 0 {
			t.Fatalf("got %d outcomes, %d requests", len(res.Outcomes), res.Requests)
		}
		expect(t, res, dest.Permanent, dest.ReasonInvalidConfig)
		noneAccepted(t)
	})

	t.Run("fault cleared, delivery resumes", func(t *testing.T) {
		fake.Reset()
		if err := fake.InjectFault(Fault500, 1); err != nil {
			t.Fatal(err)
		}
		evs := events(1)
		first, _ := d.Send(context.Background(), cfg, creds, evs)
		second, _ := d.Send(context.Background(), cfg, creds, evs)
		if len(first.Outcomes) != 1 || first.Outcomes[0].Kind != dest.Retryable {
			t.Errorf("first send = %+v, want retryable", first.Outcomes)
		}
		if len(second.Outcomes) != 1 || second.Outcomes[0].Kind != dest.Delivered {
			t.Errorf("second send = %+v, want delivered", second.Outcomes)
		}
		if n := fake.Accepted()[evs[0].EventID]; n != 1 {
			t.Errorf("accepted %d times, want once", n)
		}
		fake.Reset()
	})
}

func secretValues(spec dest.Spec, creds dest.Credentials) []string {
	var out []string
	for _, st := range spec.Settings {
		if v := creds.Get(st.Name); st.Secret && v != "" {
			out = append(out, v)
		}
	}
	return out
}

func noSecret(t *testing.T, secrets []string, s string) {
	t.Helper()
	for _, sec := range secrets {
		if strings.Contains(s, sec) || strings.Contains(s, url.QueryEscape(sec)) || strings.Contains(s, url.PathEscape(sec)) {
			t.Errorf("a secret leaked into: %s", s)
		}
	}
}

func clone(c dest.Config) dest.Config {
	out := make(dest.Config, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

func mentions(ce *dest.ConfigError, field string) bool {
	for _, p := range ce.Problems {
		if p.Field == field {
			return true
		}
	}
	return false
}

package dest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
)

func TestCredentialsNeverPrint(t *testing.T) {
	t.Parallel()
	const token = "EAAB-very-secret-token"
	c := dest.NewCredentials(map[string]string{"access_token": token})
	if c.Get("access_token") != token {
		t.Fatal("Get lost the value")
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "creds", c)
	js, _ := json.Marshal(map[string]any{"c": c})
	outputs := []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c),
		fmt.Sprintf("%+v", struct{ C dest.Credentials }{c}), string(js), logged.String(),
		fmt.Errorf("send: %v", c).Error(),
	}
	for _, out := range outputs {
		if strings.Contains(out, token) {
			t.Errorf("token leaked in %q", out)
		}
	}
}

func TestCredentialsCopy(t *testing.T) {
	t.Parallel()
	m := map[string]string{"access_token": "a"}
	c := dest.NewCredentials(m)
	m["access_token"] = "b"
	if c.Get("access_token") != "a" {
		t.Error("NewCredentials must copy its input")
	}
}

var spec = dest.Spec{
	Type: "x",
	Settings: []dest.Setting{
		{Name: "pixel_id", Required: true},
		{Name: "api_version", Default: "v1"},
		{Name: "access_token", Required: true, Secret: true},
	},
}

func TestCheckSettings(t *testing.T) {
	t.Parallel()
	ce := dest.CheckSettings(spec, dest.Config{"bogus": "1", "access_token": "t"})
	want := []domain.FieldError{
		{Field: "access_token", Reason: "secret; belongs in the credentials, not the settings"},
		{Field: "bogus", Reason: "unknown setting"},
		{Field: "pixel_id", Reason: "required"},
	}
	if fmt.Sprint(ce.Problems) != fmt.Sprint(want) {
		t.Errorf("problems = %v, want %v", ce.Problems, want)
	}
	if strings.Contains(ce.Error(), `"t"`) {
		t.Error("error must not echo values")
	}
	var target *dest.ConfigError
	if !errors.As(ce.Err(), &target) {
		t.Error("Err() must be a *ConfigError")
	}
	if err := dest.CheckSettings(spec, dest.Config{"pixel_id": "1"}).Err(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if got := (dest.Config{}).Get(spec, "api_version"); got != "v1" {
		t.Errorf("default = %q", got)
	}
}

func TestCheckCredentials(t *testing.T) {
	t.Parallel()
	if err := dest.CheckCredentials(spec, dest.NewCredentials(nil)).Err(); err == nil {
		t.Error("missing token: want an error")
	}
	if err := dest.CheckCredentials(spec, dest.NewCredentials(map[string]string{"access_token": "t", "pixel_id": "1"})).Err(); err == nil {
		t.Error("non-secret in credentials: want an error")
	}
	if err := dest.CheckCredentials(spec, dest.NewCredentials(map[string]string{"access_token": "t"})).Err(); err != nil {
		t.Errorf("valid: %v", err)
	}
}

type stub struct {
	t          string
	onboarding int
}

func (s stub) Type() string { return s.t }
func (s stub) Spec() dest.Spec {
	return dest.Spec{Type: s.t, Timeout: time.Duration(len(s.t)) * time.Second, Onboarding: s.onboarding}
}
func (stub) Prepare(dest.Config, dest.Credentials) (dest.Sender, error) { return nil, nil }
func (stub) ValidateConfig(dest.Config) error                           { return nil }
func (stub) Build(dest.Config, []dest.Event) ([]byte, error)            { return nil, nil }
func (stub) Send(context.Context, dest.Config, dest.Credentials, []dest.Event) (dest.BatchResult, error) {
	return dest.BatchResult{}, nil
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	r.Register(stub{t: "b"})
	r.Register(stub{t: "a"})
	if d, ok := r.Lookup("a"); !ok || d.Type() != "a" {
		t.Error("Lookup(a) failed")
	}
	if _, ok := r.Lookup("c"); ok {
		t.Error("Lookup(c) found something")
	}
	if got := strings.Join(r.Types(), ","); got != "a,b" {
		t.Errorf("Types = %s", got)
	}
	if len(r.Specs()) != 2 {
		t.Error("Specs")
	}
	r.Register(stub{t: "ccc"})
	if got := r.MaxTimeout(); got != 3*time.Second {
		t.Errorf("MaxTimeout = %v, want the longest spec timeout", got)
	}
	for _, d := range []stub{{t: "a"}, {t: ""}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) should panic", d.t)
				}
			}()
			r.Register(d)
		}()
	}
}

// TestOnboarding: the setup page's order is Spec.Onboarding, lowest first, the destinations
// without one after, by type.
func TestOnboarding(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	for _, s := range []stub{{t: "zeta", onboarding: 1}, {t: "alpha"}, {t: "mid", onboarding: 2}, {t: "beta"}} {
		r.Register(s)
	}
	var got []string
	for _, s := range r.Onboarding() {
		got = append(got, s.Type)
	}
	if strings.Join(got, ",") != "zeta,mid,alpha,beta" {
		t.Errorf("Onboarding = %v, want zeta,mid,alpha,beta", got)
	}
}

// TestMissingWordsNamesTheTestView: a spec without its test view in both languages is
// incomplete.
func TestMissingWordsNamesTheTestView(t *testing.T) {
	t.Parallel()
	s := dest.Spec{Type: "x", Title: "X", TitlePT: "X", Description: "d", DescriptionPT: "d", TestView: dest.Words{EN: "In X's test tab."}}
	if got := strings.Join(s.MissingWords(), "|"); got != "x: the test view lacks a language" {
		t.Errorf("MissingWords = %q", got)
	}
	s.TestView.PT = "Na aba de teste do X."
	if got := s.MissingWords(); len(got) != 0 {
		t.Errorf("MissingWords = %q", got)
	}
}

func TestEventErrors(t *testing.T) {
	t.Parallel()
	e1 := &dest.EventError{Index: 0, EventID: "a", Reason: dest.ReasonStale, Detail: "old"}
	e2 := &dest.EventError{Index: 2, EventID: "c", Reason: dest.ReasonInvalidEvent, Detail: "no name"}
	err := fmt.Errorf("meta: build: %w", errors.Join(e1, e2))
	got := dest.EventErrors(err)
	if len(got) != 2 || got[0] != e1 || got[1] != e2 {
		t.Fatalf("EventErrors = %v", got)
	}
	if o := e1.Outcome(); o.Kind != dest.Permanent || o.Reason != dest.ReasonStale || o.EventID != "a" {
		t.Errorf("Outcome = %+v", o)
	}
	if dest.EventErrors(errors.New("x")) != nil {
		t.Error("plain error has no event errors")
	}
}

// The one event filter: names in any case; an empty list sends purchases and no browser event.
func TestEventEnabled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		events  string
		name    string
		browser bool
		want    bool
	}{
		{"", "Purchase", false, true},
		{"", "Lead", true, false},
		{" , ", "Purchase", false, true},
		{"purchase", "Purchase", false, true},
		{"PURCHASE, lead", "Lead", true, true},
		{"Lead", "Purchase", false, false},
		{"Purchase,InitiateCheckout", "AddToCart", true, false},
		{"Purchases", "Purchase", false, false},
	} {
		cfg := dest.Config{}
		if tc.events != "" {
			cfg[dest.SettingEvents] = tc.events
		}
		if got := dest.EventEnabled(cfg, tc.name, tc.browser); got != tc.want {
			t.Errorf("EventEnabled(%q, %s, browser %v) = %v, want %v", tc.events, tc.name, tc.browser, got, tc.want)
		}
	}
	if got := dest.EventNames(dest.Config{dest.SettingEvents: " Purchase, ,Lead "}); strings.Join(got, "|") != "Purchase|Lead" {
		t.Errorf("EventNames = %q", got)
	}
}

func TestRefusing(t *testing.T) {
	t.Parallel()
	evs := []dest.Event{{EventID: "a"}, {EventID: "b"}}
	res, err := dest.Refusing(errors.New("dest: x: invalid settings: pixel_id: required")).Send(context.Background(), evs)
	if err != nil || len(res.Outcomes) != 2 || res.Requests != 0 {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	for i, o := range res.Outcomes {
		if o.EventID != evs[i].EventID || o.Kind != dest.Permanent || o.Reason != dest.ReasonInvalidConfig || o.Message == "" {
			t.Errorf("outcome %d = %+v", i, o)
		}
	}
}

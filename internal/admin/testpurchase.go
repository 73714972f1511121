package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
)

// Why a test purchase cannot be made (TestPurchaseError.Code).
const (
	TestUnknownGateway = "unknown_gateway" // no such gateway
	TestNoTemplate     = "no_template"     // the gateway builds no test purchase
	TestNotEnabled     = "not_enabled"     // the source has no webhook URL for the gateway
	TestNoSecret       = "no_secret"       // a signed gateway without the source's secret
	TestNoTestCode     = "no_test_code"    // a destination would count it as a real sale
	TestRefused        = "refused"         // Hub's webhook endpoint did not accept it
)

// TestPurchaseError says why a test purchase was not made, in words for the operator (Error)
// and as a Code the dashboard puts into the reader's language with Provider and Detail.
type TestPurchaseError struct {
	Code     string
	Provider string
	Detail   string // the destination's name (no_test_code), the endpoint's answer (refused)
}

func (e *TestPurchaseError) Error() string {
	switch e.Code {
	case TestUnknownGateway:
		return fmt.Sprintf("test purchase: %q is not a gateway Hub knows", e.Provider)
	case TestNoTemplate:
		return fmt.Sprintf("test purchase: Hub cannot build a %s test purchase", e.Provider)
	case TestNotEnabled:
		return fmt.Sprintf("test purchase: %s is not enabled on this source: save its secret first (or, for an unsigned gateway, create its webhook URL)", e.Provider)
	case TestNoSecret:
		return fmt.Sprintf("test purchase: this source has no %s secret: save it first, the test purchase is signed with it", e.Provider)
	case TestNoTestCode:
		return fmt.Sprintf("test purchase: destination %q has no test event code: set one first, or the platform would count the test purchase as a real sale", e.Detail)
	}
	return fmt.Sprintf("test purchase: Hub's %s webhook endpoint refused it: %s", e.Provider, e.Detail)
}

// TestPurchaseInput is what a test purchase needs.
type TestPurchaseInput struct {
	TenantID, SourceID, Provider string
	Adapters                     *webhook.Registry
	// Dests are the destination types: a destination with a test setting (Meta's
	// test_event_code) must have it set, so the test never counts as a real conversion.
	Dests *dest.Registry
	// Public is Hub's public HTTP handler, the one gateways call: the test purchase goes
	// through it, verification included.
	Public http.Handler
	// Wait is how long to wait for the destinations' answers (0: not at all).
	Wait time.Duration
}

// TestPurchaseResult is the test purchase's order and its deliveries as they stand.
type TestPurchaseResult struct {
	Order      store.Order
	InboxID    string
	Deliveries []store.Delivery
}

// TestPurchase builds a paid delivery of in.Provider as the gateway sends it (its adapter's
// Spec.Test), at the current time, for the test buyer webhook.TestBuyerEmail, carrying
// the visitor id of the source's newest touchpoint (so the match can be seen), signed with
// the source's secret; posts it to the source's webhook URL through in.Public; and returns
// the order it made, after waiting up to in.Wait for its deliveries to be answered.
func (s *Service) TestPurchase(ctx context.Context, in TestPurchaseInput) (TestPurchaseResult, error) {
	fail := func(code, detail string) (TestPurchaseResult, error) {
		return TestPurchaseResult{}, &TestPurchaseError{Code: code, Provider: in.Provider, Detail: detail}
	}
	adapter, ok := in.Adapters.Lookup(in.Provider)
	if !ok {
		return fail(TestUnknownGateway, "")
	}
	tpl := adapter.Spec().Test
	if tpl == nil {
		return fail(TestNoTemplate, "")
	}
	src, err := s.Store.GetSource(ctx, in.TenantID, in.SourceID)
	if err != nil {
		return TestPurchaseResult{}, fmt.Errorf("admin: test purchase: source %s: %w", in.SourceID, err)
	}
	toks, err := s.WebhookTokens(ctx, src)
	if err != nil {
		return TestPurchaseResult{}, err
	}
	token := toks[in.Provider]
	if token == "" {
		return fail(TestNotEnabled, "")
	}
	secret := ""
	if gs, err := s.Store.GetGatewaySecret(ctx, src.TenantID, src.ID, in.Provider); err == nil {
		plain, err := s.Keys.Open(gs.Ciphertext, store.GatewaySecretAD(src.ID, in.Provider))
		if err != nil {
			return TestPurchaseResult{}, fmt.Errorf("admin: test purchase: open the %s secret: %w", in.Provider, err)
		}
		secret = string(plain)
	} else if !errors.Is(err, store.ErrNotFound) {
		return TestPurchaseResult{}, fmt.Errorf("admin: test purchase: %s secret: %w", in.Provider, err)
	}
	if secret == "" && adapter.Spec().Signed {
		return fail(TestNoSecret, "")
	}
	if name, err := s.liveDestination(ctx, in.TenantID, in.Dests); err != nil {
		return TestPurchaseResult{}, err
	} else if name != "" {
		return fail(TestNoTestCode, name)
	}

	visitor := ""
	tps, err := s.Store.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: src.TenantID, SourceID: src.ID, Limit: 50})
	if err != nil {
		return TestPurchaseResult{}, fmt.Errorf("admin: test purchase: touchpoints: %w", err)
	}
	for _, tp := range tps {
		if tp.VisitorID != "" {
			visitor = tp.VisitorID
			break
		}
	}
	if visitor == "" {
		visitor = "k_hubtest" + strings.ToLower(Token(8)) // matches no visit: the order is an orphan
	}
	tr, err := tpl.Build(webhook.TestPurchase{Now: s.now(), VisitorID: visitor}, secret)
	if err != nil {
		return TestPurchaseResult{}, fmt.Errorf("admin: test purchase: %w", err)
	}
	evs, err := adapter.Parse(tr)
	if err != nil || len(evs) == 0 {
		return TestPurchaseResult{}, fmt.Errorf("admin: test purchase: %s reads no order from its own test purchase: %v", in.Provider, err)
	}

	target := "/v1/webhooks/" + url.PathEscape(in.Provider) + "/" + url.PathEscape(token)
	if len(tr.Query) > 0 {
		target += "?" + tr.Query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(tr.Body))
	if err != nil {
		return TestPurchaseResult{}, err
	}
	req.Header = tr.Header.Clone()
	req.RemoteAddr = "127.0.0.1:0"
	if pu, err := url.Parse(s.PublicURL); err == nil && pu.Host != "" {
		req.Host = pu.Host
	}
	rec := &recorder{header: http.Header{}}
	in.Public.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	var answer struct {
		InboxID string `json:"inbox_id"`
		Title   string `json:"title"`
		Detail  string `json:"detail"`
	}
	_ = json.Unmarshal(rec.body.Bytes(), &answer)
	if rec.status != http.StatusOK {
		return fail(TestRefused, fmt.Sprintf("%d %s", rec.status, strings.TrimSpace(answer.Title+" "+answer.Detail)))
	}

	o, err := s.Store.GetOrderByExternalID(ctx, src.TenantID, in.Provider, evs[0].OrderID)
	if err != nil {
		return TestPurchaseResult{}, fmt.Errorf("admin: test purchase: its order %s: %w", evs[0].OrderID, err)
	}
	res := TestPurchaseResult{Order: o, InboxID: answer.InboxID}
	deadline := time.Now().Add(in.Wait)
	for {
		ds, err := s.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: src.TenantID, OrderID: o.ID})
		if err != nil {
			return TestPurchaseResult{}, err
		}
		res.Deliveries = ds
		waiting := false
		for _, d := range ds {
			waiting = waiting || d.State == store.DeliveryPending || d.State == store.DeliveryRetrying
		}
		if !waiting || time.Now().After(deadline) {
			return res, nil
		}
		select {
		case <-ctx.Done():
			return res, nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// liveDestination names an enabled destination whose type has a test setting it does not set:
// the test purchase would reach it as a real conversion. Empty when there is none.
func (s *Service) liveDestination(ctx context.Context, tenantID string, reg *dest.Registry) (string, error) {
	if reg == nil {
		return "", nil
	}
	ds, err := s.Store.ListDestinations(ctx, tenantID)
	if err != nil {
		return "", fmt.Errorf("admin: test purchase: destinations: %w", err)
	}
	for _, d := range ds {
		impl, ok := reg.Lookup(d.Type)
		if !d.Enabled || !ok {
			continue
		}
		spec := impl.Spec()
		ts, ok := spec.TestSetting()
		if !ok {
			continue
		}
		cfg := dest.Config{}
		if len(d.Config) > 0 {
			_ = json.Unmarshal(d.Config, &cfg)
		}
		if cfg.Get(spec, ts.Name) == "" {
			return cmpName(d), nil
		}
	}
	return "", nil
}

func cmpName(d store.Destination) string {
	if d.Name != "" {
		return d.Name
	}
	return d.Type
}

// recorder is the response of the in-process request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

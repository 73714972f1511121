package intake_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
	"github.com/hubtrack/hub/internal/webhook"
)

// probe is a gateway whose Parse depends on a header the inbox stores redacted (its token
// header, as Hotmart's hottok): it records what Verify and Parse saw.
type probe struct {
	mu               sync.Mutex
	verified, parsed []string
}

const probeHeader = "X-Probe-Token"

func (*probe) Provider() string { return "probe" }
func (*probe) Spec() webhook.Spec {
	return webhook.Spec{Name: "Probe", Signed: true, TokenHeaders: []string{probeHeader},
		Sensitive: webhook.Sensitive{SecretHeaders: []string{probeHeader}}}
}

func (p *probe) Verify(req webhook.Request, secret string, _ time.Time) error {
	p.mu.Lock()
	p.verified = append(p.verified, req.Header.Get(probeHeader))
	p.mu.Unlock()
	if !webhook.SecretEqual(req.Header.Get(probeHeader), secret) {
		return webhook.BadSignature("probe", "token does not match")
	}
	return nil
}

func (p *probe) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	p.mu.Lock()
	p.parsed = append(p.parsed, req.Header.Get(probeHeader))
	p.mu.Unlock()
	return nil, nil // authentic, about no order
}

// TestInlineParseSeesTheVerifiedRequest: on the inline path Parse gets the request Verify
// accepted, headers as received, not the inbox row's redacted copy; reprocessing (which only
// has the row) sees the stored, redacted header.
func TestInlineParseSeesTheVerifiedRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, teststore.Dialects[0])
	ctx := context.Background()
	p := &probe{}
	h.svc.Adapters.Register(p)
	if err := h.adm.PutGatewaySecret(ctx, h.src, "probe", "probe-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.adm.RotateWebhookToken(ctx, h.src, "probe"); err != nil {
		t.Fatal(err)
	}
	code, r := h.send(t, "probe", h.src, `{"ping":1}`, map[string]string{probeHeader: "probe-secret"}, "")
	if code != http.StatusOK || r.State != string(store.InboxIgnored) {
		t.Fatalf("%d %+v", code, r)
	}
	e, err := h.st.GetInbox(ctx, h.tenant.ID, r.InboxID)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Headers[probeHeader]; got != "[REDACTED]" {
		t.Errorf("the inbox stores the token header as %q, want it redacted", got)
	}
	p.mu.Lock()
	verified, parsed := p.verified, p.parsed
	p.mu.Unlock()
	if len(verified) != 1 || len(parsed) != 1 || parsed[0] != verified[0] || verified[0] != "probe-secret" {
		t.Errorf("Verify saw %q, Parse saw %q: want the same header", verified, parsed)
	}

	// Reprocessing has only the stored row.
	if err := h.st.SetInboxState(ctx, h.tenant.ID, e.ID, store.InboxUnparseable, "test", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Process(ctx, h.tenant.ID, e.ID, true); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.parsed) != 2 || p.parsed[1] != "[REDACTED]" {
		t.Errorf("reprocessing parsed %q, want the stored [REDACTED]", p.parsed)
	}
}

package intake_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv"
)

// sourceReads is the intake's store with its reads counted: n of a webhook URL's lookup
// (GetWebhookSource), inbox of a stored delivery and source of a source by id.
type sourceReads struct {
	store.Store
	n, inbox, source atomic.Int64
}

func (s *sourceReads) GetWebhookSource(ctx context.Context, provider, token string) (store.WebhookSource, error) {
	s.n.Add(1)
	return s.Store.GetWebhookSource(ctx, provider, token)
}

func (s *sourceReads) GetInbox(ctx context.Context, tenantID, id string) (store.InboxEntry, error) {
	s.inbox.Add(1)
	return s.Store.GetInbox(ctx, tenantID, id)
}

func (s *sourceReads) GetSource(ctx context.Context, tenantID, id string) (store.Source, error) {
	s.source.Add(1)
	return s.Store.GetSource(ctx, tenantID, id)
}

// TestSourceCache: with a SourceCache, a webhook URL's lookup reads the store once per TTL
// (the clock's), an unknown token is read every time, and a token rotated, a secret replaced or
// a source changed through the admin (which calls Forget, as app wires it) counts at the next
// delivery, on both stores.
func TestSourceCache(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		reads := &sourceReads{Store: h.st}
		clock := testenv.NewClock(time.Unix(1767634200, 0))
		cache := &intake.SourceCache{Now: clock.Now}
		h.svc.Store, h.svc.Sources = reads, cache
		h.adm.SourceChanged = cache.Forget
		f := h.fx["hotmart"]
		n := 0
		send := func(token string) int {
			t.Helper()
			n++
			body := strings.ReplaceAll(f.RawBody, "HP1234567890", "HPCACHE"+string(rune('A'+n)))
			code, _ := h.sendTo(t, "hotmart", token, body, f.Request.Headers, "")
			return code
		}
		expect := func(what string, code, wantCode int, wantReads int64) {
			t.Helper()
			if code != wantCode || reads.n.Load() != wantReads {
				t.Fatalf("%s: status %d, %d reads; want %d, %d", what, code, reads.n.Load(), wantCode, wantReads)
			}
		}
		token := h.token(t, "hotmart", h.src)

		expect("first delivery", send(token), http.StatusOK, 1)
		expect("second delivery, within the TTL", send(token), http.StatusOK, 1)
		clock.Add(intake.DefaultSourceTTL - time.Millisecond)
		expect("just before the TTL ends", send(token), http.StatusOK, 1)
		clock.Add(time.Millisecond)
		expect("once the TTL ended", send(token), http.StatusOK, 2)
		expect("unknown token", send("not-a-token"), http.StatusNotFound, 3)
		expect("unknown token again: not kept", send("not-a-token"), http.StatusNotFound, 4)

		// A rotated token: the old URL is refused at once, the new one works.
		expect("cached again", send(token), http.StatusOK, 4)
		rotated, err := h.adm.RotateWebhookToken(ctx, h.src, "hotmart")
		if err != nil {
			t.Fatal(err)
		}
		expect("the rotated-away token", send(token), http.StatusNotFound, 5)
		expect("the new token", send(rotated.Token), http.StatusOK, 6)
		expect("the new token, cached", send(rotated.Token), http.StatusOK, 6)

		// A replaced secret: the fixture's signature no longer verifies.
		if err := h.adm.PutGatewaySecret(ctx, h.src, "hotmart", "another-secret"); err != nil {
			t.Fatal(err)
		}
		expect("after the secret changed", send(rotated.Token), http.StatusUnauthorized, 7)
		if err := h.adm.PutGatewaySecret(ctx, h.src, "hotmart", f.Verification.TestSecret); err != nil {
			t.Fatal(err)
		}
		expect("after the secret came back", send(rotated.Token), http.StatusOK, 8)

		// A source's settings: the next lookup reads them.
		window := 3 * 24 * time.Hour
		if _, err := h.adm.UpdateSource(ctx, h.tenant.ID, h.src.ID, admin.SourcePatch{AttributionWindow: &window}); err != nil {
			t.Fatal(err)
		}
		ws, err := cache.Get(ctx, "hotmart", rotated.Token, reads.GetWebhookSource)
		if err != nil || ws.Source.AttributionWindow != window || reads.n.Load() != 9 {
			t.Fatalf("after the source changed: window %v, %d reads, %v; want %v, 9", ws.Source.AttributionWindow, reads.n.Load(), err, window)
		}
	})
}

// TestSourceCacheRacingForget: a read in the air when Forget is called stores nothing, so what
// it found (maybe from before the change) is not kept.
func TestSourceCacheRacingForget(t *testing.T) {
	t.Parallel()
	cache := &intake.SourceCache{}
	ctx := context.Background()
	reads := 0
	old := store.WebhookSource{Source: store.Source{ID: "src", Name: "old"}}
	racing := func(ctx context.Context, provider, token string) (store.WebhookSource, error) {
		reads++
		if reads == 1 {
			cache.Forget() // the change is written while this read is in the air
		}
		return old, nil
	}
	for i, want := range []int{1, 2, 2} {
		if _, err := cache.Get(ctx, "hotmart", "tok", racing); err != nil || reads != want {
			t.Fatalf("get %d: %d reads, %v; want %d", i, reads, err, want)
		}
	}
}

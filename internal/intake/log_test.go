package intake_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
	"github.com/hubtrack/hub/internal/webhook/all"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsCarryNoSecretOrPII processes every gateway's golden delivery, a truncated copy that
// cannot be parsed and a copy with a mistyped CPF, with a debug-level logger: the log names ids and reasons, never the
// gateway's secret nor the buyer's data.
func TestLogsCarryNoSecretOrPII(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		keys, err := pii.NewKeyring(pii.GenerateKey())
		if err != nil {
			t.Fatal(err)
		}
		adm := &admin.Service{Store: st, Keys: keys, PublicURL: "http://hub.test"}
		tn, _, err := adm.CreateTenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		src, err := adm.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		var logs syncBuffer
		svc := &intake.Service{Store: st, Adapters: all.Default(), Keys: keys,
			Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		for _, p := range all.Default().Providers() {
			f := webhooktest.LoadFixture(t, p)
			// The CPF as an object where the adapter reads a string or number: a type error.
			cpfObject := strings.ReplaceAll(f.RawBody, `"00000000191"`, `{"cpf":"00000000191"}`)
			for _, body := range []string{f.RawBody, f.RawBody[:len(f.RawBody)/2], cpfObject} {
				in, err := st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: src.ID, Provider: p, ReceivedAt: time.Now().UTC(),
					Headers: f.Request.Headers, Query: f.Query(), Body: []byte(body), State: store.InboxReceived})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Process(ctx, tn.ID, in.ID, true); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
			}
			if l := f.Leaks(logs.String(), false); len(l) > 0 {
				t.Errorf("%s: the log shows %q:\n%s", p, l, logs.String())
			}
		}
		if logs.String() == "" {
			t.Error("nothing was logged: the test checks nothing")
		}
	})
}

package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// preparing counts how often the worker prepares the destination's settings.
type preparing struct {
	dest.Destination
	n atomic.Int32
}

func (p *preparing) Prepare(cfg dest.Config, creds dest.Credentials) (dest.Sender, error) {
	p.n.Add(1)
	return p.Destination.Prepare(cfg, creds)
}

// A destination's settings are decoded, decrypted and validated once per version of its row,
// and a change of the row (through any replica) is used by the next job.
func TestSettingsPreparedOncePerVersion(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		impl, _ := e.reg.Lookup("meta")
		p := &preparing{Destination: impl}
		reg := dest.NewRegistry()
		reg.Register(p)
		w := delivery.NewWorker(delivery.Worker{Store: e.st, Dests: reg, Keys: e.keys, Log: slog.New(slog.DiscardHandler),
			Breaker: &delivery.Breaker{Cache: memory.New(memory.Options{}), Threshold: 100, Window: time.Minute, Cooldown: time.Second}},
			time.Millisecond)
		now := time.Now().UTC()
		work := func(want store.DeliveryState, reason string) {
			t.Helper()
			d := e.order(t, now.Add(-time.Minute))
			_ = w.Work(ctx, job(d, 1, 0))
			if got, _ := e.state(t, d); got.State != want || got.Reason != reason {
				t.Fatalf("delivery %s/%s, want %s/%s", got.State, got.Reason, want, reason)
			}
		}
		work(store.DeliveryDelivered, "")
		work(store.DeliveryDelivered, "")
		if n := p.n.Load(); n != 1 {
			t.Fatalf("prepared %d times for two jobs of one version, want once", n)
		}

		// Another replica breaks the settings: the next job sees it.
		ds, err := e.st.GetDestination(ctx, e.tenant.ID, e.dest.ID)
		if err != nil {
			t.Fatal(err)
		}
		ds.Config, ds.UpdatedAt = json.RawMessage(`{"pixel_id":"not-digits"}`), time.Now()
		if err := e.st.UpdateDestination(ctx, ds); err != nil {
			t.Fatal(err)
		}
		work(store.DeliveryDead, dest.ReasonInvalidConfig)
		work(store.DeliveryDead, dest.ReasonInvalidConfig)
		if n := p.n.Load(); n != 2 {
			t.Fatalf("prepared %d times, want twice (one per version)", n)
		}

		// Fixed again, with the same config bytes as the first version but a new row.
		ds.Config, ds.UpdatedAt = e.dest.Config, time.Now()
		if err := e.st.UpdateDestination(ctx, ds); err != nil {
			t.Fatal(err)
		}
		work(store.DeliveryDelivered, "")
		if n := p.n.Load(); n != 3 {
			t.Fatalf("prepared %d times, want three (one per version)", n)
		}
	})
}

// leakyPrepare refuses the settings with a message quoting the credential, as a destination's
// own check might.
type leakyPrepare struct{ dest.Destination }

func (l leakyPrepare) Prepare(_ dest.Config, creds dest.Credentials) (dest.Sender, error) {
	return nil, errors.New("meta: token " + creds.Get("access_token") + " refused")
}

// The worker's refusal of a destination's settings has every credential redacted, as
// dest.SendOnce's has: the message is stored on the attempt and shown.
func TestPrepareRefusalRedacted(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		impl, _ := e.reg.Lookup("meta")
		reg := dest.NewRegistry()
		reg.Register(leakyPrepare{impl})
		w := delivery.NewWorker(delivery.Worker{Store: e.st, Dests: reg, Keys: e.keys, Log: slog.New(slog.DiscardHandler),
			Breaker: &delivery.Breaker{Cache: memory.New(memory.Options{}), Threshold: 100, Window: time.Minute, Cooldown: time.Second}},
			time.Millisecond)
		d := e.order(t, time.Now().UTC().Add(-time.Minute))
		_ = w.Work(ctx, job(d, 1, 0))
		got, attempts := e.state(t, d)
		if got.Reason != dest.ReasonInvalidConfig || len(attempts) == 0 {
			t.Fatalf("delivery %s/%s with %d attempts, want invalid_config", got.State, got.Reason, len(attempts))
		}
		for _, a := range attempts {
			if !strings.Contains(a.Message, "refused") || strings.Contains(a.Message, "EAAsecret") {
				t.Errorf("attempt message %q, want the refusal without the token", a.Message)
			}
		}
	})
}

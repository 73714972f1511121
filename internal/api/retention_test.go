package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/store"
)

func TestRetentionWorker(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a, b := e.tenant("alpha"), e.tenant("beta")
		ctx := context.Background()
		now := time.Now().UTC()
		var old []string
		for _, tn := range []tenant{a, b} {
			in, err := st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: tn.Source.ID, Provider: "hotmart",
				ReceivedAt: now.AddDate(0, 0, -31), Body: []byte(`{}`), State: store.InboxProcessed})
			if err != nil {
				t.Fatal(err)
			}
			old = append(old, tn.ID+"/"+in.ID)
		}
		w := &api.RetentionWorker{Store: st, Now: func() time.Time { return now }}
		if (api.RetentionArgs{}).Kind() != "retention" {
			t.Error("kind")
		}
		n, err := w.Run(ctx)
		if err != nil || n != 2 {
			t.Fatalf("deleted %d, %v; want 2", n, err)
		}
		for _, tn := range []tenant{a, b} {
			if _, err := st.GetInbox(ctx, tn.ID, tn.Inbox.ID); err != nil {
				t.Errorf("recent inbox entry of %s deleted: %v", tn.ID, err)
			}
		}
		// A shorter period reaches the recent ones too.
		w.Days, w.Now = 1, func() time.Time { return now.Add(48 * time.Hour) }
		if n, err := w.Run(ctx); err != nil || n != 2 {
			t.Errorf("deleted %d, %v; want 2", n, err)
		}
	})
}

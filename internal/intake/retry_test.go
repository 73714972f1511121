package intake_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// processTxFails is a store whose first transaction fails with err: the webhook's raw body
// commits (InsertInbox, a statement of its own), its processing (the first transaction) does
// not, as when the database goes away between the two.
type processTxFails struct {
	store.Store
	err   error
	calls atomic.Int32
}

func (s *processTxFails) Tx(ctx context.Context, fn func(store.Tx) error) error {
	if s.calls.Add(1) == 1 {
		return s.err
	}
	return s.Store.Tx(ctx, fn)
}

// TestProcessRetriedAfterInlineFailure: a delivery stored but not processed because the
// database failed in between is acknowledged and then processed by the replica's own retry
// within seconds, not by the sweep a minute later.
func TestProcessRetriedAfterInlineFailure(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		h.svc.Store = &processTxFails{Store: h.st, err: errors.New("database restarting")}
		f := h.fx["stripe"]
		code, resp := h.send(t, "stripe", h.src, f.RawBody, f.Request.Headers, "")
		if code != http.StatusOK || resp.State != string(store.InboxReceived) {
			t.Fatalf("answer %d %+v, want 200 and state received", code, resp)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			e, err := h.st.GetInbox(context.Background(), h.tenant.ID, resp.InboxID)
			if err != nil {
				t.Fatal(err)
			}
			if e.State != store.InboxReceived {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery still %q 20 s after its acknowledgement: nothing retried it before the sweep", e.State)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// TestStorageFailureAfterCommitIsNotAcknowledged: when the embedded store's storage fails
// between the raw commit and the processing, the delivery is answered 503 (the gateway
// retries), not acknowledged on a commit made as the disk failed.
func TestStorageFailureAfterCommitIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite")
	h.svc.Store = &processTxFails{Store: h.st, err: fmt.Errorf("sqlite: %w: disk I/O error", store.ErrStorageFailed)}
	f := h.fx["stripe"]
	if code, resp := h.send(t, "stripe", h.src, f.RawBody, f.Request.Headers, ""); code != http.StatusServiceUnavailable {
		t.Fatalf("answer %d %+v, want 503", code, resp)
	}
}

package googleads_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
)

// accepted sends one event to a fresh fake and returns the fake, the sender as a Confirmer and
// the request id Google's 200 carried.
func accepted(t *testing.T, n int) (*fakegoogleads.Server, dest.Confirmer, string) {
	t.Helper()
	fake, _, g := start(t)
	cfg, creds := fake.Settings()
	s, err := g.Prepare(cfg, creds)
	if err != nil {
		t.Fatal(err)
	}
	var evs []dest.Event
	for i := range n {
		ev := goldenEvent()
		ev.EventID, ev.EventTime = "ORDER-"+string(rune('A'+i)), time.Now().Add(-time.Hour)
		evs = append(evs, ev)
	}
	res, err := s.Send(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[0]
	if o.Kind != dest.Delivered || o.TraceID == "" {
		t.Fatalf("send: %+v", o)
	}
	c, ok := s.(dest.Confirmer)
	if !ok {
		t.Fatal("the Google Ads sender is not a dest.Confirmer")
	}
	if c.ConfirmAfter() != 30*time.Minute {
		t.Errorf("ConfirmAfter = %s, want Google's recommended 30m", c.ConfirmAfter())
	}
	return fake, c, o.TraceID
}

// requestStatus:retrieve's answers become one verdict per request, with Google's processing
// reasons in plain words.
func TestConfirm(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		events int
		status fakegoogleads.Status
		want   dest.ConfirmState
		msg    string
	}{
		{"success", 1, fakegoogleads.Status{RequestStatus: "SUCCESS"}, dest.ConfirmSucceeded, "recorded the events"},
		{"processing", 1, fakegoogleads.Status{RequestStatus: "PROCESSING"}, dest.ConfirmPending, "still processing"},
		{"unknown status is still pending", 1, fakegoogleads.Status{RequestStatus: "REQUEST_STATUS_UNKNOWN"}, dest.ConfirmPending, "still processing"},
		{"failed", 1, fakegoogleads.Status{RequestStatus: "FAILED", Reason: "PROCESSING_ERROR_REASON_INVALID_GCLID"}, dest.ConfirmFailed, "INVALID_GCLID ×1"},
		{"partial", 2, fakegoogleads.Status{RequestStatus: "PARTIAL_SUCCESS", Reason: "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND", Failed: 1}, dest.ConfirmPartial, "CLICK_NOT_FOUND ×1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, c, id := accepted(t, tt.events)
			fake.SetStatuses(tt.status)
			got := c.Confirm(context.Background(), id)
			if got.State != tt.want || !strings.Contains(got.Message, tt.msg) {
				t.Errorf("Confirm = %+v, want %s with %q", got, tt.want, tt.msg)
			}
		})
	}
}

// A request id Google does not know (INVALID_REQUEST_ID) cannot be confirmed, ever; a 429 or
// a 5xx is asked again later, after Retry-After when Google gives one.
func TestConfirmErrors(t *testing.T) {
	t.Parallel()
	fake, c, id := accepted(t, 1)
	if got := c.Confirm(context.Background(), "no-such-request"); got.State != dest.ConfirmUnavailable || !strings.Contains(got.Message, "INVALID_REQUEST_ID") {
		t.Errorf("unknown request: %+v", got)
	}
	if err := fake.InjectFault("429", 1); err != nil {
		t.Fatal(err)
	}
	if got := c.Confirm(context.Background(), id); got.State != dest.ConfirmPending || got.RetryAfter != 30*time.Second {
		t.Errorf("429: %+v, want pending after 30s", got)
	}
}

// The deliveries of one batch ask together: one poll answers them all.
func TestConfirmOnePollPerRequest(t *testing.T) {
	t.Parallel()
	fake, c, id := accepted(t, 3)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := c.Confirm(context.Background(), id); got.State != dest.ConfirmSucceeded {
				t.Errorf("Confirm = %+v", got)
			}
		}()
	}
	wg.Wait()
	if n := fake.StatusPolls(); n != 1 {
		t.Errorf("%d status polls for one request, want 1", n)
	}
}

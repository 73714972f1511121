package dest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
)

// batch is a Batch over event ids: "refuse" is refused by Convert, and the platform refuses
// any request holding "bad" as invalid_parameter.
func batch(maxRequests int, posted *[][]string) dest.Batch[string] {
	return dest.Batch[string]{Type: "fake", Platform: "Fake", MaxBatch: 10, MaxRequests: maxRequests,
		Now: time.Now,
		Convert: func(i int, e dest.Event, _ time.Time) (string, *dest.EventError) {
			if e.EventID == "refuse" {
				return "", &dest.EventError{Index: i, EventID: e.EventID, Reason: dest.ReasonInvalidEvent, Detail: "refused"}
			}
			return e.EventID, nil
		},
		Encode: func(data []string) ([]byte, error) { return []byte(strings.Join(data, ",")), nil },
		Post: func(_ context.Context, _ []byte, data []string) (dest.Outcome, bool) {
			*posted = append(*posted, data)
			for _, d := range data {
				if d == "bad" {
					return dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidParameter}, true
				}
			}
			return dest.Outcome{Kind: dest.Delivered}, true
		},
	}
}

func events(ids ...string) []dest.Event {
	out := make([]dest.Event, len(ids))
	for i, id := range ids {
		out[i] = dest.Event{EventID: id}
	}
	return out
}

func kinds(res dest.BatchResult) string {
	var b []string
	for _, o := range res.Outcomes {
		b = append(b, o.EventID+"="+string(o.Kind)+"/"+o.Reason)
	}
	return strings.Join(b, " ")
}

func TestBatchSplitsARefusedBatch(t *testing.T) {
	var posted [][]string
	res, err := batch(64, &posted).Send(context.Background(), events("a", "refuse", "b", "bad", "c"))
	if err != nil {
		t.Fatal(err)
	}
	want := "a=delivered/ refuse=permanent/invalid_event b=delivered/ bad=permanent/invalid_parameter c=delivered/"
	if got := kinds(res); got != want {
		t.Errorf("outcomes\n got %s\nwant %s", got, want)
	}
	// [a b bad c] refused, [a b] delivered, [bad c] refused, [bad] refused, [c] delivered.
	if res.Requests != 5 || len(posted) != 5 {
		t.Errorf("Requests = %d, posted %v; want 5", res.Requests, posted)
	}
}

func TestBatchStopsSplittingAtMaxRequests(t *testing.T) {
	var posted [][]string
	res, _ := batch(2, &posted).Send(context.Background(), events("a", "b", "bad", "c"))
	if res.Requests != 2 {
		t.Errorf("Requests = %d, want 2", res.Requests)
	}
	last := res.Outcomes[3]
	if last.Kind != dest.Permanent || last.Reason != dest.ReasonInvalidParameter ||
		last.Message != "Fake refused the batch; Hub stopped isolating the bad events after 2 requests" {
		t.Errorf("outcome after the cap = %+v", last)
	}
}

func TestBatchWithoutMaxRequestsNeverSplits(t *testing.T) {
	var posted [][]string
	res, _ := batch(0, &posted).Send(context.Background(), events("a", "bad"))
	if res.Requests != 1 || kinds(res) != "a=permanent/invalid_parameter bad=permanent/invalid_parameter" {
		t.Errorf("Requests = %d, outcomes %s; want one request refusing both", res.Requests, kinds(res))
	}
}

func TestBatchCancelledSendsNothing(t *testing.T) {
	var posted [][]string
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, _ := batch(64, &posted).Send(ctx, events("a"))
	if len(posted) != 0 || res.Outcomes[0].Reason != dest.ReasonCancelled || res.Outcomes[0].Message != "fake: cancelled before Fake answered" {
		t.Errorf("posted %v, outcome %+v", posted, res.Outcomes[0])
	}
	if _, err := batch(64, &posted).Send(context.Background(), make([]dest.Event, 11)); !errors.Is(err, dest.ErrBatchTooLarge) {
		t.Errorf("11 events: err = %v, want ErrBatchTooLarge", err)
	}
}

// leaky refuses its settings with a message quoting the secret.
type leaky struct{ dest.Destination }

func (leaky) Type() string    { return "leaky" }
func (leaky) Spec() dest.Spec { return dest.Spec{Type: "leaky", MaxBatch: 2} }
func (leaky) Prepare(_ dest.Config, creds dest.Credentials) (dest.Sender, error) {
	return nil, errors.New("bad token " + creds.Get("token") + " in url ?t=" + "a%2Fb%3D")
}

func TestSendOnceRedactsEveryCredential(t *testing.T) {
	creds := dest.NewCredentials(map[string]string{"token": " a/b= "})
	res, err := dest.SendOnce(context.Background(), leaky{}, nil, creds, events("x"))
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[0]
	if o.Reason != dest.ReasonInvalidConfig || strings.Contains(o.Message, "a/b=") || strings.Contains(o.Message, "a%2Fb%3D") {
		t.Errorf("outcome %+v: want invalid_config with the secret redacted", o)
	}
	if _, err := dest.SendOnce(context.Background(), leaky{}, nil, creds, events("x", "y", "z")); !errors.Is(err, dest.ErrBatchTooLarge) {
		t.Errorf("3 events: err = %v, want ErrBatchTooLarge", err)
	}
}

func TestCheckAmounts(t *testing.T) {
	for _, c := range []struct {
		in      dest.Custom
		value   string
		prices  []string
		problem string
	}{
		{dest.Custom{ValueMinor: 19700, Currency: "BRL", Contents: []dest.Content{{ID: "a", ItemPriceMinor: 9850}, {ID: "b"}}}, "197.00", []string{"98.50", ""}, ""},
		{dest.Custom{ValueMinor: 500, Currency: "JPY"}, "500", nil, ""},
		{dest.Custom{}, "", nil, ""},
		{dest.Custom{ValueMinor: -1, Currency: "BRL"}, "", nil, "negative value; refunds are not sent as negative purchases"},
		{dest.Custom{ValueMinor: 1, Currency: "XXXX"}, "", nil, "currency is not an ISO 4217 code"},
		{dest.Custom{ValueMinor: 1}, "", nil, "value without a currency"},
		{dest.Custom{Currency: "BRL", Contents: []dest.Content{{Quantity: 1}}}, "", nil, "content without an id"},
		{dest.Custom{Contents: []dest.Content{{ID: "a", ItemPriceMinor: 1}}}, "", nil, "item price needs a currency and must not be negative"},
	} {
		a, problem := dest.CheckAmounts(c.in)
		if problem != c.problem || problem == "" && (a.Value != c.value || strings.Join(a.Prices, "|") != strings.Join(c.prices, "|")) {
			t.Errorf("CheckAmounts(%+v) = %+v, %q; want %s %v %q", c.in, a, problem, c.value, c.prices, c.problem)
		}
	}
	if u, err := dest.BaseURL("", "https://graph.example.com/"); err != nil || u != "https://graph.example.com" {
		t.Errorf("BaseURL default = %q, %v", u, err)
	}
	for _, bad := range []string{"ftp://x", "https://u:p@x", "https://x/?q=1", "/relative"} {
		if _, err := dest.BaseURL(bad, ""); err == nil {
			t.Errorf("BaseURL(%q) accepted", bad)
		}
	}
	if dest.UserAgent("") != "hub-dev" || dest.UserAgent("1.2.3") != "hub-1.2.3" {
		t.Error("UserAgent")
	}
}

// A Batch with Keys reports each converted event's keys with its outcome, as KeysOf would, from
// the one conversion Send made (the delivery worker recorded them by converting each event a
// second time); a refused event has none, and a Batch without Keys reports nothing.
func TestBatchReportsKeysOfWhatItConverted(t *testing.T) {
	var posted [][]string
	converted := 0
	b := batch(64, &posted)
	convert := b.Convert
	b.Convert = func(i int, e dest.Event, now time.Time) (string, *dest.EventError) {
		converted++
		return convert(i, e, now)
	}
	b.Keys = func(d string) dest.Keys { return dest.Keys(len(d)) }
	res, err := b.Send(context.Background(), events("a", "refuse", "bcd"))
	if err != nil {
		t.Fatal(err)
	}
	if converted != 3 {
		t.Errorf("converted %d times for 3 events", converted)
	}
	if len(res.Keys) != 3 || !res.KeysKnown[0] || res.KeysKnown[1] || !res.KeysKnown[2] || res.Keys[0] != 1 || res.Keys[2] != 3 {
		t.Errorf("keys %v known %v, want [1 _ 3] known [true false true]", res.Keys, res.KeysKnown)
	}
	for i, e := range events("a", "bcd") {
		if k, ok := b.KeysOf(e); !ok || k != res.Keys[2*i] {
			t.Errorf("KeysOf(%s) = %v, %v; Send reported %v", e.EventID, k, ok, res.Keys[2*i])
		}
	}
	b.Keys = nil
	if res, _ := b.Send(context.Background(), events("a")); res.Keys != nil || res.KeysKnown != nil {
		t.Errorf("a Batch without Keys reported keys %v %v", res.Keys, res.KeysKnown)
	}
}

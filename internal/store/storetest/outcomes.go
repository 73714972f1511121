package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testOutcomeAwaitsItsAttempt: a send's outcome (FinishAttempts with an attempt) writes its
// delivery's row only while the row awaits that attempt, as BeginAttempts left it. Once another
// write moved the row on (a replay's UpdateDelivery, an UpdateDeliveryIf, a later send's
// BeginAttempts, an outcome without an attempt: a decision), the late outcome leaves the row
// as that writer left it, records the attempt's own outcome marked superseded (in the database
// and in place), and fails nothing: the call's other outcomes are written as usual. A write
// that does not change the row's state (MarkDeliveryQueued) supersedes nothing; an outcome
// written twice is superseded the second time. A few sends and many (PostgreSQL writes 10 or
// more with one statement over arrays), and one alone.
func testOutcomeAwaitsItsAttempt(t *testing.T, s store.Store) {
	for _, sends := range []int{6, 14} {
		t.Run(fmt.Sprintf("%d sends", sends), func(t *testing.T) { outcomeAwaitsItsAttempt(t, s, sends) })
	}
}

func outcomeAwaitsItsAttempt(t *testing.T, s store.Store, sends int) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	o, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, fmt.Sprintf("oa%d", sends), fmt.Sprintf("k-oa%d", sends), domain.StatusPaid, at(0)))
	noErr(t, err)
	ds := make([]store.Delivery, sends)
	for i := range ds {
		ds[i], _, err = s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID,
			EventName: fmt.Sprintf("Purchase-%d", i), EventID: "e-oa", State: store.DeliveryPending, CreatedAt: at(time.Second), Local: true})
		noErr(t, err)
	}
	in := func(fn func(tx store.Tx) error) error { return s.Tx(ctx, fn) }
	begin := func(ds ...store.Delivery) []store.AttemptWrite {
		t.Helper()
		ws := make([]store.AttemptWrite, len(ds))
		for i, d := range ds {
			d.InFlight, d.UpdatedAt = true, micro(at(time.Minute))
			ws[i] = store.AttemptWrite{Attempt: &store.Attempt{TenantID: w.a.ID, DeliveryID: d.ID, At: at(time.Minute),
				Outcome: store.AttemptInFlight, RequestID: "req-" + d.ID}, Delivery: d}
		}
		noErr(t, in(func(tx store.Tx) error { return tx.BeginAttempts(ctx, ws) }))
		return ws
	}
	// finish is every begun send's outcome: delivered, its delivery's row delivered.
	finish := func(begun []store.AttemptWrite, reason string) []store.AttemptWrite {
		fin := make([]store.AttemptWrite, len(begun))
		for i, b := range begun {
			a, d := *b.Attempt, b.Delivery
			a.HTTPStatus, a.LatencyMS, a.Outcome, a.Message = 200, 42, "delivered", "m-"+reason
			d.State, d.Reason, d.Attempts, d.InFlight, d.UpdatedAt, d.DeliveredAt = store.DeliveryDelivered, reason, d.Attempts+1, false,
				micro(at(time.Hour)), microPtr(at(time.Hour))
			fin[i] = store.AttemptWrite{Attempt: &a, Delivery: d}
		}
		return fin
	}
	row := func(d store.Delivery) store.Delivery { return must(s.GetDelivery(ctx, w.a.ID, d.ID))(t) }
	attempts := func(d store.Delivery) []store.Attempt { return must(s.ListAttempts(ctx, w.a.ID, d.ID))(t) }

	first := begin(ds...)
	// Other writers move some rows on while their sends are on the wire.
	replayed := first[0].Delivery
	replayed.State, replayed.Reason, replayed.UpdatedAt = store.DeliveryPending, "replay requested", micro(at(2*time.Minute))
	noErr(t, s.UpdateDelivery(ctx, replayed))
	erased := first[1].Delivery
	erased.State, erased.Reason, erased.InFlight, erased.UpdatedAt = store.DeliverySkipped, "erased", false, micro(at(2*time.Minute))
	noErr(t, in(func(tx store.Tx) error { return tx.UpdateDeliveryIf(ctx, erased, first[1].Delivery) }))
	resent := begin(first[2].Delivery)[0] // a later send of the same delivery
	decided := first[3].Delivery
	decided.State, decided.Reason, decided.InFlight, decided.UpdatedAt = store.DeliveryDead, "invalid_config", false, micro(at(2*time.Minute))
	noErr(t, in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, []store.AttemptWrite{{Delivery: decided}}) }))
	last := len(ds) - 1
	noErr(t, in(func(tx store.Tx) error { return tx.MarkDeliveryQueued(ctx, w.a.ID, ds[last].ID) }))

	// The outcomes of the first sends, all in one call: no error.
	fin := finish(first, "")
	noErr(t, in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, fin) }))
	moved := map[int]store.Delivery{0: replayed, 1: erased, 2: resent.Delivery, 3: decided}
	for i, d := range ds {
		want, ok := moved[i]
		if !ok {
			want = fin[i].Delivery
		}
		if i == last {
			want.Local = false
		}
		equal(t, fmt.Sprintf("send %d: the row", i), row(d), want)
		wantAt := *fin[i].Attempt
		wantAt.Superseded = ok
		if fin[i].Attempt.Superseded != ok {
			t.Fatalf("send %d: Superseded set in place %v, want %v", i, fin[i].Attempt.Superseded, ok)
		}
		got := attempts(d)
		equal(t, fmt.Sprintf("send %d: its first attempt", i), got[0], wantAt)
	}

	// The later send's outcome is awaited: written (alone, the single statement).
	late := finish([]store.AttemptWrite{resent}, "the later send")
	noErr(t, in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, late) }))
	if late[0].Attempt.Superseded {
		t.Fatal("the later send's outcome: superseded")
	}
	equal(t, "the later send: the row", row(ds[2]), late[0].Delivery)
	equal(t, "the later send: its attempt", attempts(ds[2])[1], *late[0].Attempt)

	// An outcome written again is superseded: the row keeps the first; a replay's new send
	// after the late outcome is awaited again.
	again := finish(first[4:5], "again")
	noErr(t, in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, again) }))
	if !again[0].Attempt.Superseded {
		t.Fatal("an outcome written twice: not superseded")
	}
	equal(t, "an outcome written twice: the row", row(ds[4]), fin[4].Delivery)
	replay := finish(begin(row(ds[0])), "replayed")
	noErr(t, in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, replay) }))
	equal(t, "the replay's send: the row", row(ds[0]), replay[0].Delivery)
	if got := attempts(ds[0]); len(got) != 2 || !got[0].Superseded || got[1].Superseded || got[1].Outcome != "delivered" {
		t.Fatalf("the replayed delivery's attempts: %+v", got)
	}
}

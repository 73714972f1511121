package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testAttemptWrites: BeginAttempts writes every send's attempt in flight (its ID and At set in
// place) and delivery row, the guarded ones only as the caller last knew them; FinishAttempts
// writes every outcome (an attempt's, the delivery's row with its delivered time and identifier
// keys, a later write without keys keeping them). Each is all or nothing: a guarded row that
// changed (ErrChanged), an attempt on another tenant's delivery, or an outcome for an attempt
// that does not exist or is another tenant's (ErrNotFound) leaves every row of the call, and the transaction's other writes, as they
// were. A few sends and many (PostgreSQL writes 10 or more with statements over arrays).
func testAttemptWrites(t *testing.T, s store.Store) {
	for _, sends := range []int{3, 12} {
		t.Run(fmt.Sprintf("%d sends", sends), func(t *testing.T) { attemptWrites(t, s, sends) })
	}
}

func attemptWrites(t *testing.T, s store.Store, sends int) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	o, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "aw1", "k-aw1", domain.StatusPaid, at(0)))
	noErr(t, err)
	n := 0
	planned := func(k int) []store.Delivery {
		t.Helper()
		var out []store.Delivery
		for range k {
			n++
			d, _, err := s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID,
				EventName: fmt.Sprintf("Purchase-%d", n), EventID: "e-aw", State: store.DeliveryPending, CreatedAt: at(time.Second), Local: true})
			noErr(t, err)
			out = append(out, d)
		}
		return out
	}
	inFlight := func(d store.Delivery) store.Delivery {
		d.InFlight, d.UpdatedAt = true, micro(at(time.Minute))
		return d
	}
	attempt := func(tenant string, d store.Delivery) *store.Attempt {
		return &store.Attempt{TenantID: tenant, DeliveryID: d.ID, At: at(time.Minute).Add(time.Nanosecond), Outcome: store.AttemptInFlight,
			RequestID: "req-" + d.ID, Replay: true, Resend: true}
	}
	begin := func(ds []store.Delivery, guarded func(i int) bool, tenant func(i int) string) []store.AttemptWrite {
		ws := make([]store.AttemptWrite, len(ds))
		for i, d := range ds {
			ws[i] = store.AttemptWrite{Attempt: attempt(tenant(i), d), Delivery: inFlight(d)}
			if guarded(i) {
				ws[i].Was = &ds[i]
			}
		}
		return ws
	}
	tenantA := func(int) string { return w.a.ID }
	attemptsOf := func(ds ...store.Delivery) (out []store.Attempt) {
		for _, d := range ds {
			out = append(out, must(s.ListAttempts(ctx, w.a.ID, d.ID))(t)...)
		}
		return out
	}
	rows := func(ds ...store.Delivery) (out []store.Delivery) {
		for _, d := range ds {
			out = append(out, must(s.GetDelivery(ctx, w.a.ID, d.ID))(t))
		}
		return out
	}
	in := func(fn func(tx store.Tx) error) error { return s.Tx(ctx, fn) }

	// The sends, every third guarded.
	ds := planned(sends)
	ws := begin(ds, func(i int) bool { return i%3 == 2 }, tenantA)
	noErr(t, in(func(tx store.Tx) error { return tx.BeginAttempts(ctx, ws) }))
	for i, d := range ds {
		a := *ws[i].Attempt
		if a.ID == "" || !a.At.Equal(micro(at(time.Minute))) {
			t.Fatalf("send %d: attempt's ID %q and At %v not set in place", i, a.ID, a.At)
		}
		equal(t, "begun: delivery", rows(d), []store.Delivery{inFlight(d)})
		equal(t, "begun: attempt", attemptsOf(d), []store.Attempt{a})
	}

	// A guarded row that changed: nothing of the call, nor of the transaction, is written.
	more, other := planned(sends+1), planned(1)[0]
	changed := more[1]
	changed.Reason = "replay requested"
	noErr(t, s.UpdateDelivery(ctx, changed))
	err = in(func(tx store.Tx) error {
		if err := tx.UpdateDelivery(ctx, inFlight(other)); err != nil {
			return err
		}
		return tx.BeginAttempts(ctx, begin(more, func(i int) bool { return i > 0 }, tenantA))
	})
	wantErr(t, err, store.ErrChanged, "a guarded row changed")
	want := append([]store.Delivery(nil), more...)
	want[1] = changed
	equal(t, "changed: the rows", rows(more...), want)
	equal(t, "changed: the transaction's other write", rows(other), []store.Delivery{other})
	equal(t, "changed: no attempt", attemptsOf(more...), []store.Attempt(nil))

	// An attempt on another tenant's delivery.
	more = append(more[:1], more[2:]...)
	err = in(func(tx store.Tx) error {
		return tx.BeginAttempts(ctx, begin(more, func(int) bool { return false }, func(i int) string {
			if i == len(more)-1 {
				return w.b.ID
			}
			return w.a.ID
		}))
	})
	wantErr(t, err, store.ErrNotFound, "another tenant's delivery")
	equal(t, "another tenant's: rows", rows(more...), more)
	equal(t, "another tenant's: no attempt", attemptsOf(more...), []store.Attempt(nil))

	// The outcomes: delivered with keys, retrying, one without an attempt, the rest delivered.
	keys := func(v int64) *int64 { return &v }
	outcome := func(a store.Attempt, status int, kind string) *store.Attempt {
		a.HTTPStatus, a.LatencyMS, a.Outcome, a.Code, a.Message, a.TraceID = status, 42, kind, "c-"+kind, "m-"+kind, "tr-"+kind
		return &a
	}
	done := func(d store.Delivery, state store.DeliveryState, reason string, delivered *time.Time, k *int64) store.Delivery {
		d.State, d.Reason, d.Attempts, d.InFlight, d.UpdatedAt, d.DeliveredAt, d.Keys = state, reason, d.Attempts+1, false, micro(at(time.Hour)), delivered, k
		return d
	}
	fin := make([]store.AttemptWrite, sends)
	wantAttempts := make([]store.Attempt, sends)
	for i, d := range ds {
		switch i {
		case 0:
			fin[i] = store.AttemptWrite{Attempt: outcome(*ws[i].Attempt, 200, "delivered"),
				Delivery: done(inFlight(d), store.DeliveryDelivered, "", microPtr(at(time.Hour)), keys(0b101))}
		case 1:
			fin[i] = store.AttemptWrite{Attempt: outcome(*ws[i].Attempt, 503, "retryable"), Delivery: done(inFlight(d), store.DeliveryRetrying, "http_503", nil, nil)}
		case 2:
			fin[i] = store.AttemptWrite{Delivery: done(inFlight(d), store.DeliverySkipped, "consent_denied", nil, nil)}
		default:
			fin[i] = store.AttemptWrite{Attempt: outcome(*ws[i].Attempt, 200, "delivered"),
				Delivery: done(inFlight(d), store.DeliveryDelivered, "", microPtr(at(2*time.Hour)), nil)}
		}
		wantAttempts[i] = *ws[i].Attempt
		if fin[i].Attempt != nil {
			wantAttempts[i] = *fin[i].Attempt
		}
	}
	noErr(t, in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, fin) }))
	finished := make([]store.Delivery, sends)
	for i := range fin {
		finished[i] = fin[i].Delivery
		finished[i].Keys = nil // GetDelivery leaves Keys out
	}
	equal(t, "finished: deliveries", rows(ds...), finished)
	equal(t, "finished: attempts", attemptsOf(ds...), wantAttempts)
	coverage := func() []store.KeysCount {
		return must(s.IdentifierCoverage(ctx, store.CoverageFilter{TenantID: w.a.ID, Since: at(0), Until: at(24 * time.Hour)}))(t)
	}
	equal(t, "finished: the keys sent", coverage(), []store.KeysCount{{DestinationID: w.dstA.ID, Keys: 0b101, Events: 1}})

	// A later outcome without keys keeps them (each delivery sent again: its second attempt
	// begun, then finished); outcomes one of whose attempts does not exist, or is not the
	// tenant's it is named with, write nothing. (A second outcome for an attempt already
	// finished would be superseded: see testOutcomeAwaitsItsAttempt.)
	re := begin(finished, func(int) bool { return false }, tenantA)
	noErr(t, in(func(tx store.Tx) error { return tx.BeginAttempts(ctx, re) }))
	again := make([]store.AttemptWrite, sends)
	wantAttempts = wantAttempts[:0]
	for i := range fin {
		again[i] = store.AttemptWrite{Attempt: outcome(*re[i].Attempt, 200, "delivered"), Delivery: fin[i].Delivery}
		again[i].Delivery.Reason, again[i].Delivery.Keys = "again", nil
		first := *ws[i].Attempt
		if fin[i].Attempt != nil {
			first = *fin[i].Attempt
		}
		wantAttempts = append(wantAttempts, first, *again[i].Attempt)
	}
	noErr(t, in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, again) }))
	equal(t, "a later write keeps the keys", coverage(), []store.KeysCount{{DestinationID: w.dstA.ID, Keys: 0b101, Events: 1}})
	for i := range finished {
		finished[i].Reason = "again"
	}
	equal(t, "the later outcomes: deliveries", rows(ds...), finished)
	equal(t, "the later outcomes: attempts", attemptsOf(ds...), wantAttempts)
	missing := *fin[1].Attempt
	missing.ID = "no-such-attempt"
	lost := make([]store.AttemptWrite, sends)
	for i := range again {
		lost[i] = again[i]
		lost[i].Delivery = done(again[i].Delivery, store.DeliveryDead, "invalid_token", nil, nil)
	}
	foreign := *fin[1].Attempt
	foreign.TenantID, foreign.Outcome = w.b.ID, "permanent"
	for _, c := range []struct {
		what string
		a    *store.Attempt
	}{{"an attempt that does not exist", &missing}, {"an attempt named with another tenant", &foreign}} {
		lost[1].Attempt = c.a
		err = in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, lost) })
		wantErr(t, err, store.ErrNotFound, c.what)
		equal(t, c.what+": rows", rows(ds...), finished)
		equal(t, c.what+": attempts", attemptsOf(ds...), wantAttempts)
	}
}

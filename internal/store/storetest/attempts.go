package storetest

import (
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testAttemptWrites: BeginAttempts writes every send's attempt in flight (its ID and At set in
// place) and delivery row, the guarded ones only as the caller last knew them; FinishAttempts
// writes every outcome (an attempt's, the delivery's row with its delivered time and identifier
// keys, a later write without keys keeping them). Each is all or nothing: a guarded row that
// changed (ErrChanged), an attempt on another tenant's delivery or an attempt that does not
// exist (ErrNotFound) leaves every row of the call, and the transaction's other writes, as they
// were.
func testAttemptWrites(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	o, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "aw1", "k-aw1", domain.StatusPaid, at(0)))
	noErr(t, err)
	n := 0
	planned := func() store.Delivery {
		t.Helper()
		n++
		d, _, err := s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID,
			EventName: "Purchase-" + string(rune('A'+n)), EventID: "e-aw", State: store.DeliveryPending, CreatedAt: at(time.Second), Local: true})
		noErr(t, err)
		return d
	}
	inFlight := func(d store.Delivery) store.Delivery {
		d.InFlight, d.UpdatedAt = true, micro(at(time.Minute))
		return d
	}
	attempt := func(tenant string, d store.Delivery) *store.Attempt {
		return &store.Attempt{TenantID: tenant, DeliveryID: d.ID, At: at(time.Minute).Add(time.Nanosecond), Outcome: store.AttemptInFlight,
			RequestID: "req-" + d.ID, Replay: n%2 == 0, Resend: true}
	}
	attemptsOf := func(d store.Delivery) []store.Attempt { return must(s.ListAttempts(ctx, w.a.ID, d.ID))(t) }
	in := func(fn func(tx store.Tx) error) error { return s.Tx(ctx, fn) }

	// Three sends, one guarded.
	d1, d2, d3 := planned(), planned(), planned()
	ws := []store.AttemptWrite{
		{Attempt: attempt(w.a.ID, d1), Delivery: inFlight(d1)},
		{Attempt: attempt(w.a.ID, d2), Delivery: inFlight(d2)},
		{Attempt: attempt(w.a.ID, d3), Delivery: inFlight(d3), Was: &d3},
	}
	noErr(t, in(func(tx store.Tx) error { return tx.BeginAttempts(ctx, ws) }))
	for i, d := range []store.Delivery{d1, d2, d3} {
		a := *ws[i].Attempt
		if a.ID == "" || !a.At.Equal(micro(at(time.Minute))) {
			t.Fatalf("send %d: attempt's ID %q and At %v not set in place", i, a.ID, a.At)
		}
		equal(t, "begun: delivery", must(s.GetDelivery(ctx, w.a.ID, d.ID))(t), inFlight(d))
		equal(t, "begun: attempt", attemptsOf(d), []store.Attempt{a})
	}

	// A guarded row that changed: nothing of the call, nor of the transaction, is written.
	d4, d5, d6 := planned(), planned(), planned()
	changed := d5
	changed.Reason = "replay requested"
	noErr(t, s.UpdateDelivery(ctx, changed))
	err = in(func(tx store.Tx) error {
		if err := tx.UpdateDelivery(ctx, inFlight(d6)); err != nil {
			return err
		}
		return tx.BeginAttempts(ctx, []store.AttemptWrite{
			{Attempt: attempt(w.a.ID, d4), Delivery: inFlight(d4)},
			{Attempt: attempt(w.a.ID, d5), Delivery: inFlight(d5), Was: &d5},
		})
	})
	wantErr(t, err, store.ErrChanged, "a guarded row changed")
	equal(t, "changed: the other send", must(s.GetDelivery(ctx, w.a.ID, d4.ID))(t), d4)
	equal(t, "changed: the changed row", must(s.GetDelivery(ctx, w.a.ID, d5.ID))(t), changed)
	equal(t, "changed: the transaction's other write", must(s.GetDelivery(ctx, w.a.ID, d6.ID))(t), d6)
	equal(t, "changed: no attempt", append(attemptsOf(d4), attemptsOf(d5)...), []store.Attempt(nil))

	// An attempt on another tenant's delivery.
	err = in(func(tx store.Tx) error {
		return tx.BeginAttempts(ctx, []store.AttemptWrite{
			{Attempt: attempt(w.a.ID, d4), Delivery: inFlight(d4)},
			{Attempt: attempt(w.b.ID, d6), Delivery: inFlight(d6)},
		})
	})
	wantErr(t, err, store.ErrNotFound, "another tenant's delivery")
	equal(t, "another tenant's: rows", []store.Delivery{must(s.GetDelivery(ctx, w.a.ID, d4.ID))(t), must(s.GetDelivery(ctx, w.a.ID, d6.ID))(t)},
		[]store.Delivery{d4, d6})
	equal(t, "another tenant's: no attempt", append(attemptsOf(d4), attemptsOf(d6)...), []store.Attempt(nil))

	// The outcomes: delivered with keys, retrying, and one without an attempt.
	keys := func(v int64) *int64 { return &v }
	outcome := func(a store.Attempt, status int, kind string) *store.Attempt {
		a.HTTPStatus, a.LatencyMS, a.Outcome, a.Code, a.Message, a.TraceID = status, 42, kind, "c-"+kind, "m-"+kind, "tr-"+kind
		return &a
	}
	done := func(d store.Delivery, state store.DeliveryState, reason string, delivered *time.Time, k *int64) store.Delivery {
		d.State, d.Reason, d.Attempts, d.InFlight, d.UpdatedAt, d.DeliveredAt, d.Keys = state, reason, d.Attempts+1, false, micro(at(time.Hour)), delivered, k
		return d
	}
	fin := []store.AttemptWrite{
		{Attempt: outcome(*ws[0].Attempt, 200, "delivered"), Delivery: done(inFlight(d1), store.DeliveryDelivered, "", microPtr(at(time.Hour)), keys(0b101))},
		{Attempt: outcome(*ws[1].Attempt, 503, "retryable"), Delivery: done(inFlight(d2), store.DeliveryRetrying, "http_503", nil, nil)},
		{Delivery: done(inFlight(d3), store.DeliverySkipped, "consent_denied", nil, nil)},
	}
	noErr(t, in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, fin) }))
	for i, d := range []store.Delivery{d1, d2, d3} {
		want := fin[i].Delivery
		want.Keys = nil // GetDelivery leaves Keys out
		equal(t, "finished: delivery", must(s.GetDelivery(ctx, w.a.ID, d.ID))(t), want)
	}
	equal(t, "finished: attempts", [][]store.Attempt{attemptsOf(d1), attemptsOf(d2), attemptsOf(d3)},
		[][]store.Attempt{{*fin[0].Attempt}, {*fin[1].Attempt}, {*ws[2].Attempt}})
	coverage := func() []store.KeysCount {
		return must(s.IdentifierCoverage(ctx, store.CoverageFilter{TenantID: w.a.ID, Since: at(0), Until: at(24 * time.Hour)}))(t)
	}
	equal(t, "finished: the keys sent", coverage(), []store.KeysCount{{DestinationID: w.dstA.ID, Keys: 0b101, Events: 1}})

	// A later outcome without keys keeps them; one whose attempt does not exist writes nothing.
	again := fin[0].Delivery
	again.Reason, again.Keys = "again", nil
	noErr(t, in(func(tx store.Tx) error { return tx.FinishAttempts(ctx, []store.AttemptWrite{{Delivery: again}}) }))
	equal(t, "a later write keeps the keys", coverage(), []store.KeysCount{{DestinationID: w.dstA.ID, Keys: 0b101, Events: 1}})
	missing := *fin[1].Attempt
	missing.ID = "no-such-attempt"
	err = in(func(tx store.Tx) error {
		return tx.FinishAttempts(ctx, []store.AttemptWrite{
			{Delivery: done(d4, store.DeliveryDead, "invalid_token", nil, nil)},
			{Attempt: &missing, Delivery: done(fin[1].Delivery, store.DeliveryDelivered, "", microPtr(at(2*time.Hour)), keys(1))},
		})
	})
	wantErr(t, err, store.ErrNotFound, "an attempt that does not exist")
	equal(t, "missing attempt: rows", []store.Delivery{must(s.GetDelivery(ctx, w.a.ID, d4.ID))(t), must(s.GetDelivery(ctx, w.a.ID, d2.ID))(t)},
		[]store.Delivery{d4, fin[1].Delivery})
}

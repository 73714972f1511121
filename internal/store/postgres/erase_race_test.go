package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// TestEraseWaitsForAWebhookBeingApplied: a refund webhook of a buyer's order is being applied
// (its transaction holds the order) when she is erased. The erasure waits for it and then
// deletes its raw copy with the others, instead of reading the inbox before it committed and
// leaving that copy, with her data, behind. (A webhook applied after the erasure waits for it
// instead, finds the order erased and empties its own copy: intake.TestRefundAfterErasureKeepsNoRawCopy.)
func TestEraseWaitsForAWebhookBeingApplied(t *testing.T) {
	t.Parallel()
	s := openMigrated(t)
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 2)
	em := pii.SHA256Hex("maria.teste@example.com")
	now := time.Now().UTC()
	paid := store.OrderEvent{TenantID: ten.ID, SourceID: es[0].SourceID, InboxID: es[0].ID, Provider: "hotmart", ExternalID: "HP-race",
		EventKey: "paid", Status: domain.StatusPaid, OccurredAt: now, AmountMinor: 19700, Currency: "BRL",
		Buyer: store.Buyer{EmailHash: em}, ReceivedAt: now}
	o, _, err := s.ApplyOrderEvent(ctx, paid)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetInboxState(ctx, ten.ID, es[0].ID, store.InboxProcessed, "", o.ID, now); err != nil {
		t.Fatal(err)
	}

	// The refund's transaction: it holds the order until released.
	locked, release, applied := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		applied <- s.Tx(ctx, func(tx store.Tx) error {
			refund := paid
			refund.InboxID, refund.EventKey, refund.Status, refund.OccurredAt = es[1].ID, "refunded", domain.StatusRefunded, now.Add(time.Minute)
			if _, _, err := tx.ApplyOrderEvent(ctx, refund); err != nil {
				close(locked)
				return err
			}
			if err := tx.SetInboxState(ctx, ten.ID, es[1].ID, store.InboxProcessed, "", o.ID, now); err != nil {
				close(locked)
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	erased := make(chan error, 1)
	go func() {
		_, err := s.ErasePerson(ctx, ten.ID, store.Person{EmailHash: em}, store.AuditEntry{Actor: "key:ops", Action: "erasure"})
		erased <- err
	}()
	// The erasure waits for the order's row: a waiter takes a tuple lock on it.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var waiting int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE c.relname = 'orders' AND c.relnamespace = current_schema()::regnamespace AND l.locktype = 'tuple'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-erased:
			t.Fatalf("the erasure finished while the refund held the order: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the erasure did not wait for the order within 20 s")
		}
	}
	close(release)
	if err := <-applied; err != nil {
		t.Fatal(err)
	}
	if err := <-erased; err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if got, err := s.GetInbox(ctx, ten.ID, e.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("raw webhook %s after the erasure: %s %v; want it deleted", e.ID, got.State, err)
		}
	}
	if got, err := s.GetOrder(ctx, ten.ID, o.ID); err != nil || got.ErasedAt == nil || got.Status != domain.StatusRefunded {
		t.Errorf("the order: %+v %v; want refunded and erased", got, err)
	}
}

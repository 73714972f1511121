package postgres_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// BenchmarkDeliveryUpdates writes about b.N deliveries (paid orders, each with a Purchase for
// each of 1 or 5 destinations) the way the intake and the delivery worker write them, on one
// connection, and reports what PostgreSQL does per delivery, which depends on no load at all:
// how many of the updates of deliveries and attempts were HOT (no new index entries; from
// pg_stat_user_tables), the WAL (from pg_current_wal_lsn, after a CHECKPOINT, so exact only on
// a cluster nobody else writes to), the mean row sizes and the heap and index bytes of the two
// tables. The orders are written first and not counted.
//
// The flow, per chunk of 16 orders: the intake creates the chunk's deliveries (an order's in
// one transaction, as delivery.Plan); the worker marks the chunk before it in flight (per
// destination a batch of 16, in one transaction: each delivery's attempt inserted, the delivery
// updated, as Worker.begin), then records the outcome (delivered) of the chunk four before it,
// per batch in one transaction (each attempt updated, then its delivery, as Worker.finishThen
// does through the group commit).
// So a delivery is marked in flight one chunk and given its outcome four chunks after its
// insert, as at a few hundred orders a second. Autovacuum is off on the two tables, so only
// page pruning frees room, as between two autovacuum runs.
//
// The sub-benchmarks set both tables' fillfactor (100 is PostgreSQL's default, as before the
// migration "deliveries and attempts keep room for HOT updates"), or keep the migrated one:
//
//	go test -run XXX -bench DeliveryUpdates -benchtime 4000x ./internal/store/postgres
func BenchmarkDeliveryUpdates(b *testing.B) {
	for _, dests := range []int{1, 5} {
		for _, fillfactor := range []int{100, 90, 80, 70, 60, 50, 0} {
			name := "dests=" + strconv.Itoa(dests) + "/fillfactor=" + strconv.Itoa(fillfactor)
			if fillfactor == 0 {
				name = "dests=" + strconv.Itoa(dests) + "/fillfactor=migrated"
			}
			b.Run(name, func(b *testing.B) { benchDeliveryUpdates(b, dests, fillfactor) })
		}
	}
}

func benchDeliveryUpdates(b *testing.B, dests, fillfactor int) {
	ctx := context.Background()
	s := openBench(b)
	exec := func(sql string, args ...any) {
		b.Helper()
		if _, err := s.Pool().Exec(ctx, sql, args...); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	for _, table := range []string{"deliveries", "attempts"} {
		exec(`ALTER TABLE ` + table + ` SET (autovacuum_enabled = false)`)
		if fillfactor != 0 {
			exec(`ALTER TABLE ` + table + ` SET (fillfactor = ` + strconv.Itoa(fillfactor) + `)`)
		}
	}

	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	src, err := s.CreateSource(ctx, store.Source{TenantID: tn.ID, Name: "shop", PublicKey: "pk_" + store.NewID(),
		WebhookToken: "wh_" + store.NewID(), AllowedOrigins: []string{"https://shop.example"},
		AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick})
	if err != nil {
		b.Fatal(err)
	}
	dsts := make([]store.Destination, dests)
	for j := range dsts {
		if dsts[j], err = s.CreateDestination(ctx, store.Destination{TenantID: tn.ID, Type: "meta",
			Name: "pixel " + strconv.Itoa(j), Enabled: true}); err != nil {
			b.Fatal(err)
		}
	}
	// Orders come in chunks of 16; dels[o*dests+j] is order o's delivery to destination j.
	const chunk, inFlightLag, outcomeLag = 16, 1, 4
	orders := max((b.N/dests+chunk-1)/chunk*chunk, chunk)
	n := orders * dests
	dels := make([]store.Delivery, n)
	for o := range orders {
		ext := fmt.Sprintf("HP%010d", o)
		now := time.Now().UTC()
		ord, _, err := s.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, SourceID: src.ID, Provider: "hotmart",
			ExternalID: ext, EventKey: "k" + ext, Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: now,
			AmountMinor: 19700, Currency: "BRL", ReceivedAt: now})
		if err != nil {
			b.Fatal(err)
		}
		for j, ds := range dsts {
			dels[o*dests+j] = store.Delivery{ID: store.NewID(), TenantID: tn.ID, OrderID: ord.ID, DestinationID: ds.ID,
				EventName: domain.EventPurchase, EventID: "hotmart:" + ext + ":purchase", State: store.DeliveryPending,
				CreatedAt: now, UpdatedAt: now}
		}
	}
	attempts := make([]store.Attempt, n)
	// create is delivery.Plan: an order's deliveries in the order's transaction.
	create := func(c int) error {
		for o := c * chunk; o < (c+1)*chunk; o++ {
			if err := s.Tx(ctx, func(tx store.Tx) error {
				for i := o * dests; i < (o+1)*dests; i++ {
					d, _, err := tx.CreateDelivery(ctx, dels[i])
					if err != nil {
						return err
					}
					dels[i] = d
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}
	// begin is delivery.Worker.begin: one transaction for a batch's attempts in flight, a
	// batch being the chunk's deliveries to one destination.
	begin := func(c int) error {
		for j := range dests {
			var batch []int
			ids := make([]string, 0, chunk)
			for o := c * chunk; o < (c+1)*chunk; o++ {
				batch = append(batch, o*dests+j)
				ids = append(ids, dels[o*dests+j].EventID)
			}
			if err := s.Tx(ctx, func(tx store.Tx) error {
				now := time.Now()
				for _, i := range batch {
					at, err := tx.InsertAttempt(ctx, store.Attempt{ID: store.NewID(), TenantID: tn.ID, DeliveryID: dels[i].ID,
						At: now, Outcome: store.AttemptInFlight, RequestID: store.NewID(), EventIDs: ids})
					if err != nil {
						return err
					}
					attempts[i] = at
					dels[i].InFlight, dels[i].UpdatedAt = true, now
					if err := tx.UpdateDelivery(ctx, dels[i]); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}
	// finish is delivery.Worker.finishThen for delivered events, group-committed (groupCommit):
	// a batch's outcomes in one transaction, each attempt updated, then its delivery.
	finish := func(c int) error {
		for j := range dests {
			if err := s.Tx(ctx, func(tx store.Tx) error {
				for o := c * chunk; o < (c+1)*chunk; o++ {
					i := o*dests + j
					now := time.Now()
					a := attempts[i]
					a.HTTPStatus, a.LatencyMS, a.Outcome, a.TraceID = 200, 143, "delivered", "A"+strings.Repeat("x", 22)
					d := dels[i]
					keys := int64(0b1011)
					d.State, d.UpdatedAt, d.DeliveredAt, d.InFlight, d.Attempts, d.Keys = store.DeliveryDelivered, now, &now, false, 1, &keys
					if err := tx.UpdateAttempt(ctx, a); err != nil {
						return err
					}
					if err := tx.UpdateDelivery(ctx, d); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}

	stats := func() (upd, hot [2]float64) {
		b.Helper()
		exec(`SELECT pg_stat_force_next_flush()`)
		rows, err := s.Pool().Query(ctx, `SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname IN ('deliveries', 'attempts')`)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				rel    string
				u, h   float64
				target = 0
			)
			if err := rows.Scan(&rel, &u, &h); err != nil {
				b.Fatal(err)
			}
			if rel == "attempts" {
				target = 1
			}
			upd[target], hot[target] = u, h
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		return upd, hot
	}
	// Full-page images are written for a page's first change after a checkpoint: start right
	// after one, so the WAL does not depend on when the last one happened.
	exec(`CHECKPOINT`)
	upd0, hot0 := stats()
	wal0 := walLSN(ctx, b, s)
	chunks := orders / chunk
	b.ResetTimer()
	for c := 0; c < chunks+outcomeLag; c++ {
		if c < chunks {
			if err := create(c); err != nil {
				b.Fatal(err)
			}
		}
		if k := c - inFlightLag; k >= 0 && k < chunks {
			if err := begin(k); err != nil {
				b.Fatal(err)
			}
		}
		if k := c - outcomeLag; k >= 0 {
			if err := finish(k); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	var wal float64
	if err := s.Pool().QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)`, wal0).Scan(&wal); err != nil {
		b.Fatal(err)
	}
	upd1, hot1 := stats()
	per := float64(n)
	b.ReportMetric(wal/per, "wal-B/delivery")
	for i, table := range []string{"deliveries", "attempts"} {
		u, h := upd1[i]-upd0[i], hot1[i]-hot0[i]
		if u == 0 {
			b.Fatalf("%s: no updates counted", table)
		}
		b.ReportMetric(u/per, table+"-upd/delivery")
		b.ReportMetric(100*h/u, table+"-hot-%")
	}
	var idx, heap float64
	if err := s.Pool().QueryRow(ctx, `SELECT pg_indexes_size('deliveries') + pg_indexes_size('attempts'),
		pg_relation_size('deliveries') + pg_relation_size('attempts')`).Scan(&idx, &heap); err != nil {
		b.Fatal(err)
	}
	var drow, arow float64
	if err := s.Pool().QueryRow(ctx, `SELECT (SELECT avg(pg_column_size(d.*)) FROM deliveries d),
		(SELECT avg(pg_column_size(a.*)) FROM attempts a)`).Scan(&drow, &arow); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(drow, "deliveries-row-B")
	b.ReportMetric(arow, "attempts-row-B")
	b.ReportMetric(idx/per, "idx-B/delivery")
	b.ReportMetric(heap/per, "heap-B/delivery")
}

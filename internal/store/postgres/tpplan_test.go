package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestTouchpointDeliveryPlan: planning a browser event's delivery does not read the tenant's
// touchpoints. CreateDelivery checked that the touchpoint was the tenant's with
// EXISTS (tenant_id, id): a generic plan probes every day's partition for it, and on a
// partition not analysed yet (each new day's, until autovacuum reaches it) PostgreSQL rated the
// indexes that start with tenant_id alike and read another one than the key, with a filter on
// the id: every touchpoint of the tenant's day, per delivery (seen in bench/ingest with
// DESTINATION=meta: 6.6 ms per insert). Now a group that wrote every touchpoint itself creates
// the deliveries without the lookup, and a retried group's lookup names the touchpoint's day.
// The test builds the generic plans on a never-analysed schema, as a new database's first
// minutes and each new day's partition do, and runs them.
func TestTouchpointDeliveryPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, tn, src, dst := neverAnalysed(t)
	now := time.Now().UTC()
	var tps []store.Touchpoint
	for i := range 2000 {
		tps = append(tps, store.Touchpoint{ID: store.NewID(), TenantID: tn.ID, SourceID: src.ID, Type: "lead", Name: "lead",
			ClientEventID: fmt.Sprintf("e%d", i), OccurredAt: now.Add(-time.Duration(i) * time.Second), ReceivedAt: now,
			IP: fmt.Sprintf("10.0.%d.%d", i/250, i%250), UserAgent: "ua", VisitorID: fmt.Sprintf("v%d", i%7)})
	}
	// The one looked up is a few days ahead, in a later partition than the others: a lookup
	// that does not name its day reads the days before it first.
	tps = append(tps, store.Touchpoint{ID: store.NewID(), TenantID: tn.ID, SourceID: src.ID, Type: "lead", Name: "lead",
		ClientEventID: "later", OccurredAt: now.Add(72 * time.Hour), ReceivedAt: now, IP: "10.9.9.9", UserAgent: "ua", VisitorID: "v0"})
	later := tps[len(tps)-1]
	if n, err := s.WriteTouchpoints(ctx, tps, nil); err != nil || n != len(tps) {
		t.Fatalf("write touchpoints: %d, %v", n, err)
	}
	// Both forms of the statement, each run enough times to be prepared on the connection.
	create := func(tp store.Touchpoint, written bool) store.Delivery {
		t.Helper()
		var d store.Delivery
		if err := s.Tx(ctx, func(tx store.Tx) error {
			var err error
			d, _, err = tx.CreateDelivery(ctx, store.Delivery{TenantID: tn.ID, TouchpointID: tp.ID, TouchpointAt: tp.OccurredAt,
				TouchpointWritten: written, DestinationID: dst.ID, EventName: "Lead", EventID: tp.ClientEventID, State: store.DeliveryPending})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i := range 6 {
		create(tps[i], true)
		create(tps[100+i], false)
	}

	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	q := sqlText
	// explain runs the prepared insert like like and not like unlike; a lookup (lookup) has
	// the owner's id as $17 and its time as $19.
	explain := func(like, unlike string, lookup bool, tp store.Touchpoint) planNode {
		t.Helper()
		args := []string{q(store.NewID()), q(tn.ID), "NULL", q(dst.ID), q("Lead"), q("x" + tp.ClientEventID), q("pending"), q(""), "0",
			"now()", "now()", "NULL", q(tp.ID), "false", "0", "NULL"}
		if lookup {
			args = append(args, q(tp.ID), "true", q(tp.OccurredAt.Format(time.RFC3339Nano)))
		} else {
			args = append(args, "true")
		}
		plan := explainPrepared(t, conn.Conn(), like, unlike, args)
		t.Logf("%s: %d shared buffers", like, plan.Hit+plan.Read)
		return plan
	}

	// Written by the group: no touchpoint is read (the statement names none).
	walkPlan(explain("%INSERT INTO deliveries%", "%touchpoints%", false, later), func(n planNode) {
		if strings.HasPrefix(n.Relation, "touchpoints") {
			t.Errorf("a touchpoint the group wrote was looked up: %s on %s (%s)", n.Type, n.Relation, n.Index)
		}
	})
	// A retried group's lookup: its day's partition only, for the one row.
	scanned := 0
	walkPlan(explain("INSERT INTO deliveries%occurred_at = $19%", "", true, later), func(n planNode) {
		if !strings.HasPrefix(n.Relation, "touchpoints") || n.Loops == 0 {
			return
		}
		scanned++
		if n.Index != n.Relation+"_pkey" {
			t.Logf("%s on %s read %s (%g rows thrown away): not the key, on a partition never analysed", n.Type, n.Relation, n.Index, n.Removed)
		}
	})
	if scanned != 1 {
		t.Errorf("the lookup by the touchpoint's day scanned %d partitions, want its day's one", scanned)
	}
}

// TestByKeyPlans: the statements that write or read one delivery or order by its id (the
// attempt's insert, the outcome's update, the queued mark, the reads, the order's ad update),
// and those that write a batch's attempts and deliveries over arrays, reach each row through
// the primary key, whatever the plan was made on. With the tenant as a plain
// condition, a generic plan made while the table had no statistics read it through another
// index that starts with tenant_id, such as deliveries_state (tenant_id, state, id): every
// entry of the tenant's before the one with the id (bench/ingest with DESTINATION=meta,
// auto_explain: about 950 buffers per attempt after 20 seconds). The test makes the plans on
// ten deliveries and orders of a never-analysed schema, grows the tenant to 2,000 delivered
// deliveries and 1,000 orders and runs those plans on a new one of each.
func TestByKeyPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, tn, src, dst := neverAnalysed(t)
	now := time.Now().UTC()
	// deliveries plans n browser-event deliveries and, with delivered, sends each: its attempt,
	// its outcome, its job's mark and a read, the statements under test.
	deliveries := func(n int, delivered bool) []store.Delivery {
		t.Helper()
		tps := make([]store.Touchpoint, n)
		for i := range tps {
			tps[i] = store.Touchpoint{ID: store.NewID(), TenantID: tn.ID, SourceID: src.ID, Type: "lead", Name: "lead",
				ClientEventID: store.NewID(), OccurredAt: now, ReceivedAt: now, IP: "10.0.0.1", UserAgent: "ua", VisitorID: "v"}
		}
		var (
			out []store.Delivery
			ws  []store.AttemptWrite
		)
		if err := s.Tx(ctx, func(tx store.Tx) error {
			out = out[:0]
			if _, err := tx.WriteTouchpoints(ctx, tps, nil); err != nil {
				return err
			}
			for _, tp := range tps {
				d, _, err := tx.CreateDelivery(ctx, store.Delivery{TenantID: tn.ID, TouchpointID: tp.ID, TouchpointWritten: true,
					DestinationID: dst.ID, EventName: "Lead", EventID: tp.ClientEventID, State: store.DeliveryPending})
				if err != nil {
					return err
				}
				out = append(out, d)
			}
			if !delivered {
				return nil
			}
			for _, d := range out {
				if _, err := tx.InsertAttempt(ctx, store.Attempt{TenantID: tn.ID, DeliveryID: d.ID, HTTPStatus: 200, Outcome: "delivered"}); err != nil {
					return err
				}
				if err := tx.MarkDeliveryQueued(ctx, tn.ID, d.ID); err != nil {
					return err
				}
				d.State, d.Attempts = store.DeliveryDelivered, 1
				if err := tx.UpdateDelivery(ctx, d); err != nil {
					return err
				}
				if _, err := tx.GetDelivery(ctx, tn.ID, d.ID); err != nil {
					return err
				}
			}
			// The worker's writes of a batch: its attempts and in-flight marks (half of them
			// guarded), then, in a transaction of their own as the worker writes them, their
			// outcomes, each a statement over arrays.
			ws = make([]store.AttemptWrite, len(out))
			for i, d := range out {
				d.State, d.Attempts = store.DeliveryDelivered, 1
				was := d
				d.InFlight = true
				ws[i] = store.AttemptWrite{Attempt: &store.Attempt{TenantID: tn.ID, DeliveryID: d.ID, Outcome: store.AttemptInFlight}, Delivery: d}
				if i%2 == 1 {
					ws[i].Was = &was
				}
			}
			return tx.BeginAttempts(ctx, ws)
		}); err != nil {
			t.Fatal(err)
		}
		if delivered {
			for i := range ws {
				ws[i].Attempt.Outcome, ws[i].Delivery.InFlight = "delivered", false
			}
			if err := s.Tx(ctx, func(tx store.Tx) error { return tx.FinishAttempts(ctx, ws) }); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	for range 10 { // one at a time: each statement runs enough times to be planned generic
		deliveries(1, true)
	}
	for range 4 {
		deliveries(500, true)
	}
	pending, other := deliveries(1, false)[0], deliveries(1, false)[0]
	// orders creates n paid orders and attributes each after (the ad update), reading it.
	var order store.Order
	orders := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			e := store.OrderEvent{TenantID: tn.ID, Provider: "hotmart", ExternalID: fmt.Sprintf("HP%06d", i), EventKey: "paid",
				Status: domain.StatusPaid, OccurredAt: now.Add(time.Duration(i) * time.Second), AmountMinor: 19700, Currency: "BRL",
				NewOrderID: store.NewID()}
			if err := s.Tx(ctx, func(tx store.Tx) error {
				var err error
				if order, _, err = tx.ApplyOrderEvent(ctx, e); err != nil {
					return err
				}
				return tx.PutAttribution(ctx, store.Attribution{TenantID: tn.ID, OrderID: order.ID, Rule: "visitor_id", Confidence: 1,
					Ad: domain.AdRef{Platform: "meta", CampaignID: "c1"}})
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetOrder(ctx, tn.ID, order.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	orders(0, 10)
	orders(10, 1000)

	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	q := sqlText
	for _, c := range []struct {
		what, like string
		args       []string
	}{
		{"the attempt's insert", "%INSERT INTO attempts%SELECT $1, $2%", []string{q(store.NewID()), q(tn.ID), q(pending.ID), "now()", "200", "1",
			q("delivered"), q(""), q(""), q(""), "false", q(""), q(""), "false"}},
		{"the delivery's update", "UPDATE deliveries SET state = $3%", []string{q(tn.ID), q(pending.ID),
			q("pending"), q(""), "0", "now()", "NULL", "true", "0", "NULL", "NULL"}},
		{"the outcome's update", "WITH d AS (%UPDATE deliveries SET state = $3%UPDATE attempts SET%", []string{q(tn.ID), q(pending.ID),
			q("pending"), q(""), "0", "now()", "NULL", "true", "0", "NULL", q(tn.ID), q(store.NewID()), "200", "1",
			q("delivered"), q(""), q(""), q("")}},
		{"the queued mark", "%UPDATE deliveries SET queued = true WHERE%", []string{q(tn.ID), q(pending.ID)}},
		{"the read", "SELECT id, tenant_id, order_id%FROM deliveries WHERE%", []string{q(tn.ID), q(pending.ID)}},
		{"the order's read", "SELECT id, tenant_id, source_id, provider%FROM orders WHERE%", []string{q(tn.ID), q(order.ID)}},
		{"the order's ad update", "%UPDATE orders SET matched = $3%", []string{q(tn.ID), q(order.ID), "true",
			q("meta"), q("c1"), q(""), q(""), q(""), q(""), q(""), "NULL"}},
	} {
		plan := explainPrepared(t, conn.Conn(), c.like, "%state = $11%", c.args)
		walkPlan(plan, func(n planNode) {
			if (n.Relation == "deliveries" || n.Relation == "orders") && n.Type != "ModifyTable" && (n.Index != n.Relation+"_pkey" || n.Rows > 1) {
				t.Errorf("%s: %s on %s (%s) read %g rows, want the primary key's one", c.what, n.Type, n.Relation, n.Index, n.Rows)
			}
		})
		t.Logf("%s: %d shared buffers", c.what, plan.Hit+plan.Read)
	}
	// The statements over arrays, on two sends, as the COMMIT's batch sends them when they
	// write more than one row (each must write both, the last argument): each row through the primary key, once (an index
	// scan a row, or one bitmap scan of the key for the whole array). The guarded marks go
	// first: EXPLAIN ANALYZE writes, and they need the rows as planned.
	arr := func(vs ...string) string { return "ARRAY[" + strings.Join(vs, ", ") + "]" }
	ids, attempts := arr(q(pending.ID), q(other.ID)), arr(q(store.NewID()), q(store.NewID()))
	tenants := arr(q(tn.ID), q(tn.ID))
	two := func(v string) string { return arr(v, v) }
	// was is a column of the two rows as they now stand (the outcome's update above wrote one).
	was := func(col string) string {
		t.Helper()
		var v string
		if err := conn.QueryRow(ctx, `SELECT array_agg(`+col+` ORDER BY array_position($1::text[], id))::text FROM deliveries WHERE id = ANY($1::text[])`,
			[]string{pending.ID, other.ID}).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return q(v)
	}
	for _, c := range []struct {
		what, like, unlike string
		args               []string
		rows               float64 // of deliveries and attempts read; 0: 2
	}{
		{"the attempts' insert", "%INSERT INTO attempts%unnest%CASE count(*)%", "", []string{attempts, tenants, ids,
			two("now()"), two("0"), two("0"), two(q("in_flight")), two(q("")), two(q("")), two(q("")), two("false"), two(q("r")), two(q("")), two("false"), "2"}, 0},
		{"the guarded in-flight marks", "%UPDATE deliveries d SET%was_state%CASE count(*)%", "", []string{tenants, ids, two(q("pending")), two(q("")), two("0"),
			two("now()"), two("NULL::timestamptz"), two("true"), two("0"), two("NULL::bigint"), attempts,
			two(q("pending")), two(q("")), two("0"), was("in_flight") + "::boolean[]", two("0"), was("updated_at") + "::timestamptz[]", "2"}, 0},
		{"the in-flight marks", "%UPDATE deliveries d SET%unnest%CASE count(*)%", "%was_state%", []string{tenants, ids, two(q("pending")), two(q("")), two("0"),
			two("now()"), two("NULL::timestamptz"), two("true"), two("0"), two("NULL::bigint"), attempts, "2"}, 0},
		// The outcomes and their rows, one statement (a read: it answers whether each was
		// superseded): the two rows and their two attempts.
		{"the outcomes", "WITH v AS (%unnest%UPDATE deliveries d SET%UPDATE attempts a%", "", []string{tenants, ids, two(q("delivered")), two(q("")), two("1"),
			two("now()"), two("now()"), two("false"), two("0"), two("NULL::bigint"), tenants, attempts, two("200"), two("1"),
			two(q("delivered")), two(q("")), two(q("")), two(q(""))}, 4},
	} {
		plan := explainPrepared(t, conn.Conn(), c.like, c.unlike, c.args)
		read := 0.0
		walkPlan(plan, func(n planNode) {
			switch {
			case n.Type == "Bitmap Index Scan" && n.Index != "" && !strings.HasSuffix(n.Index, "_pkey"):
				t.Errorf("%s: %s through %s, want a primary key", c.what, n.Type, n.Index)
			case n.Relation != "deliveries" && n.Relation != "attempts", n.Type == "ModifyTable":
			case n.Type == "Bitmap Heap Scan" || n.Index == n.Relation+"_pkey":
				read += n.Rows * n.Loops
			default:
				t.Errorf("%s: %s on %s (%s), want the primary key", c.what, n.Type, n.Relation, n.Index)
			}
		})
		if want := max(c.rows, 2); read != want {
			t.Errorf("%s: read %g rows, want the two sends' %g", c.what, read, want)
		}
		t.Logf("%s: %d shared buffers", c.what, plan.Hit+plan.Read)
	}
}

// neverAnalysed is genericStore with one tenant, its source and its Meta destination.
func neverAnalysed(t *testing.T) (*postgres.Store, store.Tenant, store.Source, store.Destination) {
	t.Helper()
	ctx := context.Background()
	s := genericStore(t)
	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.CreateSource(ctx, store.Source{TenantID: tn.ID, Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := s.CreateDestination(ctx, store.Destination{TenantID: tn.ID, Type: "meta", Name: "m", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, tn, src, dst
}

// explainPrepared runs, with EXPLAIN (ANALYZE, BUFFERS), the statement prepared on conn whose
// text is like like (and not like unlike, when given) with args (SQL literals), and returns
// its plan.
func explainPrepared(t *testing.T, conn *pgx.Conn, like, unlike string, args []string) planNode {
	t.Helper()
	ctx := context.Background()
	var name string
	if err := conn.QueryRow(ctx, `SELECT name FROM pg_prepared_statements WHERE statement LIKE $1 AND ($2 = '' OR statement NOT LIKE $2)`,
		like, unlike).Scan(&name); err != nil {
		t.Fatalf("the prepared statement like %q: %v", like, err)
	}
	var out string
	if err := conn.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE `+pgx.Identifier{name}.Sanitize()+
		`(`+strings.Join(args, ", ")+`)`, pgx.QueryExecModeSimpleProtocol).Scan(&out); err != nil {
		t.Fatalf("EXPLAIN %s: %v", name, err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("EXPLAIN: %v %s", err, out)
	}
	return plans[0].Plan
}

// walkPlan calls visit on n and every node under it.
func walkPlan(n planNode, visit func(planNode)) {
	visit(n)
	for _, c := range n.Plans {
		walkPlan(c, visit)
	}
}

// sqlText is s as an SQL string literal.
func sqlText(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// genericStore is a migrated store of one connection whose statements are prepared with
// generic plans, on tables that have no statistics (a new database's first minutes).
func genericStore(t *testing.T) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	s := teststore.Driver(t, postgres.Open, testenv.Postgres(t)+"&pool_max_conns=1")
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The pool's one connection: the store's statements are prepared on it, generic.
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	return s
}

package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	s := teststore.Driver(t, postgres.Open, testenv.Postgres(t)+"&pool_max_conns=1")
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The pool's one connection: the store's statements are prepared on it, generic.
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	conn.Release()
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

	conn, err = s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	explain := func(form string, tp store.Touchpoint) planNode {
		t.Helper()
		var name string
		if err := conn.QueryRow(ctx, `SELECT name FROM pg_prepared_statements
			WHERE statement LIKE 'INSERT INTO deliveries%' AND statement LIKE '%'||$1||'%'`, form).Scan(&name); err != nil {
			t.Fatalf("the prepared statement with %q: %v", form, err)
		}
		q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
		args := []string{q(store.NewID()), q(tn.ID), "NULL", q(dst.ID), q("Lead"), q("x" + tp.ClientEventID), q("pending"), q(""), "0",
			"now()", "now()", "NULL", q(tp.ID), "false", "0", "NULL", q(tp.ID), "true"}
		if strings.Contains(form, "$19") {
			args = append(args, q(tp.OccurredAt.Format(time.RFC3339Nano)))
		}
		var out string
		if err := conn.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE `+pgx.Identifier{name}.Sanitize()+
			`(`+strings.Join(args, ", ")+`)`, pgx.QueryExecModeSimpleProtocol).Scan(&out); err != nil {
			t.Fatal(err)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("EXPLAIN: %v %s", err, out)
		}
		t.Logf("%s: %d shared buffers", form, plans[0].Plan.Hit+plans[0].Plan.Read)
		return plans[0].Plan
	}
	var walk func(n planNode, visit func(planNode))
	walk = func(n planNode, visit func(planNode)) {
		visit(n)
		for _, c := range n.Plans {
			walk(c, visit)
		}
	}

	// Written by the group: no touchpoint is read.
	walk(explain("CAST($17 AS text) IS NOT NULL", later), func(n planNode) {
		if strings.HasPrefix(n.Relation, "touchpoints") {
			t.Errorf("a touchpoint the group wrote was looked up: %s on %s (%s)", n.Type, n.Relation, n.Index)
		}
	})
	// A retried group's lookup: its day's partition only, for the one row.
	scanned := 0
	walk(explain("occurred_at = $19", later), func(n planNode) {
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

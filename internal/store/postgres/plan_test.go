package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// TestDeliveryJobPlanStaysGood: the delivery job's read keeps reading one row per table as the
// tables grow under a plan made while they were small. A prepared statement's generic plan is
// made once per connection and kept until an invalidation (an ANALYZE, say), so a plan made in
// a new database's first minutes, with no statistics, served the job reads after: with the
// tenant's id as a condition of every joined table, it read the tenant's whole orders table (or
// its deliveries in another index, or all its destinations) and kept the row with the right id,
// 64 buffers per call at 1,000 orders and growing. The test makes the generic plan on ten
// orders of a never-analysed schema (as pgx's statement of the store's one connection, forced
// generic), grows the tables to 300 orders and runs that very plan: every table must be read
// through its primary key (an index starting with tenant_id reads the tenant's entries and
// checks the id in each, which no count of rows shows), one row, and no join throw rows away.
func TestDeliveryJobPlanStaysGood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := genericStore(t)

	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	// Three destinations: the deliveries go to the last, so one found among the tenant's shows.
	var dst store.Destination
	for _, typ := range []string{"google", "tiktok", "meta"} {
		if dst, err = s.CreateDestination(ctx, store.Destination{TenantID: tn.ID, Type: typ, Name: typ, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	var last store.Delivery
	purchases := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			ext := fmt.Sprintf("HP%06d", i)
			now := time.Now()
			e := store.OrderEvent{TenantID: tn.ID, Provider: "hotmart", ExternalID: ext, EventKey: "paid", Status: domain.StatusPaid,
				OccurredAt: now, AmountMinor: 19700, Currency: "BRL", NewOrderID: store.NewID()}
			if i%2 == 0 { // half attributed, so attributions grows too
				click := now.Add(-time.Hour)
				e.Attribution = &store.Attribution{TenantID: tn.ID, OrderID: e.NewOrderID, TouchpointID: "tp" + ext, Rule: "visitor_id",
					Confidence: 1, Ad: domain.AdRef{Platform: "meta", CampaignID: "c1"}, ClickAt: &click}
			}
			if err := s.Tx(ctx, func(tx store.Tx) error {
				o, _, err := tx.ApplyOrderEvent(ctx, e)
				if err != nil {
					return err
				}
				last, _, err = tx.CreateDelivery(ctx, store.Delivery{TenantID: tn.ID, OrderID: o.ID, DestinationID: dst.ID,
					EventName: domain.EventPurchase, EventID: "hotmart:" + ext + ":purchase", State: store.DeliveryPending})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	purchases(0, 10)
	if _, err := s.GetDeliveryJob(ctx, tn.ID, last.ID); err != nil { // prepares it, planned now
		t.Fatal(err)
	}
	purchases(10, 300)
	if _, err := s.GetDeliveryJob(ctx, tn.ID, last.ID); err != nil {
		t.Fatal(err)
	}

	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var name string
	if err := conn.QueryRow(ctx, `SELECT name FROM pg_prepared_statements
		WHERE statement LIKE 'SELECT d.id,%' AND statement LIKE '%FROM deliveries d%JOIN destinations ds%'`).Scan(&name); err != nil {
		t.Fatalf("the delivery job's prepared statement: %v", err)
	}
	// The statement takes the delivery's id, and before the tenant's id first.
	args := "'" + last.ID + "'"
	var params int
	if err := conn.QueryRow(ctx, `SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = $1`, name).Scan(&params); err != nil {
		t.Fatal(err)
	}
	if params == 2 {
		args = "'" + tn.ID + "', " + args
	}
	var out string
	if err := conn.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE `+pgx.Identifier{name}.Sanitize()+`(`+args+`)`,
		pgx.QueryExecModeSimpleProtocol).Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("EXPLAIN: %v %s", err, out)
	}
	root := plans[0].Plan
	if root.Rows != 1 {
		t.Fatalf("the plan returned %g rows, want the delivery's one: %s", root.Rows, out)
	}
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Relation != "" && (n.Type != "Index Scan" || n.Index != n.Relation+"_pkey" || n.Rows > 1) {
			t.Errorf("%s on %s (%s) read %g rows, want an index scan of its primary key for the one row", n.Type, n.Relation, n.Index, n.Rows)
		}
		if n.Removed+n.JoinRemoved > 0 {
			t.Errorf("%s %s %s threw away %g rows", n.Type, n.Relation, n.Index, n.Removed+n.JoinRemoved)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(root)
	if t.Failed() {
		t.Logf("plan: %s", out)
	}
	t.Logf("%d shared buffers", root.Hit+root.Read)
}

// planNode is a node of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON).
type planNode struct {
	Type        string     `json:"Node Type"`
	Relation    string     `json:"Relation Name"`
	Index       string     `json:"Index Name"`
	PlanRows    float64    `json:"Plan Rows"`
	Rows        float64    `json:"Actual Rows"`
	Loops       float64    `json:"Actual Loops"`
	Removed     float64    `json:"Rows Removed by Filter"`
	JoinRemoved float64    `json:"Rows Removed by Join Filter"`
	Hit         int        `json:"Shared Hit Blocks"`
	Read        int        `json:"Shared Read Blocks"`
	Plans       []planNode `json:"Plans"`
}

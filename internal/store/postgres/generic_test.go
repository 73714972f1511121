package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestLookupsRunOnGenericPlans: the match's lookups run on their prepared statements' generic
// plans, never a custom plan. Left to choose, PostgreSQL planned the touchpoint reads afresh at
// every execution (a generic plan of the partitioned table is costed over every partition), and
// the planning cost thirty times the read (docs/benchmarks-history.md). The plans are made on empty,
// never analysed tables, as in a new database, and must still read through the lookups'
// indexes after the tables grow: no sequential scan, no row thrown away by a filter. The batch
// that asks for the generic plans must not make PostgreSQL warn (SET LOCAL outside a transaction
// block did, once per batch, into the server's log).
func TestLookupsRunOnGenericPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var (
		mu      sync.Mutex
		notices []string
	)
	open := func(ctx context.Context, dsn string, opts ...store.Option) (*postgres.Store, error) {
		return postgres.OpenConfigured(ctx, dsn, func(c *pgxpool.Config) {
			c.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
				mu.Lock()
				defer mu.Unlock()
				notices = append(notices, n.Severity+": "+n.Message)
			}
		}, opts...)
	}
	s := teststore.Driver(t, open, testenv.Postgres(t)+"&pool_max_conns=1")
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	lookups := func(v int) []store.Lookup {
		since, until := now.Add(-7*24*time.Hour), now.Add(time.Minute)
		return []store.Lookup{
			{Kind: store.LookupOrderByExternalID, TenantID: tn.ID, Provider: "hotmart", ExternalID: fmt.Sprintf("HP%d", v)},
			{Kind: store.LookupTouchpointsByVisitor, TenantID: tn.ID, VisitorID: fmt.Sprintf("v%d", v%20), Since: since, Until: until, Limit: 50},
			{Kind: store.LookupTouchpointsByClickID, TenantID: tn.ID, ClickKind: store.ClickFBCLID, ClickID: fmt.Sprintf("F%d", v%20),
				Since: since, Until: until, Limit: 50},
			{Kind: store.LookupTouchpointsByNetwork, TenantID: tn.ID, IP: fmt.Sprintf("203.0.113.%d", v%20), UserAgent: "UA",
				Since: since, Until: until, Limit: 50},
			{Kind: store.LookupVisitorsByIdentity, TenantID: tn.ID, IdentityKind: store.IdentityEmail, Hash: fmt.Sprintf("EM%d", v%20)},
		}
	}
	for v := range 3 { // the plans are made now, on empty tables
		if err := s.Lookups(ctx, lookups(v)); err != nil {
			t.Fatal(err)
		}
	}
	// 2,000 touchpoints of 20 visitors over the last six days, each visitor on its own network.
	for chunk := range 10 {
		tps := make([]store.Touchpoint, 200)
		ids := make([]store.Identity, 0, 200)
		for i := range tps {
			n := chunk*200 + i
			v := n % 20
			at := now.Add(-time.Duration(n) * 4 * time.Minute)
			tps[i] = store.Touchpoint{ID: store.NewID(), TenantID: tn.ID, SourceID: "src", Type: "page_view",
				ClientEventID: fmt.Sprintf("ev-%d", n), OccurredAt: at, ReceivedAt: at, URL: "https://shop.example/",
				VisitorID: fmt.Sprintf("v%d", v), FBCLID: fmt.Sprintf("F%d", v), IP: fmt.Sprintf("203.0.113.%d", v), UserAgent: "UA",
				Consent: "granted", Props: []byte(`{}`)}
			ids = append(ids, store.Identity{TenantID: tn.ID, Kind: store.IdentityEmail, Hash: fmt.Sprintf("EM%d", v),
				VisitorID: fmt.Sprintf("v%d", v), FirstSeen: at, LastSeen: at})
		}
		if _, err := s.WriteTouchpoints(ctx, tps, ids); err != nil {
			t.Fatal(err)
		}
	}
	for v := range 12 {
		ls := lookups(v)
		if err := s.Lookups(ctx, ls); err != nil {
			t.Fatal(err)
		}
		for _, l := range ls[1:4] {
			if len(l.Touchpoints) != 50 {
				t.Fatalf("%s: %d touchpoints, want the limit, 50", l.Kind, len(l.Touchpoints))
			}
		}
		if len(ls[4].Identities) != 1 {
			t.Fatalf("identities: %+v", ls[4].Identities)
		}
	}

	mu.Lock()
	if len(notices) > 0 {
		t.Errorf("the lookups made PostgreSQL send %d notices, want none; the first: %s", len(notices), notices[0])
	}
	mu.Unlock()

	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, `SELECT name, statement, generic_plans, custom_plans FROM pg_prepared_statements
		WHERE (statement LIKE '%FROM touchpoints%' OR statement LIKE '%FROM identities%' OR statement LIKE '%FROM orders%external_id = %')
			AND statement NOT LIKE '%pg_prepared_statements%'`)
	if err != nil {
		t.Fatal(err)
	}
	type prepared struct {
		name, sql       string
		generic, custom int64
	}
	stmts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (p prepared, err error) {
		return p, r.Scan(&p.name, &p.sql, &p.generic, &p.custom)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 5 {
		t.Fatalf("%d prepared lookups, want 5: %+v", len(stmts), stmts)
	}
	var byVisitor string
	for _, p := range stmts {
		if p.custom != 0 || p.generic != 15 {
			t.Errorf("%d custom and %d generic plans, want 0 and 15: %s", p.custom, p.generic, p.sql)
		}
		if strings.Contains(p.sql, "visitor_id = $2") && strings.Contains(p.sql, "FROM touchpoints") {
			byVisitor = p.name
		}
	}
	if byVisitor == "" {
		t.Fatal("no prepared read of touchpoints by visitor")
	}

	// Run under EXPLAIN, the statements use the generic plan too: each must read through an index.
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := conn.Exec(ctx, `RESET plan_cache_mode`); err != nil {
			t.Error(err)
		}
	}()
	for _, p := range stmts {
		var params []string
		if err := conn.QueryRow(ctx, `SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = $1`, p.name).Scan(&params); err != nil {
			t.Fatal(err)
		}
		args := make([]string, len(params))
		for i, typ := range params {
			switch typ {
			case "text":
				args[i] = "'x'"
			case "timestamp with time zone":
				args[i] = "now() - interval '7 days'"
				if i > 0 && params[i-1] == typ {
					args[i] = "now()"
				}
			case "bigint", "integer":
				args[i] = "50"
			default:
				t.Fatalf("parameter %d of %s: type %s", i+1, p.sql, typ)
			}
		}
		if strings.Contains(p.sql, "FROM touchpoints") || strings.Contains(p.sql, "FROM identities") {
			args[0] = "'" + tn.ID + "'"
			if p.name == byVisitor {
				args[1] = "'v3'"
			}
		}
		var out string
		if err := conn.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE `+pgx.Identifier{p.name}.Sanitize()+`(`+strings.Join(args, ", ")+`)`,
			pgx.QueryExecModeSimpleProtocol).Scan(&out); err != nil {
			t.Fatalf("%v: %s", err, p.sql)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("EXPLAIN: %v %s", err, out)
		}
		var walk func(n planNode)
		walk = func(n planNode) {
			if strings.HasPrefix(n.Type, "Seq Scan") || n.Removed+n.JoinRemoved > 0 {
				t.Errorf("%s on %s (%s) threw away %g rows: %s", n.Type, n.Relation, n.Index, n.Removed+n.JoinRemoved, p.sql)
			}
			for _, c := range n.Plans {
				walk(c)
			}
		}
		walk(plans[0].Plan)
		if p.name == byVisitor && plans[0].Plan.Rows != 50 {
			t.Errorf("the read of v3's touchpoints returned %g rows, want 50: %s", plans[0].Plan.Rows, out)
		}
		if t.Failed() {
			t.Logf("plan of %s: %s", p.sql, out)
		}
	}
}

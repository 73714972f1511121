package postgres_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/storetest"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	return teststore.Driver(t, postgres.Open, url)
}

// openMigrated opens a store on a schema of the test's own and migrates it.
func openMigrated(t *testing.T) *postgres.Store {
	t.Helper()
	s := open(t, testenv.Postgres(t))
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, testenv.Postgres(t)) })
}

// TestMigrateConcurrently starts four "replicas" (separate pools) on one fresh schema at once:
// the advisory lock makes them take turns, so all succeed and the schema is current.
// TestTouchpointWritesWithoutPreparedStatements: with a URL that asks pgx for no prepared
// statements, the group commit writes through pgx's query path instead of its own prepared
// statement, with the same results.
func TestTouchpointWritesWithoutPreparedStatements(t *testing.T) {
	for _, mode := range []string{"exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			storetest.RunTouchpointWrites(t, func(t *testing.T) store.Store {
				return open(t, testenv.Postgres(t)+"&default_query_exec_mode="+mode)
			})
		})
	}
}

// TestLookupsWithoutPreparedStatements: the attribution's reads, pipelined in one batch, are
// answered the same when the URL asks for no prepared statements (behind a pooler).
func TestLookupsWithoutPreparedStatements(t *testing.T) {
	for _, mode := range []string{"exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			storetest.RunLookups(t, func(t *testing.T) store.Store {
				return open(t, testenv.Postgres(t)+"&default_query_exec_mode="+mode)
			})
		})
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stores := make([]*postgres.Store, 4)
	for i := range stores {
		stores[i] = open(t, url)
	}
	teststore.MigrateAtOnce(t, ctx, stores)
	// Each migration is recorded exactly once, however many replicas raced.
	var n, distinct int
	if err := stores[0].Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions, want one row per version", n, distinct)
	}
}

func TestMaxConns(t *testing.T) {
	t.Parallel()
	url := testenv.Postgres(t)
	for _, tc := range []struct {
		url  string
		opt  int
		want int32
	}{
		{url, 7, 7},
		{url, 20, 20},
		{url + "&pool_max_conns=3", 7, 3}, // the URL wins
	} {
		st, err := postgres.Open(context.Background(), tc.url, store.WithMaxConns(tc.opt))
		if err != nil {
			t.Fatal(err)
		}
		// The receipt lane's connections are the pool's: a fifth, at most 4, from 5 on.
		lane := st.ReceiptConns()
		wantLane := min(4, tc.want/5)
		if got := st.Pool().Config().MaxConns + lane; got != tc.want || lane != wantLane {
			t.Errorf("MaxConns = %d with a receipt lane of %d, want %d with %d (%s)", got, lane, tc.want, wantLane, tc.url)
		}
		st.Close()
	}
}

// TestReportTotalsBackfill drops the report totals migration (and the later one that adds what
// the orders still bring in, and counts them again) from a store holding orders and applies
// them again: the totals must count the rows already there.
func TestReportTotalsBackfill(t *testing.T) {
	t.Parallel()
	s := open(t, testenv.Postgres(t))
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	storetest.Backfill(t, s, func(ctx context.Context) error {
		_, err := s.Pool().Exec(ctx, `
DROP TABLE order_stats, order_stats_delta, delivery_stats, delivery_stats_delta;
DROP FUNCTION hub_orders_stats, hub_deliveries_stats, hub_quarter CASCADE;
ALTER TABLE orders DROP COLUMN reversed_minor;
DELETE FROM schema_migrations WHERE name IN ('report totals kept on write', 'orders keep what refunds and chargebacks took')`)
		return err
	})
}

// TestGraphURLStripped re-applies the migration that removes the old tenant graph_url setting
// to stored destinations.
func TestGraphURLStripped(t *testing.T) {
	t.Parallel()
	s := open(t, testenv.Postgres(t))
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	storetest.GraphURLStripped(t, s, func(ctx context.Context) error {
		_, err := s.Pool().Exec(ctx, `DELETE FROM schema_migrations WHERE name = $1`, storetest.GraphURLMigration)
		return err
	})
}

// TestTouchpointAbsentExtrasAreNull: the consent signals, platform hashes and iOS click ids
// (gbraid, wbraid) most touchpoints lack are stored as NULL by the group commit's one
// statement, not as empty strings.
func TestTouchpointAbsentExtrasAreNull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openMigrated(t)
	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.CreateSource(ctx, store.Source{TenantID: tn.ID, Name: "site", PublicKey: "pk_null", WebhookToken: "wh_null", AttributionWindow: time.Hour, AttributionModel: store.ModelLastClick})
	if err != nil {
		t.Fatal(err)
	}
	tps := []store.Touchpoint{
		{TenantID: tn.ID, SourceID: src.ID, Type: "page_view", VisitorID: "bare"},
		{TenantID: tn.ID, SourceID: src.ID, Type: "lead", VisitorID: "full", Signals: store.ConsentSignals{AdUserData: "denied"}, GoogleEmailHash: "g",
			WBRAID: "wb"},
	}
	if _, err := s.WriteTouchpoints(ctx, tps, nil); err != nil {
		t.Fatal(err)
	}
	var nulls, full int
	if err := s.Pool().QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE ad_user_data IS NULL AND ad_personalization IS NULL AND analytics_consent IS NULL
			AND google_email_hash IS NULL AND google_phone_hash IS NULL AND tiktok_phone_hash IS NULL AND gbraid IS NULL AND wbraid IS NULL),
		count(*) FILTER (WHERE ad_user_data = 'denied' AND google_email_hash = 'g' AND ad_personalization IS NULL AND wbraid = 'wb' AND gbraid IS NULL)
		FROM touchpoints`).Scan(&nulls, &full); err != nil {
		t.Fatal(err)
	}
	if nulls != 1 || full != 1 {
		t.Errorf("rows all NULL: %d, with values: %d; want 1 and 1", nulls, full)
	}
}

// TestNewPaidOrderWrittenOnce: an order created by a paid event with its attribution
// (OrderEvent.Attribution) is one version of one row, the first tuple of the fresh table's
// first page, where one inserted and then attributed (PutAttribution's UPDATE) leaves a second
// version, with its own index entries (the match is in orders_created and orders_ad, so the
// update is not HOT). The table is the test's own (its own schema), so the tuple ids are
// deterministic.
func TestNewPaidOrderWrittenOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openMigrated(t)
	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	click := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	attr := func(orderID string) store.Attribution {
		return store.Attribution{TenantID: tn.ID, OrderID: orderID, TouchpointID: "tp", Rule: "visitor_id", Confidence: 1,
			Ad: domain.AdRef{Platform: "meta", CampaignID: "c1", AdID: "a1"}, ClickAt: &click}
	}
	event := func(ext string) store.OrderEvent {
		return store.OrderEvent{TenantID: tn.ID, Provider: "hotmart", ExternalID: ext, EventKey: "paid", Status: domain.StatusPaid,
			OccurredAt: time.Now(), AmountMinor: 19700, Currency: "BRL"}
	}
	ctid := func(id string) (tid string, matched bool) {
		t.Helper()
		if err := s.Pool().QueryRow(ctx, `SELECT ctid::text, matched FROM orders WHERE id = $1`, id).Scan(&tid, &matched); err != nil {
			t.Fatal(err)
		}
		return tid, matched
	}

	once := event("once")
	once.NewOrderID = store.NewID()
	a := attr(once.NewOrderID)
	once.Attribution = &a
	if _, ch, err := s.ApplyOrderEvent(ctx, once); err != nil || !ch.Attributed {
		t.Fatalf("ApplyOrderEvent: %+v, %v", ch, err)
	}
	if tid, matched := ctid(once.NewOrderID); tid != "(0,1)" || !matched {
		t.Errorf("order created with its attribution: tuple %s, matched %v; want (0,1) (written once), matched", tid, matched)
	}

	// The way before, for contrast: inserted at (0,2), then its match updated into (0,3).
	o, _, err := s.ApplyOrderEvent(ctx, event("twice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutAttribution(ctx, attr(o.ID)); err != nil {
		t.Fatal(err)
	}
	if tid, matched := ctid(o.ID); tid != "(0,3)" || !matched {
		t.Errorf("order inserted then attributed: tuple %s, matched %v; want (0,3) (a second version), matched", tid, matched)
	}
}

// TestOrderStatements counts the statements the store sends (pgx's tracer), begin and commit
// aside: a new order is not read back after its INSERT, which writes its history row too.
func TestOrderStatements(t *testing.T) {
	t.Parallel()
	s, count := countedStore(t)
	storetest.OrderStatements(t, s, count, true)
}

// TestEraseStatements: an erasure runs as many statements for a person with 300 orders and
// visits as for one with 3.
func TestEraseStatements(t *testing.T) {
	t.Parallel()
	s, count := countedStore(t)
	storetest.EraseStatements(t, s, count)
}

// countedStore is a migrated store of its own and the count of the statements it has sent.
func countedStore(t *testing.T) (*postgres.Store, func() int) {
	tr := &statementCounter{}
	s := teststore.Driver(t, func(ctx context.Context, url string, opts ...store.Option) (*postgres.Store, error) {
		return postgres.OpenTraced(ctx, url, tr, opts...)
	}, testenv.Postgres(t))
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, tr.count
}

type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if sql := strings.ToLower(strings.TrimSpace(d.SQL)); sql != "begin" && sql != "commit" && sql != "rollback" {
		c.n.Add(1)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A transaction's statements may travel in batches (pipeTx): each counts as one.
func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *statementCounter) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: d.SQL})
}

func (c *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *statementCounter) count() int { return int(c.n.Load()) }

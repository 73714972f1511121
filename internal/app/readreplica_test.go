package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestReportsReadTheReadReplica: with DATABASE_READ_URL set, the API's reports and orders CSV
// export read the read replica (a second database, holding other orders than the primary, so
// the answer says which one was read); without it they read the primary. The operations
// /readyz and /metrics say whether the replica answers. When the replica goes down the reports
// read the primary (counted in /metrics) and Hub stays ready; when it is back they read it again.
func TestReportsReadTheReadReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primaryURL, replicaURL := testenv.Postgres(t), testenv.Postgres(t)
	// The stand-in replica is reached through a proxy the test can stop.
	proxy := testenv.StartProxy(t, hostOf(t, replicaURL))
	replicaStore, err := postgres.Open(ctx, replicaURL, store.WithRiverConfig(teststore.QuietRiver))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { replicaStore.Close() })
	if err := replicaStore.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	r := startHubWith(t, "postgres", func(c *config.Config) {
		c.DatabaseURL = primaryURL
		c.DatabaseReadURL = withHost(t, replicaURL, proxy.Addr)
	})
	r.app.reports.(*reportReader).retryAfter = 50 * time.Millisecond
	plain := startHubWith(t, "postgres", func(c *config.Config) { c.DatabaseURL = primaryURL })

	tn, key, err := r.app.Admin.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	src, err := r.app.Admin.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop", Secrets: map[string]string{"hotmart": "hottok"}})
	if err != nil {
		t.Fatal(err)
	}
	// What replication would have copied: the tenant and its source. The orders differ: one on
	// the primary, three on the replica.
	if _, err := replicaStore.Pool().Exec(ctx, `INSERT INTO `+schemaOf(t, replicaURL)+`.tenants SELECT * FROM `+schemaOf(t, primaryURL)+`.tenants;
		INSERT INTO `+schemaOf(t, replicaURL)+`.sources SELECT * FROM `+schemaOf(t, primaryURL)+`.sources`); err != nil {
		t.Fatal(err)
	}
	paid := func(st store.Store, id string) {
		t.Helper()
		if _, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, SourceID: src.ID, Provider: "hotmart", ExternalID: id,
			EventKey: id + "-paid", Status: domain.StatusPaid, OccurredAt: time.Now().Add(-time.Hour), AmountMinor: 100, Currency: "BRL"}); err != nil {
			t.Fatal(err)
		}
	}
	paid(r.app.Store, "P1")
	for _, id := range []string{"R1", "R2", "R3"} {
		paid(replicaStore, id)
	}

	apiGet := func(t *testing.T, base, path string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+key.Plaintext)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	orders := func(t *testing.T, base string) (summary, csvRows int) {
		t.Helper()
		var s report.Summary
		if err := json.Unmarshal([]byte(apiGet(t, base, "/reports/summary")), &s); err != nil {
			t.Fatal(err)
		}
		var a report.Accuracy
		if err := json.Unmarshal([]byte(apiGet(t, base, "/reports/accuracy")), &a); err != nil {
			t.Fatal(err)
		}
		csv := strings.TrimSpace(apiGet(t, base, "/exports/orders.csv"))
		return s.Total.Orders, strings.Count(csv, "\n") // the header line has no row
	}
	opsState := func(t *testing.T) (readiness, string) {
		t.Helper()
		resp, body := get(t, r.ops+"/readyz")
		var rd readiness
		if err := json.Unmarshal([]byte(body), &rd); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("ops /readyz: %d %s (%v)", resp.StatusCode, body, err)
		}
		_, metrics := get(t, r.ops+"/metrics")
		return rd, metrics
	}
	fallbacks := func(metrics string) int {
		m := regexp.MustCompile(`(?m)^hub_db_replica_fallbacks_total (\d+)$`).FindStringSubmatch(metrics)
		if m == nil {
			t.Fatalf("/metrics lacks hub_db_replica_fallbacks_total")
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}

	if s, c := orders(t, plain.base); s != 1 || c != 1 {
		t.Errorf("without DATABASE_READ_URL: summary %d orders, CSV %d rows; want the primary's 1", s, c)
	}
	if _, body := get(t, plain.ops+"/readyz"); strings.Contains(body, "read_replica") {
		t.Errorf("/readyz without a replica mentions one: %s", body)
	}
	if s, c := orders(t, r.base); s != 3 || c != 3 {
		t.Errorf("with DATABASE_READ_URL: summary %d orders, CSV %d rows; want the replica's 3", s, c)
	}
	rd, metrics := opsState(t)
	if rd.ReadReplica == nil || !rd.ReadReplica.Reachable || !strings.Contains(metrics, "hub_db_replica_up 1") || fallbacks(metrics) != 0 {
		t.Errorf("replica up: readyz %+v, metrics:\n%s", rd.ReadReplica, grepMetrics(metrics, "hub_db_replica"))
	}
	// Pages shown after a change read the primary: the order the primary has is listed there.
	if body := apiGet(t, r.base, "/orders"); !strings.Contains(body, `"P1"`) || strings.Contains(body, `"R1"`) {
		t.Errorf("the orders list did not read the primary: %.300s", body)
	}

	proxy.Cut()
	if s, c := orders(t, r.base); s != 1 || c != 1 {
		t.Errorf("replica down: summary %d orders, CSV %d rows; want the primary's 1", s, c)
	}
	rd, metrics = opsState(t)
	if rd.Status != "ready" || rd.ReadReplica == nil || rd.ReadReplica.Reachable || rd.ReadReplica.Error == "" ||
		!strings.Contains(metrics, "hub_db_replica_up 0") || fallbacks(metrics) == 0 {
		t.Errorf("replica down: readyz %+v %+v, metrics:\n%s", rd.Status, rd.ReadReplica, grepMetrics(metrics, "hub_db_replica"))
	}

	proxy.Restore(t)
	waitFor(t, "the reports to read the replica again", 10*time.Second, func() bool {
		s, _ := orders(t, r.base)
		return s == 3
	})
	if rd, _ := opsState(t); rd.ReadReplica == nil || !rd.ReadReplica.Reachable {
		t.Errorf("replica back: readyz %+v", rd.ReadReplica)
	}
}

// TestReadReplicaRefusesWrites: the replica's sessions are read-only, so a write sent to it by
// mistake fails, even on a server (like this stand-in) that would take it.
func TestReadReplicaRefusesWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := testenv.Postgres(t)
	st, err := postgres.Open(ctx, u, store.WithRiverConfig(teststore.QuietRiver))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := postgres.OpenReplica(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	if _, err := rep.ListOrders(ctx, store.OrderFilter{TenantID: "t", Limit: 10}); err != nil {
		t.Fatalf("read: %v", err)
	}
	if _, err := rep.Pool().Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ('x', 'x', now())`); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("write through the replica: %v, want a read-only refusal", err)
	}
}

func grepMetrics(metrics, prefix string) string {
	var out []string
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return u.Hostname() + ":5432"
	}
	return u.Host
}

func withHost(t *testing.T, raw, host string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

func schemaOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}

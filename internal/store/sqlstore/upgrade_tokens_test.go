package sqlstore

import (
	"context"
	"slices"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// TestUpgradeKeepsEachGatewaysURL fills a database as it was before per-gateway webhook
// tokens, then migrates it: every gateway a source used (a secret configured, or an accepted
// delivery for a gateway that needs none) keeps its URL, /v1/webhooks/<provider>/<old source
// token>, for itself alone; a gateway the source never used gets no token (its URL is a 404).
func TestUpgradeKeepsEachGatewaysURL(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, f, begin := migratedUpTo(t, dialect, "webhook tokens per gateway")
			now := f.Time(time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC))
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, f.Rebind(q), args...); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
			}
			exec(`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'acme', $1)`, now)
			for _, s := range [][2]string{{"s1", "wh_old_s1"}, {"s2", "wh_old_s2"}} {
				exec(`INSERT INTO sources (id, tenant_id, name, public_key, webhook_token, allowed_origins, attribution_window_ns,
					attribution_model, cookie_domain, created_at, updated_at)
					VALUES ($1, 't1', $1, $3, $2, '[]', 0, 'last_click', '', $4, $4)`, s[0], s[1], "pk_"+s[0], now)
			}
			// s1: Hotmart and Stripe have secrets; Appmax (no secret) has accepted a delivery;
			// Kiwify was only ever refused. s2: nothing.
			for _, p := range []string{"hotmart", "stripe"} {
				exec(`INSERT INTO gateway_secrets (source_id, provider, tenant_id, ciphertext, updated_at) VALUES ('s1', $1, 't1', 'ct', $2)`, p, now)
			}
			for i, d := range [][2]string{{"appmax", "processed"}, {"appmax", "duplicate"}, {"kiwify", "rejected"}} {
				exec(`INSERT INTO inbox (id, tenant_id, source_id, provider, received_at, headers, query, body, state, error, order_id)
					VALUES ($1, 't1', 's1', $2, $3, '{}', '', $4, $5, '', '')`, "i"+string(rune('0'+i)), d[0], now, []byte("{}"), d[1])
			}

			if err := Migrate(ctx, f, DB{DB: db}, begin); err != nil {
				t.Fatal(err)
			}
			rows, err := db.QueryContext(ctx, `SELECT source_id, provider, token, tenant_id FROM webhook_tokens ORDER BY source_id, provider`)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var src, prov, tok, tenant string
				if err := rows.Scan(&src, &prov, &tok, &tenant); err != nil {
					t.Fatal(err)
				}
				got = append(got, src+" "+prov+" "+tok+" "+tenant)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			want := []string{"s1 appmax wh_old_s1 t1", "s1 hotmart wh_old_s1 t1", "s1 stripe wh_old_s1 t1"}
			if !slices.Equal(got, want) {
				t.Fatalf("webhook tokens after the upgrade:\n got %q\nwant %q", got, want)
			}
			// The old URL of another gateway selects nothing: the lookup is by (token, provider).
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_tokens WHERE token = 'wh_old_s1' AND provider = 'kiwify'`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("kiwify by the old token: %d %v", n, err)
			}
		})
	}
}

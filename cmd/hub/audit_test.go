package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv"
)

// Every operator command that changes a tenant writes an audit entry, as the API and the
// dashboard do: actor "cli:<os user>", the same action names, on either store.
func TestOperatorCommandsAudit(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			env := map[string]string{"HUB_DATA_DIR": t.TempDir(), "HUB_PUBLIC_URL": "https://hub.example.com"}
			if dialect == "postgres" {
				env["DATABASE_URL"], env["HUB_SECRET_KEY"] = testenv.Postgres(t), strings.Repeat("ab", 32)
			}
			getenv := func(k string) string { return env[k] }
			hub := func(args ...string) string {
				t.Helper()
				var out, errOut bytes.Buffer
				if err := run(ctx, args, getenv, &out, &errOut); err != nil {
					t.Fatalf("hub %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
				}
				if strings.Contains(errOut.String(), "audit") {
					t.Errorf("hub %s: %s", strings.Join(args, " "), errOut.String())
				}
				return out.String()
			}
			tenant := field(t, hub("tenant", "create", "--name", "acme"), "tenant ")
			key := field(t, hub("apikey", "create", "--tenant", tenant, "--role", "read_only"), "api key ")
			hub("apikey", "revoke", "--tenant", tenant, "--id", key)
			src := field(t, hub("source", "create", "--tenant", tenant, "--name", "Loja", "--origin", "https://loja.example.com"), "source ")
			hub("source", "rotate-token", "--tenant", tenant, "--source", src, "--provider", "hotmart")
			dst := field(t, hub("destination", "add", "--tenant", tenant, "--type", "meta", "--config", `{"pixel_id":"123"}`, "--credentials", `{"access_token":"EAAx"}`), "destination ")
			hub("link", "create", "--tenant", tenant, "--source", src, "--target", "https://loja.example.com/oferta")
			hub("deliveries", "replay", "--tenant", tenant, "--destination", dst)

			st := openStore(t, getenv)
			defer st.Close()
			entries, err := st.ListAudit(ctx, store.AuditFilter{TenantID: tenant})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				if !strings.HasPrefix(e.Actor, "cli") || e.At.IsZero() {
					t.Errorf("entry %+v: want actor cli and a time", e)
				}
				got = append(got, e.Action+" "+e.Detail)
			}
			slices.Sort(got)
			want := []string{
				"api_key.create key " + key + " role read_only",
				"api_key.revoke key " + key,
				"delivery.replay_dead destination " + dst + ": 0 queued for replay",
				"destination.create destination " + dst + " type meta",
				"source.create source " + src,
				"source.token source " + src + " gateway hotmart",
				"tenant.create tenant " + tenant,
			}
			if len(got) != len(want)+1 || !strings.HasPrefix(got[0], "api_key.create") {
				t.Fatalf("audit entries:\n%s\nwant %d (with link.create)", strings.Join(got, "\n"), len(want)+1)
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("no audit entry %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
			if !slices.ContainsFunc(got, func(s string) bool {
				return strings.HasPrefix(s, "link.create link ") && strings.HasSuffix(s, " source "+src)
			}) {
				t.Errorf("no link.create entry in\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

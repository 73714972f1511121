package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/app"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// `hub deliveries replay` says how many deliveries it queued and which it skipped and why; one
// asked for by id that cannot be sent is an error saying why.
func TestDeliveriesReplayReportsSkips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub, getenv, tenant := inProcess(t)
	out, err := hub("destination", "add", "--tenant", tenant, "--type", "meta", "--config", `{"pixel_id":"123"}`, "--credentials", `{"access_token":"EAAx"}`)
	if err != nil {
		t.Fatal(err)
	}
	destID := field(t, out, "destination ")

	st := openStore(t, getenv)
	src, err := st.CreateSource(ctx, store.Source{ID: store.NewID(), TenantID: tenant, Name: "Loja", PublicKey: "pk_walk", CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	old := time.Now().UTC().Add(-10 * 24 * time.Hour)
	o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tenant, SourceID: src.ID, Provider: "hotmart", ExternalID: "HP-OLD", EventKey: "k",
		Status: domain.StatusPaid, OccurredAt: old, AmountMinor: 100, Currency: "BRL", ReceivedAt: old})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	d, _, err := st.CreateDelivery(ctx, store.Delivery{TenantID: tenant, OrderID: o.ID, DestinationID: destID, EventName: "Purchase",
		EventID: "hotmart:HP-OLD:purchase", State: store.DeliveryDead, Reason: "stale", CreatedAt: old, UpdatedAt: old})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	const why = "this purchase is older than the 7 days Meta Conversions API accepts; it cannot be sent again"
	out, err = hub("deliveries", "replay", "--tenant", tenant, "--id", d.ID)
	if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(out, "0 delivery(ies) queued") {
		t.Fatalf("replay by id: %v\n%s", err, out)
	}
	out, err = hub("deliveries", "replay", "--tenant", tenant, "--destination", destID)
	if err != nil || !strings.Contains(out, "0 delivery(ies) queued") || !strings.Contains(out, "1 delivery(ies) skipped: "+why) {
		t.Fatalf("replay by destination: %v\n%s", err, out)
	}
}

// inProcess runs operator commands in this process (run) against a fresh SQLite data
// directory, after creating the tenant acme: hub returns a command's output (stdout, then
// stderr) and its error, getenv is the environment the commands read.
func inProcess(t *testing.T) (hub func(args ...string) (string, error), getenv func(string) string, tenant string) {
	t.Helper()
	env := map[string]string{"HUB_DATA_DIR": t.TempDir(), "HUB_PUBLIC_URL": "https://hub.example.com"}
	getenv = func(k string) string { return env[k] }
	hub = func(args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, getenv, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := hub("tenant", "create", "--name", "acme")
	if err != nil {
		t.Fatal(err)
	}
	return hub, getenv, field(t, out, "tenant ")
}

// openStore opens the store the commands run with getenv use; the caller closes it (before
// the next command, on SQLite).
func openStore(t *testing.T, getenv func(string) string) store.Store {
	t.Helper()
	cfg, err := config.Load(getenv, nil, app.DeclaredSettings())
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Package storetest is the conformance suite every store.Store implementation passes: the same
// behaviour, field for field, on PostgreSQL and SQLite.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// Open returns a fresh, empty, unmigrated store private to the test; it is closed by the
// caller's cleanup.
type Open func(t *testing.T) store.Store

// Run runs the whole suite. Every subtest opens its own store and runs in parallel.
func Run(t *testing.T, open Open) {
	tests := []storeCase{
		{"Tenants", testTenants},
		{"FirstTenantRace", testFirstTenantRace},
		{"FirstTenantAfterRollback", testFirstTenantAfterRollback},
		{"APIKeys", testAPIKeys},
		{"Sources", testSources},
		{"GatewaySecrets", testGatewaySecrets},
		{"WebhookTokens", testWebhookTokens},
		{"WebhookSource", testWebhookSource},
		{"Destinations", testDestinations},
		{"Links", testLinks},
		{"Touchpoints", testTouchpoints},
		{"TouchpointLookups", testTouchpointLookups},
		{"AdClicksByVisitor", testAdClicksByVisitor},
		{"Lookups", testLookups},
		{"TouchpointPagination", testTouchpointPagination},
		{"Identities", testIdentities},
		{"WriteTouchpoints", testWriteTouchpoints},
		{"WriteTouchpointsText", testWriteTouchpointsText},
		{"Inbox", testInbox},
		{"InboxSweep", testInboxSweep},
		{"InboxScrub", testInboxScrub},
		{"DeliverySweep", testDeliverySweep},
		{"OrderRoundTrip", testOrderRoundTrip},
		{"OrderLifecycle", testOrderLifecycle},
		{"OrderOutOfOrder", testOrderOutOfOrder},
		{"OrderHistory", testOrderHistory},
		{"OrderReversed", testOrderReversed},
		{"OrderChargebackWon", testOrderChargebackWon},
		{"OrderConcurrent", testOrderConcurrent},
		{"OrderSite", testOrderSite},
		{"OrderAlias", testOrderAlias},
		{"ListOrders", testListOrders},
		{"SearchOrders", testSearchOrders},
		{"Attribution", testAttribution},
		{"OrderCreatedAttributed", testOrderCreatedAttributed},
		{"Deliveries", testDeliveries},
		{"TouchpointDeliveries", testTouchpointDeliveries},
		{"DeliveryJob", testDeliveryJob},
		{"UpdateDeliveryIf", testUpdateDeliveryIf},
		{"AttemptWrites", testAttemptWrites},
		{"OutcomeAwaitsItsAttempt", testOutcomeAwaitsItsAttempt},
		{"IdentifierCoverage", testIdentifierCoverage},
		{"DedupCoverage", testDedupCoverage},
		{"Audit", testAudit},
		{"ErasePerson", testErasePerson},
		{"ErasePersonLinked", testErasePersonLinked},
		{"ErasePersonByPhone", testErasePersonByPhone},
		{"ErasePersonDeliveries", testErasePersonDeliveries},
		{"ErasePersonAtSize", testErasePersonAtSize},
		{"PIIRetention", testPIIRetention},
		{"TxRollback", testTxRollback},
		{"TxCommit", testTxCommit},
		{"Heartbeat", testHeartbeat},
		{"Queue", testQueue},
		{"Users", testUsers},
		{"FirstUserRace", testFirstUserRace},
		{"UserRoles", testUserRoles},
		{"UserLanguage", testUserLanguage},
		{"Stats", testStats},
		{"StatsKept", testStatsKept},
		{"AdAccounts", testAdAccounts},
		{"Spend", testSpend},
		{"SpendCampaignDays", testSpendCampaignDays},
		{"SpendReplace", testSpendReplace},
		{"SpendCampaignLevel", testSpendCampaignLevel},
		{"LongAdNames", testLongAdNames},
		{"AdSalesDayEdges", testAdSalesDayEdges},
		{"Alerts", testAlerts},
	}
	t.Run("Migrate", func(t *testing.T) {
		t.Parallel()
		testMigrate(t, open(t))
	})
	runMigrated(t, open, tests)
}

// storeCase is one case of the suite: fn on a migrated store of its own.
type storeCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// runMigrated runs each case in parallel on a store of its own, opened with open and migrated.
func runMigrated(t *testing.T, open Open, cases []storeCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			tc.fn(t, s)
		})
	}
}

// RunTouchpointWrites runs the suite's cases that write touchpoints (a group commit, single
// inserts, every kind of text): for a store opened another way, e.g. PostgreSQL without
// prepared statements.
func RunTouchpointWrites(t *testing.T, open Open) {
	runMigrated(t, open, []storeCase{
		{"Touchpoints", testTouchpoints},
		{"WriteTouchpoints", testWriteTouchpoints},
		{"WriteTouchpointsText", testWriteTouchpointsText},
	})
}

// RunLookups runs the suite's case of Lookups (the attribution's reads sent at once): for a
// store opened another way, e.g. PostgreSQL without prepared statements.
func RunLookups(t *testing.T, open Open) {
	runMigrated(t, open, []storeCase{{"Lookups", testLookups}})
}

// base is a time with nanoseconds, to prove the store keeps microseconds in UTC.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("BRT", -3*3600))

func at(d time.Duration) time.Time { return base.Add(d) }

// micro is what the store gives back for t.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func microPtr(t time.Time) *time.Time { m := micro(t); return &m }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// must(call())(t) returns call's value, failing t on its error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// canon rewrites a JSON document in a canonical form (PostgreSQL's jsonb reorders keys).
func canon(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	if raw == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("canon %s: %v", raw, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isUUIDv7(t *testing.T, id string) {
	t.Helper()
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		t.Errorf("id %q is not a UUIDv7", id)
	}
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

// world is two tenants, each with a source and a destination.
type world struct {
	a, b store.Tenant
	srcA store.Source
	srcB store.Source
	dstA store.Destination
	dstB store.Destination
}

func newWorld(t *testing.T, s store.Store) *world {
	t.Helper()
	ctx := ctxT(t)
	w := &world{}
	w.a = must(s.CreateTenant(ctx, store.Tenant{Name: "A"}))(t)
	w.b = must(s.CreateTenant(ctx, store.Tenant{Name: "B"}))(t)
	w.srcA = must(s.CreateSource(ctx, newSource(w.a.ID, "a")))(t)
	w.srcB = must(s.CreateSource(ctx, newSource(w.b.ID, "b")))(t)
	w.dstA = must(s.CreateDestination(ctx, store.Destination{TenantID: w.a.ID, Type: "meta", Name: "pixel", Enabled: true}))(t)
	w.dstB = must(s.CreateDestination(ctx, store.Destination{TenantID: w.b.ID, Type: "meta", Name: "pixel", Enabled: true}))(t)
	return w
}

func newSource(tenantID, suffix string) store.Source {
	return store.Source{
		TenantID:          tenantID,
		Name:              "shop " + suffix,
		PublicKey:         "pk_" + suffix + "_" + uuid.NewString(),
		WebhookToken:      "wh_" + suffix + "_" + uuid.NewString(),
		AllowedOrigins:    []string{"https://" + suffix + ".example"},
		AttributionWindow: 7 * 24 * time.Hour,
		AttributionModel:  store.ModelLastClick,
	}
}

func (w *world) event(tenantID, external, key string, status domain.OrderStatus, occurred time.Time) store.OrderEvent {
	src := w.srcA.ID
	if tenantID == w.b.ID {
		src = w.srcB.ID
	}
	return store.OrderEvent{
		TenantID:     tenantID,
		SourceID:     src,
		Provider:     "hotmart",
		ExternalID:   external,
		EventKey:     key,
		Status:       status,
		NativeStatus: "NATIVE_" + string(status),
		OccurredAt:   occurred,
		AmountMinor:  19900,
		Currency:     "BRL",
	}
}

func (w *world) order(t *testing.T, s store.Store, tenantID, external string) store.Order {
	t.Helper()
	o, _, err := s.ApplyOrderEvent(ctxT(t), w.event(tenantID, external, "k-"+external, domain.StatusWaitingPayment, at(0)))
	noErr(t, err)
	return o
}

func testMigrate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	noErr(t, s.Ping(ctx))
	if d := s.Dialect(); d != "postgres" && d != "sqlite" {
		t.Errorf("Dialect() = %q", d)
	}
	current, err := s.MigrationStatus(ctx)
	noErr(t, err)
	if current {
		t.Error("MigrationStatus before Migrate: current, want not current")
	}
	noErr(t, s.Migrate(ctx))
	current, err = s.MigrationStatus(ctx)
	noErr(t, err)
	if !current {
		t.Error("MigrationStatus after Migrate: not current")
	}
	noErr(t, s.Migrate(ctx)) // idempotent
	current, err = s.MigrationStatus(ctx)
	noErr(t, err)
	if !current {
		t.Error("MigrationStatus after second Migrate: not current")
	}
}

func testTenants(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := must(s.CreateTenant(ctx, store.Tenant{Name: "Acme", CreatedAt: at(0)}))(t)
	isUUIDv7(t, a.ID)
	equal(t, "created", a, store.Tenant{ID: a.ID, Name: "Acme", TimeZone: store.DefaultTimeZone, CreatedAt: micro(at(0))})
	equal(t, "get", must(s.GetTenant(ctx, a.ID))(t), a)
	noErr(t, s.SetTenantTimeZone(ctx, a.ID, "Europe/Lisbon"))
	a.TimeZone = "Europe/Lisbon"
	equal(t, "time zone set", must(s.GetTenant(ctx, a.ID))(t), a)
	wantErr(t, s.SetTenantTimeZone(ctx, "missing", "UTC"), store.ErrNotFound, "time zone of a missing tenant")
	b := must(s.CreateTenant(ctx, store.Tenant{ID: "tenant-given-id", Name: "Given"}))(t)
	if b.ID != "tenant-given-id" || b.CreatedAt.IsZero() || b.CreatedAt.Location() != time.UTC {
		t.Errorf("created with given id: %+v", b)
	}
	c := must(s.CreateTenant(ctx, store.Tenant{Name: "Later"}))(t)
	list := must(s.ListTenants(ctx))(t)
	equal(t, "list ids", ids(list, func(x store.Tenant) string { return x.ID }), []string{b.ID, c.ID, a.ID})
	_, err := s.CreateTenant(ctx, store.Tenant{ID: a.ID, Name: "dup"})
	wantErr(t, err, store.ErrConflict, "duplicate tenant")
	_, err = s.GetTenant(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "missing tenant")
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	k := must(s.CreateAPIKey(ctx, store.APIKey{
		TenantID: w.a.ID, Name: "ci", Role: store.RoleAdmin, Lookup: "hub_abc", Hash: []byte{1, 2, 3, 0, 255}, CreatedAt: at(0),
	}))(t)
	isUUIDv7(t, k.ID)
	want := store.APIKey{ID: k.ID, TenantID: w.a.ID, Name: "ci", Role: store.RoleAdmin, Lookup: "hub_abc", Hash: []byte{1, 2, 3, 0, 255}, CreatedAt: micro(at(0))}
	equal(t, "created", k, want)
	equal(t, "by lookup", must(s.GetAPIKeyByLookup(ctx, "hub_abc"))(t), want)
	k2 := must(s.CreateAPIKey(ctx, store.APIKey{TenantID: w.a.ID, Name: "ro", Role: store.RoleReadOnly, Lookup: "hub_def", Hash: []byte{9}}))(t)
	must(s.CreateAPIKey(ctx, store.APIKey{TenantID: w.b.ID, Name: "b", Role: store.RoleAdmin, Lookup: "hub_b", Hash: []byte{8}}))(t)
	_, err := s.CreateAPIKey(ctx, store.APIKey{TenantID: w.b.ID, Name: "dup", Role: store.RoleAdmin, Lookup: "hub_abc", Hash: []byte{7}})
	wantErr(t, err, store.ErrConflict, "duplicate lookup")

	noErr(t, s.TouchAPIKey(ctx, k.ID, at(time.Hour)))
	noErr(t, s.RevokeAPIKey(ctx, w.a.ID, k.ID, at(2*time.Hour)))
	noErr(t, s.RevokeAPIKey(ctx, w.a.ID, k.ID, at(3*time.Hour))) // twice: not an error, first kept
	wantErr(t, s.RevokeAPIKey(ctx, w.b.ID, k2.ID, at(0)), store.ErrNotFound, "revoke other tenant's key")
	wantErr(t, s.TouchAPIKey(ctx, "missing", at(0)), store.ErrNotFound, "touch missing key")
	want.LastUsedAt = microPtr(at(time.Hour))
	want.RevokedAt = microPtr(at(2 * time.Hour))
	equal(t, "after touch and revoke", must(s.GetAPIKeyByLookup(ctx, "hub_abc"))(t), want)

	list := must(s.ListAPIKeys(ctx, w.a.ID))(t)
	equal(t, "list ids", ids(list, func(x store.APIKey) string { return x.ID }), []string{k2.ID, k.ID})
	equal(t, "list[1]", list[1], want)
	_, err = s.GetAPIKeyByLookup(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "missing lookup")
}

func testSources(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	in := store.Source{
		TenantID: w.a.ID, Name: "Loja", PublicKey: "pk_1", WebhookToken: "wh_1",
		AllowedOrigins: []string{"https://loja.example", "https://www.loja.example"}, AttributionWindow: 30*24*time.Hour + time.Second,
		AttributionModel: store.ModelFirstClick, CookieDomain: ".loja.example", CreatedAt: at(0), UpdatedAt: at(time.Minute),
	}
	src := must(s.CreateSource(ctx, in))(t)
	isUUIDv7(t, src.ID)
	want := in
	want.ID, want.CreatedAt, want.UpdatedAt = src.ID, micro(at(0)), micro(at(time.Minute))
	equal(t, "created", src, want)
	equal(t, "get", must(s.GetSource(ctx, w.a.ID, src.ID))(t), want)
	equal(t, "by public key", must(s.GetSourceByPublicKey(ctx, "pk_1"))(t), want)

	upd := want
	upd.Name, upd.WebhookToken, upd.AllowedOrigins, upd.AttributionWindow = "Loja 2", "wh_2", nil, time.Hour
	upd.CookieDomain, upd.UpdatedAt = "", at(2*time.Hour)
	noErr(t, s.UpdateSource(ctx, upd))
	upd.UpdatedAt = micro(upd.UpdatedAt)
	equal(t, "updated", must(s.GetSource(ctx, w.a.ID, src.ID))(t), upd)
	other := upd
	other.TenantID = w.b.ID
	wantErr(t, s.UpdateSource(ctx, other), store.ErrNotFound, "update with other tenant")
	_, err := s.GetSource(ctx, w.b.ID, src.ID)
	wantErr(t, err, store.ErrNotFound, "get with other tenant")
	dup := newSource(w.b.ID, "dup")
	dup.WebhookToken = "wh_2"
	_, err = s.CreateSource(ctx, dup)
	wantErr(t, err, store.ErrConflict, "duplicate webhook token")
	_, err = s.CreateSource(ctx, newSource("no-such-tenant", "x"))
	if err == nil {
		t.Error("source of a missing tenant: no error")
	}

	list := must(s.ListSources(ctx, w.a.ID))(t)
	equal(t, "list ids", ids(list, func(x store.Source) string { return x.ID }), []string{src.ID, w.srcA.ID})
	equal(t, "list[0]", list[0], upd)
}

func testGatewaySecrets(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	noErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "stripe", Ciphertext: "c1", UpdatedAt: at(0)}))
	noErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "hotmart", Ciphertext: "h1", UpdatedAt: at(0)}))
	noErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "stripe", Ciphertext: "c2", UpdatedAt: at(time.Hour)}))
	want := store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "stripe", Ciphertext: "c2", UpdatedAt: micro(at(time.Hour))}
	equal(t, "get replaced", must(s.GetGatewaySecret(ctx, w.a.ID, w.srcA.ID, "stripe"))(t), want)
	list := must(s.ListGatewaySecrets(ctx, w.a.ID, w.srcA.ID))(t)
	equal(t, "list providers", ids(list, func(x store.GatewaySecret) string { return x.Provider }), []string{"hotmart", "stripe"})
	equal(t, "list[1]", list[1], want)
	_, err := s.GetGatewaySecret(ctx, w.b.ID, w.srcA.ID, "stripe")
	wantErr(t, err, store.ErrNotFound, "other tenant's secret")
	_, err = s.GetGatewaySecret(ctx, w.a.ID, w.srcA.ID, "kiwify")
	wantErr(t, err, store.ErrNotFound, "missing provider")
	wantErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.b.ID, Provider: "x", Ciphertext: "x"}),
		store.ErrNotFound, "put on other tenant's source")
	if l := must(s.ListGatewaySecrets(ctx, w.b.ID, w.srcA.ID))(t); len(l) != 0 {
		t.Errorf("other tenant lists %d secrets", len(l))
	}

	// Swap: only from the ciphertext expected, only in the tenant; UpdatedAt is kept.
	equal(t, "swap from a stale ciphertext", must(s.SwapGatewaySecret(ctx, w.a.ID, w.srcA.ID, "stripe", "c1", "c3"))(t), false)
	equal(t, "swap in another tenant", must(s.SwapGatewaySecret(ctx, w.b.ID, w.srcA.ID, "stripe", "c2", "c3"))(t), false)
	equal(t, "swap", must(s.SwapGatewaySecret(ctx, w.a.ID, w.srcA.ID, "stripe", "c2", "c3"))(t), true)
	want.Ciphertext = "c3"
	equal(t, "after the swap", must(s.GetGatewaySecret(ctx, w.a.ID, w.srcA.ID, "stripe"))(t), want)
	equal(t, "swap of a missing secret", must(s.SwapGatewaySecret(ctx, w.a.ID, w.srcA.ID, "kiwify", "", "x"))(t), false)

	// The previous secret, kept for a grace period, reads back on every read of the row, and a
	// write without one clears it.
	prev := store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "stripe", Ciphertext: "c4", UpdatedAt: at(2 * time.Hour),
		Previous: "c3", PreviousUntil: at(3 * time.Hour)}
	noErr(t, s.PutGatewaySecret(ctx, prev))
	prev.UpdatedAt, prev.PreviousUntil = micro(prev.UpdatedAt), micro(prev.PreviousUntil)
	equal(t, "get with the previous", must(s.GetGatewaySecret(ctx, w.a.ID, w.srcA.ID, "stripe"))(t), prev)
	equal(t, "list with the previous", must(s.ListGatewaySecrets(ctx, w.a.ID, w.srcA.ID))(t)[1], prev)
	noErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "stripe", Ciphertext: "c5", UpdatedAt: at(4 * time.Hour)}))
	equal(t, "previous cleared", must(s.GetGatewaySecret(ctx, w.a.ID, w.srcA.ID, "stripe"))(t),
		store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "stripe", Ciphertext: "c5", UpdatedAt: micro(at(4 * time.Hour))})
}

// testWebhookSource checks GetWebhookSource against the three reads it replaces, in every state
// a gateway can be in: no secret, a secret, a secret replaced, a token rotated away, another
// provider's token, and another tenant's source with the same provider.
func testWebhookSource(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	// What the three separate reads say, in the joined read's shape.
	separate := func(provider, token string) (store.WebhookSource, error) {
		tok, err := s.GetWebhookToken(ctx, provider, token)
		if err != nil {
			return store.WebhookSource{}, err
		}
		ws := store.WebhookSource{Token: tok, Source: must(s.GetSource(ctx, tok.TenantID, tok.SourceID))(t)}
		if gs, err := s.GetGatewaySecret(ctx, tok.TenantID, tok.SourceID, provider); err == nil {
			ws.Secret = &gs
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.WebhookSource{}, err
		}
		return ws, nil
	}
	check := func(what, provider, token string, wantCiphertext string) {
		t.Helper()
		got := must(s.GetWebhookSource(ctx, provider, token))(t)
		equal(t, what, got, must(separate(provider, token))(t))
		switch {
		case wantCiphertext == "" && got.Secret != nil:
			t.Errorf("%s: secret %q, want none", what, got.Secret.Ciphertext)
		case wantCiphertext != "" && (got.Secret == nil || got.Secret.Ciphertext != wantCiphertext):
			t.Errorf("%s: secret %+v, want ciphertext %q", what, got.Secret, wantCiphertext)
		}
	}
	noErr(t, s.PutWebhookToken(ctx, store.WebhookToken{Token: "wh_hot1", TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart", CreatedAt: at(0)}))
	noErr(t, s.PutWebhookToken(ctx, store.WebhookToken{Token: "wh_app1", TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "appmax", CreatedAt: at(0)}))
	noErr(t, s.PutWebhookToken(ctx, store.WebhookToken{Token: "wh_hotB", TenantID: w.b.ID, SourceID: w.srcB.ID, Provider: "hotmart", CreatedAt: at(0)}))
	check("no secret yet", "hotmart", "wh_hot1", "")
	got := must(s.GetWebhookSource(ctx, "hotmart", "wh_hot1"))(t)
	if got.Source.ID != w.srcA.ID || got.Source.TenantID != w.a.ID || got.Source.AttributionWindow != w.srcA.AttributionWindow ||
		len(got.Source.AllowedOrigins) != 1 || got.Source.AllowedOrigins[0] != w.srcA.AllowedOrigins[0] {
		t.Errorf("source %+v, want %+v", got.Source, w.srcA)
	}

	// Another tenant's source has a secret for the same provider: never read with A's token.
	noErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcB.ID, TenantID: w.b.ID, Provider: "hotmart", Ciphertext: "b1", UpdatedAt: at(0)}))
	check("other tenant's secret only", "hotmart", "wh_hot1", "")
	check("tenant B", "hotmart", "wh_hotB", "b1")
	// Another provider's secret of the same source is not this gateway's.
	noErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "appmax", Ciphertext: "x1", UpdatedAt: at(0)}))
	check("another provider's secret only", "hotmart", "wh_hot1", "")

	noErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "hotmart", Ciphertext: "h1", UpdatedAt: at(0)}))
	check("secret set", "hotmart", "wh_hot1", "h1")
	check("the other gateway", "appmax", "wh_app1", "x1")
	// A secret replaced is read at once (nothing cached).
	noErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "hotmart", Ciphertext: "h2", UpdatedAt: at(time.Hour)}))
	check("secret replaced", "hotmart", "wh_hot1", "h2")
	// With the previous one kept (read as GetGatewaySecret reads it: equal above).
	noErr(t, s.PutGatewaySecret(ctx, store.GatewaySecret{SourceID: w.srcA.ID, TenantID: w.a.ID, Provider: "hotmart", Ciphertext: "h2",
		UpdatedAt: at(time.Hour), Previous: "h1", PreviousUntil: at(2 * time.Hour)}))
	check("secret replaced, the previous kept", "hotmart", "wh_hot1", "h2")
	if got := must(s.GetWebhookSource(ctx, "hotmart", "wh_hot1"))(t); got.Secret == nil || got.Secret.Previous != "h1" || !got.Secret.PreviousUntil.Equal(micro(at(2*time.Hour))) {
		t.Errorf("the previous secret: %+v", got.Secret)
	}
	// A source updated is read at once.
	upd := w.srcA
	upd.Name, upd.AttributionWindow, upd.UpdatedAt = "renamed", 24*time.Hour, at(2*time.Hour)
	noErr(t, s.UpdateSource(ctx, upd))
	check("source updated", "hotmart", "wh_hot1", "h2")
	if got := must(s.GetWebhookSource(ctx, "hotmart", "wh_hot1"))(t); got.Source.Name != "renamed" || got.Source.AttributionWindow != 24*time.Hour {
		t.Errorf("after the update: source %+v", got.Source)
	}

	// A token selects its own provider only, and a rotated-away token nothing.
	for _, c := range []struct{ what, provider, token string }{
		{"another provider's token", "appmax", "wh_hot1"},
		{"unknown token", "hotmart", "wh_nope"},
	} {
		_, err := s.GetWebhookSource(ctx, c.provider, c.token)
		wantErr(t, err, store.ErrNotFound, c.what)
	}
	noErr(t, s.PutWebhookToken(ctx, store.WebhookToken{Token: "wh_hot2", TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart", CreatedAt: at(time.Hour)}))
	_, err := s.GetWebhookSource(ctx, "hotmart", "wh_hot1")
	wantErr(t, err, store.ErrNotFound, "rotated-away token")
	check("rotated token", "hotmart", "wh_hot2", "h2")
}

func testDestinations(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	in := store.Destination{
		TenantID: w.a.ID, Type: "ga4", Name: "GA", Config: json.RawMessage(`{"measurement_id":"G-1","events":["Purchase"],"a":1}`),
		Credentials: "enc:xyz", Enabled: true, Health: store.DestinationHealth{State: "healthy", Reason: "ok", CheckedAt: at(0)},
		CreatedAt: at(0), UpdatedAt: at(0),
	}
	d := must(s.CreateDestination(ctx, in))(t)
	isUUIDv7(t, d.ID)
	want := in
	want.ID, want.CreatedAt, want.UpdatedAt, want.Health.CheckedAt = d.ID, micro(at(0)), micro(at(0)), micro(at(0))
	got := must(s.GetDestination(ctx, w.a.ID, d.ID))(t)
	got.Config = canon(t, got.Config)
	want.Config = canon(t, want.Config)
	equal(t, "get", got, want)

	upd := want
	upd.Name, upd.Config, upd.Credentials, upd.Enabled, upd.UpdatedAt = "GA 2", json.RawMessage(`{"measurement_id":"G-2"}`), "enc:2", false, at(time.Hour)
	noErr(t, s.UpdateDestination(ctx, upd))
	h := store.DestinationHealth{State: "unhealthy", Reason: "401 from platform", CheckedAt: at(2 * time.Hour)}
	noErr(t, s.SetDestinationHealth(ctx, w.a.ID, d.ID, h))
	upd.UpdatedAt = micro(upd.UpdatedAt)
	upd.Health = store.DestinationHealth{State: h.State, Reason: h.Reason, CheckedAt: micro(h.CheckedAt)}
	noErr(t, s.SetDestinationTestAccepted(ctx, w.a.ID, d.ID, at(3*time.Hour)))
	upd.TestAcceptedAt = new(micro(at(3 * time.Hour)))
	wantErr(t, s.SetDestinationTestAccepted(ctx, w.b.ID, d.ID, at(3*time.Hour)), store.ErrNotFound, "test accepted, other tenant")
	got = must(s.GetDestination(ctx, w.a.ID, d.ID))(t)
	got.Config = canon(t, got.Config)
	upd.Config = canon(t, upd.Config)
	equal(t, "updated", got, upd)

	noConfig := must(s.CreateDestination(ctx, store.Destination{TenantID: w.a.ID, Type: "webhook", Name: "hook"}))(t)
	if g := must(s.GetDestination(ctx, w.a.ID, noConfig.ID))(t); g.Config != nil || g.Health.State != "unknown" {
		t.Errorf("destination without config: config %q, health %q", g.Config, g.Health.State)
	}
	other := upd
	other.TenantID = w.b.ID
	wantErr(t, s.UpdateDestination(ctx, other), store.ErrNotFound, "update other tenant")
	wantErr(t, s.SetDestinationHealth(ctx, w.b.ID, d.ID, h), store.ErrNotFound, "health other tenant")
	_, err := s.GetDestination(ctx, w.b.ID, d.ID)
	wantErr(t, err, store.ErrNotFound, "get other tenant")
	list := must(s.ListDestinations(ctx, w.a.ID))(t)
	equal(t, "list ids", ids(list, func(x store.Destination) string { return x.ID }), []string{noConfig.ID, d.ID, w.dstA.ID})

	// ListDestinationsLater in a transaction: the list ListDestinations reads, answered before
	// or after the transaction's next statements (and without one, by itself); other tenants'
	// rows never.
	err = s.Tx(ctx, func(tx store.Tx) error {
		first := tx.ListDestinationsLater(ctx, w.a.ID)
		alone := tx.ListDestinationsLater(ctx, w.b.ID)
		if _, err := tx.GetDestination(ctx, w.a.ID, d.ID); err != nil {
			return err
		}
		got := must(first())(t)
		equal(t, "later list ids", ids(got, func(x store.Destination) string { return x.ID }), []string{noConfig.ID, d.ID, w.dstA.ID})
		gotB := must(alone())(t)
		equal(t, "later list of tenant b", ids(gotB, func(x store.Destination) string { return x.ID }),
			ids(must(s.ListDestinations(ctx, w.b.ID))(t), func(x store.Destination) string { return x.ID }))
		unsent := tx.ListDestinationsLater(ctx, w.a.ID)
		equal(t, "later list, sent by itself", len(must(unsent())(t)), 3)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Swap: only from the credentials expected, only in the tenant; nothing else changes.
	equal(t, "swap from stale credentials", must(s.SwapDestinationCredentials(ctx, w.a.ID, d.ID, "enc:xyz", "enc:3"))(t), false)
	equal(t, "swap in another tenant", must(s.SwapDestinationCredentials(ctx, w.b.ID, d.ID, "enc:2", "enc:3"))(t), false)
	equal(t, "swap", must(s.SwapDestinationCredentials(ctx, w.a.ID, d.ID, "enc:2", "enc:3"))(t), true)
	upd.Credentials = "enc:3"
	got = must(s.GetDestination(ctx, w.a.ID, d.ID))(t)
	got.Config = canon(t, got.Config)
	equal(t, "after the swap", got, upd)
}

func testLinks(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	src2 := must(s.CreateSource(ctx, newSource(w.a.ID, "a2")))(t)
	l1 := must(s.CreateLink(ctx, store.Link{Code: "abc", TenantID: w.a.ID, SourceID: w.srcA.ID, Target: "https://a.example/?x=1", CreatedAt: at(0)}))(t)
	equal(t, "created", l1, store.Link{Code: "abc", TenantID: w.a.ID, SourceID: w.srcA.ID, Target: "https://a.example/?x=1", CreatedAt: micro(at(0))})
	l2 := must(s.CreateLink(ctx, store.Link{Code: "def", TenantID: w.a.ID, SourceID: src2.ID, Target: "https://a2.example", CreatedAt: at(time.Hour)}))(t)
	must(s.CreateLink(ctx, store.Link{Code: "ghi", TenantID: w.b.ID, SourceID: w.srcB.ID, Target: "https://b.example"}))(t)
	equal(t, "by code", must(s.GetLinkByCode(ctx, "abc"))(t), l1)
	_, err := s.CreateLink(ctx, store.Link{Code: "abc", TenantID: w.b.ID, SourceID: w.srcB.ID, Target: "x"})
	wantErr(t, err, store.ErrConflict, "duplicate code")
	_, err = s.CreateLink(ctx, store.Link{TenantID: w.a.ID, SourceID: w.srcA.ID, Target: "x"})
	if err == nil {
		t.Error("link without code: no error")
	}
	_, err = s.GetLinkByCode(ctx, "zzz")
	wantErr(t, err, store.ErrNotFound, "missing code")
	equal(t, "list all", must(s.ListLinks(ctx, w.a.ID, ""))(t), []store.Link{l2, l1})
	equal(t, "list source", must(s.ListLinks(ctx, w.a.ID, w.srcA.ID))(t), []store.Link{l1})
	if l := must(s.ListLinks(ctx, w.b.ID, w.srcA.ID))(t); len(l) != 0 {
		t.Errorf("other tenant lists %d links", len(l))
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	var want []store.AuditEntry
	for i := range 5 {
		a := must(s.InsertAudit(ctx, store.AuditEntry{TenantID: w.a.ID, Actor: "key:1", Action: "source.update", Detail: fmt.Sprint(i), At: at(time.Duration(i) * time.Second)}))(t)
		isUUIDv7(t, a.ID)
		want = append([]store.AuditEntry{{ID: a.ID, TenantID: w.a.ID, Actor: "key:1", Action: "source.update", Detail: fmt.Sprint(i), At: micro(at(time.Duration(i) * time.Second))}}, want...)
	}
	must(s.InsertAudit(ctx, store.AuditEntry{TenantID: w.b.ID, Actor: "x", Action: "y"}))(t)
	page1 := must(s.ListAudit(ctx, store.AuditFilter{TenantID: w.a.ID, Limit: 3}))(t)
	equal(t, "page 1", page1, want[:3])
	page2 := must(s.ListAudit(ctx, store.AuditFilter{TenantID: w.a.ID, Limit: 3, After: page1[2].ID}))(t)
	equal(t, "page 2", page2, want[3:])
}

func testWebhookTokens(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	hot := store.WebhookToken{Token: "wh_hot1", TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart", CreatedAt: at(0)}
	noErr(t, s.PutWebhookToken(ctx, hot))
	noErr(t, s.PutWebhookToken(ctx, store.WebhookToken{Token: "wh_app1", TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "appmax", CreatedAt: at(0)}))
	hot.CreatedAt = micro(hot.CreatedAt)
	equal(t, "get", must(s.GetWebhookToken(ctx, "hotmart", "wh_hot1"))(t), hot)
	// A token selects its own provider only.
	_, err := s.GetWebhookToken(ctx, "appmax", "wh_hot1")
	wantErr(t, err, store.ErrNotFound, "another provider's token")
	_, err = s.GetWebhookToken(ctx, "hotmart", "wh_app1")
	wantErr(t, err, store.ErrNotFound, "another provider's token")

	// Rotation replaces the token: the old one selects nothing at once.
	rot := hot
	rot.Token, rot.CreatedAt = "wh_hot2", at(time.Hour)
	noErr(t, s.PutWebhookToken(ctx, rot))
	_, err = s.GetWebhookToken(ctx, "hotmart", "wh_hot1")
	wantErr(t, err, store.ErrNotFound, "rotated-away token")
	rot.CreatedAt = micro(rot.CreatedAt)
	equal(t, "get rotated", must(s.GetWebhookToken(ctx, "hotmart", "wh_hot2"))(t), rot)
	list := must(s.ListWebhookTokens(ctx, w.a.ID, w.srcA.ID))(t)
	equal(t, "list providers", ids(list, func(x store.WebhookToken) string { return x.Provider }), []string{"appmax", "hotmart"})
	equal(t, "list[1]", list[1], rot)

	// The same token may serve two providers of one source (the migrated source token), but
	// never one provider twice.
	noErr(t, s.PutWebhookToken(ctx, store.WebhookToken{Token: "wh_hot2", TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "kiwify"}))
	wantErr(t, s.PutWebhookToken(ctx, store.WebhookToken{Token: "wh_hot2", TenantID: w.b.ID, SourceID: w.srcB.ID, Provider: "hotmart"}),
		store.ErrConflict, "a provider's token taken by another source")

	// Tenant isolation.
	wantErr(t, s.PutWebhookToken(ctx, store.WebhookToken{Token: "wh_x", TenantID: w.b.ID, SourceID: w.srcA.ID, Provider: "stripe"}),
		store.ErrNotFound, "put on other tenant's source")
	if l := must(s.ListWebhookTokens(ctx, w.b.ID, w.srcA.ID))(t); len(l) != 0 {
		t.Errorf("other tenant lists %d tokens", len(l))
	}
}

package storetest

import (
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

func newAdAccount(tenantID, external string) store.AdAccount {
	return store.AdAccount{TenantID: tenantID, Platform: "meta", ExternalID: external, Name: "Loja " + external,
		Currency: "BRL", TimeZone: "America/Sao_Paulo", Credentials: "enc:" + external}
}

// testAdAccounts: an account round-trips field for field, its import state and credentials
// change on their own, it is invisible and unwritable to another tenant, one platform account
// is connected once per tenant, and lists are newest first.
func testAdAccounts(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	in := newAdAccount(w.a.ID, "111")
	in.CreatedAt, in.UpdatedAt = at(0), at(0)
	a := must(s.CreateAdAccount(ctx, in))(t)
	isUUIDv7(t, a.ID)
	want := in
	want.ID, want.CreatedAt, want.UpdatedAt = a.ID, micro(at(0)), micro(at(0))
	equal(t, "get", must(s.GetAdAccount(ctx, w.a.ID, a.ID))(t), want)

	st := store.AdAccountImport{BackfilledThrough: "2026-01-01", BackfillDone: true, LastSuccessAt: microPtr(at(time.Hour)),
		LastAttemptAt: microPtr(at(2 * time.Hour)), LastError: "O token expirou", RetryAt: microPtr(at(3 * time.Hour)),
		Paused: true, RevisedAt: microPtr(at(4 * time.Hour))}
	noErr(t, s.SetAdAccountImport(ctx, w.a.ID, a.ID, st))
	want.Import = st
	equal(t, "import state", must(s.GetAdAccount(ctx, w.a.ID, a.ID))(t), want)
	// Clearing sets the optional times back to nil.
	noErr(t, s.SetAdAccountImport(ctx, w.a.ID, a.ID, store.AdAccountImport{BackfilledThrough: "2026-01-01"}))
	want.Import = store.AdAccountImport{BackfilledThrough: "2026-01-01"}
	equal(t, "cleared import state", must(s.GetAdAccount(ctx, w.a.ID, a.ID))(t), want)

	noErr(t, s.UpdateAdAccountCredentials(ctx, w.a.ID, a.ID, "enc:new", at(5*time.Hour)))
	want.Credentials, want.UpdatedAt = "enc:new", micro(at(5*time.Hour))
	equal(t, "credentials updated", must(s.GetAdAccount(ctx, w.a.ID, a.ID))(t), want)
	if ok := must(s.SwapAdAccountCredentials(ctx, w.a.ID, a.ID, "enc:old", "enc:x"))(t); ok {
		t.Error("swap replaced credentials that had changed")
	}
	if ok := must(s.SwapAdAccountCredentials(ctx, w.a.ID, a.ID, "enc:new", "enc:resealed"))(t); !ok {
		t.Error("swap did not replace the credentials it was given")
	}
	want.Credentials = "enc:resealed"
	equal(t, "swapped (UpdatedAt kept)", must(s.GetAdAccount(ctx, w.a.ID, a.ID))(t), want)

	// Tenant isolation.
	_, err := s.GetAdAccount(ctx, w.b.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "get other tenant")
	wantErr(t, s.SetAdAccountImport(ctx, w.b.ID, a.ID, st), store.ErrNotFound, "set import other tenant")
	wantErr(t, s.UpdateAdAccountCredentials(ctx, w.b.ID, a.ID, "enc:b", time.Time{}), store.ErrNotFound, "credentials other tenant")
	if ok, err := s.SwapAdAccountCredentials(ctx, w.b.ID, a.ID, "enc:resealed", "enc:b"); ok || err != nil {
		t.Errorf("swap other tenant: %v, %v", ok, err)
	}
	wantErr(t, s.DeleteAdAccount(ctx, w.b.ID, a.ID), store.ErrNotFound, "delete other tenant")
	if got := must(s.ListAdAccounts(ctx, w.b.ID))(t); len(got) != 0 {
		t.Errorf("other tenant lists %d accounts", len(got))
	}

	// One platform account once per tenant; another tenant may connect it too.
	_, err = s.CreateAdAccount(ctx, newAdAccount(w.a.ID, "111"))
	wantErr(t, err, store.ErrConflict, "same account twice")
	b := must(s.CreateAdAccount(ctx, newAdAccount(w.b.ID, "111")))(t)
	second := must(s.CreateAdAccount(ctx, newAdAccount(w.a.ID, "222")))(t)

	equal(t, "list", ids(must(s.ListAdAccounts(ctx, w.a.ID))(t), func(a store.AdAccount) string { return a.ID }), []string{second.ID, a.ID})
	equal(t, "list all", ids(must(s.ListAllAdAccounts(ctx))(t), func(a store.AdAccount) string { return a.ID }), []string{second.ID, b.ID, a.ID})
}

func spendRow(a store.AdAccount, day, ad string, micros int64) store.SpendRow {
	return store.SpendRow{TenantID: a.TenantID, AccountID: a.ID, Platform: a.Platform, Date: day,
		CampaignID: "c1", CampaignName: "Black Friday", AdSetID: "s1", AdSetName: "Lookalike", AdID: ad, AdName: "Vídeo " + ad,
		Currency: a.Currency, SpendMicros: micros, Impressions: micros / 1000, Clicks: micros / 100000}
}

// testSpend: a re-imported row replaces the day's figures (never adds), rows list by day,
// account, campaign, ad set and ad within a tenant's days, a row for another tenant's account
// is refused without writing anything, and deleting an account deletes its spend.
func testSpend(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	a := must(s.CreateAdAccount(ctx, newAdAccount(w.a.ID, "111")))(t)
	a2 := must(s.CreateAdAccount(ctx, newAdAccount(w.a.ID, "222")))(t)
	b := must(s.CreateAdAccount(ctx, newAdAccount(w.b.ID, "111")))(t)

	first := []store.SpendRow{
		spendRow(a, "2026-03-02", "9", 5_000_000),
		spendRow(a, "2026-03-01", "9", 1_000_000),
		spendRow(a2, "2026-03-01", "1", 7_000_000),
		spendRow(a, "2026-03-01", "10", 2_000_000),
	}
	for i := range first {
		first[i].ImportedAt = at(0)
	}
	if n := must(s.UpsertSpend(ctx, first))(t); n != 4 {
		t.Errorf("upserted %d, want 4", n)
	}
	if n := must(s.UpsertSpend(ctx, []store.SpendRow{spendRow(b, "2026-03-01", "9", 99_000_000)}))(t); n != 1 {
		t.Errorf("other tenant upserted %d, want 1", n)
	}
	// The platform revised 2026-03-01 for ad 9 (and renamed it): the row is replaced.
	revised := spendRow(a, "2026-03-01", "9", 1_500_000)
	revised.AdName, revised.ImportedAt = "Vídeo 9 (novo)", at(time.Hour)
	if n := must(s.UpsertSpend(ctx, []store.SpendRow{revised, revised}))(t); n != 2 {
		t.Errorf("re-import wrote %d, want 2", n)
	}

	fix := func(r store.SpendRow) store.SpendRow { r.ImportedAt = micro(r.ImportedAt); return r }
	all := must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.a.ID}))(t)
	wantAll := []store.SpendRow{fix(first[3]), fix(revised), fix(first[2]), fix(first[0])}
	if a.ID > a2.ID {
		wantAll = []store.SpendRow{fix(first[2]), fix(first[3]), fix(revised), fix(first[0])}
	}
	equal(t, "list (revised replaced, not added)", all, wantAll)
	var total int64
	for _, r := range all {
		total += r.SpendMicros
	}
	if total != 5_000_000+1_500_000+7_000_000+2_000_000 {
		t.Errorf("total spend %d: a re-import added instead of replacing", total)
	}

	equal(t, "one account, one day", must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.a.ID, AccountID: a.ID,
		Since: "2026-03-02", Until: "2026-03-02"}))(t), []store.SpendRow{fix(first[0])})
	equal(t, "until", len(must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.a.ID, Until: "2026-03-01"}))(t)), 3)
	equal(t, "other tenant's account by id", len(must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.b.ID, AccountID: a.ID}))(t)), 0)
	if got := must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.b.ID}))(t); len(got) != 1 || got[0].SpendMicros != 99_000_000 {
		t.Errorf("other tenant's spend: %+v", got)
	}

	// A row for another tenant's account is refused, and the batch it came in is not written.
	stray := spendRow(b, "2026-03-05", "9", 1)
	stray.TenantID = w.a.ID
	_, err := s.UpsertSpend(ctx, []store.SpendRow{spendRow(a, "2026-03-05", "9", 1), stray})
	wantErr(t, err, store.ErrNotFound, "upsert into another tenant's account")
	if got := must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.a.ID, Since: "2026-03-05"}))(t); len(got) != 0 {
		t.Errorf("a refused batch wrote %d rows", len(got))
	}

	// Deleting an account deletes its spend, and nothing else.
	noErr(t, s.DeleteAdAccount(ctx, w.a.ID, a.ID))
	_, err = s.GetAdAccount(ctx, w.a.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "get deleted")
	equal(t, "after delete", must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.a.ID}))(t), []store.SpendRow{fix(first[2])})
	if got := must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.b.ID}))(t); len(got) != 1 {
		t.Errorf("deleting tenant A's account removed tenant B's spend")
	}
	wantErr(t, s.DeleteAdAccount(ctx, w.a.ID, a.ID), store.ErrNotFound, "delete twice")
	_, err = s.UpsertSpend(ctx, []store.SpendRow{spendRow(a, "2026-03-01", "9", 1)})
	wantErr(t, err, store.ErrNotFound, "upsert into a deleted account")
}

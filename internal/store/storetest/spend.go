package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/domain"
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

// testSpendCampaignDays: the spend per campaign and day that UpsertSpend keeps for the
// Campaigns report equals a sum from scratch of the spend rows after upserts, revisions (a
// day's figures replaced, an ad moved to another campaign and renamed) and an account's
// deletion, per campaign, per day and both, and for one campaign.
func testSpendCampaignDays(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	a := must(s.CreateAdAccount(ctx, newAdAccount(w.a.ID, "111")))(t)
	usd := newAdAccount(w.a.ID, "222")
	usd.Currency = "USD"
	a2 := must(s.CreateAdAccount(ctx, usd))(t)
	b := must(s.CreateAdAccount(ctx, newAdAccount(w.b.ID, "111")))(t)
	row := func(acc store.AdAccount, day, campaign, ad string, micros int64) store.SpendRow {
		r := spendRow(acc, day, ad, micros)
		r.CampaignID, r.CampaignName = campaign, "Campanha "+campaign
		return r
	}
	type key struct{ day, platform, currency, campaign string }
	check := func(step string) {
		t.Helper()
		// From scratch: every spend row of the tenant, summed here.
		want := map[key]store.SpendByAdRow{}
		for _, r := range must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.a.ID}))(t) {
			if r.Date < "2026-03-01" || r.Date > "2026-03-03" {
				continue
			}
			for _, k := range []key{{r.Date, r.Platform, r.Currency, r.CampaignID}, {"", r.Platform, r.Currency, r.CampaignID},
				{r.Date, r.Platform, r.Currency, "*"}, {"", r.Platform, r.Currency, "*"}} {
				cur := want[k]
				cur.SpendMicros += r.SpendMicros
				cur.Impressions += r.Impressions
				cur.Clicks += r.Clicks
				want[k] = cur
			}
		}
		for _, f := range []store.SpendByAdFilter{{Campaigns: true, Days: true}, {Campaigns: true}, {Days: true}, {},
			{Campaigns: true, Days: true, CampaignID: "c1"}, {Days: true, CampaignID: "c2"}} {
			f.TenantID, f.Since, f.Until = w.a.ID, "2026-03-01", "2026-03-03"
			got := map[key]store.SpendByAdRow{}
			for _, r := range must(s.SpendByAd(ctx, f))(t) {
				k := key{r.Date, r.Platform, r.Currency, r.CampaignID}
				if !f.Campaigns {
					k.campaign = "*"
				}
				if _, dup := got[k]; dup {
					t.Errorf("%s: %+v: two rows for %v", step, f, k)
				}
				if f.Campaigns && r.CampaignName != "Campanha "+r.CampaignID {
					t.Errorf("%s: %+v: campaign %s named %q", step, f, r.CampaignID, r.CampaignName)
				}
				got[k] = store.SpendByAdRow{SpendMicros: r.SpendMicros, Impressions: r.Impressions, Clicks: r.Clicks}
			}
			wantF := map[key]store.SpendByAdRow{}
			for k, v := range want {
				if (k.day != "") != f.Days || (k.campaign != "*") != f.Campaigns {
					continue
				}
				if f.CampaignID != "" && k.campaign != f.CampaignID {
					continue
				}
				wantF[k] = v
			}
			if f.CampaignID != "" && !f.Campaigns {
				// One campaign's days: the from-scratch sum of that campaign only.
				wantF = map[key]store.SpendByAdRow{}
				for k, v := range want {
					if k.day != "" && k.campaign == f.CampaignID {
						wantF[key{k.day, k.platform, k.currency, "*"}] = v
					}
				}
			}
			equal(t, step+": "+fmt.Sprintf("%+v", f), got, wantF)
		}
	}

	must(s.UpsertSpend(ctx, []store.SpendRow{
		row(a, "2026-03-01", "c1", "1", 1_000_000), row(a, "2026-03-01", "c1", "2", 2_000_000),
		row(a, "2026-03-01", "c2", "3", 4_000_000), row(a, "2026-03-02", "c1", "1", 8_000_000),
		row(a, "2026-03-03", "c2", "3", 16_000_000), row(a, "2026-03-04", "c2", "3", 32_000_000),
		row(a2, "2026-03-01", "c1", "9", 64_000_000), row(a2, "2026-03-02", "c3", "8", 128_000_000),
	}))(t)
	must(s.UpsertSpend(ctx, []store.SpendRow{row(b, "2026-03-01", "c1", "1", 256_000_000)}))(t)
	check("upserted")

	// The platform revised 2026-03-01: ad 1's figures replaced, ad 2 moved to campaign c2.
	moved := row(a, "2026-03-01", "c2", "2", 3_000_000)
	must(s.UpsertSpend(ctx, []store.SpendRow{row(a, "2026-03-01", "c1", "1", 1_500_000), moved}))(t)
	check("revised")
	got := must(s.SpendByAd(ctx, store.SpendByAdFilter{TenantID: w.a.ID, Since: "2026-03-01", Until: "2026-03-01", Campaigns: true}))(t)
	var c1 int64
	for _, r := range got {
		if r.CampaignID == "c1" && r.Currency == "BRL" {
			c1 = r.SpendMicros
		}
	}
	if c1 != 1_500_000 {
		t.Errorf("c1 on 2026-03-01 after the revision = %d, want 1500000 (replaced, ad 2 moved out)", c1)
	}

	// A refused batch leaves the sums as they were.
	stray := row(b, "2026-03-02", "c1", "1", 1)
	stray.TenantID = w.a.ID
	_, err := s.UpsertSpend(ctx, []store.SpendRow{row(a, "2026-03-02", "c1", "1", 1), stray})
	wantErr(t, err, store.ErrNotFound, "upsert into another tenant's account")
	check("refused batch")

	// Two imports of one account's day at once, each of other ads: the sums hold both.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				ad := fmt.Sprint("g", g, "-", i%3)
				if _, err := s.UpsertSpend(ctx, []store.SpendRow{row(a, "2026-03-03", "c1", ad, int64(1000*(i+1))),
					row(a, "2026-03-02", "c2", ad, int64(10*(i+1)))}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent upsert: %v", err)
	}
	check("concurrent imports")

	noErr(t, s.DeleteAdAccount(ctx, w.a.ID, a.ID))
	check("account deleted")
	if got := must(s.SpendByAd(ctx, store.SpendByAdFilter{TenantID: w.a.ID, Since: "2026-03-01", Until: "2026-03-04"}))(t); len(got) != 1 ||
		got[0].Currency != "USD" || got[0].SpendMicros != 192_000_000 {
		t.Errorf("after the delete: %+v, want only the USD account's 192000000", got)
	}
	if got := must(s.SpendByAd(ctx, store.SpendByAdFilter{TenantID: w.b.ID, Since: "2026-03-01", Until: "2026-03-04"}))(t); len(got) != 1 ||
		got[0].SpendMicros != 256_000_000 {
		t.Errorf("tenant B after tenant A's delete: %+v", got)
	}
}

// testSpendReplace: ReplaceSpend makes an account's days exactly the rows it is given: a
// re-import of days that no longer holds an ad (its spend corrected to zero, or the ad deleted
// and the platform dropping it) deletes that ad's rows of those days, and no other day's,
// account's or tenant's; a day given no row is emptied; the campaign-day sums follow; and a
// row outside the days, of another account, or for another tenant's account is refused
// without deleting or writing anything.
func testSpendReplace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	a := must(s.CreateAdAccount(ctx, newAdAccount(w.a.ID, "111")))(t)
	a2 := must(s.CreateAdAccount(ctx, newAdAccount(w.a.ID, "222")))(t)
	b := must(s.CreateAdAccount(ctx, newAdAccount(w.b.ID, "111")))(t)
	must(s.UpsertSpend(ctx, []store.SpendRow{
		spendRow(a, "2026-03-01", "1", 1_000_000), spendRow(a, "2026-03-01", "2", 2_000_000),
		spendRow(a, "2026-03-02", "1", 4_000_000), spendRow(a, "2026-03-02", "2", 8_000_000),
		spendRow(a, "2026-03-03", "1", 16_000_000),
		spendRow(a2, "2026-03-01", "2", 32_000_000), spendRow(b, "2026-03-01", "2", 64_000_000),
	}))(t)
	// What the tenant's rows hold, as day/account/ad -> micros, and what its campaign-day sums
	// (the Campaigns report's campaign level) hold per day.
	held := func(tenant string) map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for _, r := range must(s.ListSpend(ctx, store.SpendFilter{TenantID: tenant}))(t) {
			k := r.Date + "/" + r.AccountID + "/" + r.AdID
			if r.AccountID == a.ID {
				k = r.Date + "/a/" + r.AdID
			} else if r.AccountID == a2.ID {
				k = r.Date + "/a2/" + r.AdID
			}
			out[k] = r.SpendMicros
		}
		return out
	}
	sums := func() map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for _, r := range must(s.SpendByAd(ctx, store.SpendByAdFilter{TenantID: w.a.ID, Since: "2026-03-01", Until: "2026-03-03",
			Campaigns: true, Days: true}))(t) {
			out[r.Date+"/"+r.CampaignID] = r.SpendMicros
		}
		return out
	}
	days := store.SpendFilter{TenantID: w.a.ID, AccountID: a.ID, Since: "2026-03-01", Until: "2026-03-02"}

	// Refusals first: nothing deleted, nothing written.
	before, beforeB, beforeSums := held(w.a.ID), held(w.b.ID), sums()
	outside := spendRow(a, "2026-03-03", "1", 1)
	other := spendRow(a2, "2026-03-01", "1", 1)
	for name, try := range map[string]func() error{
		"a row outside the days": func() error {
			_, err := s.ReplaceSpend(ctx, days, []store.SpendRow{spendRow(a, "2026-03-01", "1", 1), outside})
			return err
		},
		"a row of another account": func() error { _, err := s.ReplaceSpend(ctx, days, []store.SpendRow{other}); return err },
		"no account": func() error {
			_, err := s.ReplaceSpend(ctx, store.SpendFilter{TenantID: w.a.ID, Since: "2026-03-01", Until: "2026-03-02"}, nil)
			return err
		},
		"days reversed": func() error {
			_, err := s.ReplaceSpend(ctx, store.SpendFilter{TenantID: w.a.ID, AccountID: a.ID, Since: "2026-03-02", Until: "2026-03-01"}, nil)
			return err
		},
		"not days": func() error {
			_, err := s.ReplaceSpend(ctx, store.SpendFilter{TenantID: w.a.ID, AccountID: a.ID, Since: "yesterday", Until: "2026-03-01"}, nil)
			return err
		},
	} {
		if err := try(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	stray := spendRow(b, "2026-03-01", "2", 1)
	_, err := s.ReplaceSpend(ctx, store.SpendFilter{TenantID: w.a.ID, AccountID: b.ID, Since: "2026-03-01", Until: "2026-03-01"},
		[]store.SpendRow{func() store.SpendRow { stray.TenantID = w.a.ID; return stray }()})
	wantErr(t, err, store.ErrNotFound, "replace another tenant's account")
	_, err = s.ReplaceSpend(ctx, store.SpendFilter{TenantID: w.a.ID, AccountID: b.ID, Since: "2026-03-01", Until: "2026-03-01"}, nil)
	wantErr(t, err, store.ErrNotFound, "empty another tenant's account's day")
	equal(t, "after the refusals", held(w.a.ID), before)
	equal(t, "other tenant after the refusals", held(w.b.ID), beforeB)
	equal(t, "sums after the refusals", sums(), beforeSums)

	// The platform no longer returns ad 2 on 2026-03-01 (corrected to zero) nor ad 1 on
	// 2026-03-02 (deleted), and revised ad 1 on 2026-03-01.
	n := must(s.ReplaceSpend(ctx, days, []store.SpendRow{spendRow(a, "2026-03-01", "1", 1_500_000), spendRow(a, "2026-03-02", "2", 8_000_000)}))(t)
	if n != 2 {
		t.Errorf("replaced with %d rows, want 2", n)
	}
	equal(t, "replaced", held(w.a.ID), map[string]int64{
		"2026-03-01/a/1": 1_500_000, "2026-03-02/a/2": 8_000_000, "2026-03-03/a/1": 16_000_000, "2026-03-01/a2/2": 32_000_000,
	})
	equal(t, "other tenant untouched", held(w.b.ID), beforeB)
	equal(t, "campaign-day sums", sums(), map[string]int64{"2026-03-01/c1": 1_500_000 + 32_000_000, "2026-03-02/c1": 8_000_000,
		"2026-03-03/c1": 16_000_000})

	// A day the platform returns nothing for is emptied, sums included.
	if n := must(s.ReplaceSpend(ctx, store.SpendFilter{TenantID: w.a.ID, AccountID: a.ID, Since: "2026-03-03", Until: "2026-03-03"}, nil))(t); n != 0 {
		t.Errorf("an empty replace wrote %d rows", n)
	}
	equal(t, "emptied day", held(w.a.ID), map[string]int64{"2026-03-01/a/1": 1_500_000, "2026-03-02/a/2": 8_000_000, "2026-03-01/a2/2": 32_000_000})
	equal(t, "emptied day's sums", sums(), map[string]int64{"2026-03-01/c1": 1_500_000 + 32_000_000, "2026-03-02/c1": 8_000_000})
}

// testSpendCampaignLevel: a campaign the platform reports only as a whole (Google's
// Performance Max: no ad groups) is stored as a row without ad set and ad, one per campaign
// and day beside the ad rows of the same day; a re-import replaces it, a replace of its days
// without it deletes it; the campaign sums and the per-ad read carry it with the ad set and ad
// empty; a row without an ad that names no campaign, or names an ad set, is refused.
func testSpendCampaignLevel(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	a := must(s.CreateAdAccount(ctx, newAdAccount(w.a.ID, "111")))(t)
	whole := func(day, campaign string, micros int64) store.SpendRow {
		r := spendRow(a, day, "", micros)
		r.CampaignID, r.CampaignName, r.AdSetID, r.AdSetName, r.AdName = campaign, "Performance Max "+campaign, "", "", ""
		return r
	}
	if n := must(s.UpsertSpend(ctx, []store.SpendRow{whole("2026-03-01", "pm1", 1_000_000), whole("2026-03-01", "pm2", 2_000_000),
		spendRow(a, "2026-03-01", "9", 4_000_000), whole("2026-03-02", "pm1", 8_000_000)}))(t); n != 4 {
		t.Errorf("upserted %d, want 4", n)
	}
	// A revision of pm1's 2026-03-01 replaces it.
	if n := must(s.UpsertSpend(ctx, []store.SpendRow{whole("2026-03-01", "pm1", 1_500_000)}))(t); n != 1 {
		t.Errorf("revision wrote %d, want 1", n)
	}
	held := func() map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for _, r := range must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.a.ID}))(t) {
			out[r.Date+"/"+r.CampaignID+"/"+r.AdSetID+"/"+r.AdID] = r.SpendMicros
		}
		return out
	}
	equal(t, "stored", held(), map[string]int64{"2026-03-01/pm1//": 1_500_000, "2026-03-01/pm2//": 2_000_000,
		"2026-03-01/c1/s1/9": 4_000_000, "2026-03-02/pm1//": 8_000_000})
	campaigns := func() map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for _, r := range must(s.SpendByAd(ctx, store.SpendByAdFilter{TenantID: w.a.ID, Since: "2026-03-01", Until: "2026-03-02",
			Campaigns: true}))(t) {
			out[r.CampaignID+" "+r.CampaignName] = r.SpendMicros
		}
		return out
	}
	equal(t, "per campaign", campaigns(), map[string]int64{"pm1 Performance Max pm1": 9_500_000, "pm2 Performance Max pm2": 2_000_000,
		"c1 Black Friday": 4_000_000})
	perAd := map[string]int64{}
	for _, r := range must(s.SpendByAd(ctx, store.SpendByAdFilter{TenantID: w.a.ID, Since: "2026-03-01", Until: "2026-03-02", Ads: true}))(t) {
		perAd[r.CampaignID+"/"+r.AdSetID+"/"+r.AdID+" "+r.AdSetName+r.AdName] = r.SpendMicros
	}
	equal(t, "per ad", perAd, map[string]int64{"pm1// ": 9_500_000, "pm2// ": 2_000_000, "c1/s1/9 LookalikeVídeo 9": 4_000_000})

	// The platform no longer reports pm2 on 2026-03-01.
	must(s.ReplaceSpend(ctx, store.SpendFilter{TenantID: w.a.ID, AccountID: a.ID, Since: "2026-03-01", Until: "2026-03-01"},
		[]store.SpendRow{whole("2026-03-01", "pm1", 1_500_000), spendRow(a, "2026-03-01", "9", 4_000_000)}))(t)
	equal(t, "replaced", held(), map[string]int64{"2026-03-01/pm1//": 1_500_000, "2026-03-01/c1/s1/9": 4_000_000,
		"2026-03-02/pm1//": 8_000_000})
	equal(t, "per campaign after the replace", campaigns(), map[string]int64{"pm1 Performance Max pm1": 9_500_000,
		"c1 Black Friday": 4_000_000})

	nothing := whole("2026-03-03", "", 1)
	withAdSet := whole("2026-03-03", "pm3", 1)
	withAdSet.AdSetID = "s1"
	for name, r := range map[string]store.SpendRow{"no ad, no campaign": nothing, "no ad, an ad set": withAdSet} {
		if _, err := s.UpsertSpend(ctx, []store.SpendRow{whole("2026-03-03", "pm1", 1), r}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got := must(s.ListSpend(ctx, store.SpendFilter{TenantID: w.a.ID, Since: "2026-03-03"}))(t); len(got) != 0 {
		t.Errorf("a refused batch wrote %d rows", len(got))
	}
}

// testLongAdNames: a click whose UTMs each carry 5 kB of 4-byte characters (the widest a
// name can be per character) is attributed and read back by the Campaigns report's read:
// domain.ParseAdRef cuts names to 200 characters and 400 bytes, so the orders_ad index row
// (its three names, ids and figures) stays well under PostgreSQL's 2,704-byte limit for a
// B-tree row.
func testLongAdNames(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	long := strings.Repeat("😀", 1250) // 5,000 bytes
	ref := domain.ParseAdRef(domain.AdClick{UTMSource: "facebook", UTMCampaign: long + "|23800000000000001",
		UTMTerm: long + "|23800000000000002", UTMContent: long + "|23800000000000003"})
	if ref.AdID != "23800000000000003" || len(ref.AdName) != 400 || utf8.RuneCountInString(ref.AdName) != 100 {
		t.Fatalf("parsed a %d-byte ad name, id %q", len(ref.AdName), ref.AdID)
	}
	e := w.event(w.a.ID, "long", "k-long", domain.StatusPaid, at(0))
	o, _, err := s.ApplyOrderEvent(ctx, e)
	noErr(t, err)
	click := at(-time.Hour)
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: o.ID, TouchpointID: "tp", VisitorID: "v1",
		Rule: "visitor_id", Confidence: 1, Ad: ref, ClickAt: &click, CreatedAt: at(0)}))
	got := must(s.AdSales(ctx, store.AdSalesFilter{TenantID: w.a.ID, Since: at(-24 * time.Hour), Until: at(24 * time.Hour),
		Bucket: 24 * time.Hour, Ads: true}))(t)
	if len(got) != 1 || got[0].Ad != ref || got[0].Orders != 1 {
		t.Errorf("read back %+v, want one order of %+v", got, ref)
	}
}

// testAdSalesDayEdges: the Campaigns report's days are the tenant's, to the microsecond. With
// the buckets of São Paulo's days (24 h from 03:00 UTC), a sale paid, or clicked, a microsecond
// before midnight falls on the day before; one at midnight or a microsecond after, on the day
// that starts there. Each store computes the day in its own SQL (bucketKey), PostgreSQL from
// the timestamp, SQLite from unix microseconds.
func testAdSalesDayEdges(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	brt := time.FixedZone("BRT", -3*3600)
	midnight := time.Date(2026, 3, 1, 0, 0, 0, 0, brt)
	before, after := midnight.Add(-time.Microsecond), midnight.Add(time.Microsecond)
	sale := func(ext string, paid time.Time, click *time.Time) {
		t.Helper()
		o, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, ext, "k-"+ext, domain.StatusPaid, paid))
		noErr(t, err)
		if click != nil {
			noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: o.ID, TouchpointID: "tp-" + ext, VisitorID: "v-" + ext,
				Rule: "visitor_id", Confidence: 1, Ad: domain.AdRef{Platform: "meta", CampaignID: "c1"}, ClickAt: click, CreatedAt: paid}))
		}
	}
	later := midnight.Add(2 * time.Hour)
	sale("paid-before", before, nil)
	sale("paid-at", midnight, nil)
	sale("paid-after", after, nil)
	sale("clicked-before", later, &before)
	sale("clicked-at", later, &midnight)

	days := func(byClick bool) map[time.Time]int {
		t.Helper()
		rows := must(s.AdSales(ctx, store.AdSalesFilter{TenantID: w.a.ID, Since: midnight.AddDate(0, 0, -1), Until: midnight.AddDate(0, 0, 1),
			Bucket: 24 * time.Hour, Offset: 21 * time.Hour, ByClick: byClick, Days: true}))(t)
		got := map[time.Time]int{}
		for _, r := range rows {
			got[r.Bucket.UTC()] += r.Orders
		}
		return got
	}
	day0, day1 := midnight.AddDate(0, 0, -1).UTC(), midnight.UTC()
	equal(t, "sales per day paid", days(false), map[time.Time]int{day0: 1, day1: 4})
	equal(t, "sales per day clicked", days(true), map[time.Time]int{day0: 2, day1: 3})
}

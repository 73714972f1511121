package spendimport_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/googleads"
	"github.com/hubtrack/hub/internal/spend/googleads/fakegaql"
	"github.com/hubtrack/hub/internal/spend/tiktok"
	"github.com/hubtrack/hub/internal/spend/tiktok/fakereport"
	"github.com/hubtrack/hub/internal/spendimport"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// throttleWatch stands in front of a fake platform: it learns the regain time each throttled
// answer advertises (the fake's counter going up) and counts the requests made before it on
// the shared clock.
type throttleWatch struct {
	h         http.Handler
	now       func() time.Time
	throttled func() int
	wait      time.Duration

	mu        sync.Mutex
	seen      int
	notBefore time.Time
	early     int
}

func (w *throttleWatch) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	if w.now().Before(w.notBefore) {
		w.early++
	}
	w.mu.Unlock()
	w.h.ServeHTTP(rw, r)
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := w.throttled(); n > w.seen {
		w.seen = n
		w.notBefore = w.now().Add(w.wait)
	}
}

func (w *throttleWatch) Early() int { w.mu.Lock(); defer w.mu.Unlock(); return w.early }

// connectFrom connects an ad account the way admin.ConnectAdAccount does: the platform's
// Source reads its id, name, currency and time zone with the credentials, which are stored
// sealed.
func connectFrom(t *testing.T, st store.Store, src spend.Source, connected time.Time, accountID string, creds []byte) fixture {
	t.Helper()
	ctx := context.Background()
	acct, err := src.Account(ctx, creds, accountID)
	if err != nil {
		t.Fatalf("%s account: %v", src.Platform(), err)
	}
	keys, err := pii.NewKeyring(pii.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	a := store.AdAccount{ID: "acct-" + tn.ID, TenantID: tn.ID, Platform: string(src.Platform()), ExternalID: acct.ID,
		Name: acct.Name, Currency: acct.Currency, TimeZone: acct.TimeZone, CreatedAt: connected}
	if a.Credentials, err = keys.Seal(creds, store.AdAccountCredentialsAD(a.ID)); err != nil {
		t.Fatal(err)
	}
	if a, err = st.CreateAdAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	return fixture{st: st, keys: keys, tenant: tn, account: a}
}

// storedOf is every spend row of the tenant by day and ad, each checked to be stored once, in
// the account's currency and under its platform.
func storedOf(t *testing.T, st store.Store, tenantID string, platform spend.Platform) map[string]int64 {
	t.Helper()
	rows, err := st.ListSpend(context.Background(), store.SpendFilter{TenantID: tenantID})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		k := r.Date + "/" + r.AdID
		if _, dup := out[k]; dup {
			t.Errorf("row %s stored twice", k)
		}
		out[k] = r.SpendMicros
		if r.Currency != "BRL" || r.Platform != string(platform) {
			t.Errorf("row %s: currency %q, platform %q", k, r.Currency, r.Platform)
		}
	}
	return out
}

// TestGoogleAdsAndTikTokBackfill: a Google Ads account and a TikTok account, connected through
// their Sources against the fakes, import their 90-day backfill page by page; a throttled
// answer is honoured (no call before the retry time it gave), and every ad and day is stored
// exactly once with the platform's figure.
func TestGoogleAdsAndTikTokBackfill(t *testing.T) {
	t.Parallel()
	const regainMinutes = 3
	teststore.Each(t, func(t *testing.T, st store.Store) {
		t.Run("googleads", func(t *testing.T) {
			c := newClock(connectedAt)
			fake := fakegaql.New()
			fake.SetPageSize(5)
			watch := &throttleWatch{h: fake, now: c.Now, throttled: fake.Throttled, wait: regainMinutes * time.Minute}
			srv := httptest.NewServer(watch)
			t.Cleanup(srv.Close)
			src := &googleads.Source{Client: srv.Client(), BaseURL: srv.URL, TokenURL: srv.URL + "/token"}
			want := seedDays(func(r spend.Row) { fake.Seed(fakegaql.CustomerID, r) })
			f := connectFrom(t, st, src, connectedAt, "123-456-7890", fake.Credentials(true))
			if f.account.ExternalID != fakegaql.CustomerID || f.account.TimeZone != "America/Sao_Paulo" || f.account.Currency != "BRL" {
				t.Fatalf("connected account: %+v", f.account)
			}
			fake.ThrottleNext(2, regainMinutes)
			imp := &spendimport.Importer{Store: st, Sources: map[spend.Platform]spend.Source{spend.GoogleAds: src}, Keys: f.keys,
				Now: c.Now, ChunkDays: 15}
			drive(t, imp, c, f, 100)
			if fake.Throttled() != 2 {
				t.Errorf("%d throttled answers, want 2", fake.Throttled())
			}
			if watch.Early() != 0 {
				t.Errorf("%d calls before Google's retryDelay had passed", watch.Early())
			}
			if fake.SecretsInURL() != 0 {
				t.Errorf("%d requests carried a secret in their URL", fake.SecretsInURL())
			}
			sameRows(t, storedOf(t, st, f.tenant.ID, spend.GoogleAds), want)
			done(t, st, f)
		})
		t.Run("tiktok", func(t *testing.T) {
			c := newClock(connectedAt)
			fake := fakereport.New()
			fake.SetPageSize(5)
			watch := &throttleWatch{h: fake, now: c.Now, throttled: fake.Throttled, wait: regainMinutes * time.Minute}
			srv := httptest.NewServer(watch)
			t.Cleanup(srv.Close)
			src := &tiktok.Source{Client: srv.Client(), APIURL: srv.URL}
			want := seedDays(func(r spend.Row) { fake.Seed(fakereport.AdvertiserID, r) })
			f := connectFrom(t, st, src, connectedAt, fakereport.AdvertiserID, tiktok.NewCredentials(fakereport.Token))
			if f.account.TimeZone != "America/Sao_Paulo" || f.account.Currency != "BRL" {
				t.Fatalf("connected account: %+v", f.account)
			}
			fake.ThrottleNext(2, regainMinutes)
			imp := &spendimport.Importer{Store: st, Sources: map[spend.Platform]spend.Source{spend.TikTok: src}, Keys: f.keys,
				Now: c.Now, ChunkDays: 15}
			drive(t, imp, c, f, 100)
			if fake.Throttled() != 2 {
				t.Errorf("%d throttled answers, want 2", fake.Throttled())
			}
			if watch.Early() != 0 {
				t.Errorf("%d calls before TikTok's Retry-After had passed", watch.Early())
			}
			if fake.SecretsInURL() != 0 {
				t.Errorf("%d requests carried the token in their URL", fake.SecretsInURL())
			}
			sameRows(t, storedOf(t, st, f.tenant.ID, spend.TikTok), want)
			done(t, st, f)
		})
	})
}

// seedDays seeds the 90 days up to the account's today and returns what they hold.
func seedDays(seed func(spend.Row)) map[string]int64 {
	want := map[string]int64{}
	for d := accountToday.AddDate(0, 0, -89); !d.After(accountToday); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		for _, ad := range ads(day) {
			seed(spend.Row{Date: day, CampaignID: "c1", CampaignName: "Campanha | BF", AdSetID: ad, AdSetName: "Grupo " + ad,
				AdID: ad, AdName: "Grupo " + ad, SpendMicros: figure(day, ad), Impressions: 100, Clicks: 3})
			want[day+"/"+ad] = figure(day, ad)
		}
	}
	return want
}

func done(t *testing.T, st store.Store, f fixture) {
	t.Helper()
	a, err := st.GetAdAccount(context.Background(), f.tenant.ID, f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Import.BackfillDone || a.Import.LastError != "" || a.Import.RetryAt != nil || a.Import.Paused {
		t.Errorf("after the backfill: %+v", a.Import)
	}
}

// TestGoogleAdsPerformanceMax: a Google Ads account with Search campaigns (ad groups) and
// Performance Max campaigns (no ad groups) imports both, each campaign's cost once: the ad
// groups' rows as they are, the Performance Max campaigns' as campaign-level rows (no ad set,
// no ad), two of them on one day side by side. A Performance Max day Google no longer reports
// (its cost corrected to zero) is deleted by the next import of that day.
func TestGoogleAdsPerformanceMax(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		c := newClock(connectedAt)
		fake := fakegaql.New()
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		src := &googleads.Source{Client: srv.Client(), BaseURL: srv.URL, TokenURL: srv.URL + "/token"}
		want := map[string]int64{}
		for k, v := range seedDays(func(r spend.Row) { fake.Seed(fakegaql.CustomerID, r) }) {
			day, ad, _ := strings.Cut(k, "/")
			want[day+"/c1/"+ad+"/"+ad] = v
		}
		today, yesterday := accountToday.Format(time.DateOnly), accountToday.AddDate(0, 0, -1).Format(time.DateOnly)
		for _, pm := range []struct {
			day, id string
			micros  int64
		}{{yesterday, "900001", 11_000_000}, {yesterday, "900002", 22_000_000}, {today, "900001", 33_000_000},
			{accountToday.AddDate(0, 0, -60).Format(time.DateOnly), "900002", 44_000_000}} {
			fake.Seed(fakegaql.CustomerID, spend.Row{Date: pm.day, CampaignID: pm.id, CampaignName: "PMax " + pm.id,
				SpendMicros: pm.micros, Impressions: 1000, Clicks: 10})
			want[pm.day+"/"+pm.id+"//"] = pm.micros
		}
		f := connectFrom(t, st, src, connectedAt, "123-456-7890", fake.Credentials(false))
		imp := &spendimport.Importer{Store: st, Sources: map[spend.Platform]spend.Source{spend.GoogleAds: src}, Keys: f.keys,
			Now: c.Now, ChunkDays: 15}
		drive(t, imp, c, f, 20)
		held := func() map[string]int64 {
			t.Helper()
			rows, err := st.ListSpend(ctx, store.SpendFilter{TenantID: f.tenant.ID})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int64{}
			for _, r := range rows {
				k := r.Date + "/" + r.CampaignID + "/" + r.AdSetID + "/" + r.AdID
				if _, dup := out[k]; dup {
					t.Errorf("row %s stored twice", k)
				}
				out[k] = r.SpendMicros
			}
			return out
		}
		if got := held(); !reflect.DeepEqual(got, want) {
			t.Fatalf("stored %d rows, want %d: %v", len(got), len(want), diff(got, want))
		}

		// Google corrected 900002's cost of yesterday to zero: FROM campaign no longer has it.
		fake.Seed(fakegaql.CustomerID, spend.Row{Date: yesterday, CampaignID: "900002", CampaignName: "PMax 900002"})
		if _, err := imp.Run(ctx, f.tenant.ID, f.account.ID, true); err != nil {
			t.Fatal(err)
		}
		delete(want, yesterday+"/900002//")
		if got := held(); !reflect.DeepEqual(got, want) {
			t.Errorf("after the correction: %v", diff(got, want))
		}
	})
}

// diff lists the keys two row maps disagree on.
func diff(got, want map[string]int64) []string {
	var out []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			out = append(out, fmt.Sprintf("%s: %d, want %d", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s: %d, not expected", k, v))
		}
	}
	sort.Strings(out)
	return out[:min(len(out), 10)]
}

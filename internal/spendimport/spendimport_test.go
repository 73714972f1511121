package spendimport_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spendimport"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// clock is a settable clock shared by the importer and the fake platform.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock(t time.Time) *clock    { return &clock{t: t} }

// platform is a test Source: every day has a few ads with figures derived from the day and
// the ad, so that any two imports of a day agree; rows come in pages of pageSize. fail, when
// set, decides the outcome of each call (its index from 0) after the first page was emitted.
type platform struct {
	now      func() time.Time
	pageSize int
	fail     func(call int) error
	// gone are the day/ad rows the platform no longer returns (spend corrected to zero, an
	// ad deleted and dropped); revised, figures it now returns instead of figure's; and
	// incomplete makes a read that ends say it may leave rows out.
	gone       map[string]bool
	revised    map[string]int64
	incomplete bool

	mu        sync.Mutex
	calls     []spend.Range
	notBefore time.Time // the regain time the platform last advertised
	early     []string  // calls made before it
	running   map[string]int
	overlap   int // calls for one account made while another was running
}

func (p *platform) Platform() spend.Platform { return spend.Meta }
func (p *platform) Spec() spend.Spec         { return spend.Spec{Platform: spend.Meta} }

func (p *platform) Account(ctx context.Context, creds []byte, id string) (spend.Account, error) {
	return spend.Account{Platform: spend.Meta, ID: id, Name: "Loja", Currency: "BRL", TimeZone: "America/Sao_Paulo"}, nil
}

func ads(day string) []string {
	if t, _ := time.Parse(time.DateOnly, day); t.Day()%2 == 0 {
		return []string{"101", "102", "103"}
	}
	return []string{"101", "102"}
}

func figure(day, ad string) int64 {
	h := fnv.New32a()
	fmt.Fprint(h, day, ad)
	return int64(h.Sum32()%100_000) * 1000
}

func (p *platform) Daily(ctx context.Context, creds []byte, id string, r spend.Range, emit func([]spend.Row) error) error {
	if string(creds) != `{"access_token":"EAA-test"}` {
		return &spend.PermanentError{Code: 190, Message: "Error validating access token"}
	}
	p.mu.Lock()
	call := len(p.calls)
	p.calls = append(p.calls, r)
	if now := p.now(); now.Before(p.notBefore) {
		p.early = append(p.early, fmt.Sprintf("call %d at %s, before %s", call, now, p.notBefore))
	}
	if p.running == nil {
		p.running = map[string]int{}
	}
	p.running[id]++
	if p.running[id] > 1 {
		p.overlap++
	}
	p.mu.Unlock()
	defer func() { p.mu.Lock(); p.running[id]--; p.mu.Unlock() }()

	var rows []spend.Row
	since, _ := time.Parse(time.DateOnly, r.Since)
	until, _ := time.Parse(time.DateOnly, r.Until)
	for d := until; !d.Before(since); d = d.AddDate(0, 0, -1) {
		day := d.Format(time.DateOnly)
		for _, ad := range ads(day) {
			p.mu.Lock()
			gone := p.gone[day+"/"+ad]
			micros, revised := p.revised[day+"/"+ad]
			p.mu.Unlock()
			if gone {
				continue
			}
			if !revised {
				micros = figure(day, ad)
			}
			rows = append(rows, spend.Row{Date: day, CampaignID: "c1", CampaignName: "Black Friday", AdSetID: "s1",
				AdSetName: "Lookalike", AdID: ad, AdName: "Vídeo " + ad, SpendMicros: micros, Impressions: 1000, Clicks: 10})
		}
	}
	size := p.pageSize
	if size <= 0 {
		size = 5
	}
	for page := 0; len(rows) > 0; page++ {
		n := min(size, len(rows))
		if err := emit(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
		if page == 0 && p.fail != nil {
			if err := p.fail(call); err != nil {
				var th *spend.ThrottledError
				if errors.As(err, &th) {
					p.mu.Lock()
					p.notBefore = p.now().Add(th.RetryAfter)
					p.mu.Unlock()
				}
				return err
			}
		}
	}
	if p.incomplete {
		return &spend.IncompleteError{Reason: "a filter was refused"}
	}
	return nil
}

// expected is every row the platform has for the days first..last.
func expected(first, last time.Time) map[string]int64 {
	out := map[string]int64{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		for _, ad := range ads(day) {
			out[day+"/"+ad] = figure(day, ad)
		}
	}
	return out
}

func stored(t *testing.T, st store.Store, tenantID string) map[string]int64 {
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
		if r.Currency != "BRL" || r.Platform != "meta" {
			t.Errorf("row %s: currency %q, platform %q", k, r.Currency, r.Platform)
		}
	}
	return out
}

func sameRows(t *testing.T, got, want map[string]int64) {
	t.Helper()
	var missing, wrong, extra []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case g != v:
			wrong = append(wrong, fmt.Sprintf("%s: %d, want %d", k, g, v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(wrong)+len(extra) > 0 {
		t.Errorf("rows: %d missing %v, %d wrong %v, %d extra %v", len(missing), head(missing), len(wrong), head(wrong), len(extra), head(extra))
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }

type fixture struct {
	st      store.Store
	keys    *pii.Keyring
	tenant  store.Tenant
	account store.AdAccount
}

// connect creates a tenant and a Meta account connected at connected.
func connect(t *testing.T, st store.Store, connected time.Time, token string) fixture {
	t.Helper()
	return connectAccount(t, st, connected, "1234", token)
}

func connectAccount(t *testing.T, st store.Store, connected time.Time, external, token string) fixture {
	t.Helper()
	ctx := context.Background()
	keys, err := pii.NewKeyring(pii.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.CreateAdAccount(ctx, store.AdAccount{ID: "acct-" + tn.ID, TenantID: tn.ID, Platform: "meta", ExternalID: external,
		Name: "Loja", Currency: "BRL", TimeZone: "America/Sao_Paulo", CreatedAt: connected})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := keys.Seal([]byte(`{"access_token":"`+token+`"}`), store.AdAccountCredentialsAD(a.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateAdAccountCredentials(ctx, tn.ID, a.ID, ct, connected); err != nil {
		t.Fatal(err)
	}
	a.Credentials = ct
	return fixture{st: st, keys: keys, tenant: tn, account: a}
}

// connectedAt is 01:30 UTC on 2026-03-10: 22:30 on 2026-03-09 in São Paulo, the account's
// zone, so that "today" is the account's day, not UTC's.
var connectedAt = time.Date(2026, 3, 10, 1, 30, 0, 0, time.UTC)

var accountToday = time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)

// drive plays River for one account: it runs the job, waits what it asks (advancing the
// clock), retries failures a minute later, until the account is no longer due.
func drive(t *testing.T, imp *spendimport.Importer, c *clock, f fixture, maxRuns int) (runs int) {
	t.Helper()
	ctx := context.Background()
	for runs = 0; runs < maxRuns; runs++ {
		res, err := imp.Run(ctx, f.tenant.ID, f.account.ID, false)
		switch {
		case err != nil:
			c.Add(time.Minute)
		case res.Again != nil:
			c.Add(*res.Again)
		default:
			a, err := f.st.GetAdAccount(ctx, f.tenant.ID, f.account.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !spendimport.Due(a, c.Now()) {
				return runs + 1
			}
		}
	}
	t.Fatalf("the account was still due after %d runs", maxRuns)
	return runs
}

// TestBackfill: connecting an account imports its 90 days in the account's time zone, in
// chunks newest first, page by page, with its progress recorded after each chunk; a job
// yields when its budget is spent and the next picks up where it stopped.
func TestBackfill(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		c := newClock(connectedAt)
		f := connect(t, st, connectedAt, "EAA-test")
		p := &platform{now: c.Now, pageSize: 7}
		// Every chunk takes a minute of the clock: the budget of 2 minutes yields after two.
		imp := &spendimport.Importer{Store: st, Sources: map[spend.Platform]spend.Source{spend.Meta: p}, Keys: f.keys,
			Now: c.Now, ChunkDays: 20, Budget: 2 * time.Minute}
		p.fail = func(int) error { c.Add(time.Minute); return nil }

		res, err := imp.Run(ctx, f.tenant.ID, f.account.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Again == nil || *res.Again != 0 || len(res.Ranges) != 2 {
			t.Fatalf("first job: %+v, want two chunks and a yield", res)
		}
		want := []spend.Range{{Since: "2026-02-18", Until: "2026-03-09"}, {Since: "2026-01-29", Until: "2026-02-17"}}
		if res.Ranges[0] != want[0] || res.Ranges[1] != want[1] {
			t.Errorf("chunks %v, want newest first %v", res.Ranges, want)
		}
		a, _ := st.GetAdAccount(ctx, f.tenant.ID, f.account.ID)
		if a.Import.BackfilledThrough != "2026-01-29" || a.Import.BackfillDone || a.Import.LastSuccessAt == nil {
			t.Errorf("progress after two chunks: %+v", a.Import)
		}
		if !spendimport.Due(a, c.Now()) {
			t.Error("an unfinished backfill is not due")
		}

		drive(t, imp, c, f, 10)
		a, _ = st.GetAdAccount(ctx, f.tenant.ID, f.account.ID)
		first := accountToday.AddDate(0, 0, -89)
		if !a.Import.BackfillDone || a.Import.BackfilledThrough != first.Format(time.DateOnly) || a.Import.RevisedAt == nil || a.Import.LastError != "" {
			t.Errorf("after the backfill: %+v", a.Import)
		}
		sameRows(t, stored(t, st, f.tenant.ID), expected(first, accountToday))
		if len(p.calls) != 5 { // 20+20+20+20+10 days
			t.Errorf("%d calls for 90 days in chunks of 20, want 5: %v", len(p.calls), p.calls)
		}

		// Then today and yesterday every 30 minutes, and the trailing 28 days once a day.
		p.fail = nil
		if spendimport.Due(a, c.Now().Add(29*time.Minute)) {
			t.Error("due before 30 minutes")
		}
		c.Add(30 * time.Minute)
		res, err = imp.Run(ctx, f.tenant.ID, f.account.ID, false)
		if err != nil || len(res.Ranges) != 1 || res.Ranges[0] != (spend.Range{Since: "2026-03-08", Until: "2026-03-09"}) {
			t.Errorf("recent import: %+v, %v", res, err)
		}
		c.Add(24 * time.Hour)
		res, err = imp.Run(ctx, f.tenant.ID, f.account.ID, false)
		if err != nil || len(res.Ranges) != 1 || res.Ranges[0] != (spend.Range{Since: "2026-02-11", Until: "2026-03-10"}) {
			t.Errorf("revision import: %+v, %v", res, err)
		}
		// Import now asks for today and yesterday even when they are fresh.
		res, err = imp.Run(ctx, f.tenant.ID, f.account.ID, true)
		if err != nil || len(res.Ranges) != 1 || res.Ranges[0] != (spend.Range{Since: "2026-03-09", Until: "2026-03-10"}) {
			t.Errorf("import now: %+v, %v", res, err)
		}
		sameRows(t, stored(t, st, f.tenant.ID), expected(first, accountToday.AddDate(0, 0, 1)))
	})
}

// TestThrottlingStorm: a platform that throttles every other call (after a page) and fails
// now and then loses no day and counts no row twice, and is never called before the regain
// time it advertised.
func TestThrottlingStorm(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		c := newClock(connectedAt)
		f := connect(t, st, connectedAt, "EAA-test")
		p := &platform{now: c.Now, pageSize: 4}
		p.fail = func(call int) error {
			switch {
			case call%2 == 1:
				return &spend.ThrottledError{RetryAfter: time.Duration(call) * time.Minute, Code: 80000, Message: "too many calls"}
			case call%5 == 4:
				return errors.New("connection reset")
			}
			return nil
		}
		imp := &spendimport.Importer{Store: st, Sources: map[spend.Platform]spend.Source{spend.Meta: p}, Keys: f.keys,
			Now: c.Now, ChunkDays: 10}

		res, err := imp.Run(ctx, f.tenant.ID, f.account.ID, false)
		if err != nil || res.Again == nil {
			t.Fatalf("first run: %+v, %v; want a throttle", res, err)
		}
		a, _ := st.GetAdAccount(ctx, f.tenant.ID, f.account.ID)
		if a.Import.RetryAt == nil || a.Import.LastError != spendimport.ReasonThrottled || spendimport.Due(a, c.Now()) {
			t.Errorf("throttled state: %+v", a.Import)
		}
		// A job run early (another replica's, "import now") makes no call.
		calls := len(p.calls)
		res, err = imp.Run(ctx, f.tenant.ID, f.account.ID, true)
		if err != nil || res.Again == nil || len(p.calls) != calls {
			t.Errorf("a run inside the back-off: %+v, %v, %d calls (want %d)", res, err, len(p.calls), calls)
		}

		drive(t, imp, c, f, 200)
		if len(p.early) > 0 {
			t.Errorf("calls before the advertised regain time: %v", p.early)
		}
		a, _ = st.GetAdAccount(ctx, f.tenant.ID, f.account.ID)
		if !a.Import.BackfillDone || a.Import.RetryAt != nil || a.Import.LastError != "" {
			t.Errorf("after the storm: %+v", a.Import)
		}
		first := accountToday.AddDate(0, 0, -89)
		got := stored(t, st, f.tenant.ID)
		var want map[string]int64
		// The storm took hours of the clock: the account's today moved on, and the days
		// after connecting came in with the recent imports.
		today := civilIn(c.Now(), "America/Sao_Paulo")
		want = expected(first, today)
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected row %s", k)
			}
		}
		sameRows(t, got, expected(first, accountToday))
		var total, wantTotal int64
		for k, v := range got {
			total += v
			wantTotal += want[k]
		}
		if total != wantTotal {
			t.Errorf("total spend %d, want %d (double counted?)", total, wantTotal)
		}
	})
}

func civilIn(t time.Time, zone string) time.Time {
	loc, _ := time.LoadLocation(zone)
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// TestPermanentRefusal: a refused token pauses the account with a reason the tenant can act
// on; no call is made until the account is updated.
func TestPermanentRefusal(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		c := newClock(connectedAt)
		f := connect(t, st, connectedAt, "EAA-revoked")
		p := &platform{now: c.Now}
		imp := &spendimport.Importer{Store: st, Sources: map[spend.Platform]spend.Source{spend.Meta: p}, Keys: f.keys, Now: c.Now}
		if _, err := imp.Run(ctx, f.tenant.ID, f.account.ID, false); err != nil {
			t.Fatal(err)
		}
		a, _ := st.GetAdAccount(ctx, f.tenant.ID, f.account.ID)
		if !a.Import.Paused || a.Import.LastError != spendimport.ReasonTokenRefused || spendimport.Due(a, c.Now().Add(48*time.Hour)) {
			t.Errorf("after a refused token: %+v", a.Import)
		}
		for _, lang := range []string{"en", "pt-BR"} {
			if e := spendimport.Explain(a.Import.LastError, lang); e == a.Import.LastError || e == "" {
				t.Errorf("no %s explanation for %q", lang, a.Import.LastError)
			}
		}
		calls := len(p.calls)
		if _, err := imp.Run(ctx, f.tenant.ID, f.account.ID, true); err != nil || len(p.calls) != calls {
			t.Errorf("a paused account was imported: %v, %d calls", err, len(p.calls))
		}
		if n, err := imp.EnqueueDue(ctx); err != nil || n != 0 {
			t.Errorf("EnqueueDue asked for %d paused accounts (%v)", n, err)
		}
		// A deleted account ends its job quietly.
		if err := st.DeleteAdAccount(ctx, f.tenant.ID, f.account.ID); err != nil {
			t.Fatal(err)
		}
		if res, err := imp.Run(ctx, f.tenant.ID, f.account.ID, false); err != nil || res.Again != nil {
			t.Errorf("deleted account: %+v, %v", res, err)
		}
	})
}

// TestExplainEveryReason: every reason reads in both languages.
func TestExplainEveryReason(t *testing.T) {
	t.Parallel()
	for _, r := range spendimport.Reasons() {
		en, pt := spendimport.Explain(r, "en"), spendimport.Explain(r, "pt-BR")
		if en == r || pt == r || en == pt {
			t.Errorf("%s: en %q, pt-BR %q", r, en, pt)
		}
	}
}

// TestReimportReplacesTheDays: platforms leave out an ad without spend that day, so a
// re-import of days that no longer returns an ad (its spend corrected to zero, or the ad
// deleted and dropped) deletes that ad's old figure of those days, and no other day's. A read
// that fails after its first page (an ordinary error, a throttle, a refusal) deletes and
// writes nothing, and a read that may leave rows out (IncompleteError) writes its rows and
// deletes none: an acknowledged figure is never lost to a failed or partial import.
func TestReimportReplacesTheDays(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		c := newClock(connectedAt)
		f := connect(t, st, connectedAt, "EAA-test")
		p := &platform{now: c.Now, pageSize: 2}
		imp := &spendimport.Importer{Store: st, Sources: map[spend.Platform]spend.Source{spend.Meta: p}, Keys: f.keys,
			Now: c.Now, ChunkDays: 15}
		drive(t, imp, c, f, 20)
		first := accountToday.AddDate(0, 0, -89)
		want := expected(first, accountToday)
		sameRows(t, stored(t, st, f.tenant.ID), want)

		// Today (2026-03-09: ads 101 and 102) and yesterday (101, 102 and 103): the platform
		// corrected ad 101's spend of yesterday to zero, dropped ad 102 of today (deleted) and
		// revised ad 103 of yesterday.
		today, yesterday := accountToday.Format(time.DateOnly), accountToday.AddDate(0, 0, -1).Format(time.DateOnly)
		p.mu.Lock()
		p.gone = map[string]bool{yesterday + "/101": true, today + "/102": true}
		p.revised = map[string]int64{yesterday + "/103": 777_000}
		p.mu.Unlock()

		for _, failure := range []error{
			errors.New("connection reset"),
			&spend.ThrottledError{RetryAfter: 5 * time.Minute, Code: 80000, Message: "too many calls"},
			&spend.PermanentError{Code: 190, Message: "Error validating access token"},
		} {
			p.fail = func(int) error { return failure }
			if _, err := imp.Run(ctx, f.tenant.ID, f.account.ID, true); err == nil && spendimport.State(importOf(t, f), c.Now()) == spendimport.StateUpToDate {
				t.Fatalf("%T: the run succeeded", failure)
			}
			sameRows(t, stored(t, st, f.tenant.ID), want)
			// The account as it was, for the next failure (a throttle's wait passed, a refusal's
			// pause lifted as updating the account does).
			c.Add(10 * time.Minute)
			im := importOf(t, f)
			im.Paused, im.RetryAt, im.LastError = false, nil, ""
			if err := st.SetAdAccountImport(ctx, f.tenant.ID, f.account.ID, im); err != nil {
				t.Fatal(err)
			}
		}

		p.fail = nil
		res, err := imp.Run(ctx, f.tenant.ID, f.account.ID, true)
		if err != nil || len(res.Ranges) != 1 || res.Ranges[0] != (spend.Range{Since: yesterday, Until: today}) {
			t.Fatalf("import now: %+v, %v", res, err)
		}
		delete(want, yesterday+"/101")
		delete(want, today+"/102")
		want[yesterday+"/103"] = 777_000
		sameRows(t, stored(t, st, f.tenant.ID), want)

		// A read that may leave rows out: its rows are written, the rows it left out stand.
		p.mu.Lock()
		p.incomplete = true
		p.gone[yesterday+"/102"] = true
		p.revised[yesterday+"/103"] = 888_000
		p.mu.Unlock()
		if _, err := imp.Run(ctx, f.tenant.ID, f.account.ID, true); err != nil {
			t.Fatal(err)
		}
		want[yesterday+"/103"] = 888_000
		sameRows(t, stored(t, st, f.tenant.ID), want)
		if im := importOf(t, f); im.LastError != "" || im.Paused {
			t.Errorf("after an incomplete read: %+v, want a success", im)
		}
	})
}

func importOf(t *testing.T, f fixture) store.AdAccountImport {
	t.Helper()
	a, err := f.st.GetAdAccount(context.Background(), f.tenant.ID, f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a.Import
}

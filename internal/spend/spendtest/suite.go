package spendtest

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/spend"
)

// Setup is one Source wired to a fresh fake, as the suite's constructor returns it.
type Setup struct {
	Source spend.Source
	Fake   Fake
	// Credentials the fake accepts; AccountID an account it knows, whose identity Account
	// must read back as Want (Platform, ID, Currency, TimeZone; Name and Status when set).
	Credentials []byte
	AccountID   string
	Want        spend.Account
	// Secrets are values that must never appear in a request URL (the token, a developer
	// token, a refresh token).
	Secrets []string
	// AdGroupLevel says the platform reports per ad group (Google Ads): the seeded rows' AdID
	// is their ad set's id.
	AdGroupLevel bool
}

// Run runs the conformance suite; newSetup builds a fresh Source and fake for each subtest.
func Run(t *testing.T, newSetup func(t *testing.T) Setup) {
	t.Helper()
	const since = "2026-06-01"
	full := spend.Range{Since: since, Until: "2026-08-29"} // 90 days

	// The connect form's words and checks: complete in both languages; the account id and
	// credentials the fake accepts pass the spec's checks, and the Source refuses what they
	// refuse, each problem worded.
	t.Run("Spec", func(t *testing.T) {
		s := newSetup(t)
		spec := s.Source.Spec()
		if spec.Platform != s.Source.Platform() {
			t.Errorf("Spec().Platform = %s, want %s", spec.Platform, s.Source.Platform())
		}
		for _, m := range spec.MissingWords() {
			t.Error(m)
		}
		if spec.CheckAccountID == nil || spec.CheckCredentials == nil {
			t.FailNow()
		}
		if id, err := spec.CheckAccountID(s.AccountID); err != nil || id == "" {
			t.Errorf("CheckAccountID(%q) = %q, %v", s.AccountID, id, err)
		}
		if ps := spec.CheckCredentials(s.Credentials); len(ps) != 0 {
			t.Errorf("CheckCredentials refuses the fake's credentials: %+v", ps)
		}
		worded := func(reason string) {
			t.Helper()
			if _, ok := spec.Problem(reason); !ok {
				t.Errorf("problem %q has no words in the spec", reason)
			}
		}
		_, err := spec.CheckAccountID("x y")
		if err == nil {
			t.Error("CheckAccountID accepts \"x y\"")
		} else {
			worded(err.Error())
		}
		if _, err := s.Source.Account(context.Background(), s.Credentials, "x y"); err == nil {
			t.Error("Account accepts the account id \"x y\"")
		}
		for _, doc := range []string{"", "{}", `{"access_token": "a b"}`, "[1]"} {
			ps := spec.CheckCredentials([]byte(doc))
			if len(ps) == 0 {
				t.Errorf("CheckCredentials(%s) finds no problem", doc)
			}
			for _, p := range ps {
				if _, ok := spec.Field(p.Field); !ok {
					t.Errorf("CheckCredentials(%s): problem on %q, not a field of the spec", doc, p.Field)
				}
				worded(p.Reason)
			}
			if _, err := s.Source.Account(context.Background(), []byte(doc), s.AccountID); err == nil {
				t.Errorf("Account accepts the credentials %s", doc)
			}
		}
	})

	t.Run("Account", func(t *testing.T) {
		s := newSetup(t)
		a, err := s.Source.Account(context.Background(), s.Credentials, s.AccountID)
		if err != nil {
			t.Fatalf("Account: %v", err)
		}
		w := s.Want
		if a.Platform != s.Source.Platform() || a.ID != w.ID || a.Currency != w.Currency || a.TimeZone != w.TimeZone ||
			(w.Name != "" && a.Name != w.Name) || (w.Status != "" && a.Status != w.Status) {
			t.Fatalf("Account = %+v, want %+v", a, w)
		}
		checkURLs(t, s)
	})

	t.Run("NinetyDaysManyPages", func(t *testing.T) {
		s := newSetup(t)
		seeded := Rows(since, 90, 12, s.AdGroupLevel)
		s.Fake.Seed(s.AccountID, seeded...)
		s.Fake.SetPageSize(7)
		emits := 0
		err := s.Source.Daily(context.Background(), s.Credentials, s.AccountID, full, func([]spend.Row) error { emits++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if emits < len(seeded)/7 {
			t.Errorf("%d emits of %d rows; want one per page (or stream batch) of 7", emits, len(seeded))
		}
		got := collect(t, s, full)
		same(t, got, InRange(seeded, full))
		checkURLs(t, s)
	})

	t.Run("ShortRange", func(t *testing.T) {
		s := newSetup(t)
		seeded := Rows(since, 90, 5, s.AdGroupLevel)
		s.Fake.Seed(s.AccountID, seeded...)
		s.Fake.SetPageSize(4)
		r := spend.Range{Since: "2026-07-10", Until: "2026-07-11"}
		same(t, collect(t, s, r), InRange(seeded, r))
		one := spend.Range{Since: "2026-07-10", Until: "2026-07-10"}
		same(t, collect(t, s, one), InRange(seeded, one))
		checkURLs(t, s)
	})

	t.Run("RevisionReplaces", func(t *testing.T) {
		s := newSetup(t)
		seeded := Rows(since, 10, 4, s.AdGroupLevel)
		s.Fake.Seed(s.AccountID, seeded...)
		r := spend.Range{Since: since, Until: "2026-06-10"}
		collect(t, s, r)
		revised := seeded[3]
		revised.SpendMicros += 1230000
		revised.Clicks++
		s.Fake.Seed(s.AccountID, revised)
		want := InRange(seeded, r)
		for i := range want {
			if Key(want[i]) == Key(revised) {
				want[i] = revised
			}
		}
		same(t, collect(t, s, r), want)
	})

	t.Run("Throttled", func(t *testing.T) {
		s := newSetup(t)
		s.Fake.Seed(s.AccountID, Rows(since, 3, 2, s.AdGroupLevel)...)
		s.Fake.ThrottleNext(1, 7)
		err := s.Source.Daily(context.Background(), s.Credentials, s.AccountID, spend.Range{Since: since, Until: "2026-06-03"}, func([]spend.Row) error { return nil })
		te, ok := spend.Throttled(err)
		if !ok {
			t.Fatalf("Daily during a throttling storm = %v, want a *spend.ThrottledError", err)
		}
		if te.RetryAfter <= 0 {
			t.Fatalf("RetryAfter = %s, want > 0", te.RetryAfter)
		}
		// The storm was one call: the next read succeeds.
		if got := collect(t, s, spend.Range{Since: since, Until: "2026-06-03"}); len(got) == 0 {
			t.Fatal("no rows after the storm")
		}
		s.Fake.ThrottleNext(1, 0)
		_, err = s.Source.Account(context.Background(), s.Credentials, s.AccountID)
		if te, ok := spend.Throttled(err); !ok || te.RetryAfter <= 0 {
			t.Fatalf("Account during a storm without a hint = %v, want a ThrottledError with a default RetryAfter", err)
		}
	})

	t.Run("Revoked", func(t *testing.T) {
		s := newSetup(t)
		s.Fake.Seed(s.AccountID, Rows(since, 3, 2, s.AdGroupLevel)...)
		s.Fake.Revoke()
		_, err := s.Source.Account(context.Background(), s.Credentials, s.AccountID)
		if _, ok := spend.Permanent(err); !ok {
			t.Fatalf("Account with revoked credentials = %v, want a *spend.PermanentError", err)
		}
		err = s.Source.Daily(context.Background(), s.Credentials, s.AccountID, full, func([]spend.Row) error { return nil })
		if _, ok := spend.Permanent(err); !ok {
			t.Fatalf("Daily with revoked credentials = %v, want a *spend.PermanentError", err)
		}
		checkURLs(t, s)
	})

	t.Run("BadCredentials", func(t *testing.T) {
		s := newSetup(t)
		for _, c := range [][]byte{nil, []byte("{}"), []byte("not json")} {
			if _, err := s.Source.Account(context.Background(), c, s.AccountID); err == nil {
				t.Errorf("Account(%q) accepted", c)
			}
		}
	})

	t.Run("EmitErrorStops", func(t *testing.T) {
		s := newSetup(t)
		s.Fake.Seed(s.AccountID, Rows(since, 90, 12, s.AdGroupLevel)...)
		s.Fake.SetPageSize(5)
		stop := errors.New("stop here")
		calls := 0
		var before int
		err := s.Source.Daily(context.Background(), s.Credentials, s.AccountID, full, func([]spend.Row) error {
			calls++
			before = len(s.Fake.URLs())
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Daily = %v after %d emits, want the emit error after 1", err, calls)
		}
		if after := len(s.Fake.URLs()); after != before {
			t.Fatalf("%d requests after emit failed", after-before)
		}
	})

	t.Run("ContextCancel", func(t *testing.T) {
		s := newSetup(t)
		s.Fake.Seed(s.AccountID, Rows(since, 90, 12, s.AdGroupLevel)...)
		s.Fake.SetPageSize(5)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		emits := 0
		err := s.Source.Daily(ctx, s.Credentials, s.AccountID, full, func([]spend.Row) error {
			emits++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || emits != 1 {
			t.Fatalf("Daily after cancel = %v (%d emits), want context.Canceled after 1", err, emits)
		}
		done, stop := context.WithCancel(context.Background())
		stop()
		if _, err := s.Source.Account(done, s.Credentials, s.AccountID); !errors.Is(err, context.Canceled) {
			t.Fatalf("Account with a cancelled context = %v", err)
		}
	})

	t.Run("BadRange", func(t *testing.T) {
		s := newSetup(t)
		n := len(s.Fake.URLs())
		for _, r := range []spend.Range{{Since: "2026-08-02", Until: "2026-08-01"}, {Since: "yesterday", Until: "2026-08-01"}} {
			if err := s.Source.Daily(context.Background(), s.Credentials, s.AccountID, r, func([]spend.Row) error { return nil }); err == nil {
				t.Errorf("Daily(%v) accepted", r)
			}
		}
		if len(s.Fake.URLs()) != n {
			t.Error("a bad range was sent to the platform")
		}
	})
}

// collect reads r and checks that no ad and day came twice.
func collect(t *testing.T, s Setup, r spend.Range) []spend.Row {
	t.Helper()
	var got []spend.Row
	err := s.Source.Daily(context.Background(), s.Credentials, s.AccountID, r, func(rows []spend.Row) error {
		if len(rows) == 0 {
			t.Error("emit called with no rows")
		}
		got = append(got, rows...)
		return nil
	})
	if err != nil {
		t.Fatalf("Daily(%v): %v", r, err)
	}
	Sort(got)
	return got
}

// same compares rows exactly, and their sums, with a readable failure.
func same(t *testing.T, got, want []spend.Row) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range got {
		if seen[Key(r)] {
			t.Fatalf("ad %s on %s came twice", r.AdID, r.Date)
		}
		seen[Key(r)] = true
	}
	var gs, ws int64
	for _, r := range got {
		gs += r.SpendMicros
	}
	for _, r := range want {
		ws += r.SpendMicros
	}
	if len(got) != len(want) || gs != ws {
		t.Fatalf("got %d rows spending %d micros, want %d rows spending %d", len(got), gs, len(want), ws)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("row %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// checkURLs fails if a secret is in any URL the fake saw, raw or escaped.
func checkURLs(t *testing.T, s Setup) {
	t.Helper()
	for _, u := range s.Fake.URLs() {
		un, _ := url.QueryUnescape(u)
		for _, sec := range s.Secrets {
			if sec != "" && (strings.Contains(u, sec) || strings.Contains(un, sec)) {
				t.Fatalf("a secret is in the request URL %s", u)
			}
		}
		if strings.Contains(strings.ToLower(u), "access_token") {
			t.Fatalf("access_token is in the request URL %s", u)
		}
	}
}

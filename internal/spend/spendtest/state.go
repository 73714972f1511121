package spendtest

import (
	"slices"
	"strings"
	"sync"

	"github.com/hubtrack/hub/internal/spend"
)

// State is what every platform fake keeps and a test controls alike: seeded rows by account,
// the page size, pending throttled answers, a revoked credential, the URLs received and the
// requests refused for a secret in their URL. A fake embeds it (its zero value is ready) and
// adds what its platform does differently. Its methods are safe for concurrent use; a fake
// may call them while holding its own lock (State never calls back into the fake).
type State struct {
	mu           sync.Mutex
	rows         map[string]map[string]spend.Row // account -> ad/day -> row
	pageSize     int
	throttle     int // throttled answers still to give
	throttleSeq  int // throttled answers given in the current run
	throttled    int
	retryMinutes int
	revoked      bool
	urls         []string
	secretURLs   int
}

// Seed implements Fake: it upserts rows by ad and day (a second Seed of an ad and day is a
// revision that replaces the figures). Fakes whose account ids have another spelling
// normalise the id before calling it.
func (s *State) Seed(accountID string, rows ...spend.Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rows == nil {
		s.rows = map[string]map[string]spend.Row{}
	}
	m := s.rows[accountID]
	if m == nil {
		m = map[string]spend.Row{}
		s.rows[accountID] = m
	}
	for _, r := range rows {
		m[Key(r)] = r
	}
}

// Revise changes one ad's spend on one day; false when there is no such row.
func (s *State) Revise(accountID, adID, date string, spendMicros int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := adID + "/" + date
	r, ok := s.rows[accountID][k]
	if ok {
		r.SpendMicros = spendMicros
		s.rows[accountID][k] = r
	}
	return ok
}

// RowsIn returns the account's rows in r, sorted by day and ad.
func (s *State) RowsIn(accountID string, r spend.Range) []spend.Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []spend.Row
	for _, row := range s.rows[accountID] {
		if row.Date >= r.Since && row.Date <= r.Until {
			out = append(out, row)
		}
	}
	Sort(out)
	return out
}

// AllRows returns every row of the account, sorted by day and ad.
func (s *State) AllRows(accountID string) []spend.Row {
	return s.RowsIn(accountID, spend.Range{Since: "0000-00-00", Until: "9999-99-99"})
}

// SetPageSize implements Fake: the most rows a page (or stream batch) carries, at least 1.
func (s *State) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = max(n, 1)
}

// PageSize returns the page size set, or def when none was.
func (s *State) PageSize(def int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pageSize == 0 {
		return def
	}
	return s.pageSize
}

// ThrottleNext implements Fake: the next n calls are to be answered with the platform's
// throttling error, with a retry hint of minutes when > 0 (the fake asks with Throttle).
func (s *State) ThrottleNext(n, minutes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.throttleSeq, s.retryMinutes = n, 0, minutes
}

// Throttle takes one pending throttled answer: ok says the call must be throttled, seq is
// its place in the run ThrottleNext started (0 first) and retryMinutes the hint to give.
func (s *State) Throttle() (seq, retryMinutes int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttle <= 0 {
		return 0, 0, false
	}
	s.throttle--
	s.throttled++
	s.throttleSeq++
	return s.throttleSeq - 1, s.retryMinutes, true
}

// Throttled returns how many calls were answered with a throttling error.
func (s *State) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// Revoke implements Fake: the credentials are revoked for every later call.
func (s *State) Revoke() { s.setRevoked(true) }

// Restore undoes Revoke.
func (s *State) Restore() { s.setRevoked(false) }

func (s *State) setRevoked(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = v
}

// Revoked says whether the credentials are revoked.
func (s *State) Revoked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked
}

// Record notes the URL (path and query) of a request received.
func (s *State) Record(uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.urls = append(s.urls, uri)
}

// URLs implements Fake.
func (s *State) URLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.urls)
}

// SecretIn says whether any of secrets (case-insensitively) is in text, a request's URL (and
// whatever else the fake must keep secret-free), and counts the request when one is: the
// fake then refuses it.
func (s *State) SecretIn(text string, secrets ...string) bool {
	text = strings.ToLower(text)
	for _, sec := range secrets {
		if strings.Contains(text, strings.ToLower(sec)) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.secretURLs++
			return true
		}
	}
	return false
}

// SecretsInURL returns how many requests were refused for a secret in their URL.
func (s *State) SecretsInURL() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secretURLs
}

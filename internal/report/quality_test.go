package report

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

type mapCache struct {
	mu  sync.Mutex
	m   map[string][]byte
	ttl map[string]time.Duration
}

func (c *mapCache) Get(_ context.Context, k string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok, nil
}

func (c *mapCache) Set(_ context.Context, k string, v []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k], c.ttl[k] = v, ttl
	return nil
}

type quality struct {
	calls  int
	scores []dest.MatchQuality
	err    error
}

func (q *quality) MatchQuality(context.Context, dest.Config, dest.Credentials) ([]dest.MatchQuality, error) {
	q.calls++
	return q.scores, q.err
}

// The platform is asked once per destination version and the answer kept for hours; a new
// version of the destination (a new token) is asked again; a refusal, a failure and no score
// are each "not available" with their reason, asked again sooner.
func TestPlatformMatchQuality(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	ds := store.Destination{ID: "d1", Type: "meta", UpdatedAt: now.Add(-time.Hour)}
	c := &mapCache{m: map[string][]byte{}, ttl: map[string]time.Duration{}}
	r := &quality{scores: []dest.MatchQuality{{Event: "Purchase", Score: 7.2}}}
	for range 3 {
		q := PlatformMatchQuality(context.Background(), c, r, ds, nil, dest.Credentials{}, now)
		if s, ok := q.Score("Purchase"); !q.Available || !ok || s != 7.2 || !q.CheckedAt.Equal(now) {
			t.Fatalf("quality = %+v", q)
		}
	}
	if r.calls != 1 {
		t.Errorf("asked %d times for three page views, want 1", r.calls)
	}
	for _, ttl := range c.ttl {
		if ttl != QualityTTL {
			t.Errorf("kept for %s, want %s", ttl, QualityTTL)
		}
	}
	ds.UpdatedAt = now
	PlatformMatchQuality(context.Background(), c, r, ds, nil, dest.Credentials{}, now)
	if r.calls != 2 {
		t.Errorf("a new version of the destination was not asked again (%d calls)", r.calls)
	}
	cases := []struct {
		r    *quality
		want string
	}{
		{&quality{err: errors.Join(errors.New("meta: dataset quality"), dest.ErrQualityRefused)}, QualityRefused},
		{&quality{err: errors.New("meta: dataset quality: connection refused")}, QualityFailed},
		{&quality{}, QualityNone},
	}
	for i, tc := range cases {
		c := &mapCache{m: map[string][]byte{}, ttl: map[string]time.Duration{}}
		q := PlatformMatchQuality(context.Background(), c, tc.r, store.Destination{ID: "d2"}, nil, dest.Credentials{}, now)
		if q.Available || q.Problem != tc.want || q.Scores == nil {
			t.Errorf("case %d: %+v, want problem %q", i, q, tc.want)
		}
		for _, ttl := range c.ttl {
			if want := map[bool]time.Duration{true: QualityTTL, false: QualityRetryTTL}[tc.want == QualityNone]; ttl != want {
				t.Errorf("case %d kept for %s, want %s", i, ttl, want)
			}
		}
	}
}

// Every reason the platform's quality is not available is said in both languages.
func TestQualityReason(t *testing.T) {
	for _, p := range []string{QualityRefused, QualityFailed, QualityNone} {
		if QualityReason(p, "en") == "" || QualityReason(p, "pt-BR") == "" {
			t.Errorf("problem %s lacks a sentence", p)
		}
	}
	if QualityReason("other", "en") != "" || QualityReason(QualityRefused, "fr") != "" {
		t.Error("a sentence for an unknown problem or language")
	}
}

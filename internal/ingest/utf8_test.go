package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/store"
)

// linkStore is a real store that knows the tracking link "promo".
type linkStore struct{ store.Store }

func (s linkStore) GetLinkByCode(_ context.Context, code string) (store.Link, error) {
	if code != "promo" {
		return store.Link{}, store.ErrNotFound
	}
	return store.Link{Code: "promo", TenantID: "ten_1", SourceID: "src_1", Target: "https://shop.example.com/landing"}, nil
}

// TestHeadersNotUTF8AreStored: the User-Agent and Referer headers and a tracking link's query
// may hold bytes that are not UTF-8 (net/http lets them through; only control characters are
// refused), and PostgreSQL refuses them in text (SQLSTATE 22021): a click or a pixel's page
// view carrying them must still be stored, and a group commit it shares with other visitors'
// events must not fail. Both stores keep the same text, with U+FFFD for the bytes.
func TestHeadersNotUTF8AreStored(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			src := testSource()
			real := openStore(t, kind, src)
			now := time.Now().UTC()
			f := newFixture(t, func(c *Config) {
				c.Store = linkStore{real}
				c.Now = func() time.Time { return now }
			})
			click := httptest.NewRequest(http.MethodGet, "http://track.example.com/r/promo?utm_source=fb&x=caf\xe9", nil)
			click.Header.Set("User-Agent", "Mozilla/5.0 caf\xe9")
			click.Header.Set("Referer", "https://ref.example.com/caf\xe9")
			if rec := f.do(click); rec.Code != http.StatusFound {
				t.Fatalf("click: %d %s", rec.Code, rec.Body)
			}
			pixel := httptest.NewRequest(http.MethodGet, "/v1/pixel.gif?key=pk_test&event_id=px1&url=https://shop.example.com/", nil)
			pixel.Header.Set("User-Agent", "Mozilla/5.0 caf\xe9")
			if rec := f.do(pixel); rec.Code != http.StatusOK {
				t.Fatalf("pixel: %d %s", rec.Code, rec.Body)
			}
			var tps []store.Touchpoint
			pollWithin(t, 5*time.Second, func() bool {
				tps = storedTouchpoints(t, real, src.TenantID)
				return len(tps) == 2
			})
			for _, tp := range tps {
				for _, s := range []string{tp.URL, tp.Referrer, tp.UserAgent} {
					if !utf8.ValidString(s) {
						t.Errorf("%s touchpoint holds %q", tp.Type, s)
					}
				}
				if tp.UserAgent != "Mozilla/5.0 caf\uFFFD" {
					t.Errorf("%s user agent %q", tp.Type, tp.UserAgent)
				}
			}
		})
	}
}

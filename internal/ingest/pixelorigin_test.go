package ingest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestPixelAllowedOrigins: the pixel records a page view only from a page on one of the
// source's allowed origins (its url parameter, else the Referer), as /v1/collect does; from any
// other page, or an unknown one, it records nothing and sets no cookie but still answers the
// GIF. A source without allowed origins records every page; a pixel without url and Referer is
// refused (400) either way. On both stores.
func TestPixelAllowedOrigins(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			src := testSource() // https://shop.example.com and https://*.example.org
			real := openStore(t, kind, src)
			open := testSource()
			open.ID, open.PublicKey, open.AllowedOrigins, open.WebhookToken = "src_open", "pk_open", nil, "wh_open"
			open.AttributionModel, open.AttributionWindow, open.CreatedAt, open.UpdatedAt = "last_click", 7*24*time.Hour, testNow, testNow
			if _, err := real.CreateSource(context.Background(), open); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, func(c *Config) { c.Store = real })
			for i, tc := range []struct {
				key, page, referer string
				recorded           bool
			}{
				{"pk_test", "", "https://shop.example.com/noscript", true},
				{"pk_test", "https://shop.example.com/p", "", true},
				{"pk_test", "https://www.example.org/p", "https://evil.example.net/", true}, // url wins over the Referer
				{"pk_test", "", "https://evil.example.net/fake-page", false},
				{"pk_test", "https://evil.example.net/x", "https://shop.example.com/", false},
				{"pk_test", "https://shop.example.com@evil.example.net/", "", false},
				{"pk_test", "http://shop.example.com/", "", false},
				{"pk_open", "https://anywhere.example/", "", true},
				{"pk_open", "", "https://anywhere.example/", true},
			} {
				q := url.Values{"key": {tc.key}, "event_id": {"px" + itoa(int64(i))}}
				if tc.page != "" {
					q.Set("url", tc.page)
				}
				req := httptest.NewRequest(http.MethodGet, "https://track.example.com/v1/pixel.gif?"+q.Encode(), nil)
				if tc.referer != "" {
					req.Header.Set("Referer", tc.referer)
				}
				req.Header.Set("User-Agent", chromeUA)
				before := len(storedTouchpoints(t, real, src.TenantID))
				rec := f.do(req)
				after := len(storedTouchpoints(t, real, src.TenantID))
				if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/gif" || !bytes.HasPrefix(rec.Body.Bytes(), []byte("GIF89a")) {
					t.Errorf("%s url %q Referer %q: %d %q, want the GIF", tc.key, tc.page, tc.referer, rec.Code, rec.Header().Get("Content-Type"))
				}
				if got := after - before; tc.recorded && got != 1 || !tc.recorded && got != 0 {
					t.Errorf("%s url %q Referer %q: %d touchpoints recorded, want recorded=%v", tc.key, tc.page, tc.referer, got, tc.recorded)
				}
				if !tc.recorded && len(rec.Result().Cookies()) != 0 {
					t.Errorf("%s url %q Referer %q: cookies %v set for a page view not recorded", tc.key, tc.page, tc.referer, rec.Result().Cookies())
				}
			}
			// Without url and Referer the page is unknown: refused as invalid parameters (a page
			// view needs its URL), whatever the source allows.
			for _, key := range []string{"pk_test", "pk_open"} {
				before := len(storedTouchpoints(t, real, src.TenantID))
				rec := f.do(httptest.NewRequest(http.MethodGet, "https://track.example.com/v1/pixel.gif?key="+key, nil))
				if after := len(storedTouchpoints(t, real, src.TenantID)); rec.Code != http.StatusBadRequest || after != before {
					t.Errorf("%s without url and Referer: %d, %d touchpoints recorded; want 400 and none", key, rec.Code, after-before)
				}
			}
		})
	}
}

package meta_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
)

// Meta's own Event Match Quality is read from the (fake) Dataset Quality API with the
// destination's token in the Authorization header, never in the URL.
func TestMatchQualityFromTheFake(t *testing.T) {
	t.Parallel()
	fake := fakemeta.New()
	fake.Token = token
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	m := newMeta()
	m.GraphURL = srv.URL
	var r dest.QualityReader = m
	got, err := r.MatchQuality(context.Background(), cfg, creds())
	if err != nil || len(got) != 0 {
		t.Fatalf("no score yet: %v, %v", got, err)
	}
	fake.SetQuality(dest.MatchQuality{Event: "Purchase", Score: 7.2})
	got, err = r.MatchQuality(context.Background(), cfg, creds())
	if want := []dest.MatchQuality{{Event: "Purchase", Score: 7.2}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("quality = %v, %v; want %v", got, err, want)
	}
	if fake.TokensInURL() != 0 || fake.QualityRequests() != 2 {
		t.Errorf("%d tokens in a URL, %d requests", fake.TokensInURL(), fake.QualityRequests())
	}
}

// Meta refusing (no permission) is ErrQualityRefused; a call that fails is another error; no
// message quotes the token.
func TestMatchQualityNotAvailable(t *testing.T) {
	t.Parallel()
	fake := fakemeta.New()
	fake.RefuseQuality(10)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	m := newMeta()
	m.GraphURL = srv.URL
	_, err := m.MatchQuality(context.Background(), cfg, creds())
	if !errors.Is(err, dest.ErrQualityRefused) || strings.Contains(err.Error(), token) {
		t.Errorf("refused: %v", err)
	}
	down := httptest.NewServer(fake)
	down.Close()
	m.GraphURL = down.URL
	_, err = m.MatchQuality(context.Background(), cfg, creds())
	if err == nil || errors.Is(err, dest.ErrQualityRefused) || strings.Contains(err.Error(), token) {
		t.Errorf("unreachable: %v", err)
	}
	// Without a token nothing is asked.
	before := fake.QualityRequests()
	if _, err := m.MatchQuality(context.Background(), cfg, dest.NewCredentials(nil)); err == nil || fake.QualityRequests() != before {
		t.Errorf("no token: %v", err)
	}
}

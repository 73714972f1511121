package spendtest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/spend"
)

// Serve serves fake for the rest of the test and returns the Env a Source is built with to
// reach it (the server's client, the operator setting env set to its URL) and that URL.
func Serve(t *testing.T, fake http.Handler, env string) (spend.Env, string) {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return spend.Env{Client: srv.Client(), Operator: map[string]string{env: srv.URL}}, srv.URL
}

// Kind says how a Source's error classifies: "throttled", "permanent", or "plain" (an
// ordinary error the importer retries; nil too).
func Kind(err error) string {
	if _, ok := spend.Throttled(err); ok {
		return "throttled"
	}
	if _, ok := spend.Permanent(err); ok {
		return "permanent"
	}
	return "plain"
}

// AdLinks checks that spec's ad-link template, filled in at a click the way the platform
// fills it (macros: each macro and the row's value it stands for, URL-escaped here) and
// landing with the platform's click id (click, "fbclid=…"), reads back with domain.ParseAdRef
// into the platform and the ids row was imported with, and its names when names is set (a
// platform whose macros carry no names leaves them empty), so the Campaigns page credits the
// sale to the ad whose spend was imported.
func AdLinks(t *testing.T, spec spend.Spec, row spend.Row, click string, names bool, macros ...string) {
	t.Helper()
	if spec.AdLinks.Parameters == "" {
		t.Fatalf("%s declares no URL parameters", spec.Platform)
	}
	for i := 1; i < len(macros); i += 2 {
		macros[i] = url.QueryEscape(macros[i])
	}
	clicked := strings.NewReplacer(macros...).Replace(spec.AdLinks.Parameters)
	got := domain.ParseAdRef(domain.AdClick{URL: "https://shop.example.com/p?" + clicked + "&" + click})
	want := domain.AdRef{Platform: string(spec.Platform), CampaignID: row.CampaignID, AdSetID: row.AdSetID, AdID: row.AdID}
	if names {
		want.CampaignName, want.AdSetName, want.AdName = row.CampaignName, row.AdSetName, row.AdName
	}
	if got != want {
		t.Errorf("%s: ParseAdRef(%s) = %+v\nwant %+v", spec.Platform, clicked, got, want)
	}
}

package spend

import (
	"slices"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/domain"
)

// completeSpec is a spec with every word MissingWords asks for.
func completeSpec() Spec {
	w := Words{EN: "x", PT: "x"}
	return Spec{Platform: "example", Title: w, Connect: w, How: w,
		AccountID:      Field{Name: FieldAccountID, Label: w},
		Credentials:    []Field{AccessTokenField(w, Words{})},
		CheckAccountID: func(id string) (string, error) { return id, nil }, CheckCredentials: func([]byte) []domain.FieldError { return nil }}
}

// TestMissingWordsAdLinks: ad links are optional, but URL parameters without where to paste
// them in both languages (or the other way round) are named.
func TestMissingWordsAdLinks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		links AdLinks
		want  string // a part of the one problem, or empty for none
	}{
		{"none", AdLinks{}, ""},
		{"complete", AdLinks{Parameters: "utm_source=example", Where: Words{EN: "In the ad.", PT: "No anúncio."}}, ""},
		{"no where", AdLinks{Parameters: "utm_source=example"}, "example: where to paste the URL parameters lacks a language"},
		{"no Portuguese", AdLinks{Parameters: "utm_source=example", Where: Words{EN: "In the ad."}}, "where to paste the URL parameters lacks a language"},
		{"other arguments", AdLinks{Parameters: "utm_source=example", Where: Words{EN: "In %s.", PT: "No anúncio."}}, "where to paste the URL parameters takes other arguments"},
		{"no parameters", AdLinks{Where: Words{EN: "In the ad.", PT: "No anúncio."}}, "not which"},
	} {
		s := completeSpec()
		s.AdLinks = c.links
		got := s.MissingWords()
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s: MissingWords = %q, want none", c.name, got)
		case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
			t.Errorf("%s: MissingWords = %q, want one naming %q", c.name, got, c.want)
		}
	}
	if got := completeSpec().MissingWords(); !slices.Equal(got, nil) {
		t.Errorf("the complete spec lacks %q", got)
	}
}

package ingest

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/store"
)

// fromPageURLReference is fromPageURL as it was, over url.Parse and url.Values: what the
// allocation-free one must do.
func fromPageURLReference(tp *store.Touchpoint) {
	if tp.URL == "" || (tp.FBCLID != "" && tp.GCLID != "" && tp.GBRAID != "" && tp.WBRAID != "" && tp.TTCLID != "" && tp.UTM != (store.UTM{})) {
		return
	}
	u, err := url.Parse(tp.URL)
	if err != nil || u.RawQuery == "" {
		return
	}
	q := u.Query()
	fill := func(dst *string, name string) {
		if *dst == "" {
			*dst = token(q.Get(name))
		}
	}
	fill(&tp.FBCLID, "fbclid")
	fill(&tp.GCLID, "gclid")
	fill(&tp.GBRAID, "gbraid")
	fill(&tp.WBRAID, "wbraid")
	fill(&tp.TTCLID, "ttclid")
	if tp.UTM == (store.UTM{}) {
		tp.UTM = store.UTM{Source: text(q.Get("utm_source")), Medium: text(q.Get("utm_medium")), Campaign: text(q.Get("utm_campaign")),
			Content: text(q.Get("utm_content")), Term: text(q.Get("utm_term"))}
	}
}

var pageURLSeeds = []string{
	"https://shop.example.com/p?fbclid=IwAR_x&utm_source=facebook&utm_medium=paid&utm_campaign=lan%C3%A7amento",
	"https://shop.example.com/p?gclid=Cj0&ttclid=E.C.P&utm_term=blue+shoes&utm_content=a%20b",
	"https://shop.example.com/p?utm%5Fsource=escaped+key&fbclid=%zz&fbclid=second&gclid=&gclid=x",
	"https://shop.example.com/p?a=1;b=2&utm_source=s;x&utm_source=after&ttclid=t",
	"https://shop.example.com/p#frag?fbclid=in-fragment",
	"https://shop.example.com/p?fbclid=before#frag&gclid=in-fragment",
	"https://shop.example.com/p?",
	"https://shop.example.com/p??fbclid=x&&&=&utm_source&utm_medium=%2",
	"https://shop.example.com/p?utm_campaign=" + "%E6%97%A5%E6%9C%AC" + "&utm_content=%00&fbclid=%20spaced%20",
	"https://shop.example.com/?FBCLID=upper&fbclid=lower&utm_source=%E2%80%8B",
	"https://shop.example.com/p",
	"https://shop.example.com/p?wbraid=Wb.1~x&gbraid=0AAAAA-gb_CaseSensitive&utm_source=google",
	"https://shop.example.com/p?gbraid=a%20b&wbraid=&wbraid=second&GBRAID=upper&gclid=Cj0",
	"https://shop.example.com/p?wbraid=%zz&gbraid=" + strings.Repeat("g", 513) + "&wbraid=after",
}

// TestFromPageURL: the click ids and UTMs taken from a page URL are those of url.Parse and
// url.Values (first value of a name; pairs with ';' or bad escapes skipped; the fragment not
// part of the query), with and without some already set by the event.
func TestFromPageURL(t *testing.T) {
	for _, u := range pageURLSeeds {
		checkFromPageURL(t, u)
	}
	// One case spelled out, so the comparison above is not between two wrong answers.
	tp := store.Touchpoint{URL: pageURLSeeds[2]}
	fromPageURL(&tp)
	if tp.FBCLID != "second" || tp.GCLID != "" || tp.UTM != (store.UTM{Source: "escaped key"}) {
		t.Errorf("got fbclid %q, gclid %q, utm %+v", tp.FBCLID, tp.GCLID, tp.UTM)
	}
	// Google's iOS click ids likewise: the first value, byte for byte; one that is not a token
	// (a space, too long) is left out.
	tp = store.Touchpoint{URL: "https://shop.example.com/p?wbraid=Wb.1~x&gbraid=a%20b&wbraid=later"}
	fromPageURL(&tp)
	if tp.WBRAID != "Wb.1~x" || tp.GBRAID != "" {
		t.Errorf("got gbraid %q, wbraid %q", tp.GBRAID, tp.WBRAID)
	}
}

func FuzzFromPageURL(f *testing.F) {
	for _, u := range pageURLSeeds {
		f.Add(u)
	}
	f.Fuzz(checkFromPageURL)
}

func checkFromPageURL(t *testing.T, u string) {
	if checkURL(u, true) != "" {
		return // rejected before it becomes a touchpoint
	}
	for _, preset := range []store.Touchpoint{
		{URL: u},
		{URL: u, FBCLID: "set", UTM: store.UTM{Term: "set"}},
		{URL: u, FBCLID: "set", GCLID: "set", TTCLID: "set"},
		{URL: u, FBCLID: "set", GCLID: "set", GBRAID: "set", WBRAID: "set", TTCLID: "set", UTM: store.UTM{Source: "set"}},
		{URL: u, WBRAID: "set"},
	} {
		got, want := preset, preset
		fromPageURL(&got)
		fromPageURLReference(&want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got  %+v\n want %+v", u, got, want)
		}
	}
}

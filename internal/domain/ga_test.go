package domain

import (
	"strings"
	"testing"
)

// The vectors are protocols-destinations.md §2.6's real cookies.
func TestGAClientID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"GA1.1.1958185836.1757409569": "1958185836.1757409569",
		"GA1.2.1958185836.1757409569": "1958185836.1757409569", // domain level 2
		" GA1.1.12.34 ":               "12.34",
		"1958185836.1757409569":       "1958185836.1757409569", // already a client id
		"":                            "",
		"GA1.1.abc.1757409569":        "",
		"GA1.1.1958185836":            "",
		"GA1.x.1.2":                   "",
		"GS2.1.s1757409568$o1":        "",
		"1.2.3":                       "",
		"GA1.1." + strings.Repeat("9", 70) + ".1": "",
	} {
		if got := GAClientID(in); got != want {
			t.Errorf("GAClientID(%q) = %q, want %q", in, got, want)
		}
	}
	if !ValidGAClientID("1958185836.1757409569") || ValidGAClientID("GA1.1.1.2") || ValidGAClientID("") {
		t.Error("ValidGAClientID accepts only the client id form")
	}
}

func TestGASessionID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"GS1.1.1689765380.3.1.1689766550.0.0.0":         "1689765380",
		"GS2.1.s1757409568$o1$g0$t1757409591$j37$l0$h0": "1757409568",
		"GS2.1.o1$g0$s1757409568$t1757409591":           "1757409568", // order not guaranteed
		"GS2.1.s1757409568$o1$d1234$x9":                 "1757409568", // unknown prefixes ignored
		"GS2.1.o1$g0":                                   "",
		"GS2.1.sabc$o1":                                 "",
		"GS1.1":                                         "",
		"GS1.1.x.3":                                     "",
		"GA1.1.1958185836.1757409569":                   "",
		"":                                              "",
	} {
		if got := GASessionID(in); got != want {
			t.Errorf("GASessionID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGAContainer(t *testing.T) {
	t.Parallel()
	if got := GAContainer("_ga_QEHZPBE5HH"); got != "QEHZPBE5HH" {
		t.Errorf("GAContainer = %q", got)
	}
	for _, bad := range []string{"_ga", "_ga_", "_ga_qehz", "_gat_UA1", "_ga_A-B"} {
		if got := GAContainer(bad); got != "" {
			t.Errorf("GAContainer(%q) = %q, want none", bad, got)
		}
	}
	if got := GAContainerOf(" g-qehzpbe5hh "); got != "QEHZPBE5HH" {
		t.Errorf("GAContainerOf = %q", got)
	}
	if got := GAContainerOf("UA-1234-1"); got != "" {
		t.Errorf("GAContainerOf(UA) = %q", got)
	}
}

func TestGASessionsRoundTrip(t *testing.T) {
	t.Parallel()
	s := GASessions{"ZZZ": "2", "QEHZPBE5HH": "1757409568"}
	text := s.String()
	if text != "QEHZPBE5HH:1757409568,ZZZ:2" {
		t.Fatalf("String = %q", text)
	}
	back, ok := ParseGASessions(text)
	if !ok || len(back) != 2 || back["QEHZPBE5HH"] != "1757409568" || back["ZZZ"] != "2" {
		t.Errorf("ParseGASessions(%q) = %v, %v", text, back, ok)
	}
	for _, bad := range []string{"Q:1,Q:2", "q:1", "Q:", ":1", "Q:1,", "Q1", "A:1,B:2,C:3,D:4,E:5,F:6"} {
		if got, ok := ParseGASessions(bad); ok || got != nil {
			t.Errorf("ParseGASessions(%q) = %v, %v; want refused", bad, got, ok)
		}
	}
	if got, ok := ParseGASessions(""); !ok || got != nil {
		t.Errorf("empty: %v %v", got, ok)
	}
}

// FuzzGACookies: the parsers never panic, and what they return is in the form they promise.
func FuzzGACookies(f *testing.F) {
	for _, s := range []string{"GA1.1.1958185836.1757409569", "GS1.1.1689765380.3.1.1689766550.0.0.0",
		"GS2.1.s1757409568$o1$g0$t1757409591$j37$l0$h0", "QEHZPBE5HH:1757409568,ZZZ:2", "", "GS2.1.", "_ga_ABC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if id := GAClientID(in); id != "" && (!ValidGAClientID(id) || strings.Count(id, ".") != 1) {
			t.Errorf("GAClientID(%q) = %q, not a client id", in, id)
		}
		if id := GASessionID(in); id != "" && !digits(id) {
			t.Errorf("GASessionID(%q) = %q", in, id)
		}
		if c := GAContainer(in); c != "" && !validContainer(c) {
			t.Errorf("GAContainer(%q) = %q", in, c)
		}
		if s, ok := ParseGASessions(in); ok {
			if again, ok2 := ParseGASessions(s.String()); !ok2 || len(again) != len(s) {
				t.Errorf("ParseGASessions(%q) does not round-trip: %v", in, s)
			}
		}
	})
}

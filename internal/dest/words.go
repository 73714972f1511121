package dest

import (
	"regexp"
	"strings"
)

// Words is one text a person reads, in the dashboard's two languages: English and Brazilian
// Portuguese (written for a marketer who sells online in Brazil, not word for word).
type Words struct {
	EN, PT string
}

// In returns the words in the language tag asks for: "pt-BR" gives Portuguese, anything else
// English.
func (w Words) In(tag string) string {
	if tag == "pt-BR" {
		return w.PT
	}
	return w.EN
}

// TitleWords returns the destination's name in both languages.
func (s Spec) TitleWords() Words { return Words{s.Title, s.TitlePT} }

// DescriptionWords returns the destination's one-line description in both languages.
func (s Spec) DescriptionWords() Words { return Words{s.Description, s.DescriptionPT} }

// LabelWords returns the setting's label in both languages.
func (st Setting) LabelWords() Words { return Words{st.Label, st.LabelPT} }

// DescriptionWords returns the setting's help line in both languages.
func (st Setting) DescriptionWords() Words { return Words{st.Description, st.DescriptionPT} }

// Problem returns the words of a problem this destination states, by its English reason.
func (s Spec) Problem(reason string) (Words, bool) {
	for _, p := range s.Problems {
		if p.EN == reason {
			return p, true
		}
	}
	return Words{}, false
}

// Reason is a delivery reason only one destination gives (Outcome.Reason), declared in its
// Spec.Reasons with what a person reads about it, in both languages: a short name, what
// happened, what to do, and why a replay did not send it again (a clause).
type Reason struct {
	Code                   string
	Title, Means, Fix, Why Words
}

// Reason returns the reason this destination declares as code.
func (s Spec) Reason(code string) (Reason, bool) {
	for _, r := range s.Reasons {
		if r.Code == code {
			return r, true
		}
	}
	return Reason{}, false
}

var verbRe = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// MissingWords lists what the spec lacks for a person to read it in both languages: the
// title, the description, where a test event is seen (TestView), each setting's label and help line, each problem and each reason's
// words, in English and in Portuguese, with the same fmt verbs in both. Empty when complete; the dashboard's
// catalogue test and dest/all's test run it over every registered destination.
func (s Spec) MissingWords() []string {
	var out []string
	check := func(what string, w Words) {
		if strings.TrimSpace(w.EN) == "" || strings.TrimSpace(w.PT) == "" {
			out = append(out, s.Type+": "+what+" lacks a language")
			return
		}
		if en, pt := verbRe.FindAllString(w.EN, -1), verbRe.FindAllString(w.PT, -1); strings.Join(en, "") != strings.Join(pt, "") {
			out = append(out, s.Type+": "+what+" takes other arguments in English and Portuguese")
		}
	}
	check("the title", s.TitleWords())
	check("the description", s.DescriptionWords())
	check("the test view", s.TestView)
	for _, st := range s.Settings {
		check("setting "+st.Name+"'s label", st.LabelWords())
		check("setting "+st.Name+"'s description", st.DescriptionWords())
	}
	for _, p := range s.Problems {
		check("problem "+p.EN, p)
	}
	for _, r := range s.Reasons {
		if r.Code == "" {
			out = append(out, s.Type+": a reason has no code")
		}
		check("reason "+r.Code+"'s title", r.Title)
		check("reason "+r.Code+"'s meaning", r.Means)
		check("reason "+r.Code+"'s fix", r.Fix)
		check("reason "+r.Code+"'s clause", r.Why)
	}
	return out
}

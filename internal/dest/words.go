package dest

import "github.com/hubtrack/hub/internal/domain"

// Words is one text a person reads, in English and Brazilian Portuguese (domain.Words, which
// spend's specs use too).
type Words = domain.Words

// TitleWords returns the destination's name in both languages.
func (s Spec) TitleWords() Words { return Words{EN: s.Title, PT: s.TitlePT} }

// DescriptionWords returns the destination's one-line description in both languages.
func (s Spec) DescriptionWords() Words { return Words{EN: s.Description, PT: s.DescriptionPT} }

// LabelWords returns the setting's label in both languages.
func (st Setting) LabelWords() Words { return Words{EN: st.Label, PT: st.LabelPT} }

// DescriptionWords returns the setting's help line in both languages.
func (st Setting) DescriptionWords() Words { return Words{EN: st.Description, PT: st.DescriptionPT} }

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

// MissingWords lists what the spec lacks for a person to read it in both languages: the
// title, the description, where a test event is seen (TestView), each setting's label and help line, each problem and each reason's
// words, in English and in Portuguese, with the same fmt verbs in both. Empty when complete; the dashboard's
// catalogue test and dest/all's test run it over every registered destination.
func (s Spec) MissingWords() []string {
	var out []string
	check := func(what string, w Words) {
		if l := w.Lacks(); l != "" {
			out = append(out, s.Type+": "+what+" "+l)
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

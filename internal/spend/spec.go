package spend

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/hubtrack/hub/internal/domain"
)

// Words is a text a person reads, in English and Brazilian Portuguese (domain.Words).
type Words = domain.Words

// Spec is what a Source declares about connecting an ad account, once, the way dest.Spec
// declares a destination's settings: the dashboard's Ad accounts page draws the connect form
// from it and names each refused field and problem in the reader's language with its words,
// and admin checks an account id and credentials with it before asking the platform. Neither
// names a platform or knows an account id's format.
type Spec struct {
	Platform Platform
	// Title is the platform's name (Meta, Google Ads).
	Title Words
	// Connect is the connect form's heading; How says what the tenant needs; Steps, when set,
	// say how to get it, in order.
	Connect, How Words
	Steps        []Words
	// AccountID is the account id's field (form name "account_id"), checked by CheckAccountID.
	AccountID Field
	// Credentials are the fields the credentials document is made of: one FieldDocument
	// field (the document, pasted whole), or FieldSecret fields, each a key of a JSON object
	// of strings (Meta's access_token). Document builds it from a form's values.
	Credentials []Field
	// Keys explain the keys of a pasted credentials document: where each value comes from.
	Keys []Key
	// Problems are the words of every problem CheckAccountID and CheckCredentials state:
	// English as stated (the API's reason), and Portuguese.
	Problems []Words
	// AdLinks, when set, are the URL parameters Hub recommends adding to the platform's ads
	// so each click names its ad: the setup page shows them, with where to paste them, and
	// checks that recent clicks carry the ad's id.
	AdLinks AdLinks
	// Order is the platform's place on the Ad accounts page, lowest first; 0 comes after every
	// numbered one; ties go by platform (Ordered).
	Order int
	// CheckAccountID returns the account id as the platform knows it ("act_123" is Meta's
	// 123), or the problem with it: its error's text is one of Problems, in English.
	CheckAccountID func(id string) (string, error)
	// CheckCredentials reads a credentials document the way the Source reads it and lists
	// every problem with it, each on the Credentials field it concerns and stated as one of
	// Problems; none when the Source can use it (the platform may still refuse it).
	CheckCredentials func(doc []byte) []domain.FieldError
}

// AdLinks are the URL parameters a platform fills in at each click (its macros), in a form
// domain.ParseAdRef reads into the ids the platform's Source imports spend for.
type AdLinks struct {
	// Parameters are pasted as they are ("utm_source=facebook&…"), the same in both
	// languages; empty when Hub recommends none for the platform.
	Parameters string
	// Where says where in the platform's ads manager to paste them; required with Parameters.
	Where Words
}

// FieldKind is how the connect form asks for a field.
type FieldKind string

// Field kinds; the zero value is one line of text, typed again after a refusal.
const (
	FieldText     FieldKind = ""
	FieldDigits   FieldKind = "digits"   // one line, with a numeric keyboard
	FieldSecret   FieldKind = "secret"   // a password input, never shown again
	FieldDocument FieldKind = "document" // a JSON document pasted whole, never shown again
)

// Field is one field of the connect form.
type Field struct {
	Name  string // the account id's is "account_id"; a credential's is its key in the document
	Label Words
	// Help, when set, says where the value is found.
	Help        Words
	Kind        FieldKind
	Placeholder string // an example of the value, the same in both languages
}

// Key is a key of a pasted credentials document, with where its value comes from.
type Key struct {
	Name string // as written in the document (developer_token)
	Help Words
}

// FieldAccountID is the account id's form field.
const FieldAccountID = "account_id"

// Field returns the field named name: the account id or a credential.
func (s Spec) Field(name string) (Field, bool) {
	if name == s.AccountID.Name {
		return s.AccountID, true
	}
	for _, f := range s.Credentials {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Problem returns the words of a problem this platform's checks state, by its English text.
func (s Spec) Problem(reason string) (Words, bool) {
	for _, p := range s.Problems {
		if p.EN == reason {
			return p, true
		}
	}
	return Words{}, false
}

// Document builds the credentials document from the form's values (value returns the value
// the tenant gave for a Credentials field): the document field's text as pasted, or a JSON
// object of the secret fields, each trimmed.
func (s Spec) Document(value func(name string) string) []byte {
	obj := map[string]string{}
	for _, f := range s.Credentials {
		v := strings.TrimSpace(value(f.Name))
		if f.Kind == FieldDocument {
			return []byte(v)
		}
		obj[f.Name] = v
	}
	b, _ := json.Marshal(obj)
	return b
}

// MissingWords lists what the spec lacks for a person to read it in both languages (the
// title, the form's heading and introduction, the steps, each field's label and help, each
// key's help, each problem and where to paste the ad links' URL parameters), and a field or check it lacks. Empty when complete; the
// conformance suite (spendtest) and spend/all's tests run it over every shipped Source.
func (s Spec) MissingWords() []string {
	var out []string
	check := func(what string, w Words) {
		if l := w.Lacks(); l != "" {
			out = append(out, string(s.Platform)+": "+what+" "+l)
		}
	}
	check("the title", s.Title)
	check("the connect heading", s.Connect)
	check("the introduction", s.How)
	for i, st := range s.Steps {
		check("step "+string(rune('1'+i)), st)
	}
	fields := append([]Field{s.AccountID}, s.Credentials...)
	for _, f := range fields {
		check("field "+f.Name+"'s label", f.Label)
		if f.Help != (Words{}) {
			check("field "+f.Name+"'s help", f.Help)
		}
	}
	for _, k := range s.Keys {
		check("key "+k.Name+"'s help", k.Help)
	}
	for _, p := range s.Problems {
		check("problem "+p.EN, p)
	}
	if s.AdLinks != (AdLinks{}) {
		check("where to paste the URL parameters", s.AdLinks.Where)
		if strings.TrimSpace(s.AdLinks.Parameters) == "" {
			out = append(out, string(s.Platform)+": the ad links say where to paste URL parameters but not which")
		}
	}
	if s.AccountID.Name != FieldAccountID || len(s.Credentials) == 0 || s.CheckAccountID == nil || s.CheckCredentials == nil {
		out = append(out, string(s.Platform)+": the spec lacks the account id field, a credential or a check")
	}
	return out
}

// Ordered returns the specs in the Ad accounts page's order: Order, lowest first, those
// without one (0) last, then by platform.
func Ordered(specs []Spec) []Spec {
	out := slices.Clone(specs)
	rank := func(s Spec) int {
		if s.Order == 0 {
			return math.MaxInt
		}
		return s.Order
	}
	slices.SortFunc(out, func(a, b Spec) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Platform, b.Platform))
	})
	return out
}

// The access token's field and problems, shared by the platforms whose credentials document
// is one access token (AccessToken: Meta, TikTok).
const (
	FieldAccessToken = "access_token"
	ProblemNoToken   = "paste the token"
	ProblemTokenGaps = "it contains spaces or line breaks; paste it again as it came"
)

// TokenProblems are the words of CheckAccessToken's problems; a platform whose credential is
// an access token lists them in its Spec.Problems.
var TokenProblems = []Words{
	{EN: ProblemNoToken, PT: "cole o token"},
	{EN: ProblemTokenGaps, PT: "ele tem espaços ou quebras de linha; cole de novo como veio"},
}

// AccessTokenField is the one credential of an AccessToken document, with the platform's
// label and help.
func AccessTokenField(label, help Words) Field {
	return Field{Name: FieldAccessToken, Label: label, Help: help, Kind: FieldSecret}
}

// CheckAccessToken lists the problems of an AccessToken document, on its access_token field.
func CheckAccessToken(doc []byte) []domain.FieldError {
	if _, p := accessToken(doc); p != "" {
		return []domain.FieldError{{Field: FieldAccessToken, Reason: p}}
	}
	return nil
}

// accessToken reads an AccessToken document: the token, or the problem with it.
func accessToken(doc []byte) (token, problem string) {
	var c AccessToken
	if json.Unmarshal(doc, &c) != nil || strings.TrimSpace(c.AccessToken) == "" {
		return "", ProblemNoToken
	}
	t := strings.TrimSpace(c.AccessToken)
	if strings.ContainsAny(t, " \r\n\t") {
		return "", ProblemTokenGaps
	}
	return t, ""
}

package dest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/redact"
)

// Setting declares one setting of a destination: the API validates it (CheckSettings and the
// destination's ValidateConfig), the dashboard's setup form shows it and the docs list it.
type Setting struct {
	Name        string // key in Config or Credentials, snake_case
	Label       string // short human name for the UI, in English
	Description string // one line for the UI and docs, in English
	// LabelPT and DescriptionPT are Label and Description in Brazilian Portuguese: the
	// dashboard shows a destination's words from its spec in both languages (Spec.MissingWords).
	LabelPT       string
	DescriptionPT string
	Kind          SettingKind
	Required      bool
	// Secret settings live in Credentials (stored encrypted, never logged, never returned by
	// the API); the others live in Config.
	Secret  bool
	Default string // used when the setting is absent or empty
	// Test marks the setting that routes events to the platform's test view (Meta's
	// test_event_code): a test send from the API or the dashboard requires it, so a test is
	// never counted as a real conversion.
	Test bool
	// Generate, on a secret setting, makes its value: Hub creates it when the destination is
	// created without it and on a rotation, and shows it once (the API's answer to the
	// creation or rotation, the dashboard page that follows), never again. The webhook's
	// whsec_ signing secret.
	Generate func() (string, error)
	// Previous names the secret setting that keeps the old value during a rotation of this
	// generated one (both are in use until it is removed).
	Previous string
	// Check, on a secret setting, states what is wrong with a value given for it (a reason
	// among the spec's Problems, never quoting the value), or "" when nothing is. It runs in
	// CheckCredentials, so the API, the dashboard, the operator's commands and Prepare refuse
	// the same values: a secret the destination cannot use is refused when it is given, not at
	// every delivery.
	Check func(value string) string
}

// SettingKind is a setting's type, for the setup form and the docs.
type SettingKind string

// Setting kinds; the zero value is text.
const (
	KindText   SettingKind = ""
	KindBool   SettingKind = "bool"   // "true" or "false"
	KindEvents SettingKind = "events" // SettingEvents: comma-separated event names
)

// Identifier names a buyer or click identifier a destination sends (User's fields, by their
// platform-neutral name), so the docs and the dashboard can say what leaves Hub for it.
type Identifier string

// Identifiers.
const (
	IDEmail      Identifier = "email"
	IDPhone      Identifier = "phone"
	IDName       Identifier = "name"
	IDAddress    Identifier = "address" // city, state, zip, country (Google: postal and region codes)
	IDBirthGen   Identifier = "date_of_birth_gender"
	IDExternalID Identifier = "external_id"
	IDNationalID Identifier = "national_id" // only when the destination's settings opt in
	IDClientIP   Identifier = "client_ip"
	IDUserAgent  Identifier = "user_agent"
	IDFBC        Identifier = "fbc" // Meta's click: _fbc cookie, or built from the fbclid
	IDFBP        Identifier = "fbp"
	IDGAClientID Identifier = "ga_client_id"
	IDGASession  Identifier = "ga_session" // the _ga_<container> cookie's session id
	IDGCLID      Identifier = "gclid"      // with gbraid and wbraid
	IDTTCLID     Identifier = "ttclid"
	IDTTP        Identifier = "ttp"
)

// Has reports whether u carries identifier id, so the dashboard can say which identifiers an
// event sent (by name, never their values).
func (u User) Has(id Identifier) bool {
	switch id {
	case IDEmail:
		return len(u.Emails) > 0 || len(u.GoogleEmails) > 0
	case IDPhone:
		return len(u.Phones) > 0 || len(u.GooglePhones) > 0
	case IDName:
		return u.FirstName != "" || u.LastName != "" || u.GoogleFirstName != "" || u.GoogleLastName != ""
	case IDAddress:
		return u.City != "" || u.State != "" || u.Zip != "" || u.Country != "" || u.GooglePostalCode != "" || u.GoogleRegionCode != ""
	case IDBirthGen:
		return u.DateOfBirth != "" || u.Gender != ""
	case IDExternalID:
		return len(u.ExternalIDs) > 0
	case IDNationalID:
		return len(u.NationalIDs) > 0
	case IDClientIP:
		return u.ClientIP != ""
	case IDUserAgent:
		return u.UserAgent != ""
	case IDFBC:
		return u.FBC != "" || (u.FBCLID != "" && !u.FBCLIDAt.IsZero())
	case IDFBP:
		return u.FBP != ""
	case IDGAClientID:
		return u.GAClientID != ""
	case IDGASession:
		return u.GASessions != ""
	case IDGCLID:
		return u.GCLID != "" || u.GBRAID != "" || u.WBRAID != ""
	case IDTTCLID:
		return u.TTCLID != ""
	case IDTTP:
		return u.TTP != ""
	}
	return false
}

// Spec is what a destination declares about itself, once: the API, the dashboard, the
// delivery worker and the docs read it, so none of them names a platform.
type Spec struct {
	Type        string
	Title       string // in English, for the API, the docs and the dashboard
	Description string // in English
	// TitlePT and DescriptionPT are Title and Description in Brazilian Portuguese.
	TitlePT       string
	DescriptionPT string
	// Problems are the words of the validation problems only this destination's ValidateConfig
	// states (Reason, in English as stated, and Portuguese); problems every destination may
	// state (required, must be digits only…) are the dashboard's own.
	Problems []Words
	// Reasons are the delivery reasons only this destination gives (GA4's no_client_id), with
	// their explanation in both languages; the reasons every destination may give are the
	// seam's (dest.Reason…) and the dashboard explains them. The dashboard reads these from the
	// registry, so a destination's reason adds no line outside its folder.
	Reasons []Reason
	// Docs is the destination's page, relative to docs/destinations/ (meta.md).
	Docs string
	// Onboarding is the destination's place on the setup page, Hub's product choice written as
	// data (Meta first, for the Brazilian sellers Hub is made for): the checklist offers the
	// destinations in this order and links the first one's docs page, and the add forms follow
	// it. Lowest first; 0 comes after every numbered one; ties go by type (Registry.Onboarding).
	Onboarding int
	// TestView says, in both languages, where a person sees the test event the destination
	// was sent (Meta: Events Manager > the pixel > Test events): the setup checklist's test
	// step ends with it.
	TestView Words
	Settings []Setting
	// Operator lists the operator's settings (environment variables, internal/config) the
	// destination receives in Env at construction: base URLs, API versions.
	Operator []OperatorSetting
	// Identifiers lists what the destination sends of the buyer and the click.
	Identifiers []Identifier
	// Keys lists the identifier keys the destination reports for each event it sends
	// (KeyReporter), in the order the identifier coverage shows them; a key it never sent in a
	// period is shown with a share of 0. Empty for a destination that reports none.
	Keys []Keys
	// MaxBatch is the most events one Send accepts (Meta: 1,000).
	MaxBatch int
	// MaxEventAge is the oldest event the platform accepts; the delivery worker stops retrying
	// before it (Meta: 7 days).
	MaxEventAge time.Duration
	// DedupWindow is how long after receiving an event the platform drops a repeat of its
	// idempotency key (Meta and TikTok: 48 hours); zero means it always does, or treats a
	// repeat as an adjustment of the same conversion (Google Ads, GA4, a webhook receiver). A
	// replay of a delivered event past the window is refused unless the operator forces it:
	// the platform may count it twice.
	DedupWindow time.Duration
	// Unconfirmed declares a platform that answers success to whatever it receives (GA4's
	// Measurement Protocol: 2xx even for a malformed event or a wrong secret), so a Delivered
	// outcome means "sent", not "accepted". Such a destination must have a Test setting that
	// makes the platform validate instead (its test send), and desttest runs its documented
	// variant for it.
	Unconfirmed bool
	// Timeout bounds one Send (its HTTP client gives up then); a delivery job's timeout is
	// sized from the longest of the registered destinations' (delivery.JobTimeout).
	Timeout time.Duration
	// RequestsPerMinute is the platform's request quota, when it publishes one (Google's Data
	// Manager API: 300 per minute per Cloud project); zero is none. The delivery worker takes
	// one token per request from a token bucket per destination in the cache, shared by every
	// replica, and holds a batch back (its jobs snooze, nothing is sent or lost) when it is
	// empty.
	RequestsPerMinute int
	// OrderHistory asks the delivery worker for the order's status history in Event.Order
	// (one more read per event, so only the destinations that send it ask).
	OrderHistory bool
	// Concurrency bounds the sends one destination has on the wire at once, per replica, so a
	// slow endpoint cannot hold every delivery worker; 0 is no bound. A destination that
	// declares SettingConcurrency lets its owner change it (Concurrency is then its default).
	Concurrency int
	// MarksTests says the destination marks a test send itself (Event.Test: the webhook's
	// type "test"), so the Test action needs no test setting (TestSetting) for it.
	MarksTests bool
	// Notices lists the notices (dest.Notices: refunds, chargebacks, cancellations, dead
	// deliveries) the destination sends; the others, and every destination that lists none,
	// refuse them in the events setting and are never planned a delivery of one (Sends).
	Notices []string
	// Alerts says the destination takes Hub's operational alerts (Event.Alert: AlertRaised,
	// AlertResolved), which are sent to every enabled destination that declares it, whatever its
	// events setting.
	Alerts bool
}

// CanTest reports whether a test send to a destination with cfg is never counted as a real
// conversion: it marks tests itself, or its test setting is set. The setting is returned when
// the destination has one, to name it when it is unset.
func (s Spec) CanTest(cfg Config) (Setting, bool) {
	ts, ok := s.TestSetting()
	if s.MarksTests {
		return ts, true
	}
	return ts, ok && cfg.Get(s, ts.Name) != ""
}

// SettingConcurrency is the setting, in every destination that declares it, that bounds its
// sends on the wire at once (Spec.Concurrency).
const SettingConcurrency = "max_concurrency"

// MaxConcurrency is the highest SettingConcurrency a destination accepts.
const MaxConcurrency = 50

// ConcurrencyLimit is the bound on cfg's destination's sends at once: its SettingConcurrency
// when the spec declares it and it holds a number from 1 to MaxConcurrency, else
// Spec.Concurrency (0: no bound).
func ConcurrencyLimit(spec Spec, cfg Config) int {
	if _, ok := spec.Setting(SettingConcurrency); ok {
		if n, err := strconv.Atoi(cfg.Get(spec, SettingConcurrency)); err == nil && n >= 1 && n <= MaxConcurrency {
			return n
		}
	}
	return spec.Concurrency
}

// TestSetting returns the setting marked Test, if the destination has one.
func (s Spec) TestSetting() (Setting, bool) {
	for _, st := range s.Settings {
		if st.Test {
			return st, true
		}
	}
	return Setting{}, false
}

// Generated returns the settings whose value Hub generates (Setting.Generate).
func (s Spec) Generated() []Setting {
	var out []Setting
	for _, st := range s.Settings {
		if st.Generate != nil {
			out = append(out, st)
		}
	}
	return out
}

// Setting returns the named setting.
func (s Spec) Setting(name string) (Setting, bool) {
	for _, st := range s.Settings {
		if st.Name == name {
			return st, true
		}
	}
	return Setting{}, false
}

// Config holds a destination's non-secret settings by name (pixel id, API version, ...).
type Config map[string]string

// Get returns the value of name, or the spec's default when absent or blank.
func (c Config) Get(spec Spec, name string) string {
	if v := strings.TrimSpace(c[name]); v != "" {
		return v
	}
	if st, ok := spec.Setting(name); ok {
		return st.Default
	}
	return ""
}

// Credentials holds a destination's secret settings (access tokens). It is opaque on purpose:
// printing, logging or JSON-encoding it shows "[REDACTED]", so a token cannot leak through a
// log line or an error built with %v.
type Credentials struct {
	values map[string]string
}

// NewCredentials copies values into Credentials.
func NewCredentials(values map[string]string) Credentials {
	return Credentials{values: maps.Clone(values)}
}

// Get returns the secret named name.
func (c Credentials) Get(name string) string { return c.values[name] }

// Names returns the names of the secrets set, sorted.
func (c Credentials) Names() []string { return slices.Sorted(maps.Keys(c.values)) }

const redacted = redact.Mark

func (Credentials) String() string   { return redacted }
func (Credentials) GoString() string { return redacted }

// LogValue keeps secrets out of slog output.
func (Credentials) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON keeps secrets out of JSON output; store them through NewCredentials/Get and the
// secret box, never by encoding this type.
func (Credentials) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// ConfigError lists every problem found in a destination's settings.
type ConfigError struct {
	Type     string
	Problems []domain.FieldError
}

func (e *ConfigError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Reason
	}
	return fmt.Sprintf("dest: %s: invalid settings: %s", e.Type, strings.Join(parts, "; "))
}

// Add records a problem.
func (e *ConfigError) Add(field, reason string) {
	e.Problems = append(e.Problems, domain.FieldError{Field: field, Reason: reason})
}

// Err returns e when it holds problems, else nil.
func (e *ConfigError) Err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

// CheckSettings applies the spec to cfg: required non-secret settings are present, unknown
// names are refused, secrets are not put in Config, and the events setting lists no notice the
// destination does not send (Spec.Sends). Destinations add their own format
// checks to the returned *ConfigError.
func CheckSettings(spec Spec, cfg Config) *ConfigError {
	ce := &ConfigError{Type: spec.Type}
	for _, name := range slices.Sorted(maps.Keys(cfg)) {
		st, ok := spec.Setting(name)
		switch {
		case !ok:
			ce.Add(name, "unknown setting")
		case st.Secret:
			ce.Add(name, "secret; belongs in the credentials, not the settings")
		}
	}
	for _, st := range spec.Settings {
		if st.Required && !st.Secret && cfg.Get(spec, st.Name) == "" {
			ce.Add(st.Name, "required")
		}
	}
	CheckNotices(spec, ce, SettingEvents, EventNames(cfg))
	return ce
}

// CheckCredentials checks that every required secret is present, no unknown one is, and every
// one given passes its setting's Check.
func CheckCredentials(spec Spec, creds Credentials) *ConfigError {
	ce := &ConfigError{Type: spec.Type}
	for _, name := range creds.Names() {
		if st, ok := spec.Setting(name); !ok || !st.Secret {
			ce.Add(name, "unknown secret")
		}
	}
	for _, st := range spec.Settings {
		v := strings.TrimSpace(creds.Get(st.Name))
		switch {
		case st.Required && st.Secret && v == "":
			ce.Add(st.Name, "required")
		case st.Secret && st.Check != nil && v != "":
			if reason := st.Check(v); reason != "" {
				ce.Add(st.Name, reason)
			}
		}
	}
	return ce
}

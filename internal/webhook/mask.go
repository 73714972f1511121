package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
)

// Sensitive declares where a gateway's deliveries carry data that views must mask: the
// gateway's shared secret (Hotmart's hottok, PerfectPay's and Ticto's token, Monetizze's
// chave_unica, Braip's basic_authentication, signature headers) and personal data (names,
// e-mail addresses, phones, CPF/CNPJ and other documents, postal addresses, IP addresses).
//
// The inbox keeps every delivery byte for byte, so it can be verified and parsed again; every
// view of it (API, dashboard, logs) goes through MaskBody, MaskHeaders and MaskQuery with the
// adapter's declaration (Spec.Sensitive).
//
// A body path names a field by its keys from the root, separated by dots: "data.buyer.email".
// Form bodies use the same paths for PHP-style keys: comprador[email] is "comprador.email" and
// comissoes[0][email] is "comissoes.0.email". A segment is a path.Match pattern ("client_*",
// "*" for any one key or array index) and "**" stands for any number of segments, so
// "**.email" is an "email" key at any depth. Keys compare case-insensitively (Unicode simple
// folding), as encoding/json matches them when an adapter decodes the body. A path that names
// an object or array masks all of it.
type Sensitive struct {
	// Secret lists the body paths that carry the gateway's secret, or a value derived from it.
	// No view ever shows them, not even to an admin.
	Secret []string
	// PII lists the body paths that carry personal data. Only an admin who asks for it
	// explicitly (an audited reveal) sees them.
	PII []string
	// Embedded lists the body paths whose string value is itself a JSON document (Monetizze's
	// form field "json"). It is masked with the same Secret and PII paths, taken from its own
	// root.
	Embedded []string
	// SecretHeaders and SecretQuery name the request headers and URL query parameters that
	// carry the secret or a signature made with it.
	SecretHeaders []string
	SecretQuery   []string
}

// What masked values are replaced with. Null and empty values are kept as they are: they
// reveal nothing, and seeing that a field was empty helps to debug a delivery.
const (
	SecretMask = "[secret]"
	PIIMask    = "•••"
)

// Fields masked for every gateway on top of its own declaration: a safety net for deliveries
// that carry a known field somewhere the adapter's fixtures do not show it.
var (
	commonSecret = []string{"**.hottok", "**.token", "**.chave_unica", "**.basic_authentication", "**.secret",
		"**.password", "**.api_key", "**.access_token"}
	commonPII = []string{"**.email", "**.*_email", "**.e-mail", "**.cpf", "**.cnpj", "**.cnpj_cpf", "**.cpf_cnpj",
		"**.tax_id", "**.document", "**.documento", "**.phone", "**.telefone", "**.cellphone", "**.celular",
		"**.mobile"}
	// Header and query names containing one of these carry a credential or a signature.
	secretNameParts = []string{"signature", "token", "hmac", "secret", "authorization", "cookie", "hottok",
		"api-key", "apikey", "password"}
)

// maxMaskDepth bounds how deep MaskBody walks; a deeper body is withheld whole. Real
// deliveries nest a handful of levels.
const maxMaskDepth = 64

// masker is a Sensitive declaration compiled for matching.
type masker struct {
	secret, pii, embedded [][]string
	revealPII             bool
}

func newMasker(s Sensitive, revealPII bool) *masker {
	m := &masker{revealPII: revealPII}
	comp := func(paths ...[]string) [][]string {
		var out [][]string
		for _, ps := range paths {
			for _, p := range ps {
				out = append(out, strings.Split(fold(p), "."))
			}
		}
		return out
	}
	m.secret = comp(s.Secret, commonSecret)
	m.pii = comp(s.PII, commonPII)
	m.embedded = comp(s.Embedded)
	return m
}

type class int

const (
	plain class = iota
	secret
	personal
)

// classOf says how the value at path (already folded) must be shown.
func (m *masker) classOf(path []string) class {
	for _, p := range m.secret {
		if matchPath(p, path) {
			return secret
		}
	}
	if !m.revealPII {
		for _, p := range m.pii {
			if matchPath(p, path) {
				return personal
			}
		}
	}
	return plain
}

func (m *masker) isEmbedded(path []string) bool {
	for _, p := range m.embedded {
		if matchPath(p, path) {
			return true
		}
	}
	return false
}

func (c class) mask() string {
	if c == secret {
		return SecretMask
	}
	return PIIMask
}

// matchPath reports whether the folded path matches the folded pattern, segment by segment.
func matchPath(pat, p []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(p); i++ {
				if matchPath(pat[1:], p[i:]) {
					return true
				}
			}
			return false
		}
		if len(p) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], p[0]); err != nil || !ok {
			return false
		}
		pat, p = pat[1:], p[1:]
	}
	return len(p) == 0
}

// fold maps every rune to the smallest rune of its Unicode simple-folding orbit, so two keys
// fold to the same string exactly when strings.EqualFold (and encoding/json) call them equal.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}

// MaskBody returns a copy of body (received with contentType) in which the values at s's
// secret paths read SecretMask and, unless revealPII, those at its personal-data paths read
// PIIMask. JSON and form-encoded bodies are rewritten keeping the order of the keys and the
// exact text of every value left alone (JSON loses its insignificant white space). A body
// that reads as neither, or that is nested deeper than a real delivery, cannot be masked field
// by field and is withheld whole, for everyone: the stored body stays available for
// reprocessing. body itself is never modified.
func MaskBody(body []byte, contentType string, s Sensitive, revealPII bool) []byte {
	m := newMasker(s, revealPII)
	out, ok := m.body(body, contentType, 0)
	if !ok {
		return []byte(withheld(len(body)))
	}
	return out
}

// embeddedWithheld replaces an embedded document that is not JSON.
const embeddedWithheld = "[withheld: not JSON, so it cannot be masked field by field]"

func withheld(n int) string {
	return fmt.Sprintf("[body withheld: %d bytes that read as neither JSON nor form data, so they cannot be masked field by field]", n)
}

func (m *masker) body(body []byte, contentType string, depth int) ([]byte, bool) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return body, true
	}
	media, _, _ := mime.ParseMediaType(contentType)
	if t[0] == '{' || t[0] == '[' || strings.HasSuffix(media, "json") {
		return m.json(body, depth)
	}
	if out, ok := m.form(string(body), depth); ok {
		return out, true
	}
	// Not form data (a JSON scalar such as "a;b" under a form content type): a body that is
	// one JSON value is masked as JSON, so it stays JSON.
	return m.json(body, depth)
}

// json masks a JSON document; ok is false when body is not exactly one JSON value.
func (m *masker) json(body []byte, depth int) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, false
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return nil, false // data after the value
	}
	var out bytes.Buffer
	if !m.jsonValue(raw, nil, depth, &out) {
		return nil, false
	}
	return out.Bytes(), true
}

// jsonValue writes the masked form of raw, found at path, to out.
func (m *masker) jsonValue(raw json.RawMessage, p []string, depth int, out *bytes.Buffer) bool {
	if depth > maxMaskDepth {
		return false
	}
	raw = bytes.TrimSpace(raw)
	if len(p) > 0 {
		if c := m.classOf(p); c != plain {
			if isEmptyJSON(raw) {
				out.Write(raw)
			} else {
				writeJSONString(out, c.mask())
			}
			return true
		}
		if raw[0] == '"' && m.isEmbedded(p) {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return false
			}
			if strings.TrimSpace(s) == "" {
				out.Write(raw)
				return true
			}
			inner, ok := m.json([]byte(s), depth+1)
			if !ok {
				inner = []byte(embeddedWithheld)
			}
			writeJSONString(out, string(inner))
			return true
		}
	}
	switch raw[0] {
	case '{':
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			return false
		}
		out.WriteByte('{')
		for i := 0; dec.More(); i++ {
			kt, err := dec.Token()
			if err != nil {
				return false
			}
			key, _ := kt.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return false
			}
			if i > 0 {
				out.WriteByte(',')
			}
			writeJSONString(out, key)
			out.WriteByte(':')
			if !m.jsonValue(v, append(p[:len(p):len(p)], fold(key)), depth+1, out) {
				return false
			}
		}
		out.WriteByte('}')
	case '[':
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			return false
		}
		out.WriteByte('[')
		for i := 0; dec.More(); i++ {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return false
			}
			if i > 0 {
				out.WriteByte(',')
			}
			if !m.jsonValue(v, append(p[:len(p):len(p)], strconv.Itoa(i)), depth+1, out) {
				return false
			}
		}
		out.WriteByte(']')
	default:
		out.Write(raw)
	}
	return true
}

func isEmptyJSON(raw []byte) bool {
	switch string(raw) {
	case "null", `""`, "[]", "{}":
		return true
	}
	return false
}

func writeJSONString(out *bytes.Buffer, s string) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out.Truncate(out.Len() - 1)
}

// form masks an application/x-www-form-urlencoded body pair by pair; ok is false when it does
// not parse as url.ParseQuery parses it (the adapters read form bodies with it).
func (m *masker) form(body string, depth int) ([]byte, bool) {
	if _, err := url.ParseQuery(body); err != nil {
		return nil, false
	}
	pairs := strings.Split(body, "&")
	for i, pair := range pairs {
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, false // ParseQuery accepted it, so this cannot happen
		}
		if val == "" { // nothing to hide; a value of spaces is masked like any other
			continue
		}
		segs := formKey(fold(key))
		switch c := m.formClass(segs); {
		case c != plain:
			pairs[i] = k + "=" + url.QueryEscape(c.mask())
		case m.isEmbedded(segs):
			inner, ok := m.json([]byte(val), depth+1)
			if !ok {
				inner = []byte(embeddedWithheld)
			}
			pairs[i] = k + "=" + url.QueryEscape(string(inner))
		}
	}
	return []byte(strings.Join(pairs, "&")), true
}

// formClass classifies a form key: the key or any of its parents (comprador for
// comprador[email]) may be declared.
func (m *masker) formClass(segs []string) class {
	worst := plain
	for n := 1; n <= len(segs); n++ {
		switch m.classOf(segs[:n]) {
		case secret:
			return secret
		case personal:
			worst = personal
		}
	}
	return worst
}

// formKey splits a PHP-style form key into path segments: a[b][0] is a, b, 0. Text after a
// closing bracket that opens no new one is kept as a last segment.
func formKey(key string) []string {
	name, rest, found := strings.Cut(key, "[")
	segs := []string{name}
	for found && rest != "" {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return append(segs, rest)
		}
		segs = append(segs, rest[:end])
		rest = rest[end+1:]
		if rest == "" {
			break
		}
		if rest[0] != '[' {
			return append(segs, rest)
		}
		rest = rest[1:]
	}
	return segs
}

// MaskHeaders returns a copy of stored request headers with the values of the declared secret
// headers, and of any header whose name says it carries a credential or signature, replaced by
// SecretMask.
func MaskHeaders(h map[string]string, s Sensitive) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if v != "" && secretName(k, s.SecretHeaders) {
			v = SecretMask
		}
		out[k] = v
	}
	return out
}

// MaskQuery returns the stored raw query string with the values of the declared secret
// parameters, and of any parameter whose name says it carries a credential or signature,
// replaced by SecretMask. A query that does not parse is withheld.
func MaskQuery(q string, s Sensitive) string {
	if q == "" {
		return ""
	}
	if _, err := url.ParseQuery(q); err != nil {
		return "[query withheld: it does not parse]"
	}
	pairs := strings.Split(q, "&")
	for i, pair := range pairs {
		k, v, _ := strings.Cut(pair, "=")
		key, _ := url.QueryUnescape(k)
		if v != "" && secretName(key, s.SecretQuery) {
			pairs[i] = k + "=" + url.QueryEscape(SecretMask)
		}
	}
	return strings.Join(pairs, "&")
}

func secretName(name string, declared []string) bool {
	for _, d := range declared {
		if strings.EqualFold(name, d) {
			return true
		}
	}
	l := strings.ToLower(name)
	for _, part := range secretNameParts {
		if strings.Contains(l, part) {
			return true
		}
	}
	return false
}

// SensitiveOf returns a's declaration (its Spec's Sensitive); ok is false for an adapter that
// declares nothing.
func SensitiveOf(a Adapter) (s Sensitive, ok bool) {
	s = a.Spec().Sensitive
	return s, s.declared()
}

// Masked is a stored delivery as a view may show it.
type Masked struct {
	Header map[string]string
	Query  string
	Body   []byte
}

// MaskDelivery masks a stored delivery of provider for a view, using the adapter registered in
// r. The body of a provider without an adapter or a declaration is withheld whole.
func (r *Registry) MaskDelivery(provider string, header map[string]string, query string, body []byte, revealPII bool) Masked {
	var s Sensitive
	ok := false
	if a, found := r.Lookup(provider); found {
		s, ok = SensitiveOf(a)
	}
	out := Masked{Header: MaskHeaders(header, s), Query: MaskQuery(query, s)}
	if !ok && len(body) > 0 {
		out.Body = []byte(fmt.Sprintf("[body withheld: no masking declaration for provider %q]", provider))
		return out
	}
	out.Body = MaskBody(body, headerValue(header, "Content-Type"), s, revealPII)
	return out
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

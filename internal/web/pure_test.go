package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

func TestLocale(t *testing.T) {
	t.Parallel()
	tests := []struct {
		l          locale
		n          int64
		int        string
		minor      int64
		cur, money string
		ratio      float64
		percent    string
	}{
		{localeEN, 1234567, "1,234,567", 123456, "BRL", "R$\u00a01,234.56", 0.5, "50.0\u00a0%"},
		{localePT, 1234567, "1.234.567", 123456, "BRL", "R$\u00a01.234,56", 0.123, "12,3\u00a0%"},
		{localePT, -1000, "-1.000", 500, "JPY", "JPY\u00a0500", 1, "100,0\u00a0%"},
		{localeEN, 0, "0", 5, "USD", "$\u00a00.05", 0, "0.0\u00a0%"},
		{localePT, 999, "999", -19700, "EUR", "€\u00a0-197,00", 0.0005, "0,1\u00a0%"},
	}
	for _, tc := range tests {
		if got := tc.l.Int(tc.n); got != tc.int {
			t.Errorf("%s Int(%d) = %q, want %q", tc.l.Tag, tc.n, got, tc.int)
		}
		if got := tc.l.Money(tc.minor, tc.cur); got != tc.money {
			t.Errorf("%s Money(%d, %s) = %q, want %q", tc.l.Tag, tc.minor, tc.cur, got, tc.money)
		}
		if got := tc.l.Percent(tc.ratio); got != tc.percent {
			t.Errorf("%s Percent(%v) = %q, want %q", tc.l.Tag, tc.ratio, got, tc.percent)
		}
	}
}

func TestLocaleOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target, accept, cookie, want string
	}{
		{"/", "pt-BR,pt;q=0.9", "", "pt-BR"},
		{"/", "en-US", "", "en"},
		{"/", "", "", "en"},
		{"/?lang=pt-BR", "en-US", "", "pt-BR"},
		{"/", "en-US", "pt-BR", "pt-BR"},
		{"/?lang=en", "pt-BR", "pt-BR", "en"},
		{"/", "fr-FR,pt-BR;q=0.8,en;q=0.5", "", "pt-BR"},
	}
	for _, tc := range tests {
		r, _ := http.NewRequest(http.MethodGet, tc.target, nil)
		r.Header.Set("Accept-Language", tc.accept)
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "hub_lang", Value: tc.cookie})
		}
		if got := localeOf(r).Tag; got != tc.want {
			t.Errorf("localeOf(%s, %q, %q) = %s, want %s", tc.target, tc.accept, tc.cookie, got, tc.want)
		}
	}
	// The signed-in user's saved language comes after ?lang= and before the cookie.
	saved := []struct {
		target, saved, cookie, want string
	}{
		{"/", "pt-BR", "", "pt-BR"},
		{"/", "pt-BR", "en", "pt-BR"},
		{"/", "en", "pt-BR", "en"},
		{"/?lang=en", "pt-BR", "", "en"},
		{"/", "", "pt-BR", "pt-BR"},
	}
	for _, tc := range saved {
		r, _ := http.NewRequest(http.MethodGet, tc.target, nil)
		r.Header.Set("Accept-Language", "en")
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "hub_lang", Value: tc.cookie})
		}
		if got := localeFor(r, tc.saved).Tag; got != tc.want {
			t.Errorf("localeFor(%s, saved %q, cookie %q) = %s, want %s", tc.target, tc.saved, tc.cookie, got, tc.want)
		}
	}
}

func TestPassword(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash format: %s", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{"", "x", false},
		{"$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$a2V5", "x", false},
		{strings.Replace(h, "m=19456", "m=99999999", 1), "correct horse battery", false},
		{h[:len(h)-4], "correct horse battery", false},
	} {
		if got := CheckPassword(tc.hash, tc.pw); got != tc.want {
			t.Errorf("CheckPassword(%q, %q) = %v, want %v", tc.hash, tc.pw, got, tc.want)
		}
	}
}

// TestSafeNext: each input is what the login form or ?next= carries after the server's own
// query decoding, and the expected result is what a browser must be sent. An input a browser
// would resolve to another host (after stripping tab/CR/LF and reading "\\" as "/") falls back
// to "/"; a path that stays on this origin is kept as it is.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, why string }{
		{"/orders?status=paid", "/orders?status=paid", "plain path and query"},
		{"/orders/0190a1b2#history", "/orders/0190a1b2#history", "fragment"},
		{"/", "/", "root"},
		{"", "/", "empty"},
		{"orders", "/", "relative path"},
		{"https://evil.example", "/", "absolute URL"},
		{"javascript:alert(1)", "/", "scheme"},
		{"//evil.example", "/", "scheme-relative"},
		{"///evil.example", "/", "three slashes: browsers read a host after them"},
		{"/\\evil.example", "/", "backslash: browsers read it as a slash"},
		{"\\\\evil.example", "/", "two backslashes"},
		{"/\t/evil.example", "/", "tab between the slashes (?next=/%09/evil.example)"},
		{"/\r\n/evil.example", "/", "CR LF between the slashes"},
		{"/\n\\evil.example", "/", "LF then backslash"},
		{"\t//evil.example", "/", "leading tab"},
		{" //evil.example", "/", "leading space, trimmed by browsers"},
		{"\x00//evil.example", "/", "leading NUL, trimmed by browsers"},
		{"/\x00evil", "/", "control character inside"},
		{"/a\\b", "/", "backslash later in the path"},
		{"/%09/evil.example", "/%09/evil.example", "escaped tab stays in the path: same origin"},
		{"/%5Cevil.example", "/%5Cevil.example", "escaped backslash is never decoded by a browser"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example", "escaped slashes stay in the path"},
		{"/.//evil.example", "/.//evil.example", "dot segment: resolves to the path //evil.example of this host"},
		{"/orders?next=//evil.example", "/orders?next=//evil.example", "// in the query is data"},
		{"http:/evil.example", "/", "scheme with one slash"},
		{"/ /evil", "/ /evil", "space inside a path is a path"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("%s: safeNext(%q) = %q, want %q", tc.why, tc.in, got, tc.want)
		}
	}
}

// TestLoginNextRedirect: the redirect after a successful login never leaves the site, whatever
// ?next= carried (the issue's /%09/evil.example became //evil.example in the browser).
func TestLoginNextRedirect(t *testing.T) {
	e := newEnv(t, backends[0])
	c := e.client()
	tok := c.csrf("/welcome")
	c.post("/welcome", url.Values{"csrf": {tok}, "key": {e.key}, "email": {"ana@example.com"}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}})
	for raw, want := range map[string]string{
		"/%09/evil.example": "/", "/%5Cevil.example": "/", "%2F%0D%0A%2Fevil.example": "/", "/orders": "/orders",
	} {
		c := e.client()
		next, err := url.QueryUnescape(raw)
		if err != nil {
			t.Fatal(err)
		}
		tok := c.csrf("/login?next=" + raw)
		r := c.post("/login", url.Values{"csrf": {tok}, "email": {"ana@example.com"}, "password": {"correct horse battery"}, "next": {next}})
		if r.status != http.StatusSeeOther || r.location != want {
			t.Errorf("next=%s: %d to %q, want 303 to %q", raw, r.status, r.location, want)
		}
	}
}

func TestRawWebhook(t *testing.T) {
	t.Parallel()
	e := store.InboxEntry{Provider: "hotmart", Headers: map[string]string{"Content-Type": "application/json"},
		Body: []byte(`{"hottok":"s3cr3t","data":{"buyer":{"email":"a@b.c","name":"Ana","checkout_phone":"119","document":"000"},"purchase":{"transaction":"HP1","price":{"value":197}}},"list":[{"email":"x@y.z"}]}`)}
	got := rawWebhook(e, false)
	for _, leak := range []string{"s3cr3t", "a@b.c", "Ana", "119", "000", "x@y.z"} {
		if strings.Contains(got, leak) {
			t.Errorf("masked body shows %q:\n%s", leak, got)
		}
	}
	for _, keep := range []string{"HP1", "197", "\n  "} {
		if !strings.Contains(got, keep) {
			t.Errorf("masked body lost %q:\n%s", keep, got)
		}
	}
	if got := rawWebhook(e, true); strings.Contains(got, "s3cr3t") || !strings.Contains(got, "a@b.c") {
		t.Errorf("revealed body:\n%s", got)
	}
	form := store.InboxEntry{Provider: "monetizze", Body: []byte("chave_unica=s3cr3t&comprador%5Bemail%5D=a%40b.c&venda%5Bcodigo%5D=1")}
	if got, want := rawWebhook(form, false), "chave_unica = [secret]\ncomprador[email] = •••\nvenda[codigo] = 1"; got != want {
		t.Errorf("form body:\n%s\nwant\n%s", got, want)
	}
	if got := rawWebhook(store.InboxEntry{Provider: "hotmart", Body: []byte(`{"hottok":"s3cr3t"`)}, true); strings.Contains(got, "s3cr3t") {
		t.Errorf("unreadable body shown: %s", got)
	}
}

// TestLoginRateLimit: after the burst, even the right password is refused until the bucket
// refills, and a wrong password never logs in.
func TestLoginRateLimit(t *testing.T) {
	// The clock stands still, so the account's back-off cannot run out while the slow password
	// hashing of the attempts below takes its time on a loaded machine.
	clock := newFakeClock()
	e := newEnvWith(t, backends[0], func(c *Config) { c.Now = clock.Now })
	c := e.client()
	tok := c.csrf("/welcome")
	c.post("/welcome", url.Values{"csrf": {tok}, "key": {e.key}, "email": {"ana@example.com"}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}})
	c2 := e.client()
	tok = c2.csrf("/login")
	if r := c2.post("/login", url.Values{"csrf": {tok}, "email": {"ana@example.com"}, "password": {"wrong password!"}}); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.status)
	}
	limited := false
	for range 12 {
		r := c2.post("/login", url.Values{"csrf": {tok}, "email": {"ana@example.com"}, "password": {"wrong password!"}})
		if r.status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("no rate limit after 13 attempts")
	}
	if r := c2.post("/login", url.Values{"csrf": {tok}, "email": {"ana@example.com"}, "password": {"correct horse battery"}}); r.status != http.StatusTooManyRequests {
		t.Errorf("right password while limited: %d", r.status)
	}
	c3 := e.client()
	if r := c3.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}}); r.status != http.StatusForbidden {
		t.Errorf("login without the pre-login CSRF cookie: %d", r.status)
	}
}

// A replay from the order page or "replay all" says how many went back on the queue and why
// the others cannot be sent again.
func TestReplayFlashSaysWhatWasSkipped(t *testing.T) {
	t.Parallel()
	why := "this purchase is older than the 7 days Meta Conversions API accepts; it cannot be sent again"
	res := delivery.ReplayResult{Queued: 2, Skipped: []delivery.ReplaySkip{
		{DeliveryID: "d1", Reason: dest.ReasonStale, Detail: why}, {DeliveryID: "d2", Reason: dest.ReasonStale, Detail: why}}}
	flash := func(l locale, q url.Values) string {
		r, _ := http.NewRequest(http.MethodGet, "/failures?"+q.Encode(), nil)
		return flashText(l, r)
	}
	if got, want := flash(localeEN, replayFlash(res)), "2 deliveries put back on the queue. 2 not sent again: older than the platform accepts (Meta: 7 days)."; got != want {
		t.Fatalf("flash %q, want %q", got, want)
	}
	if got, want := flash(localePT, replayFlash(res)), "2 entregas voltaram para a fila de envio. 2 não foram reenviadas: mais antigas do que a plataforma aceita (Meta: 7 dias)."; got != want {
		t.Fatalf("flash %q, want %q", got, want)
	}
	if got := flash(localeEN, replayFlash(delivery.ReplayResult{Queued: 1})); got != "1 deliveries put back on the queue." {
		t.Fatalf("flash %q", got)
	}
	// A bulk replay's delivered and skipped deliveries, in both languages.
	bulk := delivery.ReplayResult{Skipped: []delivery.ReplaySkip{{DeliveryID: "d1", Reason: delivery.ReplayDelivered},
		{DeliveryID: "d2", Reason: dest.ReasonEventDisabled}, {DeliveryID: "d3", Reason: delivery.ReplayPastDedup}}}
	if got, want := flash(localeEN, replayFlash(bulk)), "0 deliveries put back on the queue. 1 not sent again: they were delivered already and the platform has them. 1 not sent again: the event is not enabled for the destination. 1 not sent again: they were delivered longer ago than the platform recognises a repeat, so a resend may count twice; use Send again anyway to send it."; got != want {
		t.Fatalf("flash %q, want %q", got, want)
	}
	if got, want := flash(localePT, replayFlash(bulk)), "0 entregas voltaram para a fila de envio. 1 não foram reenviadas: já foram entregues e a plataforma já as tem. 1 não foram reenviadas: o evento não está ativado no destino. 1 não foram reenviadas: foram entregues há mais tempo do que a plataforma reconhece uma repetição, então um reenvio pode contar duas vezes; use Reenviar mesmo assim para enviar."; got != want {
		t.Fatalf("flash %q, want %q", got, want)
	}
	// Only catalogue keys are shown: a crafted link cannot put its own words on the page.
	if got := flash(localeEN, url.Values{"flash": {"Your account is locked, call 555-0100"}}); got != "" {
		t.Fatalf("free text flash shown: %q", got)
	}
}

// TestPublicURLWarning: webhook URLs a gateway cannot call (this machine, plain http, none)
// get a warning; a public https address none.
func TestPublicURLWarning(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                          "warn.url_unset",
		"http://localhost:8080":     "warn.url_localhost",
		"https://hub.localhost":     "warn.url_localhost",
		"http://127.0.0.1:8080":     "warn.url_localhost",
		"http://[::1]:8080":         "warn.url_localhost",
		"http://0.0.0.0:8080":       "warn.url_localhost",
		"http://hub.example.com":    "warn.url_http",
		"https://hub.example.com":   "",
		"https://hub.example.com/x": "",
	} {
		if got := publicURLWarning(in); got != want {
			t.Errorf("publicURLWarning(%q) = %q, want %q", in, got, want)
		}
	}
}

package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

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

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/orders?status=paid": "/orders?status=paid", "": "/", "https://evil.example": "/",
		"//evil.example": "/", "/\\evil.example": "/", "orders": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
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
	e := newEnv(t, backends[0])
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

package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hubtrack/hub/internal/pii"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/store"
)

const (
	sessionCookie = "hub_session"
	// preCookie carries the CSRF token of the forms shown before login (double submit).
	preCookie = "hub_pre"
	csrfField = "csrf"
	// minPassword is the shortest password accepted (NIST SP 800-63B asks for at least 8).
	minPassword = 10
)

// argon2id parameters: OWASP's baseline (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("web: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an argon2id PHC hash, in constant time.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 || t > 10 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when the e-mail is unknown, so both answers take as long.
var dummyHash, _ = HashPassword("not a real password, only for timing")

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("web: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// sessionStore keeps sessions: in the cache (Redis) or in the store (embedded mode).
type sessionStore interface {
	create(ctx context.Context, s store.Session) error
	get(ctx context.Context, id string) (store.Session, error)
	delete(ctx context.Context, id string) error
}

type storeSessions struct{ st Store }

func (s storeSessions) create(ctx context.Context, sess store.Session) error {
	_, err := s.st.CreateSession(ctx, sess)
	return err
}
func (s storeSessions) get(ctx context.Context, id string) (store.Session, error) {
	return s.st.GetSession(ctx, id)
}
func (s storeSessions) delete(ctx context.Context, id string) error {
	return s.st.DeleteSession(ctx, id)
}

type cacheSessions struct{ c cache.Cache }

func (s cacheSessions) create(ctx context.Context, sess store.Session) error {
	b, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	return s.c.Set(ctx, "session:"+sess.ID, b, time.Until(sess.ExpiresAt))
}
func (s cacheSessions) get(ctx context.Context, id string) (store.Session, error) {
	b, ok, err := s.c.Get(ctx, "session:"+id)
	if err != nil {
		return store.Session{}, err
	}
	if !ok {
		return store.Session{}, store.ErrNotFound
	}
	var sess store.Session
	return sess, json.Unmarshal(b, &sess)
}
func (s cacheSessions) delete(ctx context.Context, id string) error {
	return s.c.Delete(ctx, "session:"+id)
}

func (u *UI) isSecure(r *http.Request) bool { return u.secure || r.TLS != nil }

func (u *UI) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: u.isSecure(r), SameSite: http.SameSiteLaxMode})
}

type authed struct {
	sess   store.Session
	user   store.User
	tenant store.Tenant
}

// roleRank orders the roles as the API does: each may do what the ones below it may. An
// operator is an admin of its tenant that the API also lets create tenants, so in the dashboard
// it may do all an admin may.
var roleRank = map[string]int{store.RoleReadOnly: 1, store.RoleAdmin: 2, store.RoleOperator: 3}

// allows reports whether a user with role may use a route that needs least (roleAny: anyone).
func allows(role, least string) bool {
	return least == roleAny || (roleRank[role] > 0 && roleRank[role] >= roleRank[least])
}

// auth requires a valid session of a user whose role is at least role; every POST must carry
// the session's CSRF token.
func (u *UI) auth(role string, h func(w http.ResponseWriter, r *http.Request, p page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := u.session(r)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				u.fail(w, r, err)
				return
			}
			if n, err := u.cfg.Store.CountUsers(r.Context()); err == nil && n == 0 {
				http.Redirect(w, r, "/welcome", http.StatusSeeOther)
				return
			}
			if r.Method == http.MethodGet && r.URL.Path != "/live/stream" && !strings.HasSuffix(r.URL.Path, "/status") {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, localeOf(r).T("err.log_in_first"), http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(a.sess.CSRFToken)) != 1 {
				http.Error(w, localeOf(r).T("err.form_expired"), http.StatusForbidden)
				return
			}
		}
		p := page{User: a.user, Tenant: a.tenant, CSRF: a.sess.CSRFToken, Loc: localeFor(r, a.user.Language).in(tenantZone(a.tenant, u.cfg.Location)).naming(u.cfg.Dests), request: r}
		if !allows(a.user.Role, role) {
			u.forbidden(w, r, p)
			return
		}
		h(w, r, p)
	}
}

// setLanguage saves the language a signed-in user chose with the language form at the foot of
// every page (a POST with the session's CSRF token, checked by auth) on the user's account, so
// every browser the user signs in on speaks it, keeps it in this browser's hub_lang cookie,
// and goes back to the page the form was on (next, a GET page of the dashboard; else the
// overview). A GET with ?lang= only shows that page in the language: a link from another site
// must not change the account.
func (u *UI) setLanguage(w http.ResponseWriter, r *http.Request, p page) {
	next := u.getPage(safeNext(r.PostFormValue("next")))
	l := pickLang(r.PostFormValue("lang"))
	if l == "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if l != p.User.Language {
		if _, err := u.cfg.Store.UpdateUser(r.Context(), p.User.TenantID, p.User.ID, store.UserChange{Language: &l}); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: "hub_lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, Secure: u.isSecure(r)})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// getPage is path when a dashboard GET route serves it, else "/": a page shown by a POST (a
// form shown again with its errors) has an address no GET serves.
func (u *UI) getPage(path string) string {
	u.getOnce.Do(func() {
		u.gets = http.NewServeMux()
		for _, rt := range u.routes() {
			if strings.HasPrefix(rt.pattern, "GET ") {
				u.gets.HandleFunc(rt.pattern, func(http.ResponseWriter, *http.Request) {})
			}
		}
	})
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return "/"
	}
	if _, pattern := u.gets.Handler(req); pattern == "" {
		return "/"
	}
	return path
}

func (u *UI) session(r *http.Request) (authed, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return authed{}, store.ErrNotFound
	}
	ctx := r.Context()
	sess, err := u.sess.get(ctx, tokenHash(c.Value))
	if err != nil {
		return authed{}, err
	}
	if !u.now().Before(sess.ExpiresAt) {
		return authed{}, store.ErrNotFound
	}
	user, err := u.cfg.Store.GetUser(ctx, sess.TenantID, sess.UserID)
	if err != nil {
		return authed{}, err
	}
	// A disabled user's sessions, and those from before a password change, end at once, in
	// either session backend (the cache's cannot be listed by user).
	if user.Disabled || (user.SessionsSince != nil && sess.CreatedAt.Before(*user.SessionsSince)) {
		return authed{}, store.ErrNotFound
	}
	t, err := u.cfg.Store.GetTenant(ctx, sess.TenantID)
	if err != nil {
		return authed{}, err
	}
	return authed{sess: sess, user: user, tenant: t}, nil
}

// plain serves the pages shown before login; their POSTs are checked against the pre-login
// CSRF cookie (double submit).
func (u *UI) plain(h func(w http.ResponseWriter, r *http.Request, p page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := ""
		if c, err := r.Cookie(preCookie); err == nil && len(c.Value) >= 32 {
			tok = c.Value
		}
		if r.Method == http.MethodPost {
			if tok == "" || subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(tok)) != 1 {
				http.Error(w, localeOf(r).T("err.form_expired"), http.StatusForbidden)
				return
			}
		}
		if tok == "" {
			tok = randomToken()
			u.setCookie(w, r, preCookie, tok, 3600)
		}
		h(w, r, page{CSRF: tok, Loc: localeOf(r), request: r})
	}
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

type loginData struct {
	Email string
	Next  string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request, p page) {
	if n, err := u.cfg.Store.CountUsers(r.Context()); err == nil && n == 0 {
		http.Redirect(w, r, "/welcome", http.StatusSeeOther)
		return
	}
	p.Title, p.Data = p.Loc.T("title.login"), loginData{Next: safeNext(r.URL.Query().Get("next"))}
	u.render(w, r, http.StatusOK, "login", p)
}

// safeNext keeps redirects after login on this site: it returns next only when a browser would
// resolve it to a path of this origin, else "/". Browsers normalise a URL before resolving it
// (WHATWG URL standard): they drop every tab, CR and LF, trim leading and trailing C0 controls
// and spaces, and read a backslash as a slash. So "/\t/evil.example" becomes the
// scheme-relative "//evil.example". We apply the same normalisation first, then demand a single
// leading slash, no backslash and no control character, and a parse with neither scheme nor
// host. Percent-escapes are left alone: a browser never decodes "%2F" or "%5C" in a path, so
// "/%2F%2Fevil" stays a path here.
func safeNext(next string) string {
	n := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, next)
	n = strings.TrimFunc(n, func(r rune) bool { return r <= ' ' })
	if len(n) > 2048 || !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.ContainsAny(n, "\\") {
		return "/"
	}
	for _, r := range n {
		if r < ' ' || r == 0x7f {
			return "/"
		}
	}
	pu, err := url.Parse(n)
	if err != nil || pu.Scheme != "" || pu.Host != "" || pu.User != nil || pu.Opaque != "" || !strings.HasPrefix(pu.EscapedPath(), "/") ||
		strings.HasPrefix(pu.EscapedPath(), "//") {
		return "/"
	}
	return n
}

func (u *UI) login(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	email := normEmail(r.PostFormValue("email"))
	next := safeNext(r.PostFormValue("next"))
	p.Title, p.Data = p.Loc.T("title.login"), loginData{Email: email, Next: next}
	tooMany := func(retry time.Duration) {
		w.Header().Set("Retry-After", fmt.Sprint(int(retry.Seconds())+1))
		p.Error = p.Loc.T("err.too_many")
		u.render(w, r, http.StatusTooManyRequests, "login", p)
	}
	// The address is the client's, through the trusted proxies (behind a load balancer every
	// peer is the balancer: keyed on it, one attacker would lock every user out), and an IPv6
	// client's /64 (ingest.LimitAddress): one subscriber holds it whole, so counted by address
	// an attacker would get a fresh rate limit and a fresh back-off promise (below) for each of
	// its 2^64 addresses.
	ip := ingest.LimitAddress(ingest.ClientIP(r, u.cfg.TrustedProxies))
	ok, retry, err := u.cfg.Cache.Allow(ctx, "login:ip:"+ip, u.cfg.LoginRate, u.cfg.LoginBurst)
	if err != nil {
		u.fail(w, r, fmt.Errorf("web: login rate limit: %w", err))
		return
	}
	if !ok {
		tooMany(retry)
		return
	}
	acct := accountLimit{c: u.cfg.Cache, key: "login:account:" + tokenHash(email), ip: ip, now: u.now()}
	if retry, err := acct.wait(ctx); err != nil {
		u.fail(w, r, err)
		return
	} else if retry > 0 {
		tooMany(retry)
		return
	}
	user, err := u.cfg.Store.GetUserByEmail(ctx, email)
	hash := dummyHash
	if err == nil {
		hash = user.PasswordHash
	} else if !errors.Is(err, store.ErrNotFound) {
		u.fail(w, r, err)
		return
	}
	if !CheckPassword(hash, r.PostFormValue("password")) || err != nil {
		if err := acct.failed(ctx); err != nil {
			u.fail(w, r, err)
			return
		}
		p.Error = p.Loc.T("err.login_wrong")
		u.render(w, r, http.StatusUnauthorized, "login", p)
		return
	}
	if user.Disabled {
		p.Error = p.Loc.T("err.login_disabled")
		u.render(w, r, http.StatusForbidden, "login", p)
		return
	}
	if err := acct.reset(ctx); err != nil {
		u.fail(w, r, err)
		return
	}
	if err := u.startSession(w, r, user); err != nil {
		u.fail(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// Per-account back-off: an account's first loginFreeFailures wrong passwords cost nothing; each
// further one doubles the wait before the account's password is checked again (1 s, 2 s, 4 s,
// ...) up to loginMaxBackoff, counted from the last failure. An attempt refused by the wait gets
// a promise, per client address: the first attempt from that address at or after the time it was
// told to come back is checked, whatever others failed meanwhile. So a guesser gets one check of
// an account per loginMaxBackoff per address (after the per-address rate limit), while the right
// password, from any address, is checked at most loginMaxBackoff after its first refusal.
const (
	loginFreeFailures = 5
	loginMaxBackoff   = 30 * time.Second
	// loginFailuresTTL forgets an account's failures after an hour without one.
	loginFailuresTTL = time.Hour
)

type accountLimit struct {
	c   cache.Cache
	key string
	ip  string
	now time.Time
}

type accountFailures struct {
	N    int       `json:"n"`
	Last time.Time `json:"last"`
}

// loginBackoff is the wait after n consecutive failures.
func loginBackoff(n int) time.Duration {
	if n < loginFreeFailures {
		return 0
	}
	shift := n - loginFreeFailures
	if shift > 5 {
		return loginMaxBackoff
	}
	return min(time.Second<<shift, loginMaxBackoff)
}

func (a accountLimit) state(ctx context.Context) (accountFailures, error) {
	var f accountFailures
	b, ok, err := a.c.Get(ctx, a.key)
	if err != nil {
		return f, fmt.Errorf("web: login back-off: %w", err)
	}
	if ok {
		_ = json.Unmarshal(b, &f) // a garbled entry counts as no failures
	}
	return f, nil
}

// wait returns how long this address must wait before its attempt on the account may be checked
// (zero: check it now).
func (a accountLimit) wait(ctx context.Context) (time.Duration, error) {
	f, err := a.state(ctx)
	if err != nil || f.N < loginFreeFailures {
		return 0, err
	}
	promise := a.key + ":promise:" + a.ip
	// claim lets one attempt through per key: concurrent attempts race and the losers wait. The
	// winner's promise, if any, is spent.
	claim := func(key string, retry time.Duration) (time.Duration, error) {
		won, err := a.c.SetNX(ctx, key, []byte("1"), loginMaxBackoff+time.Minute)
		if err == nil && won {
			err = a.c.Delete(ctx, promise)
		}
		if err != nil {
			return 0, fmt.Errorf("web: login back-off: %w", err)
		}
		if !won {
			return max(retry, time.Second), nil
		}
		return 0, nil
	}
	d := loginBackoff(f.N)
	open := f.Last.Add(d)
	if !a.now.Before(open) {
		return claim(fmt.Sprintf("%s:try:%d:%s", a.key, f.Last.UnixNano(), a.ip), d)
	}
	b, ok, err := a.c.Get(ctx, promise)
	if err != nil {
		return 0, fmt.Errorf("web: login back-off: %w", err)
	}
	var at time.Time
	if ok && at.UnmarshalText(b) == nil {
		if a.now.Before(at) {
			return at.Sub(a.now), nil
		}
		return claim(fmt.Sprintf("%s:kept:%d", promise, at.UnixNano()), d)
	}
	b, _ = open.MarshalText()
	if err := a.c.Set(ctx, promise, b, loginMaxBackoff+time.Minute); err != nil {
		return 0, fmt.Errorf("web: login back-off: %w", err)
	}
	return open.Sub(a.now), nil
}

func (a accountLimit) failed(ctx context.Context) error {
	f, err := a.state(ctx)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(accountFailures{N: f.N + 1, Last: a.now})
	if err := a.c.Set(ctx, a.key, b, loginFailuresTTL); err != nil {
		return fmt.Errorf("web: login back-off: %w", err)
	}
	return nil
}

func (a accountLimit) reset(ctx context.Context) error {
	if err := a.c.Delete(ctx, a.key); err != nil {
		return fmt.Errorf("web: login back-off: %w", err)
	}
	return nil
}

func (u *UI) startSession(w http.ResponseWriter, r *http.Request, user store.User) error {
	token := randomToken()
	now := u.now()
	sess := store.Session{ID: tokenHash(token), TenantID: user.TenantID, UserID: user.ID, CSRFToken: randomToken(),
		CreatedAt: now, ExpiresAt: now.Add(u.cfg.SessionTTL)}
	if err := u.sess.create(r.Context(), sess); err != nil {
		return fmt.Errorf("web: create session: %w", err)
	}
	u.setCookie(w, r, sessionCookie, token, int(u.cfg.SessionTTL.Seconds()))
	u.setCookie(w, r, preCookie, "", -1)
	u.cfg.Log.Info("web: login", "user_id", user.ID, "tenant_id", user.TenantID)
	return nil
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, p page) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := u.sess.delete(r.Context(), tokenHash(c.Value)); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	u.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type welcomeData struct {
	Email  string
	Tenant string
}

// welcomePage is the first run: with no user anywhere, the first visitor creates one, proving
// with the admin key Hub printed at its first start that they run this Hub (otherwise the first
// stranger to reach a fresh deployment's URL would own it).
func (u *UI) welcomePage(w http.ResponseWriter, r *http.Request, p page) {
	n, err := u.cfg.Store.CountUsers(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if n > 0 {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	p.Title, p.Data = p.Loc.T("title.welcome"), welcomeData{}
	u.render(w, r, http.StatusOK, "welcome", p)
}

func (u *UI) welcome(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	n, err := u.cfg.Store.CountUsers(ctx)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if n > 0 {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	email := normEmail(r.PostFormValue("email"))
	p.Title, p.Data = p.Loc.T("title.welcome"), welcomeData{Email: email}
	if msg := checkNewUser(p.Loc, email, r.PostFormValue("password"), r.PostFormValue("password2")); msg != "" {
		p.Error = msg
		u.render(w, r, http.StatusUnprocessableEntity, "welcome", p)
		return
	}
	tenant, err := u.keyTenant(ctx, strings.TrimSpace(r.PostFormValue("key")))
	if err != nil {
		p.Error = p.Loc.T("err.admin_key")
		u.render(w, r, http.StatusUnauthorized, "welcome", p)
		return
	}
	hash, err := HashPassword(r.PostFormValue("password"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	// Created only if still no user exists: of two claims at once (two replicas), one wins and
	// the other goes to the login page, as if it had come a moment later.
	user, created, err := u.cfg.Store.CreateFirstUser(ctx, store.User{TenantID: tenant.ID, Email: email, PasswordHash: hash, Role: store.RoleAdmin, CreatedAt: u.now()})
	if err != nil {
		u.fail(w, r, fmt.Errorf("web: create the first user: %w", err))
		return
	}
	if !created {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err := u.startSession(w, r, user); err != nil {
		u.fail(w, r, err)
		return
	}
	// The first step is adding a source only when none exists yet (one may have been made
	// through the API or the CLI before the first login).
	flash := "flash.welcome.no_source"
	if srcs, err := u.cfg.Store.ListSources(ctx, tenant.ID); err == nil && len(srcs) > 0 {
		flash = "flash.welcome.has_source"
	}
	redirect(w, r, "/setup", flash)
}

// keyTenant returns the tenant of a valid, unrevoked admin or operator API key.
func (u *UI) keyTenant(ctx context.Context, plaintext string) (store.Tenant, error) {
	lookup, ok := pii.APIKeyLookup(plaintext)
	if !ok {
		return store.Tenant{}, errors.New("web: malformed key")
	}
	k, err := u.cfg.Store.GetAPIKeyByLookup(ctx, lookup)
	if err != nil {
		return store.Tenant{}, err
	}
	if !pii.VerifyAPIKey(plaintext, k.Hash) || k.RevokedAt != nil || (k.Role != store.RoleAdmin && k.Role != store.RoleOperator) {
		return store.Tenant{}, errors.New("web: key not accepted")
	}
	return u.cfg.Store.GetTenant(ctx, k.TenantID)
}

func checkNewUser(l locale, email, password, confirm string) string {
	switch {
	case !validEmail(email):
		return l.T("err.email_invalid")
	case len([]rune(password)) < minPassword:
		return l.T("err.password_short", minPassword)
	case len(password) > 1024:
		return l.T("err.password_long")
	case password != confirm:
		return l.T("err.password_differ")
	}
	return ""
}

func (u *UI) addUser(ctx context.Context, tenantID, email, password, role string) (store.User, error) {
	hash, err := HashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	user, err := u.cfg.Store.CreateUser(ctx, store.User{TenantID: tenantID, Email: email, PasswordHash: hash, Role: role, CreatedAt: u.now()})
	if err != nil {
		return store.User{}, fmt.Errorf("web: create user: %w", err)
	}
	return user, nil
}

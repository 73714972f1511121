package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/hubtrack/hub/internal/testenv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// browserContext starts headless Chromium with a fresh profile (testenv.Browser).
func browserContext(t *testing.T) context.Context {
	t.Helper()
	return testenv.Browser(t)
}

// consoleErrors collects the page's console errors, exceptions and error log entries.
func consoleErrors(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var (
		mu   sync.Mutex
		errs []string
	)
	lctx, stop := context.WithCancel(ctx)
	msgs := chromedp.Console(lctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				errs = append(errs, m.String())
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		stop()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return errs
	}
}

// cookieRecorder keeps the Set-Cookie headers of the hub's collect responses, so the test can
// tell the cookies the server set from those the script wrote.
type cookieRecorder struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (c *cookieRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if r.URL.Path == "/v1/collect" {
			c.mu.Lock()
			for _, ck := range rec.Result().Cookies() {
				c.cookies[ck.Name] = ck
			}
			c.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func (c *cookieRecorder) get(name string) *http.Cookie {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cookies[name]
}

const landingHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>Landing</title><link rel="icon" href="data:,">
<script>
window.fbqCalls = [];
window.fbq = function () { window.fbqCalls.push(Array.prototype.slice.call(arguments)); };
</script>%s
<script async src="/t.js" data-key="pk_browser" data-gateways="%s=hotmart"%s></script>
</head><body>
<h1>Offer</h1>
<a id="buy" href="%s/checkout/P123?off=x7">Buy now</a>
</body></html>`

const checkoutHTML = `<!doctype html><html><head><meta charset="utf-8"><title>Checkout</title><link rel="icon" href="data:,"></head><body>Pay</body></html>`

type browserEnv struct {
	store    store.Store
	pixels   *pixelRecorder
	hub      *httptest.Server
	checkout *httptest.Server
	cookies  *cookieRecorder
	// refuse, when set, answers a collect request 503 as a busy Hub does when it reports true.
	refuse atomic.Pointer[func(r *http.Request, body []byte) bool]
}

// refusing answers the collect requests env.refuse picks 503 "Hub is busy", before ingest.
func (env *browserEnv) refusing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := env.refuse.Load(); f != nil && r.URL.Path == "/v1/collect" && r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if (*f)(r, body) {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "Hub is busy", http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func newBrowserEnv(t *testing.T, consentAttr string) *browserEnv {
	t.Helper()
	return newBrowserEnvHead(t, consentAttr, "")
}

// newBrowserEnvHead is newBrowserEnv with head put in the landing page before the snippet
// (a site's gtag and Consent Mode defaults).
func newBrowserEnvHead(t *testing.T, consentAttr, head string) *browserEnv {
	t.Helper()
	env := &browserEnv{cookies: &cookieRecorder{cookies: map[string]*http.Cookie{}}}
	env.checkout = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, checkoutHTML)
	}))
	t.Cleanup(env.checkout.Close)
	checkoutHost := strings.TrimPrefix(env.checkout.URL, "http://")

	mux := http.NewServeMux()
	env.hub = httptest.NewServer(env.cookies.wrap(env.refusing(mux)))
	t.Cleanup(env.hub.Close)
	// The real embedded store: the test reads back what was committed.
	env.store = openStore(t, "sqlite", store.Source{ID: "src_b", TenantID: "ten_b", Name: "Browser", PublicKey: "pk_browser", AllowedOrigins: []string{env.hub.URL}})
	env.pixels = &pixelRecorder{Store: env.store}
	svc, err := New(Config{Store: env.pixels, RatePerIP: Rate{Per: -1}, Checkouts: testCheckouts()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	svc.Register(mux)
	mux.HandleFunc("GET /landing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, landingHTML, head, checkoutHost, consentAttr, env.checkout.URL)
	})
	return env
}

// pixelRecorder is the real store, keeping a copy of the Pixel event ids ingest records.
type pixelRecorder struct {
	store.Store
	mu  sync.Mutex
	evs []store.PixelEvent
}

func (p *pixelRecorder) RecordPixelEvents(ctx context.Context, evs []store.PixelEvent) error {
	p.mu.Lock()
	p.evs = append(p.evs, evs...)
	p.mu.Unlock()
	return p.Store.RecordPixelEvents(ctx, evs)
}

// shared lists the recorded Pixel event ids as "name id".
func (p *pixelRecorder) shared() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, e := range p.evs {
		out = append(out, e.EventName+" "+e.EventID)
	}
	return out
}

func (env *browserEnv) waitFor(t *testing.T, typ string) store.Touchpoint {
	t.Helper()
	var found store.Touchpoint
	poll(t, func() bool {
		for _, tp := range storedTouchpoints(t, env.store, "ten_b") {
			if tp.Type == typ {
				found = tp
				return true
			}
		}
		return false
	})
	return found
}

func browserCookies(t *testing.T, ctx context.Context, u string) map[string]string {
	t.Helper()
	res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	})
	if err != nil {
		t.Fatalf("get cookies: %v", err)
	}
	out := map[string]string{}
	for _, c := range res.Cookies {
		out[c.Name] = c.Value
	}
	return out
}

// TestBrowserLandingToCheckout is the "done when": a page with the snippet, loaded from an
// ad URL with fbclid and UTMs, then a click on a Hotmart checkout link.
func TestBrowserLandingToCheckout(t *testing.T) {
	ctx := browserContext(t)
	env := newBrowserEnv(t, "")
	errs := consoleErrors(t, ctx)

	const fbclid = "IwAR_Test-CaseSensitive_aBcD"
	landing := env.hub.URL + "/landing?fbclid=" + fbclid + "&utm_source=facebook&utm_medium=paid&utm_campaign=launch&utm_content=ad7"
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(landing), chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatalf("load landing: %v", err)
	}
	pv := env.waitFor(t, "page_view")

	// A lead with an e-mail, shared with the (fake) Meta pixel by event id.
	eid, err := chromedp.Run(tctx, chromedp.Evaluate[string](`hub('track', 'lead', {email: ' Maria.Teste@Example.com ', form: 'hero'})`))
	if err != nil {
		t.Fatalf("track lead: %v", err)
	}
	lead := env.waitFor(t, "lead")
	// The thank-you page's purchase, with Hub's server event id: the Pixel's standard Purchase
	// gets the same id, and Hub records that the Pixel has it.
	const purchaseID = "hotmart:HP1234567890:purchase"
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[string](`hub('track', 'Purchase', {eventID: '`+purchaseID+`', value: 197, currency: 'BRL'})`)); err != nil {
		t.Fatalf("track purchase: %v", err)
	}
	purchase := env.waitFor(t, "purchase")
	fbq, err := chromedp.Run(tctx, chromedp.Evaluate[[][]any](`window.fbqCalls`))
	if err != nil {
		t.Fatal(err)
	}

	// Click the checkout link and land on the "Hotmart" checkout.
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("buy"))); err != nil {
		t.Fatalf("click: %v", err)
	}
	var checkoutURL string
	poll(t, func() bool {
		loc, err := chromedp.Run(tctx, chromedp.Location())
		checkoutURL = loc
		return err == nil && strings.HasPrefix(loc, env.checkout.URL)
	})
	co, err := url.Parse(checkoutURL)
	if err != nil {
		t.Fatal(err)
	}
	jar := browserCookies(t, tctx, env.hub.URL)
	storage, err := chromedp.Run(tctx, chromedp.Evaluate[int](`localStorage.length + sessionStorage.length`))
	if err != nil {
		t.Fatal(err)
	}

	// The stored page view carries the ad click as it arrived.
	vid := pv.VisitorID
	if !regexp.MustCompile(`^k_[A-Za-z0-9]{22}$`).MatchString(vid) {
		t.Errorf("visitor id = %q", vid)
	}
	fbcRe := regexp.MustCompile(`^fb\.1\.(\d{13})\.` + fbclid + `$`)
	if pv.FBCLID != fbclid || !fbcRe.MatchString(pv.FBC) {
		t.Errorf("page view fbclid = %q, fbc = %q", pv.FBCLID, pv.FBC)
	}
	if !regexp.MustCompile(`^fb\.1\.\d{13}\.\d{10}$`).MatchString(pv.FBP) {
		t.Errorf("fbp = %q", pv.FBP)
	}
	if pv.UTM != (store.UTM{Source: "facebook", Medium: "paid", Campaign: "launch", Content: "ad7"}) {
		t.Errorf("utm = %+v", pv.UTM)
	}
	if pv.URL != landing || pv.TenantID != "ten_b" || pv.SourceID != "src_b" || pv.IP != "127.0.0.1" || pv.Consent != "unknown" {
		t.Errorf("page view = %+v", pv)
	}
	if !pv.Bot || !strings.Contains(pv.UserAgent, "HeadlessChrome") {
		t.Errorf("headless Chromium must be marked as a bot: bot=%v ua=%q", pv.Bot, pv.UserAgent)
	}
	// The lead: same visitor, hashed e-mail only, the event id shared with fbq.
	if lead.VisitorID != vid || lead.ClientEventID != eid || lead.EmailHash != pii.SHA256Hex("maria.teste@example.com") || string(lead.Props) != `{"form":"hero"}` {
		t.Errorf("lead = %+v (event id %q)", lead, eid)
	}
	if len(fbq) != 2 || fmt.Sprint(fbq[0]) != fmt.Sprintf("[track Lead map[form:hero] map[eventID:%s]]", eid) ||
		fmt.Sprint(fbq[1]) != "[track Purchase map[currency:BRL value:197] map[eventID:"+purchaseID+"]]" {
		t.Errorf("fbq calls = %v", fbq)
	}
	if purchase.ClientEventID != purchaseID || purchase.VisitorID != vid {
		t.Errorf("purchase = %+v", purchase)
	}
	// The event ids given to the Pixel, and only those (not the page view's), are recorded.
	if got := env.pixels.shared(); !slices.Equal(got, []string{"Lead " + eid, "Purchase " + purchaseID}) {
		t.Errorf("Pixel event ids recorded = %v", got)
	}
	// The server set the cookies, and the browser holds them.
	for name, want := range map[string]string{VisitorCookie: vid, FBCCookie: pv.FBC, FBPCookie: pv.FBP} {
		c := env.cookies.get(name)
		if c == nil || c.Value != want || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("server Set-Cookie %s = %+v, want %q", name, c, want)
		}
		if jar[name] != want {
			t.Errorf("browser cookie %s = %q, want %q", name, jar[name], want)
		}
	}
	if c := env.cookies.get(FBCCookie); c != nil && c.MaxAge != 90*86400 {
		t.Errorf("_fbc Max-Age = %d", c.MaxAge)
	}
	if strings.Contains(strings.ToLower(fmt.Sprint(jar)), "maria") || storage != 0 {
		t.Errorf("personal data or storage in the browser: cookies %v, storage items %d", jar, storage)
	}
	// The checkout link carried the visitor id to Hotmart.
	if co.Path != "/checkout/P123" || co.Query().Get("sck") != vid || co.Query().Get("src") != vid || co.Query().Get("off") != "x7" {
		t.Errorf("checkout URL = %s, want sck=src=%s", checkoutURL, vid)
	}
	// The production host rules are in the served script too.
	if err := chromedp.Do(tctx, chromedp.Navigate(env.hub.URL+"/landing"), chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatal(err)
	}
	var decorated map[string]string
	poll(t, func() bool {
		decorated, err = chromedp.Run(tctx, chromedp.Evaluate[map[string]string](`window.hub && hub.v ? {
			hotmart: hub('decorate', 'https://pay.hotmart.com/X1?a=1'),
			kiwify: hub('decorate', 'https://pay.kiwify.com.br/k1'),
			stripe: hub('decorate', 'https://buy.stripe.com/test_1'),
			eduzz: hub('decorate', 'https://sun.eduzz.com/1'),
			other: hub('decorate', 'https://example.net/x')} : null`))
		return err == nil && decorated != nil
	})
	want := map[string]string{
		"hotmart": "https://pay.hotmart.com/X1?a=1&sck=" + vid + "&src=" + vid,
		"kiwify":  "https://pay.kiwify.com.br/k1?sck=" + vid,
		"stripe":  "https://buy.stripe.com/test_1?client_reference_id=" + vid,
		"eduzz":   "https://sun.eduzz.com/1?utm_content=" + vid,
		"other":   "https://example.net/x",
	}
	for k, v := range want {
		if decorated[k] != v {
			t.Errorf("decorate %s = %q, want %q", k, decorated[k], v)
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors: %q", e)
	}
}

// TestBrowserConsentRequired: with data-consent="required" nothing is sent and no cookie is
// written until consent is granted.
func TestBrowserConsentRequired(t *testing.T) {
	ctx := browserContext(t)
	env := newBrowserEnv(t, ` data-consent="required"`)
	errs := consoleErrors(t, ctx)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(env.hub.URL+"/landing?fbclid=AbC"), chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatal(err)
	}
	// Wait until the script has run, then check it kept everything to itself.
	poll(t, func() bool {
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`!!(window.hub && hub.v)`))
		return err == nil && ok
	})
	state, err := chromedp.Run(tctx, chromedp.Evaluate[map[string]any](`({cookie: document.cookie, href: document.getElementById('buy').href, vid: hub('visitor')})`))
	if err != nil {
		t.Fatal(err)
	}
	if state["cookie"] != "" || strings.Contains(state["href"].(string), "sck=") || state["vid"] != "" {
		t.Errorf("before consent: %v", state)
	}
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[string](`hub('track', 'lead'); 'ok'`)); err != nil {
		t.Fatal(err)
	}
	if n := len(storedTouchpoints(t, env.store, "ten_b")); n != 0 {
		t.Errorf("%d touchpoints sent before consent", n)
	}
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[string](`hub('consent', 'granted'); 'ok'`)); err != nil {
		t.Fatal(err)
	}
	pv := env.waitFor(t, "page_view")
	lead := env.waitFor(t, "lead")
	if pv.Consent != "granted" || lead.Consent != "granted" || pv.VisitorID == "" || pv.VisitorID != lead.VisitorID || pv.FBCLID != "AbC" {
		t.Errorf("after consent: page view %+v, lead %+v", pv, lead)
	}
	poll(t, func() bool { return browserCookies(t, tctx, env.hub.URL)[VisitorCookie] == pv.VisitorID })
	href, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.getElementById('buy').href`))
	if err != nil || !strings.Contains(href, "sck="+pv.VisitorID) {
		t.Errorf("link after consent = %q (%v)", href, err)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors: %q", e)
	}
}

// TestBrowserGA4Cookies: the snippet sends GA4's client id (_ga) and the session of every
// _ga_<container> cookie it can read, in both formats, read at each event (gtag may set them
// after the snippet ran); a cookie it cannot read is left out, not guessed.
func TestBrowserGA4Cookies(t *testing.T) {
	ctx := browserContext(t)
	env := newBrowserEnv(t, "")
	errs := consoleErrors(t, ctx)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(env.hub.URL+"/landing"), chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatalf("load landing: %v", err)
	}
	pv := env.waitFor(t, "page_view")
	if pv.GAClientID != "" || pv.GASessions != "" {
		t.Errorf("page view before gtag: ga %q, sessions %q", pv.GAClientID, pv.GASessions)
	}
	// gtag sets its cookies; the next event carries them.
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`
		document.cookie = '_ga=GA1.1.1958185836.1757409569; path=/';
		document.cookie = '_ga_QEHZPBE5HH=GS2.1.o1$g0$s1757409568$t1757409591$j37$l0$h0; path=/';
		document.cookie = '_ga_OLD1=GS1.1.1689765380.3.1.1689766550.0.0.0; path=/';
		document.cookie = '_ga_BROKEN=GS2.1.o1$g0; path=/';
		document.cookie = '_ga_lower=GS1.1.1.1; path=/';
		hub('track', 'lead', {form: 'hero'}) !== ''`)); err != nil {
		t.Fatalf("track lead: %v", err)
	}
	lead := env.waitFor(t, "lead")
	if lead.GAClientID != "1958185836.1757409569" || lead.GASessions != "OLD1:1689765380,QEHZPBE5HH:1757409568" {
		t.Errorf("lead: ga %q, sessions %q", lead.GAClientID, lead.GASessions)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors: %q", e)
	}
}

// TestBrowserConsentObject: hub('consent', {...}) sets each purpose on its own, every event
// carries the three signals, and the string form still grants all of them. A lead's e-mail
// and phone are hashed at intake by Meta's, Google's and TikTok's rules.
func TestBrowserConsentObject(t *testing.T) {
	ctx := browserContext(t)
	env := newBrowserEnv(t, "")
	errs := consoleErrors(t, ctx)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(env.hub.URL+"/landing"), chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatal(err)
	}
	pv := env.waitFor(t, "page_view")
	if pv.Consent != "unknown" || pv.Signals != (store.ConsentSignals{}) {
		t.Errorf("page view before any consent: %q %+v", pv.Consent, pv.Signals)
	}
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[string](`
		hub('consent', {ad_user_data: 'denied', ad_personalization: 'granted', analytics: 'granted'});
		hub('track', 'lead', {email: 'Maria.Silva+promo@Gmail.com', phone: '+55 (11) 98765-4321'})`)); err != nil {
		t.Fatal(err)
	}
	lead := env.waitFor(t, "lead")
	want := store.ConsentSignals{AdUserData: "denied", AdPersonalization: "granted", Analytics: "granted"}
	if lead.Consent != "granted" || lead.Signals != want || lead.VisitorID == "" {
		t.Errorf("lead: consent %q, signals %+v, want granted and %+v", lead.Consent, lead.Signals, want)
	}
	// Meta's rules keep the dots and the +tag; Google's drop them for gmail.com. Phones: Meta's
	// digits only, Google's and TikTok's E.164 with the '+'.
	hashes := [5]string{lead.EmailHash, lead.GoogleEmailHash, lead.PhoneHash, lead.GooglePhoneHash, lead.TikTokPhoneHash}
	wantHashes := [5]string{pii.SHA256Hex("maria.silva+promo@gmail.com"), pii.SHA256Hex("mariasilva@gmail.com"),
		pii.SHA256Hex("5511987654321"), pii.SHA256Hex("+5511987654321"), pii.SHA256Hex("+5511987654321")}
	if hashes != wantHashes {
		t.Errorf("lead hashes %q, want %q", hashes, wantHashes)
	}
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[string](`hub('consent', 'granted'); hub('track', 'initiate_checkout')`)); err != nil {
		t.Fatal(err)
	}
	ic := env.waitFor(t, "initiate_checkout")
	if all := (store.ConsentSignals{AdUserData: "granted", AdPersonalization: "granted", Analytics: "granted"}); ic.Signals != all || ic.Consent != "granted" {
		t.Errorf("after the string form: consent %q, signals %+v", ic.Consent, ic.Signals)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors: %q", e)
	}
}

// TestBrowserConsentMode: the snippet reads Google Consent Mode v2 from dataLayer. A default
// with analytics_storage denied holds events and writes no cookie; the visitor's update
// releases them with the signals it grants; a later update pushed to dataLayer is read for the
// next event; a regional default is ignored (Hub cannot tell the visitor's region).
func TestBrowserConsentMode(t *testing.T) {
	ctx := browserContext(t)
	env := newBrowserEnvHead(t, "", `
<script>
window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments); }
gtag('consent', 'default', {ad_storage: 'denied', analytics_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied', wait_for_update: 500});
gtag('consent', 'default', {ad_personalization: 'granted', region: ['US-CA']});
</script>`)
	errs := consoleErrors(t, ctx)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(env.hub.URL+"/landing?gclid=G-123"), chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatal(err)
	}
	poll(t, func() bool {
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`!!(window.hub && hub.v)`))
		return err == nil && ok
	})
	cookie, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" || len(storedTouchpoints(t, env.store, "ten_b")) != 0 {
		t.Errorf("before the update: cookie %q, %d touchpoints", cookie, len(storedTouchpoints(t, env.store, "ten_b")))
	}
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[string](`gtag('consent', 'update', {analytics_storage: 'granted', ad_user_data: 'granted'}); 'ok'`)); err != nil {
		t.Fatal(err)
	}
	pv := env.waitFor(t, "page_view")
	want := store.ConsentSignals{AdUserData: "granted", AdPersonalization: "denied", Analytics: "granted"}
	if pv.Consent != "granted" || pv.Signals != want || pv.GCLID != "G-123" || pv.VisitorID == "" {
		t.Errorf("page view after the update: consent %q, signals %+v (want %+v), gclid %q", pv.Consent, pv.Signals, want, pv.GCLID)
	}
	poll(t, func() bool { return browserCookies(t, tctx, env.hub.URL)[VisitorCookie] == pv.VisitorID })
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[string](`gtag('consent', 'update', {ad_personalization: 'granted'}); hub('track', 'lead')`)); err != nil {
		t.Fatal(err)
	}
	lead := env.waitFor(t, "lead")
	if all := (store.ConsentSignals{AdUserData: "granted", AdPersonalization: "granted", Analytics: "granted"}); lead.Signals != all {
		t.Errorf("lead after the second update: %+v", lead.Signals)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors: %q", e)
	}
}

// visit loads the landing page with query and waits for it.
func (env *browserEnv) visit(t *testing.T, ctx context.Context, query string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(env.hub.URL+"/landing"+query), chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatal(err)
	}
}

// trackLead tracks a lead with an e-mail on the page and returns its event id.
func trackLead(t *testing.T, ctx context.Context) string {
	t.Helper()
	lead, err := chromedp.Run(ctx, chromedp.Evaluate[string](`hub('track', 'lead', {email: 'maria.teste@example.com'})`))
	if err != nil {
		t.Fatal(err)
	}
	return lead
}

// evalString evaluates js on the page and returns its string result.
func evalString(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// keepInTab puts leads in the tab's kept requests as an earlier page would have kept them, each
// kept at (Unix milliseconds) with consent.
func keepInTab(t *testing.T, ctx context.Context, consent string, leads map[string]int64) {
	t.Helper()
	var entries []string
	for id, at := range leads {
		entries = append(entries, fmt.Sprintf(`{t: %d, b: JSON.stringify({events: [{type: 'lead', event_id: %q, occurred_at: %d,
			url: location.origin + '/landing?kept', visitor_id: 'k_kept000000000000000000', consent: %q}]})}`, at, id, at, consent))
	}
	evalString(t, ctx, `sessionStorage.setItem('_hub_q', JSON.stringify([`+strings.Join(entries, ", ")+`])); 'ok'`)
}

// keepEnv is a browser test of the requests t.js keeps for the next page: a landing page with
// attrs on the snippet, collect requests refused (503) when refuse says, and the tab's context,
// bounded to a minute.
func keepEnv(t *testing.T, attrs string, refuse func(r *http.Request, body []byte) bool) (*browserEnv, context.Context) {
	t.Helper()
	env := newBrowserEnv(t, attrs)
	env.refuse.Store(&refuse)
	ctx, cancel := context.WithTimeout(browserContext(t), time.Minute)
	t.Cleanup(cancel)
	return env, ctx
}

// keptInTab is the tab's kept requests as stored (empty when none).
func keptInTab(t *testing.T, ctx context.Context) string {
	t.Helper()
	return evalString(t, ctx, `sessionStorage.getItem('_hub_q') || ''`)
}

// TestBrowserKeepsRefusedEvents: a request a busy Hub refused, still waiting for its next retry
// when the visitor goes to another page of the site, is kept in the tab's sessionStorage and
// sent by the next page's snippet, once: the event is not lost with the page, and the storage
// is emptied.
func TestBrowserKeepsRefusedEvents(t *testing.T) {
	var mu sync.Mutex
	var refused, resent []string // the pages that sent the first page's events
	env, tctx := keepEnv(t, "", func(r *http.Request, body []byte) bool {
		if !bytes.Contains(body, []byte("utm_source=first")) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(r.Referer(), "utm_source=first") {
			refused = append(refused, r.Referer())
			return true // the first page's own sends and retries
		}
		resent = append(resent, r.Referer())
		return false
	})
	errs := consoleErrors(t, tctx)
	env.visit(t, tctx, "?utm_source=first")
	lead := trackLead(t, tctx)
	poll(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(refused) >= 2 }) // the page view and the lead
	if n := len(storedTouchpoints(t, env.store, "ten_b")); n != 0 {
		t.Fatalf("%d touchpoints stored while Hub refused them", n)
	}
	// The visitor goes on before the retries: the next page sends what the first one kept.
	env.visit(t, tctx, "?utm_source=second")
	var first, second []store.Touchpoint
	poll(t, func() bool {
		first, second = nil, nil
		for _, tp := range storedTouchpoints(t, env.store, "ten_b") {
			if strings.Contains(tp.URL, "utm_source=first") {
				first = append(first, tp)
			} else {
				second = append(second, tp)
			}
		}
		return len(first) == 2 && len(second) == 1
	})
	types := map[string]string{}
	for _, tp := range first {
		types[tp.Type] = tp.ClientEventID
	}
	if types["lead"] != lead || types["page_view"] == "" || first[0].VisitorID != second[0].VisitorID {
		t.Errorf("the first page's events as stored: %+v; want its page view and the lead %s of the same visitor", first, lead)
	}
	for _, tp := range first {
		if tp.EmailHash != "" || tp.PhoneHash != "" {
			t.Errorf("a kept event came back with an e-mail or phone (%+v): they are never written to storage", tp)
		}
	}
	mu.Lock()
	for _, ref := range resent {
		if !strings.Contains(ref, "utm_source=second") {
			t.Errorf("a first page's request was accepted from %q, want only from the next page", ref)
		}
	}
	mu.Unlock()
	if left := keptInTab(t, tctx); left != "" {
		t.Errorf("kept after being sent again: %q", left)
	}
	for _, e := range errs() {
		if !strings.Contains(e, "status of 503") { // the refusals themselves are logged by the browser
			t.Errorf("console error: %q", e)
		}
	}
}

// TestBrowserKeptEventsFollowConsent: what an earlier page kept is sent under the same rule as
// the events held in memory: not while the visitor's consent is pending, dropped when denied,
// sent when granted; one kept longer than ten minutes is dropped.
func TestBrowserKeptEventsFollowConsent(t *testing.T) {
	var mu sync.Mutex
	var sent []string // every collect request's body, as it arrived
	env, tctx := keepEnv(t, ` data-consent="required"`, func(r *http.Request, body []byte) bool {
		mu.Lock()
		sent = append(sent, string(body))
		mu.Unlock()
		return false
	})
	load := func() {
		t.Helper()
		env.visit(t, tctx, "")
		poll(t, func() bool {
			ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`!!(window.hub && hub.v)`))
			return err == nil && ok
		})
	}
	eval := func(js string) string { t.Helper(); return evalString(t, tctx, js) }
	// Two requests an earlier page kept: one a minute ago, one eleven minutes ago.
	keep := func(id string) {
		t.Helper()
		now := time.Now()
		keepInTab(t, tctx, "granted", map[string]int64{id: now.Add(-time.Minute).UnixMilli(), id + "_old": now.Add(-11 * time.Minute).UnixMilli()})
	}
	load()
	keep("kept_denied")
	load()
	if left := keptInTab(t, tctx); !strings.Contains(left, "kept_denied") {
		t.Fatalf("kept while consent is pending: %q, want both still kept", left)
	}
	eval(`hub('consent', 'denied'); 'ok'`)
	if left := keptInTab(t, tctx); left != "" {
		t.Errorf("kept after consent was denied: %q, want nothing", left)
	}

	keep("kept_granted")
	load()
	eval(`hub('consent', 'granted'); 'ok'`)
	tp := env.waitFor(t, "lead")
	if tp.ClientEventID != "kept_granted" || tp.VisitorID != "k_kept000000000000000000" {
		t.Errorf("sent after consent: %+v, want the kept lead", tp)
	}
	if left := keptInTab(t, tctx); left != "" {
		t.Errorf("kept after being sent: %q", left)
	}
	// The snippet sends the kept requests as consent is granted, and the page view held for it
	// at the next timer: once the page view is stored, they have been sent.
	env.waitFor(t, "page_view")
	mu.Lock()
	defer mu.Unlock()
	for _, b := range sent {
		if strings.Contains(b, "kept_denied") || strings.Contains(b, `_old"`) {
			t.Errorf("sent %s: a request kept under a denied consent, or for more than ten minutes", b)
		}
	}
}

// TestBrowserKeepsExhaustedRetries: a request refused by its first send and its three retries
// is kept in the tab's storage at once, without the e-mail it carried, and the next page sends
// it.
func TestBrowserKeepsExhaustedRetries(t *testing.T) {
	var refused atomic.Int32
	env, tctx := keepEnv(t, ` data-page-view="off"`, func(r *http.Request, body []byte) bool {
		if strings.Contains(r.Referer(), "utm_source=first") {
			refused.Add(1)
			return true
		}
		return false
	})
	env.visit(t, tctx, "?utm_source=first")
	lead := trackLead(t, tctx)
	// The retries wait about 1, 2 and 4 s, at most one and a half times that: 10.5 s.
	var left string
	pollWithin(t, 20*time.Second, func() bool { left = keptInTab(t, tctx); return left != "" })
	if n := refused.Load(); n != 4 || !strings.Contains(left, lead) || strings.Contains(left, "maria") || strings.Contains(left, "example.com") {
		t.Fatalf("after %d refusals (want 4) the tab keeps %q; want the lead %s without its e-mail", n, left, lead)
	}
	env.visit(t, tctx, "?utm_source=second")
	tp := env.waitFor(t, "lead")
	if tp.ClientEventID != lead || !strings.Contains(tp.URL, "utm_source=first") || tp.EmailHash != "" {
		t.Errorf("the kept lead as stored: %+v", tp)
	}
}

// TestBrowserKeepsWhileHidden: a phone may discard a hidden tab without pagehide, so what waits
// for a retry is kept when the page is hidden, and sent when it is shown again. A request an
// earlier page kept, refused again, keeps the time it was first kept, so ten minutes bound it
// however many pages send it again.
func TestBrowserKeepsWhileHidden(t *testing.T) {
	var busy atomic.Bool
	var refused atomic.Int32
	env, tctx := keepEnv(t, ` data-page-view="off"`, func(r *http.Request, body []byte) bool {
		if busy.Load() {
			refused.Add(1)
			return true
		}
		return false
	})
	env.visit(t, tctx, "")
	eval := func(js string) string { t.Helper(); return evalString(t, tctx, js) }
	// An earlier page kept a lead five minutes ago; this one is refused when it sends it again.
	since := time.Now().Add(-5 * time.Minute).UnixMilli()
	keepInTab(t, tctx, "unknown", map[string]int64{"kept_5min": since})
	busy.Store(true)
	env.visit(t, tctx, "")
	lead := trackLead(t, tctx)
	poll(t, func() bool { return refused.Load() >= 2 })
	visibility := func(state string) string {
		t.Helper()
		return eval(fmt.Sprintf(`(function () {
			Object.defineProperty(document, 'visibilityState', {value: %q, configurable: true});
			document.dispatchEvent(new Event('visibilitychange'));
			return sessionStorage.getItem('_hub_q') || '';
		})()`, state))
	}
	var kept []struct {
		T int64  `json:"t"`
		B string `json:"b"`
	}
	if err := json.Unmarshal([]byte(visibility("hidden")), &kept); err != nil { // both refused: in flight or waiting, kept either way
		t.Fatal(err)
	}
	at := map[string]int64{}
	for _, k := range kept {
		for _, id := range []string{"kept_5min", lead} {
			if strings.Contains(k.B, id) {
				at[id] = k.T
			}
		}
	}
	if len(kept) != 2 || at["kept_5min"] != since || at[lead] < time.Now().Add(-time.Minute).UnixMilli() {
		t.Fatalf("kept when hidden: %+v; want the earlier page's lead kept since %d and this page's lead kept now", kept, since)
	}
	busy.Store(false)
	if left := visibility("visible"); left != "" {
		t.Errorf("kept after the page was shown again: %q, want it sent", left)
	}
	poll(t, func() bool {
		n := 0
		for _, tp := range storedTouchpoints(t, env.store, "ten_b") {
			if tp.ClientEventID == "kept_5min" || tp.ClientEventID == lead {
				n++
			}
		}
		return n == 2
	})
}

// TestBrowserKeepsUnansweredRequests: a lead form's page usually goes away at once, before a
// busy Hub's answer comes back; the request not answered yet is kept too, and the next page
// sends it (if it had arrived after all, Hub stores it once).
func TestBrowserKeepsUnansweredRequests(t *testing.T) {
	var arrived atomic.Int32
	gone := make(chan struct{}) // closed once the next page has loaded
	env, tctx := keepEnv(t, ` data-page-view="off"`, func(r *http.Request, body []byte) bool {
		if !strings.Contains(r.Referer(), "utm_source=first") {
			return false
		}
		arrived.Add(1)
		select { // answered only after the page went away
		case <-gone:
		case <-r.Context().Done():
		}
		return true
	})
	release := sync.OnceFunc(func() { close(gone) })
	t.Cleanup(release) // before the server closes, should the test stop early
	env.visit(t, tctx, "?utm_source=first")
	lead := trackLead(t, tctx)
	poll(t, func() bool { return arrived.Load() == 1 })
	env.visit(t, tctx, "?utm_source=second")
	release()
	tp := env.waitFor(t, "lead")
	if tp.ClientEventID != lead || !strings.Contains(tp.URL, "utm_source=first") {
		t.Errorf("the lead as stored: %+v, want the first page's %s", tp, lead)
	}
}

// TestBrowserGoogleIOSClickIDs: on a landing page opened from a Google ad on iOS (wbraid or
// gbraid in the URL, no gclid), the snippet sends the click id in the event as it sends gclid,
// and the page view stores it. A value the server would refuse (a space) is not sent, so the
// page view is not refused with it.
func TestBrowserGoogleIOSClickIDs(t *testing.T) {
	ctx := browserContext(t)
	env := newBrowserEnv(t, "")
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	record := func(_ *http.Request, body []byte) bool {
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		return false
	}
	env.refuse.Store(&record)
	errs := consoleErrors(t, ctx)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(env.hub.URL+"/landing?wbraid=Wb.1~CaseSensitive&gbraid=a%20b&utm_source=google"),
		chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatal(err)
	}
	pv := env.waitFor(t, "page_view")
	if pv.WBRAID != "Wb.1~CaseSensitive" || pv.GBRAID != "" || pv.GCLID != "" {
		t.Errorf("page view: wbraid %q, gbraid %q, gclid %q", pv.WBRAID, pv.GBRAID, pv.GCLID)
	}
	mu.Lock()
	defer mu.Unlock()
	var sent []map[string]any
	for _, b := range bodies {
		var req struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatalf("collect body %s: %v", b, err)
		}
		sent = append(sent, req.Events...)
	}
	if len(sent) == 0 || sent[0]["type"] != "page_view" || sent[0]["wbraid"] != "Wb.1~CaseSensitive" {
		t.Errorf("the snippet sent %v; want the page view with wbraid", sent)
	}
	for _, e := range sent {
		if _, ok := e["gbraid"]; ok {
			t.Errorf("the snippet sent a gbraid the server refuses: %v", e)
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors: %q", e)
	}
}

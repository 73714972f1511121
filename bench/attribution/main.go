// Command attribution measures Hub's match rate end to end. It simulates a funnel of visitors
// arriving from ads (and some organic buyers) against a running Hub through its public endpoints
// only: every page view, lead and checkout goes to POST /v1/collect the way t.js sends it, every
// purchase arrives as a signed gateway webhook (Hotmart, and WooCommerce for a share of the
// buyers). It knows the truth (which ad click caused each order), reads Hub's attributions back
// through the admin API and compares.
//
// The mix is configurable: link decoration lost at the checkout, cookies blocked, Safari's cap on
// script-written cookies (24 hours after a decorated ad click; Hub's server-set cookie survives
// it only when Hub is served first-party), e-mail captured before the checkout, shared IPs
// (mobile carriers), pix paid hours after the checkout, repeat buyers, organic buyers with no
// click, returning visits (directly or through a retargeting ad), IP changes, and buyers whose
// every visit is a bot's (an automated browser).
//
// Truth: an order is caused by the buyer's last ad click (fbclid or gclid) before it was paid,
// within the 7-day window; an order with no such click is organic. Hub's answer for an order is
// the touchpoint its attribution chose, which the harness maps back to the simulated person (by
// the client event id it sent) and to the click it carries (fbclid, fbc or gclid). Then:
//
//   - correct: the buyer's own touchpoint carrying the true click (for an organic order, any of
//     the buyer's own click-less touchpoints);
//   - wrong: another person's touchpoint, or the buyer's own touchpoint carrying a click other
//     than the true one (credit sent to the wrong ad);
//   - missed: the buyer's own touchpoint but without the true click (for example, Safari dropped
//     the cookie and the checkout carried a fresh visitor id with only a direct visit): matched,
//     neither correct nor wrong; matched = correct + wrong + missed;
//   - orphan: no attribution.
//
// Its last line is exactly:
//
//	attribution: orders=N matched=N correct=N wrong=N orphan=N rate=P% precision=Q%
//
// where rate = matched/orders and precision = correct/matched. The lines before it break the
// result down by scenario, give the figure for the orders whose visitor id survived the
// checkout (the checkout carried the visitor id of the browser that made the true click), check
// the explanations of the two cases that once read wrong (an orphan whose checkout carried
// src=fb_ads, a bot-only buyer), and, with -fake-meta, the share of the Purchases Meta received
// carrying each identifier.
//
// bench/attribution/run.sh builds Hub, starts it with a fake Meta on free loopback ports, creates
// the tenant, source and destination with the CLI, runs this harness and stops everything.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// mix is the configurable funnel.
type mix struct {
	visitors       int
	buy            float64
	organic        float64
	woo            float64
	decorationLost float64
	cookiesBlocked float64
	safari         float64
	serverCookie   float64
	emailBefore    float64
	sharedIP       float64
	ipChange       float64
	pix            float64
	pixMin, pixMax time.Duration
	repeat         float64
	returnVisit    float64
	retarget       float64
	gclid          float64
	pagesMax       int
	organicNoVisit float64
	botBuyers      float64
	carrierIPs     int
	window         time.Duration
	seed           uint64
	maxSpan        time.Duration
	origin         string
}

func main() {
	var m mix
	var (
		base        = flag.String("url", "http://127.0.0.1:8080", "base URL of the running Hub (loopback)")
		pk          = flag.String("key", "", "the source's public key (pk_...)")
		hotmartURL  = flag.String("hotmart-webhook", "", "the source's Hotmart webhook URL (…/v1/webhooks/hotmart/<token>)")
		hottok      = flag.String("hottok", "", "the source's Hotmart hottok")
		wooURL      = flag.String("woo-webhook", "", "the source's WooCommerce webhook URL (optional; without it every buyer uses Hotmart)")
		wooSecret   = flag.String("woo-secret", "", "the source's WooCommerce webhook secret")
		fakeMeta    = flag.String("fake-meta", "", "base URL of the fake Meta the destination sends to (optional): prints the identifier coverage of the Purchases")
		apiKeys     = flag.String("api-key", "", "admin API key(s) of the tenant, comma-separated (each key is rate limited on its own)")
		concurrency = flag.Int("concurrency", 8, "simulated people in flight at once")
		run         = flag.String("run", strconv.FormatInt(time.Now().Unix()%1_000_000, 36), "run id (prefix of event and order ids; unique per run)")
		timeout     = flag.Duration("timeout", 15*time.Minute, "give up after this long")
	)
	flag.IntVar(&m.visitors, "visitors", 2000, "visitors arriving from ads")
	flag.Float64Var(&m.buy, "buy", 0.4, "share of the ad visitors who buy")
	flag.Float64Var(&m.organic, "organic", 0.08, "organic buyers with no ad click, as a share of the ad buyers")
	flag.Float64Var(&m.botBuyers, "bot-buyers", 0.02, "buyers whose every visit Hub marks as a bot (an automated browser: a checkout test, a headless in-app browser), as a share of the ad buyers; the right answer is an orphan explained as bots")
	flag.Float64Var(&m.organicNoVisit, "organic-no-visit", 0.5, "share of the organic buyers who reach the checkout without any visit to the site (an e-mail link)")
	flag.Float64Var(&m.woo, "woo", 0.2, "share of the buyers who check out on a WooCommerce store (needs -woo-webhook); the others use Hotmart")
	flag.Float64Var(&m.decorationLost, "decoration-lost", 0.1, "share of the checkouts that lost the visitor id (link not decorated, in-app browser, another device)")
	flag.Float64Var(&m.cookiesBlocked, "cookies-blocked", 0.05, "share of the visitors whose browser keeps no cookie (a new visitor id on every page)")
	flag.Float64Var(&m.safari, "safari", 0.35, "share of the visitors on Safari (iOS): script-written cookies last 24 h after a decorated ad click")
	flag.Float64Var(&m.serverCookie, "server-cookie", 0.5, "share of the Safari visitors whose Hub cookie, set by the server, survives the cap (Hub served first-party)")
	flag.Float64Var(&m.emailBefore, "email-before", 0.4, "share of the visitors who leave their e-mail (a lead form) before the checkout")
	flag.Float64Var(&m.sharedIP, "shared-ip", 0.3, "share of the visitors behind a mobile carrier's shared IP")
	flag.IntVar(&m.carrierIPs, "carrier-ips", 25, "how many carrier IPs the shared-IP visitors share")
	flag.Float64Var(&m.ipChange, "ip-change", 0.15, "chance that a later visit or the checkout comes from another IP")
	flag.Float64Var(&m.pix, "pix", 0.3, "share of the purchases paid by pix/boleto hours after the checkout")
	flag.DurationVar(&m.pixMin, "pix-min", time.Hour, "shortest pix delay")
	flag.DurationVar(&m.pixMax, "pix-max", 12*time.Hour, "longest pix delay")
	flag.Float64Var(&m.repeat, "repeat", 0.1, "share of the buyers who click another ad and buy again")
	flag.Float64Var(&m.returnVisit, "return", 0.35, "share of the buyers who leave and come back 1 to 36 hours later before buying")
	flag.Float64Var(&m.retarget, "retarget", 0.4, "share of the returns that come through another ad click (retargeting)")
	flag.Float64Var(&m.gclid, "gclid", 0.1, "share of the ad clicks from Google (gclid) instead of Meta (fbclid)")
	flag.IntVar(&m.pagesMax, "pages", 3, "most extra page views per visit")
	flag.Uint64Var(&m.seed, "seed", 1, "random seed (the same seed gives the same funnel)")
	flag.StringVar(&m.origin, "origin", "https://shop.example", "the site's origin (an allowed origin of the source)")
	flag.Parse()
	m.window = 7 * 24 * time.Hour
	m.maxSpan = 68 * time.Hour // collect accepts occurred_at up to 72 h back

	switch {
	case *pk == "" || *hotmartURL == "" || *hottok == "" || *apiKeys == "":
		log.Fatal("attribution: -key, -hotmart-webhook, -hottok and -api-key are required")
	case *wooURL != "" && *wooSecret == "":
		log.Fatal("attribution: -woo-webhook needs -woo-secret")
	}
	for _, u := range []string{*base, *hotmartURL, *wooURL, *fakeMeta} {
		if u != "" && !loopback(u) {
			log.Fatalf("attribution: %s is not a loopback URL; the harness only talks to 127.0.0.1/localhost", u)
		}
	}
	if *wooURL == "" {
		m.woo = 0
	}
	deadline := time.Now().Add(*timeout)

	now := time.Now().UTC().Truncate(time.Millisecond)
	people := simulate(m, *run, now)
	nOrders := 0
	for _, p := range people {
		nOrders += len(p.orders)
	}
	fmt.Fprintf(os.Stderr, "attribution: run %s: %d people, %d orders, seed %d\n", *run, len(people), nOrders, m.seed)

	h := &hub{
		base: strings.TrimRight(*base, "/"), key: *pk, hotmart: *hotmartURL, hottok: *hottok,
		woo: *wooURL, wooSecret: *wooSecret, origin: m.origin, apiKeys: strings.Split(*apiKeys, ","),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	// Each person's steps run in time order; people run concurrently.
	var (
		wg     sync.WaitGroup
		next   atomic.Int64
		failed atomic.Int64
		errMu  sync.Mutex
		errs   []string
	)
	start := time.Now()
	for range *concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(people) || time.Now().After(deadline) {
					return
				}
				for _, s := range people[i].steps {
					if err := h.do(s); err != nil {
						failed.Add(1)
						errMu.Lock()
						if len(errs) < 5 {
							errs = append(errs, err.Error())
						}
						errMu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "attribution: sent %d collect requests and %d webhooks in %s (%d failed)\n",
		h.collects.Load(), h.webhooks.Load(), time.Since(start).Round(time.Millisecond), failed.Load())
	for _, e := range errs {
		fmt.Fprintln(os.Stderr, "  error:", e)
	}
	if failed.Load() > 0 {
		log.Fatal("attribution: some requests failed; the comparison would be meaningless")
	}

	// Read Hub's answers back.
	byExt := map[string]*order{}
	for _, p := range people {
		for _, o := range p.orders {
			byExt[o.provider+"/"+o.ext] = o
		}
	}
	ids, err := h.listOrders(byExt, deadline)
	if err != nil {
		log.Fatalf("attribution: list orders: %v", err)
	}
	if err := h.fetchAttributions(ids, byExt, deadline); err != nil {
		log.Fatalf("attribution: read attributions: %v", err)
	}
	if *fakeMeta != "" {
		if err := h.coverage(strings.TrimRight(*fakeMeta, "/"), people, nOrders, deadline); err != nil {
			log.Fatalf("attribution: identifier coverage: %v", err)
		}
	}
	report(people, *run)
}

func loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}

// ---- the simulated funnel ----

type person struct {
	idx     int
	email   string
	ua      string
	safari  bool
	blocked bool
	server  bool // Safari only: Hub's server-set cookie survives the cap
	ip      string
	carrier bool
	organic bool
	bot     bool // every visit from an automated browser: Hub marks them as bots
	clicks  []click
	steps   []step
	orders  []*order
}

type click struct {
	key string        // "fb:<fbclid>" or "g:<gclid>"
	at  time.Duration // on the person's relative clock
}

// browser is the cookie state of one visitor id.
type browser struct {
	vid    string
	fbc    *fbValue
	fbp    *fbValue
	clicks map[string]bool // the clicks this visitor id saw (landing or carried in _fbc)
	capped bool            // a decorated ad click set the cookies: Safari keeps them 24 h
	ckAt   time.Duration   // when
}

// fbValue is an fbc or fbp ("fb.1.<ms>.<tail>") whose time is on the relative clock until the
// person's story is placed in time.
type fbValue struct {
	at   time.Duration
	tail string
}

type step struct {
	at      time.Time
	collect map[string]any // one event, or nil
	ip, ua  string
	webhook *webhookReq
}

type webhookReq struct {
	provider string
	body     []byte
	topic    string
}

type order struct {
	provider  string
	ext       string
	person    int
	paidAt    time.Time
	truth     string // the click that caused it, "" for organic
	carried   string // the visitor id the checkout carried back, "" when lost
	survived  bool   // carried is the visitor id of the browser that saw the true click
	srcLabel  bool   // the checkout carried src=fb_ads (a campaign label) and no visitor id
	netFresh  bool   // paid within Hub's IP + user agent window (2 h, less 5 min) of the checkout visit
	scenarios []string

	// Hub's answer.
	found      bool
	rule       string
	tpPerson   int // -1: not one of ours
	tpClick    string
	tpGCLID    bool // the credited touchpoint carries a gclid
	tpTTCLID   bool // … a ttclid
	confidence float64
	explain    string
	verdict    string
}

var (
	iosUAs = []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
	}
	otherUAs = []string{
		"Mozilla/5.0 (Linux; Android 14; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Linux; Android 13; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 14; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
	}
	pages = []string{"/", "/sobre", "/depoimentos", "/curso", "/faq", "/bonus"}
)

// sim builds one person's steps on a relative clock (offsets from the first visit); simulate
// shifts them into the last 68 hours.
type sim struct {
	m        mix
	rng      *rand.Rand
	run      string
	carriers []string
	p        *person
	b        *browser
	seq      int
	t        time.Duration
	landing  string   // the current visit's landing URL
	tags     []string // scenarios of the order being built
	rel      []relStep
	ord      []*relOrder
}

type relStep struct {
	at   time.Duration
	s    step
	ordr *relOrder // webhook steps whose body is built once the times are absolute
	kind string    // "pending" or "paid" for webhooks
}

type relOrder struct {
	o        *order
	n        int // the person's n-th order
	checkout time.Duration
	paid     time.Duration
	pix      bool
	landing  string // the visit's landing URL (WooCommerce records it)
	ip, ua   string
	wooID    int64
	srcSet   bool // srcFB is decided
	srcFB    bool // the Hotmart checkout carried src=fb_ads
}

func simulate(m mix, run string, now time.Time) []*person {
	rng := rand.New(rand.NewPCG(m.seed, 0x5eed))
	carriers := make([]string, m.carrierIPs)
	for i := range carriers {
		carriers[i] = fmt.Sprintf("198.18.%d.%d", rng.IntN(256), 1+rng.IntN(254))
	}
	nBuyers := 0
	var people []*person
	var wooSeq int64
	for i := range m.visitors {
		buys := rng.Float64() < m.buy
		if buys {
			nBuyers++
		}
		people = append(people, newPerson(m, rng, run, i, false, buys, carriers, now, &wooSeq))
	}
	nOrganic := int(float64(nBuyers)*m.organic + 0.5)
	for j := range nOrganic {
		people = append(people, newPerson(m, rng, run, m.visitors+j, true, true, carriers, now, &wooSeq))
	}
	// Bot-only buyers come last, so that the other people's stories do not change with the flag.
	nBot := int(float64(nBuyers)*m.botBuyers + 0.5)
	for j := range nBot {
		people = append(people, newBotBuyer(m, rng, run, m.visitors+nOrganic+j, carriers, now, &wooSeq))
	}
	return people
}

func newPerson(m mix, rng *rand.Rand, run string, idx int, organic, buys bool, carriers []string, now time.Time, wooSeq *int64) *person {
	p := &person{idx: idx, organic: organic, email: fmt.Sprintf("buyer.%s.%d@example.com", run, idx)}
	p.safari = rng.Float64() < m.safari
	if p.safari {
		p.ua = iosUAs[rng.IntN(len(iosUAs))]
		p.server = rng.Float64() < m.serverCookie
	} else {
		p.ua = otherUAs[rng.IntN(len(otherUAs))]
	}
	p.blocked = rng.Float64() < m.cookiesBlocked
	p.ip = homeIP(rng)
	if rng.Float64() < m.sharedIP && len(carriers) > 0 {
		p.carrier = true
		p.ip = carriers[rng.IntN(len(carriers))]
	}
	s := &sim{m: m, rng: rng, run: run, carriers: carriers, p: p}
	s.newBrowser()

	switch {
	case organic:
		if rng.Float64() >= m.organicNoVisit {
			s.visit("", "https://www.google.com/")
			s.pageViews()
			if rng.Float64() < m.emailBefore {
				s.lead()
			}
			s.checkout(true, wooSeq)
		} else {
			s.checkout(false, wooSeq)
		}
	default:
		s.visit(s.newClick(), "")
		s.pageViews()
		if rng.Float64() < m.emailBefore {
			s.lead()
		}
		if buys {
			if rng.Float64() < m.returnVisit {
				s.later(time.Hour + time.Duration(rng.Int64N(int64(29*time.Hour))))
				if rng.Float64() < m.retarget {
					s.tags = append(s.tags, "return_by_ad")
					s.visit(s.newClick(), "")
				} else {
					s.tags = append(s.tags, "return_direct")
					s.visit("", "")
				}
				s.pageViews()
			}
			s.checkout(true, wooSeq)
			if rng.Float64() < m.repeat {
				s.t = s.ord[len(s.ord)-1].paid
				s.later(2*time.Hour + time.Duration(rng.Int64N(int64(6*time.Hour))))
				s.visit(s.newClick(), "")
				s.pageViews()
				s.checkout(true, wooSeq)
			}
		}
	}
	s.finish(now)
	return p
}

// newBotBuyer is a buyer whose every visit comes from an automated browser (a headless Chrome:
// a checkout test, an in-app browser Hub takes for a bot). It arrives without an ad, leaves its
// e-mail and checks out; Hub must never credit a bot's visit, so the right answer is an orphan
// whose explanation says the visits were a bot's (on the visitor id, the e-mail and, on
// WooCommerce, the IP address and browser).
func newBotBuyer(m mix, rng *rand.Rand, run string, idx int, carriers []string, now time.Time, wooSeq *int64) *person {
	p := &person{idx: idx, bot: true, email: fmt.Sprintf("buyer.%s.%d@example.com", run, idx), ip: homeIP(rng),
		ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"}
	s := &sim{m: m, rng: rng, run: run, carriers: carriers, p: p}
	s.newBrowser()
	s.tags = append(s.tags, "bot_only")
	s.visit("", "")
	s.pageViews()
	s.lead()
	s.checkout(true, wooSeq)
	s.finish(now)
	return p
}

func homeIP(rng *rand.Rand) string {
	return fmt.Sprintf("203.0.%d.%d", rng.IntN(256), 1+rng.IntN(254))
}

func (s *sim) randID(prefix string, n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[s.rng.IntN(len(chars))]
	}
	return prefix + string(b)
}

func (s *sim) newBrowser() {
	s.b = &browser{vid: s.randID("k_", 22), clicks: map[string]bool{}}
}

// later moves the clock on and applies what the gap does to the cookies and the IP.
func (s *sim) later(gap time.Duration) {
	s.t += gap
	lost := s.p.blocked
	// Safari caps cookies written by script at 24 hours when the landing URL carried a click id
	// (7 days otherwise, longer than this simulation). Hub's server-set cookie survives when Hub is
	// served first-party.
	if s.p.safari && !s.p.server && s.b.capped && s.t-s.b.ckAt > 24*time.Hour {
		lost = true
	}
	if lost {
		s.newBrowser()
	}
	if s.rng.Float64() < s.m.ipChange {
		s.changeIP()
	}
}

func (s *sim) changeIP() {
	if len(s.carriers) > 0 && (s.p.carrier || s.rng.Float64() < s.m.sharedIP) {
		// a phone moves between carrier addresses, or from Wi-Fi to the carrier
		s.p.carrier = true
		s.p.ip = s.carriers[s.rng.IntN(len(s.carriers))]
		return
	}
	s.p.ip = homeIP(s.rng)
}

// newClick records an ad click and returns its landing URL's query.
func (s *sim) newClick() string {
	if s.rng.Float64() < s.m.gclid {
		s.tags = append(s.tags, "google_click")
		id := s.randID("Cj0KCQ", 40)
		s.p.clicks = append(s.p.clicks, click{key: "g:" + id})
		s.recordClick("g:"+id, false)
		return "gclid=" + id + "&utm_source=google&utm_medium=cpc&utm_campaign=search"
	}
	id := s.randID("IwAR", 40)
	s.p.clicks = append(s.p.clicks, click{key: "fb:" + id})
	s.recordClick("fb:"+id, true)
	return "fbclid=" + id + "&utm_source=facebook&utm_medium=paid_social&utm_campaign=camp" + strconv.Itoa(s.rng.IntN(5))
}

func (s *sim) recordClick(key string, fb bool) {
	s.p.clicks[len(s.p.clicks)-1].at = s.t
	s.b.clicks[key] = true
	if fb {
		// t.js builds fbc from a new fbclid; Hub's server cookie carries it too
		s.b.fbc = &fbValue{at: s.t, tail: strings.TrimPrefix(key, "fb:")}
	}
	s.b.capped, s.b.ckAt = true, s.t
}

// visit is a landing page view; query is the ad click's query ("" for a direct or organic visit).
func (s *sim) visit(query, referrer string) {
	u := s.m.origin + "/lp"
	if query != "" {
		u += "?" + query
	} else if referrer == "" {
		u = s.m.origin + "/curso"
	}
	ev := map[string]any{"type": "page_view", "url": u}
	if referrer != "" {
		ev["referrer"] = referrer
	}
	s.landing = u
	s.event(ev)
}

func (s *sim) pageViews() {
	n := s.rng.IntN(s.m.pagesMax + 1)
	for range n {
		s.t += 30*time.Second + time.Duration(s.rng.Int64N(int64(150*time.Second)))
		if s.p.blocked {
			s.newBrowser()
		}
		s.event(map[string]any{"type": "page_view", "url": s.m.origin + pages[s.rng.IntN(len(pages))], "referrer": s.m.origin + "/lp"})
	}
}

func (s *sim) lead() {
	s.t += 20*time.Second + time.Duration(s.rng.Int64N(int64(100*time.Second)))
	s.event(map[string]any{"type": "lead", "url": s.m.origin + "/inscricao", "email": s.p.email})
}

func (s *sim) event(ev map[string]any) {
	s.seq++
	ev["event_id"] = fmt.Sprintf("ab.%s.%d.%d", s.run, s.p.idx, s.seq)
	ev["visitor_id"] = s.b.vid
	if s.b.fbc != nil {
		ev["fbc"] = s.b.fbc
	}
	if s.b.fbp == nil {
		s.b.fbp = &fbValue{at: s.t, tail: strconv.FormatInt(1_000_000_000+s.rng.Int64N(9_000_000_000), 10)}
	}
	ev["fbp"] = s.b.fbp
	s.rel = append(s.rel, relStep{at: s.t, s: step{collect: ev, ip: s.p.ip, ua: s.p.ua}})
}

// checkout is the click on the checkout link (an initiate_checkout event when the visitor was on
// the site) and the purchase that follows.
func (s *sim) checkout(visited bool, wooSeq *int64) {
	m := s.m
	s.t += time.Minute + time.Duration(s.rng.Int64N(int64(5*time.Minute)))
	o := &order{person: s.p.idx, tpPerson: -1, scenarios: s.tags}
	s.tags = nil
	ro := &relOrder{o: o, n: len(s.ord), checkout: s.t}
	if visited {
		s.event(map[string]any{"type": "initiate_checkout", "url": m.origin + "/checkout"})
		if s.rng.Float64() < m.decorationLost {
			o.scenarios = append(o.scenarios, "decoration_lost")
		} else {
			o.carried = s.b.vid
		}
		ro.landing = s.landing
	} else {
		o.scenarios = append(o.scenarios, "no_visit")
	}
	if s.rng.Float64() < m.ipChange/2 {
		s.changeIP()
		o.scenarios = append(o.scenarios, "ip_changed")
	}
	ro.ip, ro.ua = s.p.ip, s.p.ua
	ro.pix = s.rng.Float64() < m.pix
	if ro.pix {
		ro.paid = s.t + m.pixMin + time.Duration(s.rng.Int64N(int64(m.pixMax-m.pixMin)+1))
		o.scenarios = append(o.scenarios, "pix_late")
	} else {
		ro.paid = s.t + 30*time.Second + time.Duration(s.rng.Int64N(int64(4*time.Minute)))
	}
	o.netFresh = ro.paid-s.t < 2*time.Hour-5*time.Minute
	o.provider = "hotmart"
	if s.rng.Float64() < m.woo {
		o.provider = "woocommerce"
		*wooSeq++
		ro.wooID = *wooSeq
	}
	// The truth: the last ad click at or before the payment, within the window.
	var truth string
	var truthAt time.Duration = -1
	for _, c := range s.p.clicks {
		at := c.at
		if at <= ro.paid && ro.paid-at <= m.window && at >= truthAt {
			truth, truthAt = c.key, at
		}
	}
	o.truth = truth
	switch {
	case s.p.bot:
		// the right answer is an orphan: not a figure of the visitor ids that survived
	case truth == "":
		o.survived = o.carried != "" && visited
	default:
		o.survived = o.carried != "" && s.b.clicks[truth]
	}
	if s.p.blocked {
		o.scenarios = append(o.scenarios, "cookies_blocked")
	}
	if s.p.safari {
		if s.p.server {
			o.scenarios = append(o.scenarios, "safari_server_cookie")
		} else {
			o.scenarios = append(o.scenarios, "safari_script_cookie")
		}
	}
	if s.p.carrier {
		o.scenarios = append(o.scenarios, "shared_ip")
	}
	if s.p.organic {
		o.scenarios = append(o.scenarios, "organic")
	}
	if len(s.ord) > 0 {
		o.scenarios = append(o.scenarios, "repeat")
	}
	if s.rel != nil {
		for _, r := range s.rel {
			if r.s.collect != nil && r.s.collect["type"] == "lead" {
				o.scenarios = append(o.scenarios, "email_before")
				break
			}
		}
	}
	s.ord = append(s.ord, ro)
	s.p.orders = append(s.p.orders, o)
	if ro.pix {
		s.rel = append(s.rel, relStep{at: s.t + 30*time.Second, ordr: ro, kind: "pending"})
	}
	s.rel = append(s.rel, relStep{at: ro.paid, ordr: ro, kind: "paid"})
}

// finish shifts the person's relative clock so that the whole story ends before now and starts
// no earlier than 68 hours ago, then builds the request bodies.
func (s *sim) finish(now time.Time) {
	var span time.Duration
	for _, r := range s.rel {
		span = max(span, r.at)
	}
	if span > s.m.maxSpan {
		log.Fatalf("attribution: person %d's story spans %s, more than %s (a bug in the simulation)", s.p.idx, span, s.m.maxSpan)
	}
	room := s.m.maxSpan - span
	start := now.Add(-s.m.maxSpan - 2*time.Minute).Add(time.Duration(s.rng.Int64N(int64(room) + 1)))
	abs := func(d time.Duration) time.Time { return start.Add(d) }
	sort.SliceStable(s.rel, func(i, j int) bool { return s.rel[i].at < s.rel[j].at })
	for _, r := range s.rel {
		at := abs(r.at)
		if r.s.collect != nil {
			ev := r.s.collect
			ev["occurred_at"] = at.UnixMilli()
			for _, k := range []string{"fbc", "fbp"} {
				if v, ok := ev[k].(*fbValue); ok {
					ev[k] = fmt.Sprintf("fb.1.%d.%s", abs(v.at).UnixMilli(), v.tail)
				}
			}
			s.p.steps = append(s.p.steps, step{at: at, collect: ev, ip: r.s.ip, ua: r.s.ua})
			continue
		}
		ro := r.ordr
		ro.o.paidAt = abs(ro.paid).Truncate(time.Second)
		var w *webhookReq
		if ro.o.provider == "woocommerce" {
			w = s.wooBody(ro, r.kind, abs)
		} else {
			w = s.hotmartBody(ro, r.kind, abs)
		}
		s.p.steps = append(s.p.steps, step{at: at, webhook: w})
	}
}

func (s *sim) hotmartBody(ro *relOrder, kind string, abs func(time.Duration) time.Time) *webhookReq {
	o := ro.o
	if o.ext == "" {
		o.ext = fmt.Sprintf("HP%s%07d%d", strings.ToUpper(s.run), s.p.idx, ro.n)
	}
	checkout := abs(ro.checkout)
	event, status, approved := "PURCHASE_APPROVED", "APPROVED", abs(ro.paid)
	created := approved
	if kind == "pending" {
		event, status, created = "PURCHASE_BILLET_PRINTED", "BILLET_PRINTED", checkout.Add(30*time.Second)
	}
	origin := map[string]any{}
	if o.carried != "" {
		origin["sck"], origin["src"] = o.carried, o.carried
	} else {
		// Half the checkouts that lost the visitor id carry a campaign label in src, decided once
		// per order (the pending and the paid webhook say the same).
		fb := s.rng.Float64() < 0.5
		if !ro.srcSet {
			ro.srcSet, ro.srcFB = true, fb
		}
		if ro.srcFB {
			origin["src"] = "fb_ads"
			o.srcLabel = true
		}
	}
	purchase := map[string]any{
		"order_date": checkout.UnixMilli(), "status": status, "transaction": o.ext,
		"price":   map[string]any{"value": 197.0, "currency_value": "BRL"},
		"payment": map[string]any{"type": map[bool]string{true: "PIX", false: "CREDIT_CARD"}[ro.pix], "installments_number": 1},
		"origin":  origin, "buyer_ip": ro.ip,
		"checkout_country": map[string]any{"name": "Brasil", "iso": "BR"},
	}
	if kind == "paid" {
		purchase["approved_date"] = approved.UnixMilli()
	}
	body := map[string]any{
		"id": fmt.Sprintf("%s-%s", o.ext, strings.ToLower(kind)), "creation_date": created.UnixMilli(), "event": event, "version": "2.0.0",
		"data": map[string]any{
			"product": map[string]any{"id": 1234567, "ucode": "0d5b4c2a-1111-4222-8333-444455556666", "name": "Curso Exemplo"},
			"buyer": map[string]any{
				"email": s.p.email, "name": "Pessoa " + strconv.Itoa(s.p.idx), "first_name": "Pessoa", "last_name": strconv.Itoa(s.p.idx),
				"checkout_phone_code": "11", "checkout_phone": fmt.Sprintf("9%08d", s.p.idx),
				"address": map[string]any{"country": "Brasil", "country_iso": "BR", "zipcode": "01310-100", "state": "SP", "city": "São Paulo"},
			},
			"purchase": purchase,
		},
	}
	b, _ := json.Marshal(body)
	return &webhookReq{provider: "hotmart", body: b}
}

func (s *sim) wooBody(ro *relOrder, kind string, abs func(time.Duration) time.Time) *webhookReq {
	o := ro.o
	if o.ext == "" {
		// WooCommerce order ids are numbers; the run id keeps them unique per run.
		n, _ := strconv.ParseInt(s.run, 36, 64)
		o.ext = strconv.FormatInt(n*1_000_000+ro.wooID, 10)
	}
	const layout = "2006-01-02T15:04:05"
	checkout := abs(ro.checkout).UTC()
	status := "processing"
	modified := abs(ro.paid).UTC()
	if kind == "pending" {
		status, modified = "on-hold", checkout.Add(30*time.Second)
	}
	meta := []map[string]any{}
	add := func(k, v string) { meta = append(meta, map[string]any{"id": len(meta) + 1, "key": k, "value": v}) }
	if ro.landing != "" {
		add("_wc_order_attribution_session_entry", ro.landing)
		if lu, err := url.Parse(ro.landing); err == nil {
			q := lu.Query()
			for _, k := range []string{"utm_source", "utm_medium", "utm_campaign"} {
				if v := q.Get(k); v != "" {
					add("_wc_order_attribution_"+k, v)
				}
			}
		}
	}
	if o.carried != "" {
		add("hub_vid", o.carried)
	}
	body := map[string]any{
		"id": json.Number(o.ext), "status": status, "currency": "BRL", "total": "197.00",
		"date_created_gmt": checkout.Format(layout), "date_modified_gmt": modified.Format(layout),
		"customer_ip_address": ro.ip, "customer_user_agent": ro.ua, "payment_method": "pix",
		"billing": map[string]any{
			"first_name": "Pessoa", "last_name": strconv.Itoa(s.p.idx), "city": "São Paulo", "state": "SP",
			"postcode": "01310-100", "country": "BR", "email": s.p.email, "phone": fmt.Sprintf("(11) 9%08d", s.p.idx),
		},
		"line_items": []map[string]any{{"id": 1, "name": "Curso Exemplo", "product_id": 77, "quantity": 1, "price": 197}},
		"meta_data":  meta,
	}
	if kind == "paid" {
		body["date_paid_gmt"] = abs(ro.paid).UTC().Format(layout)
	}
	b, _ := json.Marshal(body)
	return &webhookReq{provider: "woocommerce", body: b, topic: "order.updated"}
}

// ---- talking to Hub ----

type hub struct {
	base, key, hotmart, hottok, woo, wooSecret, origin string
	apiKeys                                            []string
	client                                             *http.Client
	collects, webhooks                                 atomic.Int64
	keyN                                               atomic.Int64
}

func (h *hub) do(s step) error {
	if s.collect != nil {
		h.collects.Add(1)
		body, _ := json.Marshal(map[string]any{"key": h.key, "events": []any{s.collect}})
		hdr := http.Header{"Content-Type": {"text/plain"}, "Origin": {h.origin}, "User-Agent": {s.ua}, "X-Forwarded-For": {s.ip}}
		b, err := h.post(h.base+"/v1/collect", hdr, body, http.StatusAccepted)
		if err != nil {
			return fmt.Errorf("collect %v: %w", s.collect["event_id"], err)
		}
		var r struct {
			Accepted int `json:"accepted"`
		}
		if json.Unmarshal(b, &r) != nil || r.Accepted != 1 {
			return fmt.Errorf("collect %v: not accepted: %s", s.collect["event_id"], b)
		}
		return nil
	}
	h.webhooks.Add(1)
	w := s.webhook
	hdr := http.Header{"Content-Type": {"application/json"}}
	target := h.hotmart
	if w.provider == "woocommerce" {
		target = h.woo
		mac := hmac.New(sha256.New, []byte(h.wooSecret))
		mac.Write(w.body)
		hdr.Set("X-WC-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		hdr.Set("X-WC-Webhook-Topic", w.topic)
	} else {
		hdr.Set("X-HOTMART-HOTTOK", h.hottok)
	}
	b, err := h.post(target, hdr, w.body, http.StatusOK)
	if err != nil {
		return fmt.Errorf("%s webhook: %w", w.provider, err)
	}
	if !bytes.Contains(b, []byte(`"processed"`)) {
		return fmt.Errorf("%s webhook: not processed inline: %s", w.provider, b)
	}
	return nil
}

// post sends a request, retrying 429/503 and transport errors a few times (the ids make it safe).
func (h *hub) post(u string, hdr http.Header, body []byte, want int) ([]byte, error) {
	var last error
	for attempt := range 6 {
		if attempt > 0 {
			time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
		}
		req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header = hdr.Clone()
		resp, err := h.client.Do(req)
		if err != nil {
			last = err
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == want {
			return b, nil
		}
		last = fmt.Errorf("HTTP %d: %s", resp.StatusCode, truncate(b, 300))
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
			return nil, last
		}
	}
	return nil, last
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// get reads the admin API, spreading requests over the keys and waiting out 429s.
func (h *hub) get(path string, v any, deadline time.Time) error {
	for {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		key := h.apiKeys[int(h.keyN.Add(1))%len(h.apiKeys)]
		req, _ := http.NewRequest(http.MethodGet, h.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := h.client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return json.Unmarshal(b, v)
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			time.Sleep(wait / time.Duration(len(h.apiKeys)))
		default:
			return fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, truncate(b, 300))
		}
	}
}

// listOrders pages through the tenant's orders and returns the Hub id of each of ours.
func (h *hub) listOrders(byExt map[string]*order, deadline time.Time) (map[string]string, error) {
	ids := map[string]string{}
	cursor := ""
	for {
		var page struct {
			Items []struct {
				ID         string `json:"id"`
				Provider   string `json:"provider"`
				ExternalID string `json:"external_id"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		path := "/api/v1/orders?limit=500"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := h.get(path, &page, deadline); err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			k := it.Provider + "/" + it.ExternalID
			if _, ok := byExt[k]; ok {
				ids[k] = it.ID
			}
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			return ids, nil
		}
		cursor = page.NextCursor
	}
}

type orderDetail struct {
	Attribution *struct {
		Rule        string  `json:"rule"`
		Confidence  float64 `json:"confidence"`
		VisitorID   string  `json:"visitor_id"`
		Explanation string  `json:"explanation"`
		Touchpoint  *struct {
			ClientEventID string            `json:"client_event_id"`
			VisitorID     string            `json:"visitor_id"`
			ClickIDs      map[string]string `json:"click_ids"`
		} `json:"touchpoint"`
	} `json:"attribution"`
}

func (h *hub) fetchAttributions(ids map[string]string, byExt map[string]*order, deadline time.Time) error {
	type job struct {
		o  *order
		id string
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 4 * len(h.apiKeys) {
		wg.Go(func() {
			for j := range jobs {
				var d orderDetail
				err := h.get("/api/v1/orders/"+url.PathEscape(j.id), &d, deadline)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				if err != nil {
					continue
				}
				j.o.found = true
				j.o.rule = "none"
				if a := d.Attribution; a != nil {
					j.o.rule, j.o.confidence, j.o.explain = a.Rule, a.Confidence, a.Explanation
					if tp := a.Touchpoint; tp != nil {
						j.o.tpPerson = personOf(tp.ClientEventID)
						j.o.tpClick = clickKey(tp.ClickIDs)
						j.o.tpGCLID, j.o.tpTTCLID = tp.ClickIDs["gclid"] != "", tp.ClickIDs["ttclid"] != ""
					}
				}
			}
		})
	}
	for k, id := range ids {
		jobs <- job{o: byExt[k], id: id}
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// personOf maps a client event id "ab.<run>.<person>.<seq>" to the person; -1 if not ours.
func personOf(eventID string) int {
	parts := strings.Split(eventID, ".")
	if len(parts) != 4 || parts[0] != "ab" {
		return -1
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil {
		return -1
	}
	return n
}

// clickKey is the ad click a touchpoint carries: its fbclid, else
// its gclid, else the fbclid inside the fbc cookie it carried; "" for a visit without a click.
func clickKey(ids map[string]string) string {
	if v := ids["fbclid"]; v != "" {
		return "fb:" + v
	}
	if v := ids["gclid"]; v != "" {
		return "g:" + v
	}
	if v := ids["fbc"]; v != "" {
		if parts := strings.SplitN(v, ".", 4); len(parts) == 4 {
			return "fb:" + parts[3]
		}
	}
	return ""
}

// coverage waits for the Purchases Hub sends to the fake Meta (one per paid order, delivered
// in the background) and prints the share carrying each identifier. gclid and ttclid are not
// Meta keys: their share is of the orders whose credited visit carries one (what a Google Ads or
// TikTok destination would receive; none is configured here).
func (h *hub) coverage(fake string, people []*person, nOrders int, deadline time.Time) error {
	type ev struct {
		EventName string          `json:"event_name"`
		Raw       json.RawMessage `json:"raw"`
	}
	var purchases []ev
	last, stable := -1, 0
	for {
		resp, err := h.client.Get(fake + "/_fake/events")
		if err != nil {
			return err
		}
		var body struct {
			Events []ev `json:"events"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		purchases = purchases[:0]
		for _, e := range body.Events {
			if e.EventName == "Purchase" {
				purchases = append(purchases, e)
			}
		}
		if len(purchases) == last {
			stable++
		} else {
			stable = 0
		}
		last = len(purchases)
		// Every paid order, or no new Purchase for 10 seconds (some may be skipped, e.g. stale).
		if len(purchases) >= nOrders || stable >= 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	keys := []string{"em", "ph", "fbc", "fbp", "external_id", "client_ip_address", "client_user_agent"}
	n := map[string]int{}
	for _, e := range purchases {
		var raw struct {
			UserData map[string]json.RawMessage `json:"user_data"`
		}
		if json.Unmarshal(e.Raw, &raw) != nil {
			continue
		}
		for _, k := range keys {
			if v, ok := raw.UserData[k]; ok && string(v) != `""` && string(v) != "[]" && string(v) != "null" {
				n[k]++
			}
		}
	}
	var clicks = map[string]int{}
	for _, p := range people {
		for _, o := range p.orders {
			if o.tpGCLID {
				clicks["gclid"]++
			}
			if o.tpTTCLID {
				clicks["ttclid"]++
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "identifier coverage of the Purchases sent to Meta: purchases=%d of %d orders:", len(purchases), nOrders)
	for _, k := range keys {
		name := map[string]string{"client_ip_address": "IP", "client_user_agent": "UA"}[k]
		if name == "" {
			name = k
		}
		fmt.Fprintf(&b, " %s=%.1f%%", name, pct(n[k], len(purchases)))
	}
	fmt.Fprintf(&b, "; credited visit carries gclid=%.1f%% ttclid=%.1f%% of orders (not Meta keys)", pct(clicks["gclid"], nOrders), pct(clicks["ttclid"], nOrders))
	fmt.Fprintln(os.Stderr, b.String())
	return nil
}

// ---- the comparison ----

type tally struct{ orders, matched, correct, wrong, missed, orphan int }

func (t *tally) add(o *order) {
	t.orders++
	switch o.verdict {
	case "orphan":
		t.orphan++
		return
	case "correct":
		t.correct++
	case "wrong":
		t.wrong++
	case "missed":
		t.missed++
	}
	t.matched++
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// explanationChecks reads Hub's explanation of the orders whose case once produced a wrong
// one: an orphan whose checkout carried src=fb_ads must call it a campaign label, never a
// visitor id; a bot-only buyer must be an orphan explained as bots, never as visits missing or
// outside the window, and never told to install the snippet.
func explanationChecks(people []*person) []string {
	var out []string
	var labels, labelsOK, bots, botsOrphan, botsOK int
	for _, p := range people {
		for _, o := range p.orders {
			if o.srcLabel && o.verdict == "orphan" && o.found {
				labels++
				if strings.Contains(o.explain, "src=fb_ads is a campaign label") && !strings.Contains(o.explain, "shape of a Hub visitor id") &&
					!strings.Contains(o.explain, "visitor's Hub id") {
					labelsOK++
				} else if len(out) < 10 {
					out = append(out, fmt.Sprintf("  bad label explanation: %s %s: %s", o.provider, o.ext, o.explain))
				}
			}
			if !p.bot {
				continue
			}
			bots++
			if o.verdict != "orphan" {
				continue
			}
			botsOrphan++
			ok := strings.Contains(o.explain, "bot")
			// "No single visitor had the buyer's IP address and browser" is wrong only when the
			// bot's visits fell in that rule's 2 hours (a WooCommerce order carries IP and agent).
			if o.provider == "woocommerce" && o.netFresh && strings.Contains(o.explain, "No single visitor") {
				ok = false
			}
			for _, bad := range []string{"snippet", "not seen on the site", "outside the attribution window", "no visit of it", "falls in the window"} {
				ok = ok && !strings.Contains(o.explain, bad)
			}
			if ok {
				botsOK++
			} else if len(out) < 10 {
				out = append(out, fmt.Sprintf("  bad bot explanation: %s %s: %s", o.provider, o.ext, o.explain))
			}
		}
	}
	return append([]string{fmt.Sprintf("explanations: src=fb_ads orphans=%d said campaign label=%d; bot-only buyers=%d orphan=%d explained as bots=%d",
		labels, labelsOK, bots, botsOrphan, botsOK)}, out...)
}

func report(people []*person, run string) {
	var all, survived, orgOrphanOK tally
	byScenario := map[string]*tally{}
	byRule := map[string]*tally{}
	notFound := 0
	var wrongs []string
	for _, p := range people {
		for _, o := range p.orders {
			if !o.found {
				notFound++
				o.rule = "none"
			}
			switch {
			case o.rule == "none" || o.rule == "":
				o.verdict = "orphan"
			case o.tpPerson != o.person:
				o.verdict = "wrong"
			case o.tpClick == o.truth:
				o.verdict = "correct"
			case o.tpClick != "":
				o.verdict = "wrong"
			default:
				o.verdict = "missed"
			}
			all.add(o)
			if o.survived {
				survived.add(o)
			}
			if o.truth == "" && o.verdict == "orphan" && strings.Contains(strings.Join(o.scenarios, ","), "no_visit") {
				orgOrphanOK.add(o)
			}
			sc := o.scenarios
			if len(sc) == 0 {
				sc = []string{"plain"}
			}
			for _, s := range sc {
				if byScenario[s] == nil {
					byScenario[s] = &tally{}
				}
				byScenario[s].add(o)
			}
			if byRule[o.rule] == nil {
				byRule[o.rule] = &tally{}
			}
			byRule[o.rule].add(o)
			if o.verdict == "wrong" && len(wrongs) < 50 {
				wrongs = append(wrongs, fmt.Sprintf("  wrong: %s %s person=%d rule=%s truth=%q chosen person=%d click=%q scenarios=%s\n    hub: %s",
					o.provider, o.ext, o.person, o.rule, o.truth, o.tpPerson, o.tpClick, strings.Join(o.scenarios, ","), o.explain))
			}
		}
	}
	w := os.Stderr
	fmt.Fprintf(w, "attribution: run %s: %d orders not found in Hub\n", run, notFound)
	fmt.Fprintln(w, "by rule:")
	for _, r := range sortedKeys(byRule) {
		t := byRule[r]
		fmt.Fprintf(w, "  %-10s orders=%-5d correct=%-5d wrong=%-4d missed=%-4d\n", r, t.orders, t.correct, t.wrong, t.missed)
	}
	fmt.Fprintln(w, "by scenario (an order can be in several):")
	for _, s := range sortedKeys(byScenario) {
		t := byScenario[s]
		fmt.Fprintf(w, "  %-22s orders=%-5d matched=%-5d correct=%-5d wrong=%-4d missed=%-4d orphan=%-4d correct=%.1f%%\n",
			s, t.orders, t.matched, t.correct, t.wrong, t.missed, t.orphan, pct(t.correct, t.orders))
	}
	for _, l := range wrongs {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintf(w, "organic orders with no visit left orphan (right answer): %d\n", orgOrphanOK.orders)
	fmt.Fprintf(w, "missed (matched to the buyer, without the click that caused the order): %d (%.2f%% of orders)\n", all.missed, pct(all.missed, all.orders))
	for _, l := range explanationChecks(people) {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintf(w, "visitor id survived the checkout: orders=%d correct=%d wrong=%d missed=%d orphan=%d correct=%.2f%%\n",
		survived.orders, survived.correct, survived.wrong, survived.missed, survived.orphan, pct(survived.correct, survived.orders))
	fmt.Fprintf(w, "wrong: %.2f%% of orders\n", pct(all.wrong, all.orders))
	fmt.Printf("attribution: orders=%d matched=%d correct=%d wrong=%d orphan=%d rate=%.1f%% precision=%.1f%%\n",
		all.orders, all.matched, all.correct, all.wrong, all.orphan, pct(all.matched, all.orders), pct(all.correct, all.matched))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

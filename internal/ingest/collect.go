package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// EventResult is one event's outcome in a collect response.
type EventResult struct {
	Index    int                 `json:"index"`
	EventID  string              `json:"event_id,omitempty"`
	Status   string              `json:"status"` // accepted | rejected
	Errors   []domain.FieldError `json:"errors,omitempty"`
	Warnings []domain.FieldError `json:"warnings,omitempty"`
}

// CollectResponse is the 202 body of POST /v1/collect: every accepted event is committed.
type CollectResponse struct {
	Accepted  int           `json:"accepted"`
	Rejected  int           `json:"rejected"`
	VisitorID string        `json:"visitor_id,omitempty"`
	Results   []EventResult `json:"results"`
}

func (s *Service) handleCollect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ip := ClientIP(r, s.cfg.TrustedProxies)
	if !s.allow(ctx, w, r, ipKey(ip), s.cfg.RatePerIP) {
		return
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), r.ContentLength, s.cfg.MaxBodyBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeProblem(w, r, newProblem(http.StatusRequestEntityTooLarge, "the body is larger than the limit", domain.FieldError{Field: "body", Reason: "must be at most " + byteSize(s.cfg.MaxBodyBytes)}))
			return
		}
		writeProblem(w, r, newProblem(http.StatusBadRequest, "could not read the body"))
		return
	}
	now := s.now().UTC()
	req, err := ParseCollect(body, s.limits(), now)
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			writeProblem(w, r, newProblem(http.StatusBadRequest, re.Detail, re.Errors...))
			return
		}
		writeProblem(w, r, newProblem(http.StatusBadRequest, err.Error()))
		return
	}
	if req.Key == "" {
		req.Key = r.URL.Query().Get("key")
	}
	src, ok := s.source(w, r, req.Key)
	if !ok {
		return
	}
	if !s.cors(w, r, src) {
		return
	}
	if !s.allow(ctx, w, r, "src:"+src.ID, s.cfg.RatePerSource) {
		return
	}

	client := newClient(ip, r.UserAgent())
	resp := CollectResponse{Results: make([]EventResult, len(req.Events))}
	tps := make([]store.Touchpoint, 0, len(req.Events))
	var pixels []store.PixelEvent
	var cookies *cookieState
	var allErrs []domain.FieldError
	for i, pe := range req.Events {
		res := EventResult{Index: pe.Index, EventID: pe.Event.EventID}
		if len(pe.Errors) > 0 {
			res.Status = "rejected"
			res.Errors = pe.Errors
			allErrs = append(allErrs, pe.Errors...)
			resp.Rejected++
			resp.Results[i] = res
			continue
		}
		tp, warnings := s.touchpoint(src, pe, now, client)
		if !tp.MeasurementDenied() {
			if cookies == nil {
				st := identifiers(r, tp.OccurredAt, tp.VisitorID, tp.FBCLID, tp.FBC, tp.FBP)
				cookies = &st
			}
			if tp.VisitorID == "" {
				tp.VisitorID = cookies.VisitorID
			}
			if tp.FBC == "" {
				if tp.FBCLID == "" || fbclidOfFBC(cookies.FBC) == tp.FBCLID {
					tp.FBC = cookies.FBC
				} else {
					tp.FBC = BuildFBC(tp.OccurredAt, tp.FBCLID)
				}
			}
			if tp.FBP == "" {
				tp.FBP = cookies.FBP
			}
		}
		if name := pixelName(tp); pe.Event.Pixel && pe.Event.EventID != "" && name != "" && !tp.MeasurementDenied() {
			pixels = append(pixels, store.PixelEvent{TenantID: tp.TenantID, SourceID: tp.SourceID, EventName: name, EventID: tp.ClientEventID, ReceivedAt: now})
		}
		res.EventID = tp.ClientEventID
		res.Status = "accepted"
		res.Warnings = warnings
		resp.Results[i] = res
		resp.Accepted++
		tps = append(tps, tp)
	}
	if len(tps) == 0 {
		p := newProblem(http.StatusBadRequest, "no event in the request is valid", allErrs...)
		if req.Batch {
			writeBatchProblem(w, r, p, resp.Results)
			return
		}
		writeProblem(w, r, p)
		return
	}
	// The Pixel event ids first: recording one twice keeps one, so a retried request is harmless.
	if len(pixels) > 0 {
		if err := s.cfg.Store.RecordPixelEvents(ctx, pixels); err != nil {
			s.unavailable(w, r, err)
			return
		}
	}
	if err := s.batcher.Submit(ctx, tps); err != nil {
		s.unavailable(w, r, err)
		return
	}
	if cookies != nil && consentAllowsCookies(tps) {
		setCookies(w, r, requestScheme(r, s.cfg.TrustedProxies) == "https", src.CookieDomain, *cookies)
		resp.VisitorID = cookies.VisitorID
	}
	writeCollectResponse(w, &resp)
}

// readBody is io.ReadAll(r) with its buffer sized from the request's Content-Length (at most
// limit, and at most 64 KiB before a byte arrived, so a declared length costs no memory it does
// not send) instead of grown from 512 bytes: one allocation for a batch of ten events, not six
// or seven. The reads, and so the errors, are io.ReadAll's.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(512)
	if contentLength > 0 {
		size = min(contentLength, limit, 64<<10) + 1 // room to see the end without growing
	}
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// pixelName is the event name the snippet gave the Meta Pixel for tp (fbq's 'track' or
// 'trackCustom'), "" for an event it never gives the Pixel.
func pixelName(tp store.Touchpoint) string {
	switch tp.Type {
	case "purchase":
		return domain.EventPurchase
	case "lead":
		return domain.EventLead
	case "initiate_checkout":
		return domain.EventInitiateCheckout
	case "add_to_cart":
		return domain.EventAddToCart
	case "custom":
		return tp.Name
	}
	return ""
}

// consentAllowsCookies: cookies are set only when no accepted event says the visitor denied
// Hub's measurement (consent or the analytics signal denied).
func consentAllowsCookies(tps []store.Touchpoint) bool {
	for i := range tps {
		if tps[i].MeasurementDenied() {
			return false
		}
	}
	return true
}

func (s *Service) limits() Limits {
	return Limits{MaxEvents: s.cfg.MaxEvents, MaxFutureSkew: s.cfg.MaxFutureSkew, MaxEventAge: s.cfg.MaxEventAge}
}

// client is what every event of a request shares about its sender, worked out once per
// request rather than once per event.
type client struct {
	ip  string // the client's address
	ua  string // its user agent, as stored (truncated)
	bot bool   // IsBot of its user agent
}

func newClient(ip netip.Addr, userAgent string) client {
	return client{ip: ip.String(), ua: truncate(userAgent, 512), bot: IsBot(userAgent)}
}

// touchpoint turns a valid event into a touchpoint. E-mail and phone are normalised and hashed
// here and the raw values go no further; one that cannot be normalised is dropped with a warning
// rather than losing the event. With consent denied, or the analytics signal denied (which
// decides Hub's own measurement exactly like the string form), every identifier is dropped.
func (s *Service) touchpoint(src store.Source, pe ParsedEvent, now time.Time, c client) (store.Touchpoint, []domain.FieldError) {
	e := pe.Event
	field := func(name string) string {
		if pe.Field == "" {
			return name
		}
		return pe.Field + "." + name
	}
	occurred := pe.OccurredAt
	if occurred.IsZero() {
		occurred = now
	}
	id := e.EventID
	if id == "" {
		id = s.newID()
	}
	consent := e.Consent
	if consent == "" {
		consent = ConsentUnknown
	}
	tp := store.Touchpoint{
		ID: s.newID(), TenantID: src.TenantID, SourceID: src.ID,
		Type: e.Type, Name: e.Name, ClientEventID: id,
		OccurredAt: occurred, ReceivedAt: now,
		URL: e.URL, Referrer: e.Referrer, VisitorID: e.VisitorID,
		FBCLID: e.FBCLID, GCLID: e.GCLID, GBRAID: e.GBRAID, WBRAID: e.WBRAID, TTCLID: e.TTCLID, FBC: e.FBC, FBP: e.FBP,
		GAClientID: e.GAClientID, GASessions: e.GASessions, TTP: e.TTP,
		UTM:       store.UTM{Source: e.UTM.Source, Medium: e.UTM.Medium, Campaign: e.UTM.Campaign, Content: e.UTM.Content, Term: e.UTM.Term},
		IP:        c.ip,
		UserAgent: c.ua,
		Consent:   consent,
		Signals:   signals(consent, e.Signals),
		Bot:       e.Webdriver || c.bot,
	}
	if len(e.Props) > 0 && string(e.Props) != "null" {
		tp.Props = json.RawMessage(e.Props)
	}
	fromPageURL(&tp)
	var warnings []domain.FieldError
	if e.Email != "" {
		if h, err := pii.HashEmail(e.Email); err == nil {
			tp.EmailHash = h
		} else {
			warnings = append(warnings, domain.FieldError{Field: field("email"), Reason: "dropped: not a valid e-mail address"})
		}
	}
	if e.Phone != "" {
		if h, err := pii.HashPhone(e.Phone, s.cfg.PhoneCountryCode); err == nil {
			tp.PhoneHash = h
		} else {
			warnings = append(warnings, domain.FieldError{Field: field("phone"), Reason: "dropped: not a valid phone number with country code"})
		}
	}
	platformHashes(&tp, e.Email, e.Phone, s.cfg.PhoneCountryCode)
	if tp.MeasurementDenied() {
		stripIdentifiers(&tp)
	}
	return tp, warnings
}

// signals is the consent per purpose a touchpoint stores: the event's own, else, for the
// string form alone, that one decision for every purpose ("granted" grants all; "denied" is
// the touchpoint's Consent and needs no copy). Absent signals stay empty (NULL in the store).
func signals(consent string, s EventSignals) store.ConsentSignals {
	out := store.ConsentSignals{AdUserData: s.AdUserData, AdPersonalization: s.AdPersonalization, Analytics: s.Analytics}
	if out == (store.ConsentSignals{}) && consent == ConsentGranted {
		out = store.ConsentSignals{AdUserData: ConsentGranted, AdPersonalization: ConsentGranted, Analytics: ConsentGranted}
	}
	return out
}

// platformHashes hashes a lead's e-mail and phone by Google's and TikTok's rules, as the
// webhook intake does for a buyer (store.Buyer's em_google, ph_google, ph_tiktok), so a lead
// reaches Google Ads and TikTok with the hashes they match on. A value that is already a hash
// was normalised by rules Hub does not know and cannot be re-normalised: it is left out.
func platformHashes(tp *store.Touchpoint, email, phone, countryCode string) {
	if email != "" && !pii.IsSHA256Hex(email) {
		if n, err := domain.GoogleEmail(email); err == nil {
			tp.GoogleEmailHash = pii.SHA256Hex(n)
		}
	}
	if phone != "" && !pii.IsSHA256Hex(phone) {
		if n, err := domain.GooglePhone(phone, countryCode); err == nil {
			tp.GooglePhoneHash = pii.SHA256Hex(n)
		}
		if n, err := domain.TikTokPhone(phone, countryCode); err == nil {
			tp.TikTokPhoneHash = pii.SHA256Hex(n)
		}
	}
}

// stripIdentifiers keeps what a touchpoint says happened and drops who it happened to.
func stripIdentifiers(tp *store.Touchpoint) {
	tp.VisitorID, tp.FBCLID, tp.GCLID, tp.TTCLID, tp.FBC, tp.FBP = "", "", "", "", "", ""
	tp.GBRAID, tp.WBRAID = "", ""
	tp.GAClientID, tp.GASessions, tp.TTP, tp.EmailHash, tp.PhoneHash, tp.IP = "", "", "", "", "", ""
	tp.GoogleEmailHash, tp.GooglePhoneHash, tp.TikTokPhoneHash = "", "", ""
	tp.URL, tp.Referrer = stripQuery(tp.URL), stripQuery(tp.Referrer)
}

func stripQuery(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.User = "", "", "", nil
	return u.String()
}

// truncate keeps at most n bytes of s, a header's value or a URL as the request sent it, as
// valid UTF-8: net/http lets bytes that are not UTF-8 through (it refuses only control
// characters), and PostgreSQL refuses them in text (SQLSTATE 22021), which would fail the whole
// group commit the event shares with other visitors'. Each run of such bytes becomes U+FFFD, as
// on the webhook path (webhook.Finish), so both stores keep the same text.
func truncate(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, string(utf8.RuneError))
	}
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") // the last rune, if the cut split it
}

// source resolves a public key, answering 400/401/503 itself when it cannot.
func (s *Service) source(w http.ResponseWriter, r *http.Request, key string) (store.Source, bool) {
	if key == "" {
		writeProblem(w, r, newProblem(http.StatusBadRequest, "the source key is missing", domain.FieldError{Field: "key", Reason: "is required (the data-key of the snippet)"}))
		return store.Source{}, false
	}
	if len(key) > 128 || !printableToken(key) {
		writeProblem(w, r, newProblem(http.StatusUnauthorized, "unknown source key", domain.FieldError{Field: "key", Reason: "is not a known source key"}))
		return store.Source{}, false
	}
	src, err := s.sources.get(r.Context(), key, s.cfg.Store.GetSourceByPublicKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, r, newProblem(http.StatusUnauthorized, "unknown source key", domain.FieldError{Field: "key", Reason: "is not a known source key"}))
		return store.Source{}, false
	case err != nil:
		s.unavailable(w, r, err)
		return store.Source{}, false
	}
	return src, true
}

func (s *Service) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away; nobody reads the answer
	}
	s.log.ErrorContext(r.Context(), "ingest: not committed", "path", r.URL.Path, "err", err)
	writeRetry(w, r, http.StatusServiceUnavailable, time.Second, "the events were not stored; retry")
}

// bounded serves h as one of the MaxInFlight requests this process works on at once, or
// answers 503 with Retry-After: Hub is past what it can do, the request is dropped before its
// body is read, and the client sends it again.
func (s *Service) bounded(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.admit() {
			writeRetry(w, r, http.StatusServiceUnavailable, time.Second, "Hub is busy; the events were not stored; retry")
			return
		}
		defer s.inFlight.Add(-1)
		h(w, r)
	}
}

// admit takes one of the MaxInFlight slots, or counts a refusal and returns false.
func (s *Service) admit() bool {
	if n := s.inFlight.Add(1); s.cfg.MaxInFlight < 0 || n <= int64(s.cfg.MaxInFlight) {
		return true
	}
	s.inFlight.Add(-1)
	s.busy.Add(1)
	return false
}

// MaxInFlight is the bound on the collect and pixel requests worked on at once (negative: none).
func (s *Service) MaxInFlight() int { return s.cfg.MaxInFlight }

// InFlight is how many collect and pixel requests the process works on now (MaxInFlight).
func (s *Service) InFlight() int64 { return s.inFlight.Load() }

// RefusedBusy is how many collect and pixel requests were answered 503 because MaxInFlight
// others were being worked on, since the process started.
func (s *Service) RefusedBusy() int64 { return s.busy.Load() }

// allow applies one rate limit, answering 429 itself when it is exceeded. A limiter error lets
// the request through: the cache is for coordination, not a dependency of ingest.
func (s *Service) allow(ctx context.Context, w http.ResponseWriter, r *http.Request, key string, rate Rate) bool {
	ok, retry := s.permit(ctx, key, rate)
	if !ok {
		writeRetry(w, r, http.StatusTooManyRequests, retry, "rate limit exceeded")
	}
	return ok
}

// ipKey is the per-IP bucket of a client: its LimitAddress, so an IPv6 client's whole /64
// shares one bucket.
func ipKey(ip netip.Addr) string { return "ip:" + LimitAddress(ip) }

// permit takes one request from the bucket of key and says whether it fits, and if not when
// to retry. Every tracking endpoint shares the buckets ("ip:<addr or /64>", "src:<id>"), so
// spreading a flood over endpoints gains nothing.
func (s *Service) permit(ctx context.Context, key string, rate Rate) (bool, time.Duration) {
	if rate.Per < 0 {
		return true, 0
	}
	ok, retry, err := s.limiter.Allow(ctx, "ingest:"+key, rate.Per, rate.Burst)
	if err != nil {
		s.log.WarnContext(ctx, "ingest: rate limiter unavailable", "err", err)
		return true, 0
	}
	return ok, retry
}

func byteSize(n int64) string {
	if n%1024 == 0 {
		return strconv.FormatInt(n/1024, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// fromPageURL fills the click ids and UTMs an event did not carry from its page URL, where the ad
// platforms put them. The URL passed checkURL (an event whose URL does not is rejected before
// it becomes a touchpoint), so it parses.
func fromPageURL(tp *store.Touchpoint) {
	if tp.URL == "" || (tp.FBCLID != "" && tp.GCLID != "" && tp.GBRAID != "" && tp.WBRAID != "" && tp.TTCLID != "" && tp.UTM != (store.UTM{})) {
		return
	}
	query := pageQuery(tp.URL)
	if query == "" {
		return
	}
	var p [len(pageParamNames)]string
	pageParams(query, &p)
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = token(v)
		}
	}
	fill(&tp.FBCLID, p[0])
	fill(&tp.GCLID, p[1])
	fill(&tp.TTCLID, p[2])
	if tp.UTM == (store.UTM{}) {
		tp.UTM = store.UTM{Source: text(p[3]), Medium: text(p[4]), Campaign: text(p[5]), Content: text(p[6]), Term: text(p[7])}
	}
	fill(&tp.GBRAID, p[8])
	fill(&tp.WBRAID, p[9])
}

// pageQuery is the query of a URL that url.Parse accepts, as its RawQuery: what lies between
// the first '?' and the fragment's '#'. It allocates nothing, where url.Parse allocates the URL.
func pageQuery(rawURL string) string {
	if i := strings.IndexByte(rawURL, '#'); i >= 0 {
		rawURL = rawURL[:i]
	}
	_, query, _ := strings.Cut(rawURL, "?")
	return query
}

// pageParamNames are the page URL's parameters fromPageURL reads, in pageParams' order.
var pageParamNames = [...]string{"fbclid", "gclid", "ttclid", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
	"gbraid", "wbraid"}

// pageParams sets p[i] to url.ParseQuery(query).Get(pageParamNames[i]), by ParseQuery's rules
// (pairs split at '&', a pair with a ';' or one that does not unescape skipped, the first value
// of a name kept) without building the map of every parameter and their unescaped copies.
func pageParams(query string, p *[len(pageParamNames)]string) {
	var found [len(pageParamNames)]bool
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(key)
		if err != nil {
			continue
		}
		i := slices.Index(pageParamNames[:], key)
		if i < 0 || found[i] {
			continue
		}
		if value, err = url.QueryUnescape(value); err != nil {
			continue
		}
		p[i], found[i] = value, true
	}
}

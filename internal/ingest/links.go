package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/hubtrack/hub/internal/store"
)

// clickParams are copied from a tracking link's request onto its target when the target does
// not already carry them, so the landing page's t.js sees the same click ids and UTMs.
var clickParams = []string{"fbclid", "gclid", "gbraid", "wbraid", "ttclid", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"}

// handleLink serves GET /r/{code}: it records a click, sets the first-party cookies and
// redirects (302) to the link's target, decorated with the visitor id. The visitor is
// redirected even when the click cannot be stored: an ad click must never dead-end.
//
// A click over the per-IP or per-source rate limit (the buckets /v1/collect uses) is redirected
// too, but not recorded: a person behind a busy shared address still reaches the shop, and a
// flood of requests cannot write more rows than the limits allow.
func (s *Service) handleLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := r.PathValue("code")
	ip := ClientIP(r, s.cfg.TrustedProxies)
	record, _ := s.permit(ctx, ipKey(ip), s.cfg.RatePerIP)
	if len(code) > 64 || !printableToken(code) {
		writeProblem(w, r, newProblem(http.StatusNotFound, "no such tracking link"))
		return
	}
	link, err := s.links.get(ctx, code, s.cfg.Store.GetLinkByCode)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, r, newProblem(http.StatusNotFound, "no such tracking link"))
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	target, err := url.Parse(link.Target)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") {
		s.log.ErrorContext(ctx, "ingest: tracking link has an invalid target", "code", code)
		writeProblem(w, r, newProblem(http.StatusNotFound, "the tracking link has no valid target"))
		return
	}
	src, err := s.sources.get(ctx, link.TenantID+"/"+link.SourceID, func(ctx2 context.Context, _ string) (store.Source, error) {
		return s.cfg.Store.GetSource(ctx2, link.TenantID, link.SourceID)
	})
	if err != nil {
		s.log.WarnContext(ctx, "ingest: tracking link source", "code", code, "err", err)
		src = store.Source{ID: link.SourceID, TenantID: link.TenantID}
	}

	q := r.URL.Query()
	now := s.now().UTC()
	fbclid := q.Get("fbclid")
	if len(fbclid) > 512 || !printableToken(fbclid) {
		fbclid = ""
	}
	ids := identifiers(r, now, "", fbclid, "", "")
	ua := r.UserAgent()
	tp := store.Touchpoint{
		ID: s.newID(), TenantID: link.TenantID, SourceID: link.SourceID, Type: "click", Name: code,
		ClientEventID: s.newID(), OccurredAt: now, ReceivedAt: now,
		URL: truncate(requestURL(r, s.cfg.TrustedProxies), 2048), Referrer: truncate(r.Referer(), 2048),
		VisitorID: ids.VisitorID, FBCLID: fbclid, GCLID: token(q.Get("gclid")), TTCLID: token(q.Get("ttclid")),
		GBRAID: token(q.Get("gbraid")), WBRAID: token(q.Get("wbraid")),
		FBC: ids.FBC, FBP: ids.FBP,
		UTM: store.UTM{Source: text(q.Get("utm_source")), Medium: text(q.Get("utm_medium")), Campaign: text(q.Get("utm_campaign")),
			Content: text(q.Get("utm_content")), Term: text(q.Get("utm_term"))},
		IP: ip.String(), UserAgent: truncate(ua, 512), Consent: ConsentUnknown, Bot: IsBot(ua),
	}
	tp.GAClientID, tp.GASessions = gaCookies(r)
	if record {
		record, _ = s.permit(ctx, "src:"+link.SourceID, s.cfg.RatePerSource)
	}
	if !record {
		s.log.DebugContext(ctx, "ingest: click over the rate limit; redirecting without recording it", "code", code)
	} else if err := s.batcher.Submit(ctx, []store.Touchpoint{tp}); err != nil {
		s.log.ErrorContext(ctx, "ingest: click not stored; redirecting anyway", "code", code, "err", err)
	}

	tq := target.Query()
	for _, p := range clickParams {
		if v := q.Get(p); v != "" && tq.Get(p) == "" {
			tq.Set(p, v)
		}
	}
	target.RawQuery = tq.Encode()
	dest := s.gw.Decorate(target.String(), ids.VisitorID, s.cfg.GenericParam)

	setCookies(w, r, requestScheme(r, s.cfg.TrustedProxies) == "https", src.CookieDomain, ids)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer-when-downgrade")
	http.Redirect(w, r, dest, http.StatusFound)
}

// transparentGIF is a 1x1 transparent GIF.
var transparentGIF = []byte{
	0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
}

// handlePixel serves GET /v1/pixel.gif?key=...: a page view for pages without JavaScript. The
// query carries the event fields (url, referrer, event_id, visitor_id, fbclid, gclid, gbraid,
// wbraid, ttclid, utm_*, consent); url defaults to the Referer header, which is the page the image is on.
func (s *Service) handlePixel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ip := ClientIP(r, s.cfg.TrustedProxies)
	if !s.allow(ctx, w, r, ipKey(ip), s.cfg.RatePerIP) {
		return
	}
	q := r.URL.Query()
	src, ok := s.source(w, r, q.Get("key"))
	if !ok {
		return
	}
	if !s.allow(ctx, w, r, "src:"+src.ID, s.cfg.RatePerSource) {
		return
	}
	now := s.now().UTC()
	page := q.Get("url")
	if page == "" {
		page = r.Referer()
	}
	e := Event{
		Type: "page_view", EventID: q.Get("event_id"), URL: page, Referrer: q.Get("referrer"),
		VisitorID: q.Get("visitor_id"), FBCLID: q.Get("fbclid"), GCLID: q.Get("gclid"), TTCLID: q.Get("ttclid"),
		GBRAID: q.Get("gbraid"), WBRAID: q.Get("wbraid"),
		UTM:     EventUTM{Source: q.Get("utm_source"), Medium: q.Get("utm_medium"), Campaign: q.Get("utm_campaign"), Content: q.Get("utm_content"), Term: q.Get("utm_term")},
		Consent: q.Get("consent"),
	}
	raw, err := json.Marshal(e)
	if err != nil {
		writeProblem(w, r, newProblem(http.StatusBadRequest, "invalid pixel parameters"))
		return
	}
	pe := parseEvent(raw, 0, "", s.limits(), now)
	if len(pe.Errors) > 0 {
		writeProblem(w, r, newProblem(http.StatusBadRequest, "the pixel parameters are invalid", pe.Errors...))
		return
	}
	if !pageAllowed(src, page) {
		// The same promise /v1/collect keeps with its 403: a page on an origin the source does
		// not allow records nothing. An <img> shows no error, so the answer is still the GIF
		// (without cookies); the URL is not logged, it may carry personal data.
		s.log.DebugContext(ctx, "ingest: pixel from a page the source's allowed origins do not include; not recorded", "source", src.ID)
		writeGIF(w)
		return
	}
	tp, _ := s.touchpoint(src, pe, now, newClient(ip, r.UserAgent()))
	var ids cookieState
	if tp.Consent != ConsentDenied {
		ids = identifiers(r, now, tp.VisitorID, tp.FBCLID, "", "")
		tp.VisitorID, tp.FBC, tp.FBP = ids.VisitorID, ids.FBC, ids.FBP
		tp.GAClientID, tp.GASessions = gaCookies(r)
	}
	if err := s.batcher.Submit(ctx, []store.Touchpoint{tp}); err != nil {
		s.unavailable(w, r, err)
		return
	}
	if tp.Consent != ConsentDenied {
		setCookies(w, r, requestScheme(r, s.cfg.TrustedProxies) == "https", src.CookieDomain, ids)
	}
	writeGIF(w)
}

// pageAllowed says whether the pixel's page (its url parameter, else the Referer) is on one of
// the source's allowed origins, by the rule /v1/collect applies to the Origin header. A page
// without a scheme and host is refused when the source lists origins (a pixel with neither url
// nor Referer is refused before, as a page view without its URL): otherwise any site could skip
// the check by sending neither. A source without origins allows every page.
func pageAllowed(src store.Source, page string) bool {
	if len(src.AllowedOrigins) == 0 {
		return true
	}
	u, err := url.Parse(page)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return false
	}
	return originAllowed(src, u.Scheme+"://"+u.Host)
}

// writeGIF answers the pixel's 1×1 transparent GIF.
func writeGIF(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Cache-Control", "no-store, max-age=0")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(transparentGIF)
}

// requestURL reconstructs the absolute URL of r as the visitor saw it.
func requestURL(r *http.Request, trusted []netip.Prefix) string {
	u := *r.URL
	u.Scheme = requestScheme(r, trusted)
	u.Host = r.Host
	return u.String()
}

// token keeps v if it is a printable token of at most 512 bytes.
func token(v string) string {
	if len(v) > 512 || !printableToken(v) {
		return ""
	}
	return v
}

// text keeps v if it is printable text of at most 256 bytes.
func text(v string) string {
	if !validText(v, 256) {
		return ""
	}
	return strings.TrimSpace(v)
}

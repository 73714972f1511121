package web

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/store"
)

// adCheckDays is how far back the setup page looks for ad clicks.
const adCheckDays = 7

// adCheckMax bounds how many of the newest touchpoints the check reads (pages of 1000).
const adCheckMax = 5000

// adLinks is one platform's card on the setup page: the URL parameters its spend spec
// declares (spend.AdLinks), where to paste them, and whether recent clicks carry them.
type adLinks struct {
	Platform string
	// Title is the platform's name in the reader's language.
	Title, Parameters, Where string
	// ID is the card's element id ("ad-params" for the first, the campaigns page's link; then
	// "ad-params-<platform>"); Suffix is what the card's other ids end with ("" for the first).
	ID, Suffix string
	Check      adCheck
}

// adCheck is the setup page's verdict on whether recent ad clicks carry the ad's id.
type adCheck struct {
	Clicks, WithAd int
	// Class is ok (90 % or more carry it), warn (some do not), bad (none does) or waiting (no
	// click yet).
	Class   string
	Verdict string
	Since   time.Time
	Capped  bool
}

// adRefOf reads the ad a visit came from (domain.ParseAdRef, the parser the Campaigns report
// credits sales with), from the landing URL and UTMs and the URL's own click ids.
func adRefOf(tp store.Touchpoint) domain.AdRef {
	return domain.ParseAdRef(domain.AdClick{URL: tp.URL, UTMSource: tp.UTM.Source, UTMMedium: tp.UTM.Medium,
		UTMCampaign: tp.UTM.Campaign, UTMContent: tp.UTM.Content, UTMTerm: tp.UTM.Term,
		ClickIDs: domain.ClickIDs{FBCLID: tp.FBCLID, GCLID: tp.GCLID, GBRAID: tp.GBRAID, WBRAID: tp.WBRAID, TTCLID: tp.TTCLID}})
}

// adLinksOf returns a card for every platform whose spec declares URL parameters, in the
// specs' order, each with its check of the last adCheckDays days.
func (u *UI) adLinksOf(ctx context.Context, l locale, tenantID string, specs []spend.Spec) ([]adLinks, error) {
	var out []adLinks
	for _, s := range specs {
		if s.AdLinks.Parameters == "" {
			continue
		}
		a := adLinks{Platform: string(s.Platform), Title: l.In(s.Title), Parameters: s.AdLinks.Parameters, Where: l.In(s.AdLinks.Where), ID: "ad-params"}
		if len(out) > 0 {
			a.Suffix = "-" + a.Platform
			a.ID += a.Suffix
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, nil
	}
	checks, err := u.checkAdParams(ctx, l, tenantID, out)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Check = checks[i]
	}
	return out, nil
}

// checkAdParams reads the newest touchpoints of the last adCheckDays days once and counts, for
// each card's platform, its ad clicks (one per click id, else per visitor) and those carrying
// an ad id; the verdicts name the platform by its title.
func (u *UI) checkAdParams(ctx context.Context, l locale, tenantID string, cards []adLinks) ([]adCheck, error) {
	now := u.now()
	since := now.AddDate(0, 0, -adCheckDays)
	checks := make([]adCheck, len(cards))
	index := map[string]int{}
	for i, c := range cards {
		checks[i].Since = since
		index[c.Platform] = i
	}
	seen := map[string]bool{}
	after := ""
	capped := false
	for read := 0; read < adCheckMax; {
		tps, err := u.cfg.Store.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: tenantID, Since: since, Until: now, After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, tp := range tps {
			ref := adRefOf(tp)
			i, ok := index[ref.Platform]
			if tp.Bot || !ok {
				continue
			}
			// The click's own id (whichever platform's it is), else the visitor and the ad's UTMs.
			key := "c:" + tp.FBCLID + "|" + tp.GCLID + "|" + tp.TTCLID
			if tp.FBCLID == "" && tp.GCLID == "" && tp.TTCLID == "" {
				key = "v:" + tp.VisitorID + "|" + tp.UTM.Campaign + "|" + tp.UTM.Content
			}
			if key = ref.Platform + "|" + key; seen[key] {
				continue
			}
			seen[key] = true
			checks[i].Clicks++
			if ref.AdID != "" {
				checks[i].WithAd++
			}
		}
		read += len(tps)
		if len(tps) < 1000 {
			break
		}
		after = tps[len(tps)-1].ID
		capped = read >= adCheckMax
	}
	days := l.N("unit.days", adCheckDays)
	for i := range checks {
		c, title := &checks[i], cards[i].Title
		c.Capped = capped
		switch {
		case c.Clicks == 0:
			c.Class, c.Verdict = "waiting", l.T("ads.check_none", title, days)
		case c.Clicks == 1 && c.WithAd == 0:
			c.Class, c.Verdict = "bad", l.T("ads.check_bad_one", title, days)
		case c.WithAd == 0:
			c.Class, c.Verdict = "bad", l.T("ads.check_bad", l.Count(c.Clicks), title, days)
		case c.Clicks == 1:
			c.Class, c.Verdict = "ok", l.T("ads.check_ok_one", title, days)
		case c.WithAd*10 >= c.Clicks*9:
			c.Class, c.Verdict = "ok", l.T("ads.check_ok", l.Count(c.WithAd), l.Count(c.Clicks), title, days)
		default:
			c.Class, c.Verdict = "warn", l.T("ads.check_warn", l.Count(c.WithAd), l.Count(c.Clicks), title, days)
		}
	}
	return checks, nil
}

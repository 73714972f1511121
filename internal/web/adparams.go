package web

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// MetaURLParameters are the URL parameters Hub recommends pasting in Meta Ads Manager (the
// ad's Tracking section, "URL parameters"): Meta replaces each {{macro}} at click time, so
// every click brings the campaign's, the ad set's and the ad's names and ids, and Hub can
// credit the sale to the ad whose spend it imported.
const MetaURLParameters = "utm_source=facebook&utm_medium=paid&utm_campaign={{campaign.name}}|{{campaign.id}}&utm_content={{ad.name}}|{{ad.id}}&utm_term={{adset.name}}|{{adset.id}}"

// adCheckDays is how far back the setup page looks for Meta ad clicks.
const adCheckDays = 7

// adCheckMax bounds how many of the newest touchpoints the check reads (pages of 1000).
const adCheckMax = 5000

// adCheck is the setup page's verdict on whether recent Meta ad clicks carry the ad's id.
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
		ClickIDs: domain.ClickIDs{FBCLID: tp.FBCLID, GCLID: tp.GCLID, TTCLID: tp.TTCLID}})
}

// checkAdParams reads the newest touchpoints of the last adCheckDays days and counts the Meta
// ad clicks (one per click id, else per visitor) and those carrying an ad id.
func (u *UI) checkAdParams(ctx context.Context, l locale, tenantID string) (adCheck, error) {
	now := u.now()
	c := adCheck{Since: now.AddDate(0, 0, -adCheckDays)}
	seen := map[string]bool{}
	after := ""
	for read := 0; read < adCheckMax; {
		tps, err := u.cfg.Store.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: tenantID, Since: c.Since, Until: now, After: after, Limit: 1000})
		if err != nil {
			return adCheck{}, err
		}
		for _, tp := range tps {
			ref := adRefOf(tp)
			if tp.Bot || ref.Platform != domain.AdPlatformMeta {
				continue
			}
			key := "c:" + tp.FBCLID
			if tp.FBCLID == "" {
				key = "v:" + tp.VisitorID + "|" + tp.UTM.Campaign + "|" + tp.UTM.Content
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			c.Clicks++
			if ref.AdID != "" {
				c.WithAd++
			}
		}
		read += len(tps)
		if len(tps) < 1000 {
			break
		}
		after = tps[len(tps)-1].ID
		c.Capped = read >= adCheckMax
	}
	days := l.N("unit.days", adCheckDays)
	switch {
	case c.Clicks == 0:
		c.Class, c.Verdict = "waiting", l.T("ads.check_none", days)
	case c.WithAd == 0:
		c.Class, c.Verdict = "bad", l.T("ads.check_bad", l.Count(c.Clicks), days)
	case c.WithAd*10 >= c.Clicks*9:
		c.Class, c.Verdict = "ok", l.T("ads.check_ok", l.Count(c.WithAd), l.Count(c.Clicks), days)
	default:
		c.Class, c.Verdict = "warn", l.T("ads.check_warn", l.Count(c.WithAd), l.Count(c.Clicks), days)
	}
	return c, nil
}

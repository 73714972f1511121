package domain

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ad platforms an ad click can come from; the same words as spend.Platform and the
// destination types.
const (
	AdPlatformMeta      = "meta"
	AdPlatformGoogleAds = "googleads"
	AdPlatformTikTok    = "tiktok"
)

// AdRef is the ad a click came from, as far as its URL tells: the platform and the
// campaign, ad set (Google's and TikTok's ad group) and ad ids and names. A paid click whose
// URL carries no ids has a Platform and empty ids ("unidentified paid traffic"); an organic
// visit has neither.
type AdRef struct {
	Platform     string `json:"platform,omitempty"`
	CampaignID   string `json:"campaign_id,omitempty"`
	CampaignName string `json:"campaign_name,omitempty"`
	AdSetID      string `json:"adset_id,omitempty"`
	AdSetName    string `json:"adset_name,omitempty"`
	AdID         string `json:"ad_id,omitempty"`
	AdName       string `json:"ad_name,omitempty"`
}

// Paid reports whether the click is known to come from an ad platform.
func (r AdRef) Paid() bool { return r.Platform != "" }

// Identified reports whether the click names an ad, ad set or campaign by id.
func (r AdRef) Identified() bool { return r.CampaignID != "" || r.AdSetID != "" || r.AdID != "" }

// AdClick is what an ad reference is read from: a touchpoint's landing URL and UTMs, or an
// order's own tracking (its UTMs, click ids and the gateway's metadata) when it has no
// touchpoint. Fields already parsed (UTM*) win over the same parameter in URL.
type AdClick struct {
	URL         string // the landing page, query included
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	UTMContent  string
	UTMTerm     string
	// ClickIDs are the click's own ids. A touchpoint passes its URL's (not the _fbc cookie,
	// which every visit carries for 90 days after one Meta click); an order passes its own.
	ClickIDs ClickIDs
	// Params are further name=value pairs known about the click (an order's metadata, a
	// gateway's tracking fields); the URL's own query wins over them.
	Params map[string]string
}

// Limits on what an ad reference keeps: a name is cut to maxAdNameRunes characters and
// maxAdNameBytes bytes of UTF-8 (three names and their ids are one entry of the orders_ad index,
// and PostgreSQL refuses an index entry over about 2.7 kB: 200 four-byte characters each would
// come within a few bytes of it), an id longer than maxAdIDLen digits is not an id (Meta's ids
// are 15–18 digits, Google's up to 11, TikTok's 19).
const (
	maxAdNameRunes = 200
	maxAdNameBytes = 400
	maxAdIDLen     = 32
)

// ParseAdRef reads the ad a click came from. It accepts:
//
//   - Hub's recommended Meta template, utm_campaign={{campaign.name}}|{{campaign.id}},
//     utm_content={{ad.name}}|{{ad.id}}, utm_term={{adset.name}}|{{adset.id}};
//   - the "name|id" templates Brazilian tools use, where the ad set may be in utm_medium
//     (utm_medium={{adset.name}}|{{adset.id}}, with utm_term={{placement}}) or in a
//     tool's own parameter (nemu_campaign, nemu_adset, nemu_content);
//   - separate parameters: campaign_id, adset_id (adgroup_id, ad_group_id), ad_id and their
//     _name companions, and Google's gad_campaignid.
//
// A "name|id" value's id is its LAST segment and must be digits, so a name may itself
// contain "|"; a value whose last segment is not digits is a name only. A separate id
// parameter wins over an id in a UTM. The platform comes from utm_source (facebook, fb, ig,
// instagram, meta, an, msg...; google, adwords; tiktok), else from the click id (fbclid or
// fbc → meta; gclid, gbraid, wbraid → googleads; ttclid → tiktok). It never fails: what it
// cannot read stays empty.
func ParseAdRef(c AdClick) AdRef {
	p := map[string]string{}
	for k, v := range c.Params {
		p[strings.ToLower(k)] = v
	}
	if c.URL != "" {
		raw := c.URL
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			raw = raw[i+1:]
		} else if !strings.Contains(raw, "=") {
			raw = ""
		}
		if i := strings.IndexByte(raw, '#'); i >= 0 {
			raw = raw[:i]
		}
		q, _ := url.ParseQuery(raw) // what parses is kept; a bad pair is skipped
		for k, vs := range q {
			if len(vs) > 0 && vs[0] != "" {
				p[strings.ToLower(k)] = vs[0]
			}
		}
	}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("utm_source", c.UTMSource)
	set("utm_medium", c.UTMMedium)
	set("utm_campaign", c.UTMCampaign)
	set("utm_content", c.UTMContent)
	set("utm_term", c.UTMTerm)

	var r AdRef
	r.CampaignName, r.CampaignID = firstNameID(p, "utm_campaign", "nemu_campaign")
	r.AdName, r.AdID = firstNameID(p, "utm_content", "nemu_content")
	r.AdSetName, r.AdSetID = firstNameID(p, "utm_term", "nemu_adset")
	if r.AdSetID == "" {
		// Templates that put the ad set in utm_medium (and the placement in utm_term).
		if n, id := splitNameID(p["utm_medium"]); id != "" {
			r.AdSetName, r.AdSetID = n, id
		}
	}
	if r.AdSetID == "" && r.CampaignID == "" && r.AdID == "" {
		// No ids in the UTMs: a utm_term is a keyword or a placement, not an ad set name.
		r.AdSetName = ""
	}
	if id := firstID(p, "campaign_id", "campaignid", "gad_campaignid"); id != "" {
		r.CampaignID = id
	}
	if id := firstID(p, "adset_id", "adsetid", "adgroup_id", "ad_group_id", "adgroupid"); id != "" {
		r.AdSetID = id
	}
	if id := firstID(p, "ad_id", "adid", "creative_id"); id != "" {
		r.AdID = id
	}
	if n := cleanName(p["campaign_name"]); n != "" {
		r.CampaignName = n
	}
	if n := cleanName(firstOf(p, "adset_name", "adgroup_name", "ad_group_name")); n != "" {
		r.AdSetName = n
	}
	if n := cleanName(p["ad_name"]); n != "" {
		r.AdName = n
	}
	// Ids without a source or a click id keep an empty platform: a guess would credit
	// another platform's spend (the report joins them to spend by id alone).
	r.Platform = platformOf(p["utm_source"], p["utm_medium"], c.ClickIDs, p)
	return r
}

func firstOf(p map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := p[k]; v != "" {
			return v
		}
	}
	return ""
}

// firstNameID reads the first of keys holding a value: its name and, when its last "|"
// segment is digits, its id.
func firstNameID(p map[string]string, keys ...string) (name, id string) {
	for _, k := range keys {
		if v := p[k]; v != "" {
			n, i := splitNameID(v)
			if i != "" {
				return n, i
			}
			if name == "" {
				name = n
			}
		}
	}
	return name, ""
}

func firstID(p map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(p[k]); isAdID(v) {
			return v
		}
	}
	return ""
}

// splitNameID splits "name|id": the id is the last segment when it is digits.
func splitNameID(v string) (name, id string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", ""
	}
	if i := strings.LastIndexByte(v, '|'); i >= 0 {
		if last := strings.TrimSpace(v[i+1:]); isAdID(last) {
			return cleanName(v[:i]), last
		}
	}
	if isAdID(v) {
		return "", v
	}
	return cleanName(v), ""
}

func isAdID(s string) bool {
	if s == "" || len(s) > maxAdIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cleanName trims a name, drops control characters and invalid UTF-8 and cuts it to
// maxAdNameRunes and maxAdNameBytes, between characters. An unsubstituted macro ("{{ad.name}}")
// is no name.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}") {
		return ""
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			continue
		}
		if n == maxAdNameRunes || b.Len()+utf8.RuneLen(r) > maxAdNameBytes {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// Words of utm_source (split on anything not a letter or digit) that name a platform. Meta's
// {{site_source_name}} gives fb, ig, an (Audience Network) and msg (Messenger).
var sourceWords = map[string]string{
	"facebook": AdPlatformMeta, "fb": AdPlatformMeta, "fbig": AdPlatformMeta, "ig": AdPlatformMeta,
	"instagram": AdPlatformMeta, "meta": AdPlatformMeta, "an": AdPlatformMeta, "msg": AdPlatformMeta,
	"messenger": AdPlatformMeta, "fbads": AdPlatformMeta, "facebookads": AdPlatformMeta, "fbpaid": AdPlatformMeta,
	"google": AdPlatformGoogleAds, "googleads": AdPlatformGoogleAds, "adwords": AdPlatformGoogleAds,
	"gads": AdPlatformGoogleAds, "youtube": AdPlatformGoogleAds,
	"tiktok": AdPlatformTikTok, "tiktokads": AdPlatformTikTok,
}

// unpaidMedia are utm_medium values that say a known source's traffic was not an ad.
var unpaidMedia = map[string]bool{"organic": true, "referral": true, "email": true, "social_organic": true, "organic_social": true}

func platformOf(source, medium string, ids ClickIDs, p map[string]string) string {
	if pl := sourcePlatform(source); pl != "" {
		if !unpaidMedia[strings.ToLower(strings.TrimSpace(medium))] {
			return pl
		}
	}
	switch {
	case ids.FBCLID != "" || p["fbclid"] != "" || ids.FBC != "":
		return AdPlatformMeta
	case ids.GCLID != "" || ids.GBRAID != "" || ids.WBRAID != "" || p["gclid"] != "" || p["gbraid"] != "" || p["wbraid"] != "":
		return AdPlatformGoogleAds
	case ids.TTCLID != "" || p["ttclid"] != "":
		return AdPlatformTikTok
	}
	return ""
}

func sourcePlatform(source string) string {
	s := strings.ToLower(strings.TrimSpace(source))
	if s == "" {
		return ""
	}
	if pl, ok := sourceWords[s]; ok {
		return pl
	}
	words := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		if pl, ok := sourceWords[w]; ok {
			return pl
		}
	}
	switch {
	case strings.HasPrefix(s, "facebook") || strings.HasPrefix(s, "instagram"):
		return AdPlatformMeta
	case strings.HasPrefix(s, "google"):
		return AdPlatformGoogleAds
	case strings.HasPrefix(s, "tiktok"):
		return AdPlatformTikTok
	}
	return ""
}

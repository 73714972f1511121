package domain

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAdRef(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   AdClick
		want AdRef
	}{
		{"Hub's recommended template", AdClick{URL: "https://x.com/?utm_source=facebook&utm_medium=paid&utm_campaign=Black%20Friday%7C120210000000001&utm_content=Video%2001%7C120210000000003&utm_term=Lookalike%201%25%7C120210000000002"},
			AdRef{Platform: "meta", CampaignName: "Black Friday", CampaignID: "120210000000001", AdSetName: "Lookalike 1%", AdSetID: "120210000000002", AdName: "Video 01", AdID: "120210000000003"}},
		{"names containing |: the id is the last segment", AdClick{URL: "https://x.com/?utm_source=fb&utm_campaign=BF+%7C+2025+%7C+topo%7C11&utm_content=a%7Cb%7C33&utm_term=s%7C22"},
			AdRef{Platform: "meta", CampaignName: "BF | 2025 | topo", CampaignID: "11", AdSetName: "s", AdSetID: "22", AdName: "a|b", AdID: "33"}},
		{"last segment not digits: a name only", AdClick{URL: "https://x.com/?utm_source=facebook&utm_campaign=Oferta%7Cabc&utm_content=Ad%7C12a"},
			AdRef{Platform: "meta", CampaignName: "Oferta|abc", AdName: "Ad|12a"}},
		{"ad set in utm_medium, placement in utm_term (Brazilian tools)", AdClick{URL: "https://x.com/?utm_source=FB&utm_campaign=C%7C1&utm_medium=S%7C2&utm_content=A%7C3&utm_term=Instagram_Reels"},
			AdRef{Platform: "meta", CampaignName: "C", CampaignID: "1", AdSetName: "S", AdSetID: "2", AdName: "A", AdID: "3"}},
		{"separate id parameters win over UTM ids", AdClick{URL: "https://x.com/?utm_source=facebook&utm_campaign=Oferta%7C9&utm_content=Ad&campaign_id=1&adset_id=2&ad_id=3&adset_name=Publico"},
			AdRef{Platform: "meta", CampaignName: "Oferta", CampaignID: "1", AdSetName: "Publico", AdSetID: "2", AdName: "Ad", AdID: "3"}},
		{"nemu parameters", AdClick{URL: "https://x.com/?nemu_campaign=C%7C11&nemu_adset=S%7C22&nemu_content=A%7C33&fbclid=x"},
			AdRef{Platform: "meta", CampaignName: "C", CampaignID: "11", AdSetName: "S", AdSetID: "22", AdName: "A", AdID: "33"}},
		{"unsubstituted macros are neither names nor ids", AdClick{URL: "https://x.com/?utm_source=facebook&utm_campaign={{campaign.name}}|{{campaign.id}}&utm_content={{ad.name}}"},
			AdRef{Platform: "meta"}},
		{"paid click without ids: unidentified", AdClick{URL: "https://x.com/?fbclid=IwAR0"},
			AdRef{Platform: "meta"}},
		{"utm_term without ids is a keyword, not an ad set", AdClick{UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "marca", UTMTerm: "tenis corrida"},
			AdRef{Platform: "googleads", CampaignName: "marca"}},
		{"gclid and gad_campaignid", AdClick{URL: "https://x.com/?gclid=Cj0&gad_campaignid=21000000001"},
			AdRef{Platform: "googleads", CampaignID: "21000000001"}},
		{"gbraid", AdClick{ClickIDs: ClickIDs{GBRAID: "0AAA"}}, AdRef{Platform: "googleads"}},
		{"wbraid", AdClick{ClickIDs: ClickIDs{WBRAID: "0AAA"}}, AdRef{Platform: "googleads"}},
		{"ttclid and TikTok ad group", AdClick{URL: "https://x.com/?ttclid=E.C&adgroup_id=18&ad_id=19&campaign_id=17"},
			AdRef{Platform: "tiktok", CampaignID: "17", AdSetID: "18", AdID: "19"}},
		{"fbc of an order", AdClick{ClickIDs: ClickIDs{FBC: "fb.1.1700000000000.IwAR"}}, AdRef{Platform: "meta"}},
		{"utm_source words", AdClick{UTMSource: "Facebook_Mobile_Feed"}, AdRef{Platform: "meta"}},
		{"utm_source instagram", AdClick{UTMSource: "Instagram"}, AdRef{Platform: "meta"}},
		{"utm_source ig word", AdClick{UTMSource: "AD FB fb"}, AdRef{Platform: "meta"}},
		{"utm_source tiktok", AdClick{UTMSource: "tiktok.com"}, AdRef{Platform: "tiktok"}},
		{"utm_source adwords", AdClick{UTMSource: "adwords"}, AdRef{Platform: "googleads"}},
		{"organic medium is not paid", AdClick{UTMSource: "instagram", UTMMedium: "organic"}, AdRef{}},
		{"utm_source wins over a click id", AdClick{UTMSource: "tiktok", ClickIDs: ClickIDs{GCLID: "x"}}, AdRef{Platform: "tiktok"}},
		{"e-mail traffic", AdClick{URL: "https://x.com/?utm_source=newsletter&utm_medium=email&utm_campaign=semana"}, AdRef{CampaignName: "semana"}},
		{"ids without platform keep no platform", AdClick{URL: "https://x.com/?campaign_id=1&ad_id=3"}, AdRef{CampaignID: "1", AdID: "3"}},
		{"parsed UTMs win over the URL's", AdClick{URL: "https://x.com/?utm_campaign=Old%7C1", UTMSource: "facebook", UTMCampaign: "New|2"},
			AdRef{Platform: "meta", CampaignName: "New", CampaignID: "2"}},
		{"order metadata", AdClick{UTMSource: "facebook", Params: map[string]string{"Ad_ID": "3", "campaign_id": "1"}},
			AdRef{Platform: "meta", CampaignID: "1", AdID: "3"}},
		{"too long an id is none", AdClick{URL: "https://x.com/?utm_source=fb&ad_id=" + strings.Repeat("1", 33)}, AdRef{Platform: "meta"}},
		{"bad escapes are skipped", AdClick{URL: "%zz?utm_campaign=%&utm_source=fb"}, AdRef{Platform: "meta"}},
		{"fragment ignored", AdClick{URL: "https://x.com/?utm_source=fb&ad_id=3#ad_id=4"}, AdRef{Platform: "meta", AdID: "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ParseAdRef(tc.in); got != tc.want {
				t.Errorf("ParseAdRef(%+v)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestAdRefNameCut(t *testing.T) {
	t.Parallel()
	r := ParseAdRef(AdClick{UTMCampaign: strings.Repeat("é", 300) + "\x00|1"})
	if utf8.RuneCountInString(r.CampaignName) != maxAdNameRunes || r.CampaignID != "1" {
		t.Errorf("name of %d runes, id %q", utf8.RuneCountInString(r.CampaignName), r.CampaignID)
	}
	// Four-byte characters are cut by bytes first, between characters: three names stay well
	// inside one PostgreSQL index entry.
	r = ParseAdRef(AdClick{UTMCampaign: strings.Repeat("🚀", 300) + "|1"})
	if len(r.CampaignName) != maxAdNameBytes || utf8.RuneCountInString(r.CampaignName) != maxAdNameBytes/4 || !utf8.ValidString(r.CampaignName) {
		t.Errorf("name of %d bytes, %d runes", len(r.CampaignName), utf8.RuneCountInString(r.CampaignName))
	}
	r = ParseAdRef(AdClick{UTMCampaign: "a" + strings.Repeat("🚀", 300) + "|1"})
	if len(r.CampaignName) != maxAdNameBytes-3 || !utf8.ValidString(r.CampaignName) {
		t.Errorf("name of %d bytes: not cut between characters", len(r.CampaignName))
	}
}

func FuzzParseAdRef(f *testing.F) {
	file, err := os.Open("testdata/adref_urls.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f.Add(sc.Text(), "", "")
	}
	f.Add("", "facebook", "a|b|1")
	f.Fuzz(func(t *testing.T, u, source, campaign string) {
		r := ParseAdRef(AdClick{URL: u, UTMSource: source, UTMCampaign: campaign})
		for _, id := range []string{r.CampaignID, r.AdSetID, r.AdID} {
			if id != "" && !isAdID(id) {
				t.Fatalf("id %q is not digits", id)
			}
		}
		for _, n := range []string{r.CampaignName, r.AdSetName, r.AdName} {
			if !utf8.ValidString(n) || utf8.RuneCountInString(n) > maxAdNameRunes || len(n) > maxAdNameBytes || n != strings.TrimSpace(n) {
				t.Fatalf("name %q", n)
			}
		}
		switch r.Platform {
		case "", AdPlatformMeta, AdPlatformGoogleAds, AdPlatformTikTok:
		default:
			t.Fatalf("platform %q", r.Platform)
		}
		if again := ParseAdRef(AdClick{URL: u, UTMSource: source, UTMCampaign: campaign}); again != r {
			t.Fatalf("not deterministic")
		}
	})
}

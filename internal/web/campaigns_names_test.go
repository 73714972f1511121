package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/spend"
	spendmeta "github.com/hubtrack/hub/internal/spend/meta"
	"github.com/hubtrack/hub/internal/store"
)

// renamedMeta is Meta's spend source with a title of its own in each language, so the test
// sees which one the Campaigns page shows.
type renamedMeta struct{ spend.Source }

func (s renamedMeta) Spec() spend.Spec {
	spec := s.Source.Spec()
	spec.Title = spend.Words{EN: "Meta (in English)", PT: "Meta (em português)"}
	return spec
}

// TestCampaignsNamePlatforms: the Campaigns page names an ad platform by its spend spec's
// Title in the reader's language, and a platform Hub has no spec for by its own word.
func TestCampaignsNamePlatforms(t *testing.T) {
	e := newEnvWith(t, backends[0], func(c *Config) {
		c.Admin.SpendSources = map[spend.Platform]spend.Source{spend.Meta: renamedMeta{spendmeta.New(spend.Env{})}}
	})
	c := e.firstAdmin("ana@example.com")
	for _, w := range []struct{ lang, meta string }{{"en", "Meta (in English)"}, {"pt-BR", "Meta (em português)"}} {
		r := c.get("/campaigns?lang=" + w.lang)
		if r.status != http.StatusOK {
			t.Fatalf("campaigns %s: %d", w.lang, r.status)
		}
		mustContain(t, "campaigns "+w.lang, r.body, `<option value="meta">`+w.meta+`</option>`,
			`<option value="googleads">googleads</option>`, `<option value="tiktok">tiktok</option>`)
	}
}

// TestCampaignsWholeCampaignRow: inside a campaign whose spend the platform reports only as a
// whole (Google's Performance Max: no ad groups), the row without an ad set says so in the
// reader's language, not that the ads lack their URL parameters; the campaign level shows the
// campaign itself.
func TestCampaignsWholeCampaignRow(t *testing.T) {
	e := newEnv(t, backends[0])
	c := e.firstAdmin("ana@example.com")
	ctx := context.Background()
	tenant := mustTenant(t, e)
	acct, err := e.st.CreateAdAccount(ctx, store.AdAccount{TenantID: tenant.ID, Platform: "googleads", ExternalID: "1234567890",
		Name: "Loja Google", Currency: "BRL", TimeZone: "America/Sao_Paulo", Credentials: "sealed"})
	if err != nil {
		t.Fatal(err)
	}
	yesterday := time.Now().In(mustZone(t, "America/Sao_Paulo")).AddDate(0, 0, -1).Format(time.DateOnly)
	if _, err := e.st.UpsertSpend(ctx, []store.SpendRow{{TenantID: tenant.ID, AccountID: acct.ID, Platform: "googleads", Date: yesterday,
		CampaignID: "900001", CampaignName: "PMax Loja", Currency: "BRL", SpendMicros: 50_000_000, Impressions: 1000, Clicks: 10}}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ lang, whole, note, unidentified string }{
		{"en", "The whole campaign (", "Spend the platform reports only for the whole campaign", "add the URL parameters"},
		{"pt-BR", "A campanha inteira (", "Investimento que a plataforma informa só para a campanha inteira", "adicione os parâmetros de URL"},
	} {
		r := c.get("/campaigns?lang=" + w.lang)
		if r.status != http.StatusOK {
			t.Fatalf("campaigns %s: %d", w.lang, r.status)
		}
		mustContain(t, "campaigns "+w.lang, r.body, "PMax Loja", "campaign=900001")
		r = c.get("/campaigns?campaign=900001&lang=" + w.lang)
		if r.status != http.StatusOK {
			t.Fatalf("campaign 900001 %s: %d", w.lang, r.status)
		}
		mustContain(t, "inside the campaign "+w.lang, r.body, w.whole, w.note)
		if strings.Contains(r.body, w.unidentified) {
			t.Errorf("%s: the campaign's own spend is explained as ads without URL parameters", w.lang)
		}
	}
}

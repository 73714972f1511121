package web

import (
	"net/http"
	"testing"

	"github.com/hubtrack/hub/internal/spend"
	spendmeta "github.com/hubtrack/hub/internal/spend/meta"
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

package shopify

import (
	"testing"

	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	webhooktest.Run(t, Adapter{}, "testdata")
}

func FuzzParseShopify(f *testing.F) {
	webhooktest.Fuzz(f, Adapter{}, "testdata")
}

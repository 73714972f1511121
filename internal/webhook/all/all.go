// Package all builds the registry of every webhook adapter Hub ships. It is a separate package
// so that package webhook does not import the gateway packages that import it.
package all

import (
	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/appmax"
	"github.com/hubtrack/hub/internal/webhook/braip"
	"github.com/hubtrack/hub/internal/webhook/eduzz"
	"github.com/hubtrack/hub/internal/webhook/hotmart"
	"github.com/hubtrack/hub/internal/webhook/kiwify"
	"github.com/hubtrack/hub/internal/webhook/monetizze"
	"github.com/hubtrack/hub/internal/webhook/pagbank"
	"github.com/hubtrack/hub/internal/webhook/perfectpay"
	"github.com/hubtrack/hub/internal/webhook/shopify"
	"github.com/hubtrack/hub/internal/webhook/stripe"
	"github.com/hubtrack/hub/internal/webhook/ticto"
	"github.com/hubtrack/hub/internal/webhook/woocommerce"
)

// Default returns a registry with every gateway adapter: one line per gateway.
func Default() *webhook.Registry {
	r := webhook.NewRegistry()
	r.Register(hotmart.Adapter{})
	r.Register(kiwify.Adapter{})
	r.Register(stripe.Adapter{})
	r.Register(pagbank.Adapter{})
	r.Register(perfectpay.Adapter{})
	r.Register(eduzz.Adapter{})
	r.Register(monetizze.Adapter{})
	r.Register(ticto.Adapter{})
	r.Register(braip.Adapter{})
	r.Register(appmax.Adapter{})
	r.Register(shopify.Adapter{})
	r.Register(woocommerce.Adapter{})
	return r
}

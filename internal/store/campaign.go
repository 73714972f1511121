package store

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/domain"
)

// MoneySettings are what a tenant tells Hub about its money so the Campaigns report can turn
// revenue into profit: what each gateway keeps, the tax on sales, what each product costs and
// the exchange rates between an ad account's currency and the sales'. No external exchange
// rate service is used (Hub may run where none is reachable): the tenant enters the rates.
type MoneySettings struct {
	TenantID string
	// Currency is the report's currency (ISO 4217): sales and spend in another currency are
	// converted with Rates. Default DefaultReportCurrency.
	Currency string
	// TaxBasisPoints is the tax on sales in hundredths of a percent (600 = 6 %), taken from
	// revenue net of refunds.
	TaxBasisPoints int64
	// Fees are the gateways' fees, by provider name (hotmart, kiwify, stripe...). A provider
	// absent here uses DefaultGatewayFees, then no fee.
	Fees map[string]GatewayFee
	// ProductCosts are what one unit of a product costs the seller, by product id, in
	// Currency's minor units. Optional.
	ProductCosts map[string]int64
	// Rates converts other currencies into Currency: one unit of the key currency is worth
	// Rate units of Currency.
	Rates     map[string]CurrencyRate
	UpdatedAt time.Time
}

// GatewayFee is what a gateway keeps of each paid order: a percentage (in hundredths of a
// percent) plus a fixed amount in FixedCurrency's minor units.
type GatewayFee struct {
	BasisPoints   int64  `json:"basis_points"`
	FixedMinor    int64  `json:"fixed_minor"`
	FixedCurrency string `json:"fixed_currency"`
}

// CurrencyRate is one exchange rate the tenant entered: Rate units of the report currency per
// unit of the other, as a decimal text ("5.4321") so no float rounding creeps in.
type CurrencyRate struct {
	Rate      string    `json:"rate"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DefaultReportCurrency is a tenant's report currency until it chooses one.
const DefaultReportCurrency = "BRL"

// MoneySettingsStore keeps a tenant's money settings. GetMoneySettings of a tenant that never
// saved any returns the defaults (Currency DefaultReportCurrency, no fees, taxes or costs).
type MoneySettingsStore interface {
	GetMoneySettings(ctx context.Context, tenantID string) (MoneySettings, error)
	PutMoneySettings(ctx context.Context, s MoneySettings) error
}

// Kinds of AdSalesRow.
const (
	AdSale   = "sale"   // an order paid (counted on its payment or click day)
	AdRefund = "refund" // an order refunded, on the day of the refund
	// AdChargeback is an order charged back, on the day of the chargeback. A won chargeback is
	// one undone on the day it is won: a row of this kind with Orders and AmountMinor negative.
	AdChargeback = "chargeback"
)

// AdSalesFilter selects the sales and reversals of a tenant's period, bucketed like
// StatsFilter (Bucket wide, shifted by Offset), each with the ad of its order's click.
type AdSalesFilter struct {
	TenantID string
	Since    time.Time // included
	Until    time.Time // excluded
	Bucket   time.Duration
	Offset   time.Duration
	// ByClick selects and buckets sales by the time of their click instead of their payment;
	// a sale without a click then falls on its payment time. Refunds and chargebacks are
	// always on the day they happen.
	ByClick bool
	// Days groups the rows by bucket (Bucket zero otherwise); Ads groups them by ad (Ad empty
	// otherwise). A report needs per-ad totals and per-day totals, not every ad's every day.
	Days bool
	Ads  bool
	// Products groups the rows by product list too (for product costs); Products is empty
	// otherwise.
	Products bool
	// Platform, CampaignID and AdSetID, when set, leave out the orders whose click names
	// another platform, campaign or ad set (a drill-down's scope), and the orders without an
	// ad click. A click that leaves the field empty but names a finer id (an ad set, an ad) is
	// kept: the report completes a click's ad from the spend rows, so it may still belong to
	// the scope. A report reads fewer rows, the same figures.
	Platform   string
	CampaignID string
	AdSetID    string
}

// AdSalesRow is the orders of one bucket, kind, ad, gateway, currency and product list.
// Orders without an attribution to an ad click have empty ad fields (and Platform empty when
// the click was not paid); an ad's names are those of one of its clicks (the report prefers
// the platform's, from the spend rows).
type AdSalesRow struct {
	Bucket   time.Time
	Kind     string // AdSale, AdRefund, AdChargeback
	Ad       domain.AdRef
	Provider string
	Currency string
	// Products is the orders' product list as stored (JSON); orders with the same list are
	// counted together, so product costs are applied per list.
	Products    string
	Orders      int
	AmountMinor int64
}

// SpendByAdFilter selects a tenant's spend of the account days Since..Until (both included),
// summed per day (Days), per ad (Ads) or both.
type SpendByAdFilter struct {
	TenantID string
	Since    string // YYYY-MM-DD
	Until    string
	Days     bool
	Ads      bool
	// Campaigns sums per campaign (without Ads): read from the campaign-day sums the spend
	// import keeps, as is every read without Ads or AdSetID.
	Campaigns bool
	// CampaignID and AdSetID, when set, keep only that campaign's or ad set's spend.
	CampaignID string
	AdSetID    string
}

// SpendByAdRow is one ad's spend on one of its account's days, or the sum of the ads or days
// the filter did not group by (their fields empty).
type SpendByAdRow struct {
	Date         string // YYYY-MM-DD in the account's time zone
	Platform     string
	Currency     string
	CampaignID   string
	CampaignName string
	AdSetID      string
	AdSetName    string
	AdID         string
	AdName       string
	SpendMicros  int64
	Impressions  int64
	Clicks       int64
}

// CampaignReader is what the Campaigns report reads: aggregates only, so 90 days of 100k
// orders is a few thousand rows.
type CampaignReader interface {
	MoneySettingsStore
	AdSales(ctx context.Context, f AdSalesFilter) ([]AdSalesRow, error)
	SpendByAd(ctx context.Context, f SpendByAdFilter) ([]SpendByAdRow, error)
}

package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/hubtrack/hub/internal/domain"
)

// CampaignColumns is the header of the Campaigns report's CSV: one row per report row, then
// one per day (kind "day", the date in id), then the total (kind "total"). Amounts are in the
// report's currency, in major units ("1234.56").
var CampaignColumns = []string{
	"kind", "platform", "id", "name", "campaign_id", "campaign_name", "adset_id", "adset_name",
	"currency", "spend", "impressions", "clicks", "sales", "revenue", "refunds", "refunds_amount",
	"chargebacks", "chargebacks_amount", "net_revenue", "fees", "taxes", "product_costs", "profit", "roas", "cpa",
}

// WriteCampaignsCSV writes the report as CSV (RFC 4180, CRLF line ends); names that came from
// ad URLs are neutralised against spreadsheet formulas.
func WriteCampaignsCSV(w io.Writer, rep CampaignReport) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CampaignColumns); err != nil {
		return fmt.Errorf("report: campaigns csv: %w", err)
	}
	money := func(v int64) string {
		s, err := domain.FormatMinor(v, rep.Currency)
		if err != nil {
			return strconv.FormatInt(v, 10)
		}
		return s
	}
	figures := func(f CampaignFigures) []string {
		roas, cpa := "", ""
		if f.ROAS != nil {
			roas = strconv.FormatFloat(*f.ROAS, 'f', 2, 64)
		}
		if f.CPAMinor != nil {
			cpa = money(*f.CPAMinor)
		}
		return []string{rep.Currency, money(f.SpendMinor), strconv.FormatInt(f.Impressions, 10), strconv.FormatInt(f.Clicks, 10),
			strconv.Itoa(f.Sales), money(f.RevenueMinor), strconv.Itoa(f.Refunds), money(f.RefundsMinor), strconv.Itoa(f.Chargebacks),
			money(f.ChargebacksMinor), money(f.NetRevenueMinor), money(f.FeesMinor), money(f.TaxesMinor), money(f.ProductCostsMinor),
			money(f.ProfitMinor), roas, cpa}
	}
	for _, r := range rep.Rows {
		rec := append([]string{r.Kind, r.Platform, text(r.ID), text(r.Name), text(r.CampaignID), text(r.CampaignName),
			text(r.AdSetID), text(r.AdSetName)}, figures(r.CampaignFigures)...)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("report: campaigns csv: %w", err)
		}
	}
	for _, d := range rep.Days {
		if err := cw.Write(append([]string{"day", "", d.Date, "", "", "", "", ""}, figures(d.CampaignFigures)...)); err != nil {
			return fmt.Errorf("report: campaigns csv: %w", err)
		}
	}
	if err := cw.Write(append([]string{"total", "", "", "", "", "", "", ""}, figures(rep.Total)...)); err != nil {
		return fmt.Errorf("report: campaigns csv: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: campaigns csv: %w", err)
	}
	return nil
}

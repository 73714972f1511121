package report_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// TestCampaignsKeptOnWrite: orders keep a copy of their click's ad, written with the
// attribution, which the report reads instead of joining the attributions. A tenant whose
// orders were re-attributed (to another ad, to no ad), attributed only after a refund or a
// chargeback, and whose touchpoints the retention job then deleted, has the report of a tenant
// that recorded the final attributions once: the same rows, days and totals, by payment and
// by click, at every level.
func TestCampaignsKeptOnWrite(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		ctx := context.Background()
		adA := domain.AdRef{Platform: "meta", CampaignID: "111", CampaignName: "Launch", AdSetID: "211", AdSetName: "LAL", AdID: "311", AdName: "Video"}
		adB := domain.AdRef{Platform: "meta", CampaignID: "112", AdSetID: "212", AdID: "312"}
		adC := domain.AdRef{Platform: "googleads", CampaignID: "911", AdSetID: "921", AdID: "931"}
		p1 := []store.Product{{ID: "p1", Quantity: 1}}
		type attribution struct {
			ad    domain.AdRef
			click time.Time
		}
		type order struct {
			ext      string
			amount   int64
			paid     time.Time
			reversal domain.OrderStatus
			revAt    time.Time
			history  []attribution // earlier attributions, replaced in turn
			final    *attribution  // the attribution kept last (nil: none)
			afterRev bool          // the final attribution is written after the reversal
		}
		orders := []order{
			{ext: "r1", amount: 19700, paid: sp(11, 2, 10, 0), history: []attribution{{adA, sp(11, 1, 9, 0)}},
				final: &attribution{adB, sp(11, 2, 9, 0)}},
			{ext: "r2", amount: 9700, paid: sp(11, 2, 22, 0), history: []attribution{{adA, sp(11, 2, 21, 0)}, {adC, sp(10, 30, 8, 0)}},
				final: &attribution{domain.AdRef{}, time.Time{}}}, // re-attributed to no click: organic
			{ext: "r3", amount: 4700, paid: sp(11, 3, 9, 0), reversal: domain.StatusRefunded, revAt: sp(11, 4, 11, 0),
				final: &attribution{adA, sp(10, 31, 23, 0)}, afterRev: true},
			{ext: "r4", amount: 29700, paid: sp(10, 28, 9, 0), reversal: domain.StatusChargeback, revAt: sp(11, 3, 18, 0),
				history: []attribution{{adC, sp(10, 27, 9, 0)}}, final: &attribution{adB, sp(10, 27, 10, 0)}, afterRev: true},
			{ext: "r5", amount: 14700, paid: sp(11, 4, 23, 30), final: &attribution{adC, sp(11, 2, 1, 0)}},
			{ext: "r6", amount: 1000, paid: sp(11, 3, 12, 0)},
		}
		put := func(s *campaignSeed, o store.Order, a attribution) {
			t.Helper()
			var click *time.Time
			tp := ""
			if !a.click.IsZero() {
				click, tp = ptr(a.click), "tp-"+o.ExternalID
			}
			if err := st.PutAttribution(ctx, store.Attribution{TenantID: s.tenant, OrderID: o.ID, TouchpointID: tp, Rule: "visitor_id",
				Confidence: 1, Ad: a.ad, ClickAt: click}); err != nil {
				t.Fatal(err)
			}
		}
		record := func(withHistory bool) *campaignSeed {
			s := newCampaignSeed(t, st, setClock)
			for _, od := range orders {
				setClock(od.paid.UTC())
				o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: s.tenant, SourceID: s.source, Provider: "hotmart", ExternalID: od.ext,
					EventKey: od.ext + "-paid", Status: domain.StatusPaid, OccurredAt: od.paid, AmountMinor: od.amount, Currency: "BRL", Products: p1})
				if err != nil {
					t.Fatal(err)
				}
				if withHistory {
					for _, a := range od.history {
						put(s, o, a)
					}
				}
				if od.final != nil && !(withHistory && od.afterRev) {
					put(s, o, *od.final)
				}
				if od.reversal != "" {
					setClock(od.revAt.UTC())
					if _, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: s.tenant, SourceID: s.source, Provider: "hotmart",
						ExternalID: od.ext, EventKey: od.ext + "-" + string(od.reversal), Status: od.reversal, OccurredAt: od.revAt}); err != nil {
						t.Fatal(err)
					}
				}
				if od.final != nil && withHistory && od.afterRev {
					put(s, o, *od.final)
				}
			}
			return s
		}
		replayed, direct := record(true), record(false)
		if _, err := st.DeleteTouchpointsBefore(ctx, sp(12, 1, 0, 0)); err != nil {
			t.Fatal(err)
		}
		for _, q := range []report.CampaignQuery{
			{Since: "2026-10-25", Until: "2026-11-05"},
			{Since: "2026-10-25", Until: "2026-11-05", CountBy: report.CountByClick},
			{Since: "2026-11-02", Until: "2026-11-03"},
			{Since: "2026-11-02", Until: "2026-11-03", CountBy: report.CountByClick},
			{Since: "2026-10-25", Until: "2026-11-05", Level: report.LevelAdSet, CampaignID: "112"},
			{Since: "2026-10-25", Until: "2026-11-05", Level: report.LevelAd, AdSetID: "211", CountBy: report.CountByClick},
			{Since: "2026-10-25", Until: "2026-11-05", Platform: "googleads"},
		} {
			q.Location = saoPaulo
			got, err := report.Campaigns(ctx, st, replayed.tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := report.Campaigns(ctx, st, direct.tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			if want.Total.Sales == 0 && want.Total.Refunds == 0 && want.Total.Chargebacks == 0 {
				t.Fatalf("%+v: the query selects nothing", q)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%+v:\nreplayed %+v\n  direct %+v", q, got, want)
			}
		}
	})
}

package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/attribution"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// The order's attribution explanation is in words: which ad click got the credit with its date
// in the tenant's time zone, no touchpoint ids or raw timestamps; an orphan whose only visit was
// a bot's says so (and never that no visit fell in the window), and src=fb_ads is a campaign
// label, not a visitor id.
func TestOrderExplanationInWords(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		a := e.tenant("acme")
		at := time.Date(2026, 11, 30, 22, 27, 0, 0, time.UTC)
		click := store.Touchpoint{TenantID: a.ID, SourceID: a.Source.ID, Type: "page_view", OccurredAt: at, ReceivedAt: at, VisitorID: "v-click",
			FBCLID: "IwAR1", UTM: store.UTM{Source: "facebook", Campaign: "launch"}, Props: json.RawMessage(`{}`)}
		robot := store.Touchpoint{TenantID: a.ID, SourceID: a.Source.ID, Type: "page_view", OccurredAt: at, ReceivedAt: at, VisitorID: "v-robot",
			Bot: true, Props: json.RawMessage(`{}`)}
		if _, err := st.InsertTouchpoints(ctx, []store.Touchpoint{click, robot}); err != nil {
			t.Fatal(err)
		}
		tps, err := st.TouchpointsByVisitor(ctx, a.ID, "v-click", time.Time{}, at.Add(time.Hour), 1)
		if err != nil || len(tps) != 1 {
			t.Fatalf("click: %v %d", err, len(tps))
		}
		click = tps[0]
		if err := st.PutAttribution(ctx, store.Attribution{TenantID: a.ID, OrderID: a.Order.ID, TouchpointID: click.ID, VisitorID: "v-click",
			Rule: attribution.RuleVisitorID, Confidence: 1, Explanation: "stale text with " + click.ID,
			Candidates: []store.Candidate{{TouchpointID: click.ID, Rule: attribution.RuleVisitorID, OccurredAt: at, Outcome: "chosen"}}}); err != nil {
			t.Fatal(err)
		}
		var od api.OrderDetail
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/orders/"+a.Order.ID, nil).json(t, &od)
		text := od.Attribution.Explanation
		want := "Credited to a click on a Facebook/Instagram ad (facebook / launch) on 30 Nov 2026 19:27 (America/Sao_Paulo)."
		if !strings.Contains(text, want) || !strings.Contains(text, "so the match is certain") || strings.Contains(text, click.ID) ||
			strings.Contains(text, "2026-11-30T") {
			t.Errorf("matched explanation %q, want %q", text, want)
		}

		// A bot-only orphan that also carried src=fb_ads.
		orphan, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: a.ID, SourceID: a.Source.ID, Provider: "hotmart", ExternalID: "HP-BOT",
			EventKey: "ev", Status: domain.StatusPaid, OccurredAt: at, AmountMinor: 100, Currency: "BRL", ReceivedAt: at,
			Tracking: store.Tracking{Src: "fb_ads", Sck: "v-robot", VisitorIDs: []string{"v-robot", "fb_ads"}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.PutAttribution(ctx, store.Attribution{TenantID: a.ID, OrderID: orphan.ID, Rule: attribution.RuleNone,
			Explanation: "Orphan: Visitor id v-robot / fb_ads came back from the checkout, but no touchpoint of it falls in the window.",
			Candidates:  []store.Candidate{{TouchpointID: "tp_x", Rule: attribution.RuleVisitorID, OccurredAt: at, Outcome: "lost: marked as a bot"}}}); err != nil {
			t.Fatal(err)
		}
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/orders/"+orphan.ID, nil).json(t, &od)
		text = od.Attribution.Explanation
		for _, s := range []string{"made by a bot, and bots never get credit", "src=fb_ads is a campaign label, not a Hub visitor id", "What would have matched it: a visit by a person"} {
			if !strings.Contains(text, s) {
				t.Errorf("bot-only orphan %q lacks %q", text, s)
			}
		}
		if strings.Contains(text, "falls in the window") || strings.Contains(text, "tp_x") {
			t.Errorf("bot-only orphan %q contradicts its candidates or shows an id", text)
		}
	})
}

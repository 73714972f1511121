package web

import (
	"context"
	"testing"

	"github.com/hubtrack/hub/internal/live"
)

// TestLiveWords: the live view's lines are in the reader's language, from the event's fields,
// with names instead of ids and codes (an event of an older Hub keeps its English summary).
func TestLiveWords(t *testing.T) {
	e := newEnv(t, backends[0])
	ctx := context.Background()
	names := map[string]string{"dst_1": "Meta pixel"}
	webhook := live.Event{Kind: "webhook", Provider: "hotmart", State: "processed", OrderID: "ord_1", Summary: "hotmart webhook: processed (order ord_1)"}
	dead := live.Event{Kind: "delivery", EventName: "Purchase", DestinationID: "dst_1", State: "dead", Reason: "invalid_token",
		Summary: "Purchase hotmart:HP1:purchase to dst_1: dead (invalid_token)"}
	gone := live.Event{Kind: "delivery", EventName: "Purchase", DestinationID: "dst_gone", State: "delivered"}
	visits := live.Event{Kind: "touchpoint", Type: "page_view", Count: 2, Summary: "2 page_view"}
	old := live.Event{Kind: "touchpoint", Summary: "2 page_view"}
	for _, c := range []struct {
		l    locale
		ev   live.Event
		want string
	}{
		{localePT, webhook, "Webhook de Hotmart: aceito"},
		{localeEN, webhook, "Webhook from Hotmart: accepted"},
		{localePT, dead, "Compra para Meta pixel: falhou — " + localePT.reason("invalid_token").Title},
		{localeEN, dead, "Purchase to Meta pixel: failed — " + localeEN.reason("invalid_token").Title},
		{localePT, gone, "Compra para um destino: entregue"},
		{localePT, visits, "2 eventos: visualização de página"},
		{localeEN, live.Event{Kind: "touchpoint", Type: "lead", Count: 1}, "1 event: lead"},
		{localePT, old, "2 page_view"},
	} {
		if got := e.ui.liveWords(ctx, c.l, "ten_unknown", c.ev, names); got != c.want {
			t.Errorf("%s %+v: %q, want %q", c.l.Tag, c.ev, got, c.want)
		}
	}
}

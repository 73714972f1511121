package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

func fields(p httpx.Problem) []string {
	var out []string
	for _, e := range p.Errors {
		if e.Reason == "" {
			out = append(out, e.Field+": (no reason)")
		}
		out = append(out, e.Field)
	}
	slices.Sort(out)
	return out
}

func TestValidation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.tenant("alpha")
		for _, c := range []struct {
			name, method, path string
			body               any
			want               []string
		}{
			{"source fields", "POST", "/api/v1/sources", map[string]any{"name": " ", "allowed_origins": []string{"https://ok.example", "shop.example/path"},
				"attribution_window_hours": 0, "attribution_model": "linear", "secrets": map[string]string{"paypal": "x"}},
				[]string{"allowed_origins[1]", "attribution_model", "attribution_window_hours", "name", "secrets.paypal"}},
			{"unknown field", "POST", "/api/v1/sources", map[string]any{"name": "x", "colour": "red"}, []string{"colour"}},
			{"wrong type", "POST", "/api/v1/sources", `{"name": 5}`, []string{"name"}},
			{"malformed", "POST", "/api/v1/sources", `{"name":`, []string{"body"}},
			{"patch source window", "PATCH", "/api/v1/sources/" + a.Source.ID, map[string]any{"attribution_window_hours": 5000}, []string{"attribution_window_hours"}},
			{"destination settings", "POST", "/api/v1/destinations", map[string]any{"type": "meta", "config": map[string]string{"pixel_id": "abc", "colour": "x"}},
				[]string{"config.colour", "config.pixel_id", "credentials.access_token"}},
			{"destination type", "POST", "/api/v1/destinations", map[string]any{"type": "myspace"}, []string{"type"}},
			{"destination patch", "PATCH", "/api/v1/destinations/" + a.Destination.ID, map[string]any{"credentials": map[string]string{"access_token": ""}},
				[]string{"credentials.access_token"}},
			{"key role", "POST", "/api/v1/keys", map[string]any{"name": "", "role": "root"}, []string{"name", "role"}},
			{"link target", "POST", "/api/v1/sources/" + a.Source.ID + "/links", map[string]any{"target": "javascript:alert(1)"}, []string{"target"}},
			{"link off origin", "POST", "/api/v1/sources/" + a.Source.ID + "/links", map[string]any{"target": "https://evil.example/"}, []string{"target"}},
			{"secret", "PUT", "/api/v1/sources/" + a.Source.ID + "/secrets/hotmart", map[string]any{"secret": ""}, []string{"secret"}},
			{"order filters", "GET", "/api/v1/orders?status=lost&matched=maybe&limit=0&since=yesterday&colour=red", nil,
				[]string{"colour", "limit", "matched", "since", "status"}},
			{"delivery state", "GET", "/api/v1/deliveries?state=gone", nil, []string{"state"}},
			{"replay range", "POST", "/api/v1/replay", map[string]any{"since": "2026-01-10", "until": "2026-01-01"}, []string{"until"}},
			{"replay range required", "POST", "/api/v1/replay", map[string]any{}, []string{"since", "until"}},
			{"erasure empty", "POST", "/api/v1/erasure", map[string]any{}, []string{"email"}},
			{"erasure invalid", "POST", "/api/v1/erasure", map[string]any{"email": "not an email", "phone": "12"}, []string{"email", "phone"}},
			{"report tz", "GET", "/api/v1/reports/summary?tz=Mars/Olympus", nil, []string{"tz"}},
			{"test event name", "POST", "/api/v1/destinations/" + a.Destination.ID + "/test", map[string]any{"event_name": "Refund"}, []string{"event_name"}},
		} {
			r := e.do(a.AdminKey, c.method, c.path, c.body)
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400: %s", c.name, r.Status, r.Body)
				continue
			}
			p := r.problem(t)
			if got := fields(p); !slices.Equal(got, c.want) {
				t.Errorf("%s: fields %v, want %v (%s)", c.name, got, c.want, r.Body)
			}
		}
		// Nothing was created by the refused requests.
		srcs, _ := st.ListSources(context.Background(), a.ID)
		if len(srcs) != 1 {
			t.Errorf("%d sources after refused creates", len(srcs))
		}
	})
}

// page fetches every page of a list and returns the ids in order.
func (e *env) pages(key, path string, limit int) (ids []string, pages int) {
	e.t.Helper()
	cursor := ""
	for {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		var pg struct {
			Items []struct {
				ID   string `json:"id"`
				Code string `json:"code"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		e.must(http.StatusOK, key, "GET", u, nil).json(e.t, &pg)
		pages++
		for _, it := range pg.Items {
			ids = append(ids, it.ID+it.Code)
		}
		if pg.NextCursor == "" {
			return ids, pages
		}
		if pages > 50 {
			e.t.Fatalf("%s: endless pagination", path)
		}
		cursor = pg.NextCursor
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.tenant("alpha")
		ctx := context.Background()
		for i := range 6 {
			e.order(a.ID, a.Source.ID, "", fmt.Sprintf("P-%d", i), domain.StatusPaid, 100, "BRL", "")
			if _, err := e.adm.CreateLink(ctx, a.ID, a.Source.ID, fmt.Sprintf("https://alpha.example/%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			path  string
			limit int
			n     int
		}{
			{"/api/v1/orders", 3, 7},                            // store-paged: 3 + 3 + 1
			{"/api/v1/orders?status=paid", 7, 7},                // exactly one page: no empty second page
			{"/api/v1/sources/" + a.Source.ID + "/links", 4, 7}, // paged in memory
			{"/api/v1/keys", 2, 3},
		} {
			ids, pages := e.pages(a.AdminKey, c.path, c.limit)
			if len(ids) != c.n {
				t.Errorf("%s: %d items, want %d", c.path, len(ids), c.n)
			}
			if want := (c.n + c.limit - 1) / c.limit; pages != want {
				t.Errorf("%s limit %d: %d pages, want %d", c.path, c.limit, pages, want)
			}
			if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
				t.Errorf("%s: duplicates across pages: %v", c.path, ids)
			}
		}
		// Newest first.
		ids, _ := e.pages(a.AdminKey, "/api/v1/orders", 100)
		if !slices.IsSortedFunc(ids, func(x, y string) int { return strings.Compare(y, x) }) {
			t.Errorf("orders not newest first: %v", ids)
		}
	})
}

func TestErasure(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a, b := e.tenant("alpha"), e.tenant("beta")
		ctx := context.Background()
		now := time.Now().UTC()
		const email = "Maria.Teste@Example.com"
		emHash, err := pii.HashEmail(email)
		if err != nil {
			t.Fatal(err)
		}
		// Maria buys in both tenants; her raw webhook, identity link and touchpoint hash exist in each.
		seed := func(tn tenant) (store.Order, store.InboxEntry) {
			in, err := st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: tn.Source.ID, Provider: "hotmart", ReceivedAt: now,
				Body: []byte(`{"buyer":{"email":"` + email + `"}}`), State: store.InboxProcessed})
			if err != nil {
				t.Fatal(err)
			}
			o := e.order(tn.ID, tn.Source.ID, in.ID, "M-1", domain.StatusPaid, 19700, "BRL", email)
			if err := st.LinkIdentities(ctx, []store.Identity{{TenantID: tn.ID, Kind: store.IdentityEmail, Hash: emHash, VisitorID: "v-maria", FirstSeen: now, LastSeen: now}}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.InsertTouchpoints(ctx, []store.Touchpoint{{TenantID: tn.ID, SourceID: tn.Source.ID, Type: "identify", OccurredAt: now,
				ReceivedAt: now, VisitorID: "v-maria", EmailHash: emHash}}); err != nil {
				t.Fatal(err)
			}
			return o, in
		}
		ao, ain := seed(a)
		bo, bin := seed(b)

		var res api.ErasureResult
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/erasure", map[string]any{"email": "  maria.teste@example.com "}).json(t, &res)
		if res.InboxDeleted < 1 || res.IdentitiesDeleted != 1 || res.TouchpointsErased != 1 || res.OrdersScrubbed != 1 || res.AuditID == "" {
			t.Errorf("erasure result %+v", res)
		}
		// Maria's raw webhook is gone, her order kept but scrubbed (anonymous aggregates stay).
		e.must(http.StatusNotFound, a.AdminKey, "GET", "/api/v1/webhooks/"+ain.ID, nil)
		var od api.OrderDetail
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/orders/"+ao.ID, nil).json(t, &od)
		if len(od.BuyerFields) != 0 || len(od.Webhooks) != 0 || od.AmountMinor != 19700 || od.Status != "paid" {
			t.Errorf("order after erasure: buyer %v webhooks %d amount %d status %s", od.BuyerFields, len(od.Webhooks), od.AmountMinor, od.Status)
		}
		ids, err := st.VisitorsByIdentity(ctx, a.ID, store.IdentityEmail, emHash)
		if err != nil || len(ids) != 0 {
			t.Errorf("identities after erasure: %v %v", ids, err)
		}
		// Others in the tenant are untouched.
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/webhooks/"+a.Inbox.ID, nil)
		// Tenant B's Maria is untouched.
		if _, err := st.GetInbox(ctx, b.ID, bin.ID); err != nil {
			t.Errorf("B's inbox entry: %v", err)
		}
		if o, err := st.GetOrder(ctx, b.ID, bo.ID); err != nil || o.Buyer.EmailHash != emHash {
			t.Errorf("B's order scrubbed: %+v %v", o.Buyer, err)
		}
		// The audit log records the erasure without the e-mail or its hash.
		r := e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/audit", nil)
		var audit api.Page[api.AuditEntry]
		r.json(t, &audit)
		found := false
		for _, en := range audit.Items {
			if en.ID == res.AuditID && en.Action == "erasure" && strings.HasPrefix(en.Actor, "api_key:") {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit entry %s in %s", res.AuditID, r.Body)
		}
		if contains(r.Body, emHash) || contains(r.Body, "maria") {
			t.Error("the audit log holds the data subject's identifier")
		}
	})
}

func TestResources(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.tenant("alpha")
		ctx := context.Background()

		// Source: a webhook URL per enabled gateway, each with its own token, snippet,
		// write-only secrets, patch.
		var src api.Source
		e.must(http.StatusCreated, a.AdminKey, "POST", "/api/v1/sources", map[string]any{"name": "Loja", "allowed_origins": []string{"https://loja.example"},
			"attribution_window_hours": 72, "secrets": map[string]string{"kiwify": "kw-secret"}}).json(t, &src)
		if len(src.Gateways) != 3 || src.Gateways[0].Provider != "hotmart" || src.Gateways[0].WebhookURL != "" || src.Gateways[0].Enabled ||
			!strings.HasPrefix(src.Gateways[1].WebhookURL, "https://hub.example.com/v1/webhooks/kiwify/wh_") || !src.Gateways[1].Enabled ||
			src.Gateways[0].SecretSet || !src.Gateways[1].SecretSet || !strings.Contains(src.Snippet, src.PublicKey) || src.AttributionWindowHours != 72 {
			t.Errorf("source %+v", src)
		}
		if g := src.Gateways[2]; g.Provider != "appmax" || !g.Unsigned || g.Enabled || g.WebhookURL != "" || src.Gateways[1].Unsigned {
			t.Errorf("appmax is not marked unsigned, or is enabled by default: %+v", src.Gateways)
		}
		r := e.must(http.StatusNoContent, a.AdminKey, "PUT", "/api/v1/sources/"+src.ID+"/secrets/hotmart", map[string]any{"secret": "hottok-1"})
		e.must(http.StatusNotFound, a.AdminKey, "PUT", "/api/v1/sources/"+src.ID+"/secrets/paypal", map[string]any{"secret": "x"})
		r = e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/sources/"+src.ID, nil)
		if contains(r.Body, "hottok-1") || contains(r.Body, "kw-secret") || !contains(r.Body, `"secret_set":true`) {
			t.Errorf("source shows or lost secrets: %s", r.Body)
		}
		r.json(t, &src)
		hotURL := src.Gateways[0].WebhookURL
		if !strings.HasPrefix(hotURL, "https://hub.example.com/v1/webhooks/hotmart/wh_") || !src.Gateways[0].Enabled ||
			path.Base(hotURL) == path.Base(src.Gateways[1].WebhookURL) {
			t.Errorf("hotmart after its secret: %+v (kiwify %s)", src.Gateways[0], src.Gateways[1].WebhookURL)
		}
		// Rotation: a new URL for one gateway; a read_only key cannot; unknown gateways are 404.
		var g api.Gateway
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/sources/"+src.ID+"/tokens/hotmart", nil).json(t, &g)
		if g.Provider != "hotmart" || !g.Enabled || g.WebhookURL == hotURL || !strings.HasPrefix(g.WebhookURL, "https://hub.example.com/v1/webhooks/hotmart/wh_") {
			t.Errorf("rotated hotmart %+v (was %s)", g, hotURL)
		}
		e.must(http.StatusForbidden, a.ReadKey, "POST", "/api/v1/sources/"+src.ID+"/tokens/hotmart", nil)
		e.must(http.StatusNotFound, a.AdminKey, "POST", "/api/v1/sources/"+src.ID+"/tokens/paypal", nil)
		e.must(http.StatusNotFound, a.AdminKey, "POST", "/api/v1/sources/no-such-source/tokens/hotmart", nil)
		// An unsigned gateway is enabled by its first token.
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/sources/"+src.ID+"/tokens/appmax", nil).json(t, &g)
		if !g.Unsigned || !g.Enabled || !strings.HasPrefix(g.WebhookURL, "https://hub.example.com/v1/webhooks/appmax/wh_") {
			t.Errorf("enabled appmax %+v", g)
		}
		e.must(http.StatusOK, a.AdminKey, "PATCH", "/api/v1/sources/"+src.ID, map[string]any{"name": "Loja 2", "attribution_model": "first_click"}).json(t, &src)
		if src.Name != "Loja 2" || src.AttributionModel != "first_click" || src.AttributionWindowHours != 72 || len(src.AllowedOrigins) != 1 {
			t.Errorf("patched source %+v", src)
		}
		var link api.Link
		e.must(http.StatusCreated, a.AdminKey, "POST", "/api/v1/sources/"+src.ID+"/links", map[string]any{"target": "https://loja.example/oferta?x=1"}).json(t, &link)
		if link.URL != "https://hub.example.com/r/"+link.Code || len(link.Code) < 6 {
			t.Errorf("link %+v", link)
		}

		// Setup status: the fixture source has an unparseable hotmart webhook and a page view.
		var setup api.Setup
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/sources/"+a.Source.ID+"/setup", nil).json(t, &setup)
		if !setup.Gateways[0].Received || !setup.Gateways[0].Verified || setup.Gateways[1].Received {
			t.Errorf("gateway setup %+v", setup.Gateways)
		}
		if !setup.Snippet.Seen || len(setup.Snippet.Origins) != 1 || setup.Snippet.Origins[0].Origin != "https://alpha.example" || !setup.Snippet.Origins[0].Allowed {
			t.Errorf("snippet setup %+v", setup.Snippet)
		}

		// Destination: credentials never shown, only their names; merge on patch; disable.
		var d api.Destination
		e.must(http.StatusCreated, a.AdminKey, "POST", "/api/v1/destinations", map[string]any{"type": "meta", "name": "Pixel",
			"config": map[string]string{"pixel_id": "1234567890123456"}, "credentials": map[string]string{"access_token": "EAAsecret"}}).json(t, &d)
		if !slices.Equal(d.CredentialsSet, []string{"access_token"}) || !d.Enabled || d.Health.State != "unknown" {
			t.Errorf("destination %+v", d)
		}
		r = e.must(http.StatusOK, a.AdminKey, "PATCH", "/api/v1/destinations/"+d.ID, map[string]any{"config": map[string]string{"test_event_code": "TEST9"}})
		if contains(r.Body, "EAAsecret") {
			t.Error("destination shows its token")
		}
		r.json(t, &d)
		if d.Config["pixel_id"] != "1234567890123456" || d.Config["test_event_code"] != "TEST9" || len(d.CredentialsSet) != 1 {
			t.Errorf("patched destination %+v", d)
		}
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/destinations/"+d.ID+"/disable", nil).json(t, &d)
		if d.Enabled {
			t.Error("disable did not disable")
		}

		// Test event: sent with the test_event_code, Meta's (fake) answer reported, health recorded.
		var tr api.TestResult
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/destinations/"+d.ID+"/test", nil).json(t, &tr)
		if !tr.Delivered || tr.Kind != "delivered" {
			t.Errorf("test result %+v", tr)
		}
		evs := e.meta.Events()
		if len(evs) != 1 || evs[0].TestEventCode != "TEST9" || evs[0].EventName != "Purchase" {
			t.Errorf("fake meta got %+v", evs)
		}
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/destinations/"+d.ID, nil).json(t, &d)
		if d.Health.State != "healthy" {
			t.Errorf("health after a delivered test: %+v", d.Health)
		}
		// Without a test_event_code the test is refused.
		e.must(http.StatusOK, a.AdminKey, "PATCH", "/api/v1/destinations/"+d.ID, map[string]any{"config": map[string]string{"test_event_code": ""}})
		p := e.must(http.StatusBadRequest, a.AdminKey, "POST", "/api/v1/destinations/"+d.ID+"/test", nil).problem(t)
		if fields(p)[0] != "config.test_event_code" {
			t.Errorf("problem %+v", p)
		}

		// Order detail: raw webhook, history, attribution with candidates, deliveries with attempts.
		if err := st.PutAttribution(ctx, store.Attribution{TenantID: a.ID, OrderID: a.Order.ID, TouchpointID: a.Touchpoint.ID, VisitorID: "v-alpha",
			Rule: "visitor_id", Confidence: 1, Explanation: "visitor id carried in sck",
			Candidates: []store.Candidate{{TouchpointID: a.Touchpoint.ID, Rule: "visitor_id", OccurredAt: a.Touchpoint.OccurredAt, Outcome: "chosen"}}}); err != nil {
			t.Fatal(err)
		}
		var od api.OrderDetail
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/orders/"+a.Order.ID, nil).json(t, &od)
		if len(od.Webhooks) != 1 || od.Webhooks[0].Body == nil || !strings.Contains(*od.Webhooks[0].Body, "PURCHASE_APPROVED") ||
			len(od.History) != 1 || od.Attribution == nil || len(od.Attribution.Candidates) != 1 || !od.Matched ||
			od.Attribution.Touchpoint == nil || od.Attribution.Touchpoint.VisitorID != "v-alpha" ||
			len(od.Deliveries) != 1 || len(od.Deliveries[0].AttemptLog) != 1 || od.Deliveries[0].AttemptLog[0].Code != "190" {
			t.Errorf("order detail %+v", od)
		}
		var orphans api.Page[api.Order]
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/orders?matched=false", nil).json(t, &orphans)
		if len(orphans.Items) != 0 {
			t.Errorf("orphans: %+v", orphans.Items)
		}

		// Webhooks: list without bodies, reprocess one and the unparseable ones.
		r = e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/webhooks?state=unparseable", nil)
		if !contains(r.Body, a.Inbox.ID) || contains(r.Body, "PURCHASE_APPROVED") {
			t.Errorf("webhook list: %s", r.Body)
		}
		var rr api.ReprocessResult
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/webhooks/reprocess", nil).json(t, &rr)
		if rr.Reprocessed != 1 || rr.ByState["processed"] != 1 || len(e.intake.calls) != 1 {
			t.Errorf("bulk reprocess %+v, calls %v", rr, e.intake.calls)
		}
		var one api.Reprocessed
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/webhooks/"+a.Inbox.ID+"/reprocess", nil).json(t, &one)
		if one.ID != a.Inbox.ID || one.State != "processed" {
			t.Errorf("reprocess %+v", one)
		}

		// Replays: one delivery, the dead of a destination, a range.
		var rep api.ReplayResult
		e.must(http.StatusAccepted, a.AdminKey, "POST", "/api/v1/deliveries/"+a.Delivery.ID+"/replay", nil).json(t, &rep)
		if rep.Replayed != 1 {
			t.Errorf("replay %+v", rep)
		}
		if del, _ := st.GetDelivery(ctx, a.ID, a.Delivery.ID); del.State != store.DeliveryPending {
			t.Errorf("replayed delivery state %s", del.State)
		}
		e.must(http.StatusAccepted, a.AdminKey, "POST", "/api/v1/destinations/"+a.Destination.ID+"/replay-dead", nil).json(t, &rep)
		if rep.Replayed != 0 {
			t.Errorf("replay dead after replay: %+v", rep)
		}
		day := time.Now().UTC().Format(time.DateOnly)
		e.must(http.StatusAccepted, a.AdminKey, "POST", "/api/v1/replay", map[string]any{"since": day, "until": day}).json(t, &rep)
		if rep.Replayed != 1 {
			t.Errorf("replay range %+v", rep)
		}

		// Touchpoints by visitor, deliveries by state.
		var tps api.Page[api.Touchpoint]
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/touchpoints?visitor_id=v-alpha&type=page_view", nil).json(t, &tps)
		if len(tps.Items) != 1 || tps.Items[0].ID != a.Touchpoint.ID {
			t.Errorf("touchpoints %+v", tps.Items)
		}
		var tp api.Touchpoint
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/touchpoints/"+a.Touchpoint.ID, nil).json(t, &tp)
		if tp.ID != a.Touchpoint.ID || tp.URL == "" || tp.Identified {
			t.Errorf("touchpoint %+v", tp)
		}
		// A Google ad click from iOS: its gbraid and wbraid are among the touchpoint's click ids.
		ios := store.Touchpoint{TenantID: a.ID, SourceID: a.Source.ID, Type: "page_view", OccurredAt: a.Touchpoint.OccurredAt,
			URL: "https://alpha.example/landing?wbraid=wb-1", VisitorID: "v-ios", GBRAID: "gb-1", WBRAID: "wb-1"}
		if _, err := st.InsertTouchpoints(ctx, []store.Touchpoint{ios}); err != nil {
			t.Fatal(err)
		}
		var iosTPs api.Page[api.Touchpoint]
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/touchpoints?visitor_id=v-ios", nil).json(t, &iosTPs)
		if len(iosTPs.Items) != 1 || fmt.Sprint(iosTPs.Items[0].ClickIDs) != "map[gbraid:gb-1 wbraid:wb-1]" {
			t.Errorf("iOS touchpoint %+v", iosTPs.Items)
		}
		var dels api.Page[api.Delivery]
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/deliveries?state=pending&destination_id="+a.Destination.ID, nil).json(t, &dels)
		if len(dels.Items) != 1 {
			t.Errorf("deliveries %+v", dels.Items)
		}

		// Reports and the CSV export answer.
		var sum struct {
			Total struct {
				Orders int `json:"orders"`
			} `json:"total"`
			Days []any `json:"days"`
		}
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/reports/summary?since="+day+"&until="+day, nil).json(t, &sum)
		if sum.Total.Orders != 1 || len(sum.Days) != 1 {
			t.Errorf("summary %+v", sum)
		}
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/reports/accuracy", nil)
		r = e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/exports/orders.csv", nil)
		rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil || len(rows) != 2 || rows[1][0] != a.Order.ID || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Errorf("csv %q %v", r.Body, err)
		}

		// Audit entries were written for the writes.
		es, err := st.ListAudit(ctx, store.AuditFilter{TenantID: a.ID, Limit: 100})
		if err != nil || len(es) < 10 {
			t.Errorf("audit: %d entries, %v", len(es), err)
		}
	})
}

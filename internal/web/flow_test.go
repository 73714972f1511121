package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// purchase posts the Hotmart fixture to a source's webhook URL as a purchase approved now, with
// its own transaction id.
func (e *env) purchase(f webhooktest.Fixture, webhookURL, transaction string) {
	e.t.Helper()
	now := time.Now().UnixMilli()
	body := f.RawBody
	body = strings.ReplaceAll(body, "HP1234567890", transaction)
	for _, k := range []string{"creation_date", "approved_date", "order_date"} {
		body = replaceNumber(body, `"`+k+`":`, now)
	}
	body = strings.Replace(body, `"id":"5f1c7b9e-3a2d-4c1e-9b8a-0d6e2f4a1c33"`, `"id":"`+store.NewID()+`"`, 1)
	req, err := http.NewRequest(http.MethodPost, webhookURL, bytes.NewBufferString(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range f.Request.Headers {
		req.Header.Set(k, v)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("webhook answered %d", r.StatusCode)
	}
}

func replaceNumber(s, key string, v int64) string {
	i := strings.Index(s, key)
	if i < 0 {
		return s
	}
	j := i + len(key)
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	return s[:j] + fmt.Sprint(v) + s[k:]
}

func (e *env) orderByExternal(tenantID, ext string) store.Order {
	e.t.Helper()
	var o store.Order
	eventually(e.t, "order "+ext, 10*time.Second, func() bool {
		var err error
		o, err = e.st.GetOrderByExternalID(context.Background(), tenantID, "hotmart", ext)
		return err == nil
	})
	return o
}

func (e *env) deliveryState(tenantID, orderID string, want store.DeliveryState) store.Delivery {
	e.t.Helper()
	var d store.Delivery
	defer func() {
		if e.t.Failed() {
			as, _ := e.st.ListAttempts(context.Background(), tenantID, d.ID)
			e.t.Logf("delivery %+v attempts %+v", d, as)
		}
	}()
	eventually(e.t, "delivery of "+orderID+" "+string(want), 20*time.Second, func() bool {
		ds, err := e.st.ListDeliveries(context.Background(), store.DeliveryFilter{TenantID: tenantID, OrderID: orderID})
		if err != nil || len(ds) == 0 {
			return false
		}
		d = ds[0]
		return d.State == want
	})
	_ = d
	return d
}

// TestFlow drives the whole dashboard over HTTP (no browser): first run, setup, a purchase
// delivered, a failure grouped and replayed, CSRF and cookie rules, and the overview agreeing
// with the report functions the API serves.
func TestFlow(t *testing.T) {
	f := webhooktest.LoadFixture(t, "hotmart")
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.client()
			ctx := context.Background()

			// First run leads to /welcome.
			if r := c.get("/"); r.status != http.StatusSeeOther || r.location != "/welcome" {
				t.Fatalf("GET / on first run: %d %q", r.status, r.location)
			}
			tok := c.csrf("/welcome")
			if r := c.post("/welcome", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}}); r.status != http.StatusForbidden {
				t.Errorf("welcome without csrf: %d", r.status)
			}
			// Without Hub's admin key nobody claims the first login.
			for _, key := range []string{"", "hub_notAKey", e.key + "x"} {
				if r := c.post("/welcome", url.Values{"csrf": {tok}, "key": {key}, "email": {"eve@example.com"}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}}); r.status != http.StatusUnauthorized {
					t.Errorf("welcome with key %q: %d", key, r.status)
				}
			}
			if n, _ := e.st.CountUsers(ctx); n != 0 {
				t.Fatalf("%d users created without the admin key", n)
			}
			r := c.post("/welcome", url.Values{"csrf": {tok}, "key": {e.key}, "email": {"Ana@Example.com "}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}})
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/setup") {
				t.Fatalf("welcome: %d %q %s", r.status, r.location, r.body)
			}
			if got := r.header.Values("Set-Cookie"); len(got) == 0 || !strings.Contains(strings.Join(got, ";"), "HttpOnly") || !strings.Contains(strings.Join(got, ";"), "SameSite=Lax") {
				t.Errorf("session cookie flags: %q", got)
			}
			if r := c.get("/welcome"); r.status != http.StatusSeeOther {
				t.Errorf("welcome after the first user: %d", r.status)
			}
			users, _ := e.st.ListUsers(ctx, mustTenant(t, e).ID)
			if len(users) != 1 || users[0].Email != "ana@example.com" || !strings.HasPrefix(users[0].PasswordHash, "$argon2id$") {
				t.Fatalf("users: %+v", users)
			}
			tenant := mustTenant(t, e)

			// Every page renders.
			for _, p := range []string{"/", "/?period=today", "/?period=30d", "/orders", "/failures", "/setup", "/live", "/accuracy", "/settings", "/assets/app.css", "/assets/app.js"} {
				if r := c.get(p); r.status != http.StatusOK {
					t.Errorf("GET %s: %d %s", p, r.status, r.body)
				}
			}

			// Setup: a source with the Hotmart secret, and Meta pointing at the fake.
			tok = c.csrf("/setup")
			if r := c.post("/setup/sources", url.Values{"name": {"My shop"}}); r.status != http.StatusForbidden {
				t.Errorf("POST without csrf: %d", r.status)
			}
			if r := c.post("/setup/sources", url.Values{"csrf": {"wrong"}, "name": {"My shop"}}); r.status != http.StatusForbidden {
				t.Errorf("POST with a wrong csrf: %d", r.status)
			}
			r = c.post("/setup/sources", url.Values{"csrf": {tok}, "name": {"My shop"}, "origins": {"https://shop.example.com"}, "window_days": {"7"},
				"model": {"last_click"}, "provider": {"hotmart"}, "secret": {f.Verification.TestSecret}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("create source: %d %s", r.status, r.body)
			}
			srcs, _ := e.st.ListSources(ctx, tenant.ID)
			if len(srcs) != 1 {
				t.Fatalf("sources: %d", len(srcs))
			}
			src := srcs[0]
			e.visit(src)
			page := c.get(r.location)
			toks, _ := e.st.ListWebhookTokens(ctx, tenant.ID, src.ID)
			if len(toks) != 1 || toks[0].Provider != "hotmart" {
				t.Fatalf("webhook tokens of the new source: %+v", toks)
			}
			oldURL := e.srv.URL + "/v1/webhooks/hotmart/" + toks[0].Token
			mustContain(t, "source page", page.body, oldURL, src.PublicKey, "Waiting for the first webhook", "Snippet seen on https://shop.example.com")
			// A new URL for Hotmart: CSRF-protected; the old URL is refused at once.
			if r := c.post("/setup/sources/"+src.ID+"/tokens", url.Values{"provider": {"hotmart"}}); r.status != http.StatusForbidden {
				t.Errorf("rotate without csrf: %d", r.status)
			}
			r = c.post("/setup/sources/"+src.ID+"/tokens", url.Values{"csrf": {tok}, "provider": {"hotmart"}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("rotate: %d %s", r.status, r.body)
			}
			toks, _ = e.st.ListWebhookTokens(ctx, tenant.ID, src.ID)
			webhookURL := e.srv.URL + "/v1/webhooks/hotmart/" + toks[0].Token
			if webhookURL == oldURL {
				t.Fatal("rotation kept the token")
			}
			page = c.get(r.location)
			mustContain(t, "source page after rotation", page.body, webhookURL, "unsigned")
			if strings.Contains(page.body, oldURL) {
				t.Error("the source page still shows the old URL")
			}
			if resp, err := http.Post(oldURL, "application/json", strings.NewReader(f.RawBody)); err != nil || resp.StatusCode != http.StatusNotFound {
				t.Errorf("old URL after rotation: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}

			// The Graph API's address is the operator's: the form has no field for it, and one
			// posted anyway (an old page, a crafted form) is not stored.
			if strings.Contains(c.get("/setup").body, "graph_url") {
				t.Error("the setup page offers a graph_url field")
			}
			r = c.post("/setup/destinations", url.Values{"csrf": {tok}, "type": {"meta"}, "name": {"Meta pixel"},
				"s_pixel_id": {fakemeta.PixelID}, "s_access_token": {fakemeta.DefaultToken}, "s_graph_url": {"http://169.254.169.254"}, "s_test_event_code": {"TEST123"}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("add destination: %d %s", r.status, r.body)
			}
			ds, _ := e.st.ListDestinations(ctx, tenant.ID)
			if len(ds) != 1 {
				t.Fatalf("destinations: %d", len(ds))
			}
			if strings.Contains(string(ds[0].Config), "graph_url") {
				t.Errorf("graph_url stored: %s", ds[0].Config)
			}
			r = c.post("/setup/destinations/"+ds[0].ID+"/test", url.Values{"csrf": {tok}})
			mustContain(t, "test event", r.body, "Test event accepted by the platform")

			// A purchase: order with attribution explanation, delivered.
			e.purchase(f, webhookURL, "HP0000000001")
			o := e.orderByExternal(tenant.ID, "HP0000000001")
			e.deliveryState(tenant.ID, o.ID, store.DeliveryDelivered)
			page = c.get("/orders/" + o.ID)
			mustContain(t, "order page", page.body, "HP0000000001", "Attribution", "delivered", "•••", "matched", "Hub visitor id", "launch")
			if strings.Contains(page.body, "maria.teste@example.com") {
				t.Error("order page shows the buyer's e-mail without being asked")
			}
			mustContain(t, "order page revealed", c.reveal(o.ID).body, "maria.teste@example.com")
			// The page names the identifiers Meta received, exactly those of the request the fake got.
			mustContain(t, "what Meta received", page.body, "Identifiers the platform received: "+receivedWords(t, e.fake, "hotmart:HP0000000001:purchase")+".")

			// A delivery sent again after a lost outcome says so, and so does one in flight.
			dels, err := e.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenant.ID, OrderID: o.ID})
			if err != nil || len(dels) != 1 {
				t.Fatalf("deliveries: %v %d", err, len(dels))
			}
			resent := dels[0]
			resent.Resends, resent.InFlight = 1, true
			if err := e.st.UpdateDelivery(ctx, resent); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.InsertAttempt(ctx, store.Attempt{TenantID: tenant.ID, DeliveryID: resent.ID, At: time.Now(), Outcome: "delivered", Resend: true}); err != nil {
				t.Fatal(err)
			}
			mustContain(t, "order page with a resend", c.get("/orders/"+o.ID).body, "Resent after a crash 1 time", "resent after crash", "Sending now")
			resent.InFlight = false
			if err := e.st.UpdateDelivery(ctx, resent); err != nil {
				t.Fatal(err)
			}
			// An answer that arrived after the delivery had moved on (here an UpdateDelivery, as a
			// replay writes) is shown on its attempt, in words, and changed nothing else.
			late, sending := store.Attempt{TenantID: tenant.ID, DeliveryID: resent.ID, Outcome: store.AttemptInFlight}, resent
			sending.InFlight = true
			if err := e.st.Tx(ctx, func(tx store.Tx) error {
				return tx.BeginAttempts(ctx, []store.AttemptWrite{{Attempt: &late, Delivery: sending}})
			}); err != nil {
				t.Fatal(err)
			}
			if err := e.st.UpdateDelivery(ctx, resent); err != nil {
				t.Fatal(err)
			}
			late.Outcome, late.HTTPStatus, sending.InFlight = "delivered", 200, false
			if err := e.st.Tx(ctx, func(tx store.Tx) error {
				return tx.FinishAttempts(ctx, []store.AttemptWrite{{Attempt: &late, Delivery: sending}})
			}); err != nil || !late.Superseded {
				t.Fatalf("the late answer: %v, superseded %v", err, late.Superseded)
			}
			mustContain(t, "order page with a late answer", c.get("/orders/"+o.ID).body, "late answer",
				"This answer arrived after the delivery had moved on (a replay, an erasure or a later send): it is recorded here and did not change the delivery.")
			mustContain(t, "orders list", c.get("/orders").body, "HP0000000001")
			mustContain(t, "orders filtered", c.get("/orders?state=delivered&provider=hotmart").body, "HP0000000001")
			// The search box: the gateway's order id, the buyer's e-mail (any case) or phone (as
			// the buyer would type it), by POST so that none of them lands in a URL.
			for _, q := range []string{"HP0000000001", " Maria.Teste@Example.com", "(11) 99999-8888"} {
				r := c.post("/orders/search", url.Values{"csrf": {tok}, "q": {q}})
				if r.status != http.StatusOK {
					t.Fatalf("search %q: %d %s", q, r.status, r.body)
				}
				mustContain(t, "search "+q, r.body, "HP0000000001")
			}
			mustContain(t, "search for nobody", c.post("/orders/search", url.Values{"csrf": {tok}, "q": {"nobody@example.com"}}).body, "No order has this")
			if r := c.post("/orders/search", url.Values{"q": {"HP0000000001"}}); r.status != http.StatusForbidden {
				t.Errorf("search without csrf: %d", r.status)
			}
			if strings.Contains(c.get("/orders?state=dead").body, "HP0000000001") {
				t.Error("dead filter lists a delivered order")
			}

			// A failure: an invalid token at Meta; grouped; fixed and replayed.
			if err := e.fake.InjectFault(fakemeta.ModeInvalidToken, 0); err != nil {
				t.Fatal(err)
			}
			e.purchase(f, webhookURL, "HP0000000002")
			o2 := e.orderByExternal(tenant.ID, "HP0000000002")
			e.deliveryState(tenant.ID, o2.ID, store.DeliveryDead)
			page = c.get("/failures")
			mustContain(t, "failures", page.body, "Invalid access token", "invalid_token", "Replay all 1")
			if err := e.fake.InjectFault(fakemeta.ModeNone, 0); err != nil {
				t.Fatal(err)
			}
			r = c.post("/failures/replay", url.Values{"csrf": {tok}, "reason": {"invalid_token"}, "state": {"dead"}, "destination_id": {ds[0].ID}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("replay group: %d %s", r.status, r.body)
			}
			e.deliveryState(tenant.ID, o2.ID, store.DeliveryDelivered)
			mustContain(t, "failures after replay", c.get("/failures").body, "No dead or retrying deliveries")

			// The overview shows the report's numbers.
			per := e.ui.period(httptestRequest("/"), pageOf(tenant))
			sum, err := report.Summarize(ctx, e.st, tenant.ID, per.Period)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Total.Orders != 2 || sum.Total.Deliveries.Delivered != 2 {
				t.Errorf("report: %+v", sum.Total)
			}
			page = c.get("/")
			l := localeEN
			mustContain(t, "overview", page.body,
				`id="kpi-orders">`+l.Int(int64(sum.Total.Orders))+`<`,
				`id="kpi-paid">`+l.Int(int64(sum.Total.PaidOrders))+`<`,
				`id="kpi-match">`+l.Rate(sum.Total.MatchRate)+`<`,
				`id="kpi-delivered">`+l.Rate(sum.Total.DeliverySuccessRate)+`<`,
				`id="kpi-dead">0<`, l.Money(39400, "BRL"))
			mustContain(t, "accuracy", c.get("/accuracy").body, `id="acc-paid">2<`)

			// Replay from the order page; settings; logout.
			r = c.post("/orders/"+o.ID+"/replay", url.Values{"csrf": {tok}})
			if r.status != http.StatusSeeOther {
				t.Errorf("replay order: %d", r.status)
			}
			r = c.post("/settings/keys", url.Values{"csrf": {tok}, "name": {"reports"}, "role": {"read_only"}})
			mustContain(t, "new key", r.body, "shown only once", "hub_")
			r = c.post("/logout", url.Values{"csrf": {tok}})
			if r.status != http.StatusSeeOther {
				t.Errorf("logout: %d", r.status)
			}
			if r := c.get("/orders"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
				t.Errorf("after logout: %d %q", r.status, r.location)
			}
		})
	}
}

func mustTenant(t *testing.T, e *env) store.Tenant {
	t.Helper()
	ts, err := e.st.ListTenants(context.Background())
	if err != nil || len(ts) != 1 {
		t.Fatalf("tenants: %v %v", ts, err)
	}
	return ts[0]
}

func httptestRequest(target string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, target, nil)
	return r
}

// pageOf is what auth hands a handler of the tenant (its locale aside).
func pageOf(t store.Tenant) page { return page{Tenant: t} }

// receivedWords names, in the dashboard's English words, the user_data keys of the event the
// fake Meta received with eventID, in the Meta destination's declared order.
func receivedWords(t *testing.T, f *fakemeta.Server, eventID string) string {
	t.Helper()
	for _, ev := range f.Events() {
		if ev.EventID != eventID {
			continue
		}
		var raw struct {
			UserData map[string]json.RawMessage `json:"user_data"`
		}
		if err := json.Unmarshal(ev.Raw, &raw); err != nil {
			t.Fatal(err)
		}
		has := func(keys ...string) bool {
			for _, k := range keys {
				if _, ok := raw.UserData[k]; ok {
					return true
				}
			}
			return false
		}
		var words []string
		for _, id := range []struct {
			words string
			keys  []string
		}{
			{"e-mail (hashed)", []string{"em"}}, {"phone (hashed)", []string{"ph"}}, {"name (hashed)", []string{"fn", "ln"}},
			{"city, state, postal code or country (hashed)", []string{"ct", "st", "zp", "country"}},
			{"date of birth or gender (hashed)", []string{"db", "ge"}}, {"Hub visitor id", []string{"external_id"}},
			{"IP address", []string{"client_ip_address"}}, {"browser (user agent)", []string{"client_user_agent"}},
			{"Facebook/Instagram ad click (fbc)", []string{"fbc"}}, {"Meta browser id (fbp)", []string{"fbp"}},
		} {
			if has(id.keys...) {
				words = append(words, id.words)
			}
		}
		if len(words) < 3 {
			t.Fatalf("the fake received few identifiers: %s", ev.Raw)
		}
		return strings.Join(words, "; ")
	}
	t.Fatalf("the fake Meta did not receive %s", eventID)
	return ""
}

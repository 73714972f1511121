package api_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/cache/redis"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// person is a data subject seeded everywhere Hub keeps something about a buyer.
type person struct {
	email, phone, ip, ua string
	visitor              string
	emHash, phHash       string
}

func newPerson(t *testing.T, email, phone, ip, ua, visitor string) person {
	t.Helper()
	em, err := pii.HashEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := pii.HashPhone(phone, "55")
	if err != nil {
		t.Fatal(err)
	}
	return person{email: email, phone: phone, ip: ip, ua: ua, visitor: visitor, emHash: em, phHash: ph}
}

// needles are the person's values a scan looks for: the e-mail as typed, normalised and
// URL-encoded, the phone as typed, as digits (with and without the country code), the hashes,
// the IP and the user agent. All lower case; haystacks are lowered too.
func (p person) needles() []string {
	em, _ := domain.NormalizeEmail(p.email)
	ph, _ := domain.NormalizePhone(p.phone, "55")
	return []string{strings.ToLower(strings.TrimSpace(p.email)), em, strings.ReplaceAll(em, "@", "%40"),
		strings.ToLower(p.phone), ph, strings.TrimPrefix(ph, "55"), p.emHash, p.phHash, p.ip, strings.ToLower(p.ua)}
}

// seed puts the person in an order (two webhooks), touchpoints (one with the e-mail and phone
// in its URL and props, one with the e-mail in a UTM value), identity links for the e-mail and
// the phone, the visit the order is credited to (another device of hers, linked to nothing
// else), a newsletter visit linked to nothing whose utm_term alone holds the e-mail, raw
// webhooks linked to no order (ignored, unparseable, refused) holding the e-mail and phone,
// and the identity keys an earlier version's hot index left in the cache.
func (p person) seed(t *testing.T, st store.Store, c cache.Cache, tn tenant, ext string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	em, _ := domain.NormalizeEmail(p.email)
	ph, _ := domain.NormalizePhone(p.phone, "55")
	body := fmt.Sprintf(`{"event":"PURCHASE_APPROVED","data":{"buyer":{"email":%q,"checkout_phone":%q,"name":"X"},"purchase":{"transaction":%q}}}`, p.email, p.phone, ext)
	in1 := must(st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: tn.Source.ID, Provider: "hotmart", Body: []byte(body),
		Headers: map[string]string{"User-Agent": "Hotmart"}, State: store.InboxReceived}))(t)
	in2 := must(st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: tn.Source.ID, Provider: "hotmart", Body: []byte(strings.ReplaceAll(body, "APPROVED", "COMPLETE")),
		State: store.InboxReceived}))(t)
	o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, SourceID: tn.Source.ID, InboxID: in1.ID, Provider: "hotmart",
		ExternalID: ext, EventKey: "approved", Status: domain.StatusPaid, OccurredAt: now, AmountMinor: 9900, Currency: "BRL", ReceivedAt: now,
		Buyer:    store.Buyer{EmailHash: p.emHash, PhoneHash: p.phHash, FirstNameHash: pii.SHA256Hex("x"), IP: p.ip, UserAgent: p.ua},
		Tracking: store.Tracking{VisitorID: p.visitor, Metadata: map[string]string{"email": em}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetInboxState(ctx, tn.ID, in1.ID, store.InboxProcessed, "", o.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, SourceID: tn.Source.ID, InboxID: in2.ID, Provider: "hotmart",
		ExternalID: ext, EventKey: "complete", Status: domain.StatusPaid, OccurredAt: now.Add(time.Second), AmountMinor: 9900, Currency: "BRL", ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetInboxState(ctx, tn.ID, in2.ID, store.InboxDuplicate, "", "", now); err != nil {
		t.Fatal(err)
	}
	for _, in := range []store.InboxEntry{
		{State: store.InboxIgnored, Body: []byte(strings.ReplaceAll(body, "PURCHASE_APPROVED", "CLUB_FIRST_ACCESS"))},
		{State: store.InboxUnparseable, Body: append([]byte{0xff, 0xfe, '{'}, body[:len(body)/2]...)},
		{State: store.InboxRejected, Error: "bad hottok", Body: []byte("email=" + strings.ReplaceAll(p.email, "@", "%40") + "&phone=" + ph), Query: "src=" + p.visitor},
	} {
		in.TenantID, in.SourceID, in.Provider = tn.ID, tn.Source.ID, "hotmart"
		must(st.InsertInbox(ctx, in))(t)
	}
	props, _ := json.Marshal(map[string]any{"email": p.email, "phone": p.phone, "plan": "gold"})
	if _, err := st.InsertTouchpoints(ctx, []store.Touchpoint{
		{TenantID: tn.ID, SourceID: tn.Source.ID, Type: "page_view", VisitorID: p.visitor, OccurredAt: now, IP: p.ip, UserAgent: p.ua,
			URL: "https://shop.example/offer?utm_source=mail", Referrer: "https://mail.example/?to=" + em,
			UTM: store.UTM{Source: "mail", Content: em}},
		{TenantID: tn.ID, SourceID: tn.Source.ID, Type: "page_view", VisitorID: p.visitor + "-nl", OccurredAt: now,
			URL: "https://shop.example/news", UTM: store.UTM{Source: "newsletter", Term: em}},
		{TenantID: tn.ID, SourceID: tn.Source.ID, Type: "lead", VisitorID: p.visitor, OccurredAt: now, IP: p.ip, UserAgent: p.ua,
			EmailHash: p.emHash, PhoneHash: p.phHash, URL: "https://shop.example/thanks?email=" + strings.ReplaceAll(p.email, "@", "%40") + "&phone=%2B" + ph, Props: props},
	}); err != nil {
		t.Fatal(err)
	}
	// The visit the order is credited to: the checkout link carried this device's visitor id
	// back, and she never typed her e-mail there.
	co := store.Touchpoint{ID: store.NewID(), TenantID: tn.ID, SourceID: tn.Source.ID, Type: "page_view", VisitorID: p.visitor + "-co",
		OccurredAt: now.Add(-time.Minute), IP: p.ip, UserAgent: p.ua, URL: "https://shop.example/offer?fbclid=F" + ext}
	must(st.InsertTouchpoints(ctx, []store.Touchpoint{co}))(t)
	if err := st.PutAttribution(ctx, store.Attribution{TenantID: tn.ID, OrderID: o.ID, TouchpointID: co.ID, VisitorID: co.VisitorID,
		Rule: "visitor_id", Confidence: 1, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.LinkIdentities(ctx, []store.Identity{
		{TenantID: tn.ID, Kind: store.IdentityEmail, Hash: p.emHash, VisitorID: p.visitor, FirstSeen: now, LastSeen: now},
		{TenantID: tn.ID, Kind: store.IdentityPhone, Hash: p.phHash, VisitorID: p.visitor, FirstSeen: now, LastSeen: now},
	}); err != nil {
		t.Fatal(err)
	}
	// The identity keys an earlier version's hot index left in the cache (ingest.IdentityKey).
	for kind, h := range map[store.IdentityKind]string{store.IdentityEmail: p.emHash, store.IdentityPhone: p.phHash} {
		if err := c.Set(ctx, ingest.IdentityKey(tn.ID, kind, h), []byte(p.visitor), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
}

// cacheContents lists every key of the cache with its values.
type cacheContents func(t *testing.T) map[string][]string

func memoryContents(c *memory.Cache) cacheContents {
	return func(t *testing.T) map[string][]string {
		ctx := context.Background()
		out := map[string][]string{}
		for _, k := range c.Keys() {
			if v, ok, err := c.Get(ctx, k); err == nil && ok {
				out[k] = append(out[k], string(v))
			} else {
				out[k] = nil // a token bucket or stream: its key is still scanned
			}
		}
		return out
	}
}

func redisContents(url, prefix string) cacheContents {
	return func(t *testing.T) map[string][]string {
		ctx := context.Background()
		opts, err := goredis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		c := goredis.NewClient(opts)
		defer c.Close()
		out := map[string][]string{}
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			out[k] = nil
			switch typ := c.Type(ctx, k).Val(); typ {
			case "string":
				out[k] = append(out[k], c.Get(ctx, k).Val())
			case "list":
				out[k] = append(out[k], c.LRange(ctx, k, 0, -1).Val()...)
			case "hash":
				for f, v := range c.HGetAll(ctx, k).Val() {
					out[k] = append(out[k], f, v)
				}
			case "stream":
				for _, m := range c.XRange(ctx, k, "-", "+").Val() {
					b, _ := json.Marshal(m.Values)
					out[k] = append(out[k], string(b))
				}
			}
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
}

func scanCache(contents map[string][]string, needles []string) map[string][]string {
	found := map[string][]string{}
	for k, vs := range contents {
		for _, s := range append([]string{k}, vs...) {
			s = strings.ToLower(s)
			for _, n := range needles {
				if strings.Contains(s, n) {
					found[n] = append(found[n], "cache "+k)
				}
			}
		}
	}
	return found
}

// TestErasureLeavesNothing seeds one person everywhere (and another person beside her), erases
// her by e-mail through the API, and then scans every column of every table and every cache
// key and value for any of her values: none may be left, and the other person's are all kept.
func TestErasureLeavesNothing(t *testing.T) {
	t.Parallel()
	caches := []struct {
		name string
		open func(t *testing.T) (cache.Cache, cacheContents)
	}{
		{"memory", func(t *testing.T) (cache.Cache, cacheContents) {
			c := memory.New(memory.Options{})
			return c, memoryContents(c)
		}},
		{"redis", func(t *testing.T) (cache.Cache, cacheContents) {
			url, prefix := testenv.Redis(t)
			c, err := redis.New(url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c, redisContents(url, prefix)
		}},
	}
	for _, cc := range caches {
		t.Run(cc.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, st store.Store) {
				c, contents := cc.open(t)
				e := newEnv(t, st, func(cfg *api.Config) { cfg.IdentityCache = c })
				tn := e.tenant("alpha")
				maria := newPerson(t, " Maria.Souza@Example.com ", "+55 (11) 98765-4321", "203.0.113.77", "Mozilla/5.0 (Maria-Device)", "0194aaaa-maria")
				joao := newPerson(t, "joao.lima@example.org", "(21) 91234-5678", "198.51.100.23", "Mozilla/5.0 (Joao-Device)", "0194bbbb-joao")
				maria.seed(t, st, c, tn, "HP-MARIA")
				joao.seed(t, st, c, tn, "HP-JOAO")

				// The seed really put both people everywhere the scans look.
				before := teststore.Scan(t, st, append(maria.needles(), joao.needles()...))
				cacheBefore := scanCache(contents(t), []string{maria.emHash, maria.phHash})
				for _, n := range append(maria.needles(), joao.needles()...) {
					if len(before[n]) == 0 {
						t.Fatalf("seed: %q is nowhere in the database", n)
					}
				}
				if len(cacheBefore[maria.emHash]) == 0 || len(cacheBefore[maria.phHash]) == 0 {
					t.Fatalf("seed: the cache holds no identity key: %v", cacheBefore)
				}
				joaoBefore := teststore.Scan(t, st, joao.needles())

				var res api.ErasureResult
				e.must(http.StatusOK, tn.AdminKey, "POST", "/api/v1/erasure", map[string]any{"email": maria.email}).json(t, &res)
				if res.InboxDeleted != 5 || res.IdentitiesDeleted != 2 || res.OrdersScrubbed != 1 || res.TouchpointsErased != 4 {
					t.Errorf("erasure result %+v; want 5 raw webhooks, 2 identities, 1 order, 4 touchpoints", res)
				}
				// A UTM value that is not one of her forms still says where the visit came from.
				nl, err := st.TouchpointsByVisitor(context.Background(), tn.ID, maria.visitor+"-nl", time.Time{}, time.Now().Add(time.Hour), 10)
				if err != nil || len(nl) != 1 || nl[0].UTM.Source != "newsletter" || nl[0].UTM.Term != "" {
					t.Errorf("the newsletter visit after erasure: %+v, %v; want utm_source kept and utm_term emptied", nl, err)
				}

				for n, where := range teststore.Scan(t, st, maria.needles()) {
					t.Errorf("after erasure the database still holds %q in %v", n, where)
				}
				for n, where := range scanCache(contents(t), maria.needles()) {
					t.Errorf("after erasure the cache still holds %q in %v", n, where)
				}
				// João is untouched: every value of his is where it was.
				joaoAfter := teststore.Scan(t, st, joao.needles())
				for _, n := range joao.needles() {
					if strings.Join(joaoAfter[n], ",") != strings.Join(joaoBefore[n], ",") {
						t.Errorf("the other person's %q was in %v, now in %v", n, joaoBefore[n], joaoAfter[n])
					}
				}
				if got := scanCache(contents(t), []string{joao.emHash, joao.phHash}); len(got[joao.emHash]) != 1 || len(got[joao.phHash]) != 1 {
					t.Errorf("the other person's identity keys: %v", got)
				}
			})
		})
	}
}

// must(call())(t) returns call's value, failing t on its error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestErasureOrderVisitor erases a buyer who came through the checkout link and never typed
// her e-mail on the site: no identity link names her visit, only the order does (its tracking
// carried the visitor id back, or the attribution credits the visit). That visit loses her IP,
// user agent and URL query, and a Purchase still to be sent is built without them.
func TestErasureOrderVisitor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		tracking store.Tracking
		credit   bool
	}{
		{"tracking visitor id", store.Tracking{VisitorID: "0194aaaa-maria"}, false},
		{"tracking visitor ids", store.Tracking{VisitorIDs: []string{"fb_ads", "0194aaaa-maria"}}, false},
		{"credited visit", store.Tracking{ClickIDs: domain.ClickIDs{FBCLID: "F1"}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, st store.Store) {
				ctx := context.Background()
				e := newEnv(t, st)
				tn := e.tenant("alpha")
				maria := newPerson(t, "maria.souza@example.com", "+55 (11) 98765-4321", "203.0.113.77", "Mozilla/5.0 (Maria-Device)", "0194aaaa-maria")
				now := time.Now().UTC()
				visit := store.Touchpoint{ID: store.NewID(), TenantID: tn.ID, SourceID: tn.Source.ID, Type: "page_view", VisitorID: maria.visitor,
					OccurredAt: now.Add(-time.Hour), IP: maria.ip, UserAgent: maria.ua, Consent: "granted",
					URL: "https://shop.example/offer?utm_source=fb&fbclid=F1", FBCLID: "F1", UTM: store.UTM{Source: "fb"}}
				must(st.InsertTouchpoints(ctx, []store.Touchpoint{visit}))(t)
				in := must(st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: tn.Source.ID, Provider: "hotmart", ReceivedAt: now,
					Body: []byte(`{"buyer":{"email":"maria.souza@example.com"}}`), State: store.InboxProcessed}))(t)
				o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, SourceID: tn.Source.ID, InboxID: in.ID, Provider: "hotmart",
					ExternalID: "HP-M", EventKey: "approved", Status: domain.StatusPaid, OccurredAt: now, AmountMinor: 9900, Currency: "BRL", ReceivedAt: now,
					Buyer: store.Buyer{EmailHash: maria.emHash, IP: maria.ip, UserAgent: maria.ua}, Tracking: c.tracking})
				if err != nil {
					t.Fatal(err)
				}
				if c.credit {
					if err := st.PutAttribution(ctx, store.Attribution{TenantID: tn.ID, OrderID: o.ID, TouchpointID: visit.ID, VisitorID: maria.visitor,
						Rule: "click_id", Confidence: 1, CreatedAt: now}); err != nil {
						t.Fatal(err)
					}
				}
				d, _, err := st.CreateDelivery(ctx, store.Delivery{TenantID: tn.ID, OrderID: o.ID, DestinationID: tn.Destination.ID, EventName: "Purchase",
					EventID: "hotmart:HP-M:purchase", State: store.DeliveryPending})
				if err != nil {
					t.Fatal(err)
				}

				var res api.ErasureResult
				e.must(http.StatusOK, tn.AdminKey, "POST", "/api/v1/erasure", map[string]any{"email": maria.email}).json(t, &res)
				if res.OrdersScrubbed != 1 || res.TouchpointsErased != 1 {
					t.Errorf("erasure result %+v; want 1 order and 1 touchpoint", res)
				}
				for n, where := range teststore.Scan(t, st, []string{maria.ip, "maria-device", "fbclid=f1"}) {
					t.Errorf("after erasure the database still holds %q in %v", n, where)
				}
				ev, err := delivery.Event(ctx, st, d)
				if err != nil {
					t.Fatal(err)
				}
				if ev.User.ClientIP != "" || ev.User.UserAgent != "" || strings.Contains(ev.EventSourceURL, "?") {
					t.Errorf("the pending Purchase of the erased buyer is built with client_ip %q, user agent %q, source url %q",
						ev.User.ClientIP, ev.User.UserAgent, ev.EventSourceURL)
				}
			})
		})
	}
}

// TestErasureLeadPhoneWithoutCountry collects a lead whose phone is typed without +55 through
// ingest, once as Hub now hashes it (HUB_PHONE_COUNTRY, "55") and once as versions that gave
// ingest no calling code stored it (the number as written), and erases by that phone as
// typed: the touchpoint, its identity link, IP and user agent go either way.
func TestErasureLeadPhoneWithoutCountry(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"55", ""} {
		t.Run("ingest country "+cmp.Or(cc, "none"), func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, st store.Store) {
				ctx := context.Background()
				e := newEnv(t, st)
				tn := e.tenant("alpha")
				svc, err := ingest.New(ingest.Config{Store: st, RatePerIP: ingest.Rate{Per: -1}, RatePerSource: ingest.Rate{Per: -1},
					BatchWait: time.Millisecond, PhoneCountryCode: cc})
				if err != nil {
					t.Fatal(err)
				}
				mux := http.NewServeMux()
				svc.Register(mux)
				body := `{"key":"` + tn.Source.PublicKey + `","events":[{"type":"lead","event_id":"ev-1","url":"https://alpha.example/form",
					"visitor_id":"k_visitor1","phone":"(11) 98765-4321","consent":"granted"}]}`
				req := httptest.NewRequest(http.MethodPost, "https://track.example.com/v1/collect", strings.NewReader(body))
				req.Header.Set("Content-Type", "text/plain")
				req.Header.Set("Origin", "https://alpha.example")
				req.Header.Set("User-Agent", "Mozilla/5.0 (Maria-Device)")
				req.RemoteAddr = "203.0.113.77:4000"
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					t.Fatalf("collect: %d %s", rec.Code, rec.Body)
				}
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				if err := svc.Close(cctx); err != nil {
					t.Fatal(err)
				}
				stored, _ := pii.HashPhone("(11) 98765-4321", cc)
				needles := []string{stored, "203.0.113.77", "maria-device"}
				before := teststore.Scan(t, st, needles)
				for _, n := range needles {
					if len(before[n]) == 0 {
						t.Fatalf("seed: %q is nowhere in the database", n)
					}
				}

				var res api.ErasureResult
				e.must(http.StatusOK, tn.AdminKey, "POST", "/api/v1/erasure", map[string]any{"phone": "(11) 98765-4321"}).json(t, &res)
				if res.TouchpointsErased != 1 || res.IdentitiesDeleted != 1 {
					t.Errorf("erasure result %+v; want 1 touchpoint and 1 identity", res)
				}
				for n, where := range teststore.Scan(t, st, needles) {
					t.Errorf("after erasure by phone the database still holds %q in %v", n, where)
				}
			})
		})
	}
}

package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/hubproc"
)

var hubBin string

func TestMain(m *testing.M) {
	flag.Parse()
	// The scenarios mostly wait (for River's rescue, a restart, a storm to pass) and their load
	// is paced, so more of them run at once than go test's default of one per CPU; -parallel
	// given on the command line wins.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "8")
	}
	if testing.Short() {
		// Every test skips itself; nothing to build.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "faulttest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hubBin, err = hubproc.Build(dir, "github.com/hubtrack/hub/cmd/hub")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// suite marks a fault scenario: parallel (most of a scenario's time is spent waiting), and
// skipped under -short.
func suite(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("faulttest: the fault suite starts Hub processes and takes minutes; skipped under -short")
	}
	t.Parallel()
}

// stores are the stores every scenario that can runs on.
var stores = []string{"sqlite", "postgres"}

// result is what a scenario counts; report prints it as the suite's one line per scenario.
type result struct {
	acked, stored, lost, dup, late int
}

// sinceFault says, for a message, on which side of a filesystem fault at roAt (when not zero)
// something was acknowledged.
func sinceFault(at, roAt time.Time) string {
	switch {
	case roAt.IsZero():
		return ""
	case at.Before(roAt):
		return fmt.Sprintf(" (%s before the filesystem error)", roAt.Sub(at).Round(time.Millisecond))
	default:
		return fmt.Sprintf(" (%s after the filesystem error)", at.Sub(roAt).Round(time.Millisecond))
	}
}

func report(t *testing.T, name, store string, r result) {
	t.Helper()
	line := fmt.Sprintf("fault: %s store=%s acked=%d stored=%d lost=%d dup=%d late=%d", name, store, r.acked, r.stored, r.lost, r.dup, r.late)
	t.Log(line)
	fmt.Println(line)
	if r.lost != 0 || r.dup != 0 || r.late != 0 || r.acked == 0 {
		t.Errorf("%s: a promise is broken (or nothing was acknowledged)", line)
	}
}

// hub is one Hub deployment under test: its settings, its tenant, source and Meta destination,
// and the replicas currently running.
type hub struct {
	t        *testing.T
	store    string
	env      []string
	port     string
	proc     *hubproc.Proc
	tenant   string
	adminKey string
	pubKey   string
	hookURL  string // the source's Hotmart webhook URL
	hottok   string
	destID   string
	client   *http.Client
}

// options shape a deployment.
type options struct {
	fake     *fake    // the Meta the destination sends to (nil: no destination)
	token    string   // the destination's access token (default fakemeta.DefaultToken)
	redisURL string   // REDIS_URL on PostgreSQL (empty: the in-process cache)
	dbURL    string   // an existing PostgreSQL database (empty: a fresh schema of testenv)
	extraEnv []string // more settings
}

// newHub creates the data (tenant, source, destination) through the CLI and starts one replica.
func newHub(t *testing.T, store string, o options) *hub {
	t.Helper()
	h := &hub{t: t, store: store, port: hubproc.FreePort(t), hottok: testenv.Name("hottok_"),
		client: &http.Client{Timeout: 30 * time.Second}}
	h.env = []string{"HUB_DATA_DIR=" + filepath.Join(t.TempDir(), "data"), "HUB_SECRET_KEY=" + strings.Repeat("5e", 32),
		"HUB_PUBLIC_URL=http://127.0.0.1:" + h.port, "HUB_RATE_PER_IP=off", "HUB_RATE_PER_SOURCE=off", "HUB_LOG_LEVEL=warn",
		"HUB_EGRESS_ALLOW=127.0.0.1/32"}
	switch store {
	case "sqlite":
		h.env = append(h.env, "DATABASE_URL=", "REDIS_URL=")
	case "postgres":
		db := o.dbURL
		if db == "" {
			db = testenv.Postgres(t)
		}
		h.env = append(h.env, "DATABASE_URL="+db, "REDIS_URL="+o.redisURL)
	default:
		t.Fatalf("unknown store %q", store)
	}
	if o.fake != nil {
		h.env = append(h.env, "HUB_META_GRAPH_URL="+o.fake.url)
	}
	h.env = append(h.env, o.extraEnv...)

	out := hubproc.Run(t, hubBin, h.env, "tenant", "create", "--name", "faults")
	h.tenant = hubproc.Field(t, out, "tenant ")
	h.adminKey = hubproc.Field(t, out, "admin key (shown once): ")
	out = hubproc.Run(t, hubBin, h.env, "source", "create", "--tenant", h.tenant, "--name", "shop",
		"--origin", "https://shop.example.com", "--secret", "hotmart="+h.hottok)
	h.hookURL = hubproc.Field(t, out, "hotmart webhook URL: ")
	i := strings.Index(out, `data-key="`)
	if i < 0 {
		t.Fatalf("no public key in:\n%s", out)
	}
	h.pubKey, _, _ = strings.Cut(out[i+len(`data-key="`):], `"`)
	if o.fake != nil {
		token := o.token
		if token == "" {
			token = fakemeta.DefaultToken
		}
		out = hubproc.Run(t, hubBin, h.env, "destination", "add", "--tenant", h.tenant, "--type", "meta",
			"--config", `{"pixel_id":"`+fakemeta.PixelID+`"}`, "--credentials", `{"access_token":"`+token+`"}`)
		h.destID = hubproc.Field(t, out, "destination ")
	}
	h.start()
	return h
}

// start runs a replica on the deployment's port (the address its webhook URLs name).
func (h *hub) start() {
	h.t.Helper()
	h.proc = hubproc.StartOn(h.t, h.port, hubBin, h.env)
	h.proc.WaitReady(h.t)
}

// replica runs one more replica of the same deployment on a port of its own.
func (h *hub) replica() *hubproc.Proc {
	h.t.Helper()
	p := hubproc.Start(h.t, hubBin, h.env)
	p.WaitReady(h.t)
	return p
}

// replicaOn starts a replica again on port.
func (h *hub) replicaOn(port string) *hubproc.Proc {
	h.t.Helper()
	p := hubproc.StartOn(h.t, port, hubBin, h.env)
	p.WaitReady(h.t)
	return p
}

func (h *hub) url(path string) string { return "http://127.0.0.1:" + h.port + path }

// hookURLOf is the source's Hotmart webhook URL on replica p.
func (h *hub) hookURLOf(p *hubproc.Proc) string {
	return strings.Replace(h.hookURL, "127.0.0.1:"+h.port+"/", "127.0.0.1:"+p.Port+"/", 1)
}

// api calls the admin API with the tenant's admin key and decodes a 2xx answer into v.
func (h *hub) api(method, path string, body, v any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.url("/api/v1"+path), rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.adminKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		h.t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			h.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
}

// list reads every page of a list endpoint of the admin API.
func list[T any](h *hub, path string) []T {
	h.t.Helper()
	var all []T
	cursor := ""
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for {
		var page struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		u := path + sep + "limit=500"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		h.api(http.MethodGet, u, nil, &page)
		all = append(all, page.Items...)
		if page.NextCursor == "" || len(page.Items) == 0 {
			return all
		}
		cursor = page.NextCursor
	}
}

type delivery struct {
	ID       string `json:"id"`
	EventID  string `json:"event_id"`
	State    string `json:"state"`
	Reason   string `json:"reason"`
	Attempts int    `json:"attempts"`
	InFlight bool   `json:"in_flight"`
	Resends  int    `json:"resends"`
}

func (h *hub) deliveries() map[string]delivery {
	h.t.Helper()
	out := map[string]delivery{}
	for _, d := range list[delivery](h, "/deliveries") {
		out[d.EventID] = d
	}
	return out
}

// eventually polls cond until it holds or within passes; it reports whether it held.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// order is one Hotmart purchase the test sent, and when Hub acknowledged it.
type order struct {
	txn     string
	eventID string // Hub's event id for Meta: hotmart:<transaction>:purchase
	sent    time.Time
	acked   time.Time
}

// maxAckLatency is the longest a purchase waited for its acknowledgement (retries included).
func maxAckLatency(orders []order) time.Duration {
	var m time.Duration
	for _, o := range orders {
		m = max(m, o.acked.Sub(o.sent))
	}
	return m
}

// purchase is a Hotmart PURCHASE_APPROVED delivery (the shape of bench/delivery's).
func purchase(txn, hottok string, at time.Time) []byte {
	ms := at.UnixMilli()
	low := strings.ToLower(txn)
	return []byte(fmt.Sprintf(`{"id":"%s-evt","creation_date":%d,"event":"PURCHASE_APPROVED","version":"2.0.0","data":{"product":{"id":1234567,"ucode":"0d5b4c2a-1111-4222-8333-444455556666","name":"Curso Exemplo"},"buyer":{"email":"buyer.%s@example.com","name":"Maria Exemplo Teste","first_name":"Maria","last_name":"Exemplo Teste","checkout_phone_code":"11","checkout_phone":"999998888","document":"00000000191","document_type":"CPF","address":{"country":"Brasil","country_iso":"BR","zipcode":"01310-100","state":"SP","city":"São Paulo"}},"purchase":{"approved_date":%d,"order_date":%d,"status":"APPROVED","transaction":"%s","price":{"value":197.0,"currency_value":"BRL"},"payment":{"type":"PIX","installments_number":1},"origin":{"src":"fb_ads","sck":"k_%s"},"buyer_ip":"203.0.113.45"}},"hottok":"%s"}`,
		low, ms, low, ms, ms-60000, txn, low, hottok))
}

// postWebhook sends one webhook body, retrying a transport error, 429 or 5xx with the same body
// as a gateway would, until Hub answers 200 or the attempts run out. Attempt a goes to
// urls[(first+a) % len(urls)]: replicas behind a load balancer. When no attempt was answered
// 200, the string says what each attempt got (a status and the problem's detail, or the
// transport error), so a failure says whether Hub refused the webhook or never answered.
func postWebhook(c *http.Client, urls []string, first int, hottok string, body []byte, attempts int) (bool, string) {
	var got []string
	for a := range attempts {
		if a > 0 {
			time.Sleep(time.Duration(100<<min(a, 5)) * time.Millisecond)
		}
		req, _ := http.NewRequest(http.MethodPost, urls[(first+a)%len(urls)], bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-HOTMART-HOTTOK", hottok)
		sent := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			got = append(got, fmt.Sprintf("after %s: %v", time.Since(sent).Round(time.Millisecond), err))
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return true, ""
		}
		got = append(got, fmt.Sprintf("after %s: %d %s", time.Since(sent).Round(time.Millisecond), resp.StatusCode, bytes.TrimSpace(b)))
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			break
		}
	}
	return false, strings.Join(got, "; ")
}

// sendOrders posts n purchases to the webhook URLs (round robin), conc at a time, and returns the
// acknowledged ones.
func sendOrders(t *testing.T, urls []string, hottok, prefix string, n, conc int) []order {
	t.Helper()
	out, _ := sendOrdersPaced(t, urls, hottok, prefix, n, conc, 0, nil)
	return out
}

// sendOrdersPaced is sendOrders starting one order every gap (load spread over time), and
// starting no more once stop is closed (nil: never). It returns the acknowledged orders and how
// many were sent.
func sendOrdersPaced(t *testing.T, urls []string, hottok, prefix string, n, conc int, gap time.Duration, stop <-chan struct{}) ([]order, int) {
	t.Helper()
	c := &http.Client{Timeout: 15 * time.Second}
	var mu sync.Mutex
	var out []order
	failed := 0 // not acknowledged; the first ten are logged
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * gap)))
		select {
		case <-stop:
			wg.Wait()
			return out, i
		default:
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			txn := fmt.Sprintf("%s%05d", prefix, i)
			sent := time.Now()
			ok, got := postWebhook(c, urls, i, hottok, purchase(txn, hottok, time.Now()), 8)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				out = append(out, order{txn: txn, eventID: "hotmart:" + txn + ":purchase", sent: sent, acked: time.Now()})
			} else if failed++; failed <= 10 {
				t.Logf("webhook %s not acknowledged: %s", txn, got)
			}
		})
	}
	wg.Wait()
	return out, n
}

// checkDelivered waits (at most within) until every order was accepted by the fake and Hub
// says so too (delivered, nothing in flight), then counts: lost (never accepted), dup (accepted
// more often than once plus the resends Hub recorded for it), late (first accepted more than
// bound after Hub acknowledged it).
func checkDelivered(t *testing.T, h *hub, f *fake, orders []order, within, bound time.Duration) result {
	t.Helper()
	return checkDeliveredSince(t, h, f, orders, within, bound, time.Time{})
}

// checkDeliveredSince is checkDelivered where the kernel turned the filesystem read-only at
// roAt (when not zero): a lost purchase fails the test all the same, and the message says on
// which side of the fault it was acknowledged.
func checkDeliveredSince(t *testing.T, h *hub, f *fake, orders []order, within, bound time.Duration, roAt time.Time) result {
	t.Helper()
	var ds map[string]delivery
	eventually(within, func() bool {
		acc := f.meta.Accepted()
		for _, o := range orders {
			if acc[o.eventID] == 0 {
				return false
			}
		}
		ds = h.deliveries()
		for _, o := range orders {
			if d := ds[o.eventID]; d.State != "delivered" || d.InFlight {
				return false
			}
		}
		return true
	})
	if ds == nil {
		ds = h.deliveries()
	}
	first := map[string]time.Time{}
	for _, e := range f.meta.Events() {
		if at, ok := first[e.EventID]; !ok || e.Received.Before(at) {
			first[e.EventID] = e.Received
		}
	}
	acc := f.meta.Accepted()
	r := result{acked: len(orders)}
	resends := 0
	var slowest time.Duration
	for _, o := range orders {
		d := ds[o.eventID]
		resends += d.Resends
		if acc[o.eventID] == 0 {
			r.lost++
			t.Errorf("order %s: acknowledged at %s%s, never accepted by Meta; Hub says %+v", o.txn, o.acked.Format("15:04:05.000"), sinceFault(o.acked, roAt), d)
			continue
		}
		r.stored++
		if extra := acc[o.eventID] - 1 - d.Resends; extra > 0 {
			r.dup += extra
			t.Errorf("order %s: accepted %d times, Hub recorded %d resend(s)", o.txn, acc[o.eventID], d.Resends)
		}
		if d.State != "delivered" {
			t.Errorf("order %s: Meta accepted it but Hub says %+v", o.txn, d)
		}
		lat := first[o.eventID].Sub(o.acked)
		slowest = max(slowest, lat)
		if lat > bound {
			r.late++
			t.Errorf("order %s: reached Meta %s after its acknowledgement (bound %s)", o.txn, lat.Round(time.Second), bound)
		}
	}
	t.Logf("%d orders: %d distinct event ids accepted, %d acceptances in all, %d resend(s) recorded by Hub; slowest reached Meta %s after its acknowledgement",
		len(orders), len(first), len(f.meta.Events()), resends, slowest.Round(time.Second))
	return r
}

// fake is a fake Meta (internal/dest/meta/fakemeta) on loopback, with behaviour the test
// scripts per request: a delay before the request reaches the fake (which then accepts it even
// if Hub hung up meanwhile, as Meta would), or a fault of its own.
type fake struct {
	meta     *fakemeta.Server
	url      string
	inflight atomic.Int64
	mu       sync.Mutex
	behave   func(n int) action // by request number (1-based); nil: pass through
	n        int
	kinds    map[string]int // requests by what the fake did with them
}

// action is what the fake does with one request.
type action struct {
	delay time.Duration
	drop  bool   // close the connection without an answer, the request unread
	code  int    // answer this Graph error code (with status) instead of passing through
	fault string // a fakemeta fault mode for this request
}

func (a action) kind() string {
	switch {
	case a.drop:
		return "dropped"
	case a.code != 0:
		return fmt.Sprintf("code_%d", a.code)
	case a.fault != "":
		return a.fault
	case a.delay > 0:
		return "slow"
	}
	return "passed"
}

// requests says how many requests the fake saw, by what it did with them.
func (f *fake) requests() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.n, " ", f.kinds)
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{meta: fakemeta.New(), kinds: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.url = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		f.meta.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return f
}

func (f *fake) script(b func(n int) action) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.behave = b
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/events") {
		f.meta.ServeHTTP(w, r)
		return
	}
	f.inflight.Add(1)
	defer f.inflight.Add(-1)
	f.mu.Lock()
	f.n++
	var a action
	if f.behave != nil {
		a = f.behave(f.n)
	}
	f.kinds[a.kind()]++
	f.mu.Unlock()
	if a.drop {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
	}
	if a.delay > 0 {
		// Read the request first, as Meta does, then hold it: a client that hangs up meanwhile
		// does not stop the fake from accepting it.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		time.Sleep(a.delay)
		r = r.WithContext(context.WithoutCancel(r.Context()))
	}
	switch {
	case a.code != 0:
		status := http.StatusBadRequest
		if a.code == 4 || a.code == 17 {
			status = http.StatusTooManyRequests
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"(#%d) fake: injected","type":"OAuthException","code":%d,"is_transient":true,"fbtrace_id":"FakeInjected"}}`, a.code, a.code)
		return
	case a.fault != "":
		// One request in this mode: the fake's own fault, set and served under f.mu's order.
		f.serveFault(w, r, a.fault)
		return
	}
	f.meta.ServeHTTP(w, r)
}

// serveFault answers one request as fakemeta does in mode, without touching the fault other
// requests see.
func (f *fake) serveFault(w http.ResponseWriter, r *http.Request, mode string) {
	one := fakemeta.New()
	one.Hang = 40 * time.Second
	if err := one.InjectFault(mode, 0); err != nil {
		panic(err)
	}
	defer one.Close()
	one.ServeHTTP(w, r)
}

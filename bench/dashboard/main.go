// Command dashboard measures how fast the dashboard's pages answer on the embedded default
// (SQLite, in-process cache) holding many orders: it seeds a data directory with N paid orders
// (deliveries and attributions included), starts Hub on it, signs in through the first-run
// form, and times each page. With -database-url it does the same on PostgreSQL.
//
// The orders' attributions carry the ad of their click (-ads ads in -ads/20 campaigns, 10 %
// of the paid clicks without ids), and each ad has a spend row per day of the seeded period,
// so the Campaigns report (GET /api/v1/reports/campaigns, timed with the pages at its
// campaign level, its drill-downs and by click day) reads what 100k orders over 90 days of
// 2,000 ads would be (-days 90).
//
// One line per page, then a last line:
//
//	dashboard: orders=N pages=P slowest=<page> slowest_p50=Sms p50=Xms max=Yms
//
// slowest is the page with the highest p50, slowest_p50 that p50; p50 and max are over every
// request of every page.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/app"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlite"
)

func main() {
	var (
		n     = flag.Int("orders", 100000, "paid orders to seed")
		runs  = flag.Int("runs", 7, "requests per page")
		dir   = flag.String("dir", "", "data directory (default: a new temporary one); one already seeded is reused as it is")
		prof  = flag.String("cpuprofile", "", "write a CPU profile of the timed requests to this file")
		only  = flag.String("pages", "", "comma-separated pages to time (default: all; {id} is the seeded order)")
		dbURL = flag.String("database-url", "", "PostgreSQL URL (an empty database, or one this harness seeded) instead of the embedded SQLite; needs HUB_SECRET_KEY")
		days  = flag.Int("days", 30, "days the orders and the ad spend are spread over")
		ads   = flag.Int("ads", 2000, "ads the orders' clicks and the spend rows are spread over")
	)
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "hub-dashboard-bench")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"HUB_DATA_DIR": *dir, "PORT": "18181", "HUB_HOST": "127.0.0.1", "HUB_OPS_ADDR": "off", "HUB_LOG_LEVEL": "error", "DATABASE_URL": *dbURL,
			"HUB_SECRET_KEY": os.Getenv("HUB_SECRET_KEY")}[k]
	}, nil, app.DeclaredSettings())
	if err != nil {
		log.Fatal(err)
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.WithClock(clock.now))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	if err := a.Bootstrap(ctx, io.Discard); err != nil {
		log.Fatal(err)
	}
	seedDays, seedAds = *days, max(*ads, 20)
	orderID, err := seed(ctx, a, *dir, *dbURL, *n)
	if err != nil {
		log.Fatal(err)
	}
	// Hub folds the report deltas every 15 s while it serves; fold the seeding's backlog before
	// timing, as a running Hub would have.
	t0 := time.Now()
	folded, err := a.Store.CompactStats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "compacted %d report deltas in %s\n", folded, time.Since(t0).Round(time.Millisecond))
	if *dbURL != "" {
		// The seeding wrote a month of orders in minutes, and the fold above left all of its
		// deltas dead in order_stats_delta: until autovacuum's next pass, every overview read
		// scanned their pages, planned on statistics taken before the fold. A running Hub's
		// tables are as autovacuum keeps them; vacuum and analyse them now.
		t0 = time.Now()
		if err := vacuum(ctx, *dbURL); err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "vacuumed and analysed the database in %s\n", time.Since(t0).Round(time.Millisecond))
	}
	addrc := make(chan string, 1)
	go func() {
		if err := a.Serve(ctx, func(addr string) { addrc <- addr }); err != nil {
			log.Print(err)
		}
	}()
	base := "http://" + <-addrc
	key := adminKey(ctx, a)
	c := signIn(base, key)

	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	pages := []string{"/", "/?period=7d", "/?period=30d", "/orders", "/orders?status=paid", "/orders/" + orderID, "/failures", "/accuracy", "/setup", "/settings"}
	// The Campaigns report over the whole seeded period, through the API (the dashboard's
	// page reads the same report.Campaigns).
	today := time.Now().In(saoPaulo).Format(time.DateOnly)
	first := time.Now().In(saoPaulo).AddDate(0, 0, -(seedDays - 1)).Format(time.DateOnly)
	period := "?since=" + first + "&until=" + today
	pages = append(pages, "/api/v1/reports/campaigns"+period, "/api/v1/reports/campaigns"+period+"&count_by=click",
		"/api/v1/reports/campaigns"+period+"&level=adset&campaign_id=23800000000000001",
		"/api/v1/reports/campaigns"+period+"&level=ad&adset_id=23810000000000001")
	if *only != "" {
		pages = strings.Split(strings.ReplaceAll(strings.ReplaceAll(*only, "{id}", orderID), "{period}", period), ",")
	}
	var all []float64
	slowest, slowestP50 := "", 0.0
	for _, p := range pages {
		var lat []float64
		for range *runs {
			t0 := time.Now()
			req, _ := http.NewRequest(http.MethodGet, base+p, nil)
			if strings.HasPrefix(p, "/api/") {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			resp, err := c.Do(req)
			if err != nil {
				log.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				log.Fatalf("%s: %d", p, resp.StatusCode)
			}
			lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
		}
		sort.Float64s(lat)
		p50 := lat[len(lat)/2]
		fmt.Printf("page %-22s p50=%.1fms max=%.1fms\n", strings.Replace(p, period, "?{period}", 1), p50, lat[len(lat)-1])
		if p50 > slowestP50 {
			slowest, slowestP50 = p, p50
		}
		all = append(all, lat...)
	}
	sort.Float64s(all)
	fmt.Printf("dashboard: orders=%d pages=%d slowest=%s slowest_p50=%.1fms p50=%.1fms max=%.1fms\n", *n, len(pages), slowest, slowestP50,
		all[len(all)/2], all[len(all)-1])
}

// clock is Hub's clock: the real time, except while seeding, when it reads the time of the
// order being written, so that orders are created over the last 30 days (the store stamps
// created_at with its clock) and the dashboard's periods hold what they would in production:
// about n/30 orders today, 7n/30 in the last 7 days, n in the last 30.
var clock seedClock

type seedClock struct {
	mu  sync.Mutex
	set time.Time
}

func (c *seedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set.IsZero() {
		return time.Now()
	}
	return c.set
}

func (c *seedClock) at(t time.Time) { c.mu.Lock(); c.set = t; c.mu.Unlock() }

// Seeding shape: the days orders and spend are spread over, and the ads.
var (
	seedDays = 30
	seedAds  = 2000
)

var saoPaulo, _ = time.LoadLocation("America/Sao_Paulo")

// adOf is the ad of seeded order j's click: ad j%ads of campaign (ad/20), ad set (ad/5); one
// attributed click in ten is paid traffic without ids.
func adOf(j int) domain.AdRef {
	if j%10 == 3 {
		return domain.AdRef{Platform: domain.AdPlatformMeta}
	}
	return adRef(j % seedAds)
}

// adRef is the ids and names of seeded ad number ad.
func adRef(ad int) domain.AdRef {
	return domain.AdRef{Platform: domain.AdPlatformMeta, CampaignID: fmt.Sprint(23800000000000000 + ad/20), CampaignName: fmt.Sprintf("Campanha %d", ad/20),
		AdSetID: fmt.Sprint(23810000000000000 + ad/5), AdSetName: fmt.Sprintf("Conjunto %d", ad/5), AdID: fmt.Sprint(23820000000000000 + ad), AdName: fmt.Sprintf("Anúncio %d", ad)}
}

// seed writes n paid orders over the last seedDays days in transactions of 1,000, each with a
// delivered Purchase (2 % dead) and (for 80 %) an attribution with the ad of its click, as the
// intake would; then a Meta ad account with each ad's spend on each day. The source and the
// destination are created first, a day before the oldest order.
func seed(ctx context.Context, a *app.App, dir, dbURL string, n int) (string, error) {
	ts, err := a.Store.ListTenants(ctx)
	if err != nil || len(ts) == 0 {
		return "", fmt.Errorf("seed: tenant: %v", err)
	}
	tenant := ts[0].ID
	if existing, err := a.Store.ListOrders(ctx, store.OrderFilter{TenantID: tenant, Limit: 1}); err != nil || len(existing) > 0 {
		if err != nil {
			return "", err
		}
		fmt.Fprintf(os.Stderr, "reusing the orders already seeded in the data directory\n")
		return existing[0].ID, nil
	}
	now := time.Now().UTC()
	span := time.Duration(seedDays) * 24 * time.Hour
	clock.at(now.Add(-span - 24*time.Hour))
	defer clock.at(time.Time{})
	src, err := a.Admin.CreateSource(ctx, tenant, admin.SourceInput{Name: "shop"})
	if err != nil {
		return "", err
	}
	d, err := a.Admin.AddDestination(ctx, tenant, admin.DestinationInput{Type: "meta", Config: json.RawMessage(`{"pixel_id":"1"}`), Credentials: json.RawMessage(`{"access_token":"x"}`)}, app.DestinationValidator())
	if err != nil {
		return "", err
	}
	// The store stamps created_at with its own clock: write through a second handle on the
	// same database that reads the seeding clock.
	var st store.Store
	if dbURL != "" {
		st, err = postgres.Open(ctx, dbURL, store.WithClock(clock.now))
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(dir, "hub.db"), store.WithClock(clock.now))
	}
	if err != nil {
		return "", err
	}
	defer st.Close()
	start := time.Now()
	var last string
	for i := 0; i < n; i += 1000 {
		err := st.Tx(ctx, func(tx store.Tx) error {
			for j := i; j < i+1000 && j < n; j++ {
				at := now.Add(-time.Duration(j) * (span / time.Duration(n))) // divided first: j*span in ns overflows
				clock.at(at)
				o, _, err := tx.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tenant, SourceID: src.ID, Provider: []string{"hotmart", "kiwify", "stripe"}[j%3],
					ExternalID: fmt.Sprintf("B%08d", j), EventKey: "paid", Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: at,
					AmountMinor: 19700, Currency: []string{"BRL", "BRL", "USD"}[j%3], ReceivedAt: at,
					Buyer: store.Buyer{EmailHash: fmt.Sprintf("%064x", j)}})
				if err != nil {
					return err
				}
				last = o.ID
				if j%5 != 0 {
					click := at.Add(-time.Duration(j%48) * time.Hour)
					if err := tx.PutAttribution(ctx, store.Attribution{TenantID: tenant, OrderID: o.ID, TouchpointID: fmt.Sprintf("tp%d", j), VisitorID: fmt.Sprintf("k_%d", j),
						Rule: "visitor_id", Confidence: 1, Explanation: "seeded", CreatedAt: at, Ad: adOf(j), ClickAt: &click}); err != nil {
						return err
					}
				}
				state := store.DeliveryDelivered
				if j%50 == 0 {
					state = store.DeliveryDead
				}
				if _, _, err := tx.CreateDelivery(ctx, store.Delivery{TenantID: tenant, OrderID: o.ID, DestinationID: d.ID, EventName: "Purchase",
					EventID: "seed:" + o.ExternalID, State: state, Reason: map[bool]string{true: "invalid_token"}[state == store.DeliveryDead], Attempts: 1, CreatedAt: at, UpdatedAt: at}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	fmt.Fprintf(os.Stderr, "seeded %d orders in %s\n", n, time.Since(start).Round(time.Second))
	start = time.Now()
	acct, err := st.CreateAdAccount(ctx, store.AdAccount{TenantID: tenant, Platform: "meta", ExternalID: "1", Name: "bench", Currency: "BRL",
		TimeZone: "America/Sao_Paulo", Credentials: "not-a-secret"})
	if err != nil {
		return "", err
	}
	rows := make([]store.SpendRow, 0, seedAds)
	for d := range seedDays {
		day := now.In(saoPaulo).AddDate(0, 0, -d).Format(time.DateOnly)
		rows = rows[:0]
		for ad := range seedAds {
			r := adRef(ad)
			rows = append(rows, store.SpendRow{TenantID: tenant, AccountID: acct.ID, Platform: "meta", Date: day, CampaignID: r.CampaignID,
				CampaignName: r.CampaignName, AdSetID: r.AdSetID, AdSetName: r.AdSetName, AdID: r.AdID, AdName: r.AdName, Currency: "BRL",
				SpendMicros: int64(1_000_000 + (ad*7919+d*104729)%50_000_000), Impressions: int64(1000 + ad%500), Clicks: int64(10 + ad%50), ImportedAt: now})
		}
		if _, err := st.UpsertSpend(ctx, rows); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(os.Stderr, "seeded %d spend rows in %s\n", seedDays*seedAds, time.Since(start).Round(time.Second))
	return last, nil
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn creates the first user through the first-run form (or, in a reused data directory,
// logs in as that user) and returns a signed-in client.
func signIn(base, key string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/welcome")
	if err != nil {
		log.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(b)
	if m == nil {
		log.Fatalf("no csrf token on /welcome (%d)", resp.StatusCode)
	}
	form := url.Values{"csrf": {string(m[1])}, "key": {key}, "email": {"bench@example.com"}, "password": {"correct horse battery staple"}, "password2": {"correct horse battery staple"}}
	if path := resp.Request.URL.Path; path != "/welcome" {
		// A reused data directory: the user exists, so /welcome sent us to /login.
		resp, err = c.PostForm(base+path, form)
	} else {
		resp, err = c.PostForm(base+"/welcome", form)
	}
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		log.Fatalf("welcome: %d", resp.StatusCode)
	}
	return c
}

// adminKey makes an admin key for the first-run form, which asks for the one Hub printed at
// its first start.
func adminKey(ctx context.Context, a *app.App) string {
	ts, err := a.Store.ListTenants(ctx)
	if err != nil || len(ts) == 0 {
		log.Fatalf("admin key: no tenant (%v)", err)
	}
	k, err := a.Admin.CreateAPIKey(ctx, ts[0].ID, "bench/dashboard", store.RoleAdmin) // the seeded tenant
	if err != nil {
		log.Fatal(err)
	}
	return k.Plaintext
}

// vacuum runs VACUUM (ANALYZE) on the PostgreSQL database at url.
func vacuum(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `VACUUM (ANALYZE)`)
	return err
}

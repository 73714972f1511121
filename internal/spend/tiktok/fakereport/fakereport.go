// Package fakereport is a fake of TikTok's Business API for spend import: /advertiser/info/
// and /report/integrated/get/ (BASIC, AUCTION_AD, ad_id and stat_time_day, at most 30 days,
// page/page_size paging, JSON-encoded array parameters). It serves seeded rows, and has
// controls for the page size, throttling (code 40100), a revoked token (code 40105), revisions
// and refusing the status filter. It takes the token only in the Access-Token header and
// refuses (and counts) any request with it in the URL. Its answers follow the shapes Hub
// assumes; several keys are UNVERIFIED against TikTok (docs/spend/platforms.md).
package fakereport

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/spendtest"
)

// Values the fake accepts.
const (
	Token        = "fake0tiktok0access0token"
	AdvertiserID = "7012345678901234567"
)

// Advertiser is an ad account the fake knows.
type Advertiser struct {
	ID, Name, Currency, Timezone, DisplayTimezone, Status string
}

// Server is the fake; serve it with httptest.NewServer and set the source's APIURL to its URL.
// The embedded State holds the rows and the controls every spend fake shares.
type Server struct {
	spendtest.State

	mu          sync.Mutex
	advertisers map[string]Advertiser
	noFilter    bool
	filterSeen  int
}

// New returns a fake with one advertiser (AdvertiserID, BRL, America/Sao_Paulo).
func New() *Server {
	s := &Server{advertisers: map[string]Advertiser{}}
	s.AddAdvertiser(Advertiser{ID: AdvertiserID, Name: "Loja Exemplo TikTok", Currency: "BRL", Timezone: "Etc/GMT+3",
		DisplayTimezone: "America/Sao_Paulo", Status: "STATUS_ENABLE"})
	return s
}

// Credentials returns the credentials document the fake accepts.
func (s *Server) Credentials() []byte {
	b, _ := json.Marshal(map[string]string{"access_token": Token})
	return b
}

// AddAdvertiser adds or replaces an advertiser.
func (s *Server) AddAdvertiser(a Advertiser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advertisers[a.ID] = a
}

// RefuseFilter makes the report refuse the filtering parameter with code 40001, as TikTok
// would if Hub's status filter were wrong.
func (s *Server) RefuseFilter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noFilter = true
}

// ServeHTTP implements http.Handler. Throttled answers are code 40100: TikTok gives no retry
// hint Hub knows of; with minutes > 0 the answer carries Retry-After (seconds) anyway. A
// revoked token is answered code 40105.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Record(r.URL.RequestURI())
	if s.SecretIn(r.URL.RawQuery, Token, "access_token", "access-token") {
		answer(w, 40001, "fakereport: the token must be in the Access-Token header", nil)
		return
	}
	if r.Method != http.MethodGet {
		answer(w, 40001, "fakereport: method not allowed", nil)
		return
	}
	if r.Header.Get("Access-Token") != Token || s.Revoked() {
		answer(w, 40105, "The access token is invalid or has been revoked.", nil)
		return
	}
	if _, minutes, ok := s.Throttle(); ok {
		if minutes > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(minutes*60))
		}
		answer(w, 40100, "Too many requests. Please retry in some time.", nil)
		return
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/open_api/v1.3/advertiser/info/":
		var ids []string
		if json.Unmarshal([]byte(q.Get("advertiser_ids")), &ids) != nil || len(ids) == 0 {
			answer(w, 40001, "advertiser_ids: must be a JSON array of ids", nil)
			return
		}
		var list []map[string]string
		for _, id := range ids {
			if a, ok := s.advertisers[id]; ok {
				list = append(list, map[string]string{"advertiser_id": a.ID, "name": a.Name, "currency": a.Currency,
					"timezone": a.Timezone, "display_timezone": a.DisplayTimezone, "status": a.Status})
			}
		}
		if len(list) == 0 {
			answer(w, 40002, "No permission to operate advertiser "+strings.Join(ids, ","), nil)
			return
		}
		answer(w, 0, "OK", map[string]any{"list": list})
	case "/open_api/v1.3/report/integrated/get/":
		s.report(w, q)
	default:
		answer(w, 40001, "fakereport: no such endpoint", nil)
	}
}

func (s *Server) report(w http.ResponseWriter, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var dims, metrics []string
	if get("report_type") != "BASIC" || get("data_level") != "AUCTION_AD" ||
		json.Unmarshal([]byte(get("dimensions")), &dims) != nil || !slices.Equal(dims, []string{"ad_id", "stat_time_day"}) ||
		json.Unmarshal([]byte(get("metrics")), &metrics) != nil || !slices.Contains(metrics, "spend") {
		answer(w, 40001, "fakereport: report_type BASIC, data_level AUCTION_AD, dimensions [ad_id, stat_time_day] and a metrics array with spend are required", nil)
		return
	}
	if f := get("filtering"); f != "" {
		s.filterSeen++
		var v []map[string]any
		if s.noFilter || json.Unmarshal([]byte(f), &v) != nil {
			answer(w, 40001, "filtering: invalid", nil)
			return
		}
	}
	id := get("advertiser_id")
	if _, ok := s.advertisers[id]; !ok {
		answer(w, 40002, "No permission to operate advertiser "+id, nil)
		return
	}
	rg := spend.Range{Since: get("start_date"), Until: get("end_date")}
	if rg.Check() != nil || rg.Days() > 30 {
		answer(w, 40001, "start_date/end_date: at most 30 days when stat_time_day is a dimension", nil)
		return
	}
	page, err1 := strconv.Atoi(get("page"))
	size, err2 := strconv.Atoi(get("page_size"))
	if err1 != nil || err2 != nil || page < 1 || size < 1 || size > 1000 {
		answer(w, 40001, "page and page_size (1-1000) must be numbers", nil)
		return
	}
	size = min(size, s.PageSize(1000))
	rows := s.RowsIn(id, rg)
	total := (len(rows) + size - 1) / size
	start := min((page-1)*size, len(rows))
	end := min(start+size, len(rows))
	list := make([]map[string]any, 0, end-start)
	for _, row := range rows[start:end] {
		list = append(list, map[string]any{
			"dimensions": map[string]string{"ad_id": row.AdID, "stat_time_day": row.Date + " 00:00:00"},
			"metrics": map[string]string{"spend": money(row.SpendMicros),
				"impressions": strconv.FormatInt(row.Impressions, 10), "clicks": strconv.FormatInt(row.Clicks, 10),
				"campaign_id": row.CampaignID, "campaign_name": row.CampaignName, "adgroup_id": row.AdSetID,
				"adgroup_name": row.AdSetName, "ad_name": row.AdName},
		})
	}
	answer(w, 0, "OK", map[string]any{"list": list,
		"page_info": map[string]int{"page": page, "page_size": size, "total_number": len(rows), "total_page": total}})
}

func answer(w http.ResponseWriter, code int, msg string, data any) {
	if data == nil {
		data = map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "request_id": "fake-request", "data": data})
}

// money writes micros with two decimals when they are whole cents ("12.30"), as TikTok's
// reports show money, else every decimal needed.
func money(micros int64) string {
	if micros >= 0 && micros%10000 == 0 {
		return fmt.Sprintf("%d.%02d", micros/1_000_000, micros%1_000_000/10000)
	}
	return spendtest.Decimal(micros)
}

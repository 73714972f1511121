package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/egress"
)

// QualityFields is the fields parameter of the Dataset Quality API request: the web events'
// names and their Event Match Quality.
const QualityFields = "web{event_name,event_match_quality}"

// MatchQuality implements dest.QualityReader with Meta's Dataset Quality API:
// GET {GraphURL}/{version}/dataset_quality?dataset_id=<pixel id>&fields=web{event_name,event_match_quality},
// the token in the Authorization header (never in the URL), through the egress client, no
// redirect followed. The request shape and the answer's are UNVERIFIED (Hub's protocol reference
// recalls them; Meta's docs excerpts do not confirm them), so the answer is read defensively:
// {"web":[...]}, {"data":[{"web":[...]}]} and {"data":[...]} are all accepted, each entry's
// event_match_quality.composite_score as a number or a numeric string, and a score outside 0 to
// 10 is ignored. A non-2xx answer is dest.ErrQualityRefused; no error message quotes the token.
func (m *Meta) MatchQuality(ctx context.Context, cfg dest.Config, creds dest.Credentials) ([]dest.MatchQuality, error) {
	if err := m.ValidateConfig(cfg); err != nil {
		return nil, err
	}
	if err := dest.CheckCredentials(spec, creds).Err(); err != nil {
		return nil, err
	}
	base, err := dest.BaseURL(m.GraphURL, DefaultGraphURL)
	if err != nil {
		return nil, errors.New("meta: the Graph API URL (HUB_META_GRAPH_URL) is not an absolute http(s) URL without query")
	}
	version := m.apiVersion(cfg)
	if !apiVersionRe.MatchString(version) {
		return nil, errors.New("meta: the Graph API version must look like v25.0")
	}
	q := url.Values{"dataset_id": {cfg.Get(spec, SettingPixelID)}, "fields": {QualityFields}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+version+"/dataset_quality?"+q.Encode(), nil)
	if err != nil {
		return nil, errors.New("meta: dataset quality: cannot build the request")
	}
	token := strings.TrimSpace(creds.Get(SettingAccessToken))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", m.partnerAgent())
	resp, err := egress.NoRedirect(m.Client).Do(req)
	if err != nil {
		return nil, fmt.Errorf("meta: dataset quality: %s", dest.Redact(err.Error(), token))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, dest.MaxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("meta: dataset quality: read the answer: %s", dest.Redact(err.Error(), token))
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		return nil, fmt.Errorf("meta: dataset quality: %w: HTTP %d, Graph error code %d", dest.ErrQualityRefused, resp.StatusCode, e.Error.Code)
	}
	out, err := parseQuality(raw)
	if err != nil {
		return nil, fmt.Errorf("meta: dataset quality: %w", err)
	}
	return out, nil
}

// qualityEntry is one event of the answer.
type qualityEntry struct {
	EventName string `json:"event_name"`
	EMQ       *struct {
		CompositeScore json.RawMessage `json:"composite_score"`
	} `json:"event_match_quality"`
}

// parseQuality reads the scores off a Dataset Quality answer, in any of the accepted shapes.
func parseQuality(raw []byte) ([]dest.MatchQuality, error) {
	var top struct {
		Web  []qualityEntry    `json:"web"`
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, errors.New("an answer Hub cannot read")
	}
	entries := top.Web
	for _, d := range top.Data {
		var nested struct {
			Web []qualityEntry `json:"web"`
		}
		var e qualityEntry
		if json.Unmarshal(d, &nested) == nil && len(nested.Web) > 0 {
			entries = append(entries, nested.Web...)
		} else if json.Unmarshal(d, &e) == nil {
			entries = append(entries, e)
		}
	}
	out := []dest.MatchQuality{}
	for _, e := range entries {
		if e.EventName == "" || e.EMQ == nil {
			continue
		}
		s, ok := score(e.EMQ.CompositeScore)
		if !ok {
			continue
		}
		out = append(out, dest.MatchQuality{Event: e.EventName, Score: s})
	}
	return out, nil
}

// score reads a composite score given as a number or a numeric string, 0 to 10.
func score(raw json.RawMessage) (float64, bool) {
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return 0, false
		}
	}
	if math.IsNaN(f) || f < 0 || f > 10 {
		return 0, false
	}
	return f, true
}

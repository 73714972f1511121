package report

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// CoverageReader is the store read the identifier coverage uses.
type CoverageReader interface {
	IdentifierCoverage(ctx context.Context, f store.CoverageFilter) ([]store.KeysCount, error)
	DedupCoverage(ctx context.Context, f store.DedupFilter) (store.DedupCount, error)
}

// KeyShare is how many of a destination's sent events carried one identifier key.
type KeyShare struct {
	Key    string  `json:"key"`    // dest.KeyNames: em, ph, fbc...
	Events int     `json:"events"` // events that carried it
	Share  float64 `json:"share"`  // Events / Coverage.Events, 0 to 1 (0 when nothing was sent)
}

// Coverage is the identifier coverage of one destination's events sent (delivered) in a
// period, and for Meta the estimated match quality.
type Coverage struct {
	DestinationID string     `json:"destination_id"`
	Since         time.Time  `json:"since"`
	Until         time.Time  `json:"until"`
	Events        int        `json:"events"` // delivered events whose keys were recorded
	Keys          []KeyShare `json:"keys"`
	// Score is Hub's estimate of Meta's Event Match Quality, 0 to 10 (MatchScore); nil for
	// other destinations (Google and TikTok publish no match score to estimate) and when no
	// event was sent.
	Score *float64 `json:"estimated_match_score"`
	// Dedup is the browser-server deduplication coverage of the period's Purchases; nil for
	// other destinations than Meta.
	Dedup *DedupCoverage `json:"browser_dedup"`
}

// DedupCoverage is the share of a Meta destination's server Purchases (delivered in a period)
// whose event_id the browser Pixel also received: the snippet reported giving that id to the
// Pixel (hub('track', 'purchase', {eventID}) on the thank-you page). Meta keeps one copy only
// when both carry the same event name and id.
type DedupCoverage struct {
	Purchases int     `json:"purchases"` // Purchases delivered in the period
	Shared    int     `json:"shared"`    // of them, those whose event id the Pixel also received
	Share     float64 `json:"share"`     // Shared / Purchases, 0 when none was delivered
	// Low is true when Purchases were delivered and less than DedupLowShare of them were shared.
	Low bool `json:"low"`
}

// DedupLowShare is the share of server Purchases shared with the Pixel under which the
// deduplication coverage is flagged low: each unshared one is counted twice by Meta if the
// Pixel also fires it with another id.
const DedupLowShare = 0.8

// MatchWeights are the points (of 100) the estimated match score gives an event for each key
// it carries. Meta publishes which keys matter most (e-mail, phone, IP with user agent, fbc,
// fbp, external id, then name) but no numbers: the weights follow that order and are Hub's own
// judgement. IP and user agent count half each, because Meta matches on the pair.
var MatchWeights = map[dest.Keys]float64{
	dest.KeyEmail: 25, dest.KeyPhone: 20, dest.KeyFBC: 14, dest.KeyFBP: 10, dest.KeyExternalID: 8,
	dest.KeyIP: 6, dest.KeyUserAgent: 6, dest.KeyFirstName: 3, dest.KeyLastName: 3,
	dest.KeyBirthDate: 1, dest.KeyCity: 1, dest.KeyState: 1, dest.KeyZip: 1, dest.KeyCountry: 1,
}

// MatchScore is the estimated match score of events with these key shares: the mean, over the
// events, of the weights of the keys each carried, divided by 10 (so 0 to 10), rounded to one
// decimal. By linearity that is Σ MatchWeights[k] × share(k) / 10.
func MatchScore(shares map[dest.Keys]float64) float64 {
	var s float64
	for k, w := range MatchWeights {
		s += w * shares[k]
	}
	return math.Round(s) / 10
}

// IdentifierCoverage reads the coverage of ds's events sent in [p.Since, p.Until). shown are
// the keys its type reports (dest.Spec.Keys), each shown even when no event carried it; a key
// recorded outside shown is added after them.
func IdentifierCoverage(ctx context.Context, r CoverageReader, ds store.Destination, shown []dest.Keys, p Period) (Coverage, error) {
	if err := p.Validate(); err != nil {
		return Coverage{}, err
	}
	rows, err := r.IdentifierCoverage(ctx, store.CoverageFilter{TenantID: ds.TenantID, DestinationID: ds.ID, Since: p.Since, Until: p.Until})
	if err != nil {
		return Coverage{}, fmt.Errorf("report: identifier coverage: %w", err)
	}
	c := coverage(ds, shown, p, rows)
	if ds.Type == "meta" { // the registry key of internal/dest/meta
		n, err := r.DedupCoverage(ctx, store.DedupFilter{TenantID: ds.TenantID, DestinationID: ds.ID, EventName: domain.EventPurchase, Since: p.Since, Until: p.Until})
		if err != nil {
			return Coverage{}, fmt.Errorf("report: dedup coverage: %w", err)
		}
		c.Dedup = dedup(n)
	}
	return c, nil
}

func dedup(n store.DedupCount) *DedupCoverage {
	d := &DedupCoverage{Purchases: n.Events, Shared: n.Shared}
	if n.Events > 0 {
		d.Share = float64(n.Shared) / float64(n.Events)
		d.Low = d.Share < DedupLowShare
	}
	return d
}

func coverage(ds store.Destination, declared []dest.Keys, p Period, rows []store.KeysCount) Coverage {
	c := Coverage{DestinationID: ds.ID, Since: p.Since, Until: p.Until, Keys: []KeyShare{}}
	counts := map[dest.Keys]int{}
	for _, r := range rows {
		if r.DestinationID != ds.ID {
			continue
		}
		c.Events += r.Events
		for _, k := range dest.AllKeys() {
			if dest.Keys(r.Keys)&k != 0 {
				counts[k] += r.Events
			}
		}
	}
	isMeta := ds.Type == "meta" // the registry key of internal/dest/meta
	shown := slices.Clone(declared)
	for _, k := range dest.AllKeys() {
		if counts[k] > 0 && !slices.Contains(shown, k) {
			shown = append(shown, k)
		}
	}
	shares := map[dest.Keys]float64{}
	for _, k := range shown {
		if c.Events > 0 {
			shares[k] = float64(counts[k]) / float64(c.Events)
		}
		c.Keys = append(c.Keys, KeyShare{Key: k.Name(), Events: counts[k], Share: shares[k]})
	}
	if isMeta && c.Events > 0 {
		s := MatchScore(shares)
		c.Score = &s
	}
	return c
}

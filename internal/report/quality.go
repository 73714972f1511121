package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// How long the platform's own match quality is kept: the platform computes it over days, so
// it is asked for every few hours, not per page view; a failed call is asked again sooner.
const (
	QualityTTL      = 6 * time.Hour
	QualityRetryTTL = 30 * time.Minute
	// QualityTimeout bounds one call, so a slow platform cannot hold a page.
	QualityTimeout = 5 * time.Second
)

// Why the platform's match quality is not available.
const (
	QualityRefused = "refused" // the platform refused (permission, token, endpoint)
	QualityFailed  = "failed"  // the call failed (network, timeout, an answer Hub cannot read)
	QualityNone    = "none"    // the platform answered with no score yet
)

// PlatformQuality is the platform's own match quality for a destination (Meta's Event Match
// Quality), shown beside Hub's estimate.
type PlatformQuality struct {
	Available bool                `json:"available"`
	Scores    []dest.MatchQuality `json:"scores"`
	// Problem says why it is not available: QualityRefused, QualityFailed or QualityNone.
	Problem   string    `json:"problem,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
}

// Score returns the score of the event named name, if the platform gave one.
func (q PlatformQuality) Score(name string) (float64, bool) {
	for _, s := range q.Scores {
		if s.Event == name {
			return s.Score, true
		}
	}
	return 0, false
}

// QualityCache is the cache the answers are kept in (cache.Cache has it), shared by replicas.
type QualityCache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// PlatformMatchQuality returns r's match quality for ds with its settings and credentials, from
// c when a recent answer is there (QualityTTL), else by asking the platform. A refusal is asked again after QualityRetryTTL too, so a permission granted
// shows soon. The key holds the destination's update time, so new settings or a new token are
// asked again. It never fails: a refusal or a failure is an answer that is not available.
func PlatformMatchQuality(ctx context.Context, c QualityCache, r dest.QualityReader, ds store.Destination, cfg dest.Config, creds dest.Credentials, now time.Time) PlatformQuality {
	key := fmt.Sprintf("matchquality:%s:%d", ds.ID, ds.UpdatedAt.UnixNano())
	if c != nil {
		if b, ok, err := c.Get(ctx, key); err == nil && ok {
			var q PlatformQuality
			if json.Unmarshal(b, &q) == nil {
				return q
			}
		}
	}
	cctx, cancel := context.WithTimeout(ctx, QualityTimeout)
	defer cancel()
	scores, err := r.MatchQuality(cctx, cfg, creds)
	q := PlatformQuality{Scores: []dest.MatchQuality{}, CheckedAt: now}
	ttl := QualityTTL
	switch {
	case errors.Is(err, dest.ErrQualityRefused):
		q.Problem, ttl = QualityRefused, QualityRetryTTL
	case err != nil:
		q.Problem, ttl = QualityFailed, QualityRetryTTL
	case len(scores) == 0:
		q.Problem = QualityNone
	default:
		q.Available, q.Scores = true, scores
	}
	if c != nil && ctx.Err() == nil {
		if b, err := json.Marshal(q); err == nil {
			_ = c.Set(ctx, key, b, ttl) // only for speed: without it the platform is asked again
		}
	}
	return q
}

// qualityReasons say, per language, why the platform's own match quality is not available.
var qualityReasons = map[string]map[string]string{
	QualityRefused: {
		"en":    "Meta's own Event Match Quality is not available: Meta refused to give it with this destination's access token (the token may lack permission to manage the pixel). Hub's estimate still applies.",
		"pt-BR": "A qualidade de correspondência da própria Meta não está disponível: a Meta se recusou a informá-la com o token de acesso deste destino (talvez o token não tenha permissão para gerenciar o pixel). A estimativa do Hub continua valendo.",
	},
	QualityFailed: {
		"en":    "Meta's own Event Match Quality is not available right now: Hub could not reach Meta or read its answer. Hub asks again in 30 minutes.",
		"pt-BR": "A qualidade de correspondência da própria Meta não está disponível agora: o Hub não conseguiu falar com a Meta ou ler a resposta. O Hub pergunta de novo em 30 minutos.",
	},
	QualityNone: {
		"en":    "Meta has no Event Match Quality for this pixel yet: it scores events after receiving them for a few days.",
		"pt-BR": "A Meta ainda não tem qualidade de correspondência para este pixel: ela dá a nota depois de receber eventos por alguns dias.",
	},
}

// QualityReason says in lang ("en" or "pt-BR") why the platform's own match quality is not
// available (problem is QualityRefused, QualityFailed or QualityNone); "" for another problem
// or language.
func QualityReason(problem, lang string) string {
	return qualityReasons[problem][lang]
}

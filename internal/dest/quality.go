package dest

import (
	"context"
	"errors"
)

// MatchQuality is a platform's own score of how well it matched one event name's events to its
// users (Meta's Event Match Quality), 0 to 10.
type MatchQuality struct {
	Event string  `json:"event"`
	Score float64 `json:"score"`
}

// QualityReader is a destination that can read the platform's own match quality with a
// destination's settings and credentials. It is a seam: the endpoint, its permissions and its
// answer are the platform's (Meta's Dataset Quality API is unverified), so an implementation
// reads the answer defensively and the caller shows "not available" on any error.
type QualityReader interface {
	MatchQuality(ctx context.Context, cfg Config, creds Credentials) ([]MatchQuality, error)
}

// ErrQualityRefused is the platform refusing to give its match quality (the token lacks the
// permission, the endpoint is unknown or the dataset is not the token's), as opposed to a
// call that failed (network, timeout, an answer that cannot be read).
var ErrQualityRefused = errors.New("the platform refused to give its match quality")

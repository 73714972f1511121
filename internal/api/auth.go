package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// principal is the authenticated caller: an API key and the tenant every request is scoped to.
type principal struct {
	KeyID    string
	TenantID string
	Role     string
}

// actor names the caller in audit entries.
func (p principal) actor() string { return "api_key:" + p.KeyID }

func (p principal) canWrite() bool { return p.Role == store.RoleAdmin || p.Role == store.RoleOperator }

// unauthorized is the one answer for every authentication failure (missing, malformed,
// unknown, wrong secret, revoked), so a caller learns nothing about which keys exist.
func unauthorized(detail string) error {
	return httpx.NewProblem(http.StatusUnauthorized, detail)
}

// authenticate finds the key by its public lookup part and compares the hash of the whole key in
// constant time.
func (a *API) authenticate(r *http.Request) (principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" {
		return principal{}, unauthorized("an API key is required: Authorization: Bearer <key>")
	}
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return principal{}, unauthorized("the Authorization header must be: Bearer <key>")
	}
	lookup, ok := pii.APIKeyLookup(token)
	if !ok {
		return principal{}, unauthorized("invalid API key")
	}
	k, err := a.cfg.Store.GetAPIKeyByLookup(r.Context(), lookup)
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, unauthorized("invalid API key")
	}
	if err != nil {
		return principal{}, err
	}
	if !pii.VerifyAPIKey(token, k.Hash) || k.RevokedAt != nil {
		return principal{}, unauthorized("invalid API key")
	}
	p := principal{KeyID: k.ID, TenantID: k.TenantID, Role: k.Role}
	a.touch(r.Context(), k)
	return p, nil
}

// authorize applies the role: read-only keys only read, tenant routes need an operator key.
func (a *API) authorize(rt Route, p principal) error {
	if rt.Operator && p.Role != store.RoleOperator {
		return httpx.NewProblem(http.StatusForbidden, "this action needs an operator key")
	}
	if rt.Method != http.MethodGet && rt.Method != http.MethodHead && !rt.Reads && !p.canWrite() {
		return httpx.NewProblem(http.StatusForbidden, "this key is read-only")
	}
	return nil
}

// limit takes a token from the key's bucket. A cache failure lets the request through: the
// cache is for coordination, never a reason to refuse service.
func (a *API) limit(ctx context.Context, w http.ResponseWriter, p principal) error {
	if a.cfg.Cache == nil || a.cfg.RateLimit < 0 {
		return nil
	}
	ok, retry, err := a.cfg.Cache.Allow(ctx, "api:key:"+p.KeyID, a.cfg.RateLimit, a.cfg.RateBurst)
	if err != nil {
		a.cfg.Log.Warn("api: rate limit unavailable", "error", err.Error())
		return nil
	}
	if ok {
		return nil
	}
	secs := int(retry.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return httpx.NewProblem(http.StatusTooManyRequests, "rate limit exceeded for this API key; retry after "+strconv.Itoa(secs)+"s")
}

// touch records a key's last use at most once per TouchEvery per process, so a busy key costs
// one write a minute instead of one per request. A failure is logged, never fatal.
func (a *API) touch(ctx context.Context, k store.APIKey) {
	now := a.now()
	a.touchMu.Lock()
	last, seen := a.lastTouch[k.ID]
	if !seen && k.LastUsedAt != nil {
		last = *k.LastUsedAt
	}
	due := now.Sub(last) >= a.cfg.TouchEvery
	if due {
		a.lastTouch[k.ID] = now
	}
	a.touchMu.Unlock()
	if !due {
		return
	}
	if err := a.cfg.Store.TouchAPIKey(context.WithoutCancel(ctx), k.ID, now); err != nil {
		a.cfg.Log.Warn("api: touch api key", "key_id", k.ID, "error", err.Error())
	}
}

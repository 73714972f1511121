package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Tenants.

const tenantCols = `id, name, time_zone, created_at`

func (q *queries) scanTenant(r Row) (store.Tenant, error) {
	var t store.Tenant
	err := r.Scan(&t.ID, &t.Name, &t.TimeZone, tm(&t.CreatedAt))
	return t, err
}

func (q *queries) CreateTenant(ctx context.Context, t store.Tenant) (store.Tenant, error) {
	t.ID = q.newID(t.ID)
	t.CreatedAt = q.stamp(t.CreatedAt)
	if t.TimeZone == "" {
		t.TimeZone = store.DefaultTimeZone
	}
	_, err := q.exec(ctx, q.w, `INSERT INTO tenants (`+tenantCols+`) VALUES ($1, $2, $3, $4)`,
		t.ID, t.Name, t.TimeZone, q.f.Time(t.CreatedAt))
	if err != nil {
		return store.Tenant{}, q.writeErr("create tenant", err)
	}
	return t, nil
}

func (q *queries) CreateFirstTenant(ctx context.Context, t store.Tenant, keys []store.APIKey) (bool, error) {
	return q.first(ctx, "tenant", func(q *queries) error {
		t, err := q.CreateTenant(ctx, t)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.TenantID != t.ID {
				return fmt.Errorf("key %q is for tenant %q, not the first tenant %q", k.Name, k.TenantID, t.ID)
			}
			if _, err := q.CreateAPIKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// first runs create in one transaction only when table ("tenant" or "user": tenants or users)
// has no row, and reports whether it did. Read committed alone would let two replicas both see
// none: on PostgreSQL they take turns on a transaction lock per schema and table, held to
// commit; on SQLite the transaction holds the single writer.
func (q *queries) first(ctx context.Context, table string, create func(q *queries) error) (created bool, err error) {
	err = q.runTx(ctx, func(q *queries) error {
		if q.f.Name == "postgres" {
			if _, err := q.exec(ctx, q.w, `SELECT pg_advisory_xact_lock(hashtext('hub.first_`+table+`:' || current_schema()))`); err != nil {
				return err
			}
		}
		var n int64
		if err := q.queryRow(ctx, q.w, `SELECT count(*) FROM (SELECT 1 FROM `+table+`s LIMIT 1) t`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := create(q); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, wrap("create first "+table, err)
	}
	return created, nil
}

func (q *queries) SetTenantTimeZone(ctx context.Context, id, timeZone string) error {
	n, err := q.exec(ctx, q.w, `UPDATE tenants SET time_zone = $2 WHERE id = $1`, id, timeZone)
	return mustAffect("set tenant time zone", n, err)
}

func (q *queries) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	t, err := q.scanTenant(q.queryRow(ctx, q.r, `SELECT `+tenantCols+` FROM tenants WHERE id = $1`, id))
	if err != nil {
		return store.Tenant{}, readErr("get tenant", err)
	}
	return t, nil
}

func (q *queries) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := q.query(ctx, q.r, `SELECT `+tenantCols+` FROM tenants ORDER BY id DESC`)
	return collect(rows, err, "list tenants", func(r Rows) (store.Tenant, error) { return q.scanTenant(r) })
}

// API keys.

const apiKeyCols = `id, tenant_id, name, role, lookup, hash, created_at, last_used_at, revoked_at`

func (q *queries) scanAPIKey(r Row) (store.APIKey, error) {
	var k store.APIKey
	err := r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Role, &k.Lookup, &k.Hash, tm(&k.CreatedAt), ntm(&k.LastUsedAt), ntm(&k.RevokedAt))
	return k, err
}

func (q *queries) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	k.ID = q.newID(k.ID)
	k.CreatedAt = q.stamp(k.CreatedAt)
	k.LastUsedAt = microPtr(k.LastUsedAt)
	k.RevokedAt = microPtr(k.RevokedAt)
	_, err := q.exec(ctx, q.w, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.TenantID, k.Name, k.Role, k.Lookup, k.Hash, q.f.Time(k.CreatedAt), q.f.NullTime(k.LastUsedAt), q.f.NullTime(k.RevokedAt))
	if err != nil {
		return store.APIKey{}, q.writeErr("create api key", err)
	}
	return k, nil
}

func (q *queries) GetAPIKeyByLookup(ctx context.Context, lookup string) (store.APIKey, error) {
	k, err := q.scanAPIKey(q.queryRow(ctx, q.r, `SELECT `+apiKeyCols+` FROM api_keys WHERE lookup = $1`, lookup))
	if err != nil {
		return store.APIKey{}, readErr("get api key", err)
	}
	return k, nil
}

func (q *queries) ListAPIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error) {
	rows, err := q.query(ctx, q.r, `SELECT `+apiKeyCols+` FROM api_keys WHERE tenant_id = $1 ORDER BY id DESC`, tenantID)
	return collect(rows, err, "list api keys", func(r Rows) (store.APIKey, error) { return q.scanAPIKey(r) })
}

func (q *queries) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	n, err := q.exec(ctx, q.w, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2`,
		tenantID, id, q.f.Time(q.stamp(at)))
	return mustAffect("revoke api key", n, err)
}

func (q *queries) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := q.exec(ctx, q.w, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, q.f.Time(q.stamp(at)))
	return mustAffect("touch api key", n, err)
}

// Sources.

const sourceCols = `id, tenant_id, name, public_key, webhook_token, allowed_origins, attribution_window_ns,
	attribution_model, cookie_domain, created_at, updated_at`

func (q *queries) scanSource(r Row) (store.Source, error) {
	var s sourceScan
	if err := r.Scan(s.dest()...); err != nil {
		return s.s, err
	}
	return s.finish()
}

// sourceScan is a source row being scanned: dest lists where sourceCols go, finish decodes them.
type sourceScan struct {
	s       store.Source
	origins []byte
	window  int64
}

func (s *sourceScan) dest() []any {
	return []any{&s.s.ID, &s.s.TenantID, &s.s.Name, &s.s.PublicKey, &s.s.WebhookToken, &s.origins, &s.window,
		&s.s.AttributionModel, &s.s.CookieDomain, tm(&s.s.CreatedAt), tm(&s.s.UpdatedAt)}
}

func (s *sourceScan) finish() (store.Source, error) {
	s.s.AttributionWindow = time.Duration(s.window)
	return s.s, unmarshal(s.origins, &s.s.AllowedOrigins)
}

func (q *queries) CreateSource(ctx context.Context, s store.Source) (store.Source, error) {
	s.ID = q.newID(s.ID)
	s.CreatedAt = q.stamp(s.CreatedAt)
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = s.CreatedAt
	}
	s.UpdatedAt = Micro(s.UpdatedAt)
	origins, err := jsonArg(s.AllowedOrigins)
	if err != nil {
		return store.Source{}, wrap("create source", err)
	}
	_, err = q.exec(ctx, q.w, `INSERT INTO sources (`+sourceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.ID, s.TenantID, s.Name, s.PublicKey, s.WebhookToken, origins, int64(s.AttributionWindow),
		s.AttributionModel, s.CookieDomain, q.f.Time(s.CreatedAt), q.f.Time(s.UpdatedAt))
	if err != nil {
		return store.Source{}, q.writeErr("create source", err)
	}
	return s, nil
}

func (q *queries) UpdateSource(ctx context.Context, s store.Source) error {
	origins, err := jsonArg(s.AllowedOrigins)
	if err != nil {
		return wrap("update source", err)
	}
	n, err := q.exec(ctx, q.w, `UPDATE sources SET name = $3, public_key = $4, webhook_token = $5, allowed_origins = $6,
		attribution_window_ns = $7, attribution_model = $8, cookie_domain = $9, updated_at = $10
		WHERE tenant_id = $1 AND id = $2`,
		s.TenantID, s.ID, s.Name, s.PublicKey, s.WebhookToken, origins, int64(s.AttributionWindow),
		s.AttributionModel, s.CookieDomain, q.f.Time(q.stamp(s.UpdatedAt)))
	if err != nil {
		return q.writeErr("update source", err)
	}
	return mustAffect("update source", n, nil)
}

func (q *queries) getSource(ctx context.Context, op, cond string, args ...any) (store.Source, error) {
	s, err := q.scanSource(q.queryRow(ctx, q.r, `SELECT `+sourceCols+` FROM sources WHERE `+cond, args...))
	if err != nil {
		return store.Source{}, readErr(op, err)
	}
	return s, nil
}

func (q *queries) GetSource(ctx context.Context, tenantID, id string) (store.Source, error) {
	return q.getSource(ctx, "get source", `tenant_id = $1 AND id = $2`, tenantID, id)
}

func (q *queries) GetSourceByPublicKey(ctx context.Context, key string) (store.Source, error) {
	return q.getSource(ctx, "get source by public key", `public_key = $1`, key)
}

func (q *queries) ListSources(ctx context.Context, tenantID string) ([]store.Source, error) {
	rows, err := q.query(ctx, q.r, `SELECT `+sourceCols+` FROM sources WHERE tenant_id = $1 ORDER BY id DESC`, tenantID)
	return collect(rows, err, "list sources", func(r Rows) (store.Source, error) { return q.scanSource(r) })
}

// Gateway secrets.

const secretCols = `source_id, tenant_id, provider, ciphertext, updated_at, previous_ciphertext, previous_until`

func (q *queries) scanSecret(r Row) (store.GatewaySecret, error) {
	var s store.GatewaySecret
	var until *time.Time
	err := r.Scan(&s.SourceID, &s.TenantID, &s.Provider, &s.Ciphertext, tm(&s.UpdatedAt), &s.Previous, ntm(&until))
	if until != nil {
		s.PreviousUntil = *until
	}
	return s, err
}

// previousArgs are a secret's previous_ciphertext and previous_until: "" and NULL without one.
func (q *queries) previousArgs(s store.GatewaySecret) (string, any) {
	if s.Previous == "" || s.PreviousUntil.IsZero() {
		return "", nil
	}
	return s.Previous, q.f.Time(s.PreviousUntil)
}

func (q *queries) PutGatewaySecret(ctx context.Context, s store.GatewaySecret) error {
	// The source must belong to the tenant: the INSERT selects nothing otherwise.
	var n int64
	err := q.queryRow(ctx, q.w, `SELECT count(*) FROM sources WHERE tenant_id = $1 AND id = $2`, s.TenantID, s.SourceID).Scan(&n)
	if err != nil {
		return wrap("put gateway secret", err)
	}
	if n == 0 {
		return mustAffect("put gateway secret: source", 0, nil)
	}
	prev, until := q.previousArgs(s)
	_, err = q.exec(ctx, q.w, `INSERT INTO gateway_secrets (`+secretCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (source_id, provider) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at,
			previous_ciphertext = excluded.previous_ciphertext, previous_until = excluded.previous_until`,
		s.SourceID, s.TenantID, s.Provider, s.Ciphertext, q.f.Time(q.stamp(s.UpdatedAt)), prev, until)
	if err != nil {
		return q.writeErr("put gateway secret", err)
	}
	return nil
}

func (q *queries) SwapGatewaySecret(ctx context.Context, tenantID, sourceID, provider, old, next string) (bool, error) {
	n, err := q.exec(ctx, q.w, `UPDATE gateway_secrets SET ciphertext = $5
		WHERE tenant_id = $1 AND source_id = $2 AND provider = $3 AND ciphertext = $4`, tenantID, sourceID, provider, old, next)
	if err != nil {
		return false, wrap("swap gateway secret", err)
	}
	return n > 0, nil
}

func (q *queries) SwapDestinationCredentials(ctx context.Context, tenantID, id, old, next string) (bool, error) {
	n, err := q.exec(ctx, q.w, `UPDATE destinations SET credentials = $4 WHERE tenant_id = $1 AND id = $2 AND credentials = $3`,
		tenantID, id, old, next)
	if err != nil {
		return false, wrap("swap destination credentials", err)
	}
	return n > 0, nil
}

func (q *queries) GetGatewaySecret(ctx context.Context, tenantID, sourceID, provider string) (store.GatewaySecret, error) {
	s, err := q.scanSecret(q.queryRow(ctx, q.r, `SELECT `+secretCols+` FROM gateway_secrets
		WHERE tenant_id = $1 AND source_id = $2 AND provider = $3`, tenantID, sourceID, provider))
	if err != nil {
		return store.GatewaySecret{}, readErr("get gateway secret", err)
	}
	return s, nil
}

func (q *queries) ListGatewaySecrets(ctx context.Context, tenantID, sourceID string) ([]store.GatewaySecret, error) {
	rows, err := q.query(ctx, q.r, `SELECT `+secretCols+` FROM gateway_secrets WHERE tenant_id = $1 AND source_id = $2
		ORDER BY provider`, tenantID, sourceID)
	return collect(rows, err, "list gateway secrets", func(r Rows) (store.GatewaySecret, error) { return q.scanSecret(r) })
}

// Webhook tokens.

const webhookTokenCols = `token, tenant_id, source_id, provider, created_at`

func (q *queries) scanWebhookToken(r Row) (store.WebhookToken, error) {
	var t store.WebhookToken
	err := r.Scan(&t.Token, &t.TenantID, &t.SourceID, &t.Provider, tm(&t.CreatedAt))
	return t, err
}

func (q *queries) GetWebhookToken(ctx context.Context, provider, token string) (store.WebhookToken, error) {
	t, err := q.scanWebhookToken(q.queryRow(ctx, q.r, `SELECT `+webhookTokenCols+` FROM webhook_tokens
		WHERE token = $1 AND provider = $2`, token, provider))
	if err != nil {
		return store.WebhookToken{}, readErr("get webhook token", err)
	}
	return t, nil
}

// webhookSourceQuery reads what a webhook URL selects in one statement instead of three (the
// token, then its source, then the gateway's secret: issue 15 counted each round trip in Hub's
// CPU per order). The source is joined by the token's tenant and source, so a token only ever
// yields its own tenant's source and secret.
var webhookSourceQuery = `SELECT ` + qualify("t", webhookTokenCols) + `, ` + qualify("s", sourceCols) + `,
	g.ciphertext, g.updated_at, g.previous_ciphertext, g.previous_until
	FROM webhook_tokens t
	JOIN sources s ON s.tenant_id = t.tenant_id AND s.id = t.source_id
	LEFT JOIN gateway_secrets g ON g.tenant_id = t.tenant_id AND g.source_id = t.source_id AND g.provider = t.provider
	WHERE t.token = $1 AND t.provider = $2`

func (q *queries) GetWebhookSource(ctx context.Context, provider, token string) (store.WebhookSource, error) {
	var (
		t          store.WebhookToken
		src        sourceScan
		ciphertext sql.NullString
		secretAt   *time.Time
		previous   sql.NullString
		prevUntil  *time.Time
	)
	dest := append([]any{&t.Token, &t.TenantID, &t.SourceID, &t.Provider, tm(&t.CreatedAt)}, src.dest()...)
	dest = append(dest, &ciphertext, ntm(&secretAt), &previous, ntm(&prevUntil))
	db := q.r
	if q.tx == nil && q.cfg.ReceiptRead != nil {
		db = q.cfg.ReceiptRead
	}
	if err := q.queryRow(ctx, db, webhookSourceQuery, token, provider).Scan(dest...); err != nil {
		return store.WebhookSource{}, readErr("get webhook source", err)
	}
	s, err := src.finish()
	if err != nil {
		return store.WebhookSource{}, wrap("get webhook source", err)
	}
	ws := store.WebhookSource{Token: t, Source: s}
	if ciphertext.Valid {
		ws.Secret = &store.GatewaySecret{SourceID: t.SourceID, TenantID: t.TenantID, Provider: t.Provider, Ciphertext: ciphertext.String}
		if secretAt != nil {
			ws.Secret.UpdatedAt = *secretAt
		}
		if previous.String != "" && prevUntil != nil {
			ws.Secret.Previous, ws.Secret.PreviousUntil = previous.String, *prevUntil
		}
	}
	return ws, nil
}

func (q *queries) ListWebhookTokens(ctx context.Context, tenantID, sourceID string) ([]store.WebhookToken, error) {
	rows, err := q.query(ctx, q.r, `SELECT `+webhookTokenCols+` FROM webhook_tokens WHERE tenant_id = $1 AND source_id = $2
		ORDER BY provider`, tenantID, sourceID)
	return collect(rows, err, "list webhook tokens", func(r Rows) (store.WebhookToken, error) { return q.scanWebhookToken(r) })
}

func (q *queries) PutWebhookToken(ctx context.Context, t store.WebhookToken) error {
	var n int64
	err := q.queryRow(ctx, q.w, `SELECT count(*) FROM sources WHERE tenant_id = $1 AND id = $2`, t.TenantID, t.SourceID).Scan(&n)
	if err != nil {
		return wrap("put webhook token", err)
	}
	if n == 0 {
		return mustAffect("put webhook token: source", 0, nil)
	}
	_, err = q.exec(ctx, q.w, `INSERT INTO webhook_tokens (`+webhookTokenCols+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (source_id, provider) DO UPDATE SET token = excluded.token, created_at = excluded.created_at`,
		t.Token, t.TenantID, t.SourceID, t.Provider, q.f.Time(q.stamp(t.CreatedAt)))
	if err != nil {
		return q.writeErr("put webhook token", err)
	}
	return nil
}

// Destinations.

const destinationCols = `id, tenant_id, type, name, config, credentials, enabled, health_state, health_reason,
	health_checked_at, created_at, updated_at, test_accepted_at`

func (q *queries) scanDestination(r Row) (store.Destination, error) {
	var s destinationScan
	err := r.Scan(s.dest()...)
	return s.finish(), err
}

// destinationScan is a destination row being scanned: dest lists where destinationCols go.
type destinationScan struct {
	d   store.Destination
	cfg []byte
}

func (s *destinationScan) dest() []any {
	d := &s.d
	return []any{&d.ID, &d.TenantID, &d.Type, &d.Name, &s.cfg, &d.Credentials, &d.Enabled, &d.Health.State,
		&d.Health.Reason, tm(&d.Health.CheckedAt), tm(&d.CreatedAt), tm(&d.UpdatedAt), ntm(&d.TestAcceptedAt)}
}

func (s *destinationScan) finish() store.Destination {
	d := s.d
	d.Config = rawJSON(s.cfg)
	return d
}

func (q *queries) CreateDestination(ctx context.Context, d store.Destination) (store.Destination, error) {
	d.ID = q.newID(d.ID)
	d.CreatedAt = q.stamp(d.CreatedAt)
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = d.CreatedAt
	}
	d.UpdatedAt = Micro(d.UpdatedAt)
	if d.Health.State == "" {
		d.Health.State = "unknown"
	}
	d.Health.CheckedAt = Micro(d.Health.CheckedAt)
	d.TestAcceptedAt = microPtr(d.TestAcceptedAt)
	_, err := q.exec(ctx, q.w, `INSERT INTO destinations (`+destinationCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		d.ID, d.TenantID, d.Type, d.Name, rawArg(d.Config), d.Credentials, d.Enabled, d.Health.State,
		d.Health.Reason, q.f.Time(d.Health.CheckedAt), q.f.Time(d.CreatedAt), q.f.Time(d.UpdatedAt), q.f.NullTime(d.TestAcceptedAt))
	if err != nil {
		return store.Destination{}, q.writeErr("create destination", err)
	}
	return d, nil
}

func (q *queries) UpdateDestination(ctx context.Context, d store.Destination) error {
	n, err := q.exec(ctx, q.w, `UPDATE destinations SET type = $3, name = $4, config = $5, credentials = $6,
		enabled = $7, updated_at = $8 WHERE tenant_id = $1 AND id = $2`,
		d.TenantID, d.ID, d.Type, d.Name, rawArg(d.Config), d.Credentials, d.Enabled, q.f.Time(q.stamp(d.UpdatedAt)))
	return mustAffect("update destination", n, err)
}

func (q *queries) SetDestinationHealth(ctx context.Context, tenantID, id string, h store.DestinationHealth) error {
	n, err := q.exec(ctx, q.w, `UPDATE destinations SET health_state = $3, health_reason = $4, health_checked_at = $5
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, h.State, h.Reason, q.f.Time(q.stamp(h.CheckedAt)))
	return mustAffect("set destination health", n, err)
}

func (q *queries) SetDestinationTestAccepted(ctx context.Context, tenantID, id string, at time.Time) error {
	n, err := q.exec(ctx, q.w, `UPDATE destinations SET test_accepted_at = $3 WHERE tenant_id = $1 AND id = $2`,
		tenantID, id, q.f.Time(q.stamp(at)))
	return mustAffect("set destination test accepted", n, err)
}

func (q *queries) GetDestination(ctx context.Context, tenantID, id string) (store.Destination, error) {
	d, err := q.scanDestination(q.queryRow(ctx, q.r, `SELECT `+destinationCols+` FROM destinations
		WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return store.Destination{}, readErr("get destination", err)
	}
	return d, nil
}

const listDestinations = `SELECT ` + destinationCols + ` FROM destinations WHERE tenant_id = $1 ORDER BY id DESC`

func (q *queries) ListDestinations(ctx context.Context, tenantID string) ([]store.Destination, error) {
	rows, err := q.query(ctx, q.r, listDestinations, tenantID)
	return q.collectDestinations(rows, err)
}

func (q *queries) collectDestinations(rows Rows, err error) ([]store.Destination, error) {
	return collect(rows, err, "list destinations", func(r Rows) (store.Destination, error) { return q.scanDestination(r) })
}

// ListDestinationsLater is ListDestinations in a transaction, sent with its next statement
// that needs an answer when the transaction queues (LaterQuerier), else run at once. The read
// is the transaction's like any other: sent earlier in it, not outside it.
func (t *txStore) ListDestinationsLater(ctx context.Context, tenantID string) func() ([]store.Destination, error) {
	q := t.queries
	l, ok := q.tx.(LaterQuerier)
	if !ok {
		ds, err := q.ListDestinations(ctx, tenantID)
		return func() ([]store.Destination, error) { return ds, err }
	}
	var (
		ds   []store.Destination
		err  error
		done bool
	)
	l.QueryLater(ctx, func(rows Rows, rerr error) error {
		done = true
		ds, err = q.collectDestinations(rows, rerr)
		return err
	}, q.f.Rebind(listDestinations), tenantID)
	return func() ([]store.Destination, error) {
		if !done {
			if ferr := l.Flush(ctx); ferr != nil {
				return nil, ferr
			}
		}
		if !done { // the transaction failed before the read was sent
			return nil, wrap("list destinations", errors.New("the transaction ended before the read was sent"))
		}
		return ds, err
	}
}

// Links.

const linkCols = `code, tenant_id, source_id, target, created_at`

func (q *queries) scanLink(r Row) (store.Link, error) {
	var l store.Link
	err := r.Scan(&l.Code, &l.TenantID, &l.SourceID, &l.Target, tm(&l.CreatedAt))
	return l, err
}

func (q *queries) CreateLink(ctx context.Context, l store.Link) (store.Link, error) {
	if l.Code == "" {
		return store.Link{}, wrap("create link", errEmptyCode)
	}
	l.CreatedAt = q.stamp(l.CreatedAt)
	_, err := q.exec(ctx, q.w, `INSERT INTO links (`+linkCols+`) VALUES ($1, $2, $3, $4, $5)`,
		l.Code, l.TenantID, l.SourceID, l.Target, q.f.Time(l.CreatedAt))
	if err != nil {
		return store.Link{}, q.writeErr("create link", err)
	}
	return l, nil
}

func (q *queries) GetLinkByCode(ctx context.Context, code string) (store.Link, error) {
	l, err := q.scanLink(q.queryRow(ctx, q.r, `SELECT `+linkCols+` FROM links WHERE code = $1`, code))
	if err != nil {
		return store.Link{}, readErr("get link", err)
	}
	return l, nil
}

func (q *queries) ListLinks(ctx context.Context, tenantID, sourceID string) ([]store.Link, error) {
	var w where
	w.add(`tenant_id = %s`, tenantID)
	if sourceID != "" {
		w.add(`source_id = %s`, sourceID)
	}
	rows, err := q.query(ctx, q.r, `SELECT `+linkCols+` FROM links`+w.String()+` ORDER BY created_at DESC, code DESC`, w.args...)
	return collect(rows, err, "list links", func(r Rows) (store.Link, error) { return q.scanLink(r) })
}

// Audit log.

const auditCols = `id, tenant_id, actor, action, detail, at`

func (q *queries) scanAudit(r Row) (store.AuditEntry, error) {
	var a store.AuditEntry
	err := r.Scan(&a.ID, &a.TenantID, &a.Actor, &a.Action, &a.Detail, tm(&a.At))
	return a, err
}

func (q *queries) InsertAudit(ctx context.Context, a store.AuditEntry) (store.AuditEntry, error) {
	a.ID = q.newID(a.ID)
	a.At = q.stamp(a.At)
	_, err := q.exec(ctx, q.w, `INSERT INTO audit_log (`+auditCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		a.ID, a.TenantID, a.Actor, a.Action, a.Detail, q.f.Time(a.At))
	if err != nil {
		return store.AuditEntry{}, q.writeErr("insert audit", err)
	}
	return a, nil
}

func (q *queries) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	if f.After != "" {
		w.add(`id < %s`, f.After)
	}
	rows, err := q.query(ctx, q.r, `SELECT `+auditCols+` FROM audit_log`+w.String()+` ORDER BY id DESC LIMIT `+w.next(limitOf(f.Limit)), w.args...)
	return collect(rows, err, "list audit", func(r Rows) (store.AuditEntry, error) { return q.scanAudit(r) })
}

func microPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	m := Micro(*t)
	return &m
}

// Heartbeat implements store.Store.
func (q *queries) Heartbeat(ctx context.Context, replica string, at time.Time) error {
	at = q.stamp(at)
	return q.runTx(ctx, func(q *queries) error {
		if _, err := q.exec(ctx, q.w, `INSERT INTO replica_heartbeats (replica, beat_at) VALUES ($1, $2)
			ON CONFLICT (replica) DO UPDATE SET beat_at = excluded.beat_at`, replica, q.f.Time(at)); err != nil {
			return wrap("heartbeat", err)
		}
		if _, err := q.exec(ctx, q.w, `DELETE FROM replica_heartbeats WHERE beat_at < $1`, q.f.Time(at.Add(-24*time.Hour))); err != nil {
			return wrap("heartbeat", err)
		}
		return nil
	})
}

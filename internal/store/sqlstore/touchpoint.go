package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// TouchpointColumns are the touchpoints columns in the order of TouchpointValues.
var TouchpointColumns = []string{
	"id", "tenant_id", "source_id", "type", "name", "client_event_id", "occurred_at", "received_at",
	"url", "referrer", "visitor_id", "fbclid", "gclid", "ttclid", "fbc", "fbp", "ga_client_id", "ttp",
	"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "ip", "user_agent",
	"consent", "email_hash", "phone_hash", "bot", "props", "ga_sessions",
	"ad_user_data", "ad_personalization", "analytics_consent",
	"google_email_hash", "google_phone_hash", "tiktok_phone_hash",
	"gbraid", "wbraid",
}

// NullableTouchpointColumns are the columns stored as NULL when empty: most touchpoints have
// none of them, and a NULL costs a row nothing but its bit.
var NullableTouchpointColumns = map[string]bool{
	"ad_user_data": true, "ad_personalization": true, "analytics_consent": true,
	"google_email_hash": true, "google_phone_hash": true, "tiktok_phone_hash": true,
	"gbraid": true, "wbraid": true,
}

var touchpointCols = strings.Join(TouchpointColumns, ", ")

// touchpointSelect reads TouchpointColumns back, a NULL as "".
var touchpointSelect = func() string {
	sel := make([]string, len(TouchpointColumns))
	for i, c := range TouchpointColumns {
		sel[i] = c
		if NullableTouchpointColumns[c] {
			sel[i] = "COALESCE(" + c + ", '')"
		}
	}
	return strings.Join(sel, ", ")
}()

// InsertTouchpointSQL inserts one touchpoint, skipping it if its id or (source, client event
// id) exists.
var InsertTouchpointSQL = func() string {
	ph := make([]string, len(TouchpointColumns))
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	return `INSERT INTO touchpoints (` + touchpointCols + `) VALUES (` + strings.Join(ph, ", ") + `) ON CONFLICT DO NOTHING`
}()

// TouchpointValues returns tp's column values for the flavor.
func TouchpointValues(f *Flavor, tp *store.Touchpoint) []any {
	return []any{
		tp.ID, tp.TenantID, tp.SourceID, tp.Type, tp.Name, tp.ClientEventID, f.Time(tp.OccurredAt), f.Time(tp.ReceivedAt),
		tp.URL, tp.Referrer, tp.VisitorID, tp.FBCLID, tp.GCLID, tp.TTCLID, tp.FBC, tp.FBP, tp.GAClientID, tp.TTP,
		tp.UTM.Source, tp.UTM.Medium, tp.UTM.Campaign, tp.UTM.Content, tp.UTM.Term, tp.IP, tp.UserAgent,
		tp.Consent, tp.EmailHash, tp.PhoneHash, tp.Bot, rawArg(tp.Props), tp.GASessions,
		nullable(tp.Signals.AdUserData), nullable(tp.Signals.AdPersonalization), nullable(tp.Signals.Analytics),
		nullable(tp.GoogleEmailHash), nullable(tp.GooglePhoneHash), nullable(tp.TikTokPhoneHash),
		nullable(tp.GBRAID), nullable(tp.WBRAID),
	}
}

func scanTouchpoint(r Row) (store.Touchpoint, error) {
	var s touchpointScan
	err := r.Scan(s.dest()...)
	return s.finish(), err
}

// touchpointScan is a touchpoint row being scanned: dest lists where touchpointCols go.
type touchpointScan struct {
	tp    store.Touchpoint
	props []byte
}

func (s *touchpointScan) dest() []any {
	tp := &s.tp
	return []any{&tp.ID, &tp.TenantID, &tp.SourceID, &tp.Type, &tp.Name, &tp.ClientEventID, tm(&tp.OccurredAt), tm(&tp.ReceivedAt),
		&tp.URL, &tp.Referrer, &tp.VisitorID, &tp.FBCLID, &tp.GCLID, &tp.TTCLID, &tp.FBC, &tp.FBP, &tp.GAClientID, &tp.TTP,
		&tp.UTM.Source, &tp.UTM.Medium, &tp.UTM.Campaign, &tp.UTM.Content, &tp.UTM.Term, &tp.IP, &tp.UserAgent,
		&tp.Consent, &tp.EmailHash, &tp.PhoneHash, &tp.Bot, &s.props, &tp.GASessions,
		&tp.Signals.AdUserData, &tp.Signals.AdPersonalization, &tp.Signals.Analytics,
		&tp.GoogleEmailHash, &tp.GooglePhoneHash, &tp.TikTokPhoneHash, &tp.GBRAID, &tp.WBRAID}
}

func (s *touchpointScan) finish() store.Touchpoint {
	tp := s.tp
	tp.Props = rawJSON(s.props)
	return tp
}

func (q *queries) InsertTouchpoints(ctx context.Context, tps []store.Touchpoint) (int, error) {
	if len(tps) == 0 {
		return 0, nil
	}
	q.stampTouchpoints(tps)
	var n int
	err := q.runTx(ctx, func(q *queries) error {
		var err error
		n, err = q.tx.InsertTouchpoints(ctx, tps)
		return err
	})
	if err != nil {
		return 0, wrap("insert touchpoints", err)
	}
	return n, nil
}

// stampTouchpoints fills in missing ids and times and rounds times to the stored precision.
func (q *queries) stampTouchpoints(tps []store.Touchpoint) {
	now := q.now()
	for i := range tps {
		tp := &tps[i]
		tp.ID = q.newID(tp.ID)
		if tp.ReceivedAt.IsZero() {
			tp.ReceivedAt = now
		}
		if tp.OccurredAt.IsZero() {
			tp.OccurredAt = tp.ReceivedAt
		}
		tp.ReceivedAt = Micro(tp.ReceivedAt)
		tp.OccurredAt = Micro(tp.OccurredAt)
	}
}

func (q *queries) WriteTouchpoints(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error) {
	return q.writeTouchpoints(ctx, "write touchpoints", tps, ids)
}

func (q *queries) writeTouchpoints(ctx context.Context, op string, tps []store.Touchpoint, ids []store.Identity) (int, error) {
	if len(tps) == 0 && len(ids) == 0 {
		return 0, nil
	}
	q.stampTouchpoints(tps)
	ids = MergeIdentities(ids, q.now())
	if q.tx == nil && q.cfg.WriteTouchpoints != nil {
		n, err := q.cfg.WriteTouchpoints(ctx, tps, ids)
		if err != nil {
			return 0, wrap(op, err)
		}
		return n, nil
	}
	var n int
	err := q.runTx(ctx, func(q *queries) error {
		var err error
		if w, ok := q.tx.(TouchpointWriter); ok {
			n, err = w.WriteTouchpoints(ctx, tps, ids)
			return err
		}
		if len(tps) > 0 {
			if n, err = q.tx.InsertTouchpoints(ctx, tps); err != nil {
				return err
			}
		}
		return q.linkIdentities(ctx, ids)
	})
	if err != nil {
		return 0, wrap(op, err)
	}
	return n, nil
}

// MergeIdentities returns ids with a missing first seen set to now and a missing last seen to
// the first, and the entries of one tenant, kind, hash and visitor merged into one (earliest
// first seen, latest last seen), in the order of their first appearance, at the stored
// precision. An upsert of several rows in one statement needs each key once.
func MergeIdentities(ids []store.Identity, now time.Time) []store.Identity {
	if len(ids) == 0 {
		return nil
	}
	type key struct{ tenant, kind, hash, visitor string }
	out := make([]store.Identity, 0, len(ids))
	seen := make(map[key]int, len(ids))
	for _, id := range ids {
		if id.FirstSeen.IsZero() {
			id.FirstSeen = now
		}
		if id.LastSeen.IsZero() {
			id.LastSeen = id.FirstSeen
		}
		id.FirstSeen, id.LastSeen = Micro(id.FirstSeen), Micro(id.LastSeen)
		k := key{id.TenantID, string(id.Kind), id.Hash, id.VisitorID}
		if i, ok := seen[k]; ok {
			if id.FirstSeen.Before(out[i].FirstSeen) {
				out[i].FirstSeen = id.FirstSeen
			}
			if id.LastSeen.After(out[i].LastSeen) {
				out[i].LastSeen = id.LastSeen
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, id)
	}
	return out
}

func (q *queries) ListTouchpoints(ctx context.Context, f store.TouchpointFilter) ([]store.Touchpoint, error) {
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	if f.SourceID != "" {
		w.add(`source_id = %s`, f.SourceID)
	}
	if f.VisitorID != "" {
		w.add(`visitor_id = %s`, f.VisitorID)
	}
	if f.Type != "" {
		w.add(`type = %s`, f.Type)
	}
	q.window(&w, f.Since, f.Until)
	if f.After != "" {
		w.add(`id < %s`, f.After)
	}
	rows, err := q.query(ctx, q.r, `SELECT `+touchpointSelect+` FROM touchpoints`+w.String()+
		` ORDER BY id DESC LIMIT `+w.next(limitOf(f.Limit)), w.args...)
	return collect(rows, err, "list touchpoints", scanTouchpointRows)
}

func (q *queries) GetTouchpoint(ctx context.Context, tenantID, id string) (store.Touchpoint, error) {
	if q.f.Name == "postgres" {
		// Touchpoints are partitioned by day of occurred_at, which the id does not carry: a
		// lookup by id alone probes every day's index. A UUIDv7 id carries the moment it was
		// made (ingest makes it on receipt), and an accepted event occurred at most a few days
		// before it was received, so the days around it are tried first; a miss falls back to
		// every day, so an id made otherwise is still found.
		if made, ok := uuidV7Time(id); ok {
			tp, err := scanTouchpoint(q.queryRow(ctx, q.r, `SELECT `+touchpointSelect+` FROM touchpoints
				WHERE tenant_id = $1 AND id = $2 AND occurred_at >= $3 AND occurred_at < $4`,
				tenantID, id, made.Add(-touchpointIDLookback), made.Add(24*time.Hour)))
			if err == nil {
				return tp, nil
			}
			if err = readErr("get touchpoint", err); !errors.Is(err, store.ErrNotFound) {
				return store.Touchpoint{}, err
			}
		}
	}
	tp, err := scanTouchpoint(q.queryRow(ctx, q.r, `SELECT `+touchpointSelect+` FROM touchpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return store.Touchpoint{}, readErr("get touchpoint", err)
	}
	return tp, nil
}

// touchpointIDLookback is how long before its id was made GetTouchpoint first looks for a
// touchpoint's occurred_at: ingest's default maximum event age (72 h) with room to spare.
const touchpointIDLookback = 8 * 24 * time.Hour

// uuidV7Time returns the moment a UUIDv7 was made (its first 48 bits, Unix milliseconds).
func uuidV7Time(id string) (time.Time, bool) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[14] != '7' {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(id[:8]+id[9:13], 16, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

func scanTouchpointRows(r Rows) (store.Touchpoint, error) { return scanTouchpoint(r) }

func (q *queries) window(w *where, since, until time.Time) {
	if !since.IsZero() {
		w.add(`occurred_at >= %s`, q.f.Time(since))
	}
	if !until.IsZero() {
		w.add(`occurred_at <= %s`, q.f.Time(until))
	}
}

// recent is the read of the touchpoints matching w in the window, newest first, into out.
func (q *queries) recent(op string, w *where, since, until time.Time, limit int, out *[]store.Touchpoint) read {
	q.window(w, since, until)
	return read{op: op, sql: q.f.Rebind(`SELECT ` + touchpointSelect + ` FROM touchpoints` + w.String() +
		` ORDER BY occurred_at DESC, id DESC LIMIT ` + w.next(limitOf(limit))), args: w.args,
		rows: func(r Rows) (err error) {
			*out, err = collect(r, nil, op, scanTouchpointRows)
			return err
		}}
}

func (q *queries) TouchpointsByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	var tps []store.Touchpoint
	err := q.run(ctx, q.byVisitor(tenantID, visitorID, since, until, limit, &tps))
	return tps, err
}

func (q *queries) byVisitor(tenantID, visitorID string, since, until time.Time, limit int, out *[]store.Touchpoint) read {
	var w where
	w.add(`tenant_id = %s`, tenantID)
	w.add(`visitor_id = %s`, visitorID)
	return q.recent("touchpoints by visitor", &w, since, until, limit, out)
}

// AdClicksByVisitor is a visitor's ad clicks in the window: the touchpoints whose URL carried a
// click id or UTMs (attribution's isAdClick), newest first or oldest first. It ranges over the
// same (tenant_id, visitor_id, occurred_at) index as byVisitor and filters the rows it reads,
// so it costs what reading the visitor's touchpoints in the window costs, and returns few.
func (q *queries) AdClicksByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, oldestFirst bool, limit int) ([]store.Touchpoint, error) {
	var w where
	w.add(`tenant_id = %s`, tenantID)
	w.add(`visitor_id = %s`, visitorID)
	w.conds = append(w.conds, `(fbclid <> '' OR gclid <> '' OR gbraid <> '' OR wbraid <> '' OR ttclid <> '' OR utm_source <> '' OR utm_campaign <> '')`)
	q.window(&w, since, until)
	order := `occurred_at DESC, id DESC`
	if oldestFirst {
		order = `occurred_at, id`
	}
	rows, err := q.query(ctx, q.r, `SELECT `+touchpointSelect+` FROM touchpoints`+w.String()+
		` ORDER BY `+order+` LIMIT `+w.next(limitOf(limit)), w.args...)
	return collect(rows, err, "ad clicks by visitor", scanTouchpointRows)
}

// clickColumns maps a click kind to its column; the partial index on each needs the
// "<> ”" predicate repeated in the query.
var clickColumns = map[store.ClickKind]string{
	store.ClickFBCLID: "fbclid",
	store.ClickGCLID:  "gclid",
	store.ClickTTCLID: "ttclid",
}

func (q *queries) TouchpointsByClickID(ctx context.Context, tenantID string, kind store.ClickKind, value string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	var tps []store.Touchpoint
	rd, err := q.byClickID(tenantID, kind, value, since, until, limit, &tps)
	if err != nil {
		return nil, err
	}
	err = q.run(ctx, rd)
	return tps, err
}

// byClickID is the read of TouchpointsByClickID; none (no sql) for an empty value.
func (q *queries) byClickID(tenantID string, kind store.ClickKind, value string, since, until time.Time, limit int, out *[]store.Touchpoint) (read, error) {
	col, ok := clickColumns[kind]
	if !ok {
		return read{}, fmt.Errorf("sqlstore: touchpoints by click id: unknown kind %q", kind)
	}
	if value == "" {
		return read{}, nil
	}
	var w where
	w.add(`tenant_id = %s`, tenantID)
	w.add(col+` = %s`, value)
	w.conds = append(w.conds, col+` <> ''`)
	return q.recent("touchpoints by click id", &w, since, until, limit, out), nil
}

func (q *queries) TouchpointsByNetwork(ctx context.Context, tenantID, ip, userAgent string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	var tps []store.Touchpoint
	err := q.run(ctx, q.byNetwork(tenantID, ip, userAgent, since, until, limit, &tps))
	return tps, err
}

func (q *queries) byNetwork(tenantID, ip, userAgent string, since, until time.Time, limit int, out *[]store.Touchpoint) read {
	var w where
	w.add(`tenant_id = %s`, tenantID)
	w.add(`ip = %s`, ip)
	w.add(`user_agent = %s`, userAgent)
	if q.f.Name == "postgres" {
		// The network index keeps a hash of the two texts (migration "cheaper touchpoint
		// indexes"); the texts themselves are compared too, so a collision never matches.
		n := len(w.args)
		w.conds = append(w.conds, fmt.Sprintf(`hashtextextended(ip || ' ' || user_agent, 0) = hashtextextended($%d::text || ' ' || $%d::text, 0)`, n-1, n))
	}
	return q.recent("touchpoints by network", &w, since, until, limit, out)
}

// Identities.

func (q *queries) LinkIdentities(ctx context.Context, ids []store.Identity) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := q.writeTouchpoints(ctx, "link identities", nil, ids)
	return err
}

// UpsertIdentitySQL records one identity link, keeping the earliest first seen and the latest
// last seen (the values of IdentityValues).
const UpsertIdentitySQL = `INSERT INTO identities (tenant_id, kind, hash, visitor_id, first_seen, last_seen)
	VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (tenant_id, kind, hash, visitor_id) DO UPDATE SET
		first_seen = CASE WHEN excluded.first_seen < identities.first_seen THEN excluded.first_seen ELSE identities.first_seen END,
		last_seen = CASE WHEN excluded.last_seen > identities.last_seen THEN excluded.last_seen ELSE identities.last_seen END`

// IdentityValues returns the arguments of UpsertIdentitySQL for the flavor.
func IdentityValues(f *Flavor, id *store.Identity) []any {
	return []any{id.TenantID, string(id.Kind), id.Hash, id.VisitorID, f.Time(id.FirstSeen), f.Time(id.LastSeen)}
}

// linkIdentities upserts merged identities (MergeIdentities) one statement each, inside a
// transaction.
func (q *queries) linkIdentities(ctx context.Context, ids []store.Identity) error {
	for _, id := range ids {
		if _, err := q.exec(ctx, q.w, UpsertIdentitySQL, IdentityValues(q.f, &id)...); err != nil {
			return err
		}
	}
	return nil
}

func (q *queries) VisitorsByIdentity(ctx context.Context, tenantID string, kind store.IdentityKind, hash string) ([]store.Identity, error) {
	var ids []store.Identity
	err := q.run(ctx, q.byIdentity(tenantID, kind, hash, &ids))
	return ids, err
}

func (q *queries) byIdentity(tenantID string, kind store.IdentityKind, hash string, out *[]store.Identity) read {
	const op = "visitors by identity"
	return read{op: op, sql: q.f.Rebind(`SELECT tenant_id, kind, hash, visitor_id, first_seen, last_seen FROM identities
		WHERE tenant_id = $1 AND kind = $2 AND hash = $3 ORDER BY last_seen DESC, visitor_id`), args: []any{tenantID, string(kind), hash},
		rows: func(r Rows) (err error) {
			*out, err = collect(r, nil, op, func(r Rows) (store.Identity, error) {
				var (
					id   store.Identity
					kind string
				)
				err := r.Scan(&id.TenantID, &kind, &id.Hash, &id.VisitorID, tm(&id.FirstSeen), tm(&id.LastSeen))
				id.Kind = store.IdentityKind(kind)
				return id, err
			})
			return err
		}}
}

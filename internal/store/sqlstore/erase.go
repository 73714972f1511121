package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// ErasePerson erases a data subject within the tenant (see store.Reader). It runs in one
// transaction: first it finds what belongs to the person, then it deletes and scrubs.
//
// Linked identifiers are followed one step only: the other hashes of the orders and
// touchpoints carrying a given hash, the visitors of the orders carrying those hashes (their
// tracking's visitor ids and their attribution's), and every identity of the visitors so found.
// Following links further would reach people who merely shared a device.
func (q *queries) ErasePerson(ctx context.Context, tenantID string, p store.Person, audit store.AuditEntry) (store.ErasureResult, error) {
	var res store.ErasureResult
	audit.TenantID = tenantID
	err := q.runTx(ctx, func(q *queries) error {
		var err error
		if res, err = q.erase(ctx, tenantID, p); err != nil {
			return err
		}
		_, err = q.InsertAudit(ctx, audit)
		return err
	})
	if err != nil {
		return store.ErasureResult{}, wrap("erase person", err)
	}
	return res, nil
}

func hashCol(k store.IdentityKind) string {
	if k == store.IdentityEmail {
		return "email_hash"
	}
	return "phone_hash"
}

// set keeps distinct strings in the order they were added.
type set[T comparable] struct {
	seen map[T]bool
	list []T
}

func (s *set[T]) add(v T) {
	if s.seen == nil {
		s.seen = map[T]bool{}
	}
	if !s.seen[v] {
		s.seen[v] = true
		s.list = append(s.list, v)
	}
}

func (q *queries) erase(ctx context.Context, tenantID string, p store.Person) (store.ErasureResult, error) {
	var (
		res      store.ErasureResult
		hashes   set[store.IdentityHash]
		visitors set[string]
	)
	addHash := func(k store.IdentityKind, h string) {
		if h != "" {
			hashes.add(store.IdentityHash{Kind: k, Hash: h})
		}
	}
	addHash(store.IdentityEmail, p.EmailHash)
	addHash(store.IdentityPhone, p.PhoneHash)
	for _, h := range p.PhoneHashes {
		addHash(store.IdentityPhone, h)
	}
	given := append([]store.IdentityHash(nil), hashes.list...)

	// 1. What is linked to the given hashes: the same orders' and touchpoints' other hash,
	// the visitors, and those visitors' other identities.
	type pair struct{ a, b, c string }
	for _, g := range given {
		col := hashCol(g.Kind)
		rows, err := q.query(ctx, q.r, `SELECT email_hash, phone_hash, '' FROM orders WHERE tenant_id = $1 AND `+col+` = $2
			UNION SELECT email_hash, phone_hash, visitor_id FROM touchpoints WHERE tenant_id = $1 AND `+col+` = $2
			UNION SELECT '', '', visitor_id FROM identities WHERE tenant_id = $1 AND kind = $3 AND hash = $2`,
			tenantID, g.Hash, string(g.Kind))
		linked, err := collect(rows, err, "erase: linked", func(r Rows) (pair, error) {
			var v pair
			return v, r.Scan(&v.a, &v.b, &v.c)
		})
		if err != nil {
			return res, err
		}
		for _, l := range linked {
			addHash(store.IdentityEmail, l.a)
			addHash(store.IdentityPhone, l.b)
			if l.c != "" {
				visitors.add(l.c)
			}
		}
	}
	// The visitors of the orders carrying those hashes: the checkout's visitor ids the gateway
	// carried back and the credited visit's. A buyer who never typed her e-mail on the site has
	// no identity link, yet her visit holds her IP, user agent and URL, and a delivery still to
	// be sent fills the order's emptied IP and user agent from it.
	//
	// From here on each step is one statement over the lists found (anyOf), however many
	// orders and visits the person has; only the touchpoints' scrub computes values per row,
	// in Go, and writes them back in one statement too (updateEach).
	var credited set[string]
	if len(hashes.list) > 0 {
		var w where
		w.add(`o.tenant_id = %s`, tenantID)
		w.conds = append(w.conds, q.hashesMatch(&w, "o.", hashes.list))
		rows, err := q.query(ctx, q.r, `SELECT o.tracking, COALESCE(a.visitor_id, ''), COALESCE(a.touchpoint_id, '')
			FROM orders o LEFT JOIN attributions a ON a.tenant_id = o.tenant_id AND a.order_id = o.id`+w.String()+` ORDER BY o.id`, w.args...)
		type ordered struct {
			tracking         []byte
			visitor, touchpt string
		}
		found, err := collect(rows, err, "erase: order visitors", func(r Rows) (ordered, error) {
			var o ordered
			return o, r.Scan(&o.tracking, &o.visitor, &o.touchpt)
		})
		if err != nil {
			return res, err
		}
		for _, o := range found {
			var t store.Tracking
			// A tracking document that does not parse names no visitor; its text is still
			// searched for the forms below.
			_ = json.Unmarshal(o.tracking, &t)
			for _, v := range append([]string{t.VisitorID, o.visitor}, t.VisitorIDs...) {
				if v != "" {
					visitors.add(v)
				}
			}
			if o.touchpt != "" {
				credited.add(o.touchpt)
			}
		}
	}
	if len(visitors.list) > 0 {
		var w where
		w.add(`tenant_id = %s`, tenantID)
		w.conds = append(w.conds, q.anyOf(&w, "visitor_id", visitors.list))
		// In the visitors' order, as one statement per visitor found them.
		rows, err := q.query(ctx, q.r, `SELECT kind, hash, visitor_id FROM identities`+w.String()+` ORDER BY kind, hash`, w.args...)
		ids, err := collect(rows, err, "erase: visitor identities", func(r Rows) (pair, error) {
			var v pair
			return v, r.Scan(&v.a, &v.b, &v.c)
		})
		if err != nil {
			return res, err
		}
		pos := make(map[string]int, len(visitors.list))
		for i, v := range visitors.list {
			pos[v] = i
		}
		slices.SortStableFunc(ids, func(x, y pair) int { return pos[x.c] - pos[y.c] })
		for _, id := range ids {
			addHash(store.IdentityKind(id.a), id.b)
		}
	}

	// Her orders are locked before the inbox is read (PostgreSQL; SQLite's transaction holds
	// the one writer): a webhook of one of them being applied right now holds its order, so
	// the erasure waits for it to commit and then finds its raw copy below, instead of reading
	// the inbox first and leaving that copy behind. One applied later waits for the erasure,
	// finds the order erased, and the intake empties its raw copy (store.Writer.ScrubInbox).
	if q.f.ForUpdate != "" && len(hashes.list) > 0 {
		var w where
		w.add(`tenant_id = %s`, tenantID)
		w.conds = append(w.conds, q.hashesMatch(&w, "", hashes.list))
		rows, err := q.query(ctx, q.w, `SELECT id FROM orders`+w.String()+` ORDER BY id`+q.f.ForUpdate, w.args...)
		if _, err := collect(rows, err, "erase: lock orders", func(r Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		}); err != nil {
			return res, err
		}
	}

	// 2. Touchpoints to scrub: credited with an order of the person's, carrying a hash, of a
	// visitor, or holding a form in their text.
	tps := credited
	addIDs := func(query string, args ...any) error {
		rows, err := q.query(ctx, q.r, query, args...)
		ids, err := collect(rows, err, "erase: touchpoints", func(r Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		for _, id := range ids {
			tps.add(id)
		}
		return err
	}
	if len(hashes.list) > 0 {
		var w where
		w.add(`tenant_id = %s`, tenantID)
		w.conds = append(w.conds, q.hashesMatch(&w, "", hashes.list))
		if err := addIDs(`SELECT id FROM touchpoints`+w.String()+` ORDER BY id`, w.args...); err != nil {
			return res, err
		}
	}
	if len(visitors.list) > 0 {
		var w where
		w.add(`tenant_id = %s`, tenantID)
		w.conds = append(w.conds, q.anyOf(&w, "visitor_id", visitors.list))
		if err := addIDs(`SELECT id FROM touchpoints`+w.String()+` ORDER BY id`, w.args...); err != nil {
			return res, err
		}
	}
	if len(p.Forms) > 0 {
		w := q.formsMatch(tenantID, p.Forms, touchpointText)
		if err := addIDs(`SELECT id FROM touchpoints`+w.String(), w.args...); err != nil {
			return res, err
		}
	}

	// 3. Raw webhooks: those of the orders carrying a hash (linked either way), and any whose
	// body, query or headers hold a form (ignored, unparseable, refused or duplicate ones too).
	if len(hashes.list) > 0 {
		var w where
		w.add(`tenant_id = %s`, tenantID)
		byHash := q.hashesMatch(&w, "o.", hashes.list)
		n, err := q.exec(ctx, q.w, `DELETE FROM inbox WHERE tenant_id = $1 AND (
			(order_id <> '' AND order_id IN (SELECT o.id FROM orders o WHERE o.tenant_id = $1 AND `+byHash+`))
			OR id IN (SELECT h.inbox_id FROM order_history h JOIN orders o ON o.id = h.order_id
				WHERE o.tenant_id = $1 AND `+byHash+` AND h.inbox_id <> ''))`, w.args...)
		if err != nil {
			return res, err
		}
		res.InboxDeleted += n
	}
	if len(p.Forms) > 0 {
		w := q.formsMatch(tenantID, p.Forms, []textCol{{"body", colBytes}, {"query", colText}, {"headers", colJSON}})
		n, err := q.exec(ctx, q.w, `DELETE FROM inbox`+w.String(), w.args...)
		if err != nil {
			return res, err
		}
		res.InboxDeleted += n
	}

	// 4. Identity links, orders and touchpoints.
	now := q.f.Time(q.now())
	var orders set[string]
	if len(hashes.list) > 0 {
		var w where
		w.add(`tenant_id = %s`, tenantID)
		var ors []string
		for _, k := range []store.IdentityKind{store.IdentityEmail, store.IdentityPhone} {
			if hs := hashesOf(hashes.list, k); len(hs) > 0 {
				ors = append(ors, `(kind = `+w.next(string(k))+` AND `+q.anyOf(&w, "hash", hs)+`)`)
			}
		}
		w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
		n, err := q.exec(ctx, q.w, `DELETE FROM identities`+w.String(), w.args...)
		if err != nil {
			return res, err
		}
		res.IdentitiesDeleted += n

		w = where{}
		w.add(`tenant_id = %s`, tenantID)
		w.conds = append(w.conds, q.hashesMatch(&w, "", hashes.list))
		rows, err := q.query(ctx, q.r, `SELECT id FROM orders`+w.String()+` ORDER BY id`, w.args...)
		ids, err := collect(rows, err, "erase: orders", func(r Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return res, err
		}
		for _, id := range ids {
			orders.add(id)
		}
		// The buyer goes whole: hashed identifiers, IP and user agent.
		scrub := `UPDATE orders SET buyer = '{}', email_hash = '', phone_hash = '', updated_at = ` + w.next(now) + w.String()
		if _, err := q.exec(ctx, q.w, scrub, w.args...); err != nil {
			return res, err
		}
	}
	if len(p.Forms) > 0 {
		w := q.formsMatch(tenantID, p.Forms, []textCol{{"tracking", colJSON}})
		type tracked struct {
			id       string
			tracking []byte
		}
		rows, err := q.query(ctx, q.r, `SELECT id, tracking FROM orders`+w.String(), w.args...)
		found, err := collect(rows, err, "erase: order tracking", func(r Rows) (tracked, error) {
			var t tracked
			return t, r.Scan(&t.id, &t.tracking)
		})
		if err != nil {
			return res, err
		}
		var cuts [][]string
		for _, t := range found {
			cut, changed := cutJSON(t.tracking, p.Forms)
			if !changed {
				continue
			}
			cuts = append(cuts, []string{t.id, string(cut)})
			orders.add(t.id)
		}
		asJSON := ""
		if q.f.Name == "postgres" {
			asJSON = "%s::jsonb"
		}
		if _, err := q.updateEach(ctx, "orders", []string{"tracking"}, []string{asJSON}, "updated_at = $2", tenantID, cuts, now); err != nil {
			return res, err
		}
	}
	res.OrdersScrubbed = int64(len(orders.list))
	// Nothing more about her is sent: her orders remember the erasure (deliveries planned
	// later are created skipped), every delivery of her orders and visits remembers it (a
	// delivered one too: no replay sends it again), and what was still to be sent is skipped
	// now, a send in flight included (its late outcome must not revive it).
	if len(orders.list) > 0 {
		var w where
		w.add(`tenant_id = %s`, tenantID)
		w.conds = append(w.conds, q.anyOf(&w, "id", orders.list))
		stamp := `UPDATE orders SET erased_at = ` + w.next(now) + w.String()
		if _, err := q.exec(ctx, q.w, stamp, w.args...); err != nil {
			return res, err
		}
	}
	for _, of := range []struct {
		col string
		ids []string
	}{{"order_id", orders.list}, {"touchpoint_id", tps.list}} {
		n, err := q.eraseDeliveries(ctx, tenantID, of.col, of.ids, now)
		if err != nil {
			return res, err
		}
		res.DeliveriesCancelled += n
	}
	n, err := q.scrubTouchpoints(ctx, tenantID, tps.list, p.Forms)
	if err != nil {
		return res, err
	}
	res.TouchpointsErased = n
	res.Hashes = hashes.list
	return res, nil
}

// scrubTouchpoints scrubs the touchpoints ids (those still there: retention may have deleted a
// credited visit already) and returns how many it scrubbed: one statement reads them, and one
// writes them back.
func (q *queries) scrubTouchpoints(ctx context.Context, tenantID string, ids, forms []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var w where
	w.add(`tenant_id = %s`, tenantID)
	w.conds = append(w.conds, q.anyOf(&w, "id", ids))
	rows, err := q.query(ctx, q.r, `SELECT id, url, referrer, name, utm_source, utm_medium, utm_campaign, utm_content, utm_term
		FROM touchpoints`+w.String()+` ORDER BY id`, w.args...)
	found, err := collect(rows, err, "erase: touchpoint text", func(r Rows) ([]string, error) {
		v := make([]string, 9)
		return v, r.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8])
	})
	if err != nil {
		return 0, err
	}
	// One row per touchpoint: a touchpoint's id is its own (its occurred_at only places it).
	var seen set[string]
	scrubbed := found[:0]
	for _, v := range found {
		if seen.seen[v[0]] {
			continue
		}
		seen.add(v[0])
		// The erasure may know only the e-mail while the URL or props also hold the phone (or
		// a name): a person's touchpoint keeps no query, fragment or props at all. UTM values
		// and click ids have columns of their own; a UTM value keeps what is not one of the
		// person's forms (a newsletter's merge tag may have put her e-mail in utm_content),
		// so the campaign a visit came from still counts.
		v[1], v[2] = stripQuery(v[1], forms), stripQuery(v[2], forms)
		for i := 3; i < len(v); i++ {
			v[i], _ = cutText(v[i], forms)
		}
		scrubbed = append(scrubbed, v)
	}
	if _, err := q.updateEach(ctx, "touchpoints",
		[]string{"url", "referrer", "name", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"},
		make([]string, 8),
		`email_hash = '', phone_hash = '', ip = '', user_agent = '', google_email_hash = NULL, google_phone_hash = NULL,
			tiktok_phone_hash = NULL, props = NULL`, tenantID, scrubbed); err != nil {
		return 0, err
	}
	return int64(len(scrubbed)), nil
}

// hashesOf is the hashes of hs of kind k.
func hashesOf(hs []store.IdentityHash, k store.IdentityKind) []string {
	var out []string
	for _, h := range hs {
		if h.Kind == k {
			out = append(out, h.Hash)
		}
	}
	return out
}

// hashesMatch is the condition that a row (its columns prefixed with p) carries one of hs,
// an e-mail hash in email_hash or a phone hash in phone_hash. hs must not be empty. The
// columns' indexes hold only rows with a hash (email_hash <> ”), said here so that a list
// bound as one argument can use them.
func (q *queries) hashesMatch(w *where, p string, hs []store.IdentityHash) string {
	var ors []string
	for _, k := range []store.IdentityKind{store.IdentityEmail, store.IdentityPhone} {
		if list := hashesOf(hs, k); len(list) > 0 {
			col := p + hashCol(k)
			ors = append(ors, `(`+col+` <> '' AND `+q.anyOf(w, col, list)+`)`)
		}
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// eraseDeliveries stamps erased_at (the first erasure's time stays) on every delivery whose col
// (order_id or touchpoint_id) is one of ids and every delivery.dead notice about one of them,
// delivered ones included; and skips, with store.ReasonErased and not in flight, those of them
// that were not delivered (they carry what its order or touchpoint says). A delivered one
// stays as it is besides its stamp: it is history. It returns how many it skipped. Four
// statements, however many ids.
func (q *queries) eraseDeliveries(ctx context.Context, tenantID, col string, ids []string, now any) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var w where
	w.add(`tenant_id = %s`, tenantID)
	own := q.anyOf(&w, col, ids) // $2
	notice := `subject_id IN (SELECT id FROM deliveries WHERE tenant_id = $1 AND ` + own + `)`
	stamp := `UPDATE deliveries SET erased_at = $3 WHERE tenant_id = $1 AND erased_at IS NULL AND `
	stampArgs := append(w.args, now)
	skip := `UPDATE deliveries SET state = $4, reason = $5, in_flight = $6, updated_at = $3, attempt_id = NULL
		WHERE tenant_id = $1 AND state <> $7 AND NOT (state = $4 AND reason = $5) AND `
	skipArgs := append(stampArgs[:3:3], string(store.DeliverySkipped), store.ReasonErased, false, string(store.DeliveryDelivered))
	var skipped int64
	// The notices first: their subjects are found by col whatever their own state.
	for _, s := range []struct {
		query   string
		args    []any
		skipped bool
	}{{stamp + notice, stampArgs, false}, {stamp + own, stampArgs, false}, {skip + notice, skipArgs, true}, {skip + own, skipArgs, true}} {
		n, err := q.exec(ctx, q.w, s.query, s.args...)
		if err != nil {
			return 0, err
		}
		if s.skipped {
			skipped += n
		}
	}
	return skipped, nil
}

// touchpointText are the touchpoint columns whose text may hold a person's e-mail or phone.
var touchpointText = []textCol{{"url", colText}, {"referrer", colText}, {"props", colJSON}, {"name", colText},
	{"utm_source", colText}, {"utm_medium", colText}, {"utm_campaign", colText}, {"utm_content", colText}, {"utm_term", colText}}

type colKind int

const (
	colText colKind = iota
	colJSON
	colBytes
)

type textCol struct {
	name string
	kind colKind
}

// formsMatch is the tenant's rows where any column holds any form, compared in lower case.
// Bytes are compared through PostgreSQL's escape encoding, which keeps printable ASCII as it is
// (and a body that is not UTF-8 is still searched); SQLite compares a BLOB's bytes as text.
func (q *queries) formsMatch(tenantID string, forms []string, cols []textCol) *where {
	w := &where{}
	w.add(`tenant_id = %s`, tenantID)
	var ors []string
	for _, f := range forms {
		ph := w.next(f)
		for _, c := range cols {
			var expr string
			switch {
			case q.f.Name == "sqlite":
				expr = `instr(lower(CAST(` + c.name + ` AS TEXT)), ` + ph + `) > 0`
			case c.kind == colBytes:
				expr = `strpos(lower(encode(` + c.name + `, 'escape')), ` + ph + `) > 0`
			case c.kind == colJSON:
				expr = `strpos(lower(` + c.name + `::text), ` + ph + `) > 0`
			default:
				expr = `strpos(lower(` + c.name + `), ` + ph + `) > 0`
			}
			ors = append(ors, expr)
		}
	}
	w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
	return w
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// cutText removes every occurrence of the (lower-case) forms from s, ASCII case-insensitively.
func cutText(s string, forms []string) (string, bool) {
	changed := false
	for _, f := range forms {
		if f == "" {
			continue
		}
		for {
			i := strings.Index(asciiLower(s), f)
			if i < 0 {
				break
			}
			s, changed = s[:i]+s[i+len(f):], true
		}
	}
	return s, changed
}

// stripQuery drops a URL's query and fragment and cuts the forms out of what is left.
func stripQuery(u string, forms []string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	u, _ = cutText(u, forms)
	return u
}

// cutJSON removes the forms from every string (keys included) of a JSON document. A document
// that does not parse is replaced by an empty object.
func cutJSON(raw []byte, forms []string) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []byte(`{}`), true
	}
	changed := false
	var walk func(v any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case string:
			s, c := cutText(t, forms)
			changed = changed || c
			return s
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
			return t
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, x := range t {
				k2, c := cutText(k, forms)
				changed = changed || c
				out[k2] = walk(x)
			}
			return out
		}
		return v
	}
	v = walk(v)
	if !changed {
		return raw, false
	}
	out, err := json.Marshal(v)
	if err != nil {
		return []byte(`{}`), true
	}
	return out, true
}

// retentionBatch bounds each DELETE of the retention job, so no statement holds locks for long.
const retentionBatch = 5000

// partitionLockTimeout bounds how long dropping a day's partition waits for the lock on
// touchpoints (detaching takes it exclusively): a long report query must not hold ingest up
// behind the drop. A timeout fails the run; the next hour's run tries again.
const partitionLockTimeout = "1s"

func (q *queries) DeleteTouchpointsBefore(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	cut := q.f.Time(before)
	if q.f.Name == "postgres" {
		// Whole days first: their partitions are dropped, not emptied row by row.
		err := q.runTx(ctx, func(q *queries) error {
			if _, err := q.exec(ctx, q.w, `SET LOCAL lock_timeout = '`+partitionLockTimeout+`'`); err != nil {
				return err
			}
			return q.queryRow(ctx, q.w, `SELECT hub_touchpoints_drop_before($1)`, cut).Scan(&total)
		})
		if err != nil {
			return 0, wrap("drop touchpoint partitions before", err)
		}
	}
	del := `DELETE FROM touchpoints WHERE id IN (SELECT id FROM touchpoints WHERE occurred_at < $1 LIMIT $2)`
	if q.f.Name == "postgres" {
		// What is left: the day the cut-off falls in, and the default partition. The outer
		// occurred_at bound prunes the other partitions (without it the rows to delete were
		// joined with a scan of every partition), and the key is the primary key's.
		del = `DELETE FROM touchpoints WHERE occurred_at < $1 AND (tenant_id, id, occurred_at) IN (
			SELECT tenant_id, id, occurred_at FROM touchpoints WHERE occurred_at < $1 LIMIT $2)`
	}
	for {
		n, err := q.exec(ctx, q.w, del, cut, retentionBatch)
		if err != nil {
			return total, wrap("delete touchpoints before", err)
		}
		total += n
		if n < retentionBatch {
			break
		}
	}
	if q.f.Name == "postgres" {
		// The retry keys of the deleted touchpoints go with them (same occurred_at).
		for {
			n, err := q.exec(ctx, q.w, `DELETE FROM touchpoint_events WHERE ctid = ANY (ARRAY(
				SELECT ctid FROM touchpoint_events WHERE occurred_at < $1 LIMIT $2))`, cut, retentionBatch)
			if err != nil {
				return total, wrap("delete touchpoint events before", err)
			}
			if n < retentionBatch {
				break
			}
		}
	}
	// The Pixel event ids go with the touchpoints they were reported with.
	for {
		n, err := q.exec(ctx, q.w, `DELETE FROM pixel_events WHERE (tenant_id, event_name, event_id) IN (
			SELECT tenant_id, event_name, event_id FROM pixel_events WHERE received_at < $1 LIMIT $2)`, cut, retentionBatch)
		if err != nil {
			return total, wrap("delete pixel events before", err)
		}
		if n < retentionBatch {
			break
		}
	}
	return total, nil
}

func (q *queries) DeleteIdentitiesBefore(ctx context.Context, before time.Time) (int64, error) {
	// No index leads to last_seen (each sighting moves it, and an index would be rewritten
	// with it): each batch scans the table, once an hour when little is due.
	var total int64
	for {
		n, err := q.exec(ctx, q.w, `DELETE FROM identities WHERE (tenant_id, kind, hash, visitor_id) IN (
			SELECT tenant_id, kind, hash, visitor_id FROM identities WHERE last_seen < $1 LIMIT $2)`, q.f.Time(before), retentionBatch)
		if err != nil {
			return total, wrap("delete identities before", err)
		}
		total += n
		if n < retentionBatch {
			return total, nil
		}
	}
}

// TouchpointPartitionsAhead is how many days after today have a touchpoint partition ready
// (PostgreSQL), so a day's first insert never waits for one to be created.
const TouchpointPartitionsAhead = 7

func (q *queries) PrepareTouchpoints(ctx context.Context, now time.Time) (int, error) {
	if q.f.Name != "postgres" {
		return 0, nil
	}
	var n int
	err := q.runTx(ctx, func(q *queries) error {
		if _, err := q.exec(ctx, q.w, `SET LOCAL lock_timeout = '`+partitionLockTimeout+`'`); err != nil {
			return err
		}
		// Today's and the coming days' partitions that an ANALYZE of the whole database
		// recorded as empty get their statistics back first (hub_touchpoints_refresh_stats:
		// one created again counts as created).
		var refreshed int
		if err := q.queryRow(ctx, q.w, `SELECT count(*) FILTER (WHERE hub_touchpoints_refresh_stats(d)) FROM (
			SELECT ($1::timestamptz AT TIME ZONE 'UTC')::date + k AS d FROM generate_series(0, $2::int) AS k) days`,
			now.UTC(), TouchpointPartitionsAhead).Scan(&refreshed); err != nil {
			return err
		}
		if err := q.queryRow(ctx, q.w, `SELECT count(*) FILTER (WHERE hub_touchpoints_partition(d)) FROM (
			SELECT ($1::timestamptz AT TIME ZONE 'UTC')::date + k AS d FROM generate_series(-1, $2::int) AS k) days`,
			now.UTC(), TouchpointPartitionsAhead).Scan(&n); err != nil {
			return err
		}
		n += refreshed
		return nil
	})
	if err != nil {
		return 0, wrap("prepare touchpoint partitions", err)
	}
	return n, nil
}

func (q *queries) ScrubOrderNetworkBefore(ctx context.Context, before time.Time) (int64, error) {
	query := `UPDATE orders SET buyer = buyer - 'client_ip_address' - 'client_user_agent'
		WHERE created_at < $1 AND (jsonb_exists(buyer, 'client_ip_address') OR jsonb_exists(buyer, 'client_user_agent'))`
	if q.f.Name == "sqlite" {
		query = `UPDATE orders SET buyer = json_remove(buyer, '$.client_ip_address', '$.client_user_agent')
			WHERE created_at < $1 AND (json_type(buyer, '$.client_ip_address') IS NOT NULL OR json_type(buyer, '$.client_user_agent') IS NOT NULL)`
	}
	n, err := q.exec(ctx, q.w, query, q.f.Time(before))
	if err != nil {
		return 0, wrap("scrub order network before", err)
	}
	return n, nil
}

package sqlstore

// migrations is the ordered, forward-only list of schema changes. Append; never edit an entry
// that has shipped. Statements are written for PostgreSQL and rewritten by Flavor.DDL for
// SQLite; Postgres and SQLite hold statements for one dialect only.
//
// Conventions: ids are text (UUIDv7, COLLATE "C" so that ordering by id is byte order, as on
// SQLite); times are timestamptz (INTEGER unix microseconds on SQLite); JSON is jsonb (TEXT).
var migrations = []migration{
	{
		Name: "initial schema",
		Up: `
CREATE TABLE tenants (
	id         text COLLATE "C" PRIMARY KEY,
	name       text NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
	id           text COLLATE "C" PRIMARY KEY,
	tenant_id    text COLLATE "C" NOT NULL, -- empty for operator keys
	name         text NOT NULL,
	role         text NOT NULL,
	lookup       text NOT NULL UNIQUE,
	hash         bytea NOT NULL,
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz,
	revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

CREATE TABLE sources (
	id                    text COLLATE "C" PRIMARY KEY,
	tenant_id             text COLLATE "C" NOT NULL REFERENCES tenants (id),
	name                  text NOT NULL,
	public_key            text NOT NULL UNIQUE,
	webhook_token         text NOT NULL UNIQUE,
	allowed_origins       jsonb NOT NULL,
	attribution_window_ns bigint NOT NULL,
	attribution_model     text NOT NULL,
	cookie_domain         text NOT NULL,
	created_at            timestamptz NOT NULL,
	updated_at            timestamptz NOT NULL
);
CREATE INDEX sources_tenant ON sources (tenant_id, id);

CREATE TABLE gateway_secrets (
	source_id  text COLLATE "C" NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
	provider   text NOT NULL,
	tenant_id  text COLLATE "C" NOT NULL,
	ciphertext text NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (source_id, provider)
);

CREATE TABLE destinations (
	id                text COLLATE "C" PRIMARY KEY,
	tenant_id         text COLLATE "C" NOT NULL REFERENCES tenants (id),
	type              text NOT NULL,
	name              text NOT NULL,
	config            jsonb,
	credentials       text NOT NULL,
	enabled           boolean NOT NULL,
	health_state      text NOT NULL,
	health_reason     text NOT NULL,
	health_checked_at timestamptz NOT NULL,
	created_at        timestamptz NOT NULL,
	updated_at        timestamptz NOT NULL
);
CREATE INDEX destinations_tenant ON destinations (tenant_id, id);

CREATE TABLE links (
	code       text COLLATE "C" PRIMARY KEY,
	tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id),
	source_id  text COLLATE "C" NOT NULL REFERENCES sources (id),
	target     text NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX links_tenant ON links (tenant_id, source_id, created_at);

-- Append-only and high volume: no foreign keys, written in group commits.
CREATE TABLE touchpoints (
	id              text COLLATE "C" PRIMARY KEY,
	tenant_id       text COLLATE "C" NOT NULL,
	source_id       text COLLATE "C" NOT NULL,
	type            text NOT NULL,
	name            text NOT NULL,
	client_event_id text NOT NULL,
	occurred_at     timestamptz NOT NULL,
	received_at     timestamptz NOT NULL,
	url             text NOT NULL,
	referrer        text NOT NULL,
	visitor_id      text NOT NULL,
	fbclid          text NOT NULL,
	gclid           text NOT NULL,
	ttclid          text NOT NULL,
	fbc             text NOT NULL,
	fbp             text NOT NULL,
	ga_client_id    text NOT NULL,
	ttp             text NOT NULL,
	utm_source      text NOT NULL,
	utm_medium      text NOT NULL,
	utm_campaign    text NOT NULL,
	utm_content     text NOT NULL,
	utm_term        text NOT NULL,
	ip              text NOT NULL,
	user_agent      text NOT NULL,
	consent         text NOT NULL,
	email_hash      text NOT NULL,
	phone_hash      text NOT NULL,
	bot             boolean NOT NULL,
	props           jsonb
);
CREATE UNIQUE INDEX touchpoints_client_event ON touchpoints (source_id, client_event_id) WHERE client_event_id <> '';
CREATE INDEX touchpoints_tenant_id ON touchpoints (tenant_id, id);
CREATE INDEX touchpoints_visitor ON touchpoints (tenant_id, visitor_id, occurred_at);
CREATE INDEX touchpoints_network ON touchpoints (tenant_id, ip, user_agent, occurred_at);
CREATE INDEX touchpoints_fbclid ON touchpoints (tenant_id, fbclid) WHERE fbclid <> '';
CREATE INDEX touchpoints_fbc ON touchpoints (tenant_id, fbc) WHERE fbc <> '';
CREATE INDEX touchpoints_gclid ON touchpoints (tenant_id, gclid) WHERE gclid <> '';
CREATE INDEX touchpoints_ttclid ON touchpoints (tenant_id, ttclid) WHERE ttclid <> '';
CREATE INDEX touchpoints_email ON touchpoints (tenant_id, email_hash) WHERE email_hash <> '';
CREATE INDEX touchpoints_phone ON touchpoints (tenant_id, phone_hash) WHERE phone_hash <> '';

CREATE TABLE identities (
	tenant_id  text COLLATE "C" NOT NULL,
	kind       text NOT NULL,
	hash       text NOT NULL,
	visitor_id text NOT NULL,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, kind, hash, visitor_id)
);

-- Raw webhook deliveries, before anything is parsed: no foreign keys.
CREATE TABLE inbox (
	id           text COLLATE "C" PRIMARY KEY,
	tenant_id    text COLLATE "C" NOT NULL,
	source_id    text COLLATE "C" NOT NULL,
	provider     text NOT NULL,
	received_at  timestamptz NOT NULL,
	headers      jsonb NOT NULL,
	query        text NOT NULL,
	body         bytea NOT NULL,
	state        text NOT NULL,
	error        text NOT NULL,
	order_id     text COLLATE "C" NOT NULL,
	processed_at timestamptz
);
CREATE INDEX inbox_tenant ON inbox (tenant_id, id);
CREATE INDEX inbox_received ON inbox (received_at);
CREATE INDEX inbox_order ON inbox (tenant_id, order_id) WHERE order_id <> '';

CREATE TABLE orders (
	id            text COLLATE "C" PRIMARY KEY,
	tenant_id     text COLLATE "C" NOT NULL REFERENCES tenants (id),
	source_id     text COLLATE "C" NOT NULL,
	provider      text NOT NULL,
	external_id   text NOT NULL,
	status        text NOT NULL,
	native_status text NOT NULL,
	amount_minor  bigint NOT NULL,
	currency      text NOT NULL,
	products      jsonb NOT NULL,
	buyer         jsonb NOT NULL,
	email_hash    text NOT NULL,
	phone_hash    text NOT NULL,
	tracking      jsonb NOT NULL,
	paid_at       timestamptz,
	occurred_at   timestamptz NOT NULL,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	matched       boolean NOT NULL,
	UNIQUE (tenant_id, provider, external_id)
);
CREATE INDEX orders_tenant ON orders (tenant_id, id);
CREATE INDEX orders_email ON orders (tenant_id, email_hash) WHERE email_hash <> '';
CREATE INDEX orders_phone ON orders (tenant_id, phone_hash) WHERE phone_hash <> '';

CREATE TABLE order_history (
	order_id      text COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	event_key     text NOT NULL,
	tenant_id     text COLLATE "C" NOT NULL,
	status        text NOT NULL,
	native_status text NOT NULL,
	occurred_at   timestamptz NOT NULL,
	recorded_at   timestamptz NOT NULL,
	applied       boolean NOT NULL,
	inbox_id      text COLLATE "C" NOT NULL,
	PRIMARY KEY (order_id, event_key)
);

CREATE TABLE attributions (
	order_id      text COLLATE "C" PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
	tenant_id     text COLLATE "C" NOT NULL,
	touchpoint_id text COLLATE "C" NOT NULL,
	visitor_id    text NOT NULL,
	rule          text NOT NULL,
	confidence    double precision NOT NULL,
	explanation   text NOT NULL,
	candidates    jsonb NOT NULL,
	created_at    timestamptz NOT NULL
);

CREATE TABLE deliveries (
	id             text COLLATE "C" PRIMARY KEY,
	tenant_id      text COLLATE "C" NOT NULL,
	order_id       text COLLATE "C" NOT NULL REFERENCES orders (id),
	destination_id text COLLATE "C" NOT NULL REFERENCES destinations (id),
	event_name     text NOT NULL,
	event_id       text NOT NULL,
	state          text NOT NULL,
	reason         text NOT NULL,
	attempts       integer NOT NULL,
	created_at     timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL,
	delivered_at   timestamptz,
	UNIQUE (order_id, event_name, destination_id)
);
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, id);
CREATE INDEX deliveries_destination ON deliveries (tenant_id, destination_id, id);

CREATE TABLE attempts (
	id          text COLLATE "C" PRIMARY KEY,
	tenant_id   text COLLATE "C" NOT NULL,
	delivery_id text COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
	at          timestamptz NOT NULL,
	http_status integer NOT NULL,
	latency_ms  bigint NOT NULL,
	outcome     text NOT NULL,
	code        text NOT NULL,
	message     text NOT NULL,
	trace_id    text NOT NULL,
	replay      boolean NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);

CREATE TABLE audit_log (
	id        text COLLATE "C" PRIMARY KEY,
	tenant_id text COLLATE "C" NOT NULL,
	actor     text NOT NULL,
	action    text NOT NULL,
	detail    text NOT NULL,
	at        timestamptz NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
`,
		// Touchpoints are a plain table for now (not partitioned by day): BRIN keeps the
		// retention range scan cheap on an append-only, time-ordered heap.
		Postgres: `CREATE INDEX touchpoints_occurred ON touchpoints USING brin (occurred_at);`,
		SQLite:   `CREATE INDEX touchpoints_occurred ON touchpoints (occurred_at);`,
	},
	{
		Name: "dashboard users and sessions",
		Up: `
CREATE TABLE users (
	id            text COLLATE "C" PRIMARY KEY,
	tenant_id     text COLLATE "C" NOT NULL REFERENCES tenants (id),
	email         text NOT NULL UNIQUE,
	password_hash text NOT NULL,
	created_at    timestamptz NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id, id);

CREATE TABLE sessions (
	id         text COLLATE "C" PRIMARY KEY,
	tenant_id  text COLLATE "C" NOT NULL,
	user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_token text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
`,
	},
	{
		// The reports aggregate in SQL (OrderStats, DeliveryStats, ListDeliveryGaps) and the
		// dashboard reads deliveries by order and by state: these indexes make each of them a
		// range scan. orders_created covers OrderStats, so it never reads the orders' JSON;
		// deliveries_order covers DeliveryStats' join and the anti-join of the gap list.
		Name: "report and dashboard indexes",
		Up: `
CREATE INDEX orders_created ON orders (tenant_id, created_at, status, provider, currency, amount_minor, paid_at, matched, id);
CREATE INDEX deliveries_order ON deliveries (tenant_id, order_id, destination_id, event_name, state, reason);
CREATE INDEX deliveries_state ON deliveries (tenant_id, state, id);
`,
	},
	{
		// Touchpoint events (lead, initiate_checkout, add_to_cart) are delivered too: a delivery
		// belongs to an order or to a touchpoint. SQLite cannot drop a NOT NULL, so it rebuilds
		// deliveries and attempts (attempts_new refers to deliveries_new, which the rename
		// carries over, so foreign keys hold at every step).
		Name: "deliveries of touchpoint events",
		Postgres: `
ALTER TABLE deliveries ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE deliveries ADD COLUMN touchpoint_id text COLLATE "C";
CREATE UNIQUE INDEX deliveries_touchpoint ON deliveries (touchpoint_id, event_name, destination_id) WHERE touchpoint_id IS NOT NULL;
`,
		SQLite: `
CREATE TABLE deliveries_new (
	id             text COLLATE "C" PRIMARY KEY,
	tenant_id      text COLLATE "C" NOT NULL,
	order_id       text COLLATE "C" REFERENCES orders (id),
	destination_id text COLLATE "C" NOT NULL REFERENCES destinations (id),
	event_name     text NOT NULL,
	event_id       text NOT NULL,
	state          text NOT NULL,
	reason         text NOT NULL,
	attempts       integer NOT NULL,
	created_at     timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL,
	delivered_at   timestamptz,
	touchpoint_id  text COLLATE "C",
	UNIQUE (order_id, event_name, destination_id)
);
INSERT INTO deliveries_new (id, tenant_id, order_id, destination_id, event_name, event_id, state, reason, attempts, created_at, updated_at, delivered_at)
	SELECT id, tenant_id, order_id, destination_id, event_name, event_id, state, reason, attempts, created_at, updated_at, delivered_at FROM deliveries;
CREATE TABLE attempts_new (
	id          text COLLATE "C" PRIMARY KEY,
	tenant_id   text COLLATE "C" NOT NULL,
	delivery_id text COLLATE "C" NOT NULL REFERENCES deliveries_new (id) ON DELETE CASCADE,
	at          timestamptz NOT NULL,
	http_status integer NOT NULL,
	latency_ms  bigint NOT NULL,
	outcome     text NOT NULL,
	code        text NOT NULL,
	message     text NOT NULL,
	trace_id    text NOT NULL,
	replay      boolean NOT NULL
);
INSERT INTO attempts_new (id, tenant_id, delivery_id, at, http_status, latency_ms, outcome, code, message, trace_id, replay)
	SELECT id, tenant_id, delivery_id, at, http_status, latency_ms, outcome, code, message, trace_id, replay FROM attempts;
DROP TABLE attempts;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
ALTER TABLE attempts_new RENAME TO attempts;
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, id);
CREATE INDEX deliveries_destination ON deliveries (tenant_id, destination_id, id);
CREATE INDEX deliveries_order ON deliveries (tenant_id, order_id, destination_id, event_name, state, reason);
CREATE INDEX deliveries_state ON deliveries (tenant_id, state, id);
CREATE UNIQUE INDEX deliveries_touchpoint ON deliveries (touchpoint_id, event_name, destination_id) WHERE touchpoint_id IS NOT NULL;
`,
	},
	{
		// Report totals kept on write, so that a report reads a few rows per quarter hour of its
		// period however many orders it holds. Triggers on orders and deliveries append signed
		// deltas (+1 for a row's new values, -1 for its old ones) to *_delta, which no two
		// writers ever contend on; CompactStats folds the deltas into order_stats and
		// delivery_stats. A read sums both tables, so it is exact whether or not compaction has
		// run. A quarter is floor(unix seconds of the order's created_at / 900): quarter hours
		// fold into the days of every zone in use (all offsets are multiples of 15 minutes).
		// The triggers exist before the backfill reads: on PostgreSQL CREATE TRIGGER waits for
		// writers in flight and holds off new ones until this migration commits, so no order
		// is counted twice or missed.
		//
		// One invariant keeps PostgreSQL's concurrent triggers exact: an order's deliveries are
		// counted under its paid state, and the order trigger moves them when paid_at is first
		// set, reading them without a lock. A delivery of that order changing state in the same
		// instant would be counted under the old paid state. Hub plans deliveries only for paid
		// orders (delivery.Plan) and paid_at, once set, never changes, so no delivery exists
		// when the move happens. Planning deliveries for unpaid orders would need the delivery
		// trigger to read its order FOR SHARE.
		Name: "report totals kept on write",
		Up: `
CREATE TABLE order_stats (
	tenant_id     text COLLATE "C" NOT NULL,
	quarter       bigint NOT NULL,
	status        text NOT NULL,
	provider      text NOT NULL,
	currency      text NOT NULL,
	orders        bigint NOT NULL,
	revenue_minor bigint NOT NULL,
	paid          bigint NOT NULL,
	paid_matched  bigint NOT NULL,
	PRIMARY KEY (tenant_id, quarter, status, provider, currency)
);
CREATE TABLE order_stats_delta (
	tenant_id     text COLLATE "C" NOT NULL,
	quarter       bigint NOT NULL,
	status        text NOT NULL,
	provider      text NOT NULL,
	currency      text NOT NULL,
	orders        bigint NOT NULL,
	revenue_minor bigint NOT NULL,
	paid          bigint NOT NULL,
	paid_matched  bigint NOT NULL
);
CREATE TABLE delivery_stats (
	tenant_id      text COLLATE "C" NOT NULL,
	quarter        bigint NOT NULL,
	destination_id text COLLATE "C" NOT NULL,
	event_name     text NOT NULL,
	state          text NOT NULL,
	reason         text NOT NULL,
	paid_order     boolean NOT NULL,
	deliveries     bigint NOT NULL,
	PRIMARY KEY (tenant_id, quarter, destination_id, event_name, state, reason, paid_order)
);
CREATE TABLE delivery_stats_delta (
	tenant_id      text COLLATE "C" NOT NULL,
	quarter        bigint NOT NULL,
	destination_id text COLLATE "C" NOT NULL,
	event_name     text NOT NULL,
	state          text NOT NULL,
	reason         text NOT NULL,
	paid_order     boolean NOT NULL,
	deliveries     bigint NOT NULL
);
`,
		Postgres: `
CREATE FUNCTION hub_quarter(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CAST(floor(extract(epoch FROM t) / 900) AS bigint) $$;

CREATE FUNCTION hub_orders_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
		VALUES (OLD.tenant_id, hub_quarter(OLD.created_at), OLD.status, OLD.provider, OLD.currency, -1, -OLD.amount_minor,
			-(CASE WHEN OLD.paid_at IS NOT NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.paid_at IS NOT NULL AND OLD.matched THEN 1 ELSE 0 END));
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
		VALUES (NEW.tenant_id, hub_quarter(NEW.created_at), NEW.status, NEW.provider, NEW.currency, 1, NEW.amount_minor,
			CASE WHEN NEW.paid_at IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN NEW.paid_at IS NOT NULL AND NEW.matched THEN 1 ELSE 0 END);
	END IF;
	-- Deliveries are counted by their order's quarter and paid state: move them when either changes.
	IF TG_OP = 'UPDATE' THEN
		IF OLD.tenant_id = NEW.tenant_id AND OLD.created_at = NEW.created_at AND (OLD.paid_at IS NULL) = (NEW.paid_at IS NULL) THEN
			RETURN NULL;
		END IF;
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT d.tenant_id, hub_quarter(NEW.created_at), d.destination_id, d.event_name, d.state, d.reason, NEW.paid_at IS NOT NULL, 1
		FROM deliveries d WHERE d.tenant_id = NEW.tenant_id AND d.order_id = NEW.id;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT d.tenant_id, hub_quarter(OLD.created_at), d.destination_id, d.event_name, d.state, d.reason, OLD.paid_at IS NOT NULL, -1
		FROM deliveries d WHERE d.tenant_id = OLD.tenant_id AND d.order_id = OLD.id;
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION hub_deliveries_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT o.tenant_id, hub_quarter(o.created_at), OLD.destination_id, OLD.event_name, OLD.state, OLD.reason, o.paid_at IS NOT NULL, -1
		FROM orders o WHERE o.tenant_id = OLD.tenant_id AND o.id = OLD.order_id;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT o.tenant_id, hub_quarter(o.created_at), NEW.destination_id, NEW.event_name, NEW.state, NEW.reason, o.paid_at IS NOT NULL, 1
		FROM orders o WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.order_id;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER orders_stats_write AFTER INSERT OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION hub_orders_stats();
CREATE TRIGGER orders_stats_update AFTER UPDATE ON orders FOR EACH ROW
	WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.created_at IS DISTINCT FROM NEW.created_at
		OR OLD.status IS DISTINCT FROM NEW.status OR OLD.provider IS DISTINCT FROM NEW.provider
		OR OLD.currency IS DISTINCT FROM NEW.currency OR OLD.amount_minor IS DISTINCT FROM NEW.amount_minor
		OR (OLD.paid_at IS NULL) <> (NEW.paid_at IS NULL) OR OLD.matched IS DISTINCT FROM NEW.matched)
	EXECUTE FUNCTION hub_orders_stats();
CREATE TRIGGER deliveries_stats_write AFTER INSERT OR DELETE ON deliveries FOR EACH ROW EXECUTE FUNCTION hub_deliveries_stats();
CREATE TRIGGER deliveries_stats_update AFTER UPDATE ON deliveries FOR EACH ROW
	WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.order_id IS DISTINCT FROM NEW.order_id
		OR OLD.destination_id IS DISTINCT FROM NEW.destination_id OR OLD.event_name IS DISTINCT FROM NEW.event_name
		OR OLD.state IS DISTINCT FROM NEW.state OR OLD.reason IS DISTINCT FROM NEW.reason)
	EXECUTE FUNCTION hub_deliveries_stats();

INSERT INTO order_stats (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
	SELECT tenant_id, hub_quarter(created_at), status, provider, currency, count(*), sum(amount_minor),
		count(paid_at), count(CASE WHEN matched THEN paid_at END)
	FROM orders GROUP BY 1, 2, 3, 4, 5;
INSERT INTO delivery_stats (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT d.tenant_id, hub_quarter(o.created_at), d.destination_id, d.event_name, d.state, d.reason, o.paid_at IS NOT NULL, count(*)
	FROM deliveries d JOIN orders o ON o.tenant_id = d.tenant_id AND o.id = d.order_id GROUP BY 1, 2, 3, 4, 5, 6, 7;
`,
		// SQLite stores times as unix microseconds: a quarter is created_at / 900000000.
		SQLite: `
CREATE TRIGGER orders_stats_insert AFTER INSERT ON orders BEGIN
	INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
	VALUES (NEW.tenant_id, NEW.created_at / 900000000, NEW.status, NEW.provider, NEW.currency, 1, NEW.amount_minor,
		CASE WHEN NEW.paid_at IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN NEW.paid_at IS NOT NULL AND NEW.matched THEN 1 ELSE 0 END);
END;

CREATE TRIGGER orders_stats_update AFTER UPDATE ON orders
	WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_at IS NOT NEW.created_at OR OLD.status IS NOT NEW.status
		OR OLD.provider IS NOT NEW.provider OR OLD.currency IS NOT NEW.currency OR OLD.amount_minor IS NOT NEW.amount_minor
		OR (OLD.paid_at IS NULL) IS NOT (NEW.paid_at IS NULL) OR OLD.matched IS NOT NEW.matched BEGIN
	INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
	VALUES (OLD.tenant_id, OLD.created_at / 900000000, OLD.status, OLD.provider, OLD.currency, -1, -OLD.amount_minor,
		-(CASE WHEN OLD.paid_at IS NOT NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.paid_at IS NOT NULL AND OLD.matched THEN 1 ELSE 0 END)),
		(NEW.tenant_id, NEW.created_at / 900000000, NEW.status, NEW.provider, NEW.currency, 1, NEW.amount_minor,
		CASE WHEN NEW.paid_at IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN NEW.paid_at IS NOT NULL AND NEW.matched THEN 1 ELSE 0 END);
	INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT d.tenant_id, OLD.created_at / 900000000, d.destination_id, d.event_name, d.state, d.reason, OLD.paid_at IS NOT NULL, -1
	FROM deliveries d WHERE d.tenant_id = OLD.tenant_id AND d.order_id = OLD.id
		AND (OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_at IS NOT NEW.created_at OR (OLD.paid_at IS NULL) IS NOT (NEW.paid_at IS NULL))
	UNION ALL
	SELECT d.tenant_id, NEW.created_at / 900000000, d.destination_id, d.event_name, d.state, d.reason, NEW.paid_at IS NOT NULL, 1
	FROM deliveries d WHERE d.tenant_id = NEW.tenant_id AND d.order_id = NEW.id
		AND (OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_at IS NOT NEW.created_at OR (OLD.paid_at IS NULL) IS NOT (NEW.paid_at IS NULL));
END;

CREATE TRIGGER orders_stats_delete AFTER DELETE ON orders BEGIN
	INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
	VALUES (OLD.tenant_id, OLD.created_at / 900000000, OLD.status, OLD.provider, OLD.currency, -1, -OLD.amount_minor,
		-(CASE WHEN OLD.paid_at IS NOT NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.paid_at IS NOT NULL AND OLD.matched THEN 1 ELSE 0 END));
	INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT d.tenant_id, OLD.created_at / 900000000, d.destination_id, d.event_name, d.state, d.reason, OLD.paid_at IS NOT NULL, -1
	FROM deliveries d WHERE d.tenant_id = OLD.tenant_id AND d.order_id = OLD.id;
END;

CREATE TRIGGER deliveries_stats_insert AFTER INSERT ON deliveries BEGIN
	INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT o.tenant_id, o.created_at / 900000000, NEW.destination_id, NEW.event_name, NEW.state, NEW.reason, o.paid_at IS NOT NULL, 1
	FROM orders o WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.order_id;
END;

CREATE TRIGGER deliveries_stats_update AFTER UPDATE ON deliveries
	WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.order_id IS NOT NEW.order_id OR OLD.destination_id IS NOT NEW.destination_id
		OR OLD.event_name IS NOT NEW.event_name OR OLD.state IS NOT NEW.state OR OLD.reason IS NOT NEW.reason BEGIN
	INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT o.tenant_id, o.created_at / 900000000, OLD.destination_id, OLD.event_name, OLD.state, OLD.reason, o.paid_at IS NOT NULL, -1
	FROM orders o WHERE o.tenant_id = OLD.tenant_id AND o.id = OLD.order_id
	UNION ALL
	SELECT o.tenant_id, o.created_at / 900000000, NEW.destination_id, NEW.event_name, NEW.state, NEW.reason, o.paid_at IS NOT NULL, 1
	FROM orders o WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.order_id;
END;

CREATE TRIGGER deliveries_stats_delete AFTER DELETE ON deliveries BEGIN
	INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT o.tenant_id, o.created_at / 900000000, OLD.destination_id, OLD.event_name, OLD.state, OLD.reason, o.paid_at IS NOT NULL, -1
	FROM orders o WHERE o.tenant_id = OLD.tenant_id AND o.id = OLD.order_id;
END;

INSERT INTO order_stats (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
	SELECT tenant_id, created_at / 900000000, status, provider, currency, count(*), sum(amount_minor),
		count(paid_at), count(CASE WHEN matched THEN paid_at END)
	FROM orders GROUP BY 1, 2, 3, 4, 5;
INSERT INTO delivery_stats (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT d.tenant_id, o.created_at / 900000000, d.destination_id, d.event_name, d.state, d.reason, o.paid_at IS NOT NULL, count(*)
	FROM deliveries d JOIN orders o ON o.tenant_id = d.tenant_id AND o.id = d.order_id GROUP BY 1, 2, 3, 4, 5, 6, 7;
`,
	},
	{
		// graph_url was a tenant setting that pointed Hub, token and all, at any address; the
		// Graph API's address is now the operator's (HUB_META_GRAPH_URL) and the setting is
		// refused, so it is taken out of every stored config.
		Name: "destinations: drop the graph_url setting",
		Postgres: `UPDATE destinations SET config = config - 'graph_url'
	WHERE jsonb_typeof(config) = 'object' AND jsonb_exists(config, 'graph_url');`,
		SQLite: `UPDATE destinations SET config = json_remove(config, '$.graph_url')
	WHERE json_valid(config) AND json_type(config) = 'object' AND json_type(config, '$.graph_url') IS NOT NULL;`,
	},
	{
		// A send is recorded before the request leaves (an attempt in flight, with the batch's
		// request id and event ids), so a crash between the send and its outcome is seen, and
		// the next send is counted as a resend after crash (deliveries.resends).
		Name: "attempts in flight and resends after crash",
		Up: `
ALTER TABLE deliveries ADD COLUMN in_flight boolean NOT NULL DEFAULT false;
ALTER TABLE deliveries ADD COLUMN resends integer NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN request_id text NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN event_ids text NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN resend boolean NOT NULL DEFAULT false;
`,
	},
	{
		// Each gateway of a source gets its own URL token, so one gateway's URL cannot post
		// another gateway's deliveries. Every gateway a source already uses keeps the URL it
		// has today, for itself alone: the source's old token becomes that gateway's token.
		// "Uses" means a secret is configured, or a delivery was accepted (Appmax needs no
		// secret). Other gateways get a fresh token when they are enabled.
		Name: "webhook tokens per gateway",
		Up: `
CREATE TABLE webhook_tokens (
	token      text COLLATE "C" NOT NULL,
	tenant_id  text COLLATE "C" NOT NULL,
	source_id  text COLLATE "C" NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
	provider   text NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (token, provider),
	UNIQUE (source_id, provider)
);
CREATE INDEX webhook_tokens_tenant ON webhook_tokens (tenant_id, source_id);

INSERT INTO webhook_tokens (token, tenant_id, source_id, provider, created_at)
	SELECT s.webhook_token, s.tenant_id, s.id, u.provider, s.created_at
	FROM sources s JOIN (
		SELECT source_id, provider FROM gateway_secrets
		UNION
		SELECT source_id, provider FROM inbox WHERE state <> 'rejected'
	) u ON u.source_id = s.id;
`,
	},
	{
		// Dashboard users get the API's roles (existing users become admins), can be disabled,
		// and carry the moment before which their sessions no longer count.
		Name: "dashboard user roles",
		Up: `
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'admin';
ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN sessions_since timestamptz;
CREATE INDEX sessions_user ON sessions (user_id);
`,
	},
	{
		// A replica proves it can commit by writing its row here (readiness, at most every few
		// seconds); rows of replicas gone for a day are deleted by the next beat.
		Name: "replica heartbeats",
		Up: `
CREATE TABLE replica_heartbeats (
	replica text COLLATE "C" PRIMARY KEY,
	beat_at timestamptz NOT NULL
);
`,
	},
	{
		// Operators find an order by the visitor it was attributed to (GET /orders?visitor_id=).
		Name: "attributions by visitor",
		Up: `
CREATE INDEX attributions_visitor ON attributions (tenant_id, visitor_id) WHERE visitor_id <> '';
`,
	},
	{
		// The dashboard shows times and cuts report days in the tenant's time zone; the setup
		// checklist ticks "test event" only after the platform accepted one.
		Name: "tenant time zone and destination test",
		Up: `
ALTER TABLE tenants ADD COLUMN time_zone text NOT NULL DEFAULT 'America/Sao_Paulo';
ALTER TABLE destinations ADD COLUMN test_accepted_at timestamptz;
`,
	},
	{
		// A webhook destination hears that another delivery died (delivery.dead): that
		// notification is a delivery of its own whose subject is the dead delivery, with no
		// order or touchpoint; one per dead delivery and destination.
		Name: "deliveries about a dead delivery",
		Up: `
ALTER TABLE deliveries ADD COLUMN subject_id text COLLATE "C" REFERENCES deliveries (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX deliveries_subject ON deliveries (subject_id, event_name, destination_id) WHERE subject_id IS NOT NULL;
`,
	},
	{
		// The visitor's GA4 sessions (the _ga_<container> cookies), "<container>:<session_id>"
		// pairs, so a purchase reaches GA4 in the session of the visit it is credited to.
		Name: "touchpoint GA4 sessions",
		Up: `
ALTER TABLE touchpoints ADD COLUMN ga_sessions text NOT NULL DEFAULT '';
`,
	},
	{
		// The dashboard speaks the language the user chose, on any browser: "" until one is
		// chosen ("pt-BR" or "en").
		Name: "user language",
		Up: `
ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT '';
`,
	},
	{
		// PostgreSQL: touchpoints, the one table that grows with traffic, become a table
		// partitioned by day of occurred_at (UTC), so retention drops a whole day instead of
		// deleting its rows one by one. A unique index of a partitioned table must contain the
		// partition key, and occurred_at is not a value a retry reproduces (it is the receive time
		// when the client sends none), so the retry idempotency of (source_id, client_event_id)
		// moves to touchpoint_events, a narrow unpartitioned table written in the same statement
		// as the touchpoints (docs/architecture.md §4 says why and what else was considered).
		// The primary key becomes (id, occurred_at).
		//
		// The existing table is not copied: it becomes the partition of everything before
		// tomorrow (touchpoints_before_YYYYMMDD, its indexes attached to the new ones), which
		// retention empties row by row as before and drops once its last day is past the cut.
		// Days from tomorrow get their own partitions (hub_touchpoints_partition, which moves
		// that day's rows out of the default partition first); touchpoints_default takes a row
		// whose day has none, so an insert never fails; hub_touchpoints_drop_before drops the
		// partitions wholly before a cut-off. The migration reads the table twice (the range
		// check, the retry keys) and builds one index, (id, occurred_at). SQLite keeps one
		// unpartitioned table.
		Name: "touchpoints partitioned by day",
		Postgres: `
DO $$
DECLARE
	tomorrow date := (now() AT TIME ZONE 'UTC')::date + 1;
	hi timestamptz := tomorrow::timestamp AT TIME ZONE 'UTC';
	legacy text := 'touchpoints_before_' || to_char(tomorrow, 'YYYYMMDD');
	ix text;
BEGIN
	EXECUTE format('ALTER TABLE touchpoints RENAME TO %I', legacy);
	FOREACH ix IN ARRAY ARRAY['client_event', 'tenant_id', 'visitor', 'network', 'fbclid', 'fbc', 'gclid', 'ttclid', 'email', 'phone', 'occurred'] LOOP
		EXECUTE format('ALTER INDEX %I RENAME TO %I', 'touchpoints_' || ix, legacy || '_' || ix);
	END LOOP;
	EXECUTE format('ALTER TABLE %I DROP CONSTRAINT touchpoints_pkey', legacy);
	EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (id, occurred_at)', legacy, legacy || '_pkey');
	EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (occurred_at < %L)', legacy, legacy || '_range', hi);
	EXECUTE format('CREATE TABLE touchpoints (LIKE %I INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at)', legacy);
	ALTER TABLE touchpoints ADD PRIMARY KEY (id, occurred_at);
	EXECUTE format('ALTER TABLE touchpoints ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', legacy, hi);
END
$$;

CREATE TABLE touchpoints_default PARTITION OF touchpoints DEFAULT;

-- The partitioned table's indexes: each attaches the old table's identical index.
CREATE INDEX touchpoints_tenant_id ON touchpoints (tenant_id, id);
CREATE INDEX touchpoints_visitor ON touchpoints (tenant_id, visitor_id, occurred_at);
CREATE INDEX touchpoints_network ON touchpoints (tenant_id, ip, user_agent, occurred_at);
CREATE INDEX touchpoints_fbclid ON touchpoints (tenant_id, fbclid) WHERE fbclid <> '';
CREATE INDEX touchpoints_fbc ON touchpoints (tenant_id, fbc) WHERE fbc <> '';
CREATE INDEX touchpoints_gclid ON touchpoints (tenant_id, gclid) WHERE gclid <> '';
CREATE INDEX touchpoints_ttclid ON touchpoints (tenant_id, ttclid) WHERE ttclid <> '';
CREATE INDEX touchpoints_email ON touchpoints (tenant_id, email_hash) WHERE email_hash <> '';
CREATE INDEX touchpoints_phone ON touchpoints (tenant_id, phone_hash) WHERE phone_hash <> '';
CREATE INDEX touchpoints_occurred ON touchpoints USING brin (occurred_at);

CREATE TABLE touchpoint_events (
	source_id       text COLLATE "C" NOT NULL,
	client_event_id text NOT NULL,
	touchpoint_id   text COLLATE "C" NOT NULL,
	occurred_at     timestamptz NOT NULL,
	PRIMARY KEY (source_id, client_event_id)
);
INSERT INTO touchpoint_events (source_id, client_event_id, touchpoint_id, occurred_at)
	SELECT source_id, client_event_id, id, occurred_at FROM touchpoints WHERE client_event_id <> '';
CREATE INDEX touchpoint_events_occurred ON touchpoint_events USING brin (occurred_at);

CREATE FUNCTION hub_touchpoints_partition(d date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	part text := 'touchpoints_p' || to_char(d, 'YYYYMMDD');
	lo timestamptz := d::timestamp AT TIME ZONE 'UTC';
	hi timestamptz := (d + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('hub.touchpoints.partitions:' || current_schema()));
	IF to_regclass(quote_ident(part)) IS NOT NULL OR EXISTS (
		SELECT 1 FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
		WHERE i.inhparent = 'touchpoints'::regclass AND p.relname ~ '^touchpoints_before_[0-9]{8}$'
			AND d < to_date(substr(p.relname, 20), 'YYYYMMDD')) THEN
		RETURN false;
	END IF;
	EXECUTE format('CREATE TABLE %I (LIKE touchpoints INCLUDING DEFAULTS)', part);
	EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L)', part, part || '_range', lo, hi);
	EXECUTE format('WITH moved AS (DELETE FROM touchpoints_default WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved', part) USING lo, hi;
	EXECUTE format('ALTER TABLE touchpoints ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
	RETURN true;
END
$$;

CREATE FUNCTION hub_touchpoints_drop_before(cut timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	part text;
	c bigint;
	n bigint := 0;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('hub.touchpoints.partitions:' || current_schema()));
	FOR part IN SELECT relname FROM (
		SELECT p.relname, CASE
			WHEN p.relname ~ '^touchpoints_p[0-9]{8}$' THEN to_date(substr(p.relname, 14), 'YYYYMMDD') + 1
			WHEN p.relname ~ '^touchpoints_before_[0-9]{8}$' THEN to_date(substr(p.relname, 20), 'YYYYMMDD')
		END AS ends
		FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
		WHERE i.inhparent = 'touchpoints'::regclass) parts
		WHERE ends::timestamp AT TIME ZONE 'UTC' <= cut
		ORDER BY relname
	LOOP
		EXECUTE format('ALTER TABLE touchpoints DETACH PARTITION %I', part);
		EXECUTE format('SELECT count(*) FROM %I', part) INTO c;
		EXECUTE format('DROP TABLE %I', part);
		n := n + c;
	END LOOP;
	RETURN n;
END
$$;

SELECT hub_touchpoints_partition((now() AT TIME ZONE 'UTC')::date + k) FROM generate_series(1, 7) AS k;
`,
		// Nothing to do on SQLite, which has no partitioning: an explicit no-op, so the
		// migration is recorded there too and the statement check sees it was not forgotten.
		SQLite: `SELECT 1`,
	},
	{
		// The identifier keys each delivered event carried (dest.Keys bits; NULL: not recorded,
		// e.g. sent before this column), counted per destination and period by delivery time.
		Name: "delivery identifier keys",
		Up: `
ALTER TABLE deliveries ADD COLUMN identifier_keys bigint;
CREATE INDEX deliveries_keys ON deliveries (tenant_id, destination_id, delivered_at) WHERE identifier_keys IS NOT NULL;
`,
	},
	{
		// Consent per purpose (Google's ad_user_data and ad_personalization, and analytics)
		// and a browser lead's e-mail and phone hashed by Google's and TikTok's rules, so a
		// lead reaches Google Ads and TikTok with the hashes they match on. NULL when absent:
		// most touchpoints carry none of them.
		Name: "touchpoint consent signals and platform hashes",
		Up: `
ALTER TABLE touchpoints ADD COLUMN ad_user_data text;
ALTER TABLE touchpoints ADD COLUMN ad_personalization text;
ALTER TABLE touchpoints ADD COLUMN analytics_consent text;
ALTER TABLE touchpoints ADD COLUMN google_email_hash text;
ALTER TABLE touchpoints ADD COLUMN google_phone_hash text;
ALTER TABLE touchpoints ADD COLUMN tiktok_phone_hash text;
`,
	},
	{
		// Ad accounts a tenant connected (package spend) and their daily cost per ad. Days
		// are the account's calendar days as text (YYYY-MM-DD); spend is in the account's
		// currency, in millionths of its unit. A re-import upserts on (account, ad, day).
		Name: "ad accounts and spend",
		Up: `
CREATE TABLE ad_accounts (
	id                  text COLLATE "C" PRIMARY KEY,
	tenant_id           text COLLATE "C" NOT NULL REFERENCES tenants (id),
	platform            text NOT NULL,
	external_id         text NOT NULL,
	name                text NOT NULL,
	currency            text NOT NULL,
	time_zone           text NOT NULL,
	credentials         text NOT NULL,
	backfilled_through  text NOT NULL DEFAULT '',
	backfill_done       boolean NOT NULL DEFAULT false,
	last_success_at     timestamptz,
	last_attempt_at     timestamptz,
	last_error          text NOT NULL DEFAULT '',
	retry_at            timestamptz,
	created_at          timestamptz NOT NULL,
	updated_at          timestamptz NOT NULL,
	UNIQUE (tenant_id, platform, external_id)
);

CREATE TABLE ad_spend (
	account_id    text COLLATE "C" NOT NULL REFERENCES ad_accounts (id) ON DELETE CASCADE,
	ad_id         text NOT NULL,
	day           text NOT NULL,
	tenant_id     text COLLATE "C" NOT NULL,
	platform      text NOT NULL,
	campaign_id   text NOT NULL,
	campaign_name text NOT NULL,
	adset_id      text NOT NULL,
	adset_name    text NOT NULL,
	ad_name       text NOT NULL,
	currency      text NOT NULL,
	spend_micros  bigint NOT NULL,
	impressions   bigint NOT NULL,
	clicks        bigint NOT NULL,
	imported_at   timestamptz NOT NULL,
	PRIMARY KEY (account_id, ad_id, day)
);
CREATE INDEX ad_spend_tenant_day ON ad_spend (tenant_id, day);
`,
	},
	{
		// The spend import's own state (package spendimport): paused after a permanent refusal
		// until the tenant updates the credentials, and when the trailing revision window was
		// last imported again.
		Name: "ad account import pause and revision",
		Up: `
ALTER TABLE ad_accounts ADD COLUMN paused boolean NOT NULL DEFAULT false;
ALTER TABLE ad_accounts ADD COLUMN revised_at timestamptz;
`,
	},
	{
		// The Campaigns report (issue 19): the ad of each attribution's click and its time,
		// kept with the attribution because touchpoints are pruned; the tenant's money
		// settings; and the indexes that let the report read a period's payments, reversals
		// and clicks without scanning every order.
		Name: "attribution ad and money settings",
		Up: `
ALTER TABLE attributions ADD COLUMN ad_platform text NOT NULL DEFAULT '';
ALTER TABLE attributions ADD COLUMN ad_campaign_id text NOT NULL DEFAULT '';
ALTER TABLE attributions ADD COLUMN ad_campaign_name text NOT NULL DEFAULT '';
ALTER TABLE attributions ADD COLUMN ad_adset_id text NOT NULL DEFAULT '';
ALTER TABLE attributions ADD COLUMN ad_adset_name text NOT NULL DEFAULT '';
ALTER TABLE attributions ADD COLUMN ad_id text NOT NULL DEFAULT '';
ALTER TABLE attributions ADD COLUMN ad_name text NOT NULL DEFAULT '';
ALTER TABLE attributions ADD COLUMN click_at timestamptz;
CREATE INDEX attributions_click ON attributions (tenant_id, click_at) WHERE click_at IS NOT NULL;
CREATE INDEX orders_paid ON orders (tenant_id, paid_at, provider, currency, amount_minor, id) WHERE paid_at IS NOT NULL;
CREATE INDEX order_history_reversal ON order_history (tenant_id, occurred_at) WHERE status IN ('refunded', 'chargeback') AND applied;

CREATE TABLE money_settings (
	tenant_id        text COLLATE "C" PRIMARY KEY REFERENCES tenants (id),
	currency         text NOT NULL,
	tax_basis_points bigint NOT NULL,
	fees             jsonb NOT NULL,
	product_costs    jsonb NOT NULL,
	rates            jsonb NOT NULL,
	updated_at       timestamptz NOT NULL
);
`,
	},
	{
		// Alerts (package alert): one row per raised alert, open while resolved_at is NULL. The
		// partial unique index keeps one open alert per tenant, kind and subject, so replicas
		// evaluating the same condition at once raise it once (the insert that loses does
		// nothing); resolving is a conditional update. A tenant's alert settings are one JSON
		// document.
		Name: "alerts",
		Up: `
CREATE TABLE alerts (
	id           text COLLATE "C" PRIMARY KEY,
	tenant_id    text COLLATE "C" NOT NULL REFERENCES tenants (id),
	kind         text NOT NULL,
	subject      text NOT NULL,
	subject_name text NOT NULL,
	detail       text NOT NULL,
	raised_at    timestamptz NOT NULL,
	resolved_at  timestamptz
);
CREATE UNIQUE INDEX alerts_open ON alerts (tenant_id, kind, subject) WHERE resolved_at IS NULL;
CREATE INDEX alerts_tenant ON alerts (tenant_id, id);

CREATE TABLE alert_settings (
	tenant_id text COLLATE "C" PRIMARY KEY REFERENCES tenants (id),
	settings  text NOT NULL
);
`,
	},
	{
		// The event ids the snippet shared with the browser Pixel (issue 18): the dashboard's
		// browser-server deduplication coverage joins them with the Purchases delivered to Meta.
		Name: "pixel event ids",
		Up: `
CREATE TABLE pixel_events (
	tenant_id   text COLLATE "C" NOT NULL,
	event_name  text NOT NULL,
	event_id    text NOT NULL,
	source_id   text NOT NULL,
	received_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, event_name, event_id)
);
CREATE INDEX pixel_events_received ON pixel_events (received_at);
`,
	},
	{
		// The Campaigns report's reads as index-only scans: spend per ad in the order it is
		// grouped (no sort of every ad's every day), spend per day, and the ad of each
		// attribution without reading its explanation and candidates.
		Name: "campaigns report covering indexes",
		Up: `
CREATE INDEX ad_spend_by_ad ON ad_spend (tenant_id, platform, currency, campaign_id, adset_id, ad_id, day, spend_micros,
	impressions, clicks, campaign_name, adset_name, ad_name);
CREATE INDEX ad_spend_by_day ON ad_spend (tenant_id, day, platform, currency, spend_micros, impressions, clicks);
CREATE INDEX attributions_ad ON attributions (order_id, tenant_id, ad_platform, ad_campaign_id, ad_adset_id, ad_id,
	ad_campaign_name, ad_adset_name, ad_name, click_at);
`,
	},
	{
		// The Campaigns report (issue 19) without joining the attributions: each order keeps a
		// copy of its attribution's ad and click time (PutAttribution writes both in one
		// transaction; existing attributions are copied here), and orders_ad holds a tenant's
		// paid orders in the order the report groups them per ad, so its read streams the groups
		// instead of sorting every order of the period. attributions_ad served only that join.
		Name: "orders carry their click's ad",
		Up: `
ALTER TABLE orders ADD COLUMN ad_platform text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN ad_campaign_id text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN ad_campaign_name text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN ad_adset_id text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN ad_adset_name text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN ad_id text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN ad_name text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN click_at timestamptz;
UPDATE orders SET ad_platform = a.ad_platform, ad_campaign_id = a.ad_campaign_id, ad_campaign_name = a.ad_campaign_name,
	ad_adset_id = a.ad_adset_id, ad_adset_name = a.ad_adset_name, ad_id = a.ad_id, ad_name = a.ad_name, click_at = a.click_at
	FROM attributions a WHERE a.order_id = orders.id AND a.tenant_id = orders.tenant_id;
CREATE INDEX orders_ad ON orders (tenant_id, ad_platform, ad_campaign_id, ad_adset_id, ad_id, provider, currency, paid_at,
	amount_minor, click_at, ad_campaign_name, ad_adset_name, ad_name) WHERE paid_at IS NOT NULL;
DROP INDEX attributions_ad;
`,
	},
	{
		// Fewer and smaller index entries per touchpoint (issue 15: the row's index entries
		// are most of what an ingested event costs PostgreSQL). touchpoints_fbc goes on both
		// stores: nothing looks touchpoints up by fbc (attribution and delivery look up the
		// fbclid, taken from the fbc when the order has only that), yet every page view of a
		// visitor who came from a Meta ad wrote an entry. On PostgreSQL the network index keeps
		// a 64-bit hash of the IP and user agent instead of both texts (a user agent is about
		// a hundred bytes; TouchpointsByNetwork compares the texts too, so a collision costs a
		// row read, never a wrong match), and the partition that held the table before it was
		// partitioned by day loses its own unique index on (source, client event id), which no
		// other partition has: touchpoint_events holds every retry key since that migration
		// copied them, and a fresh database writes its first day into that partition.
		Name: "cheaper touchpoint indexes",
		Up: `
DROP INDEX touchpoints_fbc;
`,
		Postgres: `
CREATE INDEX touchpoints_network_hash ON touchpoints (tenant_id, hashtextextended(ip || ' ' || user_agent, 0), occurred_at);
DROP INDEX touchpoints_network;
DO $$
DECLARE
	ix text;
BEGIN
	FOR ix IN SELECT c.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
		JOIN pg_index x ON x.indrelid = p.oid JOIN pg_class c ON c.oid = x.indexrelid
		WHERE i.inhparent = 'touchpoints'::regclass AND c.relname ~ '^touchpoints_before_[0-9]{8}_client_event$'
	LOOP
		EXECUTE format('DROP INDEX %I', ix);
	END LOOP;
END
$$;
`,
	},
	{
		// One index entry less per touchpoint on PostgreSQL (issue 15): the primary key leads
		// with the tenant, (tenant_id, id, occurred_at), and takes over from touchpoints_tenant_id
		// (tenant_id, id), which every read by id or list in id order already named the tenant
		// for. An id is unique on its own (a UUIDv7 made on receipt), so a retry of the same
		// touchpoint still conflicts. The new key is built on every partition while the table is
		// locked, like one index build over all touchpoints.
		Name: "touchpoints keyed by tenant",
		Postgres: `
ALTER TABLE touchpoints DROP CONSTRAINT touchpoints_pkey;
ALTER TABLE touchpoints ADD PRIMARY KEY (tenant_id, id, occurred_at);
DROP INDEX touchpoints_tenant_id;
`,
		SQLite: `SELECT 1`,
	},
	{
		// The Campaigns report's campaign level (issue 19) without reading every ad's every
		// day: UpsertSpend sums each (account, day) it writes per platform, currency and
		// campaign into ad_spend_campaign_day in the same transaction (DeleteAdAccount removes
		// the account's sums), so the report reads about one row per campaign and day.
		Name: "spend per campaign and day",
		Up: `
CREATE TABLE ad_spend_campaign_day (
	account_id    text COLLATE "C" NOT NULL,
	day           text NOT NULL,
	platform      text NOT NULL,
	currency      text NOT NULL,
	campaign_id   text NOT NULL,
	tenant_id     text COLLATE "C" NOT NULL,
	campaign_name text NOT NULL,
	spend_micros  bigint NOT NULL,
	impressions   bigint NOT NULL,
	clicks        bigint NOT NULL,
	PRIMARY KEY (account_id, day, platform, currency, campaign_id)
);
CREATE INDEX ad_spend_campaign_day_tenant ON ad_spend_campaign_day (tenant_id, day, platform, currency, campaign_id,
	spend_micros, impressions, clicks, campaign_name);
CREATE INDEX ad_spend_account_day ON ad_spend (account_id, day);
INSERT INTO ad_spend_campaign_day (account_id, day, platform, currency, campaign_id, tenant_id, campaign_name,
	spend_micros, impressions, clicks)
	SELECT account_id, day, platform, currency, campaign_id, max(tenant_id), max(campaign_name),
		CAST(sum(spend_micros) AS bigint), CAST(sum(impressions) AS bigint), CAST(sum(clicks) AS bigint)
	FROM ad_spend GROUP BY account_id, day, platform, currency, campaign_id;
`,
	},
	{
		// The intake's sweep (issue 15) replaces the safety-net job every webhook enqueued: a
		// delivery still received a minute after it arrived gets its processing job then, once
		// (swept_at). inbox_unswept holds only those deliveries, so the sweep reads none of the
		// processed ones. Deliveries stored before this had their safety-net job enqueued with
		// them: they count as swept.
		Name: "inbox sweep",
		Up: `
ALTER TABLE inbox ADD COLUMN swept_at timestamptz;
UPDATE inbox SET swept_at = received_at WHERE state = 'received';
CREATE INDEX inbox_unswept ON inbox (received_at) WHERE state = 'received' AND swept_at IS NULL;
`,
	},
	{
		// Room on each page for HOT updates (issue 15), PostgreSQL only. A delivery is updated in
		// place twice per send: marked in flight (no indexed column changes, so the update can be
		// HOT, writing no index entry, if the new row version fits on the row's page) and given
		// its outcome (state changes: a new entry in each of its indexes whatever the page). An
		// attempt gets its outcome (no indexed column). At the default fillfactor 100 rows are
		// inserted in order into full pages, so most of these updates found no room and wrote an
		// entry in every index. Room is needed for a whole transaction's new versions at once
		// (the old ones are pruned only after it commits): the worker marks a batch in flight in
		// one transaction and group-commits the batch's outcomes in one, and a batch's rows are
		// neighbours (its attempts are inserted together; with one destination, its deliveries
		// too). An attempt row is about 720 bytes (it lists its batch's event ids): 50 leaves
		// every row of a page room for its new version. A delivery row is about 280 bytes: 60
		// leaves a page of 17 rows room for 11 new versions, which made every in-flight mark HOT
		// with five destinations and 92 % of them with one (BenchmarkDeliveryUpdates,
		// docs/benchmarks-history.md). The setting applies to pages filled from now on: rows already
		// stored keep their pages until a rewrite (VACUUM FULL, pg_repack). Setting it takes a
		// SHARE UPDATE EXCLUSIVE lock, which blocks no read or write.
		Name: "deliveries and attempts keep room for HOT updates",
		Postgres: `
ALTER TABLE deliveries SET (fillfactor = 60);
ALTER TABLE attempts SET (fillfactor = 50);
`,
		// SQLite has no fillfactor: an explicit no-op, so the migration is recorded there too.
		SQLite: `SELECT 1`,
	},
	{
		// The delivery outbox's fast path (issue 15): a purchase's first attempt runs in the
		// process that committed it, with no River job; queued says whether one was enqueued.
		// Rows stored before this had their job enqueued with them: queued. deliveries_unqueued
		// holds only the deliveries still waiting for a job, so the sweep that enqueues those
		// whose replica stopped reads none of the others. It is keyed by created_at, which no
		// update changes, not updated_at: an index on updated_at would make every in-flight
		// mark (which writes updated_at) a non-HOT update (see the fillfactor migration above).
		Name: "deliveries queued",
		Up: `
ALTER TABLE deliveries ADD COLUMN queued boolean NOT NULL DEFAULT true;
CREATE INDEX deliveries_unqueued ON deliveries (created_at) WHERE NOT queued AND state IN ('pending', 'retrying');
`,
	},
	{
		// A PostgreSQL transaction's last writes travel in one batch with its COMMIT
		// (internal/store/postgres, pipeTx). A write that must change a row (an UPDATE of a row
		// read earlier, a conditional update) is sent there as
		// WITH w AS (... RETURNING 1) SELECT hub_must_affect(count(*)) FROM w, so that when it
		// changes none PostgreSQL fails it and skips the COMMIT. HB001 is Hub's own SQLSTATE
		// (class HB is not PostgreSQL's), so nothing else reads as "no row".
		Name: "hub_must_affect",
		Postgres: `
CREATE FUNCTION hub_must_affect(n bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	IF n = 0 THEN
		RAISE EXCEPTION 'hub: a write that had to change a row changed none; its transaction is rolled back'
			USING ERRCODE = 'HB001';
	END IF;
	RETURN n;
END
$$;
`,
		// SQLite sends every write at once and reads its rows affected: nothing to create.
		SQLite: `SELECT 1`,
	},
	{
		// Less work per purchase for PostgreSQL (issue 15), SQLite unchanged.
		//
		// hub_quarter is inlined: extract(epoch FROM timestamptz) is only STABLE, so the planner
		// would not inline a function declared IMMUTABLE around it and ran it as a separate SQL
		// function call, 4 per purchase. The epoch of the interval since 2000-01-01 UTC plus that
		// day's unix seconds is the same number (timestamptz - timestamptz is days and
		// microseconds, no months, exact; 2000-01-01 is PostgreSQL's own zero, so the difference
		// never overflows, as one from 1970 would near the year 294276) and immutable
		// (TestQuarterInlined compares both over edge cases).
		//
		// The stats triggers write a row's -1 and +1 deltas in one statement: an update of a
		// delivery (its state) reads its order once, not twice, and an update of an order writes
		// its two order deltas (and, when its quarter or paid state changes, its deliveries' two
		// sets) in one statement each. The deltas written are the same rows as before.
		//
		// The deliveries' unique key (order_id, event_name, destination_id) carries tenant_id,
		// state and reason (INCLUDE) and takes over from deliveries_order (tenant_id, order_id,
		// destination_id, event_name, state, reason): one index entry less per inserted delivery
		// and per non-HOT update. Every read through deliveries_order names the order (an id
		// unique to the tenant): the report's deliveries of the period's edge orders, the gap
		// list's anti-join on (order, destination, event), DeliveriesOfOrders, ListDeliveries by
		// order and the order trigger. On 100k orders and deliveries over 3 tenants (ANALYZEd)
		// each still gets an index-only scan (an index scan where the row is read anyway) of the
		// same cost, the order id leading the key and the tenant checked in the index: the
		// report's 15-minute edge 46 buffers either way (nested loop, 11 orders), the gap
		// anti-join 601 buffers for 200 orders either way, DeliveriesOfOrders 50 probes, 204
		// buffers either way, by order, trigger and conflict read 3-4 buffers either way. The one
		// plan deliveries_order did better is a stats row read over a whole long period (a hash
		// join over the tenant's deliveries, 653 buffers against 3,358 for a day): the reports
		// read rows only for the ragged edges of a period, under 15 minutes, unless the zone's
		// offset is not whole quarter hours (no zone today). The inbox keeps its five indexes,
		// each the only one for its reads (retention, the sweep, lists, the erasure by order).
		// The new index is built while the table is locked against writes, like any index build
		// in a migration. SQLite cannot change a table's UNIQUE constraint without rebuilding the
		// table and has no INCLUDE: it keeps both.
		Name: "cheaper purchase writes",
		Postgres: `
CREATE OR REPLACE FUNCTION hub_quarter(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CAST(floor((extract(epoch FROM t - timestamptz '2000-01-01 00:00:00+00') + 946684800) / 900) AS bigint) $$;

CREATE OR REPLACE FUNCTION hub_orders_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
		VALUES (NEW.tenant_id, hub_quarter(NEW.created_at), NEW.status, NEW.provider, NEW.currency, 1, NEW.amount_minor,
			CASE WHEN NEW.paid_at IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN NEW.paid_at IS NOT NULL AND NEW.matched THEN 1 ELSE 0 END);
		RETURN NULL;
	END IF;
	IF TG_OP = 'DELETE' THEN
		INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
		VALUES (OLD.tenant_id, hub_quarter(OLD.created_at), OLD.status, OLD.provider, OLD.currency, -1, -OLD.amount_minor,
			-(CASE WHEN OLD.paid_at IS NOT NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.paid_at IS NOT NULL AND OLD.matched THEN 1 ELSE 0 END));
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT d.tenant_id, hub_quarter(OLD.created_at), d.destination_id, d.event_name, d.state, d.reason, OLD.paid_at IS NOT NULL, -1
		FROM deliveries d WHERE d.tenant_id = OLD.tenant_id AND d.order_id = OLD.id;
		RETURN NULL;
	END IF;
	INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched)
	VALUES (OLD.tenant_id, hub_quarter(OLD.created_at), OLD.status, OLD.provider, OLD.currency, -1, -OLD.amount_minor,
			-(CASE WHEN OLD.paid_at IS NOT NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.paid_at IS NOT NULL AND OLD.matched THEN 1 ELSE 0 END)),
		(NEW.tenant_id, hub_quarter(NEW.created_at), NEW.status, NEW.provider, NEW.currency, 1, NEW.amount_minor,
			CASE WHEN NEW.paid_at IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN NEW.paid_at IS NOT NULL AND NEW.matched THEN 1 ELSE 0 END);
	-- Deliveries are counted by their order's quarter and paid state: move them when either changes.
	IF OLD.tenant_id = NEW.tenant_id AND OLD.created_at = NEW.created_at AND (OLD.paid_at IS NULL) = (NEW.paid_at IS NULL) THEN
		RETURN NULL;
	END IF;
	INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT d.tenant_id, v.quarter, d.destination_id, d.event_name, d.state, d.reason, v.paid, v.n
	FROM (VALUES (OLD.tenant_id, OLD.id, hub_quarter(OLD.created_at), OLD.paid_at IS NOT NULL, -1),
		(NEW.tenant_id, NEW.id, hub_quarter(NEW.created_at), NEW.paid_at IS NOT NULL, 1)) v (tenant_id, order_id, quarter, paid, n)
	JOIN deliveries d ON d.tenant_id = v.tenant_id AND d.order_id = v.order_id;
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION hub_deliveries_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.tenant_id = NEW.tenant_id AND OLD.order_id = NEW.order_id THEN
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT o.tenant_id, hub_quarter(o.created_at), v.destination_id, v.event_name, v.state, v.reason, o.paid_at IS NOT NULL, v.n
		FROM orders o, (VALUES (OLD.destination_id, OLD.event_name, OLD.state, OLD.reason, -1),
			(NEW.destination_id, NEW.event_name, NEW.state, NEW.reason, 1)) v (destination_id, event_name, state, reason, n)
		WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.order_id;
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT o.tenant_id, hub_quarter(o.created_at), OLD.destination_id, OLD.event_name, OLD.state, OLD.reason, o.paid_at IS NOT NULL, -1
		FROM orders o WHERE o.tenant_id = OLD.tenant_id AND o.id = OLD.order_id;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT o.tenant_id, hub_quarter(o.created_at), NEW.destination_id, NEW.event_name, NEW.state, NEW.reason, o.paid_at IS NOT NULL, 1
		FROM orders o WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.order_id;
	END IF;
	RETURN NULL;
END
$$;

CREATE UNIQUE INDEX deliveries_order_key ON deliveries (order_id, event_name, destination_id) INCLUDE (tenant_id, state, reason);
ALTER TABLE deliveries DROP CONSTRAINT deliveries_order_id_event_name_destination_id_key;
DROP INDEX deliveries_order;
`,
		SQLite: `SELECT 1`,
	},
	{
		// A request's event ids once per request, not once per attempt (issue 15). The
		// delivery worker recorded every event id of a batch on each of the batch's attempts:
		// n² ids for a batch of n, and Meta takes batches of up to 1,000 events (Google Ads
		// 2,000), so at a launch peak, when batches fill, each attempt's row grew with the
		// batch (bench/ingest with DESTINATION=meta: 1.5 kB of WAL per attempt at batches of
		// a few dozen). Attempts stored before this keep their own ids; new ones name their
		// request, whose ids ListAttempts reads.
		Name: "attempt requests",
		Up: `
CREATE TABLE attempt_requests (
	tenant_id text COLLATE "C" NOT NULL,
	id        text COLLATE "C" NOT NULL,
	at        timestamptz NOT NULL,
	event_ids text NOT NULL,
	PRIMARY KEY (tenant_id, id)
);
`,
	},
	{
		// Less work per delivery of a browser event (a lead, a checkout; issue 15). Such a
		// delivery has no order (order_id NULL), yet each of its writes paid for the order's
		// bookkeeping: an entry in deliveries_order_key, on insert and again on the update to
		// delivered (a state change is not HOT, so every index gets a new entry), and a call
		// of hub_deliveries_stats, which joins the order and so writes nothing for it. The key
		// keeps only deliveries with an order: every read through it names an order
		// (order_id = ..., which implies order_id IS NOT NULL, so the planner still takes it),
		// and uniqueness is the same (NULLs never conflicted). The stats triggers fire only for
		// a row with an order (WHEN), the same totals (TestStatsTriggersMatchRecount). The new
		// index is built before the old one is dropped, under the migration's lock against
		// writes. SQLite has neither INCLUDE nor a separate key to change, and its triggers are
		// plain SQL: unchanged.
		Name: "deliveries without an order skip the order's bookkeeping",
		Postgres: `
CREATE UNIQUE INDEX deliveries_order_key_partial ON deliveries (order_id, event_name, destination_id) INCLUDE (tenant_id, state, reason)
	WHERE order_id IS NOT NULL;
DROP INDEX deliveries_order_key;
ALTER INDEX deliveries_order_key_partial RENAME TO deliveries_order_key;

DROP TRIGGER deliveries_stats_write ON deliveries;
DROP TRIGGER deliveries_stats_update ON deliveries;
CREATE TRIGGER deliveries_stats_insert AFTER INSERT ON deliveries FOR EACH ROW
	WHEN (NEW.order_id IS NOT NULL)
	EXECUTE FUNCTION hub_deliveries_stats();
CREATE TRIGGER deliveries_stats_delete AFTER DELETE ON deliveries FOR EACH ROW
	WHEN (OLD.order_id IS NOT NULL)
	EXECUTE FUNCTION hub_deliveries_stats();
CREATE TRIGGER deliveries_stats_update AFTER UPDATE ON deliveries FOR EACH ROW
	WHEN ((OLD.order_id IS NOT NULL OR NEW.order_id IS NOT NULL)
		AND (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.order_id IS DISTINCT FROM NEW.order_id
		OR OLD.destination_id IS DISTINCT FROM NEW.destination_id OR OLD.event_name IS DISTINCT FROM NEW.event_name
		OR OLD.state IS DISTINCT FROM NEW.state OR OLD.reason IS DISTINCT FROM NEW.reason))
	EXECUTE FUNCTION hub_deliveries_stats();
`,
		SQLite: `SELECT 1`,
	},
	{
		// The Campaigns report by click day (issue 15) reads the orders whose click, or payment
		// when they have no click, falls in the period: COALESCE(click_at, paid_at). PostgreSQL
		// keeps no statistics of an expression unless told, and guessed a period held half a
		// percent of the orders: for 100k orders it planned a sort for 600 rows, and spilled
		// 95,000 to disk (the report took 266.8 ms at p50, median of three runs). Statistics
		// of the expression give the planner the period's share. A table with orders is
		// analysed now, rather than at autovacuum's next pass over it; an empty one is not,
		// since statistics that say "empty" would make every plan cached before its first
		// orders read it whole (TestLookupsRunOnGenericPlans). SQLite plans without
		// statistics: nothing to do.
		Name: "statistics of the sale time by click",
		Postgres: `
CREATE STATISTICS orders_sale_at ON (COALESCE(click_at, paid_at)) FROM orders;
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM orders) THEN
		ANALYZE orders;
	END IF;
END $$;
`,
		SQLite: `SELECT 1`,
	},
	{
		// The delivery totals' trigger reads a delivery's order by id (issue 15), and as
		// o.tenant_id = ... AND o.id = ... a plan made while orders had no statistics (a new
		// database's first minutes) rated orders_created, which starts with tenant_id and
		// covers the order's time and payment, as cheap as the primary key: it read the
		// tenant's every order before the one with the id. At every delivery written and every
		// change of its state: 187–216 buffers a call on average over 100,000 deliveries in
		// bench/dashboard's seeding (pg_stat_statements, session ab), growing with the
		// tenant's orders. The tenant is now compared as (tenant_id = ...) IS TRUE, the form no
		// index serves (byKey), so the primary key is the only path
		// (TestPurchaseDeliveryPlans). SQLite reads the order through its primary key either way
		// (EXPLAIN QUERY PLAN): unchanged.
		Name: "delivery totals read the order by its key",
		Postgres: `
CREATE OR REPLACE FUNCTION hub_deliveries_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.tenant_id = NEW.tenant_id AND OLD.order_id = NEW.order_id THEN
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT o.tenant_id, hub_quarter(o.created_at), v.destination_id, v.event_name, v.state, v.reason, o.paid_at IS NOT NULL, v.n
		FROM orders o, (VALUES (OLD.destination_id, OLD.event_name, OLD.state, OLD.reason, -1),
			(NEW.destination_id, NEW.event_name, NEW.state, NEW.reason, 1)) v (destination_id, event_name, state, reason, n)
		WHERE o.id = NEW.order_id AND (o.tenant_id = NEW.tenant_id) IS TRUE;
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT o.tenant_id, hub_quarter(o.created_at), OLD.destination_id, OLD.event_name, OLD.state, OLD.reason, o.paid_at IS NOT NULL, -1
		FROM orders o WHERE o.id = OLD.order_id AND (o.tenant_id = OLD.tenant_id) IS TRUE;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT o.tenant_id, hub_quarter(o.created_at), NEW.destination_id, NEW.event_name, NEW.state, NEW.reason, o.paid_at IS NOT NULL, 1
		FROM orders o WHERE o.id = NEW.order_id AND (o.tenant_id = NEW.tenant_id) IS TRUE;
	END IF;
	RETURN NULL;
END
$$;
`,
		SQLite: `SELECT 1`,
	},
	{
		// A day's partition whose statistics say it is empty (reltuples = 0: an ANALYZE or
		// VACUUM of the whole database reached it before its day, as an operator's or the one
		// advised after a major-version upgrade does) is planned as empty: in its day's first
		// minutes a lookup read it whole, until autovacuum analysed it (session v: purchases
		// 5 s at p95 to Meta instead of 44 ms at 1,000 leads/s). A never-analysed partition
		// (reltuples = -1) is planned right. hub_touchpoints_refresh_stats(d), which the hourly
		// retention job runs for today and the days ahead before it creates the missing ones
		// (Store.PrepareTouchpoints), gives such a partition its statistics back: one still
		// empty is dropped and created again (never analysed; PostgreSQL 15 has no way to
		// clear a table's statistics but that), one that holds rows is analysed. It returns
		// whether it created the partition again. Dropping waits for touchpoints' exclusive lock
		// (as detaching does) before it looks at the partition a last time, so no row can land
		// in it meanwhile; the retention job bounds that wait (lock_timeout), and its next run
		// tries again. SQLite has no partitions.
		Name: "touchpoint partitions analysed while empty",
		Postgres: `
CREATE FUNCTION hub_touchpoints_refresh_stats(d date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	part text := 'touchpoints_p' || to_char(d, 'YYYYMMDD');
	empty_stats boolean;
	has_rows boolean;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('hub.touchpoints.partitions:' || current_schema()));
	SELECT c.reltuples = 0 INTO empty_stats
	FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'touchpoints'::regclass AND c.relname = part;
	IF empty_stats IS NOT TRUE THEN
		RETURN false;
	END IF;
	EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part) INTO has_rows;
	IF NOT has_rows THEN
		-- No insert may land in it between the look and the drop: the detach's lock is taken
		-- first, and the partition looked at again.
		LOCK TABLE touchpoints IN ACCESS EXCLUSIVE MODE;
		EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part) INTO has_rows;
	END IF;
	IF has_rows THEN
		EXECUTE format('ANALYZE %I', part);
		RETURN false;
	END IF;
	EXECUTE format('ALTER TABLE touchpoints DETACH PARTITION %I', part);
	EXECUTE format('DROP TABLE %I', part);
	RETURN hub_touchpoints_partition(d);
END
$$;
`,
		SQLite: `SELECT 1`,
	},
	{
		// The intake reads an order by its gateway's key before every purchase, refund and
		// chargeback (issue 15). As tenant_id = ... AND provider = ... AND external_id = ...
		// its plan, made while orders had no statistics and kept as a generic plan by the
		// lookups' batch, read orders_created (tenant_id first, provider among its columns)
		// rather than the key's unique index: every order of the tenant's and provider's, to
		// find none. In a new installation's first minute at 300 purchases/s
		// (bench/delivery WARMUP=0, session af) it read 1,414 buffers and took 3.2 ms a call on
		// average, 57 s of statement time for 18,000 orders, and more with every order, until
		// an ANALYZE replaced the plan; autovacuum ran none in that minute. The key's index now
		// starts with the external id and the tenant is compared in the form no index serves
		// (the flavor's orderKey, as byKey), so the key's index is the only path
		// (TestOrderByExternalIDPlans). ON CONFLICT (tenant_id, provider, external_id) finds
		// the new index as its arbiter: the columns are the same. Building it holds writes to
		// orders while it runs, during the upgrade (`hub migrate` took 0.6 s over a million
		// orders on session af's machine). SQLite
		// keeps its unique index (tenant_id, provider, external_id) and reads it for the plain
		// equality: unchanged.
		Name: "orders found by their gateway key's index",
		Postgres: `
CREATE UNIQUE INDEX orders_external ON orders (external_id, provider, tenant_id);
ALTER TABLE orders DROP CONSTRAINT orders_tenant_id_provider_external_id_key;
`,
		SQLite: `SELECT 1`,
	},
	{
		// A gateway's previous secret, kept while the gateway may still sign with it after the
		// secret is replaced (Shopify: up to an hour; webhook.Spec.SecretGrace), encrypted like
		// the current one. Rows written before keep none.
		Name: "gateway secrets keep the previous one for a grace period",
		Up: `
ALTER TABLE gateway_secrets ADD COLUMN previous_ciphertext text NOT NULL DEFAULT '';
ALTER TABLE gateway_secrets ADD COLUMN previous_until timestamptz;
`,
	},
	{
		// The shop an order belongs to, for gateways whose order ids are unique within one shop
		// only (WooCommerce's WordPress post ids; store.Order.Site): two shops of one tenant can
		// both send order 1234, and the second one's is stored under "1234@<its site>" once the
		// first one's order shows another site. The key's unique index is unchanged. Orders
		// written before have none, and are taken as the sending shop's. PostgreSQL adds a
		// column with a constant default without rewriting the table.
		Name: "orders remember their shop",
		Up: `
ALTER TABLE orders ADD COLUMN site text NOT NULL DEFAULT '';
`,
	},
	{
		// What a refund or chargeback takes off its order's revenue, when the gateway says
		// (a partial refund, a chargeback after a partial refund): the Campaigns report
		// subtracts it rather than the whole order. NULL, as on every row written before, is
		// the whole order's amount.
		Name: "order history keeps the amount a reversal takes",
		Up: `
ALTER TABLE order_history ADD COLUMN reversal_minor bigint;
`,
	},
	{
		// Spend the platform reports only per campaign (Google's Performance Max has no ad
		// groups): such a row has no ad (ad_id and adset_id empty), so it is keyed by its
		// campaign. The key becomes (account, campaign, ad, day); an ad's row stays unique per
		// (account, ad, day) through a partial index, so an ad moved to another campaign is
		// still replaced, not doubled. SQLite cannot change a primary key, so it rebuilds
		// ad_spend (nothing refers to it) with its indexes.
		Name: "spend of campaigns without ad groups",
		Postgres: `
ALTER TABLE ad_spend DROP CONSTRAINT ad_spend_pkey;
ALTER TABLE ad_spend ADD PRIMARY KEY (account_id, campaign_id, ad_id, day);
CREATE UNIQUE INDEX ad_spend_ad ON ad_spend (account_id, ad_id, day) WHERE ad_id <> '';
`,
		SQLite: `
CREATE TABLE ad_spend_new (
	account_id    text COLLATE "C" NOT NULL REFERENCES ad_accounts (id) ON DELETE CASCADE,
	ad_id         text NOT NULL,
	day           text NOT NULL,
	tenant_id     text COLLATE "C" NOT NULL,
	platform      text NOT NULL,
	campaign_id   text NOT NULL,
	campaign_name text NOT NULL,
	adset_id      text NOT NULL,
	adset_name    text NOT NULL,
	ad_name       text NOT NULL,
	currency      text NOT NULL,
	spend_micros  bigint NOT NULL,
	impressions   bigint NOT NULL,
	clicks        bigint NOT NULL,
	imported_at   timestamptz NOT NULL,
	PRIMARY KEY (account_id, campaign_id, ad_id, day)
);
INSERT INTO ad_spend_new (account_id, ad_id, day, tenant_id, platform, campaign_id, campaign_name, adset_id, adset_name, ad_name,
	currency, spend_micros, impressions, clicks, imported_at)
	SELECT account_id, ad_id, day, tenant_id, platform, campaign_id, campaign_name, adset_id, adset_name, ad_name,
		currency, spend_micros, impressions, clicks, imported_at FROM ad_spend;
DROP TABLE ad_spend;
ALTER TABLE ad_spend_new RENAME TO ad_spend;
CREATE INDEX ad_spend_tenant_day ON ad_spend (tenant_id, day);
CREATE INDEX ad_spend_by_ad ON ad_spend (tenant_id, platform, currency, campaign_id, adset_id, ad_id, day, spend_micros,
	impressions, clicks, campaign_name, adset_name, ad_name);
CREATE INDEX ad_spend_by_day ON ad_spend (tenant_id, day, platform, currency, spend_micros, impressions, clicks);
CREATE INDEX ad_spend_account_day ON ad_spend (account_id, day);
CREATE UNIQUE INDEX ad_spend_ad ON ad_spend (account_id, ad_id, day) WHERE ad_id <> '';
`,
	},
	{
		// Google's click ids of iOS traffic, gbraid and wbraid, as the landing URL, the snippet,
		// a tracking link or the pixel carried them, so the Google Ads destination sends the
		// credited click's when the order carries none (docs/destinations/google-ads.md). NULL
		// when absent: most touchpoints carry neither. No index: nothing looks a touchpoint up by
		// them (Google says they measure clicks in aggregate and are not unique to a person, so
		// the attribution never matches a buyer on them). PostgreSQL adds a nullable column
		// without rewriting the table or any partition.
		Name: "touchpoints keep gbraid and wbraid",
		Up: `
ALTER TABLE touchpoints ADD COLUMN gbraid text;
ALTER TABLE touchpoints ADD COLUMN wbraid text;
`,
	},
	{
		// What each order still brings in, for the overview, which took a partially refunded
		// order off whole while the Campaigns report took only the refund. orders.reversed_minor
		// is what the order's applied refunds and chargebacks took, as the Campaigns report
		// subtracts them (order_history.reversal_minor, NULL the whole amount), kept by
		// ApplyOrderEvent; it is counted here for the orders written before. order_stats keeps
		// net_minor, the paid orders' amounts less that, by the same triggers, so the overview
		// reads it from the kept totals like the rest. The totals are counted again from the
		// orders (the triggers are replaced first; ALTER TABLE holds writes to orders until the
		// migration commits, so none is missed or counted twice).
		Name: "orders keep what refunds and chargebacks took",
		Up: `
ALTER TABLE orders ADD COLUMN reversed_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE order_stats ADD COLUMN net_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE order_stats_delta ADD COLUMN net_minor bigint NOT NULL DEFAULT 0;
UPDATE orders SET reversed_minor = (
	SELECT CAST(COALESCE(sum(COALESCE(h.reversal_minor, orders.amount_minor)), 0) AS bigint) FROM order_history h
	WHERE h.order_id = orders.id AND h.applied AND h.status IN ('refunded', 'chargeback'))
	WHERE status IN ('refunded', 'chargeback');
`,
		Postgres: `
CREATE OR REPLACE FUNCTION hub_orders_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched, net_minor)
		VALUES (NEW.tenant_id, hub_quarter(NEW.created_at), NEW.status, NEW.provider, NEW.currency, 1, NEW.amount_minor,
			CASE WHEN NEW.paid_at IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN NEW.paid_at IS NOT NULL AND NEW.matched THEN 1 ELSE 0 END,
			CASE WHEN NEW.paid_at IS NOT NULL THEN NEW.amount_minor - NEW.reversed_minor ELSE 0 END);
		RETURN NULL;
	END IF;
	IF TG_OP = 'DELETE' THEN
		INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched, net_minor)
		VALUES (OLD.tenant_id, hub_quarter(OLD.created_at), OLD.status, OLD.provider, OLD.currency, -1, -OLD.amount_minor,
			-(CASE WHEN OLD.paid_at IS NOT NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.paid_at IS NOT NULL AND OLD.matched THEN 1 ELSE 0 END),
			-(CASE WHEN OLD.paid_at IS NOT NULL THEN OLD.amount_minor - OLD.reversed_minor ELSE 0 END));
		INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
		SELECT d.tenant_id, hub_quarter(OLD.created_at), d.destination_id, d.event_name, d.state, d.reason, OLD.paid_at IS NOT NULL, -1
		FROM deliveries d WHERE d.tenant_id = OLD.tenant_id AND d.order_id = OLD.id;
		RETURN NULL;
	END IF;
	INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched, net_minor)
	VALUES (OLD.tenant_id, hub_quarter(OLD.created_at), OLD.status, OLD.provider, OLD.currency, -1, -OLD.amount_minor,
			-(CASE WHEN OLD.paid_at IS NOT NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.paid_at IS NOT NULL AND OLD.matched THEN 1 ELSE 0 END),
			-(CASE WHEN OLD.paid_at IS NOT NULL THEN OLD.amount_minor - OLD.reversed_minor ELSE 0 END)),
		(NEW.tenant_id, hub_quarter(NEW.created_at), NEW.status, NEW.provider, NEW.currency, 1, NEW.amount_minor,
			CASE WHEN NEW.paid_at IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN NEW.paid_at IS NOT NULL AND NEW.matched THEN 1 ELSE 0 END,
			CASE WHEN NEW.paid_at IS NOT NULL THEN NEW.amount_minor - NEW.reversed_minor ELSE 0 END);
	-- Deliveries are counted by their order's quarter and paid state: move them when either changes.
	IF OLD.tenant_id = NEW.tenant_id AND OLD.created_at = NEW.created_at AND (OLD.paid_at IS NULL) = (NEW.paid_at IS NULL) THEN
		RETURN NULL;
	END IF;
	INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT d.tenant_id, v.quarter, d.destination_id, d.event_name, d.state, d.reason, v.paid, v.n
	FROM (VALUES (OLD.tenant_id, OLD.id, hub_quarter(OLD.created_at), OLD.paid_at IS NOT NULL, -1),
		(NEW.tenant_id, NEW.id, hub_quarter(NEW.created_at), NEW.paid_at IS NOT NULL, 1)) v (tenant_id, order_id, quarter, paid, n)
	JOIN deliveries d ON d.tenant_id = v.tenant_id AND d.order_id = v.order_id;
	RETURN NULL;
END
$$;

DROP TRIGGER orders_stats_update ON orders;
CREATE TRIGGER orders_stats_update AFTER UPDATE ON orders FOR EACH ROW
	WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.created_at IS DISTINCT FROM NEW.created_at
		OR OLD.status IS DISTINCT FROM NEW.status OR OLD.provider IS DISTINCT FROM NEW.provider
		OR OLD.currency IS DISTINCT FROM NEW.currency OR OLD.amount_minor IS DISTINCT FROM NEW.amount_minor
		OR (OLD.paid_at IS NULL) <> (NEW.paid_at IS NULL) OR OLD.matched IS DISTINCT FROM NEW.matched
		OR OLD.reversed_minor IS DISTINCT FROM NEW.reversed_minor)
	EXECUTE FUNCTION hub_orders_stats();

DELETE FROM order_stats_delta;
DELETE FROM order_stats;
INSERT INTO order_stats (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched, net_minor)
	SELECT tenant_id, hub_quarter(created_at), status, provider, currency, count(*), sum(amount_minor),
		count(paid_at), count(CASE WHEN matched THEN paid_at END),
		sum(CASE WHEN paid_at IS NOT NULL THEN amount_minor - reversed_minor ELSE 0 END)
	FROM orders GROUP BY 1, 2, 3, 4, 5;
`,
		SQLite: `
DROP TRIGGER orders_stats_insert;
DROP TRIGGER orders_stats_update;
DROP TRIGGER orders_stats_delete;

CREATE TRIGGER orders_stats_insert AFTER INSERT ON orders BEGIN
	INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched, net_minor)
	VALUES (NEW.tenant_id, NEW.created_at / 900000000, NEW.status, NEW.provider, NEW.currency, 1, NEW.amount_minor,
		CASE WHEN NEW.paid_at IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN NEW.paid_at IS NOT NULL AND NEW.matched THEN 1 ELSE 0 END,
		CASE WHEN NEW.paid_at IS NOT NULL THEN NEW.amount_minor - NEW.reversed_minor ELSE 0 END);
END;

CREATE TRIGGER orders_stats_update AFTER UPDATE ON orders
	WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_at IS NOT NEW.created_at OR OLD.status IS NOT NEW.status
		OR OLD.provider IS NOT NEW.provider OR OLD.currency IS NOT NEW.currency OR OLD.amount_minor IS NOT NEW.amount_minor
		OR (OLD.paid_at IS NULL) IS NOT (NEW.paid_at IS NULL) OR OLD.matched IS NOT NEW.matched
		OR OLD.reversed_minor IS NOT NEW.reversed_minor BEGIN
	INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched, net_minor)
	VALUES (OLD.tenant_id, OLD.created_at / 900000000, OLD.status, OLD.provider, OLD.currency, -1, -OLD.amount_minor,
		-(CASE WHEN OLD.paid_at IS NOT NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.paid_at IS NOT NULL AND OLD.matched THEN 1 ELSE 0 END),
		-(CASE WHEN OLD.paid_at IS NOT NULL THEN OLD.amount_minor - OLD.reversed_minor ELSE 0 END)),
		(NEW.tenant_id, NEW.created_at / 900000000, NEW.status, NEW.provider, NEW.currency, 1, NEW.amount_minor,
		CASE WHEN NEW.paid_at IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN NEW.paid_at IS NOT NULL AND NEW.matched THEN 1 ELSE 0 END,
		CASE WHEN NEW.paid_at IS NOT NULL THEN NEW.amount_minor - NEW.reversed_minor ELSE 0 END);
	INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT d.tenant_id, OLD.created_at / 900000000, d.destination_id, d.event_name, d.state, d.reason, OLD.paid_at IS NOT NULL, -1
	FROM deliveries d WHERE d.tenant_id = OLD.tenant_id AND d.order_id = OLD.id
		AND (OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_at IS NOT NEW.created_at OR (OLD.paid_at IS NULL) IS NOT (NEW.paid_at IS NULL))
	UNION ALL
	SELECT d.tenant_id, NEW.created_at / 900000000, d.destination_id, d.event_name, d.state, d.reason, NEW.paid_at IS NOT NULL, 1
	FROM deliveries d WHERE d.tenant_id = NEW.tenant_id AND d.order_id = NEW.id
		AND (OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_at IS NOT NEW.created_at OR (OLD.paid_at IS NULL) IS NOT (NEW.paid_at IS NULL));
END;

CREATE TRIGGER orders_stats_delete AFTER DELETE ON orders BEGIN
	INSERT INTO order_stats_delta (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched, net_minor)
	VALUES (OLD.tenant_id, OLD.created_at / 900000000, OLD.status, OLD.provider, OLD.currency, -1, -OLD.amount_minor,
		-(CASE WHEN OLD.paid_at IS NOT NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.paid_at IS NOT NULL AND OLD.matched THEN 1 ELSE 0 END),
		-(CASE WHEN OLD.paid_at IS NOT NULL THEN OLD.amount_minor - OLD.reversed_minor ELSE 0 END));
	INSERT INTO delivery_stats_delta (tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries)
	SELECT d.tenant_id, OLD.created_at / 900000000, d.destination_id, d.event_name, d.state, d.reason, OLD.paid_at IS NOT NULL, -1
	FROM deliveries d WHERE d.tenant_id = OLD.tenant_id AND d.order_id = OLD.id;
END;

DELETE FROM order_stats_delta;
DELETE FROM order_stats;
INSERT INTO order_stats (tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched, net_minor)
	SELECT tenant_id, created_at / 900000000, status, provider, currency, count(*), sum(amount_minor),
		count(paid_at), count(CASE WHEN matched THEN paid_at END),
		sum(CASE WHEN paid_at IS NOT NULL THEN amount_minor - reversed_minor ELSE 0 END)
	FROM orders GROUP BY 1, 2, 3, 4, 5;
`,
	},
	{
		// A won chargeback (status chargeback_won) gives back what its chargeback took: the
		// Campaigns report's reversal scan reads those history rows too, so the partial index it
		// reads through holds them.
		Name: "the reversals' index holds won chargebacks",
		Up: `
DROP INDEX order_history_reversal;
CREATE INDEX order_history_reversal ON order_history (tenant_id, occurred_at)
	WHERE status IN ('refunded', 'chargeback', 'chargeback_won') AND applied;
`,
	},
	{
		// Nothing more about an erased person is sent: an order remembers when its buyer was
		// erased (ErasePerson stamps it), so that deliveries planned after it (a refund, a
		// chargeback) are created skipped, and the dashboard says why.
		Name: "orders remember that their buyer was erased",
		Up: `
ALTER TABLE orders ADD COLUMN erased_at timestamptz;
`,
	},
	{
		// Another key a gateway gives one order (store.OrderAlias): a Stripe subscription's
		// payment is refunded or disputed by its PaymentIntent, its order keyed by its invoice.
		Name: "order aliases",
		Up: `
CREATE TABLE order_aliases (
	tenant_id   text COLLATE "C" NOT NULL,
	provider    text NOT NULL,
	alias       text NOT NULL,
	external_id text NOT NULL,
	created_at  timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, provider, alias)
);
`,
	},
	{
		// A send's outcome writes its delivery's row only while the row awaits that send's
		// attempt (attempt_id, set by BeginAttempts, cleared by every other write of the row's
		// state): a late outcome, after a replay or another writer moved the row on, leaves
		// the row alone and is recorded as superseded on its attempt.
		Name: "a delivery awaits its attempt's outcome",
		Up: `
ALTER TABLE deliveries ADD COLUMN attempt_id text COLLATE "C";
ALTER TABLE attempts ADD COLUMN superseded boolean NOT NULL DEFAULT false;
`,
	},
	{
		// Nothing more about an erased person is sent, a visit's deliveries included: the
		// erasure stamps every delivery of her orders and visits (a delivered one too, which
		// stays delivered), and no replay or worker sends a stamped one. Touchpoints keep no
		// mark of their own: their insert is the ingest's hot path.
		Name: "deliveries remember that their person was erased",
		Up: `
ALTER TABLE deliveries ADD COLUMN erased_at timestamptz;
`,
	},
	{
		// A webhook about an order whose buyer was erased (a refund arriving after her
		// erasure) is stored raw like every other, and then, in the transaction that applies
		// it, emptied of its body, query and headers (Writer.ScrubInbox): the row stays, so the
		// order's history still names it, and erased_at says why it is empty.
		Name: "a raw webhook remembers that its buyer was erased",
		Up: `
ALTER TABLE inbox ADD COLUMN erased_at timestamptz;
`,
	},
}

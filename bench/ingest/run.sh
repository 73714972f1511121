#!/usr/bin/env bash
# Collect API load harness, self-contained: builds Hub, starts it (STORE=sqlite, the default, or
# STORE=postgres on the run's own PostgreSQL cluster and Redis, see bench/lib.sh) on a free
# loopback port, trusting loopback as a proxy and with the tracking rate limits off, runs
# bench/ingest against it (which creates its own tenant and sources in Hub's database, reads it
# back to verify, and measures Hub's and PostgreSQL's CPU time per event) and stops everything.
# Arguments go to the harness:
#
#   STORE=postgres bench/ingest/run.sh -duration 20s -concurrency 16 -batch 10
#   bench/ingest/run.sh -duration 20s -concurrency 16 -batch 10            # SQLite
#   STORE=postgres bench/ingest/run.sh -warmup 5s -duration 20s -concurrency 16 -batch 10 -rate 10000
#                                                                          # open loop: 10,000 events/s offered
#   STORE=postgres bench/ingest/run.sh -warmup 5s -duration 20s -rate 10000 -timeline 100ms
#                                                                          # plus the latency per 100 ms slice: a stall or a spread?
#   PROFILE=15 STORE=postgres bench/ingest/run.sh -duration 20s            # plus a CPU profile of the server
#   FORCE=1 bench/ingest/run.sh -duration 3s                               # smoke run on a busy machine (forced=1)
#
# DESTINATION=meta runs it as a tenant that sends its browser events to Meta would: the run's
# sources go in bench/lib.sh's tenant, which gets a second Meta destination (the run's fake Meta)
# enabled for Lead, InitiateCheckout and AddToCart, so each group commit plans a delivery per
# lead, checkout and cart (30 % of the default mix) and the delivery workers send them during
# the run; after the run the deliveries planned and sent are printed:
#
#   DESTINATION=meta STORE=postgres bench/ingest/run.sh -duration 20s -concurrency 16 -batch 10
#
# TARGET=rudder runs the same harness against an already built rudder-server instead of Hub (see
# bench/ingest/README.md and rudder_setup in bench/lib.sh): the run's own PostgreSQL cluster as for
# Hub, rudder-server gateway-only on it, and -target rudder (POST /v1/batch):
#
#   TARGET=rudder RUDDER_BIN=/path/to/rudder-server STORE=postgres bench/ingest/run.sh -duration 20s -concurrency 16 -batch 10
#
# BOUND=touchpoints|log|logapply|none serves bench/ingestbound instead of hub serve: Hub's collect API with
# its group write replaced, to measure what a different storage could buy (bench/ingest/README.md):
#
#   BOUND=log STORE=postgres bench/ingest/run.sh -duration 20s -concurrency 16 -batch 10
#
# The last line is the harness's:
# ingest: store=postgres|sqlite [server=rudder|bound=W] rate=R/s p50=Xms p99=Yms lost=N dup=N hub_us_per_event=N pg_us_per_event=N|n/a gen_us_per_event=N
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

if [ "${TARGET:-hub}" = rudder ]; then
	rudder_setup
	(cd "$BENCH_ROOT" && go build -o "$WORK/ingest" ./bench/ingest)
	log "running bench/ingest -target rudder $*"
	timeout 20m "$WORK/ingest" -target rudder -url "$RUDDER_URL" -write-key "$RUDDER_WRITE_KEY" -hub-pid "$RUDDER_PID" \
		-database-url "$DB_URL" -pg-pid "$PG_PID" "${BENCH_ARGS[@]}" "$@"
	exit 0
elif [ "${TARGET:-hub}" != hub ]; then
	log "TARGET must be hub (the default) or rudder"
	exit 1
fi
bench_setup
(cd "$BENCH_ROOT" && go build -o "$WORK/ingest" ./bench/ingest)
if [ -n "${BOUND:-}" ]; then
	BENCH_ARGS+=(-bound "$BOUND")
fi
if [ "$STORE" = postgres ]; then
	target=(-database-url "$DB_URL" -pg-pid "$PG_PID")
else
	target=(-sqlite-path "$WORK/data/hub.db")
fi
case "${DESTINATION:-}" in
"") ;;
meta)
	hubenv destination add --tenant "$TENANT" --type meta \
		--config '{"pixel_id":"1234567890123457","events":"Lead,InitiateCheckout,AddToCart"}' \
		--credentials '{"access_token":"EAAbench"}' >/dev/null
	target+=(-tenant "$TENANT")
	log "the run's sources go in tenant $TENANT, whose second Meta destination takes Lead, InitiateCheckout and AddToCart"
	;;
*)
	log "DESTINATION must be meta (or unset)"
	exit 1
	;;
esac
log "running bench/ingest $*"
bench_profile_start 3
timeout 20m "$WORK/ingest" -url "$HUB_URL" -hub-pid "$HUB_PID" "${target[@]}" "${BENCH_ARGS[@]}" "$@"
bench_profile_report
if [ -n "${DESTINATION:-}" ] && [ "$STORE" = postgres ]; then
	log "deliveries of the run's browser events by state: $(psql "$DB_URL" -qAtc "select coalesce(string_agg(state || '=' || n, ' ' order by state), 'none') from (select state, count(*) n from deliveries where touchpoint_id is not null group by state) d")"
fi

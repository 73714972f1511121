#!/usr/bin/env bash
# Purchase pipeline harness, self-contained: builds Hub, starts it (STORE=sqlite, the default, or
# STORE=postgres on the run's own PostgreSQL cluster and Redis, see bench/lib.sh) with
# `hub fake-meta` on free loopback ports, creates the tenant, source and Meta destination through
# the CLI, runs bench/delivery against them and stops everything. Arguments go to the harness:
#
#   bench/delivery/run.sh                                   # capacity at the objective (ramp, 60 s steps) + 2x overload
#   STORE=postgres bench/delivery/run.sh -start 100 -step 100
#   FORCE=1 bench/delivery/run.sh -window 3s -start 20 -step 20 -max 40   # smoke run on a busy machine (forced=1)
#   bench/delivery/run.sh -rate 200 -n 6000                 # one fixed rate instead
#   bench/delivery/run.sh -rate 30 -n 900 -timeline 5s      # plus Meta's latency per 5 s of the run (bursts or a growing queue?)
#   STORE=postgres bench/delivery/run.sh -collect-rate 200   # plus 200 page views/s to /v1/collect in each window, their acknowledgement reported
#   META_EVENTS=Purchase,Lead STORE=postgres bench/delivery/run.sh -collect-rate 1000 -collect-type lead
#                                                           # a launch: 1,000 leads/s to the same Meta destination as the purchases
#   bench/delivery/run.sh -rate 200 -n 3000 -fail-rate 0.3 -fail-for 10s   # 30 % of Meta requests fail
#   PROFILE=20 STORE=postgres bench/delivery/run.sh         # plus a 20 s CPU profile of the server
#   DESTS=meta,googleads,ga4,tiktok,webhook bench/delivery/run.sh   # every destination at once
#
# Before anything is measured, WARMUP orders (default 3000; WARMUP=0: none) go through at the first
# rate and reach the fake, then, with STORE=postgres, ANALYZE runs: the figures are a database in
# service (rows and planner statistics), not the first minute of an empty one (see -warmup).
#
# The last line is the harness's: delivery: store=S capacity=N/s ack_p99=… e2e_p95=… lost=N dup=N
# (with -rate: delivery: store=S orders=N delivered=N dead=N lost=N dup=N p50=… p95=… p99=… hub_us_per_order=… pg_us_per_order=…),
# after one line per destination: delivery-dest: store=S dest=D orders=N accepted=N lost=N dup=N p50=… p95=…
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

bench_setup
(cd "$BENCH_ROOT" && go build -o "$WORK/delivery" ./bench/delivery)
log "running bench/delivery $*"
bench_profile_start
pids=(-hub-pid "$HUB_PID")
if [ "$STORE" = postgres ]; then
	pids+=(-pg-pid "$PG_PID")
fi
warm=(-warmup "${WARMUP:-3000}")
if [ "$STORE" = postgres ]; then
	# With PG_STATEMENTS=1 the statistics restart after the warm-up, so they cover the measured
	# load only, not the first minute's plans made on empty tables.
	reset=""
	if [ -n "${PG_STATEMENTS:-}" ]; then
		reset="; psql '$DB_URL' -qAtc 'select pg_stat_statements_reset()' >/dev/null"
	fi
	warm+=(-warmup-cmd "psql '$DB_URL' -qAtc analyze$reset")
fi
timeout 2h "$WORK/delivery" -webhook "$HOTMART_URL" -hottok "$HOTTOK" -fake "$FAKE_URL" \
	-api-key "$ADMIN_KEY" -store "$STORE" -dests "$DEST_FAKES" -public-key "$PUBLIC_KEY" "${pids[@]}" "${warm[@]}" "${BENCH_ARGS[@]}" "$@"
bench_profile_report

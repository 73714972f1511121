#!/usr/bin/env bash
# End-to-end delivery latency harness, self-contained: builds Hub, starts it (STORE=sqlite, the
# default, or STORE=postgres on a fresh database with Redis) with `hub fake-meta` on free loopback
# ports, creates the tenant, source and Meta destination through the CLI, runs bench/delivery
# against them and stops everything. Arguments go to the harness:
#
#   bench/delivery/run.sh -n 6000 -rate 200                              # healthy fake
#   bench/delivery/run.sh -n 3000 -rate 200 -fail-rate 0.3 -fail-for 10s   # 30 % of Meta requests fail
#   STORE=postgres bench/delivery/run.sh -n 6000 -rate 200
#   PROFILE=20 STORE=postgres bench/delivery/run.sh -n 6000    # plus a 20 s CPU profile of the server
#
# The last line is the harness's: delivery: orders=N delivered=N dead=N lost=N dup=N p50=... p95=... p99=...
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

bench_setup
(cd "$BENCH_ROOT" && go build -o "$WORK/delivery" ./bench/delivery)
log "running bench/delivery $*"
bench_profile_start 3
timeout 20m "$WORK/delivery" -webhook "$HOTMART_URL" -hottok "$HOTTOK" -fake "$FAKE_URL" \
	-api-key "$ADMIN_KEY" "$@"
bench_profile_report

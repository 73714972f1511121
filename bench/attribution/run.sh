#!/usr/bin/env bash
# Match-rate harness, self-contained: builds Hub, starts it (STORE=sqlite, the default, or
# STORE=postgres on its own PostgreSQL cluster and Redis, see bench/lib.sh) with a fake Meta on
# free loopback ports, creates the tenant, source (Hotmart and WooCommerce secrets) and Meta
# destination through the CLI, runs bench/attribution against it and stops everything.
# Arguments go to the harness, e.g.
#
#   bench/attribution/run.sh -visitors 2000 -seed 1
#   STORE=postgres bench/attribution/run.sh
#
# Before it, on stderr: the breakdown by rule and scenario, the missed share, the explanation
# checks (src=fb_ads orphans, bot-only buyers) and the identifier coverage of the Purchases the
# fake Meta received. The last line is the harness's: attribution: orders=N matched=N correct=N wrong=N orphan=N ...
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

bench_setup
# Reading every order back is rate limited per API key (20/s): spread it over a few read-only keys.
keys=$ADMIN_KEY
for i in 1 2 3; do
	k=$(hubenv apikey create --tenant "$TENANT" --role read_only --name "bench read $i" | sed -n 's/^key (shown once): //p')
	keys="$keys,$k"
done
(cd "$BENCH_ROOT" && go build -o "$WORK/attribution" ./bench/attribution)
log "running bench/attribution $*"
timeout 30m "$WORK/attribution" -url "$HUB_URL" -key "$PUBLIC_KEY" \
	-hotmart-webhook "$HOTMART_URL" -hottok "$HOTTOK" \
	-woo-webhook "$WOO_URL" -woo-secret "$WOO_SECRET" \
	-fake-meta "$FAKE_URL" -api-key "$keys" "$@"

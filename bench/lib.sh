# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the run.sh scripts
# Shared by the bench/*/run.sh scripts: build Hub, start `hub fake-meta` and `hub serve` on free
# loopback ports with a temporary data directory (and, with STORE=postgres, a fresh PostgreSQL
# database on 127.0.0.1), create a tenant, a source and a Meta destination with the CLI, and stop
# and remove everything on exit. Only processes this script started are stopped, by their pid.
#
# Inputs (environment):
#   STORE            sqlite (default) or postgres
#   PGHOST_URL       PostgreSQL server URL without a database (default postgres://postgres@127.0.0.1:5432)
#   BENCH_REDIS_URL  Redis URL for STORE=postgres (default redis://127.0.0.1:6379/0; empty: in-process cache)
#   HUB_EXTRA_ENV    extra NAME=value words for hub serve (e.g. "HUB_WORKERS=40")
#   PG_POOL          with STORE=postgres, pgxpool's pool_max_conns in DATABASE_URL (default: unset,
#                    so pgx's default of max(4, CPUs) = 4 connections on a 2-core machine)
#   KEEP=1           keep the work directory (logs, SQLite file) and the database
#   PROFILE=N        serve with bench/hubprof (hub serve + net/http/pprof on loopback) and take an
#                    N-second CPU profile while the harness runs (bench_profile_start/_report);
#                    the profile and its `go tool pprof -top` are kept in the work directory
#
# After bench_setup: HUB_URL, FAKE_URL, TENANT, ADMIN_KEY, PUBLIC_KEY, HOTMART_URL, HOTTOK, WOO_URL,
# WOO_SECRET, WORK (the work directory), DB_URL (postgres only), HUB_PID, FAKE_PID.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STORE=${STORE:-sqlite}
PGHOST_URL=${PGHOST_URL:-postgres://postgres@127.0.0.1:5432}
HUB_PID=
FAKE_PID=
DB_NAME=
WORK=

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# free_port prints a TCP port nothing listens on at 127.0.0.1.
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM + i) % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	log "no free port found"
	return 1
}

# wait_http waits (at most $2 seconds) until $1 answers 200.
wait_http() {
	local url=$1 secs=${2:-60} i
	for i in $(seq 1 $((secs * 5))); do
		if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	log "$url did not answer within ${secs}s (iteration $i)"
	return 1
}

stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	log "pid $pid still running after 30s (iteration $i); killing it"
	kill -KILL "$pid" 2>/dev/null || true
}

bench_cleanup() {
	local rc=$?
	log "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
	stop_pid "$HUB_PID"
	stop_pid "$FAKE_PID"
	if [ -n "$DB_NAME" ] && [ "${KEEP:-0}" != 1 ]; then
		psql "$PGHOST_URL/postgres" -qAtc "drop database if exists $DB_NAME with (force)" >/dev/null 2>&1 || log "could not drop database $DB_NAME"
	fi
	if [ -n "$WORK" ]; then
		if [ "${KEEP:-0}" = 1 ] || [ "${KEEP_WORK:-0}" = 1 ] || [ "$rc" != 0 ]; then
			log "work directory kept: $WORK (hub.log, fake.log)"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

# hubenv runs the hub binary with the environment of this run (HUB_ENV, set by bench_setup).
hubenv() {
	env "${HUB_ENV[@]}" "$WORK/hub" "$@"
}

# bench_setup starts everything (extra hub serve settings come from HUB_EXTRA_ENV).
bench_setup() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	WORK=$(mktemp -d /tmp/hub-bench.XXXXXX)
	mkdir -p "$WORK/data"
	log "building hub into $WORK"
	(cd "$BENCH_ROOT" && go build -o "$WORK/hub" ./cmd/hub)
	SERVE=("$WORK/hub" serve)
	if [ -n "${PROFILE:-}" ]; then
		(cd "$BENCH_ROOT" && go build -o "$WORK/hubprof" ./bench/hubprof)
		PPROF_PORT=$(free_port)
		PPROF_URL="http://127.0.0.1:$PPROF_PORT"
		SERVE=(env HUB_PPROF_ADDR="127.0.0.1:$PPROF_PORT" "$WORK/hubprof")
	fi
	SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
	HUB_PORT=$(free_port)
	FAKE_PORT=$(free_port)
	while [ "$FAKE_PORT" = "$HUB_PORT" ]; do FAKE_PORT=$(free_port); done
	HUB_URL="http://127.0.0.1:$HUB_PORT"
	FAKE_URL="http://127.0.0.1:$FAKE_PORT"
	case "$STORE" in
	sqlite) ;;
	postgres)
		DB_NAME="hub_bench_$(date +%s)_$$"
		psql "$PGHOST_URL/postgres" -qAtc "create database $DB_NAME" >/dev/null
		DB_URL="$PGHOST_URL/$DB_NAME?sslmode=disable${PG_POOL:+&pool_max_conns=$PG_POOL}"
		;;
	*)
		log "STORE must be sqlite or postgres"
		return 1
		;;
	esac

	HUB_ENV=(HUB_DATA_DIR="$WORK/data" PORT="$HUB_PORT" HUB_HOST=127.0.0.1 HUB_OPS_ADDR=off HUB_PUBLIC_URL="$HUB_URL"
		HUB_SECRET_KEY="$SECRET" HUB_LOG_LEVEL="${HUB_LOG_LEVEL:-warn}")
	if [ "$STORE" = postgres ]; then
		HUB_ENV+=(DATABASE_URL="$DB_URL")
		if [ -n "${BENCH_REDIS_URL-redis://127.0.0.1:6379/0}" ]; then
			HUB_ENV+=(REDIS_URL="${BENCH_REDIS_URL-redis://127.0.0.1:6379/0}")
		fi
	fi

	# Tenant, source and destination first, through the CLI (which also migrates).
	local out
	out=$(hubenv tenant create --name "bench $(date -u +%FT%TZ)")
	TENANT=$(printf '%s\n' "$out" | sed -n 's/^tenant \([^ ]*\) .*/\1/p')
	ADMIN_KEY=$(printf '%s\n' "$out" | sed -n 's/^admin key (shown once): //p')
	HOTTOK="hottok_bench_$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
	WOO_SECRET="woo_bench_$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
	out=$(hubenv source create --tenant "$TENANT" --name bench --origin https://shop.example \
		--secret "hotmart=$HOTTOK" --secret "woocommerce=$WOO_SECRET")
	PUBLIC_KEY=$(printf '%s\n' "$out" | sed -n 's/.*data-key="\([^"]*\)".*/\1/p')
	HOTMART_URL=$(printf '%s\n' "$out" | sed -n 's/^hotmart webhook URL: //p')
	WOO_URL=$(printf '%s\n' "$out" | sed -n 's/^woocommerce webhook URL: //p')
	hubenv destination add --tenant "$TENANT" --type meta --config '{"pixel_id":"1234567890123456"}' \
		--credentials '{"access_token":"EAAbench"}' >/dev/null
	if [ -z "$TENANT" ] || [ -z "$ADMIN_KEY" ] || [ -z "$PUBLIC_KEY" ] || [ -z "$HOTMART_URL" ]; then
		log "could not read the tenant, key or webhook URL from the CLI output"
		return 1
	fi

	"$WORK/hub" fake-meta --addr "127.0.0.1:$FAKE_PORT" >"$WORK/fake.log" 2>&1 &
	FAKE_PID=$!
	local -a extra=()
	if [ -n "${HUB_EXTRA_ENV:-}" ]; then
		read -r -a extra <<<"$HUB_EXTRA_ENV"
	fi
	# env execs hub, so $! is hub's own pid.
	env "${HUB_ENV[@]}" HUB_META_GRAPH_URL="$FAKE_URL" HUB_EGRESS_ALLOW=127.0.0.1/32 HUB_RATE_PER_IP=off HUB_RATE_PER_SOURCE=off \
		HUB_TRUSTED_PROXIES=127.0.0.1/32 "${extra[@]}" "${SERVE[@]}" >"$WORK/hub.log" 2>&1 &
	HUB_PID=$!
	wait_http "$FAKE_URL/_fake/events" 30
	wait_http "$HUB_URL/readyz" 90
	log "hub ($STORE) on $HUB_URL, pid $HUB_PID; fake Meta on $FAKE_URL, pid $FAKE_PID; load average $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
}

PROF_PID=
# bench_profile_start [delay seconds]: with PROFILE=N, fetch an N-second CPU profile of the
# server in the background, after the delay (default 3 s: past the warm-up).
bench_profile_start() {
	[ -n "${PROFILE:-}" ] || return 0
	(sleep "${1:-3}" && curl -fsS --max-time $((PROFILE + 30)) -o "$WORK/cpu.pprof" \
		"$PPROF_URL/debug/pprof/profile?seconds=$PROFILE") &
	PROF_PID=$!
}

# bench_profile_report: wait for the profile and write its top functions next to it.
bench_profile_report() {
	[ -n "$PROF_PID" ] || return 0
	wait "$PROF_PID" || log "the CPU profile failed"
	PROF_PID=
	if [ -s "$WORK/cpu.pprof" ]; then
		go tool pprof -top -nodecount=60 "$WORK/hubprof" "$WORK/cpu.pprof" >"$WORK/cpu.top" 2>/dev/null || true
		go tool pprof -top -cum -nodecount=80 "$WORK/hubprof" "$WORK/cpu.pprof" >"$WORK/cpu.cum" 2>/dev/null || true
		KEEP_WORK=1
		log "CPU profile: $WORK/cpu.pprof (top: $WORK/cpu.top, cumulative: $WORK/cpu.cum)"
	fi
}

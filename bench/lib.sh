# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the run.sh scripts
# Shared by the bench/*/run.sh scripts: build Hub, start `hub fake-meta` and `hub serve` on free
# loopback ports with a temporary data directory (and, with STORE=postgres, a PostgreSQL cluster
# and a Redis of the run's own, see below), create a tenant, a source and a Meta destination with
# the CLI, and stop and remove everything on exit. Only processes this script started are
# stopped, by their pid.
#
# With STORE=postgres the run never uses the machine's shared PostgreSQL or Redis (whose settings
# and other users would be part of the figure): it initdb's a cluster in a temporary directory
# (as the postgres user when run as root: PostgreSQL refuses root) on a free port, configured
# like a managed database (autovacuum on, synchronous_commit=on, fsync=on, full_page_writes=on,
# shared_buffers 25 % of RAM capped at 8 GB in huge pages, effective_cache_size 75 %,
# max_connections 200, max_wal_size 2 GB, and random_page_cost 1.1 as Hub's Terraform sets RDS's
# parameter group), and starts a redis-server on a free port with no
# persistence (as a managed cache); both are logged with their settings and stopped at the end.
#
# Inputs (environment):
#   STORE            sqlite (default) or postgres
#   BENCH_REDIS_URL  with STORE=postgres: unset (default) starts the run's own redis-server; empty
#                    uses Hub's in-process cache; a URL uses that Redis (not a valid figure unless
#                    it is as idle as the run's own)
#   PG_SHARED_BUFFERS, PG_MAX_CONNECTIONS  override the cluster's shared_buffers (e.g. 2GB) and
#                    max_connections (200)
#   PG_HUGE_PAGES    on (default): the cluster's shared memory in 2 MB pages, as RDS for
#                    PostgreSQL runs every class but micro, small and medium (huge_pages=on by
#                    default there): run as root, the run reserves the pages it needs
#                    (`postgres -C shared_memory_size_in_huge_pages`) in vm.nr_hugepages and gives
#                    them back at the end (a run killed with SIGKILL cannot: then
#                    `echo 0 >/proc/sys/vm/nr_hugepages`); where it cannot reserve them (not root,
#                    memory too fragmented) the cluster runs on 4 kB pages and the log says so.
#                    off: 4 kB pages. The setting used is in the cluster's log line
#                    (huge_pages=on|off)
#   HUB_EXTRA_ENV    extra NAME=value words for hub serve (e.g. "HUB_WORKERS=40")
#   PG_POOL          with STORE=postgres, Hub's HUB_DB_MAX_CONNS (default: unset, so Hub's own
#                    default applies: 20 connections unless HUB_EXTRA_ENV sets it)
#   FORCE=1          pass -force to the harness: run on a busy machine (load average above 1.0);
#                    the result line then says forced=1 and is not a measurement
#   DESTS=LIST       the destinations, comma-separated, among meta, googleads, ga4, tiktok and
#                    webhook (default meta, what the figures in docs/benchmarks.md were measured
#                    with); meta is required. Each other one gets its fake (`hub fake-google`,
#                    `hub fake-ga4`, `hub fake-tiktok`, `hub fake-webhook`) on a free port and a
#                    destination created with the CLI; Hub is pointed at the fakes with
#                    HUB_GOOGLE_DATAMANAGER_URL, HUB_GA4_URL and HUB_TIKTOK_API_URL
#   KEEP=1           keep the work directory (logs, SQLite file, the cluster's data directory)
#   HUB_SRC=DIR      build Hub from another checkout (e.g. a worktree of an older commit) while the
#                    harness stays this one: before/after comparisons on the same harness
#   PG_STATEMENTS=1  with STORE=postgres, load pg_stat_statements in the run's cluster and, at the
#                    end, write its statements by total execution time to $WORK/pg_statements.txt
#                    (kept) and print the top 25: which SQL the PostgreSQL CPU per order goes to
#                    (bench/delivery resets them after its warm-up, so they cover the measured load)
#   PG_AUTO_EXPLAIN=MS  with STORE=postgres, log to the cluster's log (keep it with KEEP=1) the
#                    plan, with its buffers and rows, of every statement (functions' and CTEs'
#                    included) that ran longer than MS milliseconds: how the run's statements were
#                    planned, which an EXPLAIN afterwards, on tables with statistics, may not show
#                    (row counts and buffers are measured for every statement: not a figure)
#   PG_WAL_PREALLOC=MB  with STORE=postgres, the WAL segments made ready for reuse before the run,
#                    as a database in service has them (pg_wal_in_service; default 2048, 0: none,
#                    each new 16 MB of WAL then a zero-filled file while commits wait)
#   PG_EXTRA_CONF="name = value; ..."  with STORE=postgres, settings added to the run's cluster
#                    (e.g. random_page_cost = 4, PostgreSQL's own default): an A/B of a setting,
#                    not a figure of the default; a later setting overrides the default's
#   BOUND=W          serve bench/ingestbound instead of hub serve: Hub's collect API with its
#                    group write replaced (touchpoints: Hub's own, the control; log: one row per
#                    7,000 bytes of a group's records in an unindexed table; logapply: log with
#                    the touchpoints written behind it; none: nothing stored); bench/ingest
#                    only, not Hub's figure (bench/ingest/README.md, "What a different storage
#                    could buy")
#   PROFILE=N        serve with bench/hubprof (hub serve + net/http/pprof on loopback) and take an
#                    N-second CPU profile while the harness runs (bench_profile_start/_report);
#                    the top of `go tool pprof -top` is printed, the profile kept in the work directory
#
# After bench_setup: HUB_URL, FAKE_URL, TENANT, ADMIN_KEY, PUBLIC_KEY, HOTMART_URL, HOTTOK, WOO_URL,
# WOO_SECRET, WORK (the work directory), DB_URL and PG_PID (the postmaster; postgres only),
# HUB_PID, FAKE_PID, DEST_FAKES (name=URL,... of the fakes of DESTS other than meta; empty by
# default), and BENCH_ARGS (the harness flags every run.sh passes: -force with FORCE=1).

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STORE=${STORE:-sqlite}
HUB_PID=
RUDDER_PID=
TRANSFORMER_PID=
FAKE_PID=
DESTS=${DESTS:-meta}
DEST_FAKES=
DEST_PIDS=()
REDIS_PID=
HUGE_PAGES_BEFORE=
PG_DIR=
PG_PID=
PG_AS=()
WORK=
BENCH_ARGS=()
if [ "${FORCE:-0}" = 1 ]; then
	BENCH_ARGS+=(-force)
fi

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# free_port prints a TCP port nothing listens on at 127.0.0.1, below the kernel's ephemeral
# range (net.ipv4.ip_local_port_range): a port inside it can be taken by any outgoing
# connection between this check and the server's bind, which failed a run once (hub: bind:
# address already in use, 49704).
free_port() {
	local p i low=32768 high
	read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	local base=10000 span=$((low - 10000))
	if [ "$span" -lt 2000 ]; then # an unusual range: fall back to the top of the port space
		base=$((high + 1)) span=$((65535 - high))
	fi
	for i in $(seq 1 200); do
		p=$((base + (RANDOM * 32768 + RANDOM + i) % span))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	log "no free port found"
	return 1
}

# wait_http waits (at most $2 seconds) until $1 answers 200; with a pid as $3, it gives up as
# soon as that process has exited (its log says why).
wait_http() {
	local url=$1 secs=${2:-60} pid=${3:-} i
	for i in $(seq 1 $((secs * 5))); do
		if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			log "$url: process $pid exited before answering (iteration $i)"
			return 1
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
	stop_pid "$RUDDER_PID"
	stop_pid "$TRANSFORMER_PID"
	stop_pid "$FAKE_PID"
	local p
	for p in "${DEST_PIDS[@]}"; do
		stop_pid "$p"
	done
	stop_pid "$REDIS_PID"
	if [ -n "$PG_DIR" ]; then
		if [ -n "$PG_PID" ] && [ "${PG_STATEMENTS:-0}" = 1 ] && [ -n "$WORK" ]; then
			pg_statements_report || log "could not read pg_stat_statements"
		fi
		pg_autovacuum_report || log "could not read the autovacuum runs from $PG_DIR/log"
		if [ -n "$PG_PID" ]; then
			if [ -z "$RUDDER_PID" ]; then # rudder-server's database has no River jobs
				pg_river_jobs_report || log "could not count the River jobs"
			fi
			"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || log "could not stop the PostgreSQL cluster in $PG_DIR"
		fi
		if [ -n "$HUGE_PAGES_BEFORE" ]; then
			# The cluster is stopped: its huge pages are free again.
			echo "$HUGE_PAGES_BEFORE" >/proc/sys/vm/nr_hugepages 2>/dev/null || log "could not give back the huge pages (vm.nr_hugepages stays $(cat /proc/sys/vm/nr_hugepages))"
		fi
		if [ "${KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
			log "PostgreSQL cluster kept: $PG_DIR (log: $PG_DIR/log)"
		else
			rm -rf "$PG_DIR"
		fi
	fi
	if [ -n "$WORK" ]; then
		if [ "${KEEP:-0}" = 1 ] || [ "${KEEP_WORK:-0}" = 1 ] || [ "$rc" != 0 ]; then
			log "work directory kept: $WORK (hub.log, fake.log or rudder.log)"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

# pg_statements_report writes the run's statements by total execution time (calls, total and mean
# ms, plannings and their mean time, rows per call, shared blocks hit/read/dirtied per call) to $WORK/pg_statements.txt and prints
# the top 25.
pg_statements_report() {
	psql "postgres://postgres@127.0.0.1:$PG_PORT/hub?sslmode=disable" -qAF $'\t' -c "
		select calls, round(total_exec_time::numeric, 1) as total_ms,
		       round((total_exec_time / calls)::numeric * 1000, 1) as mean_us,
		       plans, round((total_plan_time / greatest(plans, 1))::numeric * 1000, 1) as plan_mean_us,
		       round(rows::numeric / calls, 2) as rows_per_call,
		       round((shared_blks_hit + shared_blks_read)::numeric / calls, 1) as blks_per_call,
		       round(shared_blks_dirtied::numeric / calls, 2) as dirtied_per_call,
		       round(wal_bytes::numeric / calls) as wal_bytes_per_call,
		       left(regexp_replace(query, '\s+', ' ', 'g'), 160) as query
		from pg_stat_statements where dbid = (select oid from pg_database where datname = 'hub') and calls > 0
		order by total_exec_time desc" >"$WORK/pg_statements.txt"
	KEEP_WORK=1
	log "pg_stat_statements by total time: $WORK/pg_statements.txt; its top:"
	head -n 26 "$WORK/pg_statements.txt" >&2
}

# pg_river_jobs_report prints the River jobs of the whole run (warm-up included) by kind and
# state: how many orders went through River rather than the in-process paths (an intake
# process_inbox job when the background queue had no room, a deliver job for a first attempt
# that found no local slot, and every retry), which cost a job's insert, fetch and completion each.
pg_river_jobs_report() {
	local jobs
	jobs=$(psql "postgres://postgres@127.0.0.1:$PG_PORT/hub?sslmode=disable" -qAtc "
		select coalesce(string_agg(kind || '/' || state || '=' || n, ' ' order by kind, state), 'none')
		from (select kind, state::text, count(*) as n from river_job group by kind, state) j") || return 1
	log "River jobs of the run (warm-up included): $jobs"
}

# pg_autovacuum_report prints, from the cluster's log, each autovacuum run of the whole run
# (warm-up included) with its table, its CPU (user + system) and its elapsed time, and their
# count and CPU in all: what the database did besides Hub's statements, and when, to set beside
# a latency timeline (-timeline) that rises for a few seconds.
pg_autovacuum_report() {
	[ -f "$PG_DIR/log" ] || return 0
	awk '
		/automatic (vacuum|analyze) of table/ {
			what = ($0 ~ /automatic vacuum/) ? "vacuum" : "analyze"
			match($0, /of table "[^"]*"/); tbl = substr($0, RSTART + 10, RLENGTH - 11); sub(/^[^.]*\.[^.]*\./, "", tbl)
			at = $2; sub(/\..*/, "", at); open = 1; next
		}
		open && /system usage: CPU: user:/ {
			match($0, /user: [0-9.]+/); u = substr($0, RSTART + 6, RLENGTH - 6)
			match($0, /system: [0-9.]+/); s = substr($0, RSTART + 8, RLENGTH - 8)
			match($0, /elapsed: [0-9.]+/); e = substr($0, RSTART + 9, RLENGTH - 9)
			printf "autovacuum: %s %s %s cpu=%.2fs elapsed=%.2fs\n", at, what, tbl, u + s, e
			n[what]++; cpu[what] += u + s; open = 0
		}
		END { printf "autovacuum in all: %d vacuums (%.2f s of CPU), %d analyzes (%.2f s of CPU)\n", n["vacuum"], cpu["vacuum"], n["analyze"], cpu["analyze"] }
	' "$PG_DIR/log" >&2
}

# pg_start initdb's and starts the run's own PostgreSQL cluster, configured like a managed
# database, and creates the database hub in it. Sets PG_DIR, PG_BIN, PG_PORT, PG_PID, DB_URL.
pg_start() {
	local initdb
	initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
	[ -n "$initdb" ] || initdb=$(command -v initdb) || {
		log "no initdb under /usr/lib/postgresql/*/bin or on PATH"
		return 1
	}
	PG_BIN=$(dirname "$initdb")
	# Outside $WORK (mode 700, root's): the postgres user must reach it.
	PG_DIR=$(mktemp -d /tmp/hub-bench-pg.XXXXXX)
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$PG_DIR"
		PG_AS=(runuser -u postgres --)
	fi
	"${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 || {
		cat "$PG_DIR/initdb.log" >&2
		return 1
	}
	local mem_mb sb_mb
	mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
	sb_mb=$((mem_mb / 4))
	[ "$sb_mb" -le 8192 ] || sb_mb=8192
	PG_PORT=$(free_port)
	cat >>"$PG_DIR/data/postgresql.conf" <<-CONF

		# bench/lib.sh: a managed database's settings (RDS/Cloud SQL defaults, and what Hub's
		# Terraform sets in RDS's parameter group), not a tuned one
		listen_addresses = '127.0.0.1'
		port = $PG_PORT
		unix_socket_directories = '$PG_DIR'
		max_connections = ${PG_MAX_CONNECTIONS:-200}
		shared_buffers = ${PG_SHARED_BUFFERS:-${sb_mb}MB}
		effective_cache_size = $((mem_mb * 3 / 4))MB
		autovacuum = on
		synchronous_commit = on
		fsync = on
		full_page_writes = on
		wal_level = replica
		max_wal_size = 2GB
		checkpoint_timeout = 5min
		# as Hub's Terraform sets RDS's parameter group (docs/infrastructure/terraform/rds.tf)
		random_page_cost = 1.1
		# logging only: each autovacuum run (pg_autovacuum_report) and checkpoint, with its CPU
		log_autovacuum_min_duration = 0
		log_checkpoints = on
	CONF
	if [ -n "${PG_EXTRA_CONF:-}" ]; then
		printf '%s\n' "$PG_EXTRA_CONF" | tr ';' '\n' >>"$PG_DIR/data/postgresql.conf"
		log "PostgreSQL settings beside a managed database's (PG_EXTRA_CONF): $PG_EXTRA_CONF"
	fi
	if [ "${PG_STATEMENTS:-0}" = 1 ]; then
		printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\npg_stat_statements.max = 2000\npg_stat_statements.track_planning = on\n" >>"$PG_DIR/data/postgresql.conf"
	fi
	if [ -n "${PG_AUTO_EXPLAIN:-}" ]; then
		printf "session_preload_libraries = 'auto_explain'\nauto_explain.log_min_duration = %s\nauto_explain.log_analyze = on\nauto_explain.log_timing = off\nauto_explain.log_buffers = on\nauto_explain.log_nested_statements = on\n" "$PG_AUTO_EXPLAIN" >>"$PG_DIR/data/postgresql.conf"
		log "auto_explain logs the plans of statements over ${PG_AUTO_EXPLAIN} ms to $PG_DIR/log: not a figure"
	fi
	# Last: the pages it reserves are for the shared memory of everything configured above,
	# pg_stat_statements' included.
	pg_huge_pages >>"$PG_DIR/data/postgresql.conf"
	"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 120 start >/dev/null || {
		cat "$PG_DIR/log" >&2
		return 1
	}
	PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
	local admin="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
	psql "$admin" -qAtc "create database hub" >/dev/null
	if [ "${PG_STATEMENTS:-0}" = 1 ]; then
		psql "postgres://postgres@127.0.0.1:$PG_PORT/hub?sslmode=disable" -qAtc "create extension pg_stat_statements" >/dev/null
	fi
	DB_URL="postgres://postgres@127.0.0.1:$PG_PORT/hub?sslmode=disable"
	pg_wal_in_service "$admin"
	log "PostgreSQL $(psql "$admin" -qAtc 'show server_version') cluster of this run on port $PG_PORT, postmaster pid $PG_PID: $(psql "$admin" -qAtc "select string_agg(name || '=' || setting || coalesce(unit, ''), ' ' order by name) from pg_settings where name in ('autovacuum','synchronous_commit','fsync','full_page_writes','shared_buffers','effective_cache_size','max_connections','max_wal_size','wal_level','huge_pages','random_page_cost')")"
}

# pg_wal_in_service URL gives the new cluster the WAL segments a database in service has ready
# (PG_WAL_PREALLOC MB, by default 2048: max_wal_size, the most such a database keeps; 0 leaves
# the cluster as initdb made it). A new cluster has none: each 16 MB of WAL it writes is a new
# file that PostgreSQL fills with zeros and syncs (wal_init_zero) while the commit that needs
# it, and every commit behind it, waits. On session ae's machine that took 25-60 ms, every
# 1.25 s at 10,000 events/s (docs/benchmarks.md, session ae). A database that has run through a
# checkpoint renames its old segments for reuse instead (up to twice its estimate of the WAL
# between two checkpoints, within max_wal_size), so it pays this only in its first minutes.
# Here: a switch to a new segment per 16 MB, then a CHECKPOINT, which recycles them all, before
# anything is measured.
pg_wal_in_service() {
	local mb=${PG_WAL_PREALLOC:-2048}
	[ "$mb" -gt 0 ] || {
		log "WAL segments: as initdb made them (PG_WAL_PREALLOC=0): each 16 MB of WAL written is a new file, zero-filled"
		return 0
	}
	local t0=$SECONDS
	psql "$1" -v ON_ERROR_STOP=1 -qAt >/dev/null <<-SQL || return 1
		create table hub_bench_wal (i int);
		do \$\$ begin
			for i in 1..($mb / 16) loop
				insert into hub_bench_wal values (i);
				perform pg_switch_wal();
			end loop;
		end \$\$;
		drop table hub_bench_wal;
		checkpoint;
	SQL
	log "WAL segments ready for reuse, as in a database in service: $(psql "$1" -qAtc "select count(*) from pg_ls_waldir() where name ~ '^[0-9A-F]{24}\$'") of 16 MB (PG_WAL_PREALLOC=$mb MB, $((SECONDS - t0)) s)"
}

# pg_huge_pages prints the cluster's huge_pages setting (see PG_HUGE_PAGES): on after reserving
# the 2 MB pages its shared memory needs on top of those already reserved (HUGE_PAGES_BEFORE,
# given back by bench_cleanup), else off, with the reason in the log. A page fault on a fresh
# 4 kB page costs several microseconds on these machines (fault_us), and a new cluster touches
# each page of its shared buffers for the first time while the harness measures, a cost a
# long-running database with huge pages does not have.
pg_huge_pages() {
	if [ "${PG_HUGE_PAGES:-on}" != on ]; then
		echo "huge_pages = off"
		return
	fi
	local need have
	need=$("${PG_AS[@]}" "$PG_BIN/postgres" -D "$PG_DIR/data" -C shared_memory_size_in_huge_pages 2>/dev/null) || need=
	have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null) || have=
	if ! [[ "$need" =~ ^[1-9][0-9]*$ && "$have" =~ ^[0-9]+$ ]] || [ ! -w /proc/sys/vm/nr_hugepages ]; then
		log "huge pages: not available here (needs PostgreSQL 15+ and root); shared memory in 4 kB pages"
		echo "huge_pages = off"
		return
	fi
	HUGE_PAGES_BEFORE=$have
	echo $((have + need)) >/proc/sys/vm/nr_hugepages 2>/dev/null || true
	if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt $((have + need)) ]; then
		log "huge pages: only $(($(cat /proc/sys/vm/nr_hugepages) - have)) of $need could be reserved; shared memory in 4 kB pages"
		echo "$have" >/proc/sys/vm/nr_hugepages 2>/dev/null || true
		HUGE_PAGES_BEFORE=
		echo "huge_pages = off"
		return
	fi
	log "huge pages: $need reserved for the cluster's shared memory (vm.nr_hugepages $have -> $((have + need)))"
	echo "huge_pages = on"
}

# redis_start starts the run's own redis-server (no persistence, like a managed cache) and sets
# REDIS_URL_OWN.
redis_start() {
	command -v redis-server >/dev/null || {
		log "no redis-server on PATH (BENCH_REDIS_URL= runs with Hub's in-process cache instead)"
		return 1
	}
	local port
	port=$(free_port)
	mkdir -p "$WORK/redis"
	redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$WORK/redis" \
		--logfile "$WORK/redis.log" --daemonize no &
	REDIS_PID=$!
	local i
	for i in $(seq 1 100); do
		if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
			REDIS_URL_OWN="redis://127.0.0.1:$port/0"
			log "Redis $(redis-cli -p "$port" info server | sed -n 's/^redis_version:\([^\r]*\).*/\1/p') of this run on port $port, pid $REDIS_PID"
			return 0
		fi
		sleep 0.1
	done
	log "redis-server on port $port did not answer (iteration $i); see $WORK/redis.log"
	return 1
}

# hubenv runs the hub binary with the environment of this run (HUB_ENV, set by bench_setup).
hubenv() {
	env "${HUB_ENV[@]}" "$WORK/hub" "$@"
}

# dest_fakes_start starts the fake of every destination of DESTS but meta, creates its
# destination with the CLI and adds the variable that points Hub at it to HUB_ENV. Sets
# DEST_FAKES and DEST_PIDS.
dest_fakes_start() {
	local name port url out key secret fakes=()
	for name in ${DESTS//,/ }; do
		[ "$name" != meta ] || continue
		port=$(free_port)
		while [ "$port" = "$HUB_PORT" ] || [ "$port" = "$FAKE_PORT" ]; do port=$(free_port); done
		url="http://127.0.0.1:$port"
		case "$name" in
		googleads)
			"$FAKE_BIN" fake-google --addr "127.0.0.1:$port" >"$WORK/fake-$name.log" 2>&1 &
			DEST_PIDS+=($!)
			wait_http "$url/_fake/events" 30
			# The fake prints the throwaway service-account key its token endpoint accepts.
			key=$(sed -n '/^service_account_json/{n;p;q}' "$WORK/fake-$name.log")
			[ -n "$key" ] || {
				log "hub fake-google printed no service-account key (see $WORK/fake-$name.log)"
				return 1
			}
			hubenv destination add --tenant "$TENANT" --type google_ads \
				--config '{"operating_account_id":"1234567890","conversion_action_id":"987654321"}' \
				--credentials "$(jq -cn --arg k "$key" '{service_account_json: $k}')" >/dev/null
			HUB_ENV+=(HUB_GOOGLE_DATAMANAGER_URL="$url")
			;;
		ga4)
			"$FAKE_BIN" fake-ga4 --addr "127.0.0.1:$port" >"$WORK/fake-$name.log" 2>&1 &
			DEST_PIDS+=($!)
			# G-FAKE0GA4: the container of the sessions bench/delivery's clicks carry.
			hubenv destination add --tenant "$TENANT" --type ga4 --config '{"measurement_id":"G-FAKE0GA4"}' \
				--credentials '{"api_secret":"bench_ga4_secret"}' >/dev/null
			HUB_ENV+=(HUB_GA4_URL="$url")
			;;
		tiktok)
			"$FAKE_BIN" fake-tiktok --addr "127.0.0.1:$port" >"$WORK/fake-$name.log" 2>&1 &
			DEST_PIDS+=($!)
			hubenv destination add --tenant "$TENANT" --type tiktok --config '{"pixel_code":"CBENCH0PIXEL0CODE001"}' \
				--credentials '{"access_token":"ttbench"}' >/dev/null
			HUB_ENV+=(HUB_TIKTOK_API_URL="$url")
			;;
		webhook)
			secret="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
			"$FAKE_BIN" fake-webhook --addr "127.0.0.1:$port" --secret "$secret" >"$WORK/fake-$name.log" 2>&1 &
			DEST_PIDS+=($!)
			hubenv destination add --tenant "$TENANT" --type webhook --config "{\"url\":\"$url/hooks/hub\"}" \
				--credentials "{\"signing_secret\":\"$secret\"}" >/dev/null
			;;
		*)
			log "DESTS: unknown destination $name (meta, googleads, ga4, tiktok, webhook)"
			return 1
			;;
		esac
		wait_http "$url/_fake/events" 30
		fakes+=("$name=$url")
	done
	DEST_FAKES=$(
		IFS=,
		echo "${fakes[*]}"
	)
	[ -z "$DEST_FAKES" ] || log "fakes of the other destinations: $DEST_FAKES"
}

# bench_setup starts everything (extra hub serve settings come from HUB_EXTRA_ENV).
bench_setup() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	WORK=$(mktemp -d /tmp/hub-bench.XXXXXX)
	mkdir -p "$WORK/data"
	log "building hub into $WORK"
	(cd "${HUB_SRC:-$BENCH_ROOT}" && go build -o "$WORK/hub" ./cmd/hub)
	# The fakes are the harness's: with HUB_SRC they come from this checkout, so an older Hub is
	# measured against the same fake servers and control endpoints as the current one.
	FAKE_BIN="$WORK/hub"
	if [ -n "${HUB_SRC:-}" ]; then
		log "hub built from $HUB_SRC at $(git -C "$HUB_SRC" rev-parse --short HEAD)"
		(cd "$BENCH_ROOT" && go build -o "$WORK/hubfake" ./cmd/hub)
		FAKE_BIN="$WORK/hubfake"
	fi
	SERVE=("$WORK/hub" serve)
	if [ -n "${BOUND:-}" ]; then
		# bench/ingestbound: Hub's collect API with its write replaced (bench/ingest/README.md).
		(cd "$BENCH_ROOT" && go build -o "$WORK/ingestbound" ./bench/ingestbound)
		SERVE=(env BOUND_WRITE="$BOUND" "$WORK/ingestbound")
		[ -z "${PROFILE:-}" ] || { log "PROFILE and BOUND do not go together"; return 1; }
	fi
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
		pg_start
		;;
	*)
		log "STORE must be sqlite or postgres"
		return 1
		;;
	esac

	HUB_ENV=(HUB_DATA_DIR="$WORK/data" PORT="$HUB_PORT" HUB_HOST=127.0.0.1 HUB_OPS_ADDR=off HUB_PUBLIC_URL="$HUB_URL"
		HUB_SECRET_KEY="$SECRET" HUB_LOG_LEVEL="${HUB_LOG_LEVEL:-warn}")
	if [ "$STORE" = postgres ]; then
		HUB_ENV+=(DATABASE_URL="$DB_URL" ${PG_POOL:+HUB_DB_MAX_CONNS="$PG_POOL"})
		if [ -z "${BENCH_REDIS_URL+set}" ]; then
			redis_start
			HUB_ENV+=(REDIS_URL="$REDIS_URL_OWN")
		elif [ -n "$BENCH_REDIS_URL" ]; then
			HUB_ENV+=(REDIS_URL="$BENCH_REDIS_URL")
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
	# META_EVENTS (e.g. Purchase,Lead) is the Meta destination's events setting; unset, it takes
	# purchases only.
	hubenv destination add --tenant "$TENANT" --type meta \
		--config "{\"pixel_id\":\"1234567890123456\"${META_EVENTS:+,\"events\":\"$META_EVENTS\"}}" \
		--credentials '{"access_token":"EAAbench"}' >/dev/null
	case ",$DESTS," in
	*,meta,*) ;;
	*)
		log "DESTS must include meta (the capacity objective is Meta's)"
		return 1
		;;
	esac
	dest_fakes_start
	if [ -z "$TENANT" ] || [ -z "$ADMIN_KEY" ] || [ -z "$PUBLIC_KEY" ] || [ -z "$HOTMART_URL" ]; then
		log "could not read the tenant, key or webhook URL from the CLI output"
		return 1
	fi

	"$FAKE_BIN" fake-meta --addr "127.0.0.1:$FAKE_PORT" >"$WORK/fake.log" 2>&1 &
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
	wait_http "$HUB_URL/readyz" 90 "$HUB_PID" || { tail -n 5 "$WORK/hub.log" >&2; return 1; }
	log "hub ($STORE) on $HUB_URL, pid $HUB_PID; fake Meta on $FAKE_URL, pid $FAKE_PID; load average $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
}

# bench_profile_start [delay seconds]: with PROFILE=N, have the harness take an N-second CPU
# profile of the server (-pprof …), starting the delay after its measured load starts (by
# default the harness's own choice). Call it before running the harness with "${BENCH_ARGS[@]}".
bench_profile_start() {
	[ -n "${PROFILE:-}" ] || return 0
	BENCH_ARGS+=(-pprof "$PPROF_URL" -profile "${PROFILE}s" -profile-out "$WORK/cpu.pprof")
	if [ -n "${1:-}" ]; then
		BENCH_ARGS+=(-profile-delay "${1}s")
	fi
}

# bench_profile_report: write the profile's top functions next to it and print them.
bench_profile_report() {
	[ -n "${PROFILE:-}" ] || return 0
	if [ -s "$WORK/cpu.pprof" ]; then
		go tool pprof -top -nodecount=60 "$WORK/hubprof" "$WORK/cpu.pprof" >"$WORK/cpu.top" 2>/dev/null || true
		go tool pprof -top -cum -nodecount=80 "$WORK/hubprof" "$WORK/cpu.pprof" >"$WORK/cpu.cum" 2>/dev/null || true
		KEEP_WORK=1
		log "CPU profile: $WORK/cpu.pprof (top: $WORK/cpu.top, cumulative: $WORK/cpu.cum); its top:"
		head -n 30 "$WORK/cpu.top" >&2
	else
		log "no CPU profile was taken (the harness says why)"
	fi
}

# rudder_setup starts, instead of Hub, an already built rudder-server ($RUDDER_BIN) for the
# same-machine comparison of bench/ingest (TARGET=rudder; STORE must be postgres): the run's own
# PostgreSQL cluster exactly as for Hub (pg_start, with a database rudder in it), and rudder-server
# gateway-only (APP_TYPE=GATEWAY) on a free loopback port, its workspace configuration read from
# a file written here (one enabled JavaScript source with a random write key) instead of
# RudderStack's control plane. The gateway starts serving only once it has read the features of
# its rudder-transformer (DEST_TRANSFORM_URL, GET /features), which it does not otherwise call for
# /v1/batch; a transformer that answers 404 there makes rudder-server use its built-in default
# features, so an empty directory served by python3's http.server stands in for it. Diagnostics
# (telemetry to rudderstack.com, unreachable here) and StatsD metrics (nothing collects them) are
# off. Every other setting is rudder-server's own default: CONFIG_PATH points at a file that does
# not exist, so the config/config.yaml of rudder-server's source tree (tuned for development) does
# not apply, as in its Docker image, which ships none. Its profiler (on by default on port 7777),
# admin socket (/tmp/rudder-server.sock) and temporary files go to a free port and the run's
# directory, so that two runs cannot collide.
# RUDDER_EXTRA_ENV adds NAME=value words. Sets WORK, DB_URL, PG_PID, RUDDER_URL, RUDDER_PID,
# RUDDER_WRITE_KEY.
rudder_setup() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ "$STORE" != postgres ]; then
		log "TARGET=rudder needs STORE=postgres (rudder-server stores its jobs in PostgreSQL only)"
		return 1
	fi
	if [ -z "${RUDDER_BIN:-}" ] || [ ! -x "$RUDDER_BIN" ]; then
		log "TARGET=rudder needs RUDDER_BIN, the path of a built rudder-server binary (see bench/ingest/README.md)"
		return 1
	fi
	WORK=$(mktemp -d /tmp/hub-bench.XXXXXX)
	pg_start
	psql "postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" -qAtc "create database rudder" >/dev/null
	DB_URL="postgres://postgres@127.0.0.1:$PG_PORT/rudder?sslmode=disable"
	RUDDER_WRITE_KEY="bench$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
	cat >"$WORK/workspaceConfig.json" <<-JSON
		{
		  "workspaceId": "bench-workspace",
		  "enableMetrics": false,
		  "sources": [{
		    "id": "bench-source", "name": "bench", "workspaceId": "bench-workspace",
		    "writeKey": "$RUDDER_WRITE_KEY", "enabled": true, "config": {},
		    "sourceDefinition": {"id": "bench-js", "name": "Javascript", "displayName": "JavaScript", "category": null},
		    "destinations": []
		  }]
		}
	JSON
	local port prof tport
	port=$(free_port)
	prof=$(free_port)
	while [ "$prof" = "$port" ]; do prof=$(free_port); done
	tport=$(free_port)
	while [ "$tport" = "$port" ] || [ "$tport" = "$prof" ]; do tport=$(free_port); done
	RUDDER_URL="http://127.0.0.1:$port"
	mkdir -p "$WORK/rudder" "$WORK/transformer"
	python3 -m http.server --bind 127.0.0.1 --directory "$WORK/transformer" "$tport" >"$WORK/transformer.log" 2>&1 &
	TRANSFORMER_PID=$!
	local i
	for i in $(seq 1 50); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$tport/features")" = 404 ] && break
		sleep 0.2
	done
	local -a extra=()
	if [ -n "${RUDDER_EXTRA_ENV:-}" ]; then
		read -r -a extra <<<"$RUDDER_EXTRA_ENV"
	fi
	# env execs rudder-server, so $! is its own pid. It runs in its own directory (it may write
	# files relative to it).
	(cd "$WORK/rudder" && exec env APP_TYPE=GATEWAY CONFIG_PATH="$WORK/rudder/none.yaml" \
		JOBS_DB_HOST=127.0.0.1 JOBS_DB_PORT="$PG_PORT" JOBS_DB_USER=postgres JOBS_DB_PASSWORD= \
		JOBS_DB_DB_NAME=rudder JOBS_DB_SSL_MODE=disable \
		RSERVER_BACKEND_CONFIG_CONFIG_FROM_FILE=true RSERVER_BACKEND_CONFIG_CONFIG_JSONPATH="$WORK/workspaceConfig.json" \
		RSERVER_GATEWAY_WEB_PORT="$port" RSERVER_PROFILER_PORT="$prof" RUDDER_TMPDIR="$WORK/rudder" \
		DEST_TRANSFORM_URL="http://127.0.0.1:$tport" RSERVER_DIAGNOSTICS_ENABLE_DIAGNOSTICS=false RSERVER_ENABLE_STATS=false \
		"${extra[@]}" \
		"$RUDDER_BIN") >"$WORK/rudder.log" 2>&1 &
	RUDDER_PID=$!
	wait_http "$RUDDER_URL/health" 120 "$RUDDER_PID" || { tail -n 20 "$WORK/rudder.log" >&2; return 1; }
	log "rudder-server $RUDDER_BIN (gateway) on $RUDDER_URL, pid $RUDDER_PID; load average $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
}

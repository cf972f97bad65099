#!/usr/bin/env bash
# `make bench-dns`: PowerDNS + ddns-backend against PowerDNS with its native
# gpgsql and lmdb backends, loaded with the same zone of N hostnames, each
# with pdns caches off and with its default caches, measured with dnsperf on
# loopback in the same run. Also: ddns-backend's RSS, the replica's Redis
# memory per name, and ddns-cache's cold load time for N and for 10 N names.
#
# A last run puts tests/bench/null_backend (a remote backend that answers
# from fixed strings, with no work) behind pdns with its caches off: the most
# any remote backend can reach here, printed as the ceiling the caches-off
# figures are read against.
#
# Every run is measured after a warm-up with the same queries (BENCH_WARMUP
# seconds, the same for every backend): a server in service has warm caches,
# and a cold start would mostly measure how fast the first 100,000 misses go.
#
# Usage: tests/bench/dns.sh BUILDDIR   (env: BENCH_NAMES=100000, BENCH_SECONDS=15,
#        BENCH_WARMUP=5, BENCH_BIG=1000000: names for the second cold load, 0 to skip)
# Ends with one line:
#   bench-dns: caches_off_vs_gpgsql=X caches_off_vs_lmdb=Y cached_vs_lmdb=Z lost=N rss_mb=M
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
build=$(cd "${1:-$root/build}" && pwd)
names=${BENCH_NAMES:-100000}
threads=${BENCH_PDNS_THREADS:-3}       # pdns distributor threads, the same for every backend
outstanding=${BENCH_OUTSTANDING:-100}  # dnsperf queries in flight
seconds=${BENCH_SECONDS:-15}
warmup=${BENCH_WARMUP:-5}
big=${BENCH_BIG:-1000000}

for tool in dnsperf pdnsutil; do
	command -v "$tool" >/dev/null || die "$tool not found (make deps installs dnsperf and pdns-tools)"
done
[ -f /usr/lib/x86_64-linux-gnu/pdns/libgpgsqlbackend.so ] || die "pdns-backend-pgsql missing (make deps)"
[ -f /usr/lib/x86_64-linux-gnu/pdns/liblmdbbackend.so ] || die "pdns-backend-lmdb missing (make deps)"
[ -x "$build/tests/bench/null_backend" ] || die "$build/tests/bench/null_backend missing (make build)"

tmp=$(mktemp -d /tmp/ddns-bench.XXXXXX)
chmod 755 "$tmp"
cleanup() {
	local f
	for f in "$tmp"/*.pid "$tmp"/pdns-*/pdns.pid; do
		[ -f "$f" ] && stop_pid "$f"
	done
	pg_stop "$tmp/pg"
	stop_pid "$tmp/redis/redis.pid"
	rm -rf "$tmp"
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- servers and data ---------------------------------------------------------

pg_port=$(free_port)
redis_port=$(free_port)
pg_init "$tmp/pg"
pg_start "$tmp/pg" "$pg_port" fsync=off synchronous_commit=off full_page_writes=off
redis_start "$tmp/redis" "$redis_port" --save '' --appendonly no
pg_create_db "$pg_port" "$tmp/pg" ddns
pg_create_db "$pg_port" "$tmp/pg" pdns
export DDNS_DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/ddns"
export DDNS_REDIS_DNS_URL="redis://127.0.0.1:$redis_port/0"
export DDNS_REDIS_STREAM_URL="redis://127.0.0.1:$redis_port/1"
export DDNS_LOG_LEVEL=warn
psql_ddns() { psql "$DDNS_DATABASE_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }

"$build/schema/ddns-migrate" up >/dev/null
DDNS_BASE_ZONES=dyn.test. "$build/schema/ddns-migrate" seed >/dev/null

# hostnames h1..hN with an A record each; 10.x.y.z keeps the data realistic
# (all answers differ)
load_names() {
	psql_ddns "INSERT INTO records (zone_id, name, type, content, ttl)
		SELECT z.id, 'h' || g || '.dyn.test.', 'A',
		       '10.' || (g >> 16) % 256 || '.' || (g >> 8) % 256 || '.' || g % 256, 60
		FROM zones z, generate_series($1, $2) g WHERE z.name = 'dyn.test.'"
	psql_ddns "ANALYZE records"
}
say "loading $names names into PostgreSQL"
load_names 1 "$names"

# the same zone as a zone file, for lmdb (pdnsutil load-zone) and gpgsql
{
	echo '$ORIGIN dyn.test.'
	echo '@ 60 IN SOA ns1.dyn.test. hostmaster.dyn.test. 1 10800 3600 604800 60'
	echo '@ 3600 IN NS ns1.dyn.test.'
	echo 'ns1 3600 IN A 127.0.0.1'
	awk -v n="$names" 'BEGIN { for (g = 1; g <= n; g++)
		printf "h%d 60 IN A 10.%d.%d.%d\n", g, int(g / 65536) % 256, int(g / 256) % 256, g % 256 }'
} >"$tmp/zone"

# queries: existing names and 10% that do not exist, shuffled (fixed seed)
awk -v n="$names" 'BEGIN { srand(42); for (i = 0; i < n; i++) {
	if (i % 10 == 9) printf "nx%d.dyn.test A\n", int(rand() * n)
	else printf "h%d.dyn.test A\n", 1 + int(rand() * n) } }' >"$tmp/queries"

# ---- the replica: cold load, memory -------------------------------------------

redis_used() { redis-cli -p "$redis_port" INFO memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }
cache_listen=127.0.0.1:$(free_port)

# cold_load COUNT: start ddns-cache on an empty Redis, time until the replica is complete
cold_load() {
	redis-cli -p "$redis_port" FLUSHALL >/dev/null
	local before t0 t1
	before=$(redis_used)
	t0=$(now_ms)
	DDNS_CACHE_LISTEN=$cache_listen daemon_start "$tmp/cache.pid" "$tmp/cache.log" \
		"$build/services/cache/ddns-cache"
	wait_http "http://$cache_listen/readyz" 600 || die "ddns-cache did not load, see $tmp/cache.log"
	t1=$(now_ms)
	local after=$(redis_used)
	say "$(printf 'cold load of %8d names: %6.2f s, Redis %5.1f MB, %4.0f bytes per name' "$1" \
		"$(echo "($t1 - $t0) / 1000" | bc -l)" "$(echo "($after - $before) / 1048576" | bc -l)" \
		"$(echo "($after - $before) / $1" | bc -l)")"
	load_ms=$((t1 - t0))
	bytes_per_name=$(((after - before) / $1))
}

say "== replica"
cold_load "$names"
small_ms=$load_ms
small_bytes=$bytes_per_name

# ---- dnsperf runs ---------------------------------------------------------------

dns_port=$(free_port)
api_port=$(free_port)
key=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
caches_off="--cache-ttl=0 --query-cache-ttl=0 --negquery-cache-ttl=0"

clk=$(getconf CLK_TCK)
# cpu_pct TICKS_BEFORE TICKS_AFTER: % of one core over the run
cpu_pct() { echo "($2 - $1) * 100 / $clk / $seconds" | bc; }

# dnsperf_run SECONDS: the query file against pdns, output on stdout
dnsperf_run() {
	dnsperf -s 127.0.0.1 -p "$dns_port" -d "$tmp/queries" -l "$1" -c 8 -q "$outstanding" 2>&1 || true
}

# perf LABEL: one dnsperf run against the running pdns; prints "qps lost avg_ms"
# and the CPU that pdns, the remote backend ($backend_pidfile, when running)
# and dnsperf used
backend_pidfile=$tmp/backend.pid
perf() {
	local out qps lost avg pdns_pid backend_pid p0 b0 d0 p1 b1 d1
	pdns_pid=$(cat "$tmp/pdns-$1/pdns.pid")
	backend_pid=$(cat "$backend_pidfile" 2>/dev/null) || backend_pid=
	p0=$(cpu_ticks "$pdns_pid")
	b0=$(cpu_ticks $backend_pid)
	d0=$(reaped_cpu_ticks $$)
	dnsperf_run "$seconds" >"$tmp/dnsperf.$1"
	p1=$(cpu_ticks "$pdns_pid")
	b1=$(cpu_ticks $backend_pid)
	d1=$(reaped_cpu_ticks $$)
	out=$(cat "$tmp/dnsperf.$1")
	qps=$(awk '/Queries per second:/ { print $4 }' <<<"$out")
	lost=$(awk '/Queries lost:/ { print $3 }' <<<"$out")
	avg=$(awk '/Average Latency/ { print $4 * 1000 }' <<<"$out")
	[ -n "$qps" ] || die "dnsperf printed no result for $1: $(tail -5 <<<"$out")"
	say "$(printf '%-28s %10.0f qps  %6s lost  %7.3f ms avg   CPU %% of a core: pdns %3d, remote backend %3d, dnsperf %3d' \
		"$1" "$qps" "$lost" "$avg" "$(cpu_pct "$p0" "$p1")" "$(cpu_pct "$b0" "$b1")" "$(cpu_pct "$d0" "$d1")")"
	echo "$qps $lost $avg" >"$tmp/result.$1"
}

# with_pdns LABEL CACHEFLAGS BACKEND_FLAGS...: start pdns, warm it, measure, stop
with_pdns() {
	local label=$1 cacheflags=$2
	shift 2
	# shellcheck disable=SC2086
	pdns_start "$tmp/pdns-$label" "$dns_port" "$api_port" "$key" "$@" $cacheflags \
		--receiver-threads=1 --distributor-threads="$threads"
	wait_dns "$dns_port" dyn.test 60 || die "pdns ($label) did not answer, see $tmp/pdns-$label/pdns.log"
	if [ "$warmup" -gt 0 ]; then
		dnsperf_run "$warmup" >/dev/null
	fi
	perf "$label"
	stop_pid "$tmp/pdns-$label/pdns.pid"
}

backend_sock=$tmp/backend.sock
DDNS_BACKEND_SOCKET=$backend_sock DDNS_BACKEND_LISTEN=127.0.0.1:$(free_port) \
	DDNS_PDNS_API_URL=http://127.0.0.1:$api_port DDNS_PDNS_API_KEY=$key \
	daemon_start "$tmp/backend.pid" "$tmp/backend.log" "$build/backend/ddns-backend"
wait_file "$backend_sock" 20 || die "ddns-backend did not start, see $tmp/backend.log"
remote=$(pdns_remote_flags "$backend_sock")

say "== dnsperf, $seconds s per run after $warmup s of warm-up, $names names, 10% non-existent, pdns distributor threads $threads, $outstanding queries in flight"
# shellcheck disable=SC2086
with_pdns ddns-caches-off "$caches_off" $remote
# shellcheck disable=SC2086
with_pdns ddns-default-caches "" $remote
read -r ddns_off_qps ddns_off_lost _ <"$tmp/result.ddns-caches-off"
read -r ddns_on_qps ddns_on_lost _ <"$tmp/result.ddns-default-caches"
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "$tmp/backend.pid")/status")

# gpgsql: the pdns schema, loaded with the same zone
psql "postgresql://postgres@127.0.0.1:$pg_port/pdns" -qf /usr/share/pdns-backend-pgsql/schema/schema.pgsql.sql >/dev/null
gpgsql="--launch=gpgsql --gpgsql-host=127.0.0.1 --gpgsql-port=$pg_port --gpgsql-user=postgres --gpgsql-dbname=pdns --gpgsql-password="
mkdir -p "$tmp/conf-gpgsql" "$tmp/conf-lmdb"
printf 'launch=gpgsql\ngpgsql-host=127.0.0.1\ngpgsql-port=%s\ngpgsql-user=postgres\ngpgsql-dbname=pdns\ngpgsql-password=\n' \
	"$pg_port" >"$tmp/conf-gpgsql/pdns.conf"
printf 'launch=lmdb\nlmdb-filename=%s/pdns.lmdb\nlmdb-shards=2\n' "$tmp" >"$tmp/conf-lmdb/pdns.conf"
t0=$(now_ms)
pdnsutil --config-dir="$tmp/conf-gpgsql" create-zone dyn.test >/dev/null 2>&1
pdnsutil --config-dir="$tmp/conf-gpgsql" load-zone dyn.test "$tmp/zone" >/dev/null 2>&1 ||
	die "pdnsutil load-zone (gpgsql) failed"
psql "postgresql://postgres@127.0.0.1:$pg_port/pdns" -qc ANALYZE
say "gpgsql: zone loaded in $(( ($(now_ms) - t0) / 1000 )) s"
t0=$(now_ms)
pdnsutil --config-dir="$tmp/conf-lmdb" create-zone dyn.test >/dev/null 2>&1
pdnsutil --config-dir="$tmp/conf-lmdb" load-zone dyn.test "$tmp/zone" >/dev/null 2>&1 ||
	die "pdnsutil load-zone (lmdb) failed"
say "lmdb: zone loaded in $(( ($(now_ms) - t0) / 1000 )) s"

lmdb="--launch=lmdb --lmdb-filename=$tmp/pdns.lmdb --lmdb-shards=2"
# shellcheck disable=SC2086
with_pdns gpgsql-caches-off "$caches_off" $gpgsql
# shellcheck disable=SC2086
with_pdns lmdb-caches-off "$caches_off" $lmdb
# shellcheck disable=SC2086
with_pdns lmdb-default-caches "" $lmdb

# the ceiling: pdns with its caches off in front of a backend that does nothing
stop_pid "$tmp/backend.pid"
null_sock=$tmp/null.sock
daemon_start "$tmp/null.pid" "$tmp/null.log" "$build/tests/bench/null_backend" "$null_sock" dyn.test.
wait_file "$null_sock" 20 || die "null_backend did not start, see $tmp/null.log"
backend_pidfile=$tmp/null.pid
null_remote=$(pdns_remote_flags "$null_sock")
# shellcheck disable=SC2086
with_pdns null-backend-caches-off "$caches_off" $null_remote
stop_pid "$tmp/null.pid"
read -r null_off_qps _ _ <"$tmp/result.null-backend-caches-off"
read -r gpgsql_off_qps _ _ <"$tmp/result.gpgsql-caches-off"
read -r lmdb_off_qps _ _ <"$tmp/result.lmdb-caches-off"
read -r lmdb_on_qps _ _ <"$tmp/result.lmdb-default-caches"

# ---- the big cold load ---------------------------------------------------------

big_ms=
if [ "$big" -gt "$names" ]; then
	stop_pid "$tmp/cache.pid"
	say "loading up to $big names into PostgreSQL"
	load_names $((names + 1)) "$big"
	cold_load "$big"
	big_ms=$load_ms
fi

ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
off_vs_gpgsql=$(ratio "$ddns_off_qps" "$gpgsql_off_qps")
off_vs_lmdb=$(ratio "$ddns_off_qps" "$lmdb_off_qps")
on_vs_lmdb=$(ratio "$ddns_on_qps" "$lmdb_on_qps")
lost=$((ddns_off_lost + ddns_on_lost))
rss_mb=$(echo "scale=1; $rss_kb / 1024" | bc -l)

say "== summary"
say "ddns-backend: caches off $ddns_off_qps qps, default caches $ddns_on_qps qps, RSS $rss_mb MB with $names names"
say "gpgsql caches off $gpgsql_off_qps qps; lmdb caches off $lmdb_off_qps qps, default caches $lmdb_on_qps qps"
say "ceiling, a remote backend doing no work (null_backend), caches off: $null_off_qps qps" \
	"= $(ratio "$null_off_qps" "$gpgsql_off_qps") x gpgsql, $(ratio "$null_off_qps" "$lmdb_off_qps") x lmdb;" \
	"ddns-backend reaches $(echo "$ddns_off_qps * 100 / $null_off_qps" | bc) % of it"
say "replica: $small_bytes bytes of Redis per name; cold load $names names $small_ms ms${big_ms:+, $big names $big_ms ms}"
say "targets: caches_off_vs_gpgsql >= 3, caches_off_vs_lmdb >= 0.5, cached_vs_lmdb >= 0.9, lost = 0, rss_mb < 50"
echo "bench-dns: caches_off_vs_gpgsql=$off_vs_gpgsql caches_off_vs_lmdb=$off_vs_lmdb cached_vs_lmdb=$on_vs_lmdb lost=$lost rss_mb=$rss_mb"

#!/usr/bin/env bash
# `make bench-api`: ddns-api through the whole stack (scripts/stack.sh on free
# loopback ports in a temporary state folder: PostgreSQL with its defaults,
# Redis, ddns-cache, ddns-backend, pdns with its default caches, ddns-api).
#
#   1. BENCH_USERS users, each with an ES256 key (api_keys row with the public
#      JWK), each claiming one domain through the API and giving it an A
#      record. Rate limits raised so they never deny, but still evaluated.
#   2. writes: wrk, PUT /api/v1/domains/{name}/rrsets, every request a new
#      address, each with its user's token (JWT verify, PostgreSQL commit,
#      XADD); non-2xx answers and socket errors void the figure, and the
#      API's api_writes_total must grow by the requests made.
#   3. reads: wrk, GET /api/v1/dns-records/{id} of each user's record.
#   4. propagation: BENCH_UPDATES sequential updates, each timed from the
#      API's 2xx until PowerDNS answers the new address (tests/bench/propagation.py).
# Tokens are signed fresh before each phase (they live 300 s, the API's
# largest lifetime). CPU per process group is read from /proc around each
# measured run.
#
# Usage: tests/bench/api.sh BUILDDIR
#   env: BENCH_USERS=50 BENCH_SECONDS=12 BENCH_CONNECTIONS=32 BENCH_THREADS=2
#        BENCH_DB_CONNECTIONS=8 BENCH_UPDATES=1000 BENCH_PROPAGATION_BUDGET=120
#        BENCH_PROPAGATION_TIMEOUT=5 (seconds an update may take to show)
#        BENCH_PERF=DIR: also record perf profiles (-g) of ddns-api and of
#        PostgreSQL during the measured write run, reports into DIR
# Ends with one line:
#   bench-api: writes_per_s=W reads_per_s=R propagation_p50_ms=A propagation_p99_ms=B
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
. "$root/tests/harness/stack-env.sh"
build=$(cd "${1:-$root/build}" && pwd)
n_users=${BENCH_USERS:-50}
seconds=${BENCH_SECONDS:-12}
conns=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
db_conns=${BENCH_DB_CONNECTIONS:-8}
updates=${BENCH_UPDATES:-1000}
prop_budget=${BENCH_PROPAGATION_BUDGET:-120}
prop_timeout=${BENCH_PROPAGATION_TIMEOUT:-5}
perf_dir=${BENCH_PERF:-}

command -v wrk >/dev/null || die "wrk not found (make deps installs it)"
jwt_sign=$build/tests/tools/jwt-sign
ninja -C "$build" services/api/ddns-api tests/tools/jwt-sign >/dev/null

say() { printf '%s\n' "$*" >&2; }

stack_env bench-api "$build"
# limits that never deny but are still checked (one Redis script a request)
for k in USER ADDR; do
	for rw in READ WRITE; do
		export "DDNS_API_${k}_${rw}_RATE=1000000" "DDNS_API_${k}_${rw}_BURST=1000000000"
	done
done
export DDNS_API_DB_CONNECTIONS=$db_conns
api=http://$DDNS_API_LISTEN
zone=dyn.test.
bg_pids=()

cleanup() {
	local p
	for p in "${bg_pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	stack_down
	if [ -n "${BENCH_KEEP:-}" ]; then
		say "bench-api: state kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the stack -------------------------------------------------------------------

say "== starting the stack in $tmp (ddns-api with $db_conns PostgreSQL connections)"
"$stack" up >"$tmp/up.log" 2>&1 || {
	tail -n 20 "$tmp/up.log" >&2
	die "the stack did not start (logs in $run)"
}
pgdata=$(readlink -f "$run/postgres")/data
say "PostgreSQL: synchronous_commit=$(sql 'SHOW synchronous_commit') fsync=$(sql 'SHOW fsync')" \
	"wal_sync_method=$(sql 'SHOW wal_sync_method') (stack defaults; data on $(df --output=fstype "$pgdata" | tail -n 1))"

# ---- users, keys, domains ----------------------------------------------------------

say "== $n_users users, each with an ES256 key and one domain claimed through the API"
mkdir -p "$tmp/keys"
{
	for i in $(seq 1 "$n_users"); do
		"$jwt_sign" keygen ec "$tmp/keys" "u$i" || exit 1
		printf "WITH u AS (INSERT INTO users (email, password_hash, verified_at) VALUES ('bench%d@example.test', 'x', now()) RETURNING id)\n" "$i"
		printf "INSERT INTO api_keys (kid, user_id, algorithm, public_jwk) SELECT 'bench-%d', id, 'ES256', '%s' FROM u;\n" \
			"$i" "$(cat "$tmp/keys/u$i.jwk.json")"
	done
} >"$tmp/users.sql"
psql "$db" -v ON_ERROR_STOP=1 -q -f "$tmp/users.sql" >/dev/null
sql "SELECT substr(kid, 7), user_id FROM api_keys WHERE kid LIKE 'bench-%' ORDER BY user_id" |
	tr '|' ' ' >"$tmp/user-ids"
[ "$(wc -l <"$tmp/user-ids")" -eq "$n_users" ] || die "users were not created"

# sign_tokens FILE SCOPE: one fresh token per user (exp in 300 s), "i token" a line
sign_tokens() {
	local i uid jti
	while read -r i uid; do
		jti=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
		printf '%s %s\n' "$i" "$("$jwt_sign" sign --iat-offset 0 --exp-in 300 "$tmp/keys/u$i.key.pem" \
			"bench-$i" "{\"sub\":\"$uid\",\"aud\":\"ddns\",\"scope\":\"$2\",\"jti\":\"$jti\"}")"
	done <"$tmp/user-ids" >"$1"
}

# data_file FILE: "DOMAIN TOKEN RECORD_ID" a line, fresh tokens, current record ids
data_file() {
	sign_tokens "$tmp/tokens" "dns:read dns:write"
	sql "SELECT substr(d.name, 6, strpos(d.name, '.') - 6), d.name, r.id FROM domains d
	     JOIN records r ON r.domain_id = d.id AND r.type = 'A' WHERE d.name LIKE 'bench%'" |
		tr '|' ' ' | LC_ALL=C sort >"$tmp/records"
	LC_ALL=C join <(LC_ALL=C sort "$tmp/tokens") "$tmp/records" | awk '{ print $3, $2, $4 }' >"$1"
	[ "$(wc -l <"$1")" -eq "$n_users" ] || die "expected $n_users records, got $(wc -l <"$1")"
}

# http METHOD PATH TOKEN [BODY]: prints the status
http() {
	curl -sS -o "$tmp/http.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
		-H 'Content-Type: application/json' ${4:+--data "$4"} "$api$2"
}

sign_tokens "$tmp/tokens" "dns:read dns:write domains:write"
while read -r i token; do
	s=$(http POST /api/v1/domains "$token" "{\"name\":\"bench$i.$zone\"}")
	[ "$s" = 201 ] || die "claim of bench$i.$zone: HTTP $s $(cat "$tmp/http.out")"
	s=$(http PUT "/api/v1/domains/bench$i.$zone/rrsets" "$token" \
		"{\"rrsets\":[{\"name\":\"bench$i.$zone\",\"type\":\"A\",\"records\":[\"192.0.2.$((i % 250 + 1))\"]}]}")
	[ "$s" = 200 ] || die "first record of bench$i.$zone: HTTP $s $(cat "$tmp/http.out")"
done <"$tmp/tokens"
say "claimed $n_users domains, one A record each"

# ---- measurement helpers ---------------------------------------------------------

clk=$(getconf CLK_TCK)
pg_pids() {
	local pm p
	pm=$(head -n 1 "$pgdata/postmaster.pid")
	echo "$pm"
	pg_children "$pm"
}
# the postmaster's live children (backends, autovacuum workers, ...)
pg_children() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(awk '{ sub(/.*\) /, ""); print $2 }' "$p/stat" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
	return 0
}
api_pid=$(cat "$run/api.pid")
groups=(ddns-api redis ddns-cache ddns-backend pdns)
group_pids() {
	case $1 in
	ddns-api) echo "$api_pid" ;;
	postgres) pg_children "$(head -n 1 "$pgdata/postmaster.pid")" ;;
	postmaster) head -n 1 "$pgdata/postmaster.pid" ;;
	redis) cat "$run/redis/redis.pid" ;;
	ddns-cache) cat "$run/cache.pid" ;;
	ddns-backend) cat "$run/backend.pid" ;;
	pdns) cat "$run/pdns/pdns.pid" ;;
	esac
}
cpu_snapshot() {
	local g
	# the whole machine: busy (all but idle and iowait) ticks, to see load that is not ours
	awk '$1 == "cpu" { print "zz-machine", $2 + $3 + $4 + $7 + $8 + $9; print "zz-softirq", $7 + $8
			   print "zz-steal", $9 }' /proc/stat
	for g in "${groups[@]}"; do
		# shellcheck disable=SC2046
		echo "$g $(cpu_ticks $(group_pids "$g"))"
	done
	# PostgreSQL: the postmaster's own and its exited children's time (autovacuum
	# workers come and go) plus the live children's
	# shellcheck disable=SC2046
	echo "postgres $(($(cpu_ticks $(group_pids postgres) $(group_pids postmaster)) + $(reaped_cpu_ticks "$(group_pids postmaster)")))"
}
# cpu_report BEFORE AFTER WALL_S WRK_CPU_S: "% of one core" per group
cpu_report() {
	join "$1" "$2" | awk -v clk="$clk" -v wall="$3" -v wrk="$4" -v ncpu="$(nproc)" '
		$1 == "zz-machine" { machine = ($3 - $2) / clk / wall * 100; next }
		$1 == "zz-softirq" { irq = ($3 - $2) / clk / wall * 100; next }
		$1 == "zz-steal" { steal = ($3 - $2) / clk / wall * 100; next }
		{ pct = ($3 - $2) / clk / wall * 100; tot += pct; s = s sprintf("%s %.0f%%, ", $1, pct) }
		END { w = wrk / wall * 100
		      printf "cpu (%% of one core, %d cores = %d%%): %swrk %.0f%%, total %.0f%%; whole machine busy %.0f%%: " \
			"irq+softirq %.0f%% (loopback TCP mostly, not in the processes), steal %.0f%%, other processes %.0f%%\n",
			ncpu, ncpu * 100, s, w, tot + w, machine, irq, steal, machine - tot - w - irq - steal }'
}
# metric NAME [BASE_URL]: a counter of ddns-api (or of the daemon at BASE_URL)
metric() {
	curl -fsS "${2:-$api}/metrics" | awk -v m="$1" '$1 == m { print $2 + 0; f = 1 } END { if (!f) print 0 }'
}
backend=http://$DDNS_BACKEND_LISTEN

# wrk_run LABEL MODE DATAFILE FIRST_OCTET SECONDS: prints the wrk-result line; the
# CPU split goes to stderr
wrk_run() {
	local label=$1 mode=$2 data=$3 octet=$4 secs=$5 t0 t1 wrk_cpu
	cpu_snapshot | sort >"$tmp/cpu.before"
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$tmp/wrk.time" \
		wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 5s -s "$root/tests/bench/api.lua" \
		"$api" -- "$mode" "$data" "$octet" "$threads" >"$tmp/wrk.$label" 2>&1 ||
		die "wrk failed: $(tail -5 "$tmp/wrk.$label")"
	t1=$(date +%s%N)
	cpu_snapshot | sort >"$tmp/cpu.after"
	wrk_cpu=$(awk '{ print $1 + $2 }' "$tmp/wrk.time")
	grep '^wrk-result' "$tmp/wrk.$label" || die "wrk printed no result: $(tail -5 "$tmp/wrk.$label")"
	cpu_report "$tmp/cpu.before" "$tmp/cpu.after" "$(echo "($t1 - $t0) / 1000000000" | bc -l)" \
		"$wrk_cpu" >&2
}
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
rate() { echo "$(field "$1" requests) * 1000000 / $(field "$1" duration_us)" | bc; }

# perf_start LABEL / perf_stop LABEL: with BENCH_PERF, call-graph profiles of
# ddns-api and of all PostgreSQL processes during the measured run (from 1 s
# in, for SECONDS - 3 s), and their reports (self and children)
perf_pids=()
perf_start() {
	[ -n "$perf_dir" ] || return 0
	mkdir -p "$perf_dir"
	perf_pids=()
	(sleep 1 && exec perf record -g -o "$perf_dir/$1-api.data" -p "$api_pid" -- sleep "$((seconds - 3))") \
		>/dev/null 2>&1 &
	perf_pids+=($!)
	(sleep 1 && exec perf record -g -o "$perf_dir/$1-postgres.data" -p "$(pg_pids | paste -sd,)" \
		-- sleep "$((seconds - 3))") >/dev/null 2>&1 &
	perf_pids+=($!)
	bg_pids+=("${perf_pids[@]}")
}
perf_stop() {
	[ -n "$perf_dir" ] || return 0
	local p f
	for p in "${perf_pids[@]}"; do wait "$p" || true; done
	for f in api postgres; do
		perf report -i "$perf_dir/$1-$f.data" --no-children --sort dso,symbol --stdio -g none \
			2>/dev/null | grep -v '^#' | grep '%' | head -n 60 >"$perf_dir/$1-$f.self.txt" || true
		perf report -i "$perf_dir/$1-$f.data" --children --sort symbol --stdio -g none \
			2>/dev/null | grep -v '^#' | grep '%' | grep -v '0x0000' | head -n 120 \
			>"$perf_dir/$1-$f.children.txt" || true
	done
	say "perf profiles: $perf_dir/$1-{api,postgres}.{data,self.txt,children.txt}"
}

# ---- writes ----------------------------------------------------------------------

say "== writes: PUT rrsets, wrk $threads threads, $conns connections, $seconds s, $n_users users"
data_file "$tmp/data"
wrk_run warm write "$tmp/data" 100 3 >/dev/null 2>&1
w0=$(metric api_writes_total)
f0=$(metric ddns_backend_purges_total "$backend")
u0=$(metric ddns_backend_flushes_unneeded_total "$backend")
c0=$(metric ddns_backend_purge_collapses_total "$backend")
perf_start writes
res=$(wrk_run writes write "$tmp/data" 10 "$seconds")
perf_stop writes
w1=$(metric api_writes_total)
sleep 0.5 # the last second flushes
f1=$(metric ddns_backend_purges_total "$backend")
u1=$(metric ddns_backend_flushes_unneeded_total "$backend")
c1=$(metric ddns_backend_purge_collapses_total "$backend")
writes_rps=$(rate "$res")
say "writes: $writes_rps/s, $(field "$res" requests) requests, latency p50 $(field "$res" p50_ms) ms" \
	"p99 $(field "$res" p99_ms) ms max $(field "$res" max_ms) ms; errors: non-2xx $(field "$res" non2xx)," \
	"socket $(field "$res" socket_errors); api_writes_total +$((w1 - w0))"
say "pdns cache flushes by ddns-backend: $((f1 - f0)), flushes left out (no pdns cache can hold" \
	"the name): $((u1 - u0)), backlogs collapsed into one flush of everything: $((c1 - c0))"
write_errors=$(($(field "$res" non2xx) + $(field "$res" socket_errors)))
# every request counted by wrk must have committed a change (wrk may count a
# request whose answer came after it stopped, hence the small slack)
if [ "$write_errors" -gt 0 ] || [ $((w1 - w0)) -lt "$(field "$res" requests)" ]; then
	say "writes: NOT VALID: errors or fewer committed writes than requests"
	writes_rps=invalid
fi

# ---- reads -----------------------------------------------------------------------

say "== reads: GET /api/v1/dns-records/{id}, wrk $threads threads, $conns connections, $seconds s"
data_file "$tmp/data"
wrk_run warm read "$tmp/data" 0 2 >/dev/null 2>&1
perf_start reads
res=$(wrk_run reads read "$tmp/data" 0 "$seconds")
perf_stop reads
reads_rps=$(rate "$res")
say "reads: $reads_rps/s, $(field "$res" requests) requests, latency p50 $(field "$res" p50_ms) ms" \
	"p99 $(field "$res" p99_ms) ms max $(field "$res" max_ms) ms; errors: non-2xx $(field "$res" non2xx)," \
	"socket $(field "$res" socket_errors)"
if [ $(($(field "$res" non2xx) + $(field "$res" socket_errors))) -gt 0 ]; then
	say "reads: NOT VALID: errors"
	reads_rps=invalid
fi

# ---- propagation -----------------------------------------------------------------

say "== propagation: $updates sequential updates, API 2xx -> PowerDNS answers (default caches), 1 ms polls, $prop_timeout s cap"
data_file "$tmp/data"
prop=$(python3 "$root/tests/bench/propagation.py" --api "$DDNS_API_LISTEN" \
	--dns "127.0.0.1:$DDNS_DNS_PORT" --data "$tmp/data" --count "$updates" \
	--budget "$prop_budget" --timeout "$prop_timeout" --first-octet 172 --out "$tmp/propagation.ms")
say "$prop"
p50=$(field "$prop" p50_ms)
p99=$(field "$prop" p99_ms)
if [ "$(field "$prop" http_errors)" -gt 0 ] || [ "$(field "$prop" count)" -lt "$updates" ]; then
	say "propagation: NOT COMPLETE: HTTP errors or fewer updates than $updates within $prop_budget s"
fi

say "targets: writes_per_s >= 3000, reads_per_s >= 10000, propagation_p99_ms <= 100 (timeouts 0)"
echo "bench-api: writes_per_s=$writes_rps reads_per_s=$reads_rps propagation_p50_ms=$p50 propagation_p99_ms=$p99"

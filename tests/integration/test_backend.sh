#!/usr/bin/env bash
# ddns-backend behind a real PowerDNS: a fresh migrated database (from the
# harness's PostgreSQL, reached through a TCP relay this test can cut), a
# private Redis (which this test can stop), the daemon and pdns_server with
# its caches off, questions asked with dig. Answers from the Redis replica,
# then from PostgreSQL, then with both gone: stale answers or SERVFAIL, never
# NXDOMAIN. Prints TAP. Usage: test_backend.sh BUILDDIR
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
. "$root/tests/harness/tap.sh"
build=${1:?usage: $0 BUILDDIR}
backend=$build/backend/ddns-backend
migrate=$build/schema/ddns-migrate

if [ -z "${DDNS_TEST_DATABASE_URL:-}" ]; then
	echo "1..0 # SKIP DDNS_TEST_DATABASE_URL not set (run under tests/harness/with-servers)"
	exit 0
fi

tmp=$(mktemp -d /tmp/ddns-backend.XXXXXX)
dbname=ddns_backend_test_$$
admin=$DDNS_TEST_DATABASE_URL
pg_hostport=${admin#postgresql://*@}
pg_hostport=${pg_hostport%%/*}
pg_port=${pg_hostport##*:}
relay_port=$(free_port)
redis_port=$(free_port)
dns_port=$(free_port)
api_port=$(free_port)
http_port=$(free_port)
key=test-key-$RANDOM$RANDOM
sock=$tmp/backend.sock

cleanup() {
	stop_pid "$tmp/pdns/pdns.pid"
	stop_pid "$tmp/backend.pid"
	stop_pid "$tmp/relay.pid"
	stop_pid "$tmp/redis/redis.pid"
	psql "$admin" -qAtc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null 2>&1
	if [ "$failed" -ne 0 ]; then
		for f in "$tmp/backend.log" "$tmp/pdns/pdns.log"; do
			[ -f "$f" ] && tail -20 "$f" | sed "s|^|# $(basename "$f"): |"
		done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# A TCP relay to PostgreSQL that this test can kill to make it unreachable.
cat >"$tmp/relay.py" <<'PY'
import asyncio, sys
lport, rport = int(sys.argv[1]), int(sys.argv[2])
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def handle(r, w):
    try:
        ur, uw = await asyncio.open_connection('127.0.0.1', rport)
    except Exception:
        w.close()
        return
    asyncio.ensure_future(pipe(r, uw))
    asyncio.ensure_future(pipe(ur, w))
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', lport)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
PY

# A remote-backend client: one request line per argument, the reply lines out.
cat >"$tmp/ask.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
f = s.makefile('rwb')
for line in sys.argv[2:]:
    f.write(line.encode() + b'\n')
    f.flush()
    sys.stdout.write(f.readline().decode())
PY
ask() {
	python3 "$tmp/ask.py" "$sock" "$@"
}

rcli() {
	redis-cli -h 127.0.0.1 -p "$redis_port" "$@"
}

# dig +norec @pdns NAME TYPE: the whole output
q() {
	dig +norec +time=2 +tries=1 @127.0.0.1 -p "$dns_port" "$@"
}
status_is() { # status NAME TYPE
	local want=$1
	shift
	q "$@" | tee /dev/stderr | grep -q "status: $want"
}
answer_has() { # REGEX NAME TYPE
	local re=$1
	shift
	q "$@" | tee /dev/stderr | grep -v '^;' | grep -Eq "$re"
}
metric() {
	curl -fsS --max-time 2 "http://127.0.0.1:$http_port/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
metric_positive() {
	local v
	v=$(metric "$1")
	echo "$1 = ${v:-absent}"
	[ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'
}
wait_metric() {
	local i
	for i in $(seq 1 50); do
		metric_positive "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	metric_positive "$1"
}


# ---- setup ------------------------------------------------------------------
python3 "$tmp/relay.py" "$relay_port" "$pg_port" >"$tmp/relay.log" 2>&1 &
echo $! >"$tmp/relay.pid"
redis_start "$tmp/redis" "$redis_port" --save '' --appendonly no
psql "$admin" -qAtc "CREATE DATABASE $dbname" >/dev/null || die "could not create $dbname"
db="postgresql://postgres@127.0.0.1:$relay_port/$dbname"
for i in $(seq 1 50); do
	psql "$db" -qAtc 'select 1' >/dev/null 2>&1 && break
	sleep 0.1
done
check "the database is migrated and seeded" \
	env -i PATH="$PATH" DDNS_DATABASE_URL="$db" DDNS_BASE_ZONES=dyn.test. \
	sh -c "'$migrate' up && '$migrate' seed"
psql "$db" -v ON_ERROR_STOP=1 -qAt >"$tmp/out" 2>&1 <<'SQL' || die "could not insert records"
INSERT INTO records (zone_id, name, type, content, ttl)
SELECT id, r.name, r.type, r.content, 300 FROM zones,
 (VALUES ('www.dyn.test.', 'A', '192.0.2.1'),
         ('www.dyn.test.', 'TXT', '"hello"'),
         ('a.b.dyn.test.', 'A', '192.0.2.2')) AS r(name, type, content)
WHERE zones.name = 'dyn.test.';
SQL

start_backend() { # extra flags
	DDNS_REDIS_DNS_URL=redis://127.0.0.1:$redis_port/0 \
		DDNS_REDIS_STREAM_URL=redis://127.0.0.1:$redis_port/1 \
		DDNS_DATABASE_URL=$db DDNS_PDNS_API_URL=http://127.0.0.1:$api_port \
		DDNS_PDNS_API_KEY=$key DDNS_BACKEND_LISTEN=127.0.0.1:$http_port \
		DDNS_LOG_FORMAT=logfmt \
		daemon_start "$tmp/backend.pid" "$tmp/backend.log" "$backend" --socket "$sock" \
		--socket-mode 0666 --db-timeout 500ms --redis-timeout 200ms "$@"
}
start_backend
check "ddns-backend creates its socket" wait_file "$sock" 10
# shellcheck disable=SC2046 # the flags are words
pdns_start "$tmp/pdns" "$dns_port" "$api_port" "$key" $(pdns_remote_flags "$sock") \
	--cache-ttl=0 --query-cache-ttl=0 --negquery-cache-ttl=0
check "pdns answers the zone (zone list from PostgreSQL: no replica yet)" \
	wait_dns "$dns_port" dyn.test. 15

# ---- no replica: PostgreSQL -------------------------------------------------
check "apex SOA from PostgreSQL, authoritative" \
	sh -c "dig +norec @127.0.0.1 -p $dns_port dyn.test. SOA | grep -E 'flags:[^;]* aa[ ;]' && dig +norec @127.0.0.1 -p $dns_port dyn.test. SOA | grep -q 'ANSWER: 1,'"
check "A from PostgreSQL" answer_has '192\.0\.2\.1' www.dyn.test. A
check "an empty non-terminal is NOERROR, not NXDOMAIN" status_is NOERROR b.dyn.test. A

# ---- the replica, written by hand as ddns-cache would ------------------------
# The answers ddns-backend renders from PostgreSQL are the replica's values
# (one renderer); www gets another address so that the source shows.
write_replica() {
	local name v
	for name in dyn.test. ns1.dyn.test. www.dyn.test. a.b.dyn.test. b.dyn.test.; do
		v=$(ask "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\",\"qname\":\"$name\"}}") || return 1
		v=${v#'{"result":'}
		v=${v%'}'}
		[ "$name" = www.dyn.test. ] && v=${v//192.0.2.1/192.0.2.99}
		rcli SET "dns:1:n:$name" "$v" >/dev/null || return 1
	done
	v=$(ask '{"method":"getDomainInfo","parameters":{"name":"dyn.test."}}') || return 1
	v=${v#'{"result":'}
	rcli HSET dns:1:zones dyn.test. "${v%'}'}" >/dev/null && rcli SET dns:gen 1
}
check "the replica is written into Redis" write_replica
check "A from the Redis replica" answer_has '192\.0\.2\.99' www.dyn.test. A
check "apex SOA from the replica, authoritative" \
	sh -c "dig +norec @127.0.0.1 -p $dns_port dyn.test. SOA | grep -E 'flags:[^;]* aa[ ;]'"
check "a name missing from the replica is NXDOMAIN" status_is NXDOMAIN nope.dyn.test. A
check "mixed case finds the name" answer_has '192\.0\.2\.99' WwW.DyN.TeSt. A
check "a type the name lacks is NODATA" \
	sh -c "dig +norec @127.0.0.1 -p $dns_port www.dyn.test. AAAA | grep -q 'status: NOERROR' && dig +norec @127.0.0.1 -p $dns_port www.dyn.test. AAAA | grep -q 'ANSWER: 0'"
check "TXT from the replica" answer_has '"hello"' www.dyn.test. TXT
# the mirror may already have filled from the replica (it polls every 250 ms)
# and answered instead of Redis: either counts a replica answer
replica_hits() {
	metric_positive ddns_backend_redis_hits_total ||
		metric_positive ddns_backend_mirror_hits_total
}
check "replica answers are counted (Redis or the mirror)" replica_hits
check "typed SOA lookup returns only the SOA" \
	sh -c "python3 '$tmp/ask.py' '$sock' '{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"SOA\",\"qname\":\"DYN.test.\"}}' | tee /dev/stderr | grep -q '^{\"result\":\[{\"qtype\":\"SOA\",[^]]*}\]}$'"
check "AXFR lists the zone from PostgreSQL" \
	sh -c "dig @127.0.0.1 -p $dns_port dyn.test. AXFR >'$tmp/axfr' && cat '$tmp/axfr' &&
	       [ \$(grep -c 'IN[[:space:]]SOA' '$tmp/axfr') = 2 ] &&
	       grep -Eq '^a\.b\.dyn\.test\.[[:space:]].*A[[:space:]]192\.0\.2\.2' '$tmp/axfr' &&
	       grep -Eq '^www\.dyn\.test\.[[:space:]].*TXT[[:space:]]\"hello\"' '$tmp/axfr' &&
	       ! grep -q ENT '$tmp/axfr'"

# ---- purge notices ------------------------------------------------------------
# flushes_settle N: ddns_backend_purges_total reaches N and stays there 0.3 s
flushes_settle() {
	local i v
	for i in $(seq 1 30); do
		v=$(metric ddns_backend_purges_total)
		[ "${v:-0}" = "$1" ] && sleep 0.3 && [ "$(metric ddns_backend_purges_total)" = "$1" ] && return 0
		sleep 0.1
	done
	echo "ddns_backend_purges_total = ${v:-absent}, expected $1"
	return 1
}
# metric_is NAME VALUE
metric_is() {
	local v
	v=$(metric "$1")
	echo "$1 = ${v:-absent}, expected $2"
	[ "$v" = "$2" ]
}
# purges_settled: ddns_backend_purges_total, once it stays put for 0.5 s
purges_settled() {
	local v w i
	v=$(metric ddns_backend_purges_total)
	for i in $(seq 1 40); do
		sleep 0.5
		w=$(metric ddns_backend_purges_total)
		[ "$w" = "$v" ] && break
		v=$w
	done
	echo "$v"
}
publish_purge() { rcli -n 1 PUBLISH dns:purge "$1" >/dev/null; }
lookup_line() { echo "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\",\"qname\":\"$1\"}}"; }
# ask_then_publish ASKED SECONDS NOTICE: a lookup of ASKED straight to the
# backend, SECONDS later a purge notice for NOTICE
ask_then_publish() {
	ask "$(lookup_line "$1")" >/dev/null && sleep "$2" && publish_purge "$3"
}
# (a second round follows when a query was answered as it went)
check "notices from before the backend listened are lost: it flushed every pdns cache" \
	wait_metric ddns_backend_purges_total
# one more, sent 3 s (the margin) or more after the start: answers of a
# process before this one can no longer reach pdns's caches after it
check "... and once more when answers of an earlier process can no longer arrive" \
	within 10 grep -q 'from now on they hold only answers of this process' "$tmp/backend.log"
base=$(purges_settled)
check "... as its log says" grep -q 'purge channel subscribed: flushing every pdns cache' "$tmp/backend.log"
# its caches are off: pdns keeps nothing, the margin alone (PURGE_WINDOW_MARGIN_MS)
check "the cache lifetimes read from pdns's API: 0 s plus the 3 s margin" \
	metric_is ddns_backend_pdns_cache_window_seconds 3
# a name below www was just answered by the backend (a fresh name: no pdns
# cache can answer it): the notice is flushed, and, as every flush, once more
# PURGE_REFLUSH_MS (100 ms) later (a query pdns was answering, from the
# backend or from its query cache, may put the old data back)
check "a purge notice flushes pdns through its API" \
	sh -c "dig +norec @127.0.0.1 -p $dns_port r$RANDOM.www.dyn.test. A >/dev/null &&
	       redis-cli -h 127.0.0.1 -p $redis_port -n 1 PUBLISH dns:purge www.dyn.test. >/dev/null"
check "... and a second time shortly after, not more" \
	flushes_settle $((base + 2))
# answered 0.3 s before the notice: within the window (a pdns cache may hold
# it); pdns's query cache may still answer it while the flush comes, asking
# the backend nothing, so the second flush follows here too
check "a notice for a name answered 0.3 s before" \
	ask_then_publish asked.dyn.test. 0.3 asked.dyn.test.
check "... is flushed, and a second time shortly after" flushes_settle $((base + 4))
# after that root flush every answer pdns may hold came from this backend and
# is in its table of recent answers
check "a notice for a name nobody asked about" publish_purge quiet.dyn.test.
check "... needs no flush (counted)" wait_metric ddns_backend_flushes_unneeded_total
check "... and none was sent" flushes_settle $((base + 4))
check "a notice for the parent of a name answered 2 s before (within the window)" \
	ask_then_publish a.b.dyn.test. 2 b.dyn.test.
check "... is flushed twice (a flush covers the names below)" flushes_settle $((base + 6))
check "... not counted as unneeded" metric_is ddns_backend_flushes_unneeded_total 1
# a zone that nobody could ask about yet (pdns answers REFUSED outside the
# zones it knows): its flush is what makes pdns's zone cache learn it
new_zone() {
	rcli SET dns:1:n:new.test. '[{"qtype":"SOA","qname":"new.test.","content":"ns1.dyn.test. hostmaster.new.test. 7 10800 3600 604800 60","ttl":60,"domain_id":99}]' >/dev/null &&
		rcli HSET dns:1:zones new.test. '{"id":99,"zone":"new.test.","kind":"native","serial":7}' >/dev/null &&
		publish_purge new.test.
}
check "a new zone written to the replica, its notice published" new_zone
check "... is flushed although nobody asked about it (twice)" flushes_settle $((base + 8))
check "... and pdns answers the new zone at once" \
	sh -c "dig +norec @127.0.0.1 -p $dns_port new.test. SOA | tee /dev/stderr | grep -q 'status: NOERROR' &&
	       dig +norec @127.0.0.1 -p $dns_port new.test. SOA | grep -Eq 'SOA[[:space:]]+ns1\.dyn\.test\. hostmaster\.new\.test\. 7 '"
check "... not counted as unneeded" metric_is ddns_backend_flushes_unneeded_total 1

# a burst of changes to many names: PowerDNS takes one flush at a time, so the
# queue is replaced by one flush of everything instead of growing (or dropping)
before_burst=$(purges_settled)
# asked for first: a name nobody asked about needs no flush at all
burst_notices() {
	local i lines=()
	for i in $(seq 1 300); do lines+=("$(lookup_line "burst$i.dyn.test.")"); done
	ask "${lines[@]}" >/dev/null || return 1
	for i in $(seq 1 300); do echo "PUBLISH dns:purge burst$i.dyn.test."; done | rcli -n 1 >/dev/null
}
check "a burst of 300 notices for distinct names, each answered just before" burst_notices
check "... collapses the queue into one flush of everything" \
	wait_metric ddns_backend_purge_collapses_total
after_burst=$(purges_settled)
check "... with far fewer flushes than notices ($((after_burst - before_burst)) for 300)" \
	test $((after_burst - before_burst)) -lt 150
check "... and none failed or dropped" metric_is ddns_backend_purge_errors_total 0
check "a notice after the burst, for a name answered 0.3 s before, is flushed" \
	ask_then_publish later.dyn.test. 0.3 later.dyn.test.
check "... twice" flushes_settle $((after_burst + 2))

# ---- pdns with caches on: a flush left out never leaves an old answer ---------
# NAME TYPE REGEX: the answer matches within 1 s
soon_has() {
	local i
	for i in $(seq 1 10); do
		q "$1" "$2" | grep -v '^;' | grep -Eq "$3" && return 0
		sleep 0.1
	done
	q "$1" "$2"
	return 1
}
# restart_pdns FLAGS...: pdns again, with other cache settings
restart_pdns() {
	stop_pid "$tmp/pdns/pdns.pid"
	# shellcheck disable=SC2046 # the flags are words
	pdns_start "$tmp/pdns" "$dns_port" "$api_port" "$key" $(pdns_remote_flags "$sock") "$@"
}
# change NAME ADDRESS: as ddns-cache does: the replica written, then the name
# notice (the mirror) and the purge notice
change() {
	rcli SET "dns:1:n:$1" "[{\"qtype\":\"A\",\"qname\":\"$1\",\"content\":\"$2\",\"ttl\":300,\"domain_id\":1}]" >/dev/null &&
		rcli -n 1 PUBLISH dns:names "$1" >/dev/null && publish_purge "$1"
}
restart_pdns --cache-ttl=10 --query-cache-ttl=10 --negquery-cache-ttl=10
check "pdns restarted with its caches on (10 s each)" wait_dns "$dns_port" dyn.test. 15
check "... the backend reads them: 10 + 10 s and the margin" \
	within 5 metric_is ddns_backend_pdns_cache_window_seconds 23
check "a name in the replica (nobody asked about it yet: needs no flush)" \
	change hot.dyn.test. 192.0.2.10
sleep 0.3 # its notice handled
unneeded=$(metric ddns_backend_flushes_unneeded_total)
check "... answered through pdns (now in its caches)" answer_has '192\.0\.2\.10' hot.dyn.test. A
check "... changed" change hot.dyn.test. 192.0.2.11
check "... pdns answers the new address within 1 s (it was flushed)" \
	soon_has hot.dyn.test. A '192\.0\.2\.11'
check "a name pdns answered NXDOMAIN (cached)" status_is NXDOMAIN fresh.dyn.test. A
check "... created" change fresh.dyn.test. 192.0.2.12
check "... pdns answers it within 1 s (it was flushed)" soon_has fresh.dyn.test. A '192\.0\.2\.12'
check "... neither counted as unneeded" metric_is ddns_backend_flushes_unneeded_total "$unneeded"
check "a name nobody asked about, changed" change cold.dyn.test. 192.0.2.13
check "... needs no flush (counted)" \
	within 3 metric_is ddns_backend_flushes_unneeded_total $((unneeded + 1))
check "... and pdns answers the new address" answer_has '192\.0\.2\.13' cold.dyn.test. A
restart_pdns --cache-ttl=0 --query-cache-ttl=0 --negquery-cache-ttl=0
check "pdns restarted with its caches off again" wait_dns "$dns_port" dyn.test. 15

# ---- the mirror: the replica in memory, kept current by name notices ---------
readyz() {
	curl -sS --max-time 2 "http://127.0.0.1:$http_port/readyz"
}
mirror_ready() {
	local i
	for i in $(seq 1 50); do
		readyz | grep -q '"mirror": *"ready"' && return 0
		sleep 0.1
	done
	readyz
	return 1
}
soon_status() { # NAME TYPE STATUS
	local i
	for i in $(seq 1 10); do
		q "$1" "$2" | grep -q "status: $3" && return 0
		sleep 0.1
	done
	q "$1" "$2"
	return 1
}
names() { rcli -n 1 PUBLISH dns:names "$@" >/dev/null; }
a_json() { # NAME ADDRESS
	echo "[{\"qtype\":\"A\",\"qname\":\"$1\",\"content\":\"$2\",\"ttl\":300,\"domain_id\":1}]"
}
check "the mirror fills from generation 1" mirror_ready
check "the mirror answers (counted)" \
	sh -c "dig +norec @127.0.0.1 -p $dns_port www.dyn.test. A | grep -q 192.0.2.99 && curl -fsS http://127.0.0.1:$http_port/metrics | awk '\$1 == \"ddns_backend_mirror_hits_total\" && \$2 > 0 {f=1} END {exit !f}'"
check "a Redis write without a notice is not seen (the mirror answers)" \
	sh -c "redis-cli -h 127.0.0.1 -p $redis_port SET dns:1:n:www.dyn.test. '$(a_json www.dyn.test. 192.0.2.98)' >/dev/null && dig +norec @127.0.0.1 -p $dns_port www.dyn.test. A | grep -q 192.0.2.99"
check "a name notice updates the mirror" \
	sh -c "redis-cli -h 127.0.0.1 -p $redis_port -n 1 PUBLISH dns:names www.dyn.test. >/dev/null"
check "... the update is answered" soon_has www.dyn.test. A '192\.0\.2\.98'
check "a new name, announced, is answered" \
	sh -c "redis-cli -h 127.0.0.1 -p $redis_port SET dns:1:n:new.dyn.test. '$(a_json new.dyn.test. 192.0.2.50)' >/dev/null && redis-cli -h 127.0.0.1 -p $redis_port PUBLISH dns:names new.dyn.test. >/dev/null"
check "... new.dyn.test. answers" soon_has new.dyn.test. A '192\.0\.2\.50'
check "a deleted name, announced, is NXDOMAIN" \
	sh -c "redis-cli -h 127.0.0.1 -p $redis_port DEL dns:1:n:new.dyn.test. >/dev/null && redis-cli -h 127.0.0.1 -p $redis_port PUBLISH dns:names new.dyn.test. >/dev/null"
check "... new.dyn.test. is NXDOMAIN" soon_status new.dyn.test. A NXDOMAIN
burst() { # 200 writes of one name, each announced: the last one wins
	local i
	for i in $(seq 1 200); do
		echo "SET dns:1:n:burst.dyn.test. '$(a_json burst.dyn.test. "198.51.100.$((i % 250))")'"
		echo "PUBLISH dns:names burst.dyn.test."
	done | rcli >/dev/null
}
check "200 announced writes of one name in a burst" burst
check "... the last one is answered" soon_has burst.dyn.test. A '198\.51\.100\.200\b'
check "... and stays" sh -c "sleep 0.3; dig +norec @127.0.0.1 -p $dns_port burst.dyn.test. A | grep -v '^;' | grep -q '198\.51\.100\.200\b'"
check "the ENT and the apex still answer from the mirror" \
	sh -c "dig +norec @127.0.0.1 -p $dns_port b.dyn.test. A | grep -q 'status: NOERROR' && dig +norec @127.0.0.1 -p $dns_port dyn.test. SOA | grep -q 'ANSWER: 1,'"
switch_gen() {
	local k
	for k in $(rcli --scan --pattern 'dns:1:n:*'); do
		rcli --raw GET "$k" | head -c -1 | rcli -x SET "dns:2:${k#dns:1:}" >/dev/null || return 1
	done
	rcli SET dns:2:n:www.dyn.test. "$(a_json www.dyn.test. 192.0.2.96)" >/dev/null &&
		rcli SET dns:gen 2 >/dev/null && names "gen 2"
}
check "a generation switch, announced" switch_gen
check "... answers come from the new generation at once" soon_has www.dyn.test. A '192\.0\.2\.96'
check "... mirror ready on generation 2" mirror_ready
check "... with the new value" soon_has www.dyn.test. A '192\.0\.2\.96'
check "a generation switch without a notice is caught by the probe" \
	sh -c "redis-cli -h 127.0.0.1 -p $redis_port SET dns:gen 1 >/dev/null"
check "... answers from generation 1 within 1 s" soon_has www.dyn.test. A '192\.0\.2\.98'
check "... the mirror fills again" mirror_ready
check "the subscriber is killed: the mirror is dropped" \
	sh -c "redis-cli -h 127.0.0.1 -p $redis_port CLIENT KILL TYPE pubsub >/dev/null; sleep 0.2; grep -q 'dropped: notice channel lost' '$tmp/backend.log'"
check "... and rebuilt after the resubscription" mirror_ready
check "... fills are logged per generation" \
	sh -c "[ \$(grep -c 'mirror of generation 1 ready' '$tmp/backend.log') -ge 3 ]"

# ---- the mirror's memory bound -------------------------------------------------
big_replica() {
	local i pad
	pad=$(printf '%0200d' 0)
	for i in $(seq 1 400); do
		echo "SET dns:1:n:big$i.dyn.test. '[{\"qtype\":\"TXT\",\"qname\":\"big$i.dyn.test.\",\"content\":\"\\\"$pad\\\"\",\"ttl\":60,\"domain_id\":1}]'"
	done | rcli >/dev/null
}
restart_small() {
	stop_pid "$tmp/backend.pid" && rm -f "$sock" && start_backend --mirror-max-bytes 65536 &&
		wait_file "$sock" 10
}
check "400 names of 250 bytes are written" big_replica
check "a backend with mirror_max_bytes 64 KiB starts" restart_small
check "... the bound is logged once" \
	sh -c "sleep 1; [ \$(grep -c 'larger than mirror_max_bytes' '$tmp/backend.log') = 1 ]"
check "... the mirror is not ready" \
	sh -c "curl -sS http://127.0.0.1:$http_port/readyz | grep -q '\"mirror\": *\"not ready\"'"
check "... answers still come (from Redis)" soon_has www.dyn.test. A '192\.0\.2\.98'
check "... and the big names too" soon_has big7.dyn.test. TXT '000000'
check "... the mirror answered none of them" \
	sh -c "! curl -fsS http://127.0.0.1:$http_port/metrics | awk '\$1 == \"ddns_backend_mirror_hits_total\" && \$2 > 0 {f=1} END {exit !f}'"

# ---- the replica is gone: PostgreSQL again ------------------------------------
check "without dns:gen (FLUSHALL), the answer comes from PostgreSQL within 1 s" \
	sh -c "redis-cli -h 127.0.0.1 -p $redis_port FLUSHALL >/dev/null"
check "... from PostgreSQL" soon_has www.dyn.test. A '192\.0\.2\.1\b'
check "... the mirror is not ready" sh -c "curl -sS http://127.0.0.1:$http_port/readyz | grep -q '\"mirror\": *\"not ready\"'"
check "PostgreSQL fallbacks are counted" metric_positive ddns_backend_pg_fallbacks_total

# ---- Redis down: PostgreSQL ----------------------------------------------------
stop_pid "$tmp/redis/redis.pid"
check "Redis down: A from PostgreSQL" answer_has '192\.0\.2\.1' www.dyn.test. A
check "Redis down: a missing name is still NXDOMAIN (PostgreSQL knows)" \
	status_is NXDOMAIN nope.dyn.test. A

# ---- Redis and PostgreSQL down: stale or SERVFAIL, never NXDOMAIN -----------
stop_pid "$tmp/relay.pid"
sleep 0.3
check "both down: a name asked before is served stale, TTL capped at 30" \
	sh -c "dig +norec @127.0.0.1 -p $dns_port www.dyn.test. A | tee /dev/stderr | grep -v '^;' | awk '\$4 == \"A\" && \$5 == \"192.0.2.1\" && \$2 <= 30 {f=1} END {exit !f}'"
check "both down: a missing name is SERVFAIL, not NXDOMAIN" status_is SERVFAIL nope.dyn.test. A
check "both down: a name never asked is SERVFAIL" status_is SERVFAIL ns2.dyn.test. A
check "stale answers are counted" metric_positive ddns_backend_stale_served_total

# ---- shutdown -------------------------------------------------------------------
stop_backend() {
	local pid
	pid=$(cat "$tmp/backend.pid")
	kill -TERM "$pid" || return 1
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null && [ ! -e "$sock" ] &&
		grep -q 'msg=stopped' "$tmp/backend.log" &&
		! grep -Eq 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error' "$tmp/backend.log"
}
check "SIGTERM stops ddns-backend cleanly (socket removed, no sanitizer report)" stop_backend

echo "1..$n"
exit "$failed"

#!/usr/bin/env bash
# End to end through PowerDNS: the stack (PostgreSQL, Redis, ddns-cache,
# ddns-backend, pdns with its default caches) on free loopback ports in a
# temporary state folder, data written into PostgreSQL, questions asked with
# dig. Then change propagation, then faults. Prints TAP.
# Usage: test_dns.sh BUILDDIR
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
. "$root/tests/harness/tap.sh"
. "$root/tests/harness/stack-env.sh"

stack_env dns "${1:?usage: $0 BUILDDIR}"
port=$DDNS_DNS_PORT

trap stack_cleanup EXIT

# Writes records of zone dyn.test. and announces the names on the stream, as
# ddns-api will. Arguments: name type content [ttl] ...
add() {
	local name=$1 type=$2 content=$3 ttl=${4:-60}
	sql "INSERT INTO records (zone_id, name, type, content, ttl)
	     SELECT id, '$name', '$type', \$q\$$content\$q\$, $ttl FROM zones WHERE name = 'dyn.test.'" &&
		xadd "$name"
}

xadd() {
	redis-cli -h 127.0.0.1 -p "$DDNS_REDIS_PORT" -n 1 XADD dns:changes '*' id 0 zone_id 1 name "$1" \
		>/dev/null
}

# ---- start ------------------------------------------------------------------

stack_start

# the data, written into PostgreSQL the way ddns-api and ddns-admin will
add host.dyn.test. A 192.0.2.10
add host.dyn.test. AAAA 2001:db8::10
add alias.dyn.test. CNAME host.dyn.test.
add chain.dyn.test. CNAME alias.dyn.test.
add mail.dyn.test. A 192.0.2.25
add mx.dyn.test. MX '10 mail.dyn.test.'
add _sip._tcp.srv.dyn.test. SRV '10 5 5060 host.dyn.test.'
add txt.dyn.test. TXT '"v=spf1 -all"'
add quote.dyn.test. TXT '"say \"hi\"" "second string"'
long=$(printf 'x%.0s' $(seq 1 300))
add long.dyn.test. TXT "\"${long:0:255}\" \"${long:255}\""
add caa.dyn.test. CAA '0 issue "letsencrypt.org"'
add a.b.c.dyn.test. A 192.0.2.30
add '*.wild.dyn.test.' A 192.0.2.40
add sub.dyn.test. NS ns.sub.dyn.test. 3600
add ns.sub.dyn.test. A 192.0.2.53 3600

# ---- answers ----------------------------------------------------------------

check "A" within 3 has host.dyn.test A 'status: NOERROR' 'flags: qr aa' 'host.dyn.test.[[:space:]]+60[[:space:]]+IN[[:space:]]+A[[:space:]]+192.0.2.10'
check "AAAA" has host.dyn.test AAAA 'IN[[:space:]]+AAAA[[:space:]]+2001:db8::10'
check "CNAME followed to its target" has alias.dyn.test A 'alias.dyn.test.[[:space:]]+60[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+host.dyn.test.' 'host.dyn.test.[[:space:]]+60[[:space:]]+IN[[:space:]]+A[[:space:]]+192.0.2.10'
check "CNAME chain" has chain.dyn.test A 'chain.dyn.test.[^;]*CNAME[[:space:]]+alias.dyn.test.' 'alias.dyn.test.[^;]*CNAME[[:space:]]+host.dyn.test.' 'IN[[:space:]]+A[[:space:]]+192.0.2.10'
check "MX with the exchange in the additional section" has mx.dyn.test MX 'IN[[:space:]]+MX[[:space:]]+10 mail.dyn.test.' 'ADDITIONAL SECTION' 'mail.dyn.test.[[:space:]]+60[[:space:]]+IN[[:space:]]+A[[:space:]]+192.0.2.25'
check "SRV with the target in the additional section" has _sip._tcp.srv.dyn.test SRV 'IN[[:space:]]+SRV[[:space:]]+10 5 5060 host.dyn.test.' 'ADDITIONAL SECTION' 'host.dyn.test.[^;]*192.0.2.10'
check "TXT" has txt.dyn.test TXT 'IN[[:space:]]+TXT[[:space:]]+"v=spf1 -all"'
check "TXT with quotes and two strings" has quote.dyn.test TXT 'TXT[[:space:]]+"say \\"hi\\"" "second string"'
check "TXT longer than 255 bytes, split" has long.dyn.test TXT "TXT[[:space:]]+\"${long:0:255}\" \"${long:255}\""
check "CAA" has caa.dyn.test CAA 'IN[[:space:]]+CAA[[:space:]]+0 issue "letsencrypt.org"'
check "apex SOA, authoritative" has dyn.test SOA 'flags: qr aa' 'IN[[:space:]]+SOA[[:space:]]+ns1.dyn.test. hostmaster.dyn.test. [0-9]+ 10800 3600 604800 60'
check "apex NS with glue" has dyn.test NS 'IN[[:space:]]+NS[[:space:]]+ns1.dyn.test.' 'ns1.dyn.test.[^;]*IN[[:space:]]+A[[:space:]]+127.0.0.1'
check "NXDOMAIN with the SOA in the authority section" has nope.dyn.test A 'status: NXDOMAIN' 'flags: qr aa' 'AUTHORITY SECTION' 'dyn.test.[[:space:]]+60[[:space:]]+IN[[:space:]]+SOA'
check "NODATA: an existing name without that type" has txt.dyn.test A 'status: NOERROR' 'ANSWER: 0' 'AUTHORITY SECTION' 'IN[[:space:]]+SOA'
check "empty non-terminal answers NODATA, not NXDOMAIN" has b.c.dyn.test A 'status: NOERROR' 'ANSWER: 0'
check "deeper empty non-terminal" has c.dyn.test TXT 'status: NOERROR' 'ANSWER: 0'
check "wildcard" has anything.wild.dyn.test A 'status: NOERROR' 'anything.wild.dyn.test.[[:space:]]+60[[:space:]]+IN[[:space:]]+A[[:space:]]+192.0.2.40'
check "wildcard, deeper" has x.y.wild.dyn.test A 'IN[[:space:]]+A[[:space:]]+192.0.2.40'
check "delegation: referral with glue, not authoritative" has www.sub.dyn.test A 'status: NOERROR' 'ANSWER: 0' 'AUTHORITY SECTION' 'sub.dyn.test.[[:space:]]+3600[[:space:]]+IN[[:space:]]+NS[[:space:]]+ns.sub.dyn.test.' 'ns.sub.dyn.test.[[:space:]]+3600[[:space:]]+IN[[:space:]]+A[[:space:]]+192.0.2.53'
no_aa_referral() {
	! q www.sub.dyn.test A | grep -q 'flags: qr aa'
}
check "delegation: AA is not set on the referral" no_aa_referral
check "mixed-case query name" has HoSt.DyN.TeSt A 'status: NOERROR' 'IN[[:space:]]+A[[:space:]]+192.0.2.10'
check "a name outside our zones is refused" has example.org A 'status: REFUSED'
axfr() {
	local out
	out=$(dig +time=5 +tries=1 @127.0.0.1 -p "$port" dyn.test AXFR) || return 1
	grep -Eq 'host.dyn.test.[[:space:]]+60[[:space:]]+IN[[:space:]]+A[[:space:]]+192.0.2.10' <<<"$out" &&
		grep -Eq 'a.b.c.dyn.test.[[:space:]]+60[[:space:]]+IN[[:space:]]+A' <<<"$out" &&
		[ "$(grep -Ec 'IN[[:space:]]+SOA' <<<"$out")" = 2 ] || {
		echo "$out"
		return 1
	}
}
check "AXFR of a small zone (SOA first and last)" axfr

# ---- change propagation (pdns caches on, default TTLs) --------------------

ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# a name that was asked for (and cached as NXDOMAIN) before it existed
q fresh.dyn.test A >/dev/null
t0=$(date +%s%N)
add fresh.dyn.test. A 192.0.2.77
if within 1 has fresh.dyn.test A 'IN[[:space:]]+A[[:space:]]+192.0.2.77'; then
	ok "a new name answers within 1 s, despite a cached NXDOMAIN ($(ms_since "$t0") ms)"
else
	notok "a new name answers within 1 s, despite a cached NXDOMAIN"
fi

# a changed address, cached before
q host.dyn.test A >/dev/null
t0=$(date +%s%N)
sql "UPDATE records SET content = '192.0.2.11' WHERE name = 'host.dyn.test.' AND type = 'A'" && xadd host.dyn.test.
if within 1 has host.dyn.test A 'IN[[:space:]]+A[[:space:]]+192.0.2.11'; then
	ok "a changed address answers within 1 s ($(ms_since "$t0") ms)"
else
	notok "a changed address answers within 1 s"
fi

# a deleted name
t0=$(date +%s%N)
sql "DELETE FROM records WHERE name = 'mail.dyn.test.'" && xadd mail.dyn.test.
if within 1 has mail.dyn.test A 'status: NXDOMAIN'; then
	ok "a deleted name answers NXDOMAIN within 1 s ($(ms_since "$t0") ms)"
else
	notok "a deleted name answers NXDOMAIN within 1 s"
fi

# the stream event withheld: the change log still brings it
sql "INSERT INTO records (zone_id, name, type, content) SELECT id, 'silent.dyn.test.', 'A', '192.0.2.88' FROM zones WHERE name = 'dyn.test.'"
check "a change without a stream event still arrives (change log), within 5 s" within 5 has silent.dyn.test A 'IN[[:space:]]+A[[:space:]]+192.0.2.88'

serial() {
	q dyn.test SOA +short | awk '{ print $3 }'
}
# serial_above N: the serial PowerDNS answers now is above N (asked anew at each call)
serial_above() {
	[ "$(serial)" -gt "$1" ]
}
s1=$(serial)
add serial.dyn.test. A 192.0.2.99
check "the zone's serial grows with a change" within 2 serial_above "$s1"

# ---- faults -----------------------------------------------------------------
# Names asked for here were never asked before, so PowerDNS's caches cannot
# answer them: the answer comes from the backend.

for i in $(seq 1 8); do
	add "f$i.dyn.test." A "192.0.2.$((100 + i))"
done
sleep 1

redis_cli() {
	redis-cli -h 127.0.0.1 -p "$DDNS_REDIS_PORT" "$@"
}

# Redis stopped: PostgreSQL answers
stop_pid "$run/redis/redis.pid"
check "Redis stopped: an existing name still answers (from PostgreSQL)" has f1.dyn.test A 'status: NOERROR' 'IN[[:space:]]+A[[:space:]]+192.0.2.101'
check "Redis stopped: a missing name is still NXDOMAIN" has nothing1.dyn.test A 'status: NXDOMAIN'

# both stopped: never NXDOMAIN
pg_stop "$(readlink -f "$run/postgres")"
both_down() {
	local out
	out=$(q f2.dyn.test A)
	grep -q 'status: NXDOMAIN' <<<"$out" && {
		echo "$out"
		return 1
	}
	grep -Eq 'status: SERVFAIL|IN[[:space:]]+A[[:space:]]+192.0.2.102' <<<"$out" || {
		echo "$out"
		return 1
	}
}
check "Redis and PostgreSQL stopped: SERVFAIL or a stale answer, never NXDOMAIN" both_down
stale() {
	local out
	out=$(q host.dyn.test AAAA)
	grep -q 'status: NXDOMAIN' <<<"$out" && return 1
	return 0
}
check "Redis and PostgreSQL stopped: a name answered before is not NXDOMAIN" stale

# PostgreSQL back, Redis still down, then Redis back EMPTY: the cache rebuilds,
# answers stay right meanwhile
"$stack" up >"$tmp/up2.log" 2>&1 # starts what is stopped: PostgreSQL and Redis
check "after the restart: PostgreSQL and Redis run again" grep -q 'redis: started' "$tmp/up2.log"
redis_cli FLUSHALL >/dev/null
check "Redis restarted empty: answers stay right while the replica is rebuilt" has f3.dyn.test A 'IN[[:space:]]+A[[:space:]]+192.0.2.103'
rebuilt() {
	[ -n "$(redis_cli -n 0 GET dns:gen)" ]
}
check "Redis restarted empty: ddns-cache rebuilds the replica within 30 s" within 30 rebuilt
check "after the rebuild: answers from the replica" has f4.dyn.test A 'IN[[:space:]]+A[[:space:]]+192.0.2.104'

# PostgreSQL stopped: Redis answers (once ddns-backend is back on Redis: its
# reconnect backoff after the Redis restart above lasts up to 2 s)
backend_on_redis() {
	curl -fsS --max-time 1 "http://$DDNS_BACKEND_LISTEN/readyz" | grep -q '"redis":"ok"'
}
check "ddns-backend is connected to the rebuilt replica again within 10 s" within 10 backend_on_redis
pg_stop "$(readlink -f "$run/postgres")"
check "PostgreSQL stopped: an existing name still answers (from Redis)" has f5.dyn.test A 'IN[[:space:]]+A[[:space:]]+192.0.2.105'
check "PostgreSQL stopped: a missing name is still NXDOMAIN" has nothing2.dyn.test A 'status: NXDOMAIN'
"$stack" up >"$tmp/up3.log" 2>&1

# ddns-cache killed mid-stream and restarted: no change lost
kill -KILL "$(cat "$run/cache.pid")"
for i in $(seq 1 20); do
	add "k$i.dyn.test." A "192.0.2.$((150 + i))"
done
"$stack" up >"$tmp/up4.log" 2>&1
all_there() {
	local i
	for i in $(seq 1 20); do
		[ -n "$(redis_cli -n 0 GET "dns:$(redis_cli -n 0 GET dns:gen):n:k$i.dyn.test.")" ] || return 1
	done
}
check "ddns-cache killed and restarted: all 20 changes made meanwhile reach the replica" within 30 all_there
check "ddns-cache killed and restarted: they answer" has k20.dyn.test A 'IN[[:space:]]+A[[:space:]]+192.0.2.170'

echo "1..$n"
exit "$failed"

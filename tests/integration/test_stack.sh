#!/usr/bin/env bash
# The local stack, as `make up && make status && make down` twice in a row,
# on free ports in a temporary state folder: it starts, migrates and seeds,
# reports what runs, stops everything, and leaves no process behind.
# Usage: test_stack.sh BUILDDIR (meson passes it). Prints TAP.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
. "$root/tests/harness/tap.sh"
. "$root/tests/harness/stack-env.sh"

stack_env stack "${1:?usage: $0 BUILDDIR}"

cleanup() {
	stack_down
	rm -rf "$tmp"
}
trap cleanup EXIT

running() {
	local out p
	out=$("$stack" status) || return 1
	for p in postgres redis ddns-cache ddns-backend pdns ddns-api ddns-user ddns-worker; do
		grep -q "^$p *running" <<<"$out" || return 1
	done
}

# PowerDNS answers the base zone's SOA authoritatively, from the replica.
answers() {
	local out
	out=$(dig +time=2 +tries=1 @127.0.0.1 -p "$DDNS_DNS_PORT" dyn.test SOA) || return 1
	grep -q 'status: NOERROR' <<<"$out" && grep -q 'flags: qr aa' <<<"$out" &&
		grep -q 'IN[[:space:]]*SOA[[:space:]]*ns1.dyn.test. hostmaster.dyn.test.' <<<"$out"
}

api_ready() {
	curl -sf "http://$DDNS_API_LISTEN/readyz" >/dev/null &&
		curl -sf "http://$DDNS_API_LISTEN/api/v1/zones" | grep -q '"dyn.test."'
}

stopped() {
	local out status=0 p
	out=$("$stack" status) || status=$?
	[ "$status" -eq 3 ] || return 1
	for p in postgres redis ddns-cache ddns-backend pdns ddns-api ddns-user ddns-worker; do
		grep -q "^$p *stopped" <<<"$out" || return 1
	done
}

no_leftovers() {
	! pgrep -f "$tmp" >/dev/null &&
		! dig +time=1 +tries=1 @127.0.0.1 -p "$DDNS_DNS_PORT" dyn.test SOA >/dev/null 2>&1 &&
		! redis-cli -h 127.0.0.1 -p "$DDNS_REDIS_PORT" ping >/dev/null 2>&1 &&
		! curl -sf "http://$DDNS_API_LISTEN/healthz" >/dev/null 2>&1 &&
		! curl -sf "http://$DDNS_WORKER_LISTEN/healthz" >/dev/null 2>&1 &&
		! psql "$db" -c 'select 1' >/dev/null 2>&1 &&
		[ ! -e "$DDNS_RUN_DIR/redis/redis.pid" ]
}

# mail_of ID: the worker wrote the mail of job ID (looked for anew at each call)
mail_of() {
	test -n "$(find "$run/mail" -name "*-$1.eml" 2>/dev/null)"
}

# A verify job on the stack's stream becomes a .eml in $run/mail (ddns-worker, file transport).
mails() {
	local id
	id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	redis-cli -h 127.0.0.1 -p "$DDNS_REDIS_PORT" -n 1 XADD jobs '*' type email.verify id "$id" \
		to stack@example.org token abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234 >/dev/null &&
		within 10 mail_of "$id"
}

seeded() {
	[ "$(psql "$db" -Atc "select count(*) from zones where name = 'dyn.test.'")" = 1 ] &&
		[ "$(psql "$db" -Atc "select count(*) from records where name = 'dyn.test.' and type = 'NS'")" -ge 1 ]
}

redis_persists() {
	redis-cli -h 127.0.0.1 -p "$DDNS_REDIS_PORT" set ddns:stack-test kept >/dev/null
}

redis_kept() {
	[ "$(redis-cli -h 127.0.0.1 -p "$DDNS_REDIS_PORT" get ddns:stack-test)" = kept ]
}

for round in 1 2; do
	check "round $round: up starts PostgreSQL, Redis, ddns-cache, ddns-backend, PowerDNS, ddns-api, ddns-user, ddns-worker" "$stack" up
	check "round $round: up again is a no-op" "$stack" up
	check "round $round: status shows all eight running" running
	check "round $round: ddns-api is ready and lists the base zone" api_ready
	check "round $round: PowerDNS answers dyn.test SOA authoritatively" answers
	check "round $round: ddns-worker writes a verify job's mail into .run/mail" mails
	check "round $round: the base zone is seeded once, with NS records" seeded
	check "round $round: migrate on a migrated database applies nothing" "$stack" migrate
	if [ "$round" = 1 ]; then
		check "round 1: write a Redis key" redis_persists
	else
		check "round 2: the Redis key written in round 1 survived the restart" redis_kept
	fi
	check "round $round: down" "$stack" down
	check "round $round: status shows all stopped (exit 3)" stopped
	check "round $round: no process, port or pid file left" no_leftovers
done

echo "1..$n"
exit "$failed"

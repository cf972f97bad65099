#!/usr/bin/env bash
# The dyndns2 protocol of ddns-api end to end: update tokens over REST, then
# /nic/update and /nic/checkip with curl, ddclient 3.10 and inadyn 2.10 against
# the local stack (scripts/stack.sh) on free loopback ports; every change
# checked in PostgreSQL (records, changes, audit_log), in the stream
# dns:changes and with dig. A second ddns-api with small abuse limits covers
# `abuse`. Clients that are not installed are skipped. Prints TAP.
# Usage: test_nic.sh BUILDDIR   (env DDNS_TEST_JWT_SIGN: the jwt-sign binary)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
. "$root/tests/harness/tap.sh"
. "$root/tests/harness/stack-env.sh"

stack_env nic "${1:?usage: $0 BUILDDIR}"
# users, keys, tokens, redis_cli, start_api
. "$root/tests/harness/api-env.sh"
trap api_cleanup EXIT
# generous REST limits and change rates: only the abuse instance is strict
api_generous_rates
export DDNS_API_DOMAIN_QUOTA=30
export DDNS_API_NIC_CHANGE_RATE=100000 DDNS_API_NIC_CHANGE_BURST=100000

base=http://$DDNS_API_LISTEN
. "$root/tests/harness/http.sh"
S='[[:space:]]+'
UA='nic-test/1.0 (curl)'

# skip DESC: one skipped TAP line
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP"
}

# ---- dyndns2 requests -----------------------------------------------------------

# nic PATH [CURL_ARGS...]: a request to ddns-api with curl's -A $UA; the status
# in $st, the body in $tmp/body, the headers in $tmp/hdr
nic() {
	local p=$1
	shift
	: >"$tmp/body"
	: >"$tmp/hdr"
	st=$(curl -s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' --max-time 10 -A "$UA" "$@" "$base$p")
}

# answered STATUS LINE...: the last answer had STATUS, Content-Type text/plain
# and exactly these lines
answered() {
	local want=$1 got lines
	shift
	lines=$(printf '%s\n' "$@")
	got=$(cat "$tmp/body")
	if [ "$st" = "$want" ] && [ "$got" = "$lines" ] && hdr Content-Type | grep -qi '^text/plain'; then
		return 0
	fi
	echo "want $want $(tr '\n' '|' <<<"$lines"), got $st $(head -c 600 "$tmp/body" | tr '\n' '|') ($(hdr Content-Type))"
	return 1
}

# upd QUERY [CURL_ARGS...] -- LINE...: GET /nic/update?QUERY answers 200 and these lines
upd() {
	local qs=$1 args=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	nic "/nic/update?$qs" "${args[@]}"
	answered 200 "$@"
}

# refused QUERY [CURL_ARGS...]: 401, the Basic challenge, the body badauth
refused() {
	local qs=$1
	shift
	nic "/nic/update?$qs" "$@"
	answered 401 badauth || return 1
	grep -Eiq '^WWW-Authenticate: Basic realm="ddns"' "$tmp/hdr" || {
		echo "no Basic challenge:"
		cat "$tmp/hdr"
		return 1
	}
}

# a4 NAME ADDR / a6 NAME ADDR: dig answers exactly this A (AAAA) record, TTL 60
a4() { only_rr "$1" A "$2"; }
a6() { only_rr "$1" AAAA "$2"; }
# only_rr NAME TYPE ADDR: the one TYPE record at NAME, TTL 60, is ADDR
only_rr() {
	local all
	has "$1" "$2" "status: NOERROR" "$1.${S}60${S}IN${S}$2${S}${3//./\\.}" || return 1
	all=$(q "$1" "$2" +short)
	[ "$all" = "$3" ] || {
		echo "more than one $2: $(tr '\n' ' ' <<<"$all")"
		return 1
	}
}
# no6 NAME / no4 NAME: no AAAA (A) record at NAME
no6() { [ -z "$(q "$1" AAAA +short)" ]; }
no4() { [ -z "$(q "$1" A +short)" ]; }
# both NAME V4 V6: dig answers exactly these A and AAAA records
both() { a4 "$1" "$2" && a6 "$1" "$3"; }
# db4 NAME / db6 NAME: the A (AAAA) contents of NAME in PostgreSQL, comma separated
db4() { sql "SELECT coalesce(string_agg(content, ',' ORDER BY content), '') FROM records WHERE name = '$1.' AND type = 'A'"; }
db6() { sql "SELECT coalesce(string_agg(content, ',' ORDER BY content), '') FROM records WHERE name = '$1.' AND type = 'AAAA'"; }

# marks: the newest changes row, audit_log row and dns:changes entry, and the
# stream's length; equal marks before and after mean nothing was written
marks() {
	echo "changes=$(sql 'SELECT coalesce(max(id), 0) FROM changes')" \
		"audit=$(sql 'SELECT coalesce(max(id), 0) FROM audit_log')" \
		"xlen=$(redis_cli -n 1 XLEN dns:changes)" \
		"xlast=$(redis_cli -n 1 XREVRANGE dns:changes + - COUNT 1 | head -n 1)"
}
# unchanged BEFORE: the marks are still BEFORE
unchanged() {
	local now
	now=$(marks)
	[ "$now" = "$1" ] || {
		echo "before: $1"
		echo "after:  $now"
		return 1
	}
}
# settle: the stream entries of the last write are in (ddns-api adds them
# right after the commit): the marks stop moving, 3 s at most
settle() {
	local a b i
	a=$(marks)
	for i in $(seq 30); do
		sleep 0.1
		b=$(marks)
		[ "$a" = "$b" ] && return 0
		a=$b
	done
}

# last_audit COLUMNS: those columns of the newest audit_log row, |-separated
last_audit() {
	sql "SELECT $1 FROM audit_log ORDER BY id DESC LIMIT 1" | tr -d '\n'
}
# audited DOMAIN ACTOR UA: the newest audit row is an rrsets.replace of DOMAIN by ACTOR with UA
audited() {
	local got
	got=$(last_audit "action || '|' || actor || '|' || rtrim(domain_name, '.') || '|' || coalesce(user_agent, '') || '|' || host(client_addr)")
	[ "$got" = "rrsets.replace|$2|$1|$3|127.0.0.1" ] || {
		echo "newest audit row: $got"
		echo "want:             rrsets.replace|$2|$1|$3|127.0.0.1"
		return 1
	}
}

# used_by DOMAIN ID: the update token ID of DOMAIN lists a last use from 127.0.0.1
used_by() {
	local TOK
	TOK=$(TA)
	http GET "/api/v1/domains/$1/update-tokens"
	[ "$(j '[(bool(i["last_used_at"]), i["last_addr"]) for i in d["items"] if i["id"] == '"$2"']')" = '[[true, "127.0.0.1"]]' ] || {
		echo "$st $(cat "$tmp/body")"
		return 1
	}
}

# form_post BODY [CURL_ARGS...] -- LINE...: POST /nic/update with a form body answers these lines
form_post() {
	local data=$1 args=()
	shift
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	nic /nic/update -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$data" "${args[@]}"
	answered 200 "$@"
}

# no_secret FILE...: no update token of this test in these files
no_secret() {
	local t
	for t in "${secrets[@]}"; do
		if grep -Fq -- "$t" "$@"; then
			echo "a token is in $(grep -Fl -- "$t" "$@" | tr '\n' ' ')"
			return 1
		fi
	done
}
secrets=()

# ---- start --------------------------------------------------------------------

t_start=$(date +%s)
stack_start
make_keys ec:ec1 ec:ec2
ec1=$keys/ec1.key.pem
ec2=$keys/ec2.key.pem

ua=$(user alice)
ub=$(user bob)
add_key ka "$ua" ES256 ec1
add_key kb "$ub" ES256 ec2
TA() { token "$ec1" ka "$ua" "$all_scopes"; }
TB() { token "$ec2" kb "$ub" "$all_scopes"; }

TOK=$(TA)
for d in a1 a2 a3 a4 a5 a6 a7 a8 dd1 dd2 dd6 in1 in2 ab1 ab2; do
	http POST /api/v1/domains "{\"name\":\"$d.dyn.test\"}"
	[ "$st" = 201 ] || echo "$d: $st $(cat "$tmp/body")" >>"$tmp/claims.err"
done
TOK=$(TB)
http POST /api/v1/domains '{"name":"b1.dyn.test"}'
[ "$st" = 201 ] || echo "b1: $st $(cat "$tmp/body")" >>"$tmp/claims.err"
check "alice claims 15 hostnames, bob one" test ! -s "$tmp/claims.err"

# ---- 1. update tokens over REST --------------------------------------------------

TOK=$(TA)
expect "create an update token for a1: 201" 201 "" POST /api/v1/domains/a1.dyn.test/update-tokens '{"name":"router"}'
T1=$(j 'd["token"]')
T1_id=$(j 'd["id"]')
check "the answer: id, name, acme false, a 43-character base64url token, created_at" \
	test "$(j '[type(d["id"]).__name__, d["name"], d["acme"], bool(d["created_at"])]')/$(grep -Ec '^[A-Za-z0-9_-]{43}$' <<<"$T1")" = \
	'["int", "router", false, true]/1'
expect "a token without a name: 201" 201 "" POST /api/v1/domains/a1.dyn.test/update-tokens '{}'
T1b=$(j 'd["token"]')
T1b_id=$(j 'd["id"]')
check "two tokens differ" test -n "$T1b" -a "$T1b" != "$T1"
expect "an ACME token: 201 with acme true" 201 "" POST /api/v1/domains/a1.dyn.test/update-tokens '{"name":"certbot","acme":true}'
check "acme true" test "$(j 'd["acme"]')" = true
http POST /api/v1/domains/a1.dyn.test/update-tokens "{\"name\":\"$(printf 'n%.0s' $(seq 101))\"}"
check "a name of 101 characters: 400" test "$st" = 400
http POST /api/v1/domains/a1.dyn.test/update-tokens '{"name":""}'
check "an empty name: 400" test "$st" = 400
expect "a name of 100 characters: 201" 201 "" POST /api/v1/domains/a1.dyn.test/update-tokens \
	"{\"name\":\"$(printf 'n%.0s' $(seq 100))\"}"

expect "list a1's tokens: 200" 200 "" GET /api/v1/domains/a1.dyn.test/update-tokens
check "four items, each with exactly id, name, acme, created_at, last_used_at, last_addr" \
	test "$(j '[len(d["items"])] + sorted(set(",".join(sorted(i)) for i in d["items"]))')" = \
	'[4, "acme,created_at,id,last_addr,last_used_at,name"]'
check "the list holds no secret" bash -c "! grep -q -e '$T1' -e '$T1b' '$tmp/body'"
check "unused tokens: last_used_at and last_addr are null" \
	test "$(j '[(i["last_used_at"], i["last_addr"]) for i in d["items"] if i["id"] == '"$T1_id"']')" = '[[null, null]]'
check "PostgreSQL holds no token in clear" \
	test "$(sql "SELECT count(*) FROM update_tokens t WHERE t::text LIKE '%$T1%' OR t::text LIKE '%$T1b%'")" = 0

for i in 5 6 7 8 9 10; do
	http POST /api/v1/domains/a1.dyn.test/update-tokens "{\"name\":\"t$i\"}"
	[ "$st" = 201 ] || echo "token $i: $st $(cat "$tmp/body")" >>"$tmp/tokens.err"
	[ $i = 10 ] && T10_id=$(j 'd["id"]')
done
check "ten live tokens fit" test ! -s "$tmp/tokens.err"
expect "the 11th live token: 409 token_limit" 409 token_limit POST /api/v1/domains/a1.dyn.test/update-tokens '{"name":"t11"}'
expect "revoke one: 204" 204 "" DELETE "/api/v1/domains/a1.dyn.test/update-tokens/$T10_id"
expect "... then the 11th fits: 201" 201 "" POST /api/v1/domains/a1.dyn.test/update-tokens '{"name":"t11"}'
expect "revoking it again: 404 not_found" 404 not_found DELETE "/api/v1/domains/a1.dyn.test/update-tokens/$T10_id"

TOK=$(TB)
expect "bob: create a token on alice's domain: 404 not_found" 404 not_found POST /api/v1/domains/a1.dyn.test/update-tokens '{"name":"evil"}'
expect "bob: list alice's tokens: 404 not_found" 404 not_found GET /api/v1/domains/a1.dyn.test/update-tokens
expect "bob: revoke alice's token: 404 not_found" 404 not_found DELETE "/api/v1/domains/a1.dyn.test/update-tokens/$T1_id"
expect "bob: alice's token id under his own domain: 404 not_found" 404 not_found DELETE "/api/v1/domains/b1.dyn.test/update-tokens/$T1_id"
TOK=$(token "$ec1" ka "$ua" "dns:read dns:write")
expect "without domains:write: 403 insufficient_scope" 403 insufficient_scope POST /api/v1/domains/a1.dyn.test/update-tokens '{"name":"x"}'
TOK=
expect "without a JWT: 401 invalid_token" 401 invalid_token POST /api/v1/domains/a1.dyn.test/update-tokens '{"name":"x"}'

# the tokens the rest of the test uses, one per host
TOK=$(TA)
newtok() { # newtok DOMAIN: prints "id token"
	http POST "/api/v1/domains/$1/update-tokens" "{\"name\":\"test $1\"}"
	[ "$st" = 201 ] && echo "$(j 'd["id"]') $(j 'd["token"]')"
}
declare -A TK ID
for d in a2 dd1 dd2 in1 in2 ab1 ab2; do
	read -r "ID[$d]" "TK[$d]" <<<"$(newtok $d.dyn.test)"
	secrets+=("${TK[$d]}")
done
check "one token for each further host" test -n "${TK[a2]}" -a -n "${TK[dd1]}" -a -n "${TK[in2]}" -a -n "${TK[ab2]}"
TOK=$(TB)
read -r "ID[b1]" "TK[b1]" <<<"$(newtok b1.dyn.test)"
secrets+=("${TK[b1]}" "$T1b")
TOK=

# ---- 2. /nic/update with curl ------------------------------------------------------

# a TXT record of a1 that no update may touch
TOK=$(TA)
expect "a1 holds a TXT record (REST)" 201 "" POST /api/v1/dns-records '{"name":"a1.dyn.test","type":"TXT","content":"\"keep me\""}'
TOK=

q a1.dyn.test A >/dev/null # cached as NODATA before the update
settle
ch0=$(sql 'SELECT coalesce(max(id), 0) FROM changes')
xlen0=$(redis_cli -n 1 XLEN dns:changes)
check "Basic auth (username = hostname, password = token): good 192.0.2.1" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.1' -u "a1.dyn.test:$T1" -- 'good 192.0.2.1'
check "... dig sees A 192.0.2.1, TTL 60, within 5 s" within 5 a4 a1.dyn.test 192.0.2.1
check "... no AAAA was made" no6 a1.dyn.test
check "... a new changes row for a1" \
	test "$(sql "SELECT count(*) FROM changes WHERE name = 'a1.dyn.test.' AND id > $ch0")" -ge 1
stream_grew() { [ "$(redis_cli -n 1 XLEN dns:changes)" -gt "$1" ]; }
check "... a new entry in the stream dns:changes" within 2 stream_grew "$xlen0"
check "... audited: rrsets.replace by token:$T1_id with the User-Agent" audited a1.dyn.test "token:$T1_id" "$UA"
check "... the token's last_used_at and last_addr (127.0.0.1) are set" used_by a1.dyn.test "$T1_id"

settle
before=$(marks)
upd_at=$(sql "SELECT updated_at FROM records WHERE name = 'a1.dyn.test.' AND type = 'A'")
check "the same address again: nochg 192.0.2.1" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.1' -u "a1.dyn.test:$T1" -- 'nochg 192.0.2.1'
sleep 0.3
check "... no changes row, no audit_log row, no stream entry (XLEN and last id)" unchanged "$before"
check "... the record is not rewritten (updated_at kept)" test \
	"$(sql "SELECT updated_at FROM records WHERE name = 'a1.dyn.test.' AND type = 'A'")" = "$upd_at"
for i in 1 2 3 4 5; do
	nic '/nic/update?hostname=a1.dyn.test&myip=192.0.2.1' -u "a1.dyn.test:$T1"
	echo "$st $(cat "$tmp/body")" >>"$tmp/nochg5"
done
check "five more unchanged updates: nochg each time (never punished)" \
	test "$(sort -u "$tmp/nochg5")" = "200 nochg 192.0.2.1"
check "... and still nothing written" unchanged "$before"

check "the hostname in upper case is the same host: nochg" \
	upd 'hostname=A1.Dyn.Test&myip=192.0.2.1' -u "a1.dyn.test:$T1" -- 'nochg 192.0.2.1'

check "query-string credentials: good 192.0.2.2" \
	upd "hostname=a1.dyn.test&myip=192.0.2.2&username=a1.dyn.test&password=$T1" -- 'good 192.0.2.2'
check "... dig sees 192.0.2.2 within 5 s" within 5 a4 a1.dyn.test 192.0.2.2
secrets+=("$T1" "$(printf 'a1.dyn.test:%s' "$T1" | base64 -w0)")
check "the access log never holds the token (query string, Basic)" no_secret "$run/api.log"
check "... but it did log the requests" grep -q '/nic/update' "$run/api.log"

check "the other token of a1 works too: good 192.0.2.3" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.3' -u "a1.dyn.test:$T1b" -- 'good 192.0.2.3'
check "... audited as token:$T1b_id" audited a1.dyn.test "token:$T1b_id" "$UA"


# both families, and no address at all
check "IPv4 and IPv6 in one myip: good 192.0.2.6,2001:db8::6" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.6,2001:db8::6' -u "a1.dyn.test:$T1" -- 'good 192.0.2.6,2001:db8::6'
check "... dig sees the A within 5 s" within 5 a4 a1.dyn.test 192.0.2.6
check "... and the AAAA" within 5 a6 a1.dyn.test 2001:db8::6
check "the same pair again: nochg" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.6,2001:db8::6' -u "a1.dyn.test:$T1" -- 'nochg 192.0.2.6,2001:db8::6'
check "IPv6 alone: good 2001:db8::7" \
	upd 'hostname=a1.dyn.test&myip=2001:db8::7' -u "a1.dyn.test:$T1" -- 'good 2001:db8::7'
check "... dig sees the AAAA within 5 s" within 5 a6 a1.dyn.test 2001:db8::7
check "... the A is untouched" a4 a1.dyn.test 192.0.2.6
check "myip and myipv6: good 192.0.2.8,2001:db8::8" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.8&myipv6=2001:db8::8' -u "a1.dyn.test:$T1" -- 'good 192.0.2.8,2001:db8::8'
check "... dig sees both within 5 s" within 5 both a1.dyn.test 192.0.2.8 2001:db8::8
check "no myip: the client's address, good 127.0.0.1" \
	upd 'hostname=a1.dyn.test' -u "a1.dyn.test:$T1" -- 'good 127.0.0.1'
check "... dig sees A 127.0.0.1 within 5 s" within 5 a4 a1.dyn.test 127.0.0.1
check "... the AAAA is untouched" a6 a1.dyn.test 2001:db8::8
check "... in PostgreSQL too" test "$(db4 a1.dyn.test)/$(db6 a1.dyn.test)" = 127.0.0.1/2001:db8::8
check "an empty myip (ddclient sends that when it found no address): the client's address, nochg 127.0.0.1" \
	upd 'hostname=a1.dyn.test&myip=' -u "a1.dyn.test:$T1" -- 'nochg 127.0.0.1'
check "the TXT record of a1 is untouched by every update" has a1.dyn.test TXT "IN${S}TXT${S}\"keep me\""

# bad input
settle
before=$(marks)
for bad in 999.1.1.1 192.0.2 not-an-address 2001:db8::zz 192.0.2.1/24; do
	check "an invalid address ($bad): notfqdn" \
		upd "hostname=a1.dyn.test&myip=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=","))' "$bad")" \
		-u "a1.dyn.test:$T1" -- notfqdn
done
check "an invalid myipv6 (an IPv4 address): notfqdn" \
	upd 'hostname=a1.dyn.test&myipv6=192.0.2.9' -u "a1.dyn.test:$T1" -- notfqdn
for bad in 'a1..dyn.test' 'a1.dyn.test-' '-a1.dyn.test' 'a1_x.dyn.test' "$(printf 'a%.0s' $(seq 64)).dyn.test" '' 'a1.dyn.test%00'; do
	check "a malformed hostname (\"$bad\"): notfqdn" \
		upd "hostname=$bad&myip=192.0.2.9" -u "a1.dyn.test:$T1" -- notfqdn
done
check "... none of it wrote anything" unchanged "$before"
check "... a1 keeps its addresses" test "$(db4 a1.dyn.test)/$(db6 a1.dyn.test)" = 127.0.0.1/2001:db8::8

# scope of a token: its own host only
check "a2's token with username a2 for a1: nohost" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.9' -u "a2.dyn.test:${TK[a2]}" -- nohost
check "a1's token for a2 (alice's too): nohost" \
	upd 'hostname=a2.dyn.test&myip=192.0.2.9' -u "a1.dyn.test:$T1" -- nohost
check "a1's token for bob's b1: nohost" \
	upd 'hostname=b1.dyn.test&myip=192.0.2.9' -u "a1.dyn.test:$T1" -- nohost
check "a name nobody claimed: nohost" \
	upd 'hostname=free.dyn.test&myip=192.0.2.9' -u "a1.dyn.test:$T1" -- nohost
check "a name outside the base zones: nohost" \
	upd 'hostname=example.org&myip=192.0.2.9' -u "a1.dyn.test:$T1" -- nohost
check "a name below a1 (hostnames are claimed domains exactly): nohost" \
	upd 'hostname=sub.a1.dyn.test&myip=192.0.2.9' -u "a1.dyn.test:$T1" -- nohost
check "a1's token, a1 then a2: good, nohost (request order)" \
	upd 'hostname=a1.dyn.test,a2.dyn.test&myip=192.0.2.10' -u "a1.dyn.test:$T1" -- 'good 192.0.2.10' nohost
check "... dig sees a1 at 192.0.2.10 within 5 s" within 5 a4 a1.dyn.test 192.0.2.10
check "... a2 has no A record" test "$(db4 a2.dyn.test)" = ""
check "... no unexpected write reached a2, b1 or the names tried" test \
	"$(sql "SELECT count(*) FROM records WHERE name IN ('a2.dyn.test.', 'b1.dyn.test.', 'free.dyn.test.', 'example.org.', 'sub.a1.dyn.test.')")" = 0

# 20 hosts fit, 21 do not
h20=$(printf 'n%d.dyn.test,' $(seq 1 19))a1.dyn.test
nohost19=()
for i in $(seq 19); do nohost19+=(nohost); done
check "20 hostnames: 20 lines (19 nohost, then a1 nochg)" \
	upd "hostname=$h20&myip=192.0.2.10" -u "a1.dyn.test:$T1" -- "${nohost19[@]}" 'nochg 192.0.2.10'
settle
before=$(marks)
check "21 hostnames: the single line numhost" \
	upd "hostname=$(printf 'n%d.dyn.test,' $(seq 1 20))a1.dyn.test&myip=192.0.2.11" -u "a1.dyn.test:$T1" -- numhost
check "... nothing written, a1 unchanged" unchanged "$before"

# credentials
check "no credentials: 401, WWW-Authenticate: Basic realm=\"ddns\", badauth" refused 'hostname=a1.dyn.test&myip=192.0.2.12'
check "a wrong token: 401 badauth" refused 'hostname=a1.dyn.test&myip=192.0.2.12' -u "a1.dyn.test:$(printf 'A%.0s' $(seq 43))"
check "a wrong token in the query: 401 badauth" \
	refused "hostname=a1.dyn.test&myip=192.0.2.12&username=a1.dyn.test&password=$(printf 'B%.0s' $(seq 43))"
check "a1's token with another host as username: 401 badauth" \
	refused 'hostname=a1.dyn.test&myip=192.0.2.12' -u "a2.dyn.test:$T1"
check "a token that is not base64url: 401 badauth" refused 'hostname=a1.dyn.test&myip=192.0.2.12' -u 'a1.dyn.test:x"y'\''z;--'
check "an empty password: 401 badauth" refused 'hostname=a1.dyn.test&myip=192.0.2.12' -u 'a1.dyn.test:'
check "a malformed Authorization header: 401 badauth" refused 'hostname=a1.dyn.test&myip=192.0.2.12' -H 'Authorization: Basic !!!'
check "a malformed Bearer token: 401 badauth" refused 'hostname=a1.dyn.test&myip=192.0.2.12' -H 'Authorization: Bearer garbage'
check "an update token as a Bearer token: 401 badauth" refused 'hostname=a1.dyn.test&myip=192.0.2.12' -H "Authorization: Bearer $T1"
check "a1 is still at 192.0.2.10" test "$(db4 a1.dyn.test)" = 192.0.2.10

# revocation: at once
TOK=$(TA)
check "a1b's token works before its revocation" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.10' -u "a1.dyn.test:$T1b" -- 'nochg 192.0.2.10'
expect "revoke it: 204" 204 "" DELETE "/api/v1/domains/a1.dyn.test/update-tokens/$T1b_id"
TOK=
check "the revoked token at once: 401 badauth" refused 'hostname=a1.dyn.test&myip=192.0.2.13' -u "a1.dyn.test:$T1b"
check "... in the query too: 401 badauth" \
	refused "hostname=a1.dyn.test&myip=192.0.2.13&username=a1.dyn.test&password=$T1b"
check "... and the record is unchanged" test "$(db4 a1.dyn.test)" = 192.0.2.10
check "a1's other token still works" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.10' -u "a1.dyn.test:$T1" -- 'nochg 192.0.2.10'

# JWTs: every domain of the user
q a3.dyn.test A >/dev/null
check "Bearer JWT (dns:write), two hosts: good, good" \
	upd 'hostname=a2.dyn.test,a3.dyn.test&myip=192.0.2.20' -H "Authorization: Bearer $(TA)" -- 'good 192.0.2.20' 'good 192.0.2.20'
check "... dig sees a2 within 5 s" within 5 a4 a2.dyn.test 192.0.2.20
check "... and a3" within 5 a4 a3.dyn.test 192.0.2.20
check "... audited as key:ka" audited a3.dyn.test key:ka "$UA"
check "... one rrsets.replace audit row per host" test \
	"$(sql "SELECT count(*) FROM audit_log WHERE action = 'rrsets.replace' AND actor = 'key:ka' AND rtrim(domain_name, '.') IN ('a2.dyn.test', 'a3.dyn.test')")" = 2
check "JWT: a2, bob's b1, a3 with a new address: good, nohost, good" \
	upd 'hostname=a2.dyn.test,b1.dyn.test,a3.dyn.test&myip=192.0.2.21,2001:db8::21' -H "Authorization: Bearer $(TA)" -- \
	'good 192.0.2.21,2001:db8::21' nohost 'good 192.0.2.21,2001:db8::21'
check "... dig sees a3's AAAA within 5 s" within 5 a6 a3.dyn.test 2001:db8::21
check "... bob's b1 untouched" test "$(db4 b1.dyn.test)$(db6 b1.dyn.test)" = ""
check "JWT: a2 unchanged, a4 new: nochg, good" \
	upd 'hostname=a2.dyn.test,a4.dyn.test&myip=192.0.2.21,2001:db8::21' -H "Authorization: Bearer $(TA)" -- \
	'nochg 192.0.2.21,2001:db8::21' 'good 192.0.2.21,2001:db8::21'
nic '/nic/update?hostname=a2.dyn.test&myip=192.0.2.22' -H "Authorization: Bearer $(token "$ec1" ka "$ua" dns:read)"
denied() {
	case $st in
	401 | 403) [ "$(cat "$tmp/body")" = badauth ] && return 0 ;;
	esac
	echo "want 401 or 403 badauth, got $st $(head -c 200 "$tmp/body")"
	return 1
}
check "JWT with dns:read only: refused with badauth (401 or 403)" denied
check "a JWT signed by another user's key for alice: 401 badauth" \
	refused 'hostname=a2.dyn.test&myip=192.0.2.22' -H "Authorization: Bearer $(token "$ec2" ka "$ua" "$all_scopes")"
check "a2 is still at 192.0.2.21" test "$(db4 a2.dyn.test)" = 192.0.2.21
check "JWT: a malformed name between two hosts: nochg, notfqdn, nochg" \
	upd 'hostname=a2.dyn.test,a..b.dyn.test,a4.dyn.test&myip=192.0.2.21,2001:db8::21' -H "Authorization: Bearer $(TA)" -- \
	'nochg 192.0.2.21,2001:db8::21' notfqdn 'nochg 192.0.2.21,2001:db8::21'
check "the historical extras (system, wildcard, mx, backmx, offline) are ignored: good" \
	upd 'system=dyndns&hostname=a2.dyn.test&myip=192.0.2.23&wildcard=ON&mx=mail.example.org&backmx=NO&offline=NO' \
	-H "Authorization: Bearer $(TA)" -- 'good 192.0.2.23'
check "... dig sees a2 at 192.0.2.23 within 5 s" within 5 a4 a2.dyn.test 192.0.2.23

# a released domain takes its tokens along: they do not work for its next owner
TOK=$(TA)
read -r _ T7 <<<"$(newtok a7.dyn.test)"
secrets+=("$T7")
check "a7's token works" upd 'hostname=a7.dyn.test&myip=192.0.2.70' -u "a7.dyn.test:$T7" -- 'good 192.0.2.70'
expect "alice releases a7" 204 "" DELETE /api/v1/domains/a7.dyn.test
TOK=$(TB)
expect "bob claims a7" 201 "" POST /api/v1/domains '{"name":"a7.dyn.test"}'
TOK=
check "alice's old a7 token against bob's a7: 401 badauth" refused 'hostname=a7.dyn.test&myip=192.0.2.71' -u "a7.dyn.test:$T7"
check "... bob's a7 has no record" test "$(db4 a7.dyn.test)" = ""

# checkip
nic /nic/checkip
check "checkip: 200 text/plain, the caller's address 127.0.0.1" answered 200 127.0.0.1
nic /nic/checkip --interface 127.0.0.2
check "checkip from 127.0.0.2: 127.0.0.2" answered 200 127.0.0.2
nic '/nic/update?hostname=a5.dyn.test' --interface 127.0.0.2 -H "Authorization: Bearer $(TA)"
check "no myip from 127.0.0.2: good 127.0.0.2" answered 200 'good 127.0.0.2'
check "... dig sees a5 at 127.0.0.2 within 5 s" within 5 a4 a5.dyn.test 127.0.0.2

# ---- 3. ddclient 3.10 ---------------------------------------------------------------

# ddconf FILE LOGIN PASSWORD USE HOSTS: a ddclient config (mode 600) as in
# DYNDNS-CLIENTS.md
ddconf() {
	(
		umask 077
		cat >"$1" <<-EOF
			daemon=0
			syslog=no
			ssl=no
			$4
			protocol=dyndns2
			server=$DDNS_API_LISTEN
			login=$2
			password='$3'
			$5
		EOF
	)
}
# ddrun NAME CONF CACHE [FLAGS...]: ddclient once in the foreground; its output
# in $tmp/dd.NAME.out, its exit status in $dd_rc
ddrun() {
	local name=$1 conf=$2 cache=$3
	shift 3
	timeout 60 ddclient -file "$conf" -cache "$cache" -foreground -daemon=0 -verbose -noquiet "$@" \
		>"$tmp/dd.$name.out" 2>&1
	dd_rc=$?
}
# said CLIENT OUTPUT GOT_RC RC PATTERN...: the client exited RC (it exited
# GOT_RC) and its OUTPUT holds each extended regex; if not, the end of OUTPUT
said() {
	local client=$1 out=$2 got=$3 want=$4 p why=
	shift 4
	if [ "$got" != "$want" ]; then
		why="$client exited $got, want $want"
	else
		for p in "$@"; do
			grep -aEq -- "$p" "$out" || {
				why="$client did not say: $p"
				break
			}
		done
	fi
	[ -z "$why" ] && return 0
	echo "$why"
	tr -s ' ' <"$out" | tr -cd '[:print:]\n' | tail -n 30
	return 1
}
# ddsaid NAME RC PATTERN...: ddrun NAME exited RC and said each extended regex
ddsaid() {
	local name=$1
	shift
	said ddclient "$tmp/dd.$name.out" "$dd_rc" "$@"
}

if command -v ddclient >/dev/null; then
	ddv=$(ddclient -help 2>&1 | grep -Eo 'ddclient [0-9.]+' | head -n 1)
	echo "# $(dpkg-query -W -f '${Package} ${Version}' ddclient 2>/dev/null || echo "$ddv")"
	dc=$tmp/dd1.conf
	ddconf "$dc" dd1.dyn.test "${TK[dd1]}" 'use=ip, ip=192.0.2.31' dd1.dyn.test
	q dd1.dyn.test A >/dev/null
	ddrun one "$dc" "$tmp/dd1.cache"
	check "ddclient, one host: exit 0, 'good', IP address set" ddsaid one 0 \
		'SENDING: +GET /nic/update\?system=dyndns&hostname=dd1\.dyn\.test&myip=192\.0\.2\.31 ' \
		'SUCCESS: +updating dd1\.dyn\.test: good: IP address set to 192\.0\.2\.31'
	check "... dig sees A 192.0.2.31 within 5 s" within 5 a4 dd1.dyn.test 192.0.2.31
	check "... audited with ddclient's User-Agent" audited dd1.dyn.test "token:${ID[dd1]}" ddclient/3.10.0

	settle
	before=$(marks)
	ddrun again "$dc" "$tmp/dd1.cache"
	check "ddclient again, same address: it skips on its own (exit 0, nothing sent)" ddsaid again 0 \
		'skipped: IP address was already set to 192\.0\.2\.31'
	check "... nothing sent" bash -c "! grep -aq 'SENDING: *GET' '$tmp/dd.again.out'"
	ddrun force "$dc" "$tmp/dd1.cache" -force
	check "ddclient -force, same address: nochg, a success with a warning (exit 0)" ddsaid force 0 \
		'SENDING: +GET /nic/update\?system=dyndns&hostname=dd1\.dyn\.test&myip=192\.0\.2\.31 ' \
		'WARNING: +updating dd1\.dyn\.test: nochg'
	sleep 0.3
	check "... nothing written" unchanged "$before"
	check "... its cache records status good" grep -Eq 'ip=192\.0\.2\.31,.*status=good' "$tmp/dd1.cache"

	# ddclient waits 30 s (min-interval) after an update before the next one
	# of a host in the same cache: the following runs use caches of their own
	ddconf "$dc" dd1.dyn.test "${TK[dd1]}" 'use=ip, ip=192.0.2.32' dd1.dyn.test
	ddrun change "$dc" "$tmp/dd1c.cache"
	check "ddclient, a new address: good" ddsaid change 0 \
		'SUCCESS: +updating dd1\.dyn\.test: good: IP address set to 192\.0\.2\.32'
	check "... dig sees 192.0.2.32 within 5 s" within 5 a4 dd1.dyn.test 192.0.2.32

	# ddclient 3.10's dyndns2 sends one address: use=ip with an IPv6 one works
	ddconf "$dc" dd1.dyn.test "${TK[dd1]}" 'use=ip, ip=2001:db8::31' dd1.dyn.test
	ddrun v6 "$dc" "$tmp/dd1v6.cache"
	check "ddclient, use=ip with an IPv6 address: myip=2001:db8::31, good" ddsaid v6 0 \
		'myip=2001:db8::31 ' 'SUCCESS: +updating dd1\.dyn\.test: good: IP address set to 2001:db8::31'
	check "... dig sees the AAAA within 5 s" within 5 a6 dd1.dyn.test 2001:db8::31
	check "... the A is untouched" a4 dd1.dyn.test 192.0.2.32
	# ... but not both: with usev4 and usev6 it sends only the IPv4 one
	ddconf "$dc" dd1.dyn.test "${TK[dd1]}" 'usev4=ipv4, ipv4=192.0.2.33, usev6=ipv6, ipv6=2001:db8::33' dd1.dyn.test
	ddrun v46 "$dc" "$tmp/dd1v46.cache"
	check "ddclient 3.10, usev4 + usev6: sends only myip=192.0.2.33 (its dyndns2 has one address), good" ddsaid v46 0 \
		'hostname=dd1\.dyn\.test&myip=192\.0\.2\.33 HTTP' 'SUCCESS: +updating dd1\.dyn\.test: good: IP address set to 192\.0\.2\.33'
	check "... dig: A 192.0.2.33, the AAAA kept at 2001:db8::31" within 5 both dd1.dyn.test 192.0.2.33 2001:db8::31

	# two hosts in one request: a token reaches one host
	ddconf "$dc" dd1.dyn.test "${TK[dd1]}" 'use=ip, ip=192.0.2.34' dd1.dyn.test,dd2.dyn.test
	ddrun two "$dc" "$tmp/dd2.cache"
	check "ddclient, two hosts with dd1's token: one request, good for dd1, nohost for dd2 (exit 1)" ddsaid two 1 \
		'SENDING: +GET /nic/update\?system=dyndns&hostname=dd1\.dyn\.test,dd2\.dyn\.test&myip=192\.0\.2\.34 ' \
		'SUCCESS: +updating dd1\.dyn\.test: good: IP address set to 192\.0\.2\.34' \
		'FAILED: +updating dd2\.dyn\.test: nohost'
	check "... dig sees dd1 at 192.0.2.34 within 5 s" within 5 a4 dd1.dyn.test 192.0.2.34
	check "... dd2 has no record" test "$(db4 dd2.dyn.test)$(db6 dd2.dyn.test)" = ""
	# two entries, one token each: two requests
	(
		umask 077
		cat >"$dc" <<-EOF
			daemon=0
			syslog=no
			ssl=no
			use=ip, ip=192.0.2.35
			protocol=dyndns2
			server=$DDNS_API_LISTEN
			login=dd1.dyn.test, password='${TK[dd1]}' dd1.dyn.test
			login=dd2.dyn.test, password='${TK[dd2]}' dd2.dyn.test
		EOF
	)
	q dd2.dyn.test A >/dev/null
	ddrun two2 "$dc" "$tmp/dd3.cache"
	check "ddclient, two entries with a token each: good for both (exit 0)" ddsaid two2 0 \
		'SUCCESS: +updating dd1\.dyn\.test: good: IP address set to 192\.0\.2\.35' \
		'SUCCESS: +updating dd2\.dyn\.test: good: IP address set to 192\.0\.2\.35'
	check "... dig sees dd1 within 5 s" within 5 a4 dd1.dyn.test 192.0.2.35
	check "... and dd2" within 5 a4 dd2.dyn.test 192.0.2.35

	# the address from our /nic/checkip, as the README suggests
	ddconf "$dc" dd2.dyn.test "${TK[dd2]}" "use=web, web=http://$DDNS_API_LISTEN/nic/checkip" dd2.dyn.test
	ddrun web "$dc" "$tmp/dd2w.cache"
	check "ddclient, use=web with /nic/checkip: myip=127.0.0.1, good" ddsaid web 0 \
		'SENDING: +GET /nic/checkip ' 'hostname=dd2\.dyn\.test&myip=127\.0\.0\.1 ' \
		'SUCCESS: +updating dd2\.dyn\.test: good: IP address set to 127\.0\.0\.1'
	check "... dig sees dd2 at 127.0.0.1 within 5 s" within 5 a4 dd2.dyn.test 127.0.0.1

	ddconf "$dc" dd6.dyn.test "$(printf 'C%.0s' $(seq 43))" 'use=ip, ip=192.0.2.36' dd6.dyn.test
	ddrun bad "$dc" "$tmp/dd6.cache"
	check "ddclient, a wrong password: it reports the authorization failure (exit 1)" ddsaid bad 1 \
		'FAILED: +updating dd6\.dyn\.test: authorization failed' '401'
	check "... dd6 has no record" test "$(db4 dd6.dyn.test)" = ""
	check "... no token of ddclient's in the access log" no_secret "$run/api.log"
else
	skip "ddclient: not installed (scripts/debian-packages.txt)"
fi

# ---- 4. inadyn 2.10 --------------------------------------------------------------------

# inconf FILE PERIOD HOST PASSWORD: the custom provider of DYNDNS-CLIENTS.md with
# our /nic/checkip; verify-address = false, or inadyn discards 127.0.0.1 (what
# checkip answers on loopback) and sends an empty myip
inconf() {
	(
		umask 077
		cat >"$1" <<-EOF
			period = $2
			verify-address = false
			custom local {
			    ssl = false
			    username = $3
			    password = $4
			    ddns-server = $DDNS_API_LISTEN
			    ddns-path = "/nic/update?hostname=%h&myip=%i"
			    checkip-server = $DDNS_API_LISTEN
			    checkip-path = /nic/checkip
			    checkip-ssl = false
			    hostname = $3
			}
		EOF
	)
}
# inrun NAME CONF CACHEDIR [FLAGS...]: inadyn once in the foreground; output in
# $tmp/in.NAME.out, exit status in $in_rc
inrun() {
	local name=$1 conf=$2 cache=$3
	shift 3
	mkdir -p "$cache"
	timeout 60 inadyn -1 --foreground --no-pidfile -l debug --cache-dir="$cache" -f "$conf" "$@" \
		>"$tmp/in.$name.out" 2>&1
	in_rc=$?
}
# insaid NAME RC PATTERN...: inrun NAME exited RC and said each extended regex
insaid() {
	local name=$1
	shift
	said inadyn "$tmp/in.$name.out" "$in_rc" "$@"
}
# indaemon NAME: inadyn as a daemon (-C) with $tmp/in2.conf; output in
# $tmp/in.NAME.out, its pid in $inpid
indaemon() {
	mkdir -p "$tmp/in2.cache"
	inadyn --foreground --no-pidfile --continue-on-error -l info --cache-dir="$tmp/in2.cache" -f "$tmp/in2.conf" \
		>"$tmp/in.$1.out" 2>&1 &
	inpid=$!
	extra_pids+=("$inpid")
}

if command -v inadyn >/dev/null; then
	echo "# $(dpkg-query -W -f '${Package} ${Version}' inadyn 2>/dev/null || inadyn -v)"
	ic=$tmp/in1.conf
	inconf "$ic" 60 in1.dyn.test "${TK[in1]}"
	q in1.dyn.test A >/dev/null
	inrun one "$ic" "$tmp/in1.cache"
	check "inadyn -1: asks /nic/checkip, sends hostname and myip, success (exit 0)" insaid one 0 \
		'checkip server for my public IP#: GET /nic/checkip HTTP' 'GET /nic/update\?hostname=in1\.dyn\.test&myip=127\.0\.0\.1 HTTP/1\.0' \
		'good 127\.0\.0\.1' 'Successful alias table update for in1\.dyn\.test'
	check "... dig sees A 127.0.0.1 within 5 s" within 5 a4 in1.dyn.test 127.0.0.1
	check "... audited with inadyn's User-Agent" audited in1.dyn.test "token:${ID[in1]}" \
		'inadyn/2.10.0 https://github.com/troglobit/inadyn/issues'

	settle
	before=$(marks)
	inrun again "$ic" "$tmp/in1.cache"
	check "inadyn again: no change seen, nothing sent (exit 0)" insaid again 0 'No IP# change detected'
	check "... no update request" bash -c "! grep -aq 'GET /nic/update' '$tmp/in.again.out'"
	inrun force "$ic" "$tmp/in1.cache" --force
	check "inadyn --force: nochg is a success (exit 0)" insaid force 0 \
		'GET /nic/update\?hostname=in1\.dyn\.test&myip=127\.0\.0\.1' 'nochg 127\.0\.0\.1' \
		'Successful alias table update for in1\.dyn\.test'
	sleep 0.3
	check "... nothing written" unchanged "$before"

	inconf "$ic" 60 in1.dyn.test "$(printf 'D%.0s' $(seq 43))"
	inrun bad "$ic" "$tmp/in1b.cache" --force
	check "inadyn -1, a wrong password: 401 badauth, an authentication failure (exit 50)" insaid bad 50 \
		'401 Unauthorized\] badauth' 'Authentication failure'

	# as a daemon with --continue-on-error it keeps running after badauth (it
	# does not try again by itself; SIGUSR1 forces an update)
	inconf "$tmp/in2.conf" 5 in2.dyn.test "$(printf 'E%.0s' $(seq 43))"
	indaemon daemon
	badauths() { [ "$(grep -ac '401 Unauthorized\] badauth' "$tmp/in.daemon.out")" -ge "$1" ]; }
	check "inadyn daemon -C, a wrong password: badauth" within 15 badauths 1
	check "... it said it ignores the error" grep -aq 'Error response from DDNS server, ignoring' "$tmp/in.daemon.out"
	sleep 6 # more than a period
	check "... still alive more than a period later" kill -0 "$inpid"
	kill -USR1 "$inpid" 2>/dev/null
	check "... a forced update (SIGUSR1): badauth again" within 15 badauths 2
	check "... still alive" kill -0 "$inpid"
	kill "$inpid" 2>/dev/null
	wait "$inpid" 2>/dev/null
	check "... in2 has no record" test "$(db4 in2.dyn.test)" = ""
	# the same daemon with the right token updates in2
	inconf "$tmp/in2.conf" 5 in2.dyn.test "${TK[in2]}"
	indaemon daemon2
	check "inadyn daemon, the right token: dig sees in2 at 127.0.0.1 within 15 s" within 15 a4 in2.dyn.test 127.0.0.1
	check "... still alive" kill -0 "$inpid"
	kill "$inpid" 2>/dev/null
	wait "$inpid" 2>/dev/null
	check "... no token of inadyn's in the access log" no_secret "$run/api.log"
else
	skip "inadyn: not installed (scripts/debian-packages.txt)"
fi

# ---- 5. abuse: a second ddns-api with small change limits --------------------------------

# (start_api: tests/harness/api-env.sh)
port2=$(free_port)
if start_api api2 "$port2" DDNS_API_NIC_CHANGE_RATE=1 DDNS_API_NIC_CHANGE_BURST=3 DDNS_API_NIC_ABUSE_COOLDOWN=10m; then
	base=http://127.0.0.1:$port2
	: >"$tmp/abuse.st"
	# abupd ADDR: an update of ab1 to ADDR; status and body noted
	abupd() {
		nic "/nic/update?hostname=ab1.dyn.test&myip=$1" -u "ab1.dyn.test:${TK[ab1]}"
		echo "$st $(tr '\n' '|' <"$tmp/body")" >>"$tmp/abuse.st"
	}
	abupd 192.0.2.100
	check "abuse instance (3 changes at once, 1 an hour): the 1st change is good" answered 200 'good 192.0.2.100'
	for i in 1 2 3 4 5 6 7 8; do abupd 192.0.2.100; done
	check "eight unchanged updates: nochg, not counted" answered 200 'nochg 192.0.2.100'
	check "... all eight" test "$(tail -n 8 "$tmp/abuse.st" | sort -u)" = '200 nochg 192.0.2.100|'
	abupd 192.0.2.101
	check "the 2nd change: good" answered 200 'good 192.0.2.101'
	abupd 192.0.2.102
	check "the 3rd change: good" answered 200 'good 192.0.2.102'
	check "... dig sees 192.0.2.102 within 5 s" within 5 a4 ab1.dyn.test 192.0.2.102
	abupd 192.0.2.103
	check "the 4th change: abuse (HTTP 200)" answered 200 abuse
	check "... not written" test "$(db4 ab1.dyn.test)" = 192.0.2.102
	check "... recorded in audit_log as nic.abuse by token:${ID[ab1]}" test \
		"$(sql "SELECT count(*) FROM audit_log WHERE action = 'nic.abuse' AND rtrim(domain_name, '.') = 'ab1.dyn.test' AND actor = 'token:${ID[ab1]}'")" -ge 1
	abupd 192.0.2.104
	check "during the cool-down (10m) another change: abuse" answered 200 abuse
	check "... still not written" test "$(db4 ab1.dyn.test)" = 192.0.2.102
	check "... dig still answers 192.0.2.102" a4 ab1.dyn.test 192.0.2.102
	abupd 192.0.2.102
	check "during the cool-down the current address is nochg, never abuse (forced updates)" \
		answered 200 'nochg 192.0.2.102'
	nic '/nic/update?hostname=ab2.dyn.test&myip=192.0.2.110' -u "ab2.dyn.test:${TK[ab2]}"
	check "another host of the same user is not affected: good" answered 200 'good 192.0.2.110'
	check "... dig sees ab2 within 5 s" within 5 a4 ab2.dyn.test 192.0.2.110
	check "no answer of the abuse run was a 429 or anything but 200" bash -c "! grep -v '^200 ' '$tmp/abuse.st'"
	base=http://$DDNS_API_LISTEN
else
	notok "a ddns-api with small abuse limits starts"
	sed 's/^/# /' "$tmp/api2.log" | tail -20
fi

# ---- 6. small address budgets: still never 429, valid credentials still served ------------

port3=$(free_port)
if start_api api3 "$port3" DDNS_API_ADDR_WRITE_RATE=1 DDNS_API_ADDR_WRITE_BURST=3 \
	DDNS_API_ADDR_READ_RATE=1 DDNS_API_ADDR_READ_BURST=3; then
	base=http://127.0.0.1:$port3
	# burst ADDR N CURL_ARGS...: N updates of a2 (unchanged) from ADDR, the answers on one line
	burst() {
		local addr=$1 count=$2 i out=""
		shift 2
		for i in $(seq "$count"); do
			nic '/nic/update?hostname=a2.dyn.test&myip=192.0.2.23' --interface "$addr" "$@"
			out="$out $st:$(tr '\n' '|' <"$tmp/body")"
		done
		echo "$out"
	}
	# same GOT WANT: two answer lines are equal
	same() {
		[ "$1" = "$2" ] || {
			echo "got: $1"
			echo "want:$2"
			return 1
		}
	}
	nochg8=$(printf ' 200:nochg 192.0.2.23|%.0s' $(seq 8))
	check "instance with an address budget of 3: 8 quick unchanged JWT updates, all 200 nochg" \
		same "$(burst 127.0.0.3 8 -H "Authorization: Bearer $(TA)")" "$nochg8"
	check "... 8 quick unchanged updates with a token: all 200 nochg" \
		same "$(burst 127.0.0.4 8 -u "a2.dyn.test:${TK[a2]}")" "$nochg8"
	check "... 8 quick wrong tokens: 401 badauth each time, never 429" \
		same "$(burst 127.0.0.5 8 -u "a2.dyn.test:$(printf 'F%.0s' $(seq 43))")" "$(printf ' 401:badauth|%.0s' $(seq 8))"
	base=http://$DDNS_API_LISTEN
else
	notok "a ddns-api with small address budgets starts"
	sed 's/^/# /' "$tmp/api3.log" | tail -20
fi

# ---- 7. POST -----------------------------------------------------------------------------
# (last of the stack's ddns-api: a POST once crashed it, and took every later check along)

check "POST with the parameters in the query: good 192.0.2.5" \
	upd 'hostname=a1.dyn.test&myip=192.0.2.5' -X POST -u "a1.dyn.test:$T1" -- 'good 192.0.2.5'
check "... dig sees 192.0.2.5 within 5 s" within 5 a4 a1.dyn.test 192.0.2.5
check "POST with a form body: good 192.0.2.4" \
	form_post 'hostname=a1.dyn.test&myip=192.0.2.4' -u "a1.dyn.test:$T1" -- 'good 192.0.2.4'
check "... dig sees 192.0.2.4 within 5 s" within 5 a4 a1.dyn.test 192.0.2.4
check "POST with a form body, credentials in it too: nochg 192.0.2.4" \
	form_post "hostname=a1.dyn.test&myip=192.0.2.4&username=a1.dyn.test&password=$T1" -- 'nochg 192.0.2.4'

# ---- end ------------------------------------------------------------------------------------

check "no sanitizer report in any ddns-api log" api_logs_clean
check "no update token in any ddns-api log" no_secret "$run"/api.log "$tmp"/api*.log
check "the stack's ddns-api still runs" pid_alive "$run/api.pid"

echo "# runtime $(($(date +%s) - t_start)) s"
echo "1..$n"
exit "$failed"

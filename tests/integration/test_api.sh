#!/usr/bin/env bash
# ddns-api end to end: the stack (PostgreSQL, Redis, ddns-cache, ddns-backend,
# PowerDNS, ddns-api) on free loopback ports, users and keys written into
# PostgreSQL, tokens signed by tests/tools/jwt-sign, requests made with curl,
# answers checked for their exact status and error code, DNS checked with dig.
# Extra ddns-api instances (other ports, other settings) cover the key
# revocation event, a lost stream and the rate limits. Prints TAP.
# Usage: test_api.sh BUILDDIR   (env DDNS_TEST_JWT_SIGN: the jwt-sign binary)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
. "$root/tests/harness/tap.sh"
. "$root/tests/harness/stack-env.sh"

stack_env api "${1:?usage: $0 BUILDDIR}"
# users, keys, tokens, redis_cli, start_api
. "$root/tests/harness/api-env.sh"
trap api_cleanup EXIT
# the main instance: short key cache, small limits, generous rates
api_generous_rates
export DDNS_API_KEY_CACHE_TTL=2s DDNS_API_KEY_CACHE_NEGATIVE_TTL=1s
export DDNS_API_DOMAIN_QUOTA=3 DDNS_API_RECORD_LIMIT=10

# ---- HTTP -------------------------------------------------------------------

base=http://$DDNS_API_LISTEN
. "$root/tests/harness/http.sh"

# ---- tokens (token: tests/harness/api-env.sh) --------------------------------

b64url() {
	base64 -w0 | tr '+/' '-_' | tr -d '='
}

# payload of a token, decoded
claims() {
	local p
	p=$(cut -d. -f2 <<<"$1" | tr -- '-_' '+/')
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	base64 -d <<<"$p"
}

# ---- DNS --------------------------------------------------------------------

# q and has: tests/harness/stack-env.sh
S='[[:space:]]+'

# ---- start ------------------------------------------------------------------

t_start=$(date +%s)
stack_start
make_keys ec:ec1 ec:ec2 rsa:rsa1
ec1=$keys/ec1.key.pem
ec2=$keys/ec2.key.pem
rsa1=$keys/rsa1.key.pem

ua=$(user alice)
ub=$(user bob)
uc=$(user carol)
ud=$(user dave)
ue=$(user erin)
uq=$(user quentin)
add_key ka "$ua" ES256 ec1
add_key ka-rsa "$ua" RS256 rsa1
add_key kb "$ub" ES256 ec2
add_key kc "$uc" ES256 ec1
add_key kd "$ud" ES256 ec1
add_key ke "$ue" ES256 ec1
add_key kq "$uq" ES256 ec1
add_key krev "$ua" ES256 ec1
add_key krev2 "$ua" ES256 ec1
n_users=$(sql "SELECT count(*) FROM users")

TA=$(token "$ec1" ka "$ua" "$all_scopes")
TB=$(token "$ec2" kb "$ub" "$all_scopes")
TD=$(token "$ec1" kd "$ud" "$all_scopes")
TE=$(token "$ec1" ke "$ue" "$all_scopes")
TQ=$(token "$ec1" kq "$uq" "$all_scopes")

# ---- 1. tokens ----------------------------------------------------------------

TOK=$TA
expect "ES256 key: 200" 200 "" GET /api/v1/domains
TOK=$(token "$rsa1" ka-rsa "$ua" "$all_scopes")
expect "RS256 key: 200" 200 "" GET /api/v1/domains

TOK=$(token "$ec1" ka "$ua" "$all_scopes" --iat-offset -100 --exp-in -31)
expect "expired 31 s ago (beyond the 30 s skew): 401 invalid_token" 401 invalid_token GET /api/v1/domains
check "401 carries WWW-Authenticate: Bearer ... error=\"invalid_token\"" \
	grep -Eiq '^WWW-Authenticate: Bearer .*error="invalid_token"' "$tmp/hdr"
TOK=$(token "$ec1" ka "$ua" "$all_scopes" --iat-offset -100 --exp-in -29)
expect "expired 29 s ago (within the skew): 200" 200 "" GET /api/v1/domains

# unknown kid and bad signature: the same bytes
TOK=$(token "$ec1" no-such-kid "$ua" "$all_scopes")
expect "unknown kid: 401 invalid_token" 401 invalid_token GET /api/v1/domains
cp "$tmp/body" "$tmp/body.unknown"
TOK=$(token "$ec2" ka "$ua" "$all_scopes") # ka is ec1's: the signature is wrong
expect "bad signature: 401 invalid_token" 401 invalid_token GET /api/v1/domains
check "unknown kid and bad signature answer byte-identical bodies" cmp "$tmp/body.unknown" "$tmp/body"

TOK=
expect "no Authorization header: 401 invalid_token" 401 invalid_token GET /api/v1/domains
check "missing token: WWW-Authenticate: Bearer error=\"invalid_token\"" \
	grep -Eiq '^WWW-Authenticate: Bearer error="invalid_token"' "$tmp/hdr"
TOK=$(token "$ec1" ka "$ua" "dns:read")
expect "token without dns:write: 403 insufficient_scope" 403 insufficient_scope \
	POST /api/v1/dns-records '{"name":"x.nothing.dyn.test","type":"A","content":"192.0.2.1"}'
check "403 carries error=\"insufficient_scope\"" grep -Eiq '^WWW-Authenticate: Bearer .*error="insufficient_scope"' "$tmp/hdr"

now=$(date +%s)
hdr_none=$(printf '{"alg":"none","typ":"JWT","kid":"ka"}' | b64url)
pl=$(printf '{"sub":"%s","aud":"ddns","jti":"none1","scope":"%s","iat":%d,"exp":%d}' "$ua" "$all_scopes" "$now" $((now + 300)) | b64url)
TOK="$hdr_none.$pl."
expect "alg none: 401 invalid_token" 401 invalid_token GET /api/v1/domains
TOK=$("$jwtsign" hs256 "$keys/ec1.pub.pem" ka "{\"sub\":\"$ua\",\"aud\":\"ddns\",\"jti\":\"hs1\",\"scope\":\"$all_scopes\",\"iat\":$now,\"exp\":$((now + 300))}")
expect "HS256 keyed with the public key's PEM: 401 invalid_token" 401 invalid_token GET /api/v1/domains
TOK=$("$jwtsign" hs256 "$keys/ec1.jwk.json" ka "{\"sub\":\"$ua\",\"aud\":\"ddns\",\"jti\":\"hs2\",\"scope\":\"$all_scopes\",\"iat\":$now,\"exp\":$((now + 300))}")
expect "HS256 keyed with the public JWK: 401 invalid_token" 401 invalid_token GET /api/v1/domains

TOK=$(token "$ec1" ka "$ub" "$all_scopes")
expect "A's key signing a token for B's sub (impersonation): 401 invalid_token" 401 invalid_token GET /api/v1/domains
TOK=$("$jwtsign" sign --iat-offset 0 --exp-in 300 "$ec1" ka "{\"sub\":\"$ua\",\"aud\":\"other\",\"jti\":\"aud1\",\"scope\":\"dns:read\"}")
expect "another audience: 401 invalid_token" 401 invalid_token GET /api/v1/domains
TOK=$(token "$ec1" ka "$ua" "$all_scopes" --exp-in 3600)
expect "a lifetime over the 5 min maximum: 401 invalid_token" 401 invalid_token GET /api/v1/domains
TOK=$("$jwtsign" sign --exp-in 300 "$ec1" ka "{\"sub\":\"$ua\",\"aud\":\"ddns\",\"jti\":\"noiat\",\"scope\":\"dns:read\"}")
expect "no iat: 401 invalid_token" 401 invalid_token GET /api/v1/domains
TOK=$(token "$ec1" ka "$ua" "$all_scopes" --alg RS256)
expect "an EC signature labelled RS256: 401 invalid_token" 401 invalid_token GET /api/v1/domains
TOK=garbage
expect "a token that is not a JWT: 401 invalid_token" 401 invalid_token GET /api/v1/domains

# revoked jti: that token only
T1=$(token "$ec1" ka "$ua" "$all_scopes")
T2=$(token "$ec1" ka "$ua" "$all_scopes")
jti1=$(claims "$T1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jti"])')
exp1=$(claims "$T1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["exp"])')
TOK=$T1
expect "revoke a token's jti: 204" 204 "" POST /api/v1/tokens/revoke "{\"jti\":\"$jti1\",\"exp\":$exp1}"
expect "the revoked token: 401 invalid_token" 401 invalid_token GET /api/v1/domains
TOK=$T2
expect "another token of the same user still works" 200 "" GET /api/v1/domains

# revoked key, no event: gone within the key cache TTL (2 s)
TOK=$(token "$ec1" krev "$ua" "$all_scopes")
expect "key krev works before its revocation" 200 "" GET /api/v1/domains
sql "UPDATE api_keys SET revoked_at = now() WHERE kid = 'krev'"
t0=$(date +%s%N)
key_dead() {
	http GET /api/v1/domains
	is 401 invalid_token
}
if within 3 key_dead >"$tmp/out" 2>&1; then
	ok "revoked key without the event: refused within the cache TTL ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
	notok "revoked key without the event: refused within the cache TTL"
	sed 's/^/# /' "$tmp/out"
fi

TOK=$T2
expect "revoking with an exp in the past: 204 (nothing to keep)" 204 "" POST /api/v1/tokens/revoke "{\"jti\":\"old\",\"exp\":$(($(date +%s) - 3600))}"
expect "revoking with an exp too far ahead: 400 invalid_field" 400 invalid_field POST /api/v1/tokens/revoke "{\"jti\":\"far\",\"exp\":$(($(date +%s) + 86400))}"

# a disabled user's key stops working within the cache TTL
TOK=$TQ
expect "user Q's key works" 200 "" GET /api/v1/domains
sql "UPDATE users SET status = 'disabled' WHERE id = $uq"
if within 3 key_dead >"$tmp/out" 2>&1; then
	ok "a disabled user's key: refused within the cache TTL"
else
	notok "a disabled user's key: refused within the cache TTL"
	sed 's/^/# /' "$tmp/out"
fi
sql "UPDATE users SET status = 'active' WHERE id = $uq"
check "enabled again: the key works once the negative cache (1 s) expires" within 3 bash -c \
	"[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TQ' $base/api/v1/domains)\" = 200 ]"

# platform session tokens: any user, audited as session:platform
TOK=$(token "$run/platform.key.pem" platform "$ud" "$all_scopes")
expect "platform session token: claim a domain for user D" 201 "" POST /api/v1/domains '{"name":"dave.dyn.test"}'
check "the audit log names the actor session:platform" \
	test "$(sql "SELECT actor FROM audit_log WHERE user_id = $ud ORDER BY id DESC LIMIT 1")" = session:platform
TOK=$(token "$run/platform.key.pem" platform "$ub" "dns:read")
expect "platform session token for another user: 200" 200 "" GET /api/v1/domains
TOK=$TD
expect "a key's write is audited as key:<kid>" 201 "" POST /api/v1/dns-records '{"name":"dave.dyn.test","type":"A","content":"192.0.2.4"}'
check "the audit log names the actor key:kd" \
	test "$(sql "SELECT actor FROM audit_log WHERE user_id = $ud ORDER BY id DESC LIMIT 1")" = key:kd

# ---- 2. ownership: another user's data is not found -------------------------

TOK=$TA
expect "A claims alpha.dyn.test" 201 "" POST /api/v1/domains '{"name":"alpha.dyn.test"}'
check "the claim answers the absolute name" test "$(j 'd["name"]')" = alpha.dyn.test.
expect "A adds an A record to alpha" 201 "" POST /api/v1/dns-records '{"name":"alpha.dyn.test","type":"A","content":"192.0.2.1"}'
ra=$(j 'd["id"]')
check "default ttl is 60" test "$(j 'd["ttl"]')" = 60
check "Location names the record" grep -Eiq "^Location: /api/v1/dns-records/$ra" "$tmp/hdr"

TOK=$TB
expect "B: GET A's domain: 404 not_found" 404 not_found GET /api/v1/domains/alpha.dyn.test
expect "B: history of A's domain: 404 not_found" 404 not_found GET /api/v1/domains/alpha.dyn.test/history
expect "B: DELETE A's domain: 404 not_found" 404 not_found DELETE /api/v1/domains/alpha.dyn.test
expect "B: GET A's record: 404 not_found" 404 not_found GET "/api/v1/dns-records/$ra"
expect "B: PUT A's record: 404 not_found" 404 not_found PUT "/api/v1/dns-records/$ra" '{"name":"alpha.dyn.test","type":"A","content":"192.0.2.66"}'
expect "B: PATCH A's record: 404 not_found" 404 not_found PATCH "/api/v1/dns-records/$ra" '{"ttl":300}'
expect "B: DELETE A's record: 404 not_found" 404 not_found DELETE "/api/v1/dns-records/$ra"
expect "B: create a record under A's domain: 404 not_found" 404 not_found POST /api/v1/dns-records '{"name":"evil.alpha.dyn.test","type":"A","content":"192.0.2.66"}'
expect "B: rrsets of A's domain: 404 not_found" 404 not_found PUT /api/v1/domains/alpha.dyn.test/rrsets '{"rrsets":[{"name":"alpha.dyn.test","type":"A","records":["192.0.2.66"]}]}'
expect "B: a record list filtered to A's domain is empty" 200 "" GET '/api/v1/dns-records?domain=alpha.dyn.test'
check "B sees none of A's records" test "$(j 'len(d["items"])')" = 0
check "A's record is unchanged after B's attempts" \
	test "$(sql "SELECT content || ' ' || ttl FROM records WHERE id = $ra")" = "192.0.2.1 60"
expect "B cannot claim A's name: 409 name_taken" 409 name_taken POST /api/v1/domains '{"name":"alpha.dyn.test"}'
expect "B cannot claim A's name in another case: 409 name_taken" 409 name_taken POST /api/v1/domains '{"name":"ALPHA.Dyn.Test."}'

TOK=$TA
expect "A claims swap.dyn.test" 201 "" POST /api/v1/domains '{"name":"swap.dyn.test"}'
expect "A adds a record to swap" 201 "" POST /api/v1/dns-records '{"name":"swap.dyn.test","type":"TXT","content":"\"alice was here\""}'
expect "A releases swap: 204" 204 "" DELETE /api/v1/domains/swap.dyn.test
TOK=$TB
expect "B claims the released name" 201 "" POST /api/v1/domains '{"name":"Swap.dyn.test"}'
expect "B reads its history" 200 "" GET /api/v1/domains/swap.dyn.test/history
check "B's history holds only B's claim, none of A's entries" \
	test "$(j '",".join(i["action"] + "/" + i["actor"] for i in d["items"])')" = "domain.claim/key:kb"
expect "B's new domain has no records" 200 "" GET /api/v1/domains/swap.dyn.test
check "record_count 0" test "$(j 'd["record_count"]')" = 0

TOK=$TA
expect "an unknown path: 404 not_found" 404 not_found GET /api/v1/nothing
expect "a method the path does not have: 405 method_not_allowed" 405 method_not_allowed PATCH /api/v1/domains '{}'
check "... with an Allow header" grep -Eiq '^Allow: .*GET' "$tmp/hdr"
expect "a record id beyond 64 bits: 404 not_found" 404 not_found GET /api/v1/dns-records/99999999999999999999
expect "a record id that is not a number: 404 not_found" 404 not_found GET /api/v1/dns-records/1x
check "HEAD is served like GET, without a body" test "$(curl -s -I -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TA" "$base/api/v1/domains/alpha.dyn.test")" = 200

# ---- 3. domains ---------------------------------------------------------------

TOK=$TQ
for i in 1 2 3; do
	expect "quota: claim $i of 3" 201 "" POST /api/v1/domains "{\"name\":\"quota$i.dyn.test\"}"
done
expect "quota: the 4th claim: 409 quota_exceeded" 409 quota_exceeded POST /api/v1/domains '{"name":"quota4.dyn.test"}'
expect "quota: released one, the claim passes again" 204 "" DELETE /api/v1/domains/quota3.dyn.test
expect "quota: claim after the release" 201 "" POST /api/v1/domains '{"name":"quota4.dyn.test"}'

TOK=$TD
expect "reserved label www: 409 name_reserved" 409 name_reserved POST /api/v1/domains '{"name":"www.dyn.test"}'
expect "reserved label in upper case: 409 name_reserved" 409 name_reserved POST /api/v1/domains '{"name":"WWW.dyn.test"}'
expect "operator name ns1.dyn.test: 409 name_reserved" 409 name_reserved POST /api/v1/domains '{"name":"ns1.dyn.test"}'
sql "INSERT INTO records (zone_id, name, type, content) SELECT id, 'glue.op1.dyn.test.', 'A', '192.0.2.53' FROM zones WHERE name = 'dyn.test.'"
expect "a name the operator uses (glue below it, not on the reserved list): 409 name_reserved" 409 name_reserved POST /api/v1/domains '{"name":"op1.dyn.test"}'
expect "a name under no base zone: 404 zone_not_found" 404 zone_not_found POST /api/v1/domains '{"name":"alice.example.org"}'
expect "a base zone itself: 404 zone_not_found" 404 zone_not_found POST /api/v1/domains '{"name":"dyn.test"}'
expect "two labels below the zone: 400 invalid_name" 400 invalid_name POST /api/v1/domains '{"name":"a.b.dyn.test"}'
check "two labels below the zone: nothing claimed" \
	test "$(sql "SELECT count(*) FROM domains WHERE name LIKE '%b.dyn.test.'")" = 0
expect "underscore: 400 invalid_name" 400 invalid_name POST /api/v1/domains '{"name":"a_b.dyn.test"}'
expect "leading hyphen: 400 invalid_name" 400 invalid_name POST /api/v1/domains '{"name":"-ab.dyn.test"}'
l64=$(printf 'a%.0s' $(seq 1 64))
expect "64-character label: 400 invalid_name" 400 invalid_name POST /api/v1/domains "{\"name\":\"$l64.dyn.test\"}"
expect "63-character label: 201" 201 "" POST /api/v1/domains "{\"name\":\"${l64:1}.dyn.test\"}"
expect "empty label: 400 invalid_name" 400 invalid_name POST /api/v1/domains '{"name":"a..dyn.test"}'

# delete removes the records (dig NXDOMAIN afterwards)
expect "gone: add a record to dave.dyn.test" 201 "" POST /api/v1/dns-records '{"name":"sub.dave.dyn.test","type":"A","content":"192.0.2.44"}'
check "gone: dig sees it within 2 s" within 2 has sub.dave.dyn.test A "IN${S}A${S}192.0.2.44"
expect "release dave.dyn.test: 204" 204 "" DELETE /api/v1/domains/dave.dyn.test
check "released: its records are gone from PostgreSQL" \
	test "$(sql "SELECT count(*) FROM records WHERE name LIKE '%dave.dyn.test.'")" = 0
check "released: dig answers NXDOMAIN within 2 s" within 2 has sub.dave.dyn.test A 'status: NXDOMAIN'
check "released: the apex too" within 2 has dave.dyn.test A 'status: NXDOMAIN'
expect "released: GET answers 404 not_found" 404 not_found GET /api/v1/domains/dave.dyn.test

# ---- 4. records ---------------------------------------------------------------

TOK=$TA
# each type, then dig sees it (alpha already holds its A record)
rec() { # rec DESC NAME TYPE CONTENT [TTL]
	local body
	body=$(python3 -c 'import json,sys; d={"name":sys.argv[1],"type":sys.argv[2],"content":sys.argv[3]}
if len(sys.argv) > 4: d["ttl"] = int(sys.argv[4])
print(json.dumps(d))' "${@:2}")
	expect "$1" 201 "" POST /api/v1/dns-records "$body"
}
rec "create AAAA" alpha.dyn.test AAAA 2001:db8::1
rec "create CNAME" www.alpha.dyn.test CNAME alpha.dyn.test.
rec "create MX" alpha.dyn.test MX '10 mail.alpha.dyn.test.' 300
rec "create TXT" alpha.dyn.test TXT '"v=spf1 -all"'
rec "create SRV" _sip._tcp.alpha.dyn.test SRV '10 5 5060 alpha.dyn.test.'
rec "create CAA" alpha.dyn.test CAA '0 issue "letsencrypt.org"'
check "dig: A" within 2 has alpha.dyn.test A "alpha.dyn.test.${S}60${S}IN${S}A${S}192.0.2.1"
check "dig: AAAA" within 2 has alpha.dyn.test AAAA "IN${S}AAAA${S}2001:db8::1"
check "dig: CNAME" within 2 has www.alpha.dyn.test A "IN${S}CNAME${S}alpha.dyn.test."
check "dig: MX, ttl 300" within 2 has alpha.dyn.test MX "300${S}IN${S}MX${S}10 mail.alpha.dyn.test."
check "dig: TXT" within 2 has alpha.dyn.test TXT "IN${S}TXT${S}\"v=spf1 -all\""
check "dig: SRV" within 2 has _sip._tcp.alpha.dyn.test SRV "IN${S}SRV${S}10 5 5060 alpha.dyn.test."
check "dig: CAA" within 2 has alpha.dyn.test CAA "IN${S}CAA${S}0 issue \"letsencrypt.org\""

expect "NS: 400 type_not_allowed" 400 type_not_allowed POST /api/v1/dns-records '{"name":"x.alpha.dyn.test","type":"NS","content":"ns.example.org."}'
expect "SOA: 400 type_not_allowed" 400 type_not_allowed POST /api/v1/dns-records '{"name":"alpha.dyn.test","type":"SOA","content":"ns1.dyn.test. hostmaster.dyn.test. 1 10800 3600 604800 60"}'
expect "ttl 59: 400 invalid_ttl" 400 invalid_ttl POST /api/v1/dns-records '{"name":"t.alpha.dyn.test","type":"A","content":"192.0.2.9","ttl":59}'
expect "ttl 86401: 400 invalid_ttl" 400 invalid_ttl POST /api/v1/dns-records '{"name":"t.alpha.dyn.test","type":"A","content":"192.0.2.9","ttl":86401}'
expect "A next to a CNAME: 409 cname_conflict" 409 cname_conflict POST /api/v1/dns-records '{"name":"www.alpha.dyn.test","type":"A","content":"192.0.2.9"}'
expect "CNAME next to an A: 409 cname_conflict" 409 cname_conflict POST /api/v1/dns-records '{"name":"alpha.dyn.test","type":"CNAME","content":"other.dyn.test."}'
expect "a second CNAME: 409 cname_conflict" 409 cname_conflict POST /api/v1/dns-records '{"name":"www.alpha.dyn.test","type":"CNAME","content":"other.dyn.test."}'
expect "duplicate record: 409 record_exists" 409 record_exists POST /api/v1/dns-records '{"name":"alpha.dyn.test","type":"A","content":"192.0.2.1"}'
expect "duplicate in another spelling (case, final dot): 409 record_exists" 409 record_exists POST /api/v1/dns-records '{"name":"ALPHA.dyn.test.","type":"a","content":"192.0.2.1"}'
check "alpha holds 7 records" test "$(sql "SELECT count(*) FROM records r JOIN domains d ON d.id = r.domain_id WHERE d.name = 'alpha.dyn.test.'")" = 7

# record limit (10) on a fresh domain
expect "A claims lim.dyn.test" 201 "" POST /api/v1/domains '{"name":"lim.dyn.test"}'
for i in $(seq 1 10); do
	http POST /api/v1/dns-records "{\"name\":\"h$i.lim.dyn.test\",\"type\":\"A\",\"content\":\"192.0.2.$i\"}"
	[ "$st" = 201 ] || echo "record $i: $st $(cat "$tmp/body")" >>"$tmp/lim.err"
done
check "10 records fit" test ! -s "$tmp/lim.err"
expect "the 11th record: 409 record_limit" 409 record_limit POST /api/v1/dns-records '{"name":"h11.lim.dyn.test","type":"A","content":"192.0.2.11"}'

# a failing rrsets request changes nothing at all
counts() {
	sql "SELECT (SELECT count(*) FROM records) || ' ' || (SELECT count(*) FROM audit_log) || ' ' ||
	            (SELECT count(*) FROM changes) || ' ' ||
	            (SELECT string_agg(name || type || content || ttl, ',' ORDER BY id) FROM records)"
}
before=$(counts)
expect "rrsets over the record limit: 409 record_limit" 409 record_limit PUT /api/v1/domains/lim.dyn.test/rrsets \
	'{"rrsets":[{"name":"h1.lim.dyn.test","type":"A","ttl":120,"records":["192.0.2.1"]},{"name":"new.lim.dyn.test","type":"A","records":["192.0.2.50"]}]}'
check "the failed rrsets request changed nothing (records, audit, changes)" test "$(counts)" = "$before"
expect "rrsets with a bad second set: 400 invalid_content" 400 invalid_content PUT /api/v1/domains/lim.dyn.test/rrsets \
	'{"rrsets":[{"name":"h1.lim.dyn.test","type":"A","records":[]},{"name":"h2.lim.dyn.test","type":"A","records":["300.1.1.1"]}]}'
check "... and changed nothing" test "$(counts)" = "$before"
expect "rrsets giving an A set to a CNAME name: 409 cname_conflict" 409 cname_conflict PUT /api/v1/domains/alpha.dyn.test/rrsets \
	'{"rrsets":[{"name":"alpha.dyn.test","type":"AAAA","records":[]},{"name":"www.alpha.dyn.test","type":"A","records":["192.0.2.7"]}]}'
check "... and changed nothing" test "$(counts)" = "$before"

# pagination: every record of A exactly once
all_ids=$(sql "SELECT string_agg(r.id::text, ' ' ORDER BY r.id) FROM records r JOIN domains d ON d.id = r.domain_id WHERE d.user_id = $ua")
walk() {
	local cur="" seen="" pages=0 ids
	while :; do
		http GET "/api/v1/dns-records?limit=4${cur:+&cursor=$cur}"
		[ "$st" = 200 ] || { echo "page: $st $(cat "$tmp/body")"; return 1; }
		ids=$(j '" ".join(str(i["id"]) for i in d["items"])')
		seen="$seen $ids"
		pages=$((pages + 1))
		cur=$(j 'd["next_cursor"] or ""')
		[ -n "$cur" ] || break
		[ $pages -lt 20 ] || { echo "too many pages"; return 1; }
	done
	seen=$(echo $seen)
	[ "$seen" = "$all_ids" ] || { echo "seen: $seen"; echo "want: $all_ids"; return 1; }
	[ $pages = $(((${#all_ids} > 0 ? $(wc -w <<<"$all_ids") + 3 : 0) / 4)) ] || { echo "pages: $pages"; return 1; }
}
check "pagination (limit 4, cursor) walks all $(wc -w <<<"$all_ids") records exactly once" walk
expect "a cursor that is not one: 400 invalid_field" 400 invalid_field GET '/api/v1/dns-records?cursor=abc'
expect "limit 0: 400 invalid_field" 400 invalid_field GET '/api/v1/dns-records?limit=0'
expect "filter by name and type" 200 "" GET '/api/v1/dns-records?name=ALPHA.dyn.test&type=aaaa'
check "... finds the AAAA record only" test "$(j '[(i["name"], i["type"]) for i in d["items"]]')" = '[["alpha.dyn.test.", "AAAA"]]'

# PATCH ttl only
expect "PATCH ttl only: 200" 200 "" PATCH "/api/v1/dns-records/$ra" '{"ttl":120}'
check "... the ttl changed, nothing else" test "$(j '[d["name"], d["type"], d["content"], d["ttl"]]')" = '["alpha.dyn.test.", "A", "192.0.2.1", 120]'
check "dig sees ttl 120 within 2 s" within 2 has alpha.dyn.test A "alpha.dyn.test.${S}120${S}IN${S}A${S}192.0.2.1"
expect "PATCH type without content: 400 invalid_field" 400 invalid_field PATCH "/api/v1/dns-records/$ra" '{"type":"AAAA"}'
expect "PATCH of nothing: 400 invalid_field" 400 invalid_field PATCH "/api/v1/dns-records/$ra" '{}'

expect "PATCH a record onto another's name, type and content: 409 record_exists" 409 record_exists PATCH "/api/v1/dns-records/$ra" '{"type":"TXT","content":"\"v=spf1 -all\""}'
expect "PATCH an A record into a CNAME next to other data: 409 cname_conflict" 409 cname_conflict PATCH "/api/v1/dns-records/$ra" '{"type":"CNAME","content":"x.dyn.test."}'

# PUT moves a record to another of the caller's domains
expect "A releases lim.dyn.test (its 10 records with it)" 204 "" DELETE /api/v1/domains/lim.dyn.test
expect "A claims beta.dyn.test" 201 "" POST /api/v1/domains '{"name":"beta.dyn.test"}'
expect "A adds a TXT record to alpha" 201 "" POST /api/v1/dns-records '{"name":"mv.alpha.dyn.test","type":"TXT","content":"\"moving\""}'
rmv=$(j 'd["id"]')
expect "PUT moves it to beta: 200" 200 "" PUT "/api/v1/dns-records/$rmv" '{"name":"mv.beta.dyn.test","type":"TXT","content":"\"moved\"","ttl":90}'
check "... its domain is beta now" test "$(j 'd["domain"]')" = beta.dyn.test.
check "... in PostgreSQL too" test "$(sql "SELECT d.name FROM records r JOIN domains d ON d.id = r.domain_id WHERE r.id = $rmv")" = beta.dyn.test.
check "dig: the new name answers within 2 s" within 2 has mv.beta.dyn.test TXT "90${S}IN${S}TXT${S}\"moved\""
check "dig: the old name is gone within 2 s" within 2 has mv.alpha.dyn.test TXT 'status: NXDOMAIN'
expect "PUT to a name of nobody's domain: 404 not_found" 404 not_found PUT "/api/v1/dns-records/$rmv" '{"name":"mv.nobody.dyn.test","type":"TXT","content":"\"x\""}'

# rrsets: A + AAAA replaced at once; the same again changes nothing
expect "beta: initial A and AAAA" 200 "" PUT /api/v1/domains/beta.dyn.test/rrsets \
	'{"rrsets":[{"name":"beta.dyn.test","type":"A","records":["192.0.2.20","192.0.2.21"]},{"name":"beta.dyn.test","type":"AAAA","records":["2001:db8::20"]}]}'
check "... changed: true" test "$(j 'd["changed"]')" = true
rr_body='{"rrsets":[{"name":"beta.dyn.test","type":"A","ttl":300,"records":["192.0.2.22"]},{"name":"beta.dyn.test","type":"AAAA","ttl":300,"records":["2001:db8::22","2001:db8::23"]}]}'
expect "beta: A and AAAA replaced" 200 "" PUT /api/v1/domains/beta.dyn.test/rrsets "$rr_body"
check "... changed: true, the new sets" test "$(j '[d["changed"], [(s["type"], s["ttl"], s["records"]) for s in d["rrsets"]]]')" = \
	'[true, [["A", 300, ["192.0.2.22"]], ["AAAA", 300, ["2001:db8::22", "2001:db8::23"]]]]'
check "the A set in PostgreSQL is exactly the new one" \
	test "$(sql "SELECT string_agg(type || ' ' || content || ' ' || ttl, ',' ORDER BY type, content) FROM records WHERE name = 'beta.dyn.test.'")" = \
	"A 192.0.2.22 300,AAAA 2001:db8::22 300,AAAA 2001:db8::23 300"
check "dig: the new A set within 2 s" within 2 has beta.dyn.test A "300${S}IN${S}A${S}192.0.2.22"
check "dig: no old A address" bash -c "! dig +short +norecurse @127.0.0.1 -p $DDNS_DNS_PORT beta.dyn.test A | grep -q 192.0.2.2[01]"
audit0=$(sql "SELECT count(*) FROM audit_log")
changes0=$(sql "SELECT count(*) FROM changes")
expect "the same rrsets again: 200" 200 "" PUT /api/v1/domains/beta.dyn.test/rrsets "$rr_body"
check "... changed: false" test "$(j 'd["changed"]')" = false
check "... no audit row" test "$(sql "SELECT count(*) FROM audit_log")" = "$audit0"
check "... no changes row" test "$(sql "SELECT count(*) FROM changes")" = "$changes0"
# a changed address (the dynamic DNS case) is one UPDATE: the row keeps its id,
# one changes row, one audit row
a_id=$(sql "SELECT id FROM records WHERE name = 'beta.dyn.test.' AND type = 'A'")
changes0=$(sql "SELECT count(*) FROM changes")
expect "beta: the A address changes" 200 "" PUT /api/v1/domains/beta.dyn.test/rrsets \
	'{"rrsets":[{"name":"beta.dyn.test","type":"A","ttl":300,"records":["192.0.2.24"]}]}'
check "... the record is rewritten in place (same id)" \
	test "$(sql "SELECT id || ' ' || content FROM records WHERE name = 'beta.dyn.test.' AND type = 'A'")" = "$a_id 192.0.2.24"
check "... one changes row" test "$(sql "SELECT count(*) FROM changes")" = "$((changes0 + 1))"
check "... one audit row" test "$(sql "SELECT count(*) FROM audit_log")" = "$((audit0 + 1))"
check "dig: the changed address within 2 s" within 2 has beta.dyn.test A "300${S}IN${S}A${S}192.0.2.24"
expect "rrsets: an A set gives way to a CNAME in one request" 200 "" PUT /api/v1/domains/beta.dyn.test/rrsets \
	'{"rrsets":[{"name":"c.beta.dyn.test","type":"A","records":[]},{"name":"c.beta.dyn.test","type":"CNAME","records":["beta.dyn.test."]}]}'
expect "rrsets: a name outside the domain: 400 invalid_name" 400 invalid_name PUT /api/v1/domains/beta.dyn.test/rrsets \
	'{"rrsets":[{"name":"alpha.dyn.test","type":"A","records":["192.0.2.1"]}]}'
expect "rrsets: two CNAMEs in a set: 409 cname_conflict" 409 cname_conflict PUT /api/v1/domains/beta.dyn.test/rrsets \
	'{"rrsets":[{"name":"d.beta.dyn.test","type":"CNAME","records":["a.dyn.test.","b.dyn.test."]}]}'
# ---- 5. hostile input ---------------------------------------------------------

TOK=$TA
sqli1="'; DROP TABLE records; --"
sqli2='" OR 1=1'
big=$(head -c 10240 /dev/zero | tr '\0' 'a')
jstr() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
for v in "$sqli1" "$sqli2" "$big"; do
	what=${v:0:12}
	[ ${#v} -gt 100 ] && what="10 KB"
	jv=$(jstr "$v")
	expect "record name [$what]: 400 invalid_name" 400 invalid_name POST /api/v1/dns-records "{\"name\":$jv,\"type\":\"A\",\"content\":\"192.0.2.1\"}"
	expect "record type [$what]: 400 invalid_type" 400 invalid_type POST /api/v1/dns-records "{\"name\":\"x.alpha.dyn.test\",\"type\":$jv,\"content\":\"192.0.2.1\"}"
	expect "A content [$what]: 400 invalid_content" 400 invalid_content POST /api/v1/dns-records "{\"name\":\"x.alpha.dyn.test\",\"type\":\"A\",\"content\":$jv}"
	expect "claimed name [$what]: 400 invalid_name" 400 invalid_name POST /api/v1/domains "{\"name\":$jv}"
	expect "rrset name [$what]: 400 invalid_name" 400 invalid_name PUT /api/v1/domains/beta.dyn.test/rrsets "{\"rrsets\":[{\"name\":$jv,\"type\":\"A\",\"records\":[\"192.0.2.1\"]}]}"
	expect "rrset record [$what]: 400 invalid_content" 400 invalid_content PUT /api/v1/domains/beta.dyn.test/rrsets "{\"rrsets\":[{\"name\":\"beta.dyn.test\",\"type\":\"A\",\"records\":[$jv]}]}"
	enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$v")
	if [ ${#v} -lt 100 ]; then
		expect "domain in the path [$what]: 404 not_found" 404 not_found GET "/api/v1/domains/$enc"
		expect "domain in a DELETE path [$what]: 404 not_found" 404 not_found DELETE "/api/v1/domains/$enc"
		expect "record id in the path [$what]: 404 not_found" 404 not_found GET "/api/v1/dns-records/$enc"
		expect "query domain= [$what]: 400 invalid_name" 400 invalid_name GET "/api/v1/dns-records?domain=$enc"
		expect "query name= [$what]: 400 invalid_name" 400 invalid_name GET "/api/v1/dns-records?name=$enc"
		expect "query type= [$what]: 400 invalid_type" 400 invalid_type GET "/api/v1/dns-records?type=$enc"
		expect "query cursor= [$what]: 400 invalid_field" 400 invalid_field GET "/api/v1/dns-records?cursor=$enc"
		expect "history cursor= [$what]: 400 invalid_field" 400 invalid_field GET "/api/v1/domains/alpha.dyn.test/history?cursor=$enc"
	else
		# 10 KB in the request line is beyond evhttp's header limit (8 KiB): it
		# answers on its own, see the report; 3 KB is the router's 414
		expect "domain in the path, 3 KB: 414 uri_too_long" 414 uri_too_long GET "/api/v1/domains/${enc:0:3000}"
		expect "query name=, 3 KB: 400 invalid_name" 400 invalid_name GET "/api/v1/dns-records?name=${enc:0:3000}"
		expect "domain in the path, 300 bytes: 400 invalid_path" 400 invalid_path GET "/api/v1/domains/${enc:0:300}"
		expect "query name=, 1000 bytes: 400 invalid_name" 400 invalid_name GET "/api/v1/dns-records?name=${enc:0:1000}"
		expect "query cursor=, 1000 bytes: 400 invalid_field" 400 invalid_field GET "/api/v1/dns-records?cursor=${enc:0:1000}"
	fi
done
expect "jti of 10 KB: 400 invalid_field" 400 invalid_field POST /api/v1/tokens/revoke "{\"jti\":\"$big\",\"exp\":$(($(date +%s) + 60))}"
TOK=$("$jwtsign" sign --iat-offset 0 --exp-in 300 "$ec1" ka "$(python3 -c 'import json,sys; print(json.dumps({"sub":sys.argv[1],"aud":"ddns","jti":sys.argv[2],"scope":"dns:read"}))' "$ua" "$sqli1")")
expect "a token whose jti holds spaces: 401 invalid_token" 401 invalid_token GET /api/v1/domains
# a jti with SQL and Redis metacharacters is a jti like any other
jx="';DROP\"TABLE*records;--\"OR\"1=1"
TOK=$("$jwtsign" sign --iat-offset 0 --exp-in 300 "$ec1" ka "$(python3 -c 'import json,sys; print(json.dumps({"sub":sys.argv[1],"aud":"ddns","jti":sys.argv[2],"scope":"dns:read"}))' "$ua" "$jx")")
expect "a token whose jti holds SQL and Redis metacharacters works" 200 "" GET /api/v1/domains
expect "revoking that jti: 204" 204 "" POST /api/v1/tokens/revoke "$(python3 -c 'import json,sys; print(json.dumps({"jti":sys.argv[1],"exp":int(sys.argv[2])+300}))' "$jx" "$(date +%s)")"
expect "... then it is refused" 401 invalid_token GET /api/v1/domains
check "... by the exact key in Redis db3" test "$(redis_cli -n 3 EXISTS "jwt:revoked:$ua:$jx")" = 1
TOK=$TA
expect "... and the user's other tokens still work" 200 "" GET /api/v1/domains

# TXT content is stored literally and read back identical
txt_rt() { # txt_rt DESC CONTENT
	local body id
	body=$(python3 -c 'import json,sys; print(json.dumps({"name":"lit.beta.dyn.test","type":"TXT","content":sys.argv[1]}))' "$2")
	http POST /api/v1/dns-records "$body"
	is 201 "" || return 1
	id=$(j 'd["id"]')
	http GET "/api/v1/dns-records/$id"
	is 200 "" || return 1
	[ "$(j 'd["content"]')" = "$2" ] || { echo "read back: $(j 'd["content"]')"; return 1; }
	[ "$(sql "SELECT content FROM records WHERE id = $id")" = "$2" ] || { echo "stored differently"; return 1; }
}
check "TXT \"$sqli1\" is stored and read back literally" txt_rt x "\"$sqli1\""
check "TXT with \\\" OR 1=1 is stored and read back literally" txt_rt x '"\" OR 1=1"'
expect "TXT content of 10 KB: 400 invalid_content" 400 invalid_content POST /api/v1/dns-records "{\"name\":\"lit.beta.dyn.test\",\"type\":\"TXT\",\"content\":\"\\\"${big}\\\"\"}"

# malformed bodies
r='"name":"x.alpha.dyn.test","type":"A","content":"192.0.2.1"'
expect "malformed JSON: 400 invalid_json" 400 invalid_json POST /api/v1/dns-records '{"name":'
expect "duplicate key: 400 invalid_json" 400 invalid_json POST /api/v1/dns-records "{$r,\"name\":\"y.alpha.dyn.test\"}"
expect "ttl as a string: 400 invalid_field" 400 invalid_field POST /api/v1/dns-records "{$r,\"ttl\":\"60\"}"
expect "ttl as a float: 400 invalid_field" 400 invalid_field POST /api/v1/dns-records "{$r,\"ttl\":60.5}"
expect "name as a number: 400 invalid_field" 400 invalid_field POST /api/v1/domains '{"name":5}'
expect "name null: 400 invalid_field" 400 invalid_field POST /api/v1/domains '{"name":null}'
expect "missing content: 400 invalid_field" 400 invalid_field POST /api/v1/dns-records '{"name":"x.alpha.dyn.test","type":"A"}'
expect "missing name (claim): 400 invalid_field" 400 invalid_field POST /api/v1/domains '{}'
expect "missing exp (revoke): 400 invalid_field" 400 invalid_field POST /api/v1/tokens/revoke '{"jti":"abc"}'
expect "missing rrsets: 400 invalid_field" 400 invalid_field PUT /api/v1/domains/beta.dyn.test/rrsets '{}'
expect "unknown field: 400 unknown_field" 400 unknown_field POST /api/v1/dns-records "{$r,\"owner\":1}"
expect "unknown field in an rrset: 400 unknown_field" 400 unknown_field PUT /api/v1/domains/beta.dyn.test/rrsets '{"rrsets":[{"name":"beta.dyn.test","type":"A","records":[],"x":1}]}'
expect "unknown field (PATCH): 400 unknown_field" 400 unknown_field PATCH "/api/v1/dns-records/$ra" '{"domain_id":1}'
expect "no body: 400 missing_body" 400 missing_body POST /api/v1/dns-records
expect "empty body: 400 missing_body" 400 missing_body POST /api/v1/domains ''
CT=text/plain
expect "Content-Type text/plain: 415 unsupported_media_type" 415 unsupported_media_type POST /api/v1/dns-records "{$r}"
CT=
expect "no Content-Type: 415 unsupported_media_type" 415 unsupported_media_type POST /api/v1/dns-records "{$r}"
CT='application/json; charset=utf-8'
expect "Content-Type with charset is fine" 201 "" POST /api/v1/dns-records '{"name":"cs.beta.dyn.test","type":"A","content":"192.0.2.8"}'
CT=application/json
python3 -c 'import json; print(json.dumps({"name":"x.alpha.dyn.test","type":"TXT","content":"\"" + "a" * 70000 + "\""}))' >"$tmp/huge.json"
expect "body over 64 KiB: 413 body_too_large" 413 body_too_large POST /api/v1/dns-records "@$tmp/huge.json"

sane() {
	[ "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('records', 'domains', 'users', 'api_keys', 'audit_log', 'changes', 'zones')")" = 7 ] || { echo "a table is missing"; return 1; }
	[ "$(sql "SELECT count(*) FROM users")" = "$n_users" ] || { echo "users changed"; return 1; }
	[ "$(sql "SELECT count(*) FROM records WHERE content LIKE '%DROP%'")" = 1 ] || { echo "DROP records"; return 1; }
	[ "$(sql "SELECT count(*) FROM records WHERE name NOT LIKE '%.dyn.test.' AND name <> 'dyn.test.'")" = 0 ] || { echo "odd names"; return 1; }
	[ "$(sql "SELECT count(*) FROM domains WHERE user_id = $ua")" = 2 ] || { echo "A's domains"; return 1; }
}
check "after all of it: the tables exist and the counts are sane" sane
# ---- 8. end to end through PowerDNS ---------------------------------------------

TOK=$TE
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
# seen DESC SECONDS NAME TYPE PATTERN...: dig sees it within SECONDS (timed)
seen() {
	local desc=$1 limit=$2 t0
	shift 2
	t0=$(date +%s%N)
	if within "$limit" has "$@" >"$tmp/out" 2>&1; then
		ok "$desc ($(ms "$t0") ms)"
	else
		notok "$desc"
		sed 's/^/# /' "$tmp/out" | head -30
	fi
}
q host.erin.dyn.test A >/dev/null # cached as NXDOMAIN before it exists
expect "e2e: claim erin.dyn.test" 201 "" POST /api/v1/domains '{"name":"erin.dyn.test"}'
expect "e2e: A" 201 "" POST /api/v1/dns-records '{"name":"host.erin.dyn.test","type":"A","content":"192.0.2.50"}'
e_a=$(j 'd["id"]')
seen "e2e: dig sees the A record within 2 s, despite a cached NXDOMAIN" 2 host.erin.dyn.test A 'status: NOERROR' "host.erin.dyn.test.${S}60${S}IN${S}A${S}192.0.2.50"
expect "e2e: AAAA" 201 "" POST /api/v1/dns-records '{"name":"host.erin.dyn.test","type":"AAAA","content":"2001:DB8:0:0::50"}'
check "e2e: the AAAA content is canonical" test "$(j 'd["content"]')" = 2001:db8::50
seen "e2e: dig sees the AAAA record within 2 s" 2 host.erin.dyn.test AAAA "IN${S}AAAA${S}2001:db8::50"
expect "e2e: TXT" 201 "" POST /api/v1/dns-records '{"name":"erin.dyn.test","type":"TXT","content":"\"hello erin\""}'
e_txt=$(j 'd["id"]')
seen "e2e: dig sees the TXT record within 2 s" 2 erin.dyn.test TXT "IN${S}TXT${S}\"hello erin\""
expect "e2e: CNAME" 201 "" POST /api/v1/dns-records '{"name":"www.erin.dyn.test","type":"CNAME","content":"host.erin.dyn.test"}'
e_cn=$(j 'd["id"]')
seen "e2e: dig sees the CNAME within 2 s" 2 www.erin.dyn.test A "IN${S}CNAME${S}host.erin.dyn.test." "IN${S}A${S}192.0.2.50"
expect "e2e: MX" 201 "" POST /api/v1/dns-records '{"name":"erin.dyn.test","type":"MX","content":"10 host.erin.dyn.test"}'
seen "e2e: dig sees the MX within 2 s" 2 erin.dyn.test MX "IN${S}MX${S}10 host.erin.dyn.test."
q host.erin.dyn.test A >/dev/null # cached
expect "e2e: update the A record (PATCH content)" 200 "" PATCH "/api/v1/dns-records/$e_a" '{"content":"192.0.2.51"}'
seen "e2e: dig sees the new address within 2 s" 2 host.erin.dyn.test A "IN${S}A${S}192.0.2.51"
check "e2e: ... and not the old one" bash -c "! dig +short +norecurse @127.0.0.1 -p $DDNS_DNS_PORT host.erin.dyn.test A | grep -qx 192.0.2.50"
expect "e2e: update the TXT record (PUT)" 200 "" PUT "/api/v1/dns-records/$e_txt" '{"name":"erin.dyn.test","type":"TXT","content":"\"bye erin\"","ttl":600}'
seen "e2e: dig sees the new TXT within 2 s" 2 erin.dyn.test TXT "600${S}IN${S}TXT${S}\"bye erin\""
expect "e2e: delete the CNAME" 204 "" DELETE "/api/v1/dns-records/$e_cn"
seen "e2e: the CNAME name is NXDOMAIN within 2 s" 2 www.erin.dyn.test A 'status: NXDOMAIN'
expect "e2e: delete the A record" 204 "" DELETE "/api/v1/dns-records/$e_a"
seen "e2e: the name keeps its AAAA, A is NODATA within 2 s" 2 host.erin.dyn.test A 'status: NOERROR' 'ANSWER: 0'
expect "e2e: deleting it again: 404 not_found" 404 not_found DELETE "/api/v1/dns-records/$e_a"
expect "e2e: history lists the changes, newest first" 200 "" GET /api/v1/domains/erin.dyn.test/history?limit=3
check "e2e: ... paginated" test "$(j '[[i["action"] for i in d["items"]], d["next_cursor"] is not None]')" = \
	'[["record.delete", "record.delete", "record.update"], true]'

# ---- 1b. a revoked key with the event: at once ------------------------------------

port2=$(free_port)
if start_api api2 "$port2" DDNS_API_KEY_CACHE_TTL=60s; then
	base=http://127.0.0.1:$port2
	TOK=$(token "$ec1" krev2 "$ua" "$all_scopes")
	expect "instance with a 60 s key cache: key krev2 works" 200 "" GET /api/v1/domains
	sql "UPDATE api_keys SET revoked_at = now() WHERE kid = 'krev2'"
	expect "revoked in PostgreSQL, no event yet: the cached key still works" 200 "" GET /api/v1/domains
	redis_cli -n 1 PUBLISH keys:revoked krev2 >/dev/null
	t0=$(date +%s%N)
	if within 1 key_dead >"$tmp/out" 2>&1; then
		ok "revoked key with the keys:revoked event: refused at once ($(ms "$t0") ms)"
	else
		notok "revoked key with the keys:revoked event: refused at once"
		sed 's/^/# /' "$tmp/out"
	fi
else
	notok "a second ddns-api starts"
	sed 's/^/# /' "$tmp/api2.log" | tail -20
fi

# ---- 6. the stream unreachable: the change log still delivers ------------------------

port3=$(free_port)
if start_api api3 "$port3" DDNS_REDIS_STREAM_URL="redis://127.0.0.1:$(free_port)/1"; then
	base=http://127.0.0.1:$port3
	TOK=$TE
	q lost.erin.dyn.test A >/dev/null
	expect "stream down: a write still answers 201" 201 "" POST /api/v1/dns-records '{"name":"lost.erin.dyn.test","type":"A","content":"192.0.2.60"}'
	e_lost=$(j 'd["id"]')
	seen "stream down: dig sees the change within 3 s (change log)" 3 lost.erin.dyn.test A "IN${S}A${S}192.0.2.60"
	stream_errors() {
		curl -s --max-time 5 "$base/metrics" | awk '$1 == "api_stream_errors_total" { print $2 }'
	}
	check "stream down: api_stream_errors_total > 0" test "$(stream_errors)" -gt 0
	expect "stream down: a delete still answers 204" 204 "" DELETE "/api/v1/dns-records/$e_lost"
	seen "stream down: dig sees the deletion within 3 s" 3 lost.erin.dyn.test A 'status: NXDOMAIN'
else
	notok "a ddns-api without its stream Redis starts"
	sed 's/^/# /' "$tmp/api3.log" | tail -20
fi
# ---- 7. rate limits -------------------------------------------------------------------

base=http://$DDNS_API_LISTEN
TC=$(token "$ec1" kc "$uc" "$all_scopes")
TOK=$TC
expect "C claims carol.dyn.test" 201 "" POST /api/v1/domains '{"name":"carol.dyn.test"}'
port4=$(free_port)
if start_api api4 "$port4" DDNS_API_USER_WRITE_RATE=1 DDNS_API_USER_WRITE_BURST=3 \
	DDNS_API_ADDR_READ_RATE=1 DDNS_API_ADDR_READ_BURST=5 DDNS_API_TRUSTED_PROXIES=127.0.0.1/32; then
	base=http://127.0.0.1:$port4
	# each part from its own loopback address, so their budgets are apart
	# back to back (curl only: well within the 1 s refill): four writes, a
	# read, a write
	sts=
	for i in 1 2 3 4 r 6; do
		if [ $i = r ]; then
			http GET /api/v1/domains - --interface 127.0.0.2
		else
			http POST /api/v1/dns-records "{\"name\":\"r$i.carol.dyn.test\",\"type\":\"A\",\"content\":\"192.0.2.$i\"}" \
				--interface 127.0.0.2
		fi
		sts="$sts $st"
		cp "$tmp/body" "$tmp/body.$i"
		cp "$tmp/hdr" "$tmp/hdr.$i"
	done
	check "user writes, burst 3: three quick writes pass, the 4th: 429" test "${sts:0:16}" = " 201 201 201 429"
	check "reads have their own budget: a read right after passes, the next write is still 429" \
		test "${sts:16}" = " 200 429"
	echo "# statuses:$sts"
	check "a passing request carries RateLimit-Limit: 3" grep -Eiq '^RateLimit-Limit: 3' "$tmp/hdr.3"
	cp "$tmp/body.4" "$tmp/body"
	cp "$tmp/hdr.4" "$tmp/hdr"
	check "the 4th write's answer: 429 rate_limited" is 429 rate_limited
	retry=$(hdr Retry-After)
	check "429 carries Retry-After (whole seconds, >= 1)" grep -Eq '^[1-9][0-9]*$' <<<"$retry"
	check "429 carries RateLimit-Limit 3, RateLimit-Remaining 0, RateLimit-Reset" \
		test "$(hdr RateLimit-Limit)/$(hdr RateLimit-Remaining)/$(hdr RateLimit-Reset | grep -Ec '^[0-9]+$')" = 3/0/1
	check "the 4th write was not made" test "$(sql "SELECT count(*) FROM records WHERE name = 'r4.carol.dyn.test.'")" = 0
	sleep "${retry:-1}"
	expect "after Retry-After seconds a write passes again" 201 "" POST /api/v1/dns-records \
		'{"name":"r5.carol.dyn.test","type":"A","content":"192.0.2.5"}' --interface 127.0.0.2

	# bad tokens cost the address: 401 until its budget is spent, then 429
	TOK=$(token "$ec2" kc "$uc" "$all_scopes") # kc is ec1's: bad signature
	# bad_tokens ADDR COUNT [XFF-PREFIX | =FIXED-XFF]: the statuses, one line
	bad_tokens() {
		local i out="" x
		for i in $(seq 1 "$2"); do
			x=()
			case ${3:-} in
			=*) x=(-H "X-Forwarded-For: ${3#=}") ;;
			?*) x=(-H "X-Forwarded-For: $3.$i") ;;
			esac
			http GET /api/v1/domains - --interface "$1" "${x[@]}"
			out="$out $st:$(j 'd["code"]')"
		done
		echo "$out"
	}
	# seq_ok STATUSES: 401 invalid_token first, 429 rate_limited within the
	# first 8 (a budget of 5 that refills 1/s), nothing else
	seq_ok() {
		echo "$1"
		grep -Eq '^ 401:invalid_token( (401:invalid_token|429:rate_limited))+$' <<<"$1" &&
			grep -q 429:rate_limited <<<"$(cut -d' ' -f1-9 <<<"$1")"
	}
	res=$(bad_tokens 127.0.0.3 10)
	check "repeated bad tokens from one address: 401, then 429 rate_limited" seq_ok "$res"
	res=$(bad_tokens 127.0.0.4 10 198.51.100)
	check "X-Forwarded-For from an untrusted peer is ignored: spoofing does not escape the budget" seq_ok "$res"
	res=$(bad_tokens 127.0.0.1 10 203.0.113)
	check "X-Forwarded-For from a trusted proxy is honoured: ten clients, ten 401s" \
		test "$res" = "$(printf ' 401:invalid_token%.0s' $(seq 1 10))"
	res=$(bad_tokens 127.0.0.1 10 =203.0.113.200)
	check "... one client behind it is limited: 401, then 429" seq_ok "$res"
	check "... its budget is keyed by the forwarded address" test "$(redis_cli -n 2 EXISTS rl:r:a:203.0.113.200)" = 1
else
	notok "a ddns-api with small rate limits starts"
	sed 's/^/# /' "$tmp/api4.log" | tail -20
fi

# ---- 9. what PowerDNS answers now: GET /api/v1/domains/{name}/dns ---------------------

base=http://$DDNS_API_LISTEN
uf=$(user frank)
add_key kf "$uf" ES256 ec1
TF=$(token "$ec1" kf "$uf" "$all_scopes")
TOK=$TF
expect "dns: F claims frank.dyn.test" 201 "" POST /api/v1/domains '{"name":"frank.dyn.test"}'
dnsq=/api/v1/domains/frank.dyn.test/dns
q host.frank.dyn.test A >/dev/null # cached as NXDOMAIN before it exists
expect "dns: the name defaults to the domain, the type to A" 200 "" GET "$dnsq"
check "dns: ... name, type, server and authority" test \
	"$(j '[d["name"], d["type"], d["server"], d["authoritative"]]')" = \
	"[\"frank.dyn.test.\", \"A\", \"127.0.0.1:$DDNS_DNS_PORT\", true]"
expect "dns: F adds an A record" 201 "" POST /api/v1/dns-records '{"name":"host.frank.dyn.test","type":"A","content":"192.0.2.77"}'
t0=$(date +%s%N)
# dns_has PATH EXPR WANT: GET PATH answers 200 and EXPR (of the body) is WANT
dns_has() {
	http GET "$1"
	[ "$st" = 200 ] && [ "$(j "$2")" = "$3" ]
}
if within 5 dns_has "$dnsq?name=host.frank.dyn.test&type=A" 'd["answers"]' \
	'[{"name": "host.frank.dyn.test.", "type": "A", "ttl": 60, "content": "192.0.2.77"}]'; then
	ok "dns: the endpoint shows the new A record within 5 s ($(ms "$t0") ms)"
else
	notok "dns: the endpoint shows the new A record within 5 s"
	echo "# $st $(head -c 400 "$tmp/body")"
fi
echo "# dns answer: $(cat "$tmp/body")"
check "dns: rcode NOERROR, authoritative, type A, name absolute" \
	test "$(j '[d["rcode"], d["authoritative"], d["type"], d["name"]]')" = '["NOERROR", true, "A", "host.frank.dyn.test."]'
check "dns: elapsed_ms is a number between 0 and 2000" \
	test "$(j '0 < d["elapsed_ms"] < 2000 and isinstance(d["elapsed_ms"], float)')" = true
check "dns: the same address as dig" \
	test "$(dig +short +norecurse @127.0.0.1 -p "$DDNS_DNS_PORT" host.frank.dyn.test A)" = 192.0.2.77
# loopback figures: elapsed_ms of ten queries
els=
for i in $(seq 1 10); do
	http GET "$dnsq?name=host.frank.dyn.test"
	els="$els $(j 'd["elapsed_ms"]')"
done
echo "# dns: elapsed_ms of 10 queries on loopback:$els"
expect "dns: an absent name below the domain: 200" 200 "" GET "$dnsq?name=nothing-here.frank.dyn.test"
check "dns: ... rcode NXDOMAIN, no answers" test "$(j '[d["rcode"], d["answers"]]')" = '["NXDOMAIN", []]'
expect "dns: F adds a TXT record" 201 "" POST /api/v1/dns-records '{"name":"frank.dyn.test","type":"TXT","content":"hello frank"}'
check "dns: the TXT record in presentation form (quoted) within 5 s" within 5 dns_has \
	"$dnsq?type=txt" '[(a["type"], a["content"]) for a in d["answers"]]' '[["TXT", "\"hello frank\""]]'
expect "dns: F adds a CNAME" 201 "" POST /api/v1/dns-records '{"name":"www.frank.dyn.test","type":"CNAME","content":"host.frank.dyn.test"}'
check "dns: a CNAME asked as A: the chain, CNAME then A, within 5 s" within 5 dns_has \
	"$dnsq?name=WWW.Frank.dyn.test.&type=A" '[(a["name"], a["type"], a["content"]) for a in d["answers"]]' \
	'[["www.frank.dyn.test.", "CNAME", "host.frank.dyn.test."], ["host.frank.dyn.test.", "A", "192.0.2.77"]]'
expect "dns: type NS is allowed (names at the domain have none: NODATA)" 200 "" GET "$dnsq?type=NS"
check "dns: ... NOERROR, no answers" test "$(j '[d["rcode"], d["answers"], d["type"]]')" = '["NOERROR", [], "NS"]'
expect "dns: type PTR: 400 invalid_field" 400 invalid_field GET "$dnsq?type=PTR"
expect "dns: type ANY: 400 invalid_field" 400 invalid_field GET "$dnsq?type=ANY"
expect "dns: an empty type: 400 invalid_field" 400 invalid_field GET "$dnsq?type="
expect "dns: a name outside the domain: 400 invalid_name" 400 invalid_name GET "$dnsq?name=alpha.dyn.test"
expect "dns: the base zone above the domain: 400 invalid_name" 400 invalid_name GET "$dnsq?name=dyn.test"
expect "dns: a name that only ends like the domain: 400 invalid_name" 400 invalid_name GET "$dnsq?name=xfrank.dyn.test"
expect "dns: a malformed name: 400 invalid_name" 400 invalid_name GET "$dnsq?name=a..frank.dyn.test"
TOK=$TA
expect "dns: another user's domain: 404 not_found" 404 not_found GET "$dnsq"
expect "dns: another user's domain, a valid name below it: 404 not_found" 404 not_found GET "$dnsq?name=host.frank.dyn.test"
expect "dns: a domain nobody holds: 404 not_found" 404 not_found GET /api/v1/domains/nobody.dyn.test/dns
TOK=$(token "$ec1" kf "$uf" "dns:write domains:write")
expect "dns: a token without dns:read: 403 insufficient_scope" 403 insufficient_scope GET "$dnsq"
TOK=$(token "$ec1" kf "$uf" "dns:read")
expect "dns: a token with dns:read alone: 200" 200 "" GET "$dnsq?name=host.frank.dyn.test"
TOK=
expect "dns: no token: 401 invalid_token" 401 invalid_token GET "$dnsq"

# PowerDNS not answering: a ddns-api asking a UDP port nobody listens on
free_udp_port() {
	python3 -c 'import socket; s = socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port5=$(free_udp_port)
port6=$(free_port)
if start_api api5 "$port6" DDNS_API_DNS_SERVER="127.0.0.1:$port5"; then
	base=http://127.0.0.1:$port6
	TOK=$TF
	t0=$(date +%s%N)
	expect "dns: PowerDNS silent: 504 dns_timeout" 504 dns_timeout GET "$dnsq"
	el=$(ms "$t0")
	check "dns: ... after the 2 s deadline ($el ms)" test "$el" -ge 1900 -a "$el" -lt 4000
	check "dns: ... and logged" grep -Eq 'DNS server 127\.0\.0\.1:[0-9]+ did not answer .*frank\.dyn\.test\..* A within 2000 ms' "$tmp/api5.log"
	expect "dns: the ownership is checked before asking: another user's domain is still 404" 404 not_found \
		GET /api/v1/domains/alpha.dyn.test/dns
	# SIGTERM with a query in flight: the drain (5 s) outlasts the query (2 s), which
	# ends as usual, and its answer reaches the client before the process exits.
	api5_pid=${extra_pids[-1]}
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $TF" \
		"$base$dnsq" >"$tmp/drain.status" &
	cpid=$!
	sleep 0.5
	kill "$api5_pid"
	wait "$cpid"
	check "dns: SIGTERM with a query in flight: the client gets its 504" \
		grep -qx 504 "$tmp/drain.status"
	query_ended_in_drain() {
		awk '/signal 15/ { s = 1 } s && /did not answer/ { f = 1 } END { exit !f }' "$tmp/api5.log"
	}
	check "dns: SIGTERM with a query in flight: the query ends (504) during the drain" query_ended_in_drain
	check "dns: ... and ddns-api exits 0" wait "$api5_pid"
else
	notok "a ddns-api asking a silent DNS server starts"
	sed 's/^/# /' "$tmp/api5.log" | tail -20
fi
base=http://$DDNS_API_LISTEN

# api_rrsets_replace refuses by itself, beneath ddns-api's checks: a user
# disabled while a verified token is still remembered reaches it
sqlstate() {
	psql "$db" -qAt -c '\set VERBOSITY sqlstate' -c "$1" 2>&1 | sed -n 's/^ERROR: *//p'
}
replace_sql() {
	echo "SELECT api_rrsets_replace($1, '$2', '[{\"name\":\"$2\",\"type\":\"A\",\"ttl\":60,\"records\":[\"192.0.2.77\"]}]', 100, 'test', '127.0.0.1', 'test')"
}
sql "SELECT api_domain_claim($uq, 'qdom.dyn.test.', 5, 'test', '127.0.0.1', 'test')" >/dev/null
replaced() {
	sql "SELECT ($(replace_sql "$1" "$2"))->>'changed'" | tee /dev/stderr | grep -qx true
}
check "sql: the owner replaces an RRset" replaced "$uq" qdom.dyn.test.
check "sql: another user's domain: DDN01" test "$(sqlstate "$(replace_sql "$ub" qdom.dyn.test.)")" = DDN01
check "sql: a domain nobody holds: DDN01" test "$(sqlstate "$(replace_sql "$uq" none.dyn.test.)")" = DDN01
sql "UPDATE users SET status = 'disabled' WHERE id = $uq"
check "sql: a disabled user, own domain: DDU01" test "$(sqlstate "$(replace_sql "$uq" qdom.dyn.test.)")" = DDU01
check "sql: a disabled user, a domain nobody holds: DDU01" \
	test "$(sqlstate "$(replace_sql "$uq" none.dyn.test.)")" = DDU01
sql "UPDATE users SET status = 'active' WHERE id = $uq"

# api_rrsets_replace's short path (0011: one set of one record replacing a set
# of one record) against the general function, api_rrsets_replace_sets, on the
# same data, each in a transaction rolled back: the same result (change ids
# aside: sequences do not roll back), records, audit row, change rows and
# errors; which path ran is read from the transaction's call counter of the
# general function
sql "SELECT api_domain_claim($uq, 'fast.dyn.test.', 5, 'test', '127.0.0.1', 'test')" >/dev/null
sql "SELECT api_rrsets_replace_sets($uq, 'fast.dyn.test.', '[
	{\"name\":\"fast.dyn.test.\",\"type\":\"A\",\"ttl\":60,\"records\":[\"192.0.2.1\"]},
	{\"name\":\"two.fast.dyn.test.\",\"type\":\"A\",\"ttl\":60,\"records\":[\"192.0.2.1\",\"192.0.2.2\"]},
	{\"name\":\"c.fast.dyn.test.\",\"type\":\"CNAME\",\"ttl\":60,\"records\":[\"target.dyn.test.\"]},
	{\"name\":\"t.fast.dyn.test.\",\"type\":\"TXT\",\"ttl\":60,\"records\":[\"\\\"a b\\\" \\\"c''d\\\"\"]},
	{\"name\":\"m.fast.dyn.test.\",\"type\":\"MX\",\"ttl\":3600,\"records\":[\"10 mx.dyn.test.\"]}]',
	100, 'test', '127.0.0.1', 'test')" >/dev/null
# replace_run FUNCTION USER DOMAIN SETS: the call and what it left, rolled back
replace_run() {
	psql "$db" -qAt -v VERBOSITY=sqlstate 2>&1 <<-SQL
		BEGIN;
		SET LOCAL track_functions = 'pl';
		SELECT (r - 'changes') || jsonb_build_object('changes', (SELECT jsonb_agg(e - 0)
			FROM jsonb_array_elements(r->'changes') e))
		FROM $1($2, '$3', '$4', 100, 'test', '127.0.0.1', 'test') r;
		SELECT 'general function calls: ' || coalesce(pg_stat_get_xact_function_calls(
			'api_rrsets_replace_sets(bigint, text, jsonb, integer, text, inet, text)'::regprocedure), 0);
		SELECT string_agg(name || ' ' || type || ' ' || content || ' ' || ttl, ', '
			ORDER BY name, type, content) FROM records r
		WHERE domain_id = (SELECT id FROM domains WHERE name = '$3');
		SELECT user_id, actor, client_addr, user_agent, action, domain_name, old_value, new_value
		FROM audit_log
		WHERE xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296;
		SELECT name, zone_id FROM changes WHERE xid = pg_current_xact_id_if_assigned() ORDER BY id;
		ROLLBACK;
	SQL
}
# both_paths DESC PATH USER DOMAIN SETS: PATH (short or general) ran, results
# the same; PATH error: the call fails (the transaction aborted, the counter
# cannot be read)
both_paths() {
	local want=1
	[ "$2" = short ] && want=0
	replace_run api_rrsets_replace "$3" "$4" "$5" >"$tmp/path.wrapper"
	replace_run api_rrsets_replace_sets "$3" "$4" "$5" >"$tmp/path.general"
	[ "$2" = error ] || check "sql: $1: the $2 path" grep -qx "general function calls: $want" "$tmp/path.wrapper"
	check "sql: $1: the same result, records, audit and changes as the general function" \
		diff <(grep -v '^general function calls' "$tmp/path.wrapper") \
		<(grep -v '^general function calls' "$tmp/path.general")
}
rr1() { echo "[{\"name\":\"$1\",\"type\":\"$2\",\"ttl\":$3,\"records\":[$4]}]"; }
both_paths "a new address" short "$uq" fast.dyn.test. "$(rr1 fast.dyn.test. A 60 '"192.0.2.9"')"
short_path_wrote() {
	grep -F '"changed": true,' "$tmp/path.wrapper" &&
		grep -F 'fast.dyn.test. A 192.0.2.9 60, ' "$tmp/path.wrapper" &&
		grep "^$uq|test|127.0.0.1|test|rrsets.replace|fast.dyn.test.|"'.*"192.0.2.1".*|.*"192.0.2.9"' "$tmp/path.wrapper"
}
check "sql: ... changed, the record holds it, the audit row has the old and the new" short_path_wrote
both_paths "the same address" short "$uq" fast.dyn.test. "$(rr1 fast.dyn.test. A 60 '"192.0.2.1"')"
both_paths "the same address, a new TTL" short "$uq" fast.dyn.test. "$(rr1 fast.dyn.test. A 300 '"192.0.2.1"')"
both_paths "a new address and TTL" short "$uq" fast.dyn.test. "$(rr1 fast.dyn.test. A 120 '"192.0.2.9"')"
both_paths "a new CNAME target" short "$uq" fast.dyn.test. "$(rr1 c.fast.dyn.test. CNAME 60 '"other.dyn.test."')"
both_paths "a new TXT with quotes" short "$uq" fast.dyn.test. \
	"$(rr1 t.fast.dyn.test. TXT 60 '"\"x y\" \"it'"''"'s\""')"
both_paths "a new MX" short "$uq" fast.dyn.test. "$(rr1 m.fast.dyn.test. MX 3600 '"20 mx2.dyn.test."')"
both_paths "one address for a set of two" general "$uq" fast.dyn.test. "$(rr1 two.fast.dyn.test. A 60 '"192.0.2.3"')"
both_paths "a set that does not exist yet" general "$uq" fast.dyn.test. "$(rr1 new.fast.dyn.test. A 60 '"192.0.2.3"')"
both_paths "a type the name does not have" general "$uq" fast.dyn.test. "$(rr1 fast.dyn.test. AAAA 60 '"2001:db8::1"')"
both_paths "two addresses for a set of one" general "$uq" fast.dyn.test. \
	"$(rr1 fast.dyn.test. A 60 '"192.0.2.3", "192.0.2.4"')"
both_paths "an empty set" general "$uq" fast.dyn.test. "$(rr1 fast.dyn.test. A 60 '')"
both_paths "a TTL given as a string" general "$uq" fast.dyn.test. \
	'[{"name":"fast.dyn.test.","type":"A","ttl":"120","records":["192.0.2.9"]}]'
both_paths "a record given as an array" general "$uq" fast.dyn.test. \
	'[{"name":"fast.dyn.test.","type":"A","ttl":60,"records":[["192.0.2.9"]]}]'
both_paths "two sets" general "$uq" fast.dyn.test. \
	'[{"name":"fast.dyn.test.","type":"A","ttl":60,"records":["192.0.2.5"]},
	  {"name":"two.fast.dyn.test.","type":"A","ttl":60,"records":["192.0.2.5"]}]'
# raised: ERROR CODE was the wrapper's first error
raised() { grep -m 1 '^ERROR' "$tmp/path.wrapper" | grep -q "^ERROR: *$1\$"; }
both_paths "a name outside the domain" error "$uq" fast.dyn.test. "$(rr1 qdom.dyn.test. A 60 '"192.0.2.5"')"
check "sql: ... raises DDN03" raised DDN03
both_paths "another user's domain" error "$ub" fast.dyn.test. "$(rr1 fast.dyn.test. A 60 '"192.0.2.5"')"
check "sql: ... raises DDN01" raised DDN01
both_paths "a set of one record, the TTL missing" error "$uq" fast.dyn.test. \
	'[{"name":"fast.dyn.test.","type":"A","records":["192.0.2.5"]}]'
check "sql: ... raises not_null_violation" raised 23502
both_paths "a TTL below 60 (refused by the update itself)" error "$uq" fast.dyn.test. "$(rr1 fast.dyn.test. A 30 '"192.0.2.9"')"
check "sql: ... raises check_violation" raised 23514
sql "UPDATE users SET status = 'disabled' WHERE id = $uq"
both_paths "a disabled user" error "$uq" fast.dyn.test. "$(rr1 fast.dyn.test. A 60 '"192.0.2.5"')"
check "sql: ... raises DDU01" raised DDU01
sql "UPDATE users SET status = 'active' WHERE id = $uq"

# the short path's record deleted by id (api_record_delete locks only the
# record, not the domain) after the path read it: its update finds nothing,
# and the general function makes the set hold the new address
rid=$(sql "SELECT id FROM records WHERE name = 'fast.dyn.test.' AND type = 'A'")
psql "$db" -qAt -c BEGIN -c "DELETE FROM records WHERE id = $rid" -c "SELECT pg_sleep(3)" -c COMMIT \
	>/dev/null 2>&1 &
deleter=$!
sleeping() { sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" | grep -qx 1; }
within 5 sleeping
sql "$(echo "SELECT api_rrsets_replace($uq, 'fast.dyn.test.', '$(rr1 fast.dyn.test. A 60 '"192.0.2.99"')'," \
	"100, 'test', '127.0.0.1', 'test')")" >"$tmp/race.out" 2>&1 &
replacer=$!
waits_on_row() {
	sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
	     AND query LIKE 'SELECT api_rrsets_replace%'" | grep -qx 1
}
check "sql: a record deleted under the short path: the call waits for its row" within 5 waits_on_row
wait "$deleter" || true
wait "$replacer" || true
check "sql: ... then the set holds the new address" \
	test "$(sql "SELECT content FROM records WHERE name = 'fast.dyn.test.' AND type = 'A'")" = 192.0.2.99
check "sql: ... and the answer says changed, with its change row" \
	grep -q '"changes": \[\[[0-9]*, [0-9]*, "fast.dyn.test."\]\], "changed": true\|"changed": true.*"changes": \[\[' "$tmp/race.out"

check "no sanitizer report in any ddns-api log" api_logs_clean
check "the stack's ddns-api still runs" pid_alive "$run/api.pid"

echo "# runtime $(($(date +%s) - t_start)) s"
echo "1..$n"
exit "$failed"

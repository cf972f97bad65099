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

tmp=$(mktemp -d /tmp/ddns-api.XXXXXX)
chmod 755 "$tmp"
export DDNS_RUN_DIR=$tmp/run
export DDNS_BUILDDIR=${1:?usage: $0 BUILDDIR}
export DDNS_PG_PORT=$(free_port)
export DDNS_REDIS_PORT=$(free_port)
export DDNS_DNS_PORT=$(free_port)
export DDNS_PDNS_API_PORT=$(free_port)
export DDNS_BACKEND_LISTEN=127.0.0.1:$(free_port)
export DDNS_CACHE_LISTEN=127.0.0.1:$(free_port)
export DDNS_API_LISTEN=127.0.0.1:$(free_port)
unset DDNS_DATABASE_URL DDNS_BASE_ZONES
# the main instance: short key cache, small limits, generous rates
export DDNS_API_KEY_CACHE_TTL=2s DDNS_API_KEY_CACHE_NEGATIVE_TTL=1s
export DDNS_API_DOMAIN_QUOTA=3 DDNS_API_RECORD_LIMIT=10
export DDNS_API_USER_READ_RATE=1000 DDNS_API_USER_READ_BURST=100000
export DDNS_API_USER_WRITE_RATE=1000 DDNS_API_USER_WRITE_BURST=100000
export DDNS_API_ADDR_READ_RATE=1000 DDNS_API_ADDR_READ_BURST=100000
export DDNS_API_ADDR_WRITE_RATE=1000 DDNS_API_ADDR_WRITE_BURST=100000
unset DDNS_API_TRUSTED_PROXIES

build=$(cd "$DDNS_BUILDDIR" && pwd)
jwtsign=${DDNS_TEST_JWT_SIGN:-$build/tests/tools/jwt-sign}
apibin=$build/services/api/ddns-api
stack=$root/scripts/stack.sh
run=$DDNS_RUN_DIR
db="postgresql://postgres@127.0.0.1:$DDNS_PG_PORT/ddns"
redis_url=redis://127.0.0.1:$DDNS_REDIS_PORT
keys=$tmp/keys
extra_pids=()

cleanup() {
	local p
	for p in "${extra_pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	"$stack" down >/dev/null 2>&1
	local alt
	alt=$(readlink "$run/postgres" 2>/dev/null) && rm -rf "$(dirname "$alt")"
	if [ "$failed" -ne 0 ] && [ -n "${DDNS_TEST_KEEP_LOGS:-}" ]; then
		echo "# logs kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

sql() {
	psql "$db" -v ON_ERROR_STOP=1 -qAtc "$1"
}

redis_cli() {
	redis-cli -h 127.0.0.1 -p "$DDNS_REDIS_PORT" "$@"
}

# ---- HTTP -------------------------------------------------------------------

base=http://$DDNS_API_LISTEN
TOK=
st=

# http METHOD PATH [BODY [CURL_ARGS...]]: the status in $st, the body in
# $tmp/body, the headers in $tmp/hdr; the bearer token is $TOK (none if empty).
# A BODY is sent as application/json unless CURL_ARGS set another type.
http() {
	local m=$1 p=$2 args
	shift 2
	args=(-s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -X "$m" --max-time 10)
	[ -n "$TOK" ] && args+=(-H "Authorization: Bearer $TOK")
	if [ $# -gt 0 ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$1")
		shift
	fi
	st=$(curl "${args[@]}" "$@" "$base$p")
}

# j EXPR: a value of the last body (d is the parsed JSON); nothing if absent.
j() {
	python3 - "$tmp/body" "$1" <<-'EOF'
		import json, sys
		try:
		    d = json.load(open(sys.argv[1]))
		    v = eval(sys.argv[2])
		except Exception:
		    sys.exit(0)
		if isinstance(v, (dict, list, bool)) or v is None:
		    print(json.dumps(v))
		else:
		    print(v)
	EOF
}

# hdr NAME: a header of the last answer
hdr() {
	grep -i "^$1:" "$tmp/hdr" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'
}

# is STATUS CODE: the last answer had STATUS and error code CODE ("" for a
# success: then the body must carry no code)
is() {
	local code
	code=$(j 'd["code"]')
	if [ "$st" = "$1" ] && [ "$code" = "$2" ]; then
		return 0
	fi
	echo "want $1 ${2:-(no code)}, got $st ${code:-(no code)}: $(head -c 400 "$tmp/body")"
	return 1
}

# expect DESC STATUS CODE METHOD PATH [BODY [CURL_ARGS...]]
expect() {
	local desc=$1 want=$2 code=$3
	shift 3
	http "$@"
	check "$desc" is "$want" "$code"
}

# ---- tokens -----------------------------------------------------------------

jti_n=0
# token KEY KID SUB SCOPE [jwt-sign options]: a signed token, valid for 300 s
token() {
	local key=$1 kid=$2 sub=$3 scope=$4
	shift 4
	jti_n=$((jti_n + 1))
	"$jwtsign" sign --iat-offset 0 --exp-in 300 "$@" "$key" "$kid" \
		"{\"sub\":\"$sub\",\"aud\":\"ddns\",\"jti\":\"t$jti_n-$RANDOM\",\"scope\":\"$scope\"}"
}
all_scopes="dns:read dns:write domains:write"

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

q() {
	dig +time=2 +tries=1 +norecurse @127.0.0.1 -p "$DDNS_DNS_PORT" "$@"
}

# has NAME TYPE PATTERN...: the answer holds every extended regex
has() {
	local name=$1 type=$2 out p
	shift 2
	out=$(q "$name" "$type") || {
		echo "dig failed"
		return 1
	}
	for p in "$@"; do
		grep -Eq -- "$p" <<<"$out" || {
			echo "missing: $p"
			echo "$out"
			return 1
		}
	done
}
S='[[:space:]]+'

# ---- extra ddns-api instances ----------------------------------------------

# start_api NAME PORT [VAR=VALUE...]: a ddns-api on PORT with the stack's
# settings, overridden by the given ones; waits until it is ready.
start_api() {
	local name=$1 port=$2 pid
	shift 2
	env DDNS_DATABASE_URL="$db" \
		DDNS_REDIS_RATELIMIT_URL="$redis_url/2" DDNS_REDIS_SESSION_URL="$redis_url/3" \
		DDNS_REDIS_STREAM_URL="$redis_url/1" DDNS_API_PLATFORM_KEY_FILE="$run/platform.pub.pem" \
		DDNS_API_LISTEN="127.0.0.1:$port" "$@" "$apibin" >"$tmp/$name.log" 2>&1 &
	pid=$!
	extra_pids+=("$pid")
	wait_http "http://127.0.0.1:$port/readyz" 30
}

# ---- start ------------------------------------------------------------------

t_start=$(date +%s)
if ! "$stack" up >"$tmp/up.log" 2>&1; then
	notok "the stack starts"
	sed 's/^/# /' "$tmp/up.log"
	for f in "$run"/cache.log "$run"/backend.log "$run"/api.log "$run"/pdns/pdns.log; do
		[ -f "$f" ] && tail -n 20 "$f" | sed "s|^|# $(basename "$f"): |"
	done
	echo "1..$n"
	exit 1
fi
ok "the stack starts"

mkdir -p "$keys"
"$jwtsign" keygen ec "$keys" ec1 >/dev/null &&
	"$jwtsign" keygen ec "$keys" ec2 >/dev/null &&
	"$jwtsign" keygen rsa "$keys" rsa1 >/dev/null || {
	notok "jwt-sign makes keys"
	echo "1..$n"
	exit 1
}
ec1=$keys/ec1.key.pem
ec2=$keys/ec2.key.pem
rsa1=$keys/rsa1.key.pem

# user NAME: a verified user; prints its id
user() {
	sql "INSERT INTO users (email, password_hash, verified_at)
	     VALUES ('$1@example.org', 'x', now()) RETURNING id"
}
# key KID USER ALG JWK_NAME
add_key() {
	sql "INSERT INTO api_keys (kid, user_id, algorithm, public_jwk)
	     VALUES ('$1', $2, '$3', '$(cat "$keys/$4.jwk.json")')"
}

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
expect "no Authorization header: 401 missing_token" 401 missing_token GET /api/v1/domains
check "missing token: WWW-Authenticate: Bearer" grep -Eiq '^WWW-Authenticate: Bearer' "$tmp/hdr"
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

echo "# section 1 done at $(($(date +%s) - t_start)) s"
echo "1..$n"
exit "$failed"

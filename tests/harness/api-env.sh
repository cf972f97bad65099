# ddns-api in the shell tests of a private stack: users and keys written straight
# into PostgreSQL, JWTs signed by tests/tools/jwt-sign, more ddns-api instances
# beside the stack's. Source it after stack_env (tests/harness/stack-env.sh) and
# tests/harness/tap.sh, with $root set to the checkout.
# Sets $build, $jwtsign (DDNS_TEST_JWT_SIGN, else the build's), $apibin,
# $redis_url, $keys (the folder of make_keys), $all_scopes; api_cleanup is for
# the EXIT trap.

build=$(cd "$DDNS_BUILDDIR" && pwd)
jwtsign=${DDNS_TEST_JWT_SIGN:-$build/tests/tools/jwt-sign}
apibin=$build/services/api/ddns-api
redis_url=redis://127.0.0.1:$DDNS_REDIS_PORT
keys=$tmp/keys
all_scopes="dns:read dns:write domains:write"
extra_pids=()
jti_n=0

# api_generous_rates: the stack's ddns-api with per-user and per-address rates
# no test reaches, and no trusted proxies (a test that reaches a limit does so
# on an instance of its own: start_api)
api_generous_rates() {
	export DDNS_API_USER_READ_RATE=1000 DDNS_API_USER_READ_BURST=100000
	export DDNS_API_USER_WRITE_RATE=1000 DDNS_API_USER_WRITE_BURST=100000
	export DDNS_API_ADDR_READ_RATE=1000 DDNS_API_ADDR_READ_BURST=100000
	export DDNS_API_ADDR_WRITE_RATE=1000 DDNS_API_ADDR_WRITE_BURST=100000
	unset DDNS_API_TRUSTED_PROXIES
}

# api_cleanup: for the EXIT trap: stops what start_api (or the test, through
# extra_pids) started, then stack_cleanup
api_cleanup() {
	local p
	for p in "${extra_pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	stack_cleanup
}

redis_cli() {
	redis-cli -h 127.0.0.1 -p "$DDNS_REDIS_PORT" "$@"
}

# make_keys TYPE:NAME...: key pairs by jwt-sign in $keys (ec or rsa; NAME.key.pem,
# NAME.pub.pem, NAME.jwk.json); if one fails, the test ends there
make_keys() {
	local k
	mkdir -p "$keys"
	for k in "$@"; do
		"$jwtsign" keygen "${k%%:*}" "$keys" "${k#*:}" >/dev/null || {
			notok "jwt-sign makes keys"
			echo "1..$n"
			exit 1
		}
	done
}

# user NAME: a verified user NAME@example.org; prints its id
user() {
	sql "INSERT INTO users (email, password_hash, verified_at)
	     VALUES ('$1@example.org', 'x', now()) RETURNING id"
}

# add_key KID USER ALG NAME: the public half of make_keys' NAME as USER's key KID
add_key() {
	sql "INSERT INTO api_keys (kid, user_id, algorithm, public_jwk)
	     VALUES ('$1', $2, '$3', '$(cat "$keys/$4.jwk.json")')"
}

# token KEY KID SUB SCOPE [jwt-sign options]: a token signed with the private
# key file KEY, valid for 300 s, with a jti of its own
token() {
	local key=$1 kid=$2 sub=$3 scope=$4
	shift 4
	jti_n=$((jti_n + 1))
	"$jwtsign" sign --iat-offset 0 --exp-in 300 "$@" "$key" "$kid" \
		"{\"sub\":\"$sub\",\"aud\":\"ddns\",\"jti\":\"t$jti_n-$RANDOM\",\"scope\":\"$scope\"}"
}

# start_api NAME PORT [VAR=VALUE...]: a ddns-api on PORT with the stack's
# settings, overridden by the given ones, its log in $tmp/NAME.log; waits until
# it is ready
start_api() {
	local name=$1 port=$2
	shift 2
	env DDNS_DATABASE_URL="$db" \
		DDNS_REDIS_RATELIMIT_URL="$redis_url/2" DDNS_REDIS_SESSION_URL="$redis_url/3" \
		DDNS_REDIS_STREAM_URL="$redis_url/1" DDNS_API_PLATFORM_KEY_FILE="$run/platform.pub.pem" \
		DDNS_API_DNS_SERVER="127.0.0.1:$DDNS_DNS_PORT" \
		DDNS_API_LISTEN="127.0.0.1:$port" "$@" "$apibin" >"$tmp/$name.log" 2>&1 &
	extra_pids+=("$!")
	wait_http "http://127.0.0.1:$port/readyz" 30
}

# api_logs_clean: no sanitizer report in the stack's ddns-api log or those of start_api
api_logs_clean() {
	! grep -El 'runtime error|AddressSanitizer|LeakSanitizer' "$run"/api.log "$tmp"/api*.log
}

#!/usr/bin/env bash
# ddns-user end to end, with ddns-worker's file transport and ddns-api: the
# whole stack on free loopback ports. Sign-up -> the email file -> verify ->
# log in -> session token accepted by ddns-api -> a public key -> a JWT signed
# by its private half accepted by ddns-api -> the key deleted -> refused;
# password change and reset, account deletion (its records leave DNS), the
# answers that must not tell whether an email has an account, CSRF, limits.
# Prints TAP.  Usage: test_user.sh BUILDDIR   (env DDNS_TEST_JWT_SIGN)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
. "$root/tests/harness/tap.sh"
. "$root/tests/harness/stack-env.sh"

stack_env user "${1:?usage: $0 BUILDDIR}"
# $jwtsign, token
. "$root/tests/harness/api-env.sh"
# cheap hashes; the limits of the mail routes small enough to reach
export DDNS_USER_PWHASH_OPSLIMIT=1 DDNS_USER_PWHASH_MEMLIMIT=8388608
export DDNS_USER_MAIL_EMAIL_RATE=3 DDNS_USER_MAIL_EMAIL_BURST=3
export DDNS_USER_MAIL_ADDR_RATE=1000 DDNS_USER_MAIL_ADDR_BURST=1000
export DDNS_USER_SIGNUP_RATE=1000 DDNS_USER_SIGNUP_BURST=1000
export DDNS_USER_LOGIN_ADDR_RATE=1000 DDNS_USER_LOGIN_ADDR_BURST=1000
export DDNS_USER_LOGIN_ACCOUNT_RATE=60 DDNS_USER_LOGIN_ACCOUNT_BURST=5
export DDNS_API_KEY_CACHE_TTL=60s
trap stack_cleanup EXIT

mail=$run/mail
api=http://$DDNS_API_LISTEN
ubase=http://$DDNS_USER_LISTEN
base=$ubase
. "$root/tests/harness/http.sh"

jar=$tmp/cookies
CSRF=(-H "X-Requested-With: test")
use_jar() { CURL_EXTRA=(-b "$1" -c "$1"); }
no_jar() { CURL_EXTRA=(); }

# mails_to ADDR: how many messages the worker wrote to ADDR
mails_to() {
	grep -lis "^To:.*$1" "$mail"/*.eml 2>/dev/null | wc -l
}

# wait_mails ADDR N: until N messages to ADDR exist (10 s at most)
wait_mails() {
	local i
	for i in $(seq 100); do
		[ "$(mails_to "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "$(mails_to "$1") messages to $1, want $2"
	return 1
}

# link_token ADDR PATH: the token of the newest link to PATH in a message to ADDR
link_token() {
	python3 - "$mail" "$1" "$2" <<-'EOF'
		import email, email.policy, glob, os, re, sys
		folder, to, path = sys.argv[1:]
		found = None
		for f in sorted(glob.glob(os.path.join(folder, "*.eml")), key=os.path.getmtime):
		    m = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
		    if to.lower() not in str(m["To"]).lower():
		        continue
		    body = m.get_body(preferencelist=("plain",)).get_content()
		    t = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_-]{43})", body)
		    if t:
		        found = t.group(1)
		print(found or "")
	EOF
}

# same A B: two saved answers are identical (status and body)
same() {
	cmp -s "$1" "$2" || {
		echo "differ: $(cat "$1") / $(cat "$2")"
		return 1
	}
}
save() { { echo "$st"; cat "$tmp/body"; } >"$tmp/$1"; }

"$stack" up >"$tmp/up.log" 2>&1 || {
	cat "$tmp/up.log" >&2
	echo "Bail out! the stack did not start"
	exit 1
}

pw='correct horse battery staple'
alice=alice@example.org

# ---- sign-up ------------------------------------------------------------------

no_jar
expect "sign-up" 202 "" POST /api/v1/users "{\"email\":\"Alice@Example.ORG \",\"password\":\"$pw\"}"
save signup_new
check "the account is stored normalized and unverified" \
	test "$(sql "SELECT email || ':' || (verified_at IS NULL) FROM users WHERE id = 1")" = "$alice:true"
check "the password is stored as argon2id" \
	test "$(sql "SELECT password_hash LIKE '\$argon2id\$%' FROM users WHERE email = '$alice'")" = t
check "only the token's SHA-256 is stored" \
	test "$(sql "SELECT octet_length(token_hash) FROM email_tokens WHERE user_id = 1")" = 32
check "the worker writes the verification email" wait_mails "$alice" 1
vtok=$(link_token "$alice" /verify)
check "the email holds a verification link" test ${#vtok} -eq 43
expect "sign-up of an unknown email, again" 202 "" POST /api/v1/users \
	'{"email":"someone@example.org","password":"another password 123"}'
save signup_other
check "sign-up answers the same for any email" same "$tmp/signup_new" "$tmp/signup_other"

expect "invalid email" 400 invalid_email POST /api/v1/users '{"email":"not-an-email","password":"long enough password"}'
expect "short password" 400 password_too_short POST /api/v1/users '{"email":"b@example.org","password":"short"}'
expect "common password" 400 password_common POST /api/v1/users '{"email":"b@example.org","password":"password123"}'
expect "password equal to the email" 400 password_is_email POST /api/v1/users '{"email":"bob@example.org","password":"bob@example.org"}'
expect "unknown member" 400 unknown_field POST /api/v1/users '{"email":"b@example.org","password":"long enough password","admin":true}'
expect "not JSON" 400 invalid_json POST /api/v1/users '{"email":'
expect "no body" 400 missing_body POST /api/v1/users -

# ---- verification and login -------------------------------------------------

expect "login before verification" 403 email_unverified POST /api/v1/sessions "{\"email\":\"$alice\",\"password\":\"$pw\"}"
expect "login with a wrong password" 401 invalid_credentials POST /api/v1/sessions "{\"email\":\"$alice\",\"password\":\"wrong password 1\"}"
save login_wrong
expect "login with an unknown email" 401 invalid_credentials POST /api/v1/sessions '{"email":"nobody@example.org","password":"wrong password 1"}'
save login_unknown
check "login answers the same for an unknown email and a wrong password" \
	same "$tmp/login_wrong" "$tmp/login_unknown"

for i in 1 2 3 4 5; do
	http POST /api/v1/sessions '{"email":"dave@example.org","password":"guess number '$i'"}'
done
check "five failed logins for one email are answered 401" is 401 invalid_credentials
expect "the sixth within the hour is limited, account or not" 429 rate_limited POST /api/v1/sessions '{"email":"dave@example.org","password":"guess number 6"}'
expect "other accounts are not" 401 invalid_credentials POST /api/v1/sessions '{"email":"erin@example.org","password":"guess number 1"}'

expect "a malformed token" 400 invalid_token POST /api/v1/users/verify '{"token":"abc"}'
expect "an unknown token" 400 invalid_token POST /api/v1/users/verify \
	"{\"token\":\"$(printf 'A%.0s' $(seq 43))\"}"
expect "verify" 200 "" POST /api/v1/users/verify "{\"token\":\"$vtok\"}"
check "no reset needed for an uncontested account" test "$(j 'd["password_reset_required"]')" = false
check "the account is verified" \
	test "$(sql "SELECT verified_at IS NOT NULL FROM users WHERE email = '$alice'")" = t
expect "the token works once" 400 invalid_token POST /api/v1/users/verify "{\"token\":\"$vtok\"}"
expect "sign-up again with the verified email" 202 "" POST /api/v1/users \
	"{\"email\":\"$alice\",\"password\":\"another password 123\"}"
save signup_taken
check "sign-up answers the same for a taken email" same "$tmp/signup_new" "$tmp/signup_taken"
sleep 0.5
check "no email is sent for a verified address" test "$(mails_to "$alice")" -eq 1
check "and its password stays" \
	test "$(sql "SELECT count(*) FROM users WHERE email = '$alice' AND NOT contested")" = 1

# two sign-ups for one mailbox: neither password may win, the owner resets
carol=carol@example.org
expect "carol signs up" 202 "" POST /api/v1/users "{\"email\":\"$carol\",\"password\":\"carol first passphrase\"}"
check "her link arrives" wait_mails "$carol" 1
ctok1=$(link_token "$carol" /verify)
expect "someone else signs up as carol" 202 "" POST /api/v1/users "{\"email\":\"$carol\",\"password\":\"intruder passphrase\"}"
check "a second link arrives" wait_mails "$carol" 2
ctok2=$(link_token "$carol" /verify)
check "the links differ" test -n "$ctok2" -a "$ctok1" != "$ctok2"
expect "the first link no longer works" 400 invalid_token POST /api/v1/users/verify "{\"token\":\"$ctok1\"}"
expect "the newest verifies" 200 "" POST /api/v1/users/verify "{\"token\":\"$ctok2\"}"
check "and asks for a password reset" test "$(j 'd["password_reset_required"]')" = true
expect "the intruder's password does not log in" 401 invalid_credentials POST /api/v1/sessions "{\"email\":\"$carol\",\"password\":\"intruder passphrase\"}"
expect "nor carol's first one" 401 invalid_credentials POST /api/v1/sessions "{\"email\":\"$carol\",\"password\":\"carol first passphrase\"}"
check "a reset link arrives" wait_mails "$carol" 3
crtok=$(link_token "$carol" /reset-password)
expect "carol sets her password" 200 "" POST /api/v1/password-reset/confirm "{\"token\":\"$crtok\",\"password\":\"carol final passphrase\"}"
expect "and logs in" 201 "" POST /api/v1/sessions "{\"email\":\"$carol\",\"password\":\"carol final passphrase\"}"

use_jar "$jar"
expect "login" 201 "" POST /api/v1/sessions "{\"email\":\"$alice\",\"password\":\"$pw\"}"
cookie=$(hdr Set-Cookie)
check "the session cookie is HttpOnly, SameSite=Lax, Path=/" \
	grep -Eq '^ddns_session=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax; Max-Age=[0-9]+$' <<<"$cookie"
check "the login answers the user" test "$(j 'd["user"]["email"]')" = "$alice"
uid=$(j 'd["user"]["id"]')
sid=$(sed -E 's/^ddns_session=([^;]*);.*/\1/' <<<"$cookie")
sidhash=$(python3 -c 'import base64, hashlib, sys; print(hashlib.sha256(base64.urlsafe_b64decode(sys.argv[1] + "=")).hexdigest())' "$sid")
check "the session is in Redis db3 under the SHA-256 of the cookie" \
	test "$(redis-cli -p "$DDNS_REDIS_PORT" -n 3 EXISTS "sess:$sidhash"):$(redis-cli -p "$DDNS_REDIS_PORT" -n 3 --scan --pattern "*$sid*" | wc -l)" = "1:0"
check "with an idle expiry" test "$(redis-cli -p "$DDNS_REDIS_PORT" -n 3 PTTL "sess:$sidhash")" -gt 0
expect "me" 200 "" GET /api/v1/me
check "me is alice" test "$(j 'd["email"]'):$(j 'd["verified"]')" = "$alice:true"
no_jar
expect "me without a session" 401 unauthenticated GET /api/v1/me
# the address budget is charged before the session is looked up: a forged
# cookie costs its sender like any request (GCRA: the key's time moves on)
# the key made to live 2 s (its budget partly used: 2 s of the 5 s burst):
# a key the request makes itself lives only one interval (100 ms), and may be
# gone before it is read on a busy machine
tat0=$(redis_cli TIME | awk 'NR == 1 { s = $1 } NR == 2 { printf "%d%06d", s, $1 }')
tat0=$((tat0 + 2000000))
redis_cli -n 2 SET rl:u:a:127.0.0.1 "$tat0" PX 3000 >/dev/null
expect "me with a forged session" 401 unauthenticated GET /api/v1/me - \
	-H "Cookie: ddns_session=$(printf 'B%.0s' $(seq 42))A"
tat1=$(redis_cli -n 2 GET rl:u:a:127.0.0.1)
check "... is charged to the address ($tat0 -> $tat1)" test "${tat1:-0}" -gt "$tat0"
redis_cli -n 2 DEL rl:u:a:127.0.0.1 >/dev/null
use_jar "$jar"

# ---- session tokens for ddns-api --------------------------------------------

expect "a session token without the CSRF header" 403 csrf_required POST /api/v1/sessions/token -
expect "a session token" 200 "" POST /api/v1/sessions/token - "${CSRF[@]}"
stok=$(j 'd["token"]')
check "the token lives 300 s" test "$(j 'd["expires_in"]')" = 300
hdr64=$(cut -d. -f1 <<<"$stok" | tr -- '-_' '+/')
while [ $((${#hdr64} % 4)) -ne 0 ]; do hdr64="$hdr64="; done
check "the token is ES256 with the platform kid" \
	grep -q '"alg":"ES256".*"kid":"platform"' <<<"$(base64 -d <<<"$hdr64")"
base=$api
no_jar
TOK=$stok
expect "ddns-api accepts the session token" 200 "" GET /api/v1/domains
expect "claim a hostname with it" 201 "" POST /api/v1/domains '{"name":"alice.dyn.test"}'
expect "add a record" 201 "" POST /api/v1/dns-records \
	'{"name":"alice.dyn.test","type":"A","content":"192.0.2.10"}'
TOK=
base=$ubase
use_jar "$jar"
check "the record is in DNS" within 5 has alice.dyn.test A '192\.0\.2\.10'

# ---- public keys ------------------------------------------------------------

"$jwtsign" keygen ec "$tmp" k1 >/dev/null
"$jwtsign" keygen rsa "$tmp" weak 1024 >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/p384.key.pem" 2>/dev/null
openssl pkey -in "$tmp/p384.key.pem" -pubout -out "$tmp/p384.pub.pem"
keybody() { python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "public_key": open(sys.argv[2]).read()}))' "$1" "$2"; }
openssl pkey -in "$tmp/k1.key.pem" -pubout -out "$tmp/k1.pub.pem"
openssl pkey -in "$tmp/weak.key.pem" -pubout -out "$tmp/weak.pub.pem"

expect "add a key without the CSRF header" 403 csrf_required POST /api/v1/keys "$(keybody laptop "$tmp/k1.pub.pem")"
expect "a private key is refused" 400 private_key POST /api/v1/keys "$(keybody oops "$tmp/k1.key.pem")" "${CSRF[@]}"
check "nothing of the private key is stored or logged" \
	bash -c "! grep -q \"$(sed -n 2p "$tmp/k1.key.pem" | cut -c1-40)\" '$run/user.log' && [ \"\$(psql '$db' -qAtc 'SELECT count(*) FROM api_keys')\" = 0 ]"
expect "an RSA key of 1024 bits is refused" 400 weak_key POST /api/v1/keys "$(keybody weak "$tmp/weak.pub.pem")" "${CSRF[@]}"
expect "a P-384 key is refused" 400 unsupported_key POST /api/v1/keys "$(keybody p384 "$tmp/p384.pub.pem")" "${CSRF[@]}"
expect "garbage is refused" 400 invalid_key POST /api/v1/keys '{"public_key":"hello"}' "${CSRF[@]}"
expect "add a PEM key" 201 "" POST /api/v1/keys "$(keybody laptop "$tmp/k1.pub.pem")" "${CSRF[@]}"
kid=$(j 'd["kid"]')
check "the answer names the kid and ES256" test "${#kid}:$(j 'd["algorithm"]')" = "43:ES256"
expect "the same key again" 409 key_exists POST /api/v1/keys "$(keybody again "$tmp/k1.pub.pem")" "${CSRF[@]}"
expect "list the keys" 200 "" GET /api/v1/keys
check "the list holds the key" test "$(j 'd["items"][0]["kid"]'):$(j 'len(d["items"])')" = "$kid:1"

ktok=$(token "$tmp/k1.key.pem" "$kid" "$uid" dns:read)
base=$api
no_jar
TOK=$ktok
expect "ddns-api accepts a JWT signed with the registered key" 200 "" GET /api/v1/domains
check "last_used is recorded" \
	test "$(sql "SELECT last_used_at IS NOT NULL FROM api_keys WHERE kid = '$kid'")" = t
TOK=
base=$ubase
use_jar "$jar"
expect "delete the key" 204 "" DELETE "/api/v1/keys/$kid" - "${CSRF[@]}"
expect "delete it again" 404 not_found DELETE "/api/v1/keys/$kid" - "${CSRF[@]}"
base=$api
no_jar
TOK=$ktok
# the revocation event drops the key at once (the key cache TTL is 60 s)
expect "ddns-api refuses the same JWT after the deletion" 401 invalid_token GET /api/v1/domains
TOK=
base=$ubase
use_jar "$jar"

# ---- no enumeration: resend and reset ---------------------------------------

no_jar
expect "resend for a verified account" 202 "" POST /api/v1/users/verify/resend "{\"email\":\"$alice\"}"
save resend_known
expect "resend for an unknown email" 202 "" POST /api/v1/users/verify/resend '{"email":"nobody@example.org"}'
save resend_unknown
check "resend answers the same" same "$tmp/resend_known" "$tmp/resend_unknown"
expect "reset for an unknown email" 202 "" POST /api/v1/password-reset '{"email":"nobody@example.org"}'
save reset_unknown
expect "reset for alice" 202 "" POST /api/v1/password-reset "{\"email\":\"$alice\"}"
save reset_known
check "reset answers the same" same "$tmp/reset_known" "$tmp/reset_unknown"
expect "a third request for nobody" 202 "" POST /api/v1/password-reset '{"email":"nobody@example.org"}'
expect "the fourth for one email in an hour is limited" 429 rate_limited POST /api/v1/password-reset '{"email":"nobody@example.org"}'
check "with Retry-After" test -n "$(hdr Retry-After)"

# ---- password reset ---------------------------------------------------------

check "the reset email arrives" wait_mails "$alice" 2
rtok=$(link_token "$alice" /reset-password)
check "it holds a reset link" test ${#rtok} -eq 43
pw2='a brand new passphrase'
expect "reset with a common password" 400 password_common POST /api/v1/password-reset/confirm "{\"token\":\"$rtok\",\"password\":\"1234567890\"}"
expect "reset" 200 "" POST /api/v1/password-reset/confirm "{\"token\":\"$rtok\",\"password\":\"$pw2\"}"
expect "the reset link works once" 400 invalid_token POST /api/v1/password-reset/confirm "{\"token\":\"$rtok\",\"password\":\"$pw2 again\"}"
check "a password-changed email follows" wait_mails "$alice" 3
use_jar "$jar"
expect "the reset ended the old session" 401 unauthenticated GET /api/v1/me
expect "the old password no longer works" 401 invalid_credentials POST /api/v1/sessions "{\"email\":\"$alice\",\"password\":\"$pw\"}"
expect "the new one does" 201 "" POST /api/v1/sessions "{\"email\":\"$alice\",\"password\":\"$pw2\"}"

# ---- password change: the other sessions end --------------------------------

use_jar "$tmp/cookies2"
expect "a second session" 201 "" POST /api/v1/sessions "{\"email\":\"$alice\",\"password\":\"$pw2\"}"
use_jar "$jar"
expect "change with a wrong current password" 403 wrong_password PUT /api/v1/me/password \
	"{\"current_password\":\"nope nope nope\",\"new_password\":\"third passphrase here\"}" "${CSRF[@]}"
expect "change without the CSRF header" 403 csrf_required PUT /api/v1/me/password \
	"{\"current_password\":\"$pw2\",\"new_password\":\"third passphrase here\"}"
expect "change the password" 204 "" PUT /api/v1/me/password \
	"{\"current_password\":\"$pw2\",\"new_password\":\"third passphrase here\"}" "${CSRF[@]}"
pw3='third passphrase here'
expect "this session goes on" 200 "" GET /api/v1/me
use_jar "$tmp/cookies2"
expect "the other session ended" 401 unauthenticated GET /api/v1/me
check "a password-changed email is sent" wait_mails "$alice" 4

# ---- logout -----------------------------------------------------------------

expect "log in again" 201 "" POST /api/v1/sessions "{\"email\":\"$alice\",\"password\":\"$pw3\"}"
expect "log out without the CSRF header" 403 csrf_required DELETE /api/v1/sessions
expect "log out" 204 "" DELETE /api/v1/sessions - "${CSRF[@]}"
check "the cookie is cleared" grep -q '^ddns_session=; .*Max-Age=0' <<<"$(hdr Set-Cookie)"
expect "the session is gone" 401 unauthenticated GET /api/v1/me

# ---- account deletion -------------------------------------------------------

use_jar "$jar"
expect "delete with a wrong password" 403 wrong_password DELETE /api/v1/me '{"password":"nope nope nope"}' "${CSRF[@]}"
expect "delete the account" 204 "" DELETE /api/v1/me "{\"password\":\"$pw3\"}" "${CSRF[@]}"
check "the account, its domain and records are gone" \
	test "$(sql "SELECT (SELECT count(*) FROM users WHERE email = '$alice') + (SELECT count(*) FROM domains) + (SELECT count(*) FROM records WHERE domain_id IS NOT NULL)")" = 0
check "the records leave DNS" within 5 has alice.dyn.test A 'status: NXDOMAIN'
check "an audit entry remains" \
	test "$(sql "SELECT count(*) FROM audit_log WHERE action = 'account.delete' AND user_id IS NULL")" = 1
expect "the session ended with the account" 401 unauthenticated GET /api/v1/me
no_jar
expect "the login is gone" 401 invalid_credentials POST /api/v1/sessions "{\"email\":\"$alice\",\"password\":\"$pw3\"}"
check "the email can sign up again" bash -c "curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary '{\"email\":\"$alice\",\"password\":\"$pw\"}' $ubase/api/v1/users | grep -q 202"

# ---- service behaviour ------------------------------------------------------

expect "health" 200 "" GET /healthz
expect "ready" 200 "" GET /readyz
http GET /metrics
check "metrics count sign-ups and logins" grep -Eq '^user_signups_total [1-9]' "$tmp/body"
check "an unknown route" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $ubase/api/v1/nothing) = 404 ]"
check "SIGTERM stops it with status 0" bash -c "kill -TERM \$(cat '$run/user.pid') && for i in \$(seq 50); do kill -0 \$(cat '$run/user.pid') 2>/dev/null || exit 0; sleep 0.1; done; exit 1"

echo "1..$n"
exit "$failed"

#!/usr/bin/env bash
# jwt-sign as other tests call it: keygen files, token shape, options, exit
# codes, and RS256/ES256 signatures checked with the openssl command line.
# Prints TAP. Usage: DDNS_TEST_JWT_SIGN=/path/to/jwt-sign test_jwt_sign.sh
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/tests/harness/tap.sh"

js=${DDNS_TEST_JWT_SIGN:?set DDNS_TEST_JWT_SIGN to the jwt-sign program}
tmp=$(mktemp -d /tmp/ddns-jwt-sign.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# b64url segment N (1-based) of token $1, decoded
segment() {
	local s
	s=$(cut -d. -f"$2" <<<"$1" | tr '_-' '/+')
	while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
	base64 -d <<<"$s"
}

fails() {
	! "$@"
}

# verify TOKEN PUBKEY: the signature with openssl dgst (ES256: R||S to DER first)
verify() {
	local token=$1 pub=$2
	printf '%s' "${token%.*}" >"$tmp/in"
	segment "$token" 3 >"$tmp/sig.raw"
	if grep -q '"ES256"' <(segment "$token" 1); then
		python3 - "$tmp/sig.raw" "$tmp/sig" <<'EOF' || return 1
import sys
raw = open(sys.argv[1], 'rb').read()
assert len(raw) == 64, len(raw)
def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80:
        b = b'\0' + b
    return b'\x02' + bytes([len(b)]) + b
body = der_int(raw[:32]) + der_int(raw[32:])
open(sys.argv[2], 'wb').write(b'\x30' + bytes([len(body)]) + body)
EOF
	else
		cp "$tmp/sig.raw" "$tmp/sig"
	fi
	openssl dgst -sha256 -verify "$pub" -signature "$tmp/sig" "$tmp/in"
}

check "keygen rsa" "$js" keygen rsa "$tmp" r
check "keygen ec" "$js" keygen ec "$tmp" e
for f in r.key.pem r.pub.pem r.jwk.json e.key.pem e.pub.pem e.jwk.json; do
	check "keygen wrote $f" test -s "$tmp/$f"
done
check "private key mode 0600" test "$(stat -c %a "$tmp/e.key.pem")" = 600
check "RSA JWK is public" bash -c "grep -q '\"kty\":\"RSA\"' '$tmp/r.jwk.json' && ! grep -q '\"d\"' '$tmp/r.jwk.json'"
check "EC JWK on P-256" grep -q '"crv":"P-256"' "$tmp/e.jwk.json"

rs=$("$js" sign "$tmp/r.key.pem" kid-r '{"sub":"1","aud":"ddns-api"}')
es=$("$js" sign "$tmp/e.key.pem" kid-e '{"sub":"1","aud":"ddns-api"}')
check "token has three segments" test "$(tr -cd . <<<"$rs")" = ..
check "RS256 header" test "$(segment "$rs" 1)" = '{"alg":"RS256","typ":"JWT","kid":"kid-r"}'
check "ES256 header" test "$(segment "$es" 1)" = '{"alg":"ES256","typ":"JWT","kid":"kid-e"}'
check "payload signed as given" test "$(segment "$rs" 2)" = '{"sub":"1","aud":"ddns-api"}'
check "RS256 signature verifies with openssl" verify "$rs" "$tmp/r.pub.pem"
check "ES256 signature verifies with openssl" verify "$es" "$tmp/e.pub.pem"
check "RS256 signature fails with another key" fails verify "$rs" "$tmp/e.pub.pem"

t=$("$js" sign --now 1000 --iat-offset -5 --exp-in 300 "$tmp/e.key.pem" k '{"sub":"1"}')
check "--now --iat-offset --exp-in" test "$(segment "$t" 2)" = '{"sub":"1","iat":995,"exp":1300}'
t=$("$js" sign --now 1000 --exp-in 300 "$tmp/e.key.pem" k '{"sub":"1","exp":7}')
check "--exp-in keeps a given exp" test "$(segment "$t" 2)" = '{"sub":"1","exp":7}'

"$js" sign --count 5 "$tmp/e.key.pem" k '{"sub":"1"}' >"$tmp/many"
check "--count 5 prints 5 tokens" test "$(wc -l <"$tmp/many")" = 5
while read -r t; do segment "$t" 2; echo; done <"$tmp/many" | grep -o '"jti":"[0-9a-f]\{32\}"' | sort -u >"$tmp/jtis"
check "--count gives each a fresh jti" test "$(wc -l <"$tmp/jtis")" = 5
t=$("$js" sign --count 2 "$tmp/e.key.pem" k '{"sub":"1","jti":"x"}' | tail -1)
check "--count keeps a given jti" test "$(segment "$t" 2)" = '{"sub":"1","jti":"x"}'

t=$("$js" sign --alg none "$tmp/r.key.pem" k '{}')
check "--alg writes the header alg" test "$(segment "$t" 1)" = '{"alg":"none","typ":"JWT","kid":"k"}'
t=$("$js" hs256 "$tmp/r.pub.pem" k '{"sub":"1"}')
check "hs256 header" test "$(segment "$t" 1)" = '{"alg":"HS256","typ":"JWT","kid":"k"}'
check "hs256 MAC is 32 bytes" test "$(segment "$t" 3 | wc -c)" = 32

"$js" sign >/dev/null 2>&1
check "usage error exits 2" test $? = 2
"$js" sign "$tmp/nonexistent.pem" k '{}' >/dev/null 2>&1
check "missing key exits 1" test $? = 1
"$js" sign "$tmp/r.pub.pem" k '{}' >/dev/null 2>&1
check "public key to sign exits 1" test $? = 1

echo "1..$n"
exit "$failed"

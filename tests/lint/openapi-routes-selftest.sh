#!/usr/bin/env bash
# Tests tests/lint/openapi-routes.py itself with a fake ddns-api
# (fixtures/fake-ddns-api): it passes when the routes and the document agree and
# fails, naming the route, when one is missing, extra or listed twice. TAP.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/../harness/tap.sh"

checker=$here/openapi-routes.py
fake=$here/fixtures/fake-ddns-api

# run_checker: runs the checker on the fake (env as given); output in $tmp/run
run_checker() { "$checker" "$fake" >"$tmp/run" 2>&1; }

check "the fake's routes agree with services/api/openapi.yaml" run_checker
# all_tap FILE: every line of FILE is a TAP plan, result or diagnostic
all_tap() { ! grep -vE '^(1\.\.[0-9]+|(not )?ok [0-9]+ - .*|#.*)$' "$1"; }
check "the checker's output is TAP" all_tap "$tmp/run"

expect_failure() { # DESC EXPECTED_LINE: the checker fails and prints EXPECTED_LINE
	if run_checker; then
		notok "$1: the checker fails"
		sed 's/^/# /' "$tmp/run"
	elif grep -qF -- "$2" "$tmp/run"; then
		ok "$1: the checker fails and says: $2"
	else
		notok "$1: the checker says: $2"
		sed 's/^/# /' "$tmp/run"
	fi
}

FAKE_ROUTES_DROP='PATCH /api/v1/dns-records/{id}' \
	expect_failure "a documented route not served" "documented, not served: PATCH /api/v1/dns-records/{id}"
FAKE_ROUTES_DROP='GET /metrics' \
	expect_failure "a built-in not served" "documented, not served: GET /metrics"
FAKE_ROUTES_ADD='POST /api/v1/dyndns/update' \
	expect_failure "a served route not documented" "served, not documented: POST /api/v1/dyndns/update"
FAKE_ROUTES_DROP='GET /api/v1/domains/{name}' FAKE_ROUTES_ADD='GET /api/v1/domains/{domain}' \
	expect_failure "a renamed path parameter" "served, not documented: GET /api/v1/domains/{domain}"
FAKE_ROUTES_ADD='GET /readyz' \
	expect_failure "a route listed twice" "listed more than once: GET /readyz"
FAKE_ROUTES_ADD='get /x' \
	expect_failure "a line that is not 'METHOD /path'" "not 'METHOD /path'"
if "$checker" /nonexistent/ddns-api >"$tmp/run" 2>&1; then
	notok "a binary that does not run: the checker fails"
else
	ok "a binary that does not run: the checker fails"
fi

echo "1..$n"
exit "$failed"

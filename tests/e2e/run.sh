#!/usr/bin/env bash
# The dashboard end to end: the whole stack on free loopback ports
# (tests/harness/stack-env.sh) with the production dashboard (`next start`,
# built first when stale) in front of ddns-user and ddns-api, the worker's
# links leading to it; then frontend/e2e/flow.mjs drives Debian's Chromium
# through sign-up, verification by the emailed link, login, a hostname, an A
# record seen in DNS, an update token used by curl, the history, a key pair
# and logout. Prints TAP (one line per step); screenshots go to
# $DDNS_E2E_ARTIFACTS (default BUILDDIR/e2e-artifacts). Everything started
# is stopped on exit, failure or not.
#   Usage: tests/e2e/run.sh BUILDDIR
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
. "$root/tests/harness/tap.sh"
export DDNS_WEB=on # the stack starts the dashboard on its free DDNS_WEB_LISTEN
. "$root/tests/harness/stack-env.sh"

stack_env e2e "${1:?usage: $0 BUILDDIR}"
build=$(cd "$DDNS_BUILDDIR" && pwd)
artifacts=${DDNS_E2E_ARTIFACTS:-$build/e2e-artifacts}
chromium=${DDNS_E2E_CHROMIUM:-/usr/bin/chromium}
# cheap password hashes; no limits a single run could reach
export DDNS_USER_PWHASH_OPSLIMIT=1 DDNS_USER_PWHASH_MEMLIMIT=8388608
trap stack_cleanup EXIT

if [ ! -x "$chromium" ]; then
	echo "1..0 # SKIP $chromium not found (apt-get install chromium)"
	exit 0
fi
rm -rf "$artifacts"
mkdir -p "$artifacts"

if ! "$stack" up >"$tmp/up.log" 2>&1; then
	sed 's/^/# /' "$tmp/up.log"
	[ -f "$run/web.log" ] && tail -n 40 "$run/web.log" | sed 's/^/# web: /'
	echo "Bail out! the stack did not start"
	exit 1
fi

E2E_BASE=http://$DDNS_WEB_LISTEN E2E_MAIL_DIR=$run/mail E2E_ARTIFACTS=$artifacts E2E_CHROMIUM=$chromium \
	NEXT_TELEMETRY_DISABLED=1 node "$root/frontend/e2e/flow.mjs"
status=$?
if [ "$status" -ne 0 ]; then
	failed=1
	for log in web api user worker; do
		[ -f "$run/$log.log" ] && tail -n 15 "$run/$log.log" | sed "s/^/# $log: /"
	done
fi
echo "# screenshots in $artifacts"
exit "$status"

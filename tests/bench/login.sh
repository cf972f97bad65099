#!/usr/bin/env bash
# make bench-login: does a login tell whether an email has an account by its
# timing? On a private stack (tests/harness/stack-env.sh) with ddns-user's
# default argon2id parameters, logins with an unknown email and with a known
# email and a wrong password alternate over one keep-alive connection; prints
# the median and p90 of each and the difference of the medians (the target is
# below 20%), and the correct password's for reference.
# Usage: login.sh [BUILDDIR]   env BENCH_LOGINS (per kind, default 100)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
. "$root/tests/harness/stack-env.sh"

stack_env bench-login "$(cd "${1:-$root/build}" && pwd)"
n=${BENCH_LOGINS:-100}
# no limits: every attempt must reach the password check
for k in ADDR SIGNUP LOGIN_ADDR LOGIN_ACCOUNT; do
	export "DDNS_USER_${k}_RATE=0"
done
trap 'stack_down; rm -rf "$tmp"' EXIT

"$stack" up >"$tmp/up.log" 2>&1 || {
	cat "$tmp/up.log" >&2
	exit 1
}
curl -sf -o /dev/null -H 'Content-Type: application/json' \
	--data '{"email":"known@example.org","password":"the right passphrase"}' \
	"http://$DDNS_USER_LISTEN/api/v1/users"
sql "UPDATE users SET verified_at = now() WHERE email = 'known@example.org'"

python3 - "$DDNS_USER_LISTEN" "$n" <<-'EOF'
	import http.client, json, statistics, sys, time
	host, port = sys.argv[1].rsplit(":", 1)
	n = int(sys.argv[2])
	kinds = {
	    "unknown email": ("nobody@example.org", "the wrong passphrase", 401),
	    "wrong password": ("known@example.org", "the wrong passphrase", 401),
	    "right password": ("known@example.org", "the right passphrase", 201),
	}
	conn = http.client.HTTPConnection(host, int(port), timeout=30)
	times = {k: [] for k in kinds}
	for i in range(n + 5):
	    for k, (email, pw, want) in kinds.items():
	        body = json.dumps({"email": email, "password": pw})
	        t = time.perf_counter()
	        conn.request("POST", "/api/v1/sessions", body, {"Content-Type": "application/json"})
	        r = conn.getresponse()
	        r.read()
	        ms = (time.perf_counter() - t) * 1000
	        if r.status != want:
	            sys.exit(f"{k}: status {r.status}, want {want}")
	        if i >= 5:  # the first rounds warm up
	            times[k].append(ms)
	med = {}
	for k, v in times.items():
	    v.sort()
	    med[k] = statistics.median(v)
	    print(f"{k:15s} n={len(v)} median={med[k]:.1f} ms p90={v[int(len(v) * 0.9)]:.1f} ms")
	a, b = med["unknown email"], med["wrong password"]
	diff = abs(a - b) / max(a, b) * 100
	print(f"bench-login: unknown_ms={a:.1f} wrong_password_ms={b:.1f} difference_pct={diff:.1f} (target < 20)")
EOF

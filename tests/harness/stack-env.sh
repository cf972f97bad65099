# A private local stack (scripts/stack.sh) on free loopback ports, for the shell
# tests and benchmarks that run the whole platform. Source it after
# scripts/lib/servers.sh (free_ports), with $root set to the checkout.

# stack_env NAME BUILDDIR: a scratch folder $tmp (/tmp/ddns-NAME.XXXXXX) with
# the stack's state in $run ($tmp/run), every port and listen address of the
# stack free and exported (DDNS_*_PORT, DDNS_*_LISTEN), no database URL or base
# zones from the caller's environment; sets $stack (scripts/stack.sh) and $db
# (the stack's PostgreSQL database).
stack_env() {
	tmp=$(mktemp -d "/tmp/ddns-$1.XXXXXX")
	chmod 755 "$tmp"
	export DDNS_RUN_DIR=$tmp/run
	export DDNS_BUILDDIR=$2
	# distinct ports, chosen at once (a port picked twice broke a run)
	local ports
	ports=($(free_ports 10))
	DDNS_PG_PORT=${ports[0]}
	DDNS_REDIS_PORT=${ports[1]}
	DDNS_DNS_PORT=${ports[2]}
	DDNS_PDNS_API_PORT=${ports[3]}
	DDNS_BACKEND_LISTEN=127.0.0.1:${ports[4]}
	DDNS_CACHE_LISTEN=127.0.0.1:${ports[5]}
	DDNS_API_LISTEN=127.0.0.1:${ports[6]}
	DDNS_USER_LISTEN=127.0.0.1:${ports[7]}
	DDNS_WORKER_LISTEN=127.0.0.1:${ports[8]}
	export DDNS_PG_PORT DDNS_REDIS_PORT DDNS_DNS_PORT DDNS_PDNS_API_PORT DDNS_BACKEND_LISTEN \
		DDNS_CACHE_LISTEN DDNS_API_LISTEN DDNS_USER_LISTEN DDNS_WORKER_LISTEN
	unset DDNS_DATABASE_URL DDNS_BASE_ZONES DDNS_WORKER_PUBLIC_BASE_URL
	# the dashboard only where a test asks for it (DDNS_WEB=on, tests/e2e)
	DDNS_WEB_LISTEN=127.0.0.1:${ports[9]}
	export DDNS_WEB=${DDNS_WEB:-off} DDNS_WEB_LISTEN
	stack=$root/scripts/stack.sh
	run=$DDNS_RUN_DIR
	db="postgresql://postgres@127.0.0.1:$DDNS_PG_PORT/ddns"
}

# stack_down: stops the stack and removes the PostgreSQL folder it made outside
# $tmp (when the server user could not reach $tmp); leaves $tmp. Never fails.
stack_down() {
	local alt
	"$stack" down >/dev/null 2>&1 || true
	if alt=$(readlink "$run/postgres" 2>/dev/null); then
		rm -rf "$(dirname "$alt")"
	fi
	return 0
}

# stack_start: for a TAP test (tests/harness/tap.sh): the stack comes up, the
# first TAP line; if not, the output of `stack.sh up` and the ends of the
# services' logs as diagnostics, and the test ends there
stack_start() {
	local f
	if "$stack" up >"$tmp/up.log" 2>&1; then
		ok "the stack starts"
		return 0
	fi
	notok "the stack starts"
	sed 's/^/# /' "$tmp/up.log"
	for f in "$run"/cache.log "$run"/backend.log "$run"/api.log "$run"/pdns/pdns.log; do
		[ -f "$f" ] && tail -n 20 "$f" | sed "s|^|# $(basename "$f"): |"
	done
	echo "1..$n"
	exit 1
}

# stack_cleanup: for a TAP test's EXIT trap (tests/harness/tap.sh): stack_down,
# then removes $tmp, unless a check failed and DDNS_TEST_KEEP_LOGS is set.
stack_cleanup() {
	stack_down
	if [ "$failed" -ne 0 ] && [ -n "${DDNS_TEST_KEEP_LOGS:-}" ]; then
		echo "# logs kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}

# sql STATEMENT: runs it in the stack's database, answers unaligned
sql() {
	psql "$db" -v ON_ERROR_STOP=1 -qAtc "$1"
}

# q NAME TYPE [dig options]: the full dig answer of the stack's PowerDNS
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

# TAP for the shell integration tests: source it after setting $tmp (a scratch
# directory); print the plan with `echo "1..$n"` at the end and exit "$failed".

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

notok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	failed=1
}

# check DESC CMD...: one TAP line; the output of a failing CMD as diagnostics.
check() {
	local desc=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		ok "$desc"
	else
		notok "$desc"
		sed 's/^/# /' "$tmp/out" | head -40
	fi
}

# within SECONDS CMD...: CMD succeeds within SECONDS (polled every 50 ms)
within() {
	local limit=$1 start now
	shift
	start=$(date +%s%N)
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		now=$(date +%s%N)
		[ $(((now - start) / 1000000)) -ge $((limit * 1000)) ] && break
		sleep 0.05
	done
	"$@"
}

#!/usr/bin/env bash
# The dashboard (frontend/) for make, meson and scripts/stack.sh:
#
#   scripts/frontend.sh install       npm ci, when node_modules is missing or older than the lockfile
#   scripts/frontend.sh ensure-build  install, then `next build` unless the build is newer than every source
#   scripts/frontend.sh SCRIPT        install, then `npm run SCRIPT` (test prints TAP; lint,
#                                     typecheck, build exit non-zero on failure)
#
# npm ci needs the npm registry once; everything after it runs offline. A
# lock serializes installs and builds of concurrent callers. Telemetry off.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../frontend"
export NEXT_TELEMETRY_DISABLED=1

[ $# -eq 1 ] || { echo "usage: $0 install|ensure-build|test|lint|typecheck|build" >&2; exit 2; }
for cmd in node npm flock; do
	command -v "$cmd" >/dev/null || { echo "frontend: $cmd not found; run make deps" >&2; exit 1; }
done

# npm ci leaves node_modules/.package-lock.json: missing, or older than the
# lockfile, means what is installed is not what is pinned.
stale_modules() {
	[ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]
}

# the build is stale when a source, the config or the lockfile is newer than it
stale_build() {
	[ -f .next/BUILD_ID ] || return 0
	[ -n "$(find src public next.config.ts tsconfig.json package-lock.json -newer .next/BUILD_ID \
		-print -quit 2>/dev/null)" ]
}

exec 9>"${TMPDIR:-/tmp}/ddns-frontend-$(pwd | sha256sum | cut -c1-12).lock"

install() {
	flock 9
	if stale_modules; then
		echo "frontend: installing the dashboard's packages (npm ci)" >&2
		npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
	fi
	flock -u 9
}

case "$1" in
install)
	install
	;;
ensure-build)
	install
	flock 9
	if stale_build; then
		echo "frontend: building the dashboard (next build)" >&2
		npm run --silent build >&2
	fi
	;;
build)
	install
	flock 9
	npm run --silent build
	;;
test | lint | typecheck)
	install
	exec npm run --silent "$1"
	;;
*)
	echo "usage: $0 install|ensure-build|test|lint|typecheck|build" >&2
	exit 2
	;;
esac

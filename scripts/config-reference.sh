#!/usr/bin/env bash
# The README's configuration reference, generated from the programs' own
# config tables (`PROGRAM --help-markdown`), between the markers
#   <!-- config-reference:begin --> and <!-- config-reference:end -->
#
#   scripts/config-reference.sh --write BUILDDIR   rewrite the README section
#   scripts/config-reference.sh --check BUILDDIR   fail when it is stale
set -euo pipefail

mode=${1:-}
build=${2:-build}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readme=$root/README.md

# Every program with a config table, in the order the README lists them.
programs=(
	schema/ddns-migrate
	backend/ddns-backend
	admin/ddns-admin
	services/cache/ddns-cache
	services/api/ddns-api
	services/user/ddns-user
	services/worker/ddns-worker
)

generate() {
	local p bin
	for p in "${programs[@]}"; do
		bin=$build/$p
		[ -x "$bin" ] || { echo "config-reference: $bin not built" >&2; exit 1; }
		printf '\n#### %s\n\n' "$(basename "$p")"
		env -i "$bin" --help-markdown
	done
	printf '\n'
}

section=$(generate)
current=$(sed -n '/<!-- config-reference:begin -->/,/<!-- config-reference:end -->/p' "$readme" |
	sed '1d;$d')

case "$mode" in
--check)
	if [ "$section" != "$current" ]; then
		echo "README.md's configuration reference is stale: run make docs" >&2
		diff <(printf '%s\n' "$current") <(printf '%s\n' "$section") >&2 || true
		exit 1
	fi
	echo "README.md's configuration reference matches the config tables"
	;;
--write)
	tmp=$(mktemp)
	awk -v section="$section" '
		/<!-- config-reference:begin -->/ { print; print section; skip = 1; next }
		/<!-- config-reference:end -->/ { skip = 0 }
		!skip { print }
	' "$readme" >"$tmp"
	mv "$tmp" "$readme"
	echo "README.md's configuration reference rewritten"
	;;
*)
	echo "usage: $0 --check|--write BUILDDIR" >&2
	exit 2
	;;
esac

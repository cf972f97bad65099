#!/usr/bin/env bash
# Lints the OpenAPI documents of the daemons (services/api/openapi.yaml and
# services/user/openapi.yaml), or the files given, with Redocly's lint engine,
# pinned by tools/openapi/package-lock.json; the rules and the accepted findings
# are in tools/openapi/redocly.yaml and .redocly.lint-ignore.yaml. Any warning
# fails; every document is linted even when one fails. Installs the tool with
# `npm ci` when tools/openapi/node_modules is missing or older than the lockfile
# (needs the npm registry once); the lint itself runs offline.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ $# -gt 0 ]; then
	specs=("$@")
else
	specs=(services/api/openapi.yaml services/user/openapi.yaml)
fi
tool=tools/openapi

for cmd in node npm; do
	command -v "$cmd" >/dev/null || { echo "lint-openapi: $cmd not found; run make deps" >&2; exit 1; }
done
# npm ci leaves node_modules/.package-lock.json: its absence or an older copy
# than the lockfile means the installed tool is not the pinned one.
if [ ! -f "$tool/node_modules/.package-lock.json" ] ||
	[ "$tool/package-lock.json" -nt "$tool/node_modules/.package-lock.json" ]; then
	echo "lint-openapi: installing the linter (npm ci --prefix $tool)"
	npm ci --prefix "$tool" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
fi
status=0
for spec in "${specs[@]}"; do
	node "$tool/lint.js" "$spec" || status=1
done
exit "$status"

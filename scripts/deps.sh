#!/usr/bin/env bash
# `make deps`: installs the Debian packages listed in scripts/debian-packages.txt
# that are missing; does nothing (and needs no network) when all are present.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' debian-packages.txt)
# Names that installed packages provide also count: NodeSource's nodejs, for
# one, provides (and conflicts with) Debian's npm, which must not be installed.
provided=" $(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
	sed -n 's/^ii *|//p' | tr ',' '\n' | sed -e 's/(.*)//' -e 's/[[:space:]]//g' |
	sort -u | tr '\n' ' ') "
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		[[ $provided == *" $p "* ]] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} Debian packages are installed"
	exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "deps: missing ${missing[*]}; run as root or install sudo" >&2; exit 1; }
	sudo=(sudo)
fi
echo "deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
# services that packages start on install (postgresql, redis) are not used:
# the stack starts its own on other ports
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env python3
"""Keeps a daemon's OpenAPI document true to the daemon: the set of (method,
path) pairs it serves, as `BINARY --routes` prints them ("GET /api/v1/zones",
one a line, built-ins included; no HEAD lines: HEAD is served by every GET
route), must equal the document's operations. Used for ddns-api
(services/api/openapi.yaml, the default document) and ddns-user
(services/user/openapi.yaml).

Usage: openapi-routes.py BINARY [OPENAPI_FILE]
TAP output; exits 1 when a check fails, 2 on bad usage.
Needs python3 and python3-yaml (Debian) only.
"""

import os
import re
import subprocess
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROUTE_LINE = re.compile(r"^([A-Z]+) (/\S*)$")
DEFAULT_SPEC = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "services", "api", "openapi.yaml"
)

results = []  # (ok, description, diagnostics)


def check(ok, description, diagnostics=()):
    results.append((bool(ok), description, list(diagnostics)))
    return ok


def routes_of_binary(binary):
    """The routes the daemon prints, as a list of (METHOD, path); or None."""
    try:
        proc = subprocess.run(
            [binary, "--routes"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError) as e:
        check(False, f"{binary} --routes runs", [str(e)])
        return None
    if proc.returncode != 0:
        check(False, f"{binary} --routes exits 0",
              [f"exit status {proc.returncode}"] + proc.stderr.splitlines()[-5:])
        return None
    routes, bad = [], []
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        m = ROUTE_LINE.match(line.strip())
        if m:
            routes.append((m.group(1), m.group(2)))
        else:
            bad.append(f"not 'METHOD /path': {line!r}")
    if not check(routes and not bad, f"{binary} --routes prints 'METHOD /path' lines",
                 bad or ["it printed no route"]):
        return None
    return routes


def routes_of_document(path):
    """The document's operations, as a list of (METHOD, path); or None."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        check(False, f"{path} is readable YAML", [str(e)])
        return None
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not check(isinstance(paths, dict) and paths, f"{path} has paths",
                 ["no 'paths' object"]):
        return None
    routes = []
    for p, item in paths.items():
        if not isinstance(item, dict):
            continue
        routes += [(m.upper(), p) for m in item if m in METHODS]
    if not check(routes, f"{path} has operations", ["no operation under 'paths'"]):
        return None
    return routes


def listing(routes):
    return [f"{m} {p}" for m, p in sorted(routes, key=lambda r: (r[1], r[0]))]


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    binary = argv[1]
    daemon = os.path.basename(binary)
    spec = argv[2] if len(argv) == 3 else os.path.normpath(DEFAULT_SPEC)
    served = routes_of_binary(binary)
    documented = routes_of_document(spec)
    if served is not None and documented is not None:
        dup = {r for r in served if served.count(r) > 1}
        check(not dup, f"{daemon} lists each route once",
              ["listed more than once: " + r for r in listing(dup)])
        served_set, documented_set = set(served), set(documented)
        missing = served_set - documented_set
        extra = documented_set - served_set
        check(not missing, f"every route {daemon} serves is in {spec}",
              ["served, not documented: " + r for r in listing(missing)])
        check(not extra, f"every operation of {spec} is served by {daemon}",
              ["documented, not served: " + r for r in listing(extra)])
        check(not missing and not extra,
              f"{daemon} ({len(served_set)} routes) and {spec} ({len(documented_set)}) agree",
              [f"{len(missing)} undocumented, {len(extra)} not served"])
    print(f"1..{len(results)}")
    for i, (ok, description, diagnostics) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {description}")
        if not ok:
            for d in diagnostics:
                print(f"#   {d}")
    return 0 if results and all(ok for ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Counts the results of a `meson test` run and prints the closing line.

Reads meson-logs/testlog.json. A TAP program counts one result per TAP line
(`ok`, `not ok`, `# SKIP`); a TAP program that crashed or failed without a
`not ok` line counts one failure more; any other test counts by its result.
Prints one line per failing test, then `N passed, N failed[, N skipped]`.
Exits 1 when anything failed or nothing ran.
"""
import json
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b(.*)$")
SKIP_PLAN = re.compile(r"^1\.\.0\b.*#\s*skip", re.IGNORECASE)


def main(path):
    passed = failed = skipped = 0
    failures = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            t = json.loads(line)
            result = t.get("result", "ERROR")
            lines = (t.get("stdout") or "").splitlines()
            p = fl = s = 0
            for ln in lines:
                m = TAP.match(ln)
                if m:
                    directive = m.group(2).lower()
                    if "# skip" in directive:
                        s += 1
                    elif m.group(1) == "ok":
                        p += 1
                    else:
                        fl += 1
                        failures.append(f"{t['name']}: {ln.strip()}")
                elif SKIP_PLAN.match(ln):
                    s += 1
            if p + fl + s == 0:
                if result == "OK":
                    p = 1
                elif result == "SKIP":
                    s = 1
                else:
                    fl = 1
                    failures.append(f"{t['name']}: {result} (exit {t.get('returncode')})")
            elif result not in ("OK", "SKIP") and fl == 0:
                fl = 1
                failures.append(f"{t['name']}: {result} (exit {t.get('returncode')}) after {p} passing cases")
            passed += p
            failed += fl
            skipped += s
    for msg in failures:
        print(f"FAILED {msg}")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

#!/usr/bin/env python3
"""Propagation latency of tests/bench/api.sh: from ddns-api's 2xx to PowerDNS
answering the new value.

For each update, in sequence, spread round robin over the users of DATAFILE
("DOMAIN TOKEN RECORD_ID" a line): PUT the domain's A RRset with a new
address over one kept-alive HTTP/1.1 connection, take the time the 2xx has
arrived, then ask PowerDNS over UDP (a hand-built query, no recursion
desired) every INTERVAL until an answer holds the new address; the latency
is the arrival of that answer minus the arrival of the 2xx. An update whose
value is not seen within TIMEOUT counts as a timeout. The run stops after
COUNT updates or BUDGET seconds, whichever comes first.

Prints lines for the log, and last one machine-readable line:
  propagation count=N timeouts=T http_errors=E p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. mean_ms=..
Standard library only.
"""

import argparse
import http.client
import os
import random
import socket
import struct
import sys
import time


def dns_query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)  # A, IN


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def answer_addrs(msg, qid):
    """The A addresses of an answer to query @qid, or None when it is not one."""
    if len(msg) < 12:
        return None
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    if rid != qid or not flags & 0x8000:
        return None
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    out = set()
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            out.add(socket.inet_ntoa(msg[off:off + 4]))
        off += rdlen
    return out


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True, help="HOST:PORT of ddns-api")
    ap.add_argument("--dns", required=True, help="HOST:PORT of PowerDNS")
    ap.add_argument("--data", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--interval", type=float, default=0.001)
    ap.add_argument("--budget", type=float, default=120.0)
    ap.add_argument("--first-octet", type=int, default=172)
    ap.add_argument("--out", help="write every latency in ms here, one a line")
    a = ap.parse_args()

    users = []
    with open(a.data) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                users.append((parts[0], parts[1]))
    if not users:
        sys.exit("propagation: no users in " + a.data)
    host, port = a.api.rsplit(":", 1)
    dhost, dport = a.dns.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((dhost, int(dport)))
    rng = random.Random(os.getpid())

    lat, timeouts, http_errors, polls = [], 0, 0, 0
    start = time.monotonic()
    i = 0
    while i < a.count and time.monotonic() - start < a.budget:
        domain, token = users[i % len(users)]
        addr = "%d.%d.%d.%d" % (a.first_octet, (i >> 16) & 255, (i >> 8) & 255, i & 255)
        body = '{"rrsets":[{"name":"%s","type":"A","records":["%s"]}]}' % (domain, addr)
        i += 1
        try:
            conn.request("PUT", "/api/v1/domains/%s/rrsets" % domain, body=body,
                         headers={"Authorization": "Bearer " + token,
                                  "Content-Type": "application/json"})
            resp = conn.getresponse()
            text = resp.read()
        except (OSError, http.client.HTTPException) as e:
            http_errors += 1
            print("propagation: update %d: %s" % (i, e), file=sys.stderr)
            conn.close()
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            continue
        t0 = time.monotonic()
        wall0 = time.time()
        if resp.status != 200:
            http_errors += 1
            print("propagation: update %d: HTTP %d %s" % (i, resp.status, text[:200]),
                  file=sys.stderr)
            continue
        deadline = t0 + a.timeout
        seen = None
        last = None
        next_poll = t0
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if now < next_poll:
                time.sleep(next_poll - now)
            next_poll = time.monotonic() + a.interval
            qid = rng.randrange(65536)
            sock.send(dns_query(qid, domain))
            polls += 1
            # wait for this query's answer (late answers of earlier ones are skipped)
            wait_until = min(deadline, time.monotonic() + 0.5)
            addrs = None
            while addrs is None:
                left = wait_until - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    msg = sock.recv(4096)
                except socket.timeout:
                    break
                addrs = answer_addrs(msg, qid)
            if addrs is not None:
                last = addrs
            if addrs is not None and addr in addrs:
                seen = time.monotonic()
                break
        if seen is None:
            timeouts += 1
            print("propagation: update %d: %s A %s not answered within %.1f s (last answer: %s;"
                  " the API's answer came at %s UTC)"
                  % (i, domain, addr, a.timeout, sorted(last) if last is not None else "none",
                     time.strftime("%H:%M:%S", time.gmtime(wall0)) + ".%03d" % (wall0 % 1 * 1000)),
                  file=sys.stderr)
        else:
            lat.append((seen - t0) * 1000.0)
            if seen - t0 > 1.0:
                print("propagation: update %d: %s A %s seen only after %.0f ms"
                      % (i, domain, addr, (seen - t0) * 1000.0), file=sys.stderr)

    elapsed = time.monotonic() - start
    lat_sorted = sorted(lat)
    if a.out:
        with open(a.out, "w") as f:
            f.writelines("%.3f\n" % v for v in lat)
    print("propagation: %d updates in %.1f s over %d names, %d DNS polls, poll interval %.1f ms"
          % (i, elapsed, min(len(users), i), polls, a.interval * 1000), file=sys.stderr)
    mean = sum(lat) / len(lat) if lat else float("nan")
    print("propagation count=%d timeouts=%d http_errors=%d p50_ms=%.2f p90_ms=%.2f "
          "p99_ms=%.2f max_ms=%.2f mean_ms=%.2f"
          % (i, timeouts, http_errors, pct(lat_sorted, 50), pct(lat_sorted, 90),
             pct(lat_sorted, 99), lat_sorted[-1] if lat_sorted else float("nan"), mean))


if __name__ == "__main__":
    main()

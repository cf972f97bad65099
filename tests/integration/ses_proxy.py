#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of moto_server, for test_worker.sh.

Usage: ses_proxy.py PORT_FILE UPSTREAM_PORT THROTTLE REJECT SLOW

Listens on a free loopback port (written to PORT_FILE once listening) and
forwards every request to 127.0.0.1:UPSTREAM_PORT unchanged, except:
  - the first THROTTLE requests are answered 429 TooManyRequestsException;
  - a request whose body names the recipient REJECT is answered 400
    MessageRejected (SES v2's error form: x-amzn-ErrorType and a JSON message);
  - a request whose body names the recipient SLOW is held 2 s before it is
    forwarded (a send in flight).
Each request is logged on stdout as one line: "<n> <action>".
Standard library only.
"""
import http.client
import os
import http.server
import sys
import threading
import time

port_file, upstream, throttle, reject, slow = sys.argv[1:6]
upstream = int(upstream)
throttle = int(throttle)
lock = threading.Lock()
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, error_type, message):
        body = ('{"message":"%s"}' % message).encode()
        self.send_response(status)
        self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, method):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            count += 1
            n = count
        if n <= throttle:
            print(n, "throttled", flush=True)
            return self.answer(429, "TooManyRequestsException", "Too many requests")
        if reject and ('"%s"' % reject).encode() in body:
            print(n, "rejected", flush=True)
            return self.answer(400, "MessageRejected", "Address blacklisted.")
        if slow and ('"%s"' % slow).encode() in body:
            print(n, "slow", flush=True)
            time.sleep(2)
        print(n, "forwarded", flush=True)
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(method, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length",
                                 "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    def do_POST(self):
        self.forward("POST")

    def do_GET(self):
        self.forward("GET")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()

#!/usr/bin/env python3
"""A minimal SMTP server for test_worker.sh (standard library only).

Usage: smtp_sink.py PORT_FILE OUT_DIR

Listens on a free loopback port (written to PORT_FILE once listening), speaks
enough SMTP for libcurl (EHLO without STARTTLS, MAIL, RCPT, DATA, QUIT) and
writes each message to OUT_DIR/<n>.eml with its envelope in OUT_DIR/<n>.env.
Faults by recipient:
  rejected@...  RCPT answered 550 (permanent)
  grey@...      RCPT answered 451 the first time (temporary), 250 afterwards
"""
import asyncio
import os
import sys

port_file, out_dir = sys.argv[1], sys.argv[2]
count = 0
seen_grey = set()


async def session(reader, writer):
    global count

    def send(line):
        writer.write((line + "\r\n").encode())

    send("220 sink ESMTP")
    mail_from, rcpts = None, []
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.decode(errors="replace").rstrip("\r\n")
        verb = cmd.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            send("250-sink")
            send("250 8BITMIME")
        elif verb == "MAIL":
            mail_from, rcpts = cmd[10:], []
            send("250 ok")
        elif verb == "RCPT":
            to = cmd[8:]
            if to.startswith("<rejected@"):
                send("550 5.1.1 no such user")
            elif to.startswith("<grey@") and to not in seen_grey:
                seen_grey.add(to)
                send("451 4.7.1 greylisted, try again later")
            else:
                rcpts.append(to)
                send("250 ok")
        elif verb == "DATA":
            send("354 go ahead")
            await writer.drain()
            data = []
            while True:
                dl = await reader.readline()
                if not dl or dl == b".\r\n":
                    break
                data.append(dl[1:] if dl.startswith(b"..") else dl)
            count += 1
            with open(os.path.join(out_dir, "%d.eml" % count), "wb") as f:
                f.write(b"".join(data))
            with open(os.path.join(out_dir, "%d.env" % count), "w") as f:
                f.write("from %s\nto %s\n" % (mail_from, " ".join(rcpts)))
            send("250 queued as %d" % count)
        elif verb == "RSET":
            mail_from, rcpts = None, []
            send("250 ok")
        elif verb == "QUIT":
            send("221 bye")
            await writer.drain()
            break
        else:
            send("502 not implemented")
        await writer.drain()
    writer.close()


async def main():
    os.makedirs(out_dir, exist_ok=True)
    server = await asyncio.start_server(session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


asyncio.run(main())

#!/usr/bin/env python3
"""Benchmark (not a test): chat fan-out to N WebSocket viewers.

S senders (distinct users, each at the per-user limit of 5 messages/s)
chat for D seconds in one room with N viewers; every viewer's socket is
read and the chat messages inside its `batch` frames are counted.  Prints
messages sent per second and messages delivered per second (sent x
viewers when nobody falls behind), plus the median delivery delay.
Run inside `unshare --net` (loopback only), e.g.
  unshare --net sh -c 'ip link set lo up; python3 tests/interactions/bench_fanout.py'
"""

import json
import os
import selectors
import socket
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import stagecast  # noqa: E402
import wsclient  # noqa: E402

N = int(os.environ.get("VIEWERS", "1000"))
S = int(os.environ.get("SENDERS", "100"))
D = float(os.environ.get("SECONDS", "10"))
ROOM = "bench"


def frames(buf):
    """Complete unmasked server frames in buf: (list of payloads, rest)."""
    out, i = [], 0
    while len(buf) - i >= 2:
        b1 = buf[i + 1] & 0x7F
        h = 2
        if b1 == 126:
            if len(buf) - i < 4:
                break
            n = struct.unpack_from("!H", buf, i + 2)[0]
            h = 4
        elif b1 == 127:
            if len(buf) - i < 10:
                break
            n = struct.unpack_from("!Q", buf, i + 2)[0]
            h = 10
        else:
            n = b1
        if len(buf) - i < h + n:
            break
        out.append(buf[i + h:i + h + n])
        i += h + n
    return out, buf[i:]


def main():
    # Every viewer connects from 127.0.0.1: no per-address share of the
    # connection budget (by default a quarter of it).
    srv = stagecast.Server(workers=1, extra_args=["--max-connections-per-ip", "0"]).start()
    key = srv.secret()
    exp = int(time.time()) + 3600

    def tok(role, sub):
        perms = ["subscribe", "chat"]
        return stagecast.jwt_make({"room": ROOM, "role": role, "name": sub, "sub": sub,
                                   "exp": exp, "iat": exp - 3600, "perms": perms}, key)

    try:
        socks = []
        vtok = tok("viewer", "viewer")
        for i in range(N + S):
            c = wsclient.WsClient(stagecast.HOST, srv.port)
            t = vtok if i < N else tok("viewer", "sender-%d" % i)
            c.send_json({"type": "join", "token": t})
            socks.append(c)
        sel = selectors.DefaultSelector()
        bufs = {}
        for i, c in enumerate(socks):
            c.sock.setblocking(False)
            bufs[c.sock.fileno()] = [i, c.buf]
            sel.register(c.sock, selectors.EVENT_READ)
        delivered = 0
        delays = []
        start = time.monotonic()
        next_send = start
        seq = 0
        sent = 0

        def pump(timeout):
            nonlocal delivered
            for k, _ in sel.select(timeout):
                fd = k.fd
                try:
                    data = k.fileobj.recv(1 << 20)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(k.fileobj)
                    continue
                ent = bufs[fd]
                payloads, ent[1] = frames(ent[1] + data)
                if ent[0] >= N:
                    continue
                now = time.time()
                for p in payloads:
                    if not p.startswith(b'{"type":"batch"'):
                        continue
                    msgs = json.loads(p)["messages"]
                    for m in msgs:
                        if m.get("type") == "chat":
                            delivered += 1
                            if len(delays) < 200000 and delivered % 97 == 0:
                                delays.append(now - float(m["text"].split()[1]))

        while time.monotonic() - start < D:
            if time.monotonic() >= next_send:
                for c in socks[N:]:
                    seq += 1
                    payload = json.dumps({"type": "chat", "text": "%d %.6f" % (seq, time.time())})
                    c.sock.setblocking(True)
                    c.send_text(payload)
                    c.sock.setblocking(False)
                    sent += 1
                next_send += 0.2   # 5 per second per sender: the default limit
            pump(max(0.0, next_send - time.monotonic()))
        drain_until = time.monotonic() + 3
        while time.monotonic() < drain_until:
            pump(0.1)
        stats = srv.stats(srv.admin_token())
        print(json.dumps({
            "viewers": N, "senders": S, "seconds": D,
            "sent_per_s": round(sent / D, 1),
            "delivered": delivered, "expected": sent * N,
            "delivered_per_s": round(delivered / D),
            "delay_ms_median": round(statistics.median(delays) * 1000, 1) if delays else None,
            "delay_ms_p99": round(sorted(delays)[int(len(delays) * 0.99)] * 1000, 1)
            if delays else None,
            "ws_dropped_slow": stagecast.counter(stats, "ws_dropped_slow"),
        }))
    finally:
        srv.stop()
        srv.cleanup()


if __name__ == "__main__":
    main()

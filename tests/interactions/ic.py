"""Helpers for the interaction suite: a WebSocket client that keeps every
message it did not ask for (so broadcasts arriving while it waits for a
reply are not lost), and a server wrapper that mints tokens with chosen
user ids.  All traffic goes to 127.0.0.1 inside `unshare --net`."""

import itertools
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import wsclient  # noqa: E402

_ids = itertools.count(1)


class Client:
    def __init__(self, server, room, role, name, sub):
        self.server = server
        self.sub = sub
        self.name = name
        self.token = server.token(room, role, name, extra=["--sub", sub])
        self.ws = wsclient.WsClient(stagecast.HOST, server.port)
        self.inbox = []
        self.joined = self.req({"type": "join", "token": self.token})

    # -- sending ------------------------------------------------------------

    def send(self, obj):
        self.ws.send_json(obj)

    def send_many(self, objs):
        """Several messages in one TCP write, so the server reads them in
        one service turn (they land in the same fan-out tick)."""
        chunks = []

        class Collect:
            sendall = chunks.append

        real = self.ws.sock
        self.ws.sock = Collect()
        try:
            for o in objs:
                self.ws.send_json(o)
        finally:
            self.ws.sock = real
        real.sendall(b"".join(chunks))

    def req(self, obj, timeout=10.0):
        """Send obj with a fresh id and return the message that carries it
        back as `re`; everything else read meanwhile goes to the inbox."""
        obj = dict(obj)
        obj["id"] = next(_ids)
        self.send(obj)
        deadline = time.monotonic() + timeout
        while True:
            m = self.ws.recv_json(max(0.01, deadline - time.monotonic()))
            if m.get("re") == obj["id"]:
                return m
            self.inbox.append(m)

    # -- receiving ----------------------------------------------------------

    def wait(self, pred, timeout=10.0):
        """The first message (inbox first) for which pred(m) holds; it is
        removed from the inbox.  pred may be a type name."""
        if isinstance(pred, str):
            t = pred
            pred = lambda m: m.get("type") == t  # noqa: E731
        for i, m in enumerate(self.inbox):
            if pred(m):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self.ws.recv_json(max(0.01, deadline - time.monotonic()))
            if pred(m):
                return m
            self.inbox.append(m)

    def drain(self, seconds=0.4):
        """Read for a while; returns (and keeps) everything received."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                self.inbox.append(self.ws.recv_json(left))
            except socket.timeout:
                break
        return list(self.inbox)

    def batched(self, kind=None):
        """Messages delivered inside `batch` frames so far (inbox), in order."""
        out = []
        for m in self.inbox:
            if m.get("type") == "batch":
                out += [x for x in m["messages"] if kind is None or x.get("type") == kind]
        return out

    def wait_batched(self, pred, timeout=10.0):
        """Read until a batched message satisfying pred has arrived."""
        deadline = time.monotonic() + timeout
        while True:
            for x in self.batched():
                if pred(x):
                    return x
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching batched message; inbox: %r" % self.inbox[-20:])
            try:
                self.inbox.append(self.ws.recv_json(left))
            except socket.timeout:
                pass

    def close(self):
        self.ws.close()


def start_server(words=None):
    s = stagecast.Server(workers=1)
    if words is not None:
        with open(os.path.join(s.data, "words.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(words) + "\n")
    return s.start()


def join(server, room, role, name, sub):
    c = Client(server, room, role, name, sub)
    if c.joined.get("type") != "joined":
        raise AssertionError("join failed: %r" % c.joined)
    return c


def http_get(server, path, token):
    return server.request("GET", path, headers={"Authorization": "Bearer " + token})

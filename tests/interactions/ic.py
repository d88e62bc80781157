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


# -- token buckets (rate limits) ------------------------------------------------
#
# The server limits each user with token buckets (signaling/interact/interact.c,
# sc__rate_ok): `burst` tokens, full when the user is first seen in a room,
# refilled continuously at `rate` per second (measured in whole ms of
# CLOCK_REALTIME) up to `burst`; a message is accepted if a whole token is
# left.  So for a burst of n messages from a fresh user, handled by the server
# over a span D between the first and the last:
#   - the first min(n, burst) are always accepted (tokens only drop by
#     acceptances), whatever the timing;
#   - at most burst + floor(rate * D) are accepted in all.
# D is not visible to the client, but it is at most the time from just before
# the write to the arrival of the last reply (the server cannot handle a
# message before it is sent, nor reply before handling it), so that is what
# the bound uses, plus a few ms for the ms rounding.  A slow or busy machine
# only loosens the upper bound; when it is loosened so far that it no longer
# forces a refusal, the burst is sent again from a fresh user (see
# rate_limited_burst), so the limit itself is always checked.

RATE_MARGIN_S = 0.005


def timed_burst(client, objs):
    """Sends objs (each given a fresh id) in one TCP write and returns
    (replies in order, elapsed): elapsed runs from just before the write to
    the arrival of the last reply, an upper bound on the time the server
    spent between handling the first message and the last."""
    objs = [dict(o, id=next(_ids)) for o in objs]
    want = {o["id"] for o in objs}
    got = {}
    t0 = time.monotonic()
    client.send_many(objs)
    while want - set(got):
        m = client.wait(lambda m: m.get("re") in want)
        got[m["re"]] = m
    elapsed = time.monotonic() - t0
    return [got[o["id"]] for o in objs], elapsed


def reply_kind(r):
    """"sent"/"ok"/... for a success, the error code for an error."""
    return r.get("code") if r.get("type") == "error" else r.get("type")


def check_bucket(test, kinds, ok, burst, rate, elapsed):
    """Asserts what a full token bucket (burst, rate per second) allows for a
    burst whose replies are `kinds` (see reply_kind), handled within
    `elapsed` seconds.  Returns the upper bound on acceptances it applied."""
    n = len(kinds)
    test.assertEqual([k for k in kinds if k not in (ok, "rate-limited")], [], kinds)
    lo = min(n, burst)
    hi = min(n, burst + int(rate * (elapsed + RATE_MARGIN_S)))
    test.assertEqual(kinds[:lo], [ok] * lo,
                     "the first %d of a burst must pass a full bucket: %r" % (lo, kinds))
    test.assertLessEqual(kinds.count(ok), hi,
                         "burst %d + %d/s x %.3f s allows at most %d of %d, got %r"
                         % (burst, rate, elapsed, hi, n, kinds))
    return hi


def rate_limited_burst(test, new_client, make_objs, ok, burst, rate, need_below=None,
                       attempts=5):
    """Sends a burst (make_objs(attempt)) from a fresh user (new_client(attempt),
    so a full bucket) and checks it with check_bucket, until one attempt was
    handled fast enough that the bound forces refusals: at most
    need_below - 1 accepted (default: fewer than all).  Every attempt is
    checked; if none was fast enough to exercise the limit, the test fails
    rather than pass without checking it.  Returns one (client, replies,
    kinds, elapsed) per attempt, the exercising one last."""
    out = []
    for attempt in range(attempts):
        client = new_client(attempt)
        objs = make_objs(attempt)
        limit = len(objs) if need_below is None else need_below
        replies, elapsed = timed_burst(client, objs)
        kinds = [reply_kind(r) for r in replies]
        hi = check_bucket(test, kinds, ok, burst, rate, elapsed)
        out.append((client, replies, kinds, elapsed))
        if hi < limit:
            return out
        print("\n  burst of %d took %.2f s: too slow to require a refusal, again"
              % (len(objs), elapsed), file=sys.stderr)
    test.fail("none of %d bursts was handled fast enough to exercise the rate limit "
              "(elapsed: %s)" % (attempts, ", ".join("%.2f s" % o[3] for o in out)))


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

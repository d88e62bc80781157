"""GET /metrics, /healthz and /readyz against a real server (docs/operations.md,
"Metrics"): who may read the metrics, what promtool says of them, that the
figures move with real traffic (an aiortc publisher and viewer), and that
/healthz names a worker whose loop stands still.
Run by tests/badinput/run inside a network namespace with only loopback."""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import rtc  # noqa: E402

SERVER = None
STALL_FILE = None
MEDIA_TIMEOUT = 30.0   # deadlines only: every wait ends when its condition holds
CONTENT_TYPE = "text/plain; version=0.0.4"

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def parse(text):
    """{(name, ((label, value), ...)): value} and {family: type}; fails on a
    family typed twice or a sample whose family was not typed before it (a
    histogram's samples are its name with _bucket, _sum and _count)."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            if name in types:
                raise AssertionError("TYPE of %s twice" % name)
            types[name] = typ
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("not a sample line: %r" % line)
        name, labels, value = m.groups()
        if (name not in types
                and types.get(re.sub(r"_(bucket|sum|count)$", "", name)) != "histogram"):
            raise AssertionError("sample of %s before its TYPE" % name)
        pairs = []
        rest = labels or ""
        while rest:
            lm = LABEL.match(rest)
            if not lm:
                raise AssertionError("bad labels in %r" % line)
            pairs.append((lm.group(1), unescape(lm.group(2))))
            rest = rest[lm.end():]
        samples[(name, tuple(sorted(pairs)))] = float(value)
    return samples, types


def value(samples, name, default=None, **labels):
    key = (name, tuple(sorted(labels.items())))
    if key not in samples:
        if default is not None:
            return default
        raise AssertionError("no sample %s%r" % (name, labels))
    return samples[key]


def check_histogram(samples, name, **labels):
    """A histogram's buckets are cumulative, end with +Inf, and +Inf is its
    _count; returns the count."""
    les = sorted((float(dict(k[1])["le"]), v) for k, v in samples.items()
                 if k[0] == name + "_bucket"
                 and {a: b for a, b in k[1] if a != "le"} == labels)
    if not les or les[-1][0] != float("inf"):
        raise AssertionError("%s%r: no +Inf bucket" % (name, labels))
    counts = [v for _, v in les]
    if counts != sorted(counts):
        raise AssertionError("%s%r: buckets not cumulative: %r" % (name, labels, les))
    count = value(samples, name + "_count", **labels)
    if counts[-1] != count:
        raise AssertionError("%s%r: +Inf %s, count %s" % (name, labels, counts[-1], count))
    value(samples, name + "_sum", **labels)
    return count


def setUpModule():
    global SERVER, STALL_FILE
    STALL_FILE = os.path.join(tempfile.mkdtemp(prefix="stagecast-stall-"), "stall")
    os.environ["STAGECAST_TEST_STALL_FILE"] = STALL_FILE
    try:
        SERVER = stagecast.Server(workers=2).start()
    finally:
        # Only this module's server holds a worker still on purpose.
        del os.environ["STAGECAST_TEST_STALL_FILE"]


def tearDownModule():
    try:
        SERVER.stop_checked()
    finally:
        if os.path.exists(STALL_FILE):
            os.unlink(STALL_FILE)
        os.rmdir(os.path.dirname(STALL_FILE))


def scrape(token=None):
    token = token or SERVER.admin_token()
    r = SERVER.request("GET", "/metrics", None, {"Authorization": "Bearer " + token})
    if r.status != 200:
        raise AssertionError("GET /metrics: %r" % r)
    return r


class Access(unittest.TestCase):
    def test_metrics_need_admin_token(self):
        r = SERVER.request("GET", "/metrics")
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.error_code(), "token-missing")
        r = SERVER.request("GET", "/metrics", None, {"Authorization": "Basic YWRtaW46YWRtaW4="})
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.error_code(), "token-invalid")
        for room, role in (("m-room", "viewer"), ("m-room", "cohost"), ("m-room", "presenter")):
            tok = SERVER.token(room, role)
            r = SERVER.request("GET", "/metrics", None, {"Authorization": "Bearer " + tok})
            self.assertEqual(r.status, 403, (room, role, r))
            self.assertEqual(r.error_code(), "forbidden")
            self.assertNotIn(b"stagecast_", r.body)
        r = scrape()
        self.assertTrue(r.headers["content-type"].startswith(CONTENT_TYPE), r.headers)

    def test_healthz_readyz_without_token(self):
        for path in ("/healthz", "/readyz"):
            r = SERVER.request("GET", path)
            self.assertEqual(r.status, 200, (path, r))
            self.assertEqual(r.json(), {"status": "ok"}, path)
            self.assertEqual(r.headers["content-type"], "application/json")
            r = SERVER.request("POST", path, "{}")
            self.assertEqual(r.status, 405, (path, r))


class Quiet(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)


class Scrape(Quiet):
    room = "metrics-flow"

    def promtool(self, body):
        try:
            p = subprocess.run(["promtool", "check", "metrics"], input=body,
                               capture_output=True, timeout=60)
        except FileNotFoundError:
            self.fail("promtool is missing: scripts/setup installs it (Debian's prometheus)")
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.assertEqual((p.returncode, out.strip()), (0, ""), "promtool check metrics")

    async def ascrape(self):
        r = await asyncio.to_thread(scrape)
        self.promtool(r.body)
        return parse(r.body.decode("utf-8"))

    async def test_scrape_moves_with_traffic(self):
        before, types = await self.ascrape()
        self.assertEqual(value(before, "stagecast_build_info",
                               version=SERVER.health().json()["version"]), 1)
        started = value(before, "stagecast_process_start_time_seconds")
        self.assertLess(abs(started - time.time()), 3600)
        for name, typ in types.items():
            self.assertEqual(name.endswith("_total"), typ == "counter", name)
        for w in ("0", "1"):
            value(before, "stagecast_worker_sessions", worker=w)
            self.assertLess(value(before, "stagecast_worker_loop_age_seconds", worker=w), 2)
        value(before, "stagecast_media_dropped_total", cause="srtp")
        self.assertEqual(types["stagecast_media_dropped_total"], "counter")

        pcs = []
        try:
            ptok = SERVER.token(self.room, "presenter")
            vtok = SERVER.token(self.room, "viewer")
            pub, presp = await rtc.publish(SERVER, self.room, ptok)
            pcs.append(pub)
            self.assertEqual(presp.status, 201, presp)
            viewer, vresp, counter = await rtc.view(SERVER, self.room, vtok)
            pcs.append(viewer)
            self.assertEqual(vresp.status, 201, vresp)
            self.assertTrue(await counter.wait_for(video=20, audio=30, timeout=MEDIA_TIMEOUT),
                            "no media: %d video / %d audio" % (counter.video, counter.audio))
            await asyncio.to_thread(SERVER.request, "GET", "/api/no-such-thing")
            # Round trips come with the viewer's receiver reports that answer
            # the sender reports forwarded to it (about one a second).
            deadline = time.monotonic() + MEDIA_TIMEOUT
            while True:
                during, _ = await self.ascrape()
                if (check_histogram(during, "stagecast_rtt_seconds")
                        > check_histogram(before, "stagecast_rtt_seconds")
                        or time.monotonic() > deadline):
                    break
                await asyncio.sleep(0.2)
            counter.cancel()
        finally:
            for pc in pcs:
                await pc.close()

        def rise(name, **labels):
            return value(during, name, **labels) - value(before, name, **labels)

        # Both sessions' joins (offer to DTLS up) and the viewer's round trips.
        self.assertEqual(types["stagecast_join_seconds"], "histogram")
        self.assertEqual(types["stagecast_rtt_seconds"], "histogram")
        for role in ("publisher", "viewer"):
            self.assertEqual(check_histogram(during, "stagecast_join_seconds", role=role)
                             - check_histogram(before, "stagecast_join_seconds", role=role), 1,
                             role)
            self.assertGreater(rise("stagecast_join_seconds_sum", role=role), 0, role)
        self.assertGreater(check_histogram(during, "stagecast_rtt_seconds"),
                           check_histogram(before, "stagecast_rtt_seconds"),
                           "no round trip measured")

        self.assertEqual(rise("stagecast_sessions_open", kind="publish", transport="udp"), 1)
        self.assertEqual(rise("stagecast_sessions_open", kind="subscribe", transport="udp"), 1)
        self.assertGreaterEqual(rise("stagecast_media_sessions"), 2)
        self.assertGreater(rise("stagecast_http_requests_total"), 0)
        # Statuses appear once they have happened.
        self.assertGreaterEqual(value(during, "stagecast_http_errors_total", status="404")
                                - value(before, "stagecast_http_errors_total", 0, status="404"),
                                1)
        self.assertGreater(rise("stagecast_media_rx_packets_total"), 0)
        self.assertGreater(rise("stagecast_media_rx_bytes_total"), 0)
        self.assertGreater(rise("stagecast_media_forwarded_packets_total"), 0)
        self.assertGreaterEqual(rise("stagecast_events_total", topic="session_opened"), 2)
        self.assertGreaterEqual(rise("stagecast_events_total", topic="publisher_joined"), 1)
        self.assertEqual(sum(value(during, "stagecast_worker_sessions", worker=w)
                             for w in ("0", "1")),
                         value(during, "stagecast_media_sessions"))

        # Once both sessions are deleted (closed peers time out later; the
        # WHIP/WHEP DELETE ends them now) the registry counts them no more.
        for resp, tok in ((presp, ptok), (vresp, vtok)):
            d = await asyncio.to_thread(SERVER.delete, resp.headers["location"], tok)
            self.assertEqual(d.status, 200, d)
        deadline = time.monotonic() + 10
        while True:
            after, _ = await self.ascrape()
            if (value(after, "stagecast_sessions_open", kind="publish", transport="udp")
                    == value(before, "stagecast_sessions_open", kind="publish", transport="udp")
                    or time.monotonic() > deadline):
                break
            await asyncio.sleep(0.1)
        self.assertEqual(value(after, "stagecast_sessions_open", kind="publish", transport="udp"),
                         value(before, "stagecast_sessions_open", kind="publish", transport="udp"))
        self.assertGreaterEqual(value(after, "stagecast_events_total", topic="session_closed")
                                - value(before, "stagecast_events_total", topic="session_closed"),
                                2)


class Health(unittest.TestCase):
    def stall(self, line):
        with open(STALL_FILE + ".tmp", "w") as f:
            f.write(line)
        os.replace(STALL_FILE + ".tmp", STALL_FILE)

    def wait_for(self, what, fn, timeout):
        got = stagecast.wait_for(fn, timeout, 0.05)
        if not got:
            self.fail("%s within %.0f s; log tail:\n%s" % (what, timeout, SERVER.log_tail()))
        return got

    def test_healthz_names_a_stuck_worker(self):
        # Worker 1 sleeps 4 s on the next media datagram it reads: its loop
        # stands still, which /healthz must report after 2 s.
        self.stall("1 4000000\n")
        try:
            self.wait_for("worker 1 reading the stall",
                          lambda: "worker 1: test stall 4000000" in SERVER.log_text(), 10)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"\x80" + b"\x00" * 40, ("127.0.0.1", SERVER.udp_port + 1))
            r = self.wait_for("/healthz 503",
                              lambda: (lambda r: r if r.status == 503 else None)(
                                  SERVER.request("GET", "/healthz")), 10)
            self.assertEqual(r.json(), {"status": "stuck", "stuck_workers": [1]})
            samples, _ = parse(scrape().body.decode())
            self.assertGreater(value(samples, "stagecast_worker_loop_age_seconds", worker="1"), 2)
            self.assertLess(value(samples, "stagecast_worker_loop_age_seconds", worker="0"), 2)
            self.assertEqual(SERVER.request("GET", "/readyz").status, 200)
        finally:
            os.unlink(STALL_FILE)
        r = self.wait_for("/healthz 200 again",
                          lambda: (lambda r: r if r.status == 200 else None)(
                              SERVER.request("GET", "/healthz")), 15)
        self.assertEqual(r.json(), {"status": "ok"})


if __name__ == "__main__":
    unittest.main()

"""Limits on the front door (issue 16): a /ws connection that never joins
is closed after --ws-join-timeout; one address cannot hold more than
--max-unjoined-per-ip connections that have not joined (the health check and
other people keep working); one user and one address hold a bounded number
of media sessions in a room; connections stop at --max-connections, below
the descriptor limit, refused at once instead of lws spinning in accept();
one address holds at most --max-connections-per-ip of them; once they are
all held, a few places above them still answer health checks and metrics;
a flood of refused messages writes a bounded number of log lines, with the
rest counted.  Run by tests/badinput/run inside a network namespace with
only loopback: 127.0.0.2 and 127.0.0.3 (loopback too) stand for other
clients and a monitoring system."""

import asyncio
import http.client
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import rtc  # noqa: E402
import stagecast  # noqa: E402
import wsclient  # noqa: E402

ROOM = "limits"
HOST = stagecast.HOST
OTHER = "127.0.0.2"     # another client
MONITOR = "127.0.0.3"   # a monitoring system


def recvonly_offer():
    """A real (aiortc) viewer offer; the server takes the same one again."""
    return asyncio.run(rtc.recvonly_offer())


class Limits(unittest.TestCase):
    def start(self, *args, nofile=None):
        server = stagecast.Server(workers=1, extra_args=list(args), nofile=nofile).start()
        self.addCleanup(server.cleanup)
        self.addCleanup(server.stop)
        return server

    def connect(self, server):
        ws = wsclient.WsClient("127.0.0.1", server.port)
        self.addCleanup(ws.close)
        return ws

    def join(self, server, ws, token=None):
        msg = ws.request({"type": "join", "id": "j",
                          "token": token or server.token(ROOM, "viewer")},
                         want=("joined", "error"))
        self.assertEqual(msg.get("type"), "joined", msg)

    def closed_by_server(self, ws, timeout):
        """True once the server closed ws (a close frame or EOF)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ws.recv_json(max(0.05, deadline - time.monotonic()))
            except (wsclient.WsClosed, ConnectionError, OSError):
                return True
            except (socket.timeout, TimeoutError, ValueError):
                continue
        return False

    def test_unjoined_connection_is_closed(self):
        server = self.start("--ws-join-timeout", "1")
        idle = self.connect(server)
        joined = self.connect(server)
        self.join(server, joined)
        self.assertTrue(self.closed_by_server(idle, 20.0), "the unjoined socket stayed open")
        # The joined one is not on a deadline: well past it, it still answers.
        time.sleep(1.5)
        self.assertEqual(joined.request({"type": "ping", "id": 1})["type"], "pong")
        stats = server.stats(server.admin_token())
        self.assertGreaterEqual(stats["ws_join_timeouts"], 1)

    def test_unjoined_connections_per_address(self):
        server = self.start("--max-unjoined-per-ip", "5", "--ws-join-timeout", "120")
        held = [self.connect(server) for _ in range(5)]
        with self.assertRaises((wsclient.WsClosed, ConnectionError, OSError)):
            wsclient.WsClient("127.0.0.1", server.port, timeout=10.0).close()
        # Refused cleanly: HTTP and the health check still answer.
        self.assertEqual(server.health().status, 200)
        stats = server.stats(server.admin_token())
        self.assertGreaterEqual(stats["ws_refused_unjoined"], 1)
        # A join frees a place for the address.
        self.join(server, held[0])
        extra = self.connect(server)
        self.join(server, extra)

    def test_media_sessions_per_connection(self):
        """One socket holds at most --max-sessions-per-ws media sessions;
        ending one makes room again."""
        server = self.start("--max-sessions-per-ws", "2")
        ws = self.connect(server)
        self.join(server, ws)
        sdp = recvonly_offer()
        sessions = []
        for i in range(2):
            r = ws.request({"type": "subscribe", "id": "s%d" % i, "sdp": sdp})
            self.assertEqual(r.get("type"), "answer", r)
            sessions.append(r["session"])
        r = ws.request({"type": "subscribe", "id": "s2", "sdp": sdp})
        self.assertEqual(r.get("code"), "too-many-sessions", r)
        self.assertGreaterEqual(server.stats(server.admin_token())["ws_refused_sessions"], 1)
        r = ws.request({"type": "unsubscribe", "id": "u", "session": sessions[0]})
        self.assertEqual(r.get("type"), "ok", r)
        r = ws.request({"type": "subscribe", "id": "s3", "sdp": sdp})
        self.assertEqual(r.get("type"), "answer", r)
        # Another connection has its own allowance.
        other = self.connect(server)
        self.join(server, other)
        r = other.request({"type": "subscribe", "id": "o", "sdp": sdp})
        self.assertEqual(r.get("type"), "answer", r)

    def assert_too_many(self, r):
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.error_code(), "too-many-sessions", r)

    def test_sessions_per_user(self):
        """One viewer token opening 200 WHEP sessions in a room gets
        --max-sessions-per-user (default 10) and 429 too-many-sessions for
        the rest, over WHEP and /ws alike, while another viewer still joins;
        ending a session gives its place back at once."""
        server = self.start()
        sdp = recvonly_offer()
        tok = server.token(ROOM, "viewer")
        created = []
        for _ in range(200):
            r = server.whep(ROOM, sdp, tok)
            if r.status == 201:
                created.append(r.headers["location"])
            else:
                self.assert_too_many(r)
        self.assertEqual(len(created), 10)
        # The same user over the WebSocket counts against the same allowance.
        ws = self.connect(server)
        self.join(server, ws, tok)
        r = ws.request({"type": "subscribe", "id": "s", "sdp": sdp})
        self.assertEqual(r.get("code"), "too-many-sessions", r)
        # Someone else is not locked out, in this room or another.
        other = server.token(ROOM, "viewer")
        self.assertEqual(server.whep(ROOM, sdp, other).status, 201)
        self.assertEqual(server.whep("elsewhere", sdp, server.token("elsewhere", "viewer")).status,
                         201)
        stats = server.stats(server.admin_token())
        self.assertEqual(stats["sessions_refused_user"], 191)
        self.assertEqual(stats["sessions_refused_ip"], 0)
        metrics = server.request("GET", "/metrics", None,
                                 {"Authorization": "Bearer " + server.admin_token()})
        self.assertIn(b"\nstagecast_sessions_refused_user_total 191\n", metrics.body)
        # A session that ends makes room for the next.
        self.assertEqual(server.delete(created[0], tok).status, 200)
        self.assertEqual(server.whep(ROOM, sdp, tok).status, 201)
        self.assert_too_many(server.whep(ROOM, sdp, tok))

    def test_sessions_per_address(self):
        """One address holds at most --max-sessions-per-ip sessions in a
        room, whoever's tokens they use."""
        server = self.start("--max-sessions-per-ip", "3")
        sdp = recvonly_offer()
        toks = [server.token(ROOM, "viewer") for _ in range(5)]
        created = []
        for tok in toks[:3]:
            r = server.whep(ROOM, sdp, tok)
            self.assertEqual(r.status, 201, r)
            created.append((r.headers["location"], tok))
        self.assert_too_many(server.whep(ROOM, sdp, toks[3]))
        ws = self.connect(server)
        self.join(server, ws, toks[4])
        r = ws.request({"type": "subscribe", "id": "s", "sdp": sdp})
        self.assertEqual(r.get("code"), "too-many-sessions", r)
        # Another room is counted apart.
        self.assertEqual(server.whep("elsewhere", sdp, server.token("elsewhere", "viewer")).status,
                         201)
        self.assertEqual(server.stats(server.admin_token())["sessions_refused_ip"], 2)
        loc, tok = created[0]
        self.assertEqual(server.delete(loc, tok).status, 200)
        r = ws.request({"type": "subscribe", "id": "s2", "sdp": sdp})
        self.assertEqual(r.get("type"), "answer", r)

    def hold(self, server, n, source=None, port=None):
        """n idle TCP connections (from the local address source, to port):
        (kept, refused), the refused ones those the server answered or
        closed at once."""
        socks = []
        for _ in range(n):
            s = socket.create_connection((HOST, port or server.port), timeout=10,
                                         source_address=(source, 0) if source else None)
            self.addCleanup(s.close)
            socks.append(s)
        # A refusal is written and closed as soon as the server's loop sees
        # the connection: wait until no more come.
        refused, seen = [], -1
        while len(refused) != seen:
            seen = len(refused)
            time.sleep(0.3)
            refused = select.select(socks, [], [], 0)[0]
        return [s for s in socks if s not in refused], refused

    def settle(self, server, admin, held):
        """Waits until the server counts `held` connections besides the one
        asking (the closes it has not seen yet)."""
        def counted():
            try:
                return server.stats(admin)["http_connections"] == held + 1
            except (AssertionError, OSError):  # refused: the closes are not seen yet
                return False
        self.assertTrue(stagecast.wait_for(counted, 10))
        time.sleep(0.2)  # the asking connection's own close

    def refusal_of(self, sock):
        """What a refused connection got: (status line, JSON body) or None
        when it was closed without an answer."""
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        if not data:
            return None
        head, _, body = data.partition(b"\r\n\r\n")
        return head.split(b"\r\n")[0].decode(), json.loads(body), head.decode().lower()

    def test_connections_stop_below_the_descriptor_limit(self):
        """Under ulimit -n 256 the server derives --max-connections below the
        limit (and logs it); connections past it are accepted and closed at
        once with a 503, counted, while the ones held go on: accept() never
        fails with EMFILE, so lws never spins on it (it used to log it over
        100,000 times a second); once a few go, it serves again."""
        server = self.start("--max-connections-per-ip", "0", nofile=256)
        admin = server.admin_token()
        cap = server.stats(admin)["http_connections_max"]
        self.assertGreater(cap, 128)
        self.assertLess(cap, 256 - 32 - 8)  # the margin, and the reserve above cap
        self.assertIn("at most %d connections at once" % cap, server.log_text())
        self.settle(server, admin, 0)
        # Past cap, the address takes two places of the reserve (idle: they
        # are closed after 5 s) and is refused the rest.
        kept, refused = self.hold(server, cap + 60)
        self.assertEqual((len(kept), len(refused)), (cap + 2, 58))
        line, body, head = self.refusal_of(refused[-1])
        self.assertIn(" 503 ", line)
        self.assertEqual(body["error"]["code"], "too-many-connections")
        self.assertIn("retry-after: 1", head)
        # Refused while held, from a new connection too: the address holds
        # its two places of the reserve.
        with self.assertRaises((OSError, http.client.HTTPException, AssertionError)):
            r = server.request("GET", "/healthz", timeout=5)
            self.assertEqual(r.status, 200)  # (a 503 answer raises here)
        # A few go: the health check is served again.
        for s in kept[:5]:
            s.close()
        self.assertTrue(stagecast.wait_for(lambda: self.healthz(server) == 200, 10))
        stats = server.stats(admin)
        self.assertGreaterEqual(stats["http_connections_refused"], 59)  # and /healthz
        log = server.log_text()
        self.assertNotIn("accept", log)
        self.assertLessEqual(log.count("refusing new ones"), 2)
        # All go: everything is back.
        for s in kept:
            s.close()
        self.assertTrue(stagecast.wait_for(
            lambda: server.stats(admin)["http_connections"] <= 2, 10))
        self.assertEqual(server.request("GET", "/viewer.html").status, 200)

    def healthz(self, server):
        try:
            return server.request("GET", "/healthz", timeout=2).status
        except (OSError, http.client.HTTPException):
            return None

    def test_connection_limit_counts_files(self):
        """--max-connections N: N held (and two places of the reserve), the
        next refused (503 too-many-connections, Retry-After); a page being
        sent holds one more, so with N - 1 held a page is refused while the
        API answers."""
        server = self.start("--max-connections", "20", "--max-connections-per-ip", "0")
        admin = server.admin_token()
        self.assertEqual(server.stats(admin)["http_connections_max"], 20)
        self.settle(server, admin, 0)
        kept, refused = self.hold(server, 23)
        self.assertEqual((len(kept), len(refused)), (22, 1))
        self.assertEqual(self.refusal_of(refused[0])[1]["error"]["code"],
                         "too-many-connections")
        for s in kept:
            s.close()
        self.settle(server, admin, 0)
        # N - 1 held and the one asking for a page: no room for the file.
        kept, _ = self.hold(server, 19)
        self.assertEqual(len(kept), 19)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        self.addCleanup(conn.close)
        conn.request("GET", "/viewer.html")
        r = conn.getresponse()
        body = json.loads(r.read())
        self.assertEqual(r.status, 503, body)
        self.assertEqual(body["error"]["code"], "too-many-connections")
        self.assertEqual(r.getheader("retry-after"), "1")
        # The same connection: what needs no file is answered.
        conn.request("GET", "/api/health")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        conn.close()
        kept[0].close()
        self.assertTrue(stagecast.wait_for(
            lambda: server.request("GET", "/viewer.html").status == 200, 10))

    def ask(self, server, path, source, token=None, port=None, tls=False):
        """GET path from the local address source: (status, headers with
        lower-case names, body).  OSError or HTTPException when the server
        closes the connection without an answer."""
        kw = {"timeout": 10, "source_address": (source, 0)}
        if tls:
            ctx = ssl.create_default_context(cafile=os.path.join(server.data, "tls", "cert.pem"))
            conn = http.client.HTTPSConnection(HOST, port or server.port, context=ctx, **kw)
        else:
            conn = http.client.HTTPConnection(HOST, port or server.port, **kw)
        try:
            conn.request("GET", path,
                         headers={"Authorization": "Bearer " + token} if token else {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def status_of(self, server, path, source, **kw):
        try:
            return self.ask(server, path, source, **kw)[0]
        except (OSError, http.client.HTTPException):
            return None

    def test_connections_per_address(self):
        """One address holds at most --max-connections-per-ip connections,
        HTTP and WebSocket alike: the next are refused at once (503
        too-many-connections-from-address, Retry-After), counted, and
        logged once, while another address is served as usual; a close
        gives the address its place back."""
        server = self.start("--max-connections-per-ip", "5")
        admin = server.admin_token()
        self.settle(server, admin, 0)
        kept, refused = self.hold(server, 7)
        self.assertEqual((len(kept), len(refused)), (5, 2))
        line, body, head = self.refusal_of(refused[0])
        self.assertIn(" 503 ", line)
        self.assertEqual(body["error"]["code"], "too-many-connections-from-address")
        self.assertIn("retry-after: 1", head)
        with self.assertRaises((wsclient.WsClosed, ConnectionError, OSError)):
            wsclient.WsClient(HOST, server.port, timeout=10).close()
        self.assertEqual(self.status_of(server, "/healthz", HOST), 503)
        # Someone else: pages, the API and the WebSocket as usual.
        status, _, _ = self.ask(server, "/viewer.html", OTHER)
        self.assertEqual(status, 200)
        ws = wsclient.WsClient(HOST, server.port, source=OTHER)
        self.addCleanup(ws.close)
        self.join(server, ws)
        status, _, body = self.ask(server, "/api/stats", OTHER, admin)
        self.assertEqual(status, 200)
        stats = json.loads(body)
        self.assertEqual(stats["http_connections_per_ip_max"], 5)
        self.assertEqual(stats["http_connections_refused_per_ip"], 4)  # 2, /ws, /healthz
        self.assertEqual(stats["http_connections_refused"], 0)
        status, _, body = self.ask(server, "/metrics", OTHER, admin)
        self.assertIn(b"\nstagecast_http_connections_refused_per_ip_total 4\n", body)
        self.assertIn(b"\nstagecast_http_connections_per_ip_max 5\n", body)
        self.assertIn(b"\n# HELP stagecast_http_connections_refused_per_ip_total ", body)
        log = server.log_text()
        self.assertIn("127.0.0.1 holds 5 connections: refusing more from it", log)
        self.assertLessEqual(log.count("refusing more from it"), 2)  # one per 10 s
        # One goes: the address has a place again.
        kept[0].close()
        self.assertTrue(stagecast.wait_for(
            lambda: self.status_of(server, "/healthz", HOST) == 200, 10))

    def start_tls(self, *args):
        """A server with --tls-self-signed (Server.start asks over plain
        HTTP, which it does not answer): started by hand, ready once a TLS
        request is answered."""
        server = stagecast.Server(workers=1)
        self.addCleanup(server.cleanup)
        self.addCleanup(server.stop)
        server.port = stagecast.free_tcp_port()
        server.udp_port = stagecast.free_udp_range(1)
        server._log = open(server.log_path, "wb")
        server.proc = subprocess.Popen(
            [stagecast.binary(), "serve", "--listen", "%s:%d" % (HOST, server.port),
             "--udp-port", str(server.udp_port), "--data", server.data, "--workers", "1",
             "--drain-timeout", "0", "--tls-self-signed"] + list(args),
            stdout=server._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.assertTrue(stagecast.wait_for(
            lambda: self.status_of(server, "/api/health", MONITOR, tls=True) == 200, 15),
            server.log_tail())
        return server

    def test_connections_per_address_tls_and_redirect(self):
        """Over TLS and on the redirect port the same: one address's
        connections count together on both ports; past the cap a TLS
        connection is closed without an answer, a plain one on the redirect
        port gets the 503; another address is served on both."""
        redirect = stagecast.free_tcp_port()
        server = self.start_tls("--http-redirect", str(redirect), "--max-connections-per-ip", "4")
        kept, refused = self.hold(server, 3)
        self.assertEqual((len(kept), len(refused)), (3, 0))
        kept2, refused2 = self.hold(server, 3, port=redirect)
        self.assertEqual((len(kept2), len(refused2)), (1, 2))
        line, body, _ = self.refusal_of(refused2[0])
        self.assertIn(" 503 ", line)
        self.assertEqual(body["error"]["code"], "too-many-connections-from-address")
        with self.assertRaises((OSError, http.client.HTTPException)):
            self.ask(server, "/api/health", HOST, tls=True)
        status, head, _ = self.ask(server, "/", OTHER, port=redirect)
        self.assertEqual(status, 301)
        self.assertTrue(head["location"].startswith("https://"), head)
        status, _, body = self.ask(server, "/api/stats", OTHER, server.admin_token(), tls=True)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["http_connections_refused_per_ip"], 3)

    def test_health_check_reserve(self):
        """--max-connections N held by one client (no per-address cap): the
        next connections take places of the reserve above N, two per
        address, so the client takes two and is refused the rest.  Another
        address (a monitoring system) is still answered /healthz, /api/stats
        and /metrics there, one request per connection, and refused anything
        else (a page: 503 too-many-connections; the WebSocket: closed); the
        client's two places, held without a request, are taken back after
        5 s."""
        server = self.start("--max-connections", "20", "--max-connections-per-ip", "0")
        admin = server.admin_token()
        self.settle(server, admin, 0)
        kept, refused = self.hold(server, 25)
        self.assertEqual((len(kept), len(refused)), (22, 3))
        self.assertEqual(self.refusal_of(refused[0])[1]["error"]["code"],
                         "too-many-connections")
        # The client's own health check finds its two places taken.
        self.assertEqual(self.status_of(server, "/healthz", HOST), 503)
        # The monitoring system's is answered, and the connection closed.
        status, head, body = self.ask(server, "/healthz", MONITOR)
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}), body)
        self.assertEqual(head.get("connection"), "close")
        status, _, body = self.ask(server, "/api/stats", MONITOR, admin)
        self.assertEqual(status, 200, body)
        stats = json.loads(body)
        self.assertEqual(stats["http_connections_max"], 20)
        self.assertEqual(stats["http_connections"], 23)   # 20, the client's 2 and this one
        self.assertEqual(stats["http_connections_reserve"], 3)
        self.assertEqual(stats["http_connections_refused"], 4)  # 3 and the client's /healthz
        self.assertEqual(stats["http_connections_refused_per_ip"], 0)
        status, _, body = self.ask(server, "/metrics", MONITOR, admin)
        self.assertEqual(status, 200)
        self.assertIn(b"\nstagecast_http_connections_refused_total 4\n", body)
        self.assertIn(b"\nstagecast_http_connections_reserve 3\n", body)
        # Nothing else is served there.
        status, head, body = self.ask(server, "/viewer.html", MONITOR)
        self.assertEqual(status, 503, body)
        self.assertEqual(json.loads(body)["error"]["code"], "too-many-connections")
        self.assertEqual(head.get("retry-after"), "1")
        with self.assertRaises((wsclient.WsClosed, ConnectionError, OSError)):
            wsclient.WsClient(HOST, server.port, timeout=10, source=MONITOR).close()
        # The client's idle places are closed by the server within 5 s.
        for s in kept[-2:]:
            s.settimeout(10)
            self.assertEqual(s.recv(100), b"")
        self.assertEqual(self.status_of(server, "/healthz", HOST), 200)
        self.assertEqual(server.stats(admin)["http_connections_refused"], 6)  # page, /ws
        log = server.log_text()
        self.assertLessEqual(log.count("refusing new ones"), 2)
        self.assertNotIn("GET /viewer.html", log)  # refusals are not logged one by one
        # All go: everything is back.
        for s in kept:
            s.close()
        self.assertTrue(stagecast.wait_for(
            lambda: self.status_of(server, "/viewer.html", HOST) == 200, 10))

    def test_refused_message_flood_logs_little(self):
        server = self.start()
        ws = self.connect(server)
        self.join(server, ws)
        n = 400
        for i in range(n):
            ws.send_json({"type": "frobnicate", "id": i})
        # Every refusal is answered...
        seen = 0
        deadline = time.monotonic() + 60
        while seen < n and time.monotonic() < deadline:
            msg = ws.recv_json(30.0)
            if msg.get("type") == "error" and msg.get("code") == "unknown-type":
                seen += 1
        self.assertEqual(seen, n)
        stats = server.stats(server.admin_token())
        self.assertGreaterEqual(stats["ws_errors"], n)
        self.assertGreaterEqual(stats["log_suppressed"], n - 10)
        # ...but only a few of them are written to the log.
        logged = [l for l in server.log_text().splitlines() if "error unknown-type" in l]
        self.assertLessEqual(len(logged), 10, "\n".join(logged[:20]))
        self.assertGreaterEqual(len(logged), 1)


if __name__ == "__main__":
    unittest.main()

"""Limits on the WebSocket front door (issue 16): a /ws connection that
never joins is closed after --ws-join-timeout; one address cannot hold more
than --max-unjoined-per-ip connections that have not joined (the health
check and other people keep working); a flood of refused messages writes a
bounded number of log lines, with the rest counted.  Run by
tests/badinput/run inside a network namespace with only loopback."""

import asyncio
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import wsclient  # noqa: E402

ROOM = "limits"


class Limits(unittest.TestCase):
    def start(self, *args):
        server = stagecast.Server(workers=1, extra_args=list(args)).start()
        self.addCleanup(server.cleanup)
        self.addCleanup(server.stop)
        return server

    def connect(self, server):
        ws = wsclient.WsClient("127.0.0.1", server.port)
        self.addCleanup(ws.close)
        return ws

    def join(self, server, ws):
        msg = ws.request({"type": "join", "id": "j", "token": server.token(ROOM, "viewer")},
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
        from aiortc import RTCPeerConnection

        async def offer():
            pc = RTCPeerConnection()
            pc.addTransceiver("video", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            sdp = pc.localDescription.sdp
            await pc.close()
            return sdp

        server = self.start("--max-sessions-per-ws", "2")
        ws = self.connect(server)
        self.join(server, ws)
        sdp = asyncio.run(offer())
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

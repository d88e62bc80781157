"""Graceful drain (docs/operations.md, "Stopping"): on SIGTERM with sessions
open the server turns /readyz to 503, refuses new sessions with 503
`draining` and a Retry-After, tells every joined page, keeps forwarding media
to the sessions it has, and exits by itself once they are gone or the
--drain-timeout has passed; a second signal stops it at once.  Driven by
aiortc over WHIP/WHEP against real servers.  Run by tests/badinput/run
inside a network namespace with only loopback."""

import asyncio
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import rtc  # noqa: E402
import stagecast  # noqa: E402
import wsclient  # noqa: E402

MEDIA_TIMEOUT = 30.0   # deadlines only: each wait ends when its condition holds
ROOM = "drain"


def exited(server, timeout):
    """The exit status once the process has ended, or None at the deadline."""
    if stagecast.wait_for(lambda: server.proc.poll() is not None, timeout, 0.05):
        return server.proc.returncode
    return None


class Drain(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.pcs = []
        self.server = None

    async def asyncTearDown(self):
        for pc in self.pcs:
            await pc.close()
        if self.server:
            self.server.stop()   # closes its log; signals only a running server
            self.server.cleanup()

    def start(self, drain_s):
        self.server = stagecast.Server(workers=1, extra_args=["--drain-timeout", str(drain_s)])
        self.server.start()
        return self.server

    async def live(self, server):
        """A WHIP publisher and a WHEP viewer with media flowing; returns the
        two responses, their tokens and the viewer's frame counter."""
        ptok = server.token(ROOM, "presenter")
        vtok = server.token(ROOM, "viewer")
        pub, presp = await rtc.publish(server, ROOM, ptok)
        self.pcs.append(pub)
        self.assertEqual(presp.status, 201, presp)
        viewer, vresp, counter = await rtc.view(server, ROOM, vtok)
        self.pcs.append(viewer)
        self.assertEqual(vresp.status, 201, vresp)
        self.assertTrue(await counter.wait_for(video=10, audio=10, timeout=MEDIA_TIMEOUT),
                        "no media before the drain")
        return (presp, ptok), (vresp, vtok), counter

    def wait_draining(self, server):
        got = stagecast.wait_for(
            lambda: server.request("GET", "/readyz").status == 503, 15.0, 0.05)
        self.assertTrue(got, "/readyz never turned 503; log:\n" + server.log_tail())
        r = server.request("GET", "/readyz")
        self.assertEqual(r.json().get("status"), "draining", r)

    async def test_drains_until_the_sessions_end(self):
        server = self.start(60)
        (presp, ptok), (vresp, vtok), counter = await self.live(server)
        ws = wsclient.WsClient("127.0.0.1", server.port)
        self.addCleanup(ws.close)
        joined = ws.request({"type": "join", "id": 1, "token": server.token(ROOM, "viewer")},
                            want=("joined", "error"))
        self.assertEqual(joined.get("type"), "joined", joined)

        server.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self.wait_draining, server)
        # The joined page is told, with how long to wait.
        note = await asyncio.to_thread(ws.recv_type, "server_draining", 10.0)
        self.assertTrue(1 <= note["retry_after"] <= 60, note)
        # Nothing new: WHEP gets 503 draining with Retry-After, /ws too.
        _, refused, _ = await rtc.view(server, ROOM, vtok)
        self.assertEqual(refused.status, 503, refused)
        self.assertEqual(refused.error_code(), "draining", refused)
        self.assertTrue(1 <= int(refused.headers["retry-after"]) <= 60, refused.headers)
        self.assertEqual(ws.request({"type": "subscribe", "id": 2, "sdp": "v=0\r\n"})["code"],
                         "draining")
        # What is open keeps flowing.
        before = counter.video
        self.assertTrue(await counter.wait_for(video=before + 20, timeout=MEDIA_TIMEOUT),
                        "the viewer's media stopped during the drain")
        self.assertIsNone(server.proc.poll(), "the server stopped before its sessions ended")
        # Once both sessions end, the server stops by itself.
        for resp, tok in ((vresp, vtok), (presp, ptok)):
            d = await asyncio.to_thread(server.delete, resp.headers["location"], tok)
            self.assertEqual(d.status, 200, d)
        counter.cancel()
        rc = await asyncio.to_thread(exited, server, 30.0)
        self.assertEqual(rc, 0, server.log_tail())
        self.assertIn("drained: no session left", server.log_tail())

    async def test_second_signal_stops_at_once(self):
        server = self.start(600)
        _, _, counter = await self.live(server)
        counter.cancel()
        server.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self.wait_draining, server)
        server.proc.send_signal(signal.SIGTERM)
        rc = await asyncio.to_thread(exited, server, 30.0)
        self.assertEqual(rc, 0, server.log_tail())

    async def test_timeout_ends_the_drain(self):
        server = self.start(2)
        _, _, counter = await self.live(server)
        counter.cancel()
        server.proc.send_signal(signal.SIGTERM)
        rc = await asyncio.to_thread(exited, server, 60.0)
        self.assertEqual(rc, 0, server.log_tail())
        self.assertIn("drain timeout", server.log_tail())

    async def test_no_session_no_wait(self):
        # With nothing open there is nothing to drain, whatever the timeout.
        server = self.start(600)
        server.proc.send_signal(signal.SIGTERM)
        rc = await asyncio.to_thread(exited, server, 30.0)
        self.assertEqual(rc, 0, server.log_tail())
        self.assertNotIn("draining:", server.log_tail())


if __name__ == "__main__":
    unittest.main()

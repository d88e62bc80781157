"""aiortc (an independent WebRTC stack) publishes over WHIP and watches over
WHEP through a real `stagecast serve`.  Run by tests/interop/run inside a
network namespace that has only loopback."""

import asyncio
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import rtc  # noqa: E402

# Deadlines, not durations: each wait ends as soon as its condition holds.
# Generous, because CI machines are 2-core and sometimes busy (issue 13).
MEDIA_TIMEOUT = 30.0   # the assertions are on counts, not speed
CONNECT_TIMEOUT = 30.0
CLOSE_TIMEOUT = 20.0   # for the room to show a DELETEd session gone
MIN_VIDEO = 30
MIN_AUDIO = 50


class WhipWhepTest(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        # Debug mode (the default here) floods the output with
        # slow-callback notes from aiortc's codecs.
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)

    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = stagecast.Server(workers=2).start()

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.server.stop()
            if rc != 0:
                raise AssertionError("stagecast exited with %r after SIGTERM; log tail:\n%s"
                                     % (rc, cls.server.log_tail()))
        finally:
            cls.server.cleanup()

    def check_created(self, resp, kind, room):
        self.assertEqual(resp.status, 201, "%s POST: %r\nserver log:\n%s"
                         % (kind, resp, self.server.log_tail()))
        self.assertTrue(resp.headers.get("content-type", "").startswith("application/sdp"),
                        resp.headers)
        loc = resp.headers.get("location", "")
        self.assertRegex(loc, r"^/%s/%s/[0-9A-Za-z]+$" % (kind, room))
        self.assertIn("etag", resp.headers)
        answer = resp.body.decode()
        self.assertTrue(answer.startswith("v=0"), answer[:200])
        self.assertTrue(stagecast.sdp_candidates(answer), "answer has no host candidate")
        for ip, _ in stagecast.sdp_candidates(answer):
            self.assertEqual(ip, "127.0.0.1")
        return loc

    async def test_publish_and_view(self):
        room = "interop1"
        s = self.server
        ptok = s.token(room, "presenter", name="Pub")
        vtok = s.token(room, "viewer", name="Ann")
        vtok2 = s.token(room, "viewer", name="Bob")
        pcs = []
        counters = []
        try:
            pub, presp = await rtc.publish(s, room, ptok)
            pcs.append(pub)
            ploc = self.check_created(presp, "whip", room)
            self.assertTrue(await rtc.wait_connected(pub, CONNECT_TIMEOUT),
                            "publisher: %s" % pub.connectionState)

            viewer, vresp, c1 = await rtc.view(s, room, vtok)
            pcs.append(viewer)
            counters.append(c1)
            vloc = self.check_created(vresp, "whep", room)
            self.assertNotEqual(vloc.rsplit("/", 1)[1], ploc.rsplit("/", 1)[1])
            self.assertTrue(await rtc.wait_connected(viewer, CONNECT_TIMEOUT),
                            "viewer: %s" % viewer.connectionState)

            got = await c1.wait_for(video=MIN_VIDEO, audio=MIN_AUDIO, timeout=MEDIA_TIMEOUT)
            self.assertTrue(got, "viewer decoded %d video / %d audio frames in %.0f s"
                            % (c1.video, c1.audio, MEDIA_TIMEOUT))
            self.assertIn((320, 240), c1.video_sizes)

            # The room shows what is on stage.
            r = s.request("GET", "/api/rooms/" + room, None, {"Authorization": "Bearer " + vtok})
            self.assertEqual(r.status, 200, r)
            info = r.json()
            self.assertEqual(info["room"], room)
            self.assertEqual(len(info["publishers"]), 1, info)
            self.assertEqual(info["publishers"][0]["slot"], 0)
            self.assertEqual(info["publishers"][0]["name"], "Pub")
            self.assertGreaterEqual(info["viewers"], 1)

            # A viewer arriving mid-stream can only decode after a keyframe:
            # the SFU must ask the publisher for one (PLI/FIR) rather than
            # wait for aiortc's next periodic keyframe.
            before = self.stat("plis_sent")
            late, lresp, c2 = await rtc.view(s, room, vtok2)
            pcs.append(late)
            counters.append(c2)
            lloc = self.check_created(lresp, "whep", room)
            self.assertTrue(await rtc.wait_connected(late, CONNECT_TIMEOUT),
                            "late viewer: %s" % late.connectionState)
            got = await c2.wait_for(video=MIN_VIDEO, audio=MIN_AUDIO, timeout=MEDIA_TIMEOUT)
            self.assertTrue(got, "late viewer decoded %d video / %d audio frames"
                            % (c2.video, c2.audio))
            self.assertGreater(self.stat("plis_sent"), before,
                               "no keyframe request was sent for the late viewer")
            print("\n  first viewer %d video / %d audio frames, late viewer %d / %d"
                  % (c1.video, c1.audio, c2.video, c2.audio), file=sys.stderr)
            # The first viewer kept going while the second joined.
            v1 = c1.video
            self.assertTrue(await c1.wait_for(video=v1 + 10, timeout=MEDIA_TIMEOUT))

            st = s.stats(s.admin_token())
            self.assertGreater(stagecast.counter(st, "forwarded_packets"), 0)
            self.assertGreaterEqual(stagecast.counter(st, "sessions"), 3)

            # Tear down over HTTP: 200 once, 404 for the same resource again.
            for loc, tok in ((lloc, vtok2), (vloc, vtok), (ploc, ptok)):
                r = s.delete(loc, tok)
                self.assertEqual(r.status, 200, "DELETE %s: %r" % (loc, r))
                r = s.delete(loc, tok)
                self.assertEqual(r.status, 404, "second DELETE %s: %r" % (loc, r))
                self.assertEqual(r.error_code(), "not-found", r)

            # Session close is delivered as an event: wait until the room shows
            # it (or CLOSE_TIMEOUT passes).
            deadline = time.monotonic() + CLOSE_TIMEOUT
            while True:
                r = await asyncio.to_thread(s.request, "GET", "/api/rooms/" + room, None,
                                            {"Authorization": "Bearer " + vtok})
                if r.status == 404 or (r.status == 200 and r.json()["publishers"] == []):
                    break
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.1)
            if r.status == 200:
                self.assertEqual(r.json()["publishers"], [], r)
            else:
                self.assertEqual(r.status, 404, r)
            self.assertEqual(s.health().status, 200)
        finally:
            for c in counters:
                c.cancel()
            for pc in pcs:
                await pc.close()

    async def test_delete_needs_the_session_token(self):
        room = "interop2"
        s = self.server
        ptok = s.token(room, "presenter")
        pub, presp = await rtc.publish(s, room, ptok)
        try:
            loc = self.check_created(presp, "whip", room)
            self.assertTrue(await rtc.wait_connected(pub, CONNECT_TIMEOUT),
                            "publisher: %s" % pub.connectionState)
            r = s.request("DELETE", loc)
            self.assertEqual(r.status, 401, r)
            self.assertEqual(r.error_code(), "token-missing", r)
            other = s.token("elsewhere", "presenter")
            r = s.delete(loc, other)
            self.assertEqual(r.status, 403, r)
            self.assertEqual(r.error_code(), "wrong-room", r)
            r = s.delete(loc, ptok)
            self.assertEqual(r.status, 200, r)
        finally:
            await pub.close()

    def stat(self, name):
        return stagecast.counter(self.server.stats(self.server.admin_token()), name)


if __name__ == "__main__":
    unittest.main()

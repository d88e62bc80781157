"""The composite's speaker layout and its share of the recordings quota,
driven by aiortc WHIP publishers against a real `stagecast serve`:

- two publishers on stage, each sending one solid colour (quiet: blue in
  slot 0, loud: red in slot 1, a tone with RFC 6464 audio levels); once the
  room hears the loud one as the active speaker the session's composite
  row says layout "speaker", and a frame ffmpeg takes 1.5 s after the
  room announced it (both publishers sent media 3 s past that) shows red
  in the large top area and blue in the strip below (in the grid the left
  half would be blue and the strip area black);
- with a quota nearly used up, the composite of a session fails with
  reason "quota", its file is gone and the stats count it, while the
  slot's file stays.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
import unittest

import av
import numpy
from aiortc import RTCPeerConnection
from aiortc.mediastreams import VideoStreamTrack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stagecast  # noqa: E402
import rtc  # noqa: E402
import sent  # noqa: E402
import wsclient  # noqa: E402

W, H = 1280, 720            # the composite's default picture
RED = (220, 30, 30)         # RGB
BLUE = (30, 30, 220)


class ColourTrack(VideoStreamTrack):
    """320x240 frames of one colour with a thin moving bar (so the encoder
    keeps producing frames)."""

    def __init__(self, rgb):
        super().__init__()
        self.rgb = rgb
        self.n = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        img = numpy.zeros((240, 320, 3), numpy.uint8)
        img[:, :] = (self.rgb[2], self.rgb[1], self.rgb[0])  # bgr24
        x = (self.n * 2) % 320
        img[0:8, x:x + 4, :] = 255
        self.n += 1
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts = pts
        frame.time_base = time_base
        return frame


async def publish(server, room, token, rgb, amplitude):
    pc = RTCPeerConnection()
    pc.addTransceiver(rtc.SineTrack(amplitude=amplitude), direction="sendonly")
    pc.addTransceiver(ColourTrack(rgb), direction="sendonly")
    resp = await rtc._negotiate(pc, lambda sdp: server.whip(room, sdp, token))
    return pc, resp


def auth(token):
    return {"Authorization": "Bearer " + token}


def frame_at(path, t):
    """The composite's picture at t seconds, as H x W x 3 RGB."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-ss", "%.2f" % t, "-i", path,
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True)
    return numpy.frombuffer(out.stdout, numpy.uint8)[:W * H * 3].reshape(H, W, 3)


def near(px, rgb, tol=60):
    return all(abs(int(a) - b) <= tol for a, b in zip(px, rgb))


class CompositeLayoutTest(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)

    async def rows(self, server, admin, query=""):
        r = await asyncio.to_thread(server.request, "GET", "/api/recordings" + query, None,
                                    auth(admin))
        self.assertEqual(r.status, 200, r)
        return r.json()["recordings"]

    async def wait_rows(self, server, admin, query, pred, what, timeout=40.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = await self.rows(server, admin, query)
            if pred(last):
                return last
            await asyncio.sleep(0.3)
        self.fail("timed out waiting for %s; rows: %s\n%s"
                  % (what, json.dumps(last)[:2000], server.log_tail()))

    async def test_speaker_layout(self):
        server = stagecast.Server(extra_args=["--record-by-default"]).start()
        watcher = None
        pcs = []
        try:
            room = "panel"
            admin = server.admin_token()
            watcher = wsclient.WsClient("127.0.0.1", server.port)
            joined = watcher.request({"type": "join", "id": 1,
                                      "token": server.token(room, "viewer", "Watcher")},
                                     want=("joined", "error"))
            self.assertEqual(joined["type"], "joined", joined)
            qtok = server.token(room, "cohost", "Quiet")
            quiet_pc, quiet = await publish(server, room, qtok, BLUE, 0)
            pcs.append(quiet_pc)
            self.assertEqual(quiet.status, 201, quiet)
            self.assertTrue(await rtc.wait_connected(quiet_pc), "quiet did not connect")
            ltok = server.token(room, "presenter", "Loud")
            loud_pc, loud = await publish(server, room, ltok, RED, 12000)
            pcs.append(loud_pc)
            self.assertEqual(loud.status, 201, loud)
            self.assertTrue(await rtc.wait_connected(loud_pc), "loud did not connect")

            # The room hears the loud one (slot 1) as its speaker.
            deadline = time.monotonic() + 20.0
            speaker = None
            while time.monotonic() < deadline:
                ev = await asyncio.to_thread(watcher.recv_type, ("active_speaker",), 20.0)
                speaker = ev.get("speaker")
                if speaker and speaker.get("name") == "Loud":
                    break
            self.assertTrue(speaker and speaker.get("name") == "Loud", speaker)
            # The server noted the speaker before it told the room: by now.
            announced = time.time()
            loud_slot = speaker["slot"]
            # Both publish on until each has sent media (audio and video)
            # reaching 3 s past the announcement, however long a busy
            # machine's encoders take.
            for pc in pcs:
                got = await sent.until(
                    pc, lambda s: (s.covered_until() or 0) >= announced + 3.0, 90.0)
                self.assertIsNotNone(got, "a publisher did not send 3 s of media after the "
                                     "speaker was announced")

            for loc, tok in ((loud.headers["location"], ltok),
                             (quiet.headers["location"], qtok)):
                r = await asyncio.to_thread(server.delete, loc, tok)
                if r.status == 403:
                    r = await asyncio.to_thread(server.delete, loc, admin)
            for pc in pcs:
                await pc.close()
            pcs = []

            final = await self.wait_rows(
                server, admin, "?kind=composite",
                lambda l: len(l) == 1 and l[0]["status"] in ("ready", "failed"),
                "the composite", timeout=180.0)
            c = final[0]
            self.assertEqual(c["status"], "ready", c)
            self.assertEqual(c["layout"], "speaker", c)
            self.assertEqual(sorted(c["tracks"]), [0, 1], c)
            r = await asyncio.to_thread(server.request, "GET", c["media_url"], None, auth(admin))
            self.assertEqual(r.status, 200)
            path = os.path.join(server.data, "layout-check.webm")
            with open(path, "wb") as f:
                f.write(r.body)

            # 1.5 s after the announcement (the loud one speaking since, both
            # on stage: each sent 3 s of media beyond it, of which at most
            # 1 s may not have been recorded), in the composite's time (its
            # 0 is the session's start).
            at = announced + 1.5 - c["started_at"] / 1000
            self.assertLess(at, c["duration_s"], (c, announced))
            img = await asyncio.to_thread(frame_at, path, at)
            big, strip = (RED, BLUE) if loud_slot == 1 else (BLUE, RED)
            self.assertEqual(loud_slot, 1, "the quiet one published first: slot 0")
            # Large area on top: the speaker, centre and left of centre.
            self.assertTrue(near(img[270, 640], big), img[270, 640])
            self.assertTrue(near(img[270, 400], big), img[270, 400])
            # The strip below (y 540..720, a tile centred at x 640): the other.
            self.assertTrue(near(img[630, 640], strip), img[630, 640])
            # Outside the strip's tile: black.
            self.assertTrue(near(img[630, 100], (0, 0, 0), 30), img[630, 100])
        finally:
            for pc in pcs:
                await pc.close()
            if watcher:
                watcher.close()
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)

    async def test_composite_over_quota(self):
        # 1 MiB quota, all but 120 KiB used by an older file: the slot's
        # file fits or stops at the quota (it plays either way); a 1280x720
        # composite of a few seconds (~150 KiB) cannot fit after it.
        server = stagecast.Server(extra_args=["--record-by-default", "--recordings-quota", "1"])
        pad = os.path.join(server.data, "recordings", "filler")
        os.makedirs(pad)
        with open(os.path.join(pad, "old.bin"), "wb") as f:
            f.write(b"\0" * (1024 * 1024 - 120 * 1024))
        server.start()
        try:
            room = "tight"
            admin = server.admin_token()
            token = server.token(room, "presenter", "Encoder")
            pc, resp = await rtc.publish(server, room, token)
            self.assertEqual(resp.status, 201, resp)
            self.assertTrue(await rtc.wait_connected(pc), "publisher did not connect")
            await self.wait_rows(server, admin, "?kind=track",
                                 lambda l: len(l) == 1, "the slot's row")
            # 3 s of media sent (enough to use the quota up), however long
            # the publisher takes.
            got = await sent.publish_media(pc, 3.0)
            self.assertIsNotNone(got, "the publisher did not send 3 s of media")
            await asyncio.to_thread(server.delete, resp.headers["location"], token)
            await pc.close()

            track = (await self.wait_rows(server, admin, "?kind=track",
                                          lambda l: l[0]["status"] != "recording",
                                          "the slot's file to finish"))[0]
            final = await self.wait_rows(
                server, admin, "?kind=composite",
                lambda l: len(l) == 1 and l[0]["status"] in ("ready", "failed"),
                "the composite", timeout=180.0)
            c = final[0]
            self.assertEqual(c["status"], "failed", (c, track))
            self.assertTrue(c["reason"].startswith("quota"), c)
            self.assertEqual(c["session"], track["session"])
            # No composite file left behind; the slot's file still plays.
            r = await asyncio.to_thread(server.request, "GET", c["media_url"], None, auth(admin))
            self.assertEqual(r.status, 404, r)
            r = await asyncio.to_thread(server.request, "GET", track["media_url"], None,
                                        auth(admin))
            self.assertEqual(r.status, 200)
            self.assertGreater(len(r.body), 1000)
            comp_dir = os.path.join(server.data, "recordings", room, "composite")
            left = [n for n in os.listdir(comp_dir)] if os.path.isdir(comp_dir) else []
            self.assertEqual(left, [], left)
            st = (await asyncio.to_thread(server.request, "GET", "/api/recordings/stats", None,
                                          auth(admin))).json()
            self.assertGreaterEqual(st["composites_failed"], 1, st)
            self.assertEqual(st["composite_bytes"], 0, st)
            self.assertEqual(server.health().status, 200)
        finally:
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()

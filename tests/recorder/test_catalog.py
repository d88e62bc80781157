"""The recordings catalog: a recorded session is listed with its duration,
its media is served with HTTP range requests to admins (and to the room's
viewers once published), bad ids and bad ranges are refused, a viewer token
cannot use the admin API, and DELETE removes file and row."""

import asyncio
import glob
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stagecast  # noqa: E402
import rtc  # noqa: E402
import sent  # noqa: E402


def ffprobe_duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                          path], capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout)["format"]["duration"])


class CatalogTest(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)

    def get(self, server, path, token, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        return server.request("GET", path, None, h)

    async def wait_listed(self, server, admin, timeout=30.0):
        """The per-slot rows, once none is still being written (a row is
        listed as `recording` from the file's start)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = await asyncio.to_thread(self.get, server, "/api/recordings?kind=track", admin)
            self.assertEqual(r.status, 200, r)
            recs = r.json()["recordings"]
            if recs and all(x["status"] != "recording" for x in recs):
                return recs
            await asyncio.sleep(0.25)
        return []

    async def test_catalog(self):
        server = stagecast.Server(extra_args=["--record-by-default"]).start()
        try:
            room = "review"
            token = server.token(room, "presenter")
            pc, resp = await rtc.publish(server, room, token)
            self.assertEqual(resp.status, 201, resp)
            self.assertTrue(await rtc.wait_connected(pc), "publisher did not connect")
            # 6 s of media sent, however long the publisher takes to make it
            # on a busy machine.
            before = await sent.publish_media(pc, 6.0)
            self.assertIsNotNone(before, "the publisher did not send 6 s of media")
            await asyncio.to_thread(server.delete, resp.headers["location"], token)
            ended = time.time()
            await pc.close()
            session = ended - (await sent.sent(pc)).start

            admin = server.admin_token()
            viewer = server.token(room, "viewer")
            recs = await self.wait_listed(server, admin)
            self.assertEqual(len(recs), 1, server.log_tail())
            rec = recs[0]
            self.assertEqual(rec["room"], room)
            self.assertEqual(rec["status"], "ready")
            self.assertFalse(rec["published"])
            # The media sent before the DELETE, but for what the server could
            # not record (ahead of the file's opening, on its way at the
            # DELETE: 1 s of margin); not longer than the session ran (1 s
            # of margin for a track the server read late at its start).
            what = ("catalog says %.2f s; %.2f s of audio sent before the DELETE, the session "
                    "lasted %.2f s" % (rec["duration_s"], before.audio_s, session))
            self.assertGreater(rec["duration_s"], before.audio_s - 1.0, what)
            self.assertLess(rec["duration_s"], session + 1.0, what)
            files = glob.glob(os.path.join(server.data, "recordings", room, "*.webm"))
            self.assertEqual(len(files), 1)
            self.assertLess(abs(rec["duration_s"] - ffprobe_duration(files[0])), 0.1)
            self.assertEqual(rec["bytes"], os.path.getsize(files[0]))
            self.assertEqual(rec["media_url"], "/media/recordings/%s.webm" % rec["id"])

            # Filters.
            r = self.get(server, "/api/recordings?kind=track&room=" + room, admin)
            self.assertEqual([x["id"] for x in r.json()["recordings"]], [rec["id"]])
            r = self.get(server, "/api/recordings?room=other", admin)
            self.assertEqual(r.json()["recordings"], [])
            r = self.get(server, "/api/recordings?from=%d" % (rec["started_at"] + 1), admin)
            self.assertEqual(r.json()["recordings"], [])
            r = self.get(server, "/api/recordings?kind=track&from=%d&to=%d"
                         % (rec["started_at"], rec["started_at"]), admin)
            self.assertEqual(len(r.json()["recordings"]), 1)

            # By id; unknown ids.
            r = self.get(server, "/api/recordings/" + rec["id"], admin)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["id"], rec["id"])
            r = self.get(server, "/api/recordings/" + "0" * 32, admin)
            self.assertEqual((r.status, r.error_code()), (404, "not-found"))
            r = self.get(server, "/api/recordings/nope", admin)
            self.assertEqual(r.status, 404)
            r = self.get(server, "/media/recordings/%s.webm" % ("0" * 32), admin)
            self.assertEqual(r.status, 404)

            # Not for viewers, nor without a token.
            r = self.get(server, "/api/recordings", viewer)
            self.assertEqual((r.status, r.error_code()), (403, "forbidden"))
            r = self.get(server, "/api/recordings", None)
            self.assertEqual(r.status, 401)
            r = server.request("POST", "/api/recordings/%s/publish" % rec["id"], None,
                               {"Authorization": "Bearer " + viewer})
            self.assertEqual(r.status, 403)

            # Media: whole file, ranges, out of bounds.
            media = rec["media_url"]
            with open(files[0], "rb") as f:
                content = f.read()
            r = self.get(server, media, admin)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers.get("content-type"), "video/webm")
            self.assertEqual(r.headers.get("accept-ranges"), "bytes")
            self.assertEqual(r.body, content)
            r = self.get(server, media, admin, {"Range": "bytes=0-99"})
            self.assertEqual(r.status, 206)
            self.assertEqual(r.body, content[:100])
            self.assertEqual(r.headers.get("content-range"), "bytes 0-99/%d" % len(content))
            r = self.get(server, media, admin, {"Range": "bytes=%d-" % (len(content) - 10)})
            self.assertEqual((r.status, r.body), (206, content[-10:]))
            r = self.get(server, media, admin, {"Range": "bytes=-20"})
            self.assertEqual((r.status, r.body), (206, content[-20:]))
            r = self.get(server, media, admin, {"Range": "bytes=%d-" % len(content)})
            self.assertEqual(r.status, 416)
            self.assertEqual(r.headers.get("content-range"), "bytes */%d" % len(content))
            r = self.get(server, media, admin, {"Range": "bytes=%d-%d"
                                                % (len(content) + 5, len(content) + 50)})
            self.assertEqual(r.status, 416)
            # A token in the query string is refused; <video> gets a signed
            # URL instead (tests/recorder/test_media_url.py).
            r = self.get(server, media + "?token=" + admin, None, {"Range": "bytes=10-19"})
            self.assertEqual((r.status, r.error_code()), (401, "token-in-url"))
            r = server.request("POST", "/api/recordings/%s/media-url" % rec["id"], None,
                               {"Authorization": "Bearer " + admin})
            self.assertEqual(r.status, 200, r)
            r = self.get(server, r.json()["url"], None, {"Range": "bytes=10-19"})
            self.assertEqual((r.status, r.body), (206, content[10:20]))

            # Viewers only once published, and only for their room.
            r = self.get(server, media, viewer)
            self.assertEqual(r.status, 403)
            r = server.request("POST", "/api/recordings/%s/publish" % rec["id"], None,
                               {"Authorization": "Bearer " + admin})
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.json()["published"])
            r = self.get(server, media, viewer, {"Range": "bytes=0-99"})
            self.assertEqual((r.status, r.body), (206, content[:100]))
            other = server.token("elsewhere", "viewer")
            r = self.get(server, media, other)
            self.assertEqual(r.status, 403)
            r = server.request("POST", "/api/recordings/%s/unpublish" % rec["id"], None,
                               {"Authorization": "Bearer " + admin})
            self.assertFalse(r.json()["published"])
            r = self.get(server, media, viewer)
            self.assertEqual(r.status, 403)

            # Kept across a restart (and not listed twice by the start-up scan).
            self.assertEqual(server.stop(), 0)
            server.start()
            admin = server.admin_token()
            r = self.get(server, "/api/recordings?kind=track", admin)
            self.assertEqual([x["id"] for x in r.json()["recordings"]], [rec["id"]])

            # Delete: file and row gone.
            r = server.request("DELETE", "/api/recordings/" + rec["id"], None,
                               {"Authorization": "Bearer " + admin})
            self.assertEqual(r.status, 204, r)
            self.assertFalse(os.path.exists(files[0]))
            r = self.get(server, "/api/recordings/" + rec["id"], admin)
            self.assertEqual(r.status, 404)
            r = self.get(server, media, admin)
            self.assertEqual(r.status, 404)
            r = self.get(server, "/api/recordings?kind=track", admin)
            self.assertEqual(r.json()["recordings"], [])
        finally:
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)

    async def test_scan_finds_files_of_an_earlier_run(self):
        """A file already in the recordings directory (from a run before the
        catalog existed) is catalogued at start with its WebM duration."""
        server = stagecast.Server(extra_args=["--record-by-default"]).start()
        try:
            room = "older"
            token = server.token(room, "presenter")
            pc, resp = await rtc.publish(server, room, token)
            self.assertTrue(await rtc.wait_connected(pc))
            await asyncio.sleep(3.0)
            await asyncio.to_thread(server.delete, resp.headers["location"], token)
            await pc.close()
            admin = server.admin_token()
            self.assertEqual(len(await self.wait_listed(server, admin)), 1)
            self.assertEqual(server.stop(), 0)
            # Forget the catalog; keep the file.
            for f in glob.glob(os.path.join(server.data, "stagecast.db*")):
                os.remove(f)
            files = glob.glob(os.path.join(server.data, "recordings", room, "*.webm"))
            self.assertEqual(len(files), 1)
            server.start()
            admin = server.admin_token()
            r = self.get(server, "/api/recordings?kind=track", admin)
            recs = r.json()["recordings"]
            self.assertEqual(len(recs), 1, r)
            self.assertEqual((recs[0]["room"], recs[0]["status"]), (room, "ready"))
            self.assertLess(abs(recs[0]["duration_s"] - ffprobe_duration(files[0])), 0.1)
            name = os.path.basename(files[0])
            started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(recs[0]["started_at"] / 1000))
            self.assertEqual(name[:16], started)
        finally:
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()

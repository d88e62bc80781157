"""A session published over WHIP is recorded as it happens: the WebM file
decodes, lasts as long as the session, has both tracks in sync; a server
killed with SIGKILL mid-recording repairs the file at its next start; a
room its host set to "off" is not recorded."""

import asyncio
import glob
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import rtc  # noqa: E402
import wsclient  # noqa: E402


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                          "-show_streams", path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def decode_errors(path):
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"],
                       capture_output=True, text=True)
    return r.returncode, r.stderr.strip()


def finished_files(server, room):
    return sorted(glob.glob(os.path.join(server.data, "recordings", room, "*.webm")))


class RecordingTest(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)

    async def publish_for(self, server, room, seconds):
        """Publish for about `seconds` of media; returns (pc, location, the
        measured duration between media starting and the DELETE)."""
        token = server.token(room, "presenter")
        pc, resp = await rtc.publish(server, room, token)
        self.assertEqual(resp.status, 201, resp)
        self.assertTrue(await rtc.wait_connected(pc), "publisher did not connect")
        start = time.monotonic()
        await asyncio.sleep(seconds)
        return pc, resp.headers["location"], token, start

    async def wait_file(self, server, room, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            files = finished_files(server, room)
            if files:
                return files
            await asyncio.sleep(0.25)
        return []

    async def test_session_is_recorded(self):
        server = stagecast.Server(extra_args=["--record-by-default"]).start()
        try:
            pc, loc, token, start = await self.publish_for(server, "allhands", 10.0)
            r = await asyncio.to_thread(server.delete, loc, token)
            published = time.monotonic() - start
            self.assertEqual(r.status, 200)
            await pc.close()
            files = await self.wait_file(server, "allhands")
            self.assertEqual(len(files), 1, "expected one recording, got %r\n%s"
                             % (files, server.log_tail()))
            info = probe(files[0])
            kinds = sorted(s["codec_name"] for s in info["streams"])
            self.assertEqual(kinds, ["opus", "vp8"], info["streams"])
            duration = float(info["format"]["duration"])
            self.assertLess(abs(duration - published), 0.5,
                            "recording lasts %.2f s, the session %.2f s" % (duration, published))
            rc, errors = decode_errors(files[0])
            self.assertEqual((rc, errors), (0, ""), "ffmpeg found errors")
            # Audio and video start together (lip sync from the sender reports).
            starts = [float(s.get("start_time", 0)) for s in info["streams"]]
            self.assertLess(abs(starts[0] - starts[1]), 0.1, info["streams"])
            video = [s for s in info["streams"] if s["codec_type"] == "video"][0]
            self.assertEqual((video["width"], video["height"]), (320, 240))
        finally:
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)

    async def test_sigkill_leaves_a_repairable_file(self):
        server = stagecast.Server(extra_args=["--record-by-default"]).start()
        pc = None
        try:
            pc, loc, token, start = await self.publish_for(server, "crash", 6.0)
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait()
            await pc.close()
            pc = None
            parts = glob.glob(os.path.join(server.data, "recordings", "crash", "*.part"))
            self.assertEqual(len(parts), 1, "the killed server should leave one .part file")
            # The same data directory, started again: the file is repaired.
            server.start()
            files = await self.wait_file(server, "crash", timeout=15.0)
            self.assertEqual(len(files), 1, server.log_tail())
            info = probe(files[0])
            duration = float(info["format"]["duration"])
            # Up to the last complete cluster (at most ~1 s lost).
            self.assertGreater(duration, 4.0, info["format"])
            self.assertLess(duration, 7.0, info["format"])
            rc, errors = decode_errors(files[0])
            self.assertEqual((rc, errors), (0, ""))
        finally:
            if pc:
                await pc.close()
            server.stop()
            server.cleanup()

    async def test_host_turns_recording_off(self):
        server = stagecast.Server(extra_args=["--record-by-default"]).start()
        try:
            host = wsclient.WsClient("127.0.0.1", server.port)
            joined = host.request({"type": "join", "id": 1, "token": server.token("quiet", "presenter")},
                                  want=("joined", "error"))
            self.assertEqual(joined["type"], "joined")
            state = host.recv_type(("recording",))
            self.assertTrue(state["on"], "the default is on")
            ok = host.request({"type": "record", "id": 2, "on": False}, want=("ok", "error"))
            self.assertEqual(ok["type"], "ok", ok)
            # A viewer may not change it.
            viewer = wsclient.WsClient("127.0.0.1", server.port)
            viewer.request({"type": "join", "id": 1, "token": server.token("quiet", "viewer")},
                           want=("joined",))
            refused = viewer.request({"type": "record", "id": 2, "on": True}, want=("ok", "error"))
            self.assertEqual(refused.get("code"), "forbidden", refused)
            pc, loc, token, start = await self.publish_for(server, "quiet", 4.0)
            await asyncio.to_thread(server.delete, loc, token)
            await pc.close()
            await asyncio.sleep(7.0)  # longer than the recorder's idle close
            self.assertEqual(glob.glob(os.path.join(server.data, "recordings", "quiet", "*")), [])
            host.close()
            viewer.close()
        finally:
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()

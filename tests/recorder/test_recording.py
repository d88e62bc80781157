"""A session published over WHIP is recorded as it happens: the WebM file
decodes, holds the media the publisher sent (no more, and no less than
what reached the server before the DELETE), has both tracks in sync; a
server killed with SIGKILL mid-recording repairs the file at its next
start; a room its host set to "off" is not recorded.

Nothing here compares the file with the wall clock alone: on a busy
machine aiortc's encoders fall behind real time, so the tests wait for the
publisher to have *sent* so many seconds of media (sent.py) and compare the
file with that."""

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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stagecast  # noqa: E402
import rtc  # noqa: E402
import sent  # noqa: E402
import wsclient  # noqa: E402


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                          "-show_streams", path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def decode_errors(path):
    """ffmpeg's complaints decoding every frame.  Video is passed on in the
    file's own time base (1 ms), so a timestamp that does not increase is
    still an error, but ffmpeg does not first round the frames to the frame
    rate it guesses: after a sender report moves video by a few ms (more
    often on a busy machine) it may guess 29.97 fps, and frames 33 ms apart
    then collide in its null muxer although the file is fine (remuxing or
    transcoding it is error-free)."""
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path,
                        "-enc_time_base:v", "1:1000", "-f", "null", "-"],
                       capture_output=True, text=True)
    return r.returncode, r.stderr.strip()


def audio_packets(path):
    """The pts (s) of every audio packet in the file, in order."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a",
                          "-show_entries", "packet=pts_time", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def finished_files(server, room):
    return sorted(glob.glob(os.path.join(server.data, "recordings", room, "*.webm")))


class RecordingTest(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)

    async def publish_for(self, server, room, seconds):
        """Publish until the sender has sent `seconds` of audio and of video
        (however long that takes); returns (pc, location, token, what was
        sent by then, the first-packet times of sent.note_first_sends)."""
        token = server.token(room, "presenter")
        pc, resp = await rtc.publish(server, room, token)
        self.assertEqual(resp.status, 201, resp)
        first = sent.note_first_sends(pc)
        self.assertTrue(await rtc.wait_connected(pc), "publisher did not connect")
        got = await sent.publish_media(pc, seconds)
        self.assertIsNotNone(got, "the publisher did not send %.1f s of media" % seconds)
        return pc, resp.headers["location"], token, got, first

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
            pc, loc, token, before, first = await self.publish_for(server, "allhands", 10.0)
            r = await asyncio.to_thread(server.delete, loc, token)
            ended = time.time()
            self.assertEqual(r.status, 200)
            await pc.close()
            after = await sent.sent(pc)  # all it ever sent: it sends no more
            # From the first frame the publisher made to the end of the DELETE.
            published = ended - after.start
            files = await self.wait_file(server, "allhands")
            self.assertEqual(len(files), 1, "expected one recording, got %r\n%s"
                             % (files, server.log_tail()))
            info = probe(files[0])
            kinds = sorted(s["codec_name"] for s in info["streams"])
            self.assertEqual(kinds, ["opus", "vp8"], info["streams"])
            duration = float(info["format"]["duration"])
            audio = audio_packets(files[0])
            self.assertTrue(audio, "no audio in the file")
            span = audio[-1] + sent.AUDIO_PTIME - audio[0]
            what = ("file: %.3f s, %d audio packets over %.3f s; sent: %d audio packets "
                    "before the DELETE, %d in all; session %.2f s"
                    % (duration, len(audio), span, before.audio_packets, after.audio_packets,
                       published))
            # Every audio packet in the file was sent, once.  What was sent
            # before the DELETE is all there, but for what the server could
            # not record: packets ahead of the file's opening, or still on
            # their way at the DELETE (1 s of margin, 50 packets).
            self.assertLessEqual(len(audio), after.audio_packets, what)
            self.assertGreaterEqual(len(audio), before.audio_packets - 50, what)
            # Audio time follows the RTP timestamps: 20 ms a packet (more
            # only where a packet was lost), never more than was sent.
            self.assertGreaterEqual(span, len(audio) * sent.AUDIO_PTIME - 0.002, what)
            self.assertLessEqual(span, after.audio_s + 0.002, what)
            # The file lasts as long as its audio at least, and not longer
            # than the session ran (one-sided: an encoder that falls behind
            # on a busy machine makes less media than wall time), but for a
            # track placed late by a server that was slow to read its first
            # packet (seen: 0.25 s on a busy machine; 1 s of margin).
            self.assertGreaterEqual(duration, audio[-1] + sent.AUDIO_PTIME - 0.002, what)
            self.assertLessEqual(duration, published + 1.0, what)
            rc, errors = decode_errors(files[0])
            self.assertEqual((rc, errors), (0, ""), "ffmpeg found errors")
            # Audio and video start together (lip sync from the sender
            # reports): each track starts in the file where its first packet
            # came in, so the gap between the tracks' starts is the gap
            # between the publisher sending their first packets (aiortc's
            # first VP8 keyframe takes a while to encode, longer on a busy
            # machine), give or take how late the server read each of them:
            # 0.5 s of margin (seen: 0.21 s on a busy machine).
            starts = {s["codec_type"]: float(s.get("start_time", 0)) for s in info["streams"]}
            file_gap = starts["video"] - starts["audio"]
            send_gap = first["video"] - first["audio"]
            self.assertLess(abs(file_gap - send_gap), 0.5,
                            "video starts %.3f s after audio in the file, its first packet "
                            "was sent %.3f s after audio's\n%s"
                            % (file_gap, send_gap, info["streams"]))
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
            pc, loc, token, before, first = await self.publish_for(server, "crash", 6.0)
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait()
            server._log.close()
            killed = time.time()
            await pc.close()
            after = await sent.sent(pc)
            pc = None
            parts = glob.glob(os.path.join(server.data, "recordings", "crash", "*.part"))
            self.assertEqual(len(parts), 1, "the killed server should leave one .part file")
            # The same data directory, started again: the file is repaired.
            server.start()
            files = await self.wait_file(server, "crash", timeout=15.0)
            self.assertEqual(len(files), 1, server.log_tail())
            info = probe(files[0])
            duration = float(info["format"]["duration"])
            what = ("%s; %.2f s of audio sent before the kill, %.2f s in all, session %.2f s"
                    % (info["format"], before.audio_s, after.audio_s, killed - after.start))
            # Up to the last complete cluster: at most ~1 s lost (clusters
            # are at most 1 s long), and 1 s more for what the server had
            # not yet received or recorded, of the media sent before the
            # kill (at least 6 s).
            self.assertGreater(duration, before.audio_s - 2.0, what)
            # Not longer than the session ran (1 s of margin, as above).
            self.assertLess(duration, killed - after.start + 1.0, what)
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
            pc, loc, token, _, _ = await self.publish_for(server, "quiet", 4.0)
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

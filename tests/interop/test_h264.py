"""An independent H.264 WHIP publisher (aiortc with libx264, offering only
H.264 packetization-mode 1 + Opus, the SDP shape OBS Studio sends) reaches
a WHEP viewer that decodes it."""

import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import rtc  # noqa: E402
from aiortc import RTCPeerConnection, RTCRtpSender  # noqa: E402


class H264Test(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)

    async def test_h264_only_publisher(self):
        server = stagecast.Server(workers=2).start()
        room = "h264"
        pcs = []
        try:
            pub = RTCPeerConnection()
            pcs.append(pub)
            pub.addTransceiver(rtc.SineTrack(), direction="sendonly")
            vt = pub.addTransceiver(rtc.PatternTrack(), direction="sendonly")
            h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs
                    if c.mimeType.lower() == "video/h264"
                    and c.parameters.get("packetization-mode") in ("1", 1)]
            self.assertTrue(h264, "aiortc offers no H.264")
            vt.setCodecPreferences(h264)
            token = server.token(room, "presenter")
            resp = await rtc._negotiate(pub, lambda sdp: server.whip(room, sdp, token))
            self.assertEqual(resp.status, 201, resp)
            offer = pub.localDescription.sdp
            self.assertNotIn("VP8", offer, "the publisher's offer should be H.264 only")
            answer = resp.body.decode()
            self.assertIn("H264/90000", answer)
            self.assertNotIn("VP8/90000", answer.split("m=video", 1)[1])

            viewer, vresp, counter = await rtc.view(server, room, server.token(room, "viewer"))
            pcs.append(viewer)
            self.assertEqual(vresp.status, 201, vresp)
            self.assertIn("H264/90000", vresp.body.decode())
            ok = await counter.wait_for(video=30, audio=50, timeout=30.0)
            self.assertTrue(ok, "viewer decoded %d video / %d audio frames\n%s"
                            % (counter.video, counter.audio, server.log_tail()))
            self.assertIn((320, 240), counter.video_sizes)
            counter.cancel()
        finally:
            for pc in pcs:
                await pc.close()
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()

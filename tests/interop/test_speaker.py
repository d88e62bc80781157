"""Active speaker (RFC 6464 audio levels): two aiortc publishers on one
stage, one talking (a tone) and one silent; everybody in the room is told
who talks, and told again when the speaker leaves."""

import asyncio
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import rtc  # noqa: E402
from roomwatch import RoomWatcher  # noqa: E402


class ActiveSpeakerTest(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)

    # A deadline, not a duration: ends as soon as check() holds.  Generous
    # because CI machines are 2-core and sometimes busy (issue 13); the
    # speaker needs ICE, DTLS and a second or so of audio levels first.
    async def wait_for(self, check, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = check()
            if got:
                return got
            await asyncio.sleep(0.1)
        return check()

    async def test_loud_publisher_is_the_speaker(self):
        server = stagecast.Server(workers=2).start()
        room = "speaker"
        pcs = []
        watcher = None
        try:
            watcher = RoomWatcher(server, room)
            quiet_pc, quiet = await rtc.publish(server, room, server.token(room, "cohost", "Quiet"),
                                                audio=rtc.SineTrack(amplitude=0))
            pcs.append(quiet_pc)
            self.assertEqual(quiet.status, 201, quiet)
            loud_pc, loud = await rtc.publish(server, room, server.token(room, "presenter", "Loud"),
                                              audio=rtc.SineTrack(amplitude=12000))
            pcs.append(loud_pc)
            self.assertEqual(loud.status, 201, loud)
            self.assertIn("ssrc-audio-level", loud.body.decode(),
                          "the answer should negotiate audio levels")
            loud_id = loud.headers["location"].rsplit("/", 1)[1]
            quiet_id = quiet.headers["location"].rsplit("/", 1)[1]

            def speaker_events():
                return watcher.of_type("active_speaker")

            got = await self.wait_for(lambda: [e for e in speaker_events()
                                               if (e.get("speaker") or {}).get("session") == loud_id])
            self.assertTrue(got, "no active_speaker for the loud publisher; got %r\n%s"
                            % (speaker_events(), server.log_tail()))
            self.assertEqual(got[0]["speaker"]["name"], "Loud")
            self.assertIn(got[0]["speaker"]["slot"], (0, 1))
            # The silent one never becomes the speaker.
            await asyncio.sleep(2.0)
            self.assertFalse([e for e in speaker_events()
                              if (e.get("speaker") or {}).get("session") == quiet_id],
                             speaker_events())
            # The speaker leaves: the room is told nobody speaks.
            before = len(speaker_events())
            r = await asyncio.to_thread(server.delete, loud.headers["location"],
                                        server.token(room, "presenter", "Loud"))
            self.assertIn(r.status, (200, 403), r)
            if r.status == 403:  # the token's sub differs: an admin may end it
                r = await asyncio.to_thread(server.delete, loud.headers["location"],
                                            server.admin_token())
                self.assertEqual(r.status, 200, r)
            await loud_pc.close()
            pcs.remove(loud_pc)
            left = await self.wait_for(lambda: [e for e in speaker_events()[before:]
                                                if e.get("speaker") is None], timeout=30.0)
            self.assertTrue(left, "no active_speaker null after the speaker left: %r"
                            % speaker_events())
        finally:
            for pc in pcs:
                await pc.close()
            if watcher:
                watcher.close()
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0, "server exit status")


if __name__ == "__main__":
    unittest.main()

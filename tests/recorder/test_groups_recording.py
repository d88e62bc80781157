"""Breakout groups are recorded when their class is (issue 17): a trainer
publishing in a recorded class, two aiortc participants publishing in a
group.  The group's publishers get files of their own room (CLASS~g1),
which the catalog lists and groups into their own session and composite;
the class recording's replay timeline lists the group's recording; turning
the class's recording off stops the group's files too."""

import asyncio
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import rtc  # noqa: E402
import wsclient  # noqa: E402
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402

ROOM = "rec-class"


class GroupsRecordingTest(unittest.IsolatedAsyncioTestCase):
    async def wait_for(self, check, what, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = await asyncio.to_thread(check)
            if got:
                return got
            await asyncio.sleep(0.3)
        self.fail("timed out waiting for %s\n%s" % (what, self.server.log_tail(30)))

    def recordings(self):
        r = self.server.request("GET", "/api/recordings", headers=self.auth)
        self.assertEqual(r.status, 200, r)
        return r.json()["recordings"]

    async def publish(self, ws, size):
        pc = RTCPeerConnection()
        self.pcs.append(pc)
        pc.addTransceiver(rtc.SineTrack(), direction="sendonly")
        pc.addTransceiver(rtc.PatternTrack(*size), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        r = await asyncio.to_thread(ws.request, {"type": "publish",
                                                 "sdp": pc.localDescription.sdp})
        self.assertEqual(r["type"], "answer", r)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=r["sdp"], type="answer"))
        self.assertTrue(await rtc.wait_connected(pc, 30))
        return pc

    async def test_group_recorded_with_its_class(self):
        self.server = stagecast.Server(workers=1, extra_args=["--record-by-default"]).start()
        self.auth = {"Authorization": "Bearer " + self.server.admin_token()}
        self.pcs, clients = [], []
        try:
            def join(role, sub):
                tok = self.server.token(ROOM, role, sub, ("--sub", sub))
                ws = wsclient.ThreadedWs(self.server, tok)
                clients.append(ws)
                return ws

            trainer = await asyncio.to_thread(join, "presenter", "trainer")
            await self.publish(trainer, (160, 96))
            parts = [await asyncio.to_thread(join, "viewer", u) for u in ("a", "b")]
            for m in ({"type": "groups_create", "count": 1},
                      {"type": "groups_assign", "mode": "auto"},
                      {"type": "groups_open"}):
                r = await asyncio.to_thread(trainer.request, m)
                self.assertEqual(r["type"], "ok", r)
            for i, ws in enumerate(parts):
                await self.wait_for(lambda: [m for m in ws.of_type("group") if m["group"]],
                                    "the group message")
                await self.publish(ws, (64 + 16 * i, 48))
            group_room = ROOM + "~g1"
            rows = await self.wait_for(
                lambda: [r for r in self.recordings() if r["room"] == group_room and
                         r["kind"] == "track"] if len([r for r in self.recordings()
                                                       if r["room"] == group_room]) >= 2
                else None, "both group publishers recorded")
            self.assertEqual({r["status"] for r in rows}, {"recording"})
            self.assertEqual(len({r["session"] for r in rows}), 1, rows)
            # The class's own recording (the trainer) lists the group's.
            cls = [r for r in self.recordings() if r["room"] == ROOM and r["kind"] == "track"]
            self.assertEqual(len(cls), 1, cls)
            tl = self.server.request("GET", "/api/recordings/%s/timeline" % cls[0]["id"],
                                     headers=self.auth)
            self.assertEqual(tl.status, 200, tl)
            groups = tl.json()["groups"]
            self.assertEqual([g["room"] for g in groups], [group_room])
            self.assertEqual(groups[0]["group"], "g1")
            self.assertIn(groups[0]["recording"]["id"], {r["id"] for r in rows})
            # A viewer of the class does not see unpublished group recordings.
            vtok = self.server.token(ROOM, "viewer")
            r = self.server.request("POST", "/api/recordings/%s/publish" % cls[0]["id"],
                                    headers=self.auth)
            self.assertEqual(r.status, 200, r)
            tl = self.server.request("GET", "/api/recordings/%s/timeline" % cls[0]["id"],
                                     headers={"Authorization": "Bearer " + vtok})
            self.assertEqual(tl.status, 200, tl)
            self.assertEqual(tl.json()["groups"], [])
            # Recording off for the class: the group's files end too.
            r = await asyncio.to_thread(trainer.request, {"type": "record", "on": False})
            self.assertEqual(r["type"], "ok", r)
            done = await self.wait_for(
                lambda: [r for r in self.recordings() if r["room"] == group_room and
                         r["kind"] == "track" and r["status"] == "ready"]
                if all(r["status"] != "recording" for r in self.recordings()
                       if r["room"] == group_room) else None,
                "the group's files finished")
            self.assertEqual(len(done), 2)
            for r in done:
                self.assertGreater(r["duration_s"], 0, r)
            # Its room session gets a composite of its own.
            comp = await self.wait_for(
                lambda: [r for r in self.recordings() if r["room"] == group_room and
                         r["kind"] == "composite" and r["status"] in ("ready", "failed")],
                "the group's composite", timeout=120)
            self.assertEqual(comp[0]["status"], "ready", comp)
        finally:
            for pc in self.pcs:
                await pc.close()
            for ws in clients:
                ws.close()
            self.server.stop()
            self.server.cleanup()


if __name__ == "__main__":
    unittest.main()

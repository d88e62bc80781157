"""Breakout groups with an independent WebRTC stack (aiortc): a trainer on
stage and four participants, each with one /ws connection, one subscribe
peer connection (13 recvonly pairs) and, once in a group, one publish peer
connection.  Each participant sends a video pattern of its own size and a
tone of its own pitch, so what a peer connection decodes tells whose media
reached it.

Checked: group-mates see and hear each other and nothing of the other group
or of the stage; a move (group_move), closing and the timer take effect on
the same peer connections (no renegotiation, no new session, the DTLS
transport stays up); the trainer's "talk to all" reaches every group in
slot 12; listen-only visits; help requests; attendance."""

import asyncio
import json
import os
import sys
import time
import unittest

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import rtc  # noqa: E402
import wsclient  # noqa: E402
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402

ROOM = "class-1"
PAIRS = 13
# Small pictures at 10 frames a second: one Python process encodes six
# streams and decodes a dozen, and a starved event loop answers ICE
# consent checks late enough to lose its peer connections.
TRAINER_SIZE = (176, 96)
TRAINER_HZ = 300
# participant i: video (64 + 16 i) x 48, tone 500 + 250 i Hz
SIZES = [(64 + 16 * i, 48) for i in range(4)]
TONES = [500 + 250 * i for i in range(4)]


def dominant_hz(frame):
    samples = frame.to_ndarray().astype(numpy.float32)
    if samples.ndim == 2:
        samples = samples[0]
    if frame.layout.name == "stereo" and len(samples) == 2 * frame.samples:
        samples = samples[::2]
    if numpy.max(numpy.abs(samples)) < 500:
        return None
    spec = numpy.abs(numpy.fft.rfft(samples * numpy.hanning(len(samples))))
    return int(round(numpy.argmax(spec) * frame.sample_rate / len(samples)))


class SlowPattern(rtc.PatternTrack):
    """PatternTrack at 10 frames a second."""

    async def recv(self):
        frame = await super().recv()
        await asyncio.sleep(0.066)
        frame.pts = self.n * 9000
        return frame


class Seen:
    """What one peer connection decoded, per transceiver (slot): the video
    sizes and tone pitches, each with the time it was last seen."""

    def __init__(self, pc):
        self.video = {}   # slot -> {size: last_seen}
        self.audio = {}   # slot -> {hz bucket: last_seen}
        self.tasks = []
        self.slot_of = {}
        for i, t in enumerate(pc.getTransceivers()):
            self.slot_of[id(t.receiver)] = i // 2

        @pc.on("track")
        def on_track(track):
            rx = next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track),
                      None)
            slot = self.slot_of.get(id(rx), -1)
            self.tasks.append(asyncio.ensure_future(self._drain(track, slot)))

    async def _drain(self, track, slot):
        n_audio = 0  # per track: a shared counter could always pick the same track's frames
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            now = time.monotonic()
            if track.kind == "video":
                self.video.setdefault(slot, {})[(frame.width, frame.height)] = now
            else:
                n_audio += 1
                if n_audio % 4:
                    continue  # every fourth frame (80 ms) tells the pitch
                hz = dominant_hz(frame)
                if hz:
                    self.audio.setdefault(slot, {})[round(hz / 50) * 50] = now

    def sizes_since(self, t0):
        return {s for per in self.video.values() for s, at in per.items() if at >= t0}

    def tones_since(self, t0):
        return {h for per in self.audio.values() for h, at in per.items() if at >= t0}

    def tones_in_slot_since(self, slot, t0):
        return {h for h, at in self.audio.get(slot, {}).items() if at >= t0}

    def cancel(self):
        for t in self.tasks:
            t.cancel()


class BreakoutGroupsTest(unittest.IsolatedAsyncioTestCase):
    async def wait_for(self, check, timeout=40.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = check()
            if got:
                return got
            await asyncio.sleep(0.1)
        got = check()
        states = [(pc.connectionState, pc.iceConnectionState) for pc in self.pcs]
        if not got and os.environ.get("GROUPS_LOG"):
            with open(os.environ["GROUPS_LOG"], "w") as f:
                f.write(self.server.log_text())
                st = self.server.request("GET", "/api/stats", headers={
                    "Authorization": "Bearer " + self.server.admin_token()}).json()
                f.write(json.dumps({k: v for k, v in st.items() if isinstance(v, int)}))
        self.assertTrue(got, "timed out waiting for %s (peer connections: %r)\n%s"
                        % (what, states, self.server.log_tail(40)))
        return got

    async def req(self, ws, msg):
        r = await asyncio.to_thread(ws.request, msg)
        self.assertEqual(r.get("type"), "ok" if msg["type"] not in ("publish", "subscribe", "group_watch")
                         else "answer", "%r -> %r" % (msg, r))
        return r

    async def negotiate(self, ws, pc, kind):
        await pc.setLocalDescription(await pc.createOffer())
        r = await self.req(ws, {"type": kind, "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=r["sdp"], type="answer"))
        return r["session"]

    def stats(self):
        r = self.server.request("GET", "/api/stats",
                                headers={"Authorization": "Bearer " + self.server.admin_token()})
        return r.json()

    async def asyncSetUp(self):
        self.server = stagecast.Server(workers=2).start()
        self.pcs = []
        self.ws = []
        self.seen = []

    async def asyncTearDown(self):
        for s in self.seen:
            s.cancel()
        for pc in self.pcs:
            await pc.close()
        for w in self.ws:
            w.close()
        self.server.stop()
        self.server.cleanup()

    async def join(self, role, name, sub):
        tok = await asyncio.to_thread(self.server.token, ROOM, role, name, ("--sub", sub))
        ws = await asyncio.to_thread(wsclient.ThreadedWs, self.server, tok)
        self.assertEqual(ws.joined.get("type"), "joined", ws.joined)
        self.ws.append(ws)
        return ws

    async def publish(self, ws, size, hz):
        pc = RTCPeerConnection()
        self.pcs.append(pc)
        pc.addTransceiver(rtc.SineTrack(freq=hz, amplitude=9000), direction="sendonly")
        pc.addTransceiver(SlowPattern(*size), direction="sendonly")
        sid = await self.negotiate(ws, pc, "publish")
        return pc, sid

    async def subscribe(self, ws):
        pc = RTCPeerConnection()
        self.pcs.append(pc)
        for _ in range(ws.joined["view_slots"]):
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")
        seen = Seen(pc)
        self.seen.append(seen)
        sid = await self.negotiate(ws, pc, "subscribe")
        return pc, sid, seen

    async def test_groups(self):
        trainer = await self.join("presenter", "Trainer", "trainer")
        self.assertEqual(trainer.joined["view_slots"], PAIRS)
        self.assertEqual(trainer.joined["group_size"], 12)
        tpc, tsid = await self.publish(trainer, TRAINER_SIZE, TRAINER_HZ)
        users = ["u%d" % i for i in range(4)]
        parts, subs = [], []
        for i, u in enumerate(users):
            ws = await self.join("viewer", "P%d" % i, u)
            parts.append(ws)
            subs.append(await self.subscribe(ws))
        # Everyone watches the stage first.
        t0 = time.monotonic()
        for pc, sid, seen in subs:
            await self.wait_for(lambda: TRAINER_SIZE in seen.sizes_since(t0), what="stage video")

        # A participant cannot run the groups.
        r = await asyncio.to_thread(parts[0].request, {"type": "groups_create", "count": 2})
        self.assertEqual((r["type"], r.get("code")), ("error", "forbidden"), r)
        r = await asyncio.to_thread(parts[0].request, {"type": "help"})
        self.assertEqual(r.get("code"), "forbidden", r)  # not in a group
        # Bad input is refused clearly.
        r = await asyncio.to_thread(trainer.request, {"type": "groups_create", "count": 51})
        self.assertEqual(r.get("code"), "too-many-groups", r)
        r = await asyncio.to_thread(trainer.request, {"type": "groups_open"})
        self.assertEqual(r.get("code"), "not-found", r)

        await self.req(trainer, {"type": "groups_create", "names": ["Red", "Blue"]})
        await self.req(trainer, {"type": "groups_assign", "mode": "manual",
                                 "assignments": {"u0": 1, "u1": 1, "u2": 2, "u3": 2}})
        state = await self.wait_for(lambda: [m for m in trainer.of_type("groups")
                                             if len(m["groups"]) == 2 and
                                             len(m["groups"][0]["members"]) == 2],
                                    what="groups state")
        self.assertEqual(state[-1]["unassigned"], [])
        await self.req(trainer, {"type": "groups_open", "duration": 0})

        # Each participant is told its group and publishes into it.
        pub_pcs = []
        for i, ws in enumerate(parts):
            g = await self.wait_for(lambda: [m for m in ws.of_type("group") if m["group"]],
                                    what="group message")
            self.assertEqual(g[-1]["group"]["name"], "Red" if i < 2 else "Blue")
            self.assertTrue(g[-1]["publish"])
            pub_pcs.append(await self.publish(ws, SIZES[i], TONES[i]))
        for pc, _ in pub_pcs:
            self.assertTrue(await rtc.wait_connected(pc, 30))
        handshakes = (await asyncio.to_thread(self.stats))["dtls_handshakes"]
        self.assertEqual(handshakes, 1 + 4 + 4)  # trainer, 4 subscribe, 4 publish
        mates = {0: 1, 1: 0, 2: 3, 3: 2}
        others = {0: (2, 3), 1: (2, 3), 2: (0, 1), 3: (0, 1)}
        t1 = time.monotonic()
        for i, (pc, sid, seen) in enumerate(subs):
            await self.wait_for(lambda: SIZES[mates[i]] in seen.sizes_since(t1),
                                what="P%d decoding its group-mate's video" % i)
            await self.wait_for(lambda: TONES[mates[i]] in seen.tones_since(t1),
                                what="P%d hearing its group-mate" % i)
        # Isolation: from now on, nothing of the other group or the stage.
        t2 = time.monotonic()
        await asyncio.sleep(3.0)
        for i, (pc, sid, seen) in enumerate(subs):
            for o in others[i]:
                self.assertNotIn(SIZES[o], seen.sizes_since(t2), "P%d sees P%d" % (i, o))
                self.assertNotIn(TONES[o], seen.tones_since(t2), "P%d hears P%d" % (i, o))
            self.assertNotIn(TRAINER_SIZE, seen.sizes_since(t2), "P%d sees the stage" % i)
            # Nor its own camera and voice: its page shows them itself.
            self.assertNotIn(SIZES[i], seen.sizes_since(t2), "P%d is sent its own video" % i)
            self.assertNotIn(TONES[i], seen.tones_since(t2), "P%d is sent its own voice" % i)
            self.assertNotIn(TRAINER_HZ, seen.tones_since(t2), "P%d hears the stage" % i)
            self.assertEqual(pc.connectionState, "connected")

        # Talk to all: the trainer's voice reaches every group in slot 12.
        t3 = time.monotonic()
        await self.req(trainer, {"type": "groups_talk", "on": True})
        for i, (pc, sid, seen) in enumerate(subs):
            await self.wait_for(lambda: TRAINER_HZ in seen.tones_in_slot_since(12, t3),
                                what="P%d hearing the trainer talk to all" % i)
        self.assertNotIn(TRAINER_SIZE, set().union(*(s.sizes_since(t3) for _, _, s in subs)))
        await self.req(trainer, {"type": "groups_talk", "on": False})

        # Ask for help: the trainer sees it; a listen-only visit clears it.
        await self.req(parts[2], {"type": "help"})
        await self.wait_for(lambda: [m for m in trainer.of_type("groups")
                                     if [h for h in m["help"] if h["user_id"] == "u2"]],
                            what="the help request")
        tsub = await self.subscribe(trainer)
        await self.req(trainer, {"type": "group_visit", "group": 2, "mode": "listen"})
        t4 = time.monotonic()
        await self.wait_for(lambda: {SIZES[2], SIZES[3]} <= tsub[2].sizes_since(t4),
                            what="the trainer seeing group Blue")
        await self.wait_for(lambda: [m for m in trainer.of_type("groups")
                                     if m["help"] == [] and m["state"] == "open"],
                            what="the help request cleared")
        # Listening: the trainer's own media stays on stage, not in the group.
        await asyncio.sleep(1.5)
        t5 = time.monotonic()
        await asyncio.sleep(2.0)
        self.assertNotIn(TRAINER_SIZE, subs[2][2].sizes_since(t5))
        await self.req(trainer, {"type": "group_visit", "group": None})

        # The trainer's wall: a session that watches group Red, whatever
        # the trainer's own connection does.
        wall = RTCPeerConnection()
        self.pcs.append(wall)
        for _ in range(PAIRS):
            wall.addTransceiver("audio", direction="recvonly")
            wall.addTransceiver("video", direction="recvonly")
        wall_seen = Seen(wall)
        self.seen.append(wall_seen)
        await wall.setLocalDescription(await wall.createOffer())
        r = await self.req(trainer, {"type": "group_watch", "group": 1,
                                     "sdp": wall.localDescription.sdp})
        await wall.setRemoteDescription(RTCSessionDescription(sdp=r["sdp"], type="answer"))
        tw = time.monotonic()
        await self.wait_for(lambda: {SIZES[0], SIZES[1]} <= wall_seen.sizes_since(tw),
                            what="the wall showing group Red")
        self.assertFalse(wall_seen.sizes_since(tw) & {SIZES[2], SIZES[3], TRAINER_SIZE})

        # A live move: P1 joins Blue; it now gets P2 and P3, not P0.
        await self.req(trainer, {"type": "group_move", "user_id": "u1", "group": 2})
        await self.wait_for(lambda: [m for m in parts[1].of_type("group")
                                     if m["group"] and m["group"]["name"] == "Blue"],
                            what="P1 told it moved")
        t6 = time.monotonic()
        seen1 = subs[1][2]
        await self.wait_for(lambda: {SIZES[2], SIZES[3]} <= seen1.sizes_since(t6),
                            what="P1 decoding its new mates")
        await self.wait_for(lambda: SIZES[1] in subs[2][2].sizes_since(t6),
                            what="P2 decoding P1, who joined")
        t7 = time.monotonic()
        await asyncio.sleep(2.5)
        self.assertNotIn(SIZES[0], seen1.sizes_since(t7), "P1 still sees Red")
        self.assertNotIn(TONES[0], seen1.tones_since(t7), "P1 still hears Red")
        self.assertNotIn(SIZES[1], subs[0][2].sizes_since(t7), "P0 still sees P1")

        # Close all (no grace): everyone is back on the stage, same connections.
        await self.req(trainer, {"type": "groups_close", "grace": 0})
        t8 = time.monotonic()
        for i, (pc, sid, seen) in enumerate(subs):
            g = await self.wait_for(lambda: [m for m in parts[i].of_type("group")
                                             if m["group"] is None],
                                    what="P%d back in the main room" % i)
            self.assertFalse(g[-1]["publish"])
            await self.wait_for(lambda: TRAINER_SIZE in seen.sizes_since(t8),
                                what="P%d decoding the stage again" % i)
        t9 = time.monotonic()
        await asyncio.sleep(2.0)
        for i, (pc, sid, seen) in enumerate(subs):
            self.assertEqual(pc.connectionState, "connected")
            leaked = seen.sizes_since(t9) & set(SIZES)
            self.assertFalse(leaked, "P%d still gets a parked publisher: %r" % (i, leaked))
        # A participant may not publish in the main room any more.
        r = await asyncio.to_thread(parts[0].request, {"type": "publish", "sdp": "v=0"})
        self.assertEqual(r.get("code"), "forbidden", r)

        # The timer: open for 2 s; the countdown (10 s grace) brings them back.
        await self.req(trainer, {"type": "groups_open", "duration": 2})
        await self.wait_for(lambda: [m for m in trainer.of_type("groups")
                                     if m["state"] == "closing"], what="the countdown")
        n_before = len(parts[3].of_type("group"))
        await self.wait_for(lambda: [m for m in parts[3].of_type("group")[n_before:]
                                     if m["group"] is None], timeout=40,
                            what="the timer bringing P3 back")
        # Still the one subscribe and one publish session each: nothing was
        # renegotiated, every peer connection is the one it was.
        answers = [m for w in parts for m in w.of_type("answer")]
        self.assertEqual(answers, [])  # answers came as replies only
        for pc in self.pcs:
            self.assertEqual(pc.connectionState, "connected")
        self.assertNotIn("ICE restart", self.server.log_text())
        # Every move went without a handshake: only the trainer's own
        # subscribe session and its wall session were added.
        self.assertEqual((await asyncio.to_thread(self.stats))["dtls_handshakes"],
                         handshakes + 2)
        self.assertEqual(len([s for s in self.server.log_text().splitlines()
                              if "moved from room" in s and "viewer" in s]) >= 8, True)

        # Attendance: time in the main room and in each group, per participant.
        r = await asyncio.to_thread(self.server.request, "GET",
                                    "/api/v1/rooms/%s/attendance" % ROOM,
                                    headers={"Authorization": "Bearer " + self.server.admin_token()})
        self.assertEqual(r.status, 200, r)
        rows = {p["user_id"]: p for p in r.json()["participants"]}
        self.assertEqual(set(rows), set(users))
        self.assertGreater(rows["u1"]["groups"].get("Red", 0), 0)
        self.assertGreater(rows["u1"]["groups"].get("Blue", 0), 0)
        self.assertGreater(rows["u0"]["main_ms"], 0)
        for u in users:  # every participant's tone was heard in its group
            self.assertGreater(rows[u]["talk_ms"], 0, rows[u])
        r = await asyncio.to_thread(self.server.request, "GET",
                                    "/api/v1/rooms/%s/attendance?format=csv" % ROOM,
                                    headers={"Authorization": "Bearer " + self.server.admin_token()})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.decode().startswith("user_id,name,main_ms,group,group_ms,messages,talk_ms\r\n"))


class PreassignTest(unittest.TestCase):
    """PUT /api/v1/rooms/{room}/groups: JSON and CSV, stored, and refused
    clearly when malformed."""

    def setUp(self):
        self.server = stagecast.Server(workers=1).start()
        self.auth = {"Authorization": "Bearer " + self.server.admin_token()}

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()

    def put(self, body, ctype="application/json", token=None):
        h = {"Content-Type": ctype}
        h["Authorization"] = "Bearer " + (token or self.server.admin_token())
        return self.server.request("PUT", "/api/v1/rooms/%s/groups" % ROOM, body=body, headers=h)

    def test_json_and_csv(self):
        r = self.put(json.dumps({"groups": [{"name": "A", "members": ["x", "y"]},
                                            {"name": "B", "members": ["z"]}]}).encode())
        self.assertEqual(r.status, 200, r)
        self.assertEqual([g["members"] for g in r.json()["groups"]], [["x", "y"], ["z"]])
        r = self.server.request("GET", "/api/v1/rooms/%s/groups" % ROOM, headers=self.auth)
        self.assertEqual([g["name"] for g in r.json()["groups"]], ["A", "B"])
        r = self.put(b"user_id,group\r\nann,Team 1\r\nbob,Team 2\r\ncid,Team 1\r\n", "text/csv")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(g["name"], g["members"]) for g in r.json()["groups"]],
                         [("Team 1", ["ann", "cid"]), ("Team 2", ["bob"])])
        # A joined participant of a pre-assigned class is listed as a member.
        ws = wsclient.ThreadedWs(self.server, self.server.token(ROOM, "viewer", "Ann", ("--sub", "ann")))
        try:
            deadline = time.monotonic() + 10
            while not ws.of_type("groups") and time.monotonic() < deadline:
                time.sleep(0.05)
            g = ws.of_type("groups")[-1]
            self.assertEqual(g["state"], "idle")
            self.assertIn({"user_id": "ann", "name": "Ann", "online": True},
                          g["groups"][0]["members"])
            self.assertNotIn("unassigned", g)  # staff only
        finally:
            ws.close()

    def test_refusals(self):
        self.assertEqual(self.put(b"{").status, 400)
        self.assertEqual(self.put(b'{"groups": []}').error_code(), "bad-request")
        self.assertEqual(self.put(json.dumps({"groups": [{"name": ""}]}).encode()).status, 400)
        self.assertEqual(self.put(b"just-one-field\n", "text/csv").status, 400)
        viewer = self.server.token(ROOM, "viewer")
        self.assertEqual(self.put(b'{"groups": [{"name": "A"}]}', token=viewer).status, 403)
        other = self.server.token("another", "presenter")
        self.assertEqual(self.put(b'{"groups": [{"name": "A"}]}', token=other).status, 403)
        r = self.server.request("PUT", "/api/v1/rooms/%s/attendance" % ROOM, body=b"{}",
                                headers=self.auth)
        self.assertEqual(r.status, 405, r)
        r = self.server.request("GET", "/api/v1/rooms/%s/nothing" % ROOM, headers=self.auth)
        self.assertEqual(r.status, 404, r)


if __name__ == "__main__":
    unittest.main()

"""Interactions over WebRTC data channels (RFC 8831/8832): aiortc, an
independent SCTP/DCEP stack, opens a "stagecast" channel on a WHEP viewer and
on a WHIP publisher; the same JSON as /ws flows both ways, acting as the
session's token, and bad input is refused without disturbing the media."""

import asyncio
import itertools
import json
import re
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import rtc  # noqa: E402
import stagecast  # noqa: E402
from aiortc import RTCPeerConnection  # noqa: E402
from ic import http_get, join  # noqa: E402

_ids = itertools.count(100000)
MAX_WS = 16384  # the server's --max-ws-message for this suite
# Deadlines, not durations: every wait ends as soon as its condition holds.
# Data channel messages ride SCTP over DTLS over the media plane, and CI
# machines are 2-core and sometimes busy (issue 13), so these are generous.
DC_TIMEOUT = 30.0       # a reply or broadcast over a data channel
OPEN_TIMEOUT = 30.0     # ICE + DTLS + SCTP + DCEP until the channel is open
STATS_TIMEOUT = 30.0    # a counter or the session count to show a change


class Dc:
    """A data channel that keeps every message it did not ask for."""

    def __init__(self, channel):
        self.ch = channel
        self.inbox = []
        self.raw = []
        self.event = asyncio.Event()

        @channel.on("message")
        def on_message(m):
            self.raw.append(m)
            self.inbox.append(json.loads(m) if isinstance(m, str) else {"_binary": m})
            self.event.set()

    async def wait(self, pred, timeout=DC_TIMEOUT):
        if isinstance(pred, str):
            t = pred
            pred = lambda m: m.get("type") == t  # noqa: E731
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.inbox):
                if pred(m):
                    return self.inbox.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching message; inbox: %r" % self.inbox[-20:])
            self.event.clear()
            try:
                await asyncio.wait_for(self.event.wait(), left)
            except asyncio.TimeoutError:
                pass

    def send(self, obj):
        self.ch.send(json.dumps(obj))

    async def req(self, obj, timeout=DC_TIMEOUT):
        obj = dict(obj, id=next(_ids))
        self.send(obj)
        return await self.wait(lambda m: m.get("re") == obj["id"], timeout)

    def batched(self, kind=None):
        out = []
        for m in self.inbox:
            if m.get("type") == "batch":
                out += [x for x in m["messages"] if kind is None or x.get("type") == kind]
        return out

    async def wait_batched(self, pred, timeout=DC_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for x in self.batched():
                if pred(x):
                    return x
            await asyncio.sleep(0.05)
        raise AssertionError("no matching batched message; inbox: %r" % self.inbox[-20:])


async def wait_until(fn, timeout=STATS_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(fn):
            return True
        await asyncio.sleep(0.1)
    return False


class Peer:
    """A WHIP publisher or WHEP viewer with a "stagecast" data channel."""

    @classmethod
    async def open(cls, srv, kind, room, role, name, sub):
        self = cls()
        self.srv = srv
        self.token = srv.token(room, role, name, extra=["--sub", sub])
        self.pc = RTCPeerConnection()
        self.counter = rtc.FrameCounter()
        self.counter.attach(self.pc)
        self.dc = Dc(self.pc.createDataChannel("stagecast"))
        if kind == "whip":
            self.pc.addTransceiver(rtc.SineTrack(), direction="sendonly")
            self.pc.addTransceiver(rtc.PatternTrack(), direction="sendonly")
            post = lambda sdp: srv.whip(room, sdp, self.token)  # noqa: E731
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
            self.pc.addTransceiver("video", direction="recvonly")
            post = lambda sdp: srv.whep(room, sdp, self.token)  # noqa: E731
        self.resp = await rtc._negotiate(self.pc, post)
        if self.resp.status != 201:
            raise AssertionError("%s: %r" % (kind, self.resp))
        self.answer = self.resp.body.decode()
        self.location = self.resp.headers["location"]
        deadline = time.monotonic() + OPEN_TIMEOUT
        while self.dc.ch.readyState != "open" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.dc.ch.readyState != "open":
            raise AssertionError("data channel did not open (state %s)" % self.dc.ch.readyState)
        return self

    async def close(self):
        self.counter.cancel()
        r = await asyncio.to_thread(self.srv.delete, self.location, self.token)
        await self.pc.close()
        return r


class DataChannelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Two workers: usrsctp's timers run on whichever worker ticks, so the
        # cross-worker hand-off is exercised.
        cls.srv = stagecast.Server(workers=2, extra_args=["--max-ws-message", str(MAX_WS)])
        cls.srv.start()
        cls.admin = cls.srv.admin_token()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log_text()
        cls.srv.cleanup()
        assert rc == 0, "server exit status %r:\n%s" % (rc, log[-3000:])
        assert "ERROR: AddressSanitizer" not in log and "LeakSanitizer" not in log, log[-3000:]

    def stat(self, name):
        return stagecast.counter(self.srv.stats(self.admin), name)

    def test_answer_accepts_and_rejects_data_sections(self):
        async def run():
            pc = RTCPeerConnection()
            pc.createDataChannel("stagecast")
            pc.addTransceiver("audio", direction="recvonly")
            offer = await pc.createOffer()
            await pc.setLocalDescription(offer)
            sdp = pc.localDescription.sdp
            await pc.close()
            return sdp

        def post(sdp):
            r = self.srv.whep("dc-sdp", sdp, tok)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(self.srv.delete(r.headers["location"], tok).status, 200)
            return r.body.decode()

        tok = self.srv.token("dc-sdp", "viewer", "S", extra=["--sub", "s1"])
        legacy = asyncio.run(run())
        # aiortc 1.4 offers the draft form (DTLS/SCTP 5000 + a=sctpmap): answered alike
        self.assertRegex(legacy, r"m=application \d+ DTLS/SCTP 5000")
        ans = post(legacy)
        self.assertRegex(ans, r"m=application [1-9]\d* DTLS/SCTP 5000\r\n")
        self.assertIn("a=sctpmap:5000 webrtc-datachannel", ans)
        self.assertIn("a=max-message-size:65536", ans)
        bundle = [l for l in ans.splitlines() if l.startswith("a=group:BUNDLE")][0]
        self.assertEqual(len(bundle.split()) - 1, 2)  # audio + data
        # RFC 8841 form
        modern = re.sub(r"m=application (\d+) DTLS/SCTP 5000",
                        r"m=application \1 UDP/DTLS/SCTP webrtc-datachannel", legacy)
        modern = re.sub(r"a=sctpmap:5000 webrtc-datachannel \d+", "a=sctp-port:5000", modern)
        ans = post(modern)
        self.assertRegex(ans, r"m=application [1-9]\d* UDP/DTLS/SCTP webrtc-datachannel\r\n")
        self.assertIn("a=sctp-port:5000", ans)
        self.assertIn("a=max-message-size:65536", ans)
        # A malformed data section is refused alone (port 0); the media goes on.
        for bad in (modern.replace("a=sctp-port:5000", "a=sctp-port:99999"),
                    modern.replace("a=sctp-port:5000", "a=sctp-port:12 34"),
                    modern.replace("webrtc-datachannel", "something-else"),
                    legacy.replace("a=sctpmap:5000", "a=sctpmap:5001")):
            self.assertNotEqual(bad, legacy)
            ans = post(bad)
            self.assertRegex(ans, r"m=application 0 ")
            self.assertNotIn("a=sctp-port", ans)
            self.assertNotIn("a=sctpmap", ans)
            self.assertIn("m=audio ", ans)
        # Without a data section the answer has none.
        plain = legacy.split("m=application")[0].replace("BUNDLE 0 1", "BUNDLE 0")
        self.assertNotIn("m=application", post(plain))

    def test_interactions_over_data_channels(self):
        asyncio.run(self._interactions())

    async def _interactions(self):
        srv, room = self.srv, "dc-room"
        sessions0 = await asyncio.to_thread(self.stat, "sessions")
        ws = await asyncio.to_thread(join, srv, room, "viewer", "Wes", "ws-1")
        pub = await Peer.open(srv, "whip", room, "presenter", "Host", "host-1")
        joined = await pub.dc.wait("joined")
        self.assertEqual((joined["room"], joined["role"], joined["user_id"]),
                         (room, "presenter", "host-1"))
        self.assertEqual((await pub.dc.wait("chat_history"))["messages"], [])

        view = await Peer.open(srv, "whep", room, "viewer", "Vera", "view-1")
        self.assertIn("a=sctpmap:5000 webrtc-datachannel", view.answer)
        j = await view.dc.wait("joined")
        self.assertEqual((j["role"], j["user_id"], j["name"]), ("viewer", "view-1", "Vera"))
        self.assertIn("chat", j["perms"])
        await view.dc.wait("chat_history")
        self.assertTrue(await view.counter.wait_for(video=5, audio=5, timeout=DC_TIMEOUT),
                        "viewer decodes nothing")

        # chat over a channel reaches /ws and the other channel, batched
        r = await view.dc.req({"type": "chat", "text": "hello from a data channel"})
        self.assertEqual(r["type"], "sent", r)
        got = await asyncio.to_thread(
            ws.wait_batched, lambda m: m.get("text") == "hello from a data channel", DC_TIMEOUT)
        self.assertEqual(got["from"]["user_id"], "view-1")
        m = await pub.dc.wait_batched(lambda m: m.get("text") == "hello from a data channel")
        self.assertEqual(m["from"], {"user_id": "view-1", "name": "Vera", "role": "viewer"})
        # and /ws chat reaches the channels
        await asyncio.to_thread(ws.req, {"type": "chat", "text": "hello from ws"})
        await view.dc.wait_batched(lambda m: m.get("text") == "hello from ws")
        await pub.dc.wait_batched(lambda m: m.get("text") == "hello from ws")

        # history arrives on open for a later channel
        late = await Peer.open(srv, "whep", room, "viewer", "Lou", "view-2")
        hist = (await late.dc.wait("chat_history"))["messages"]
        self.assertEqual([h["text"] for h in hist], ["hello from a data channel", "hello from ws"])

        # a poll: created and opened by the presenter over its channel, voted
        # over the viewer's, counted
        p = await pub.dc.req({"type": "poll_create", "question": "Best?", "options": ["a", "b"]})
        self.assertEqual(p["type"], "poll", p)
        self.assertEqual((await pub.dc.req({"type": "poll_open", "poll": p["id"]}))["type"], "ok")
        await view.dc.wait(lambda m: m.get("type") == "poll" and m["id"] == p["id"])
        v = await view.dc.req({"type": "poll_vote", "poll": p["id"], "choices": [1]})
        self.assertEqual(v["type"], "voted", v)
        v2 = await late.dc.req({"type": "poll_vote", "poll": p["id"], "choices": [1]})
        self.assertEqual(v2["type"], "voted", v2)
        res = await pub.dc.wait(lambda m: m.get("type") == "poll_results" and m["voters"] == 2)
        self.assertEqual(res["counts"], [0, 2])
        again = await view.dc.req({"type": "poll_vote", "poll": p["id"], "choices": [0]})
        self.assertEqual(again["type"], "error")

        # no permission: refused like on /ws
        f = await view.dc.req({"type": "poll_create", "question": "X", "options": ["a", "b"]})
        self.assertEqual(f["code"], "forbidden", f)

        # bad input: only the sender hears about it; its media keeps flowing
        drops0 = await asyncio.to_thread(self.stat, "drop_sctp")
        view.dc.ch.send("this is not JSON")
        e = await view.dc.wait("error")
        self.assertEqual(e["code"], "bad-request")
        view.dc.ch.send(b"\x00\x01binary")
        e = await view.dc.wait("error")
        self.assertEqual(e["code"], "bad-request")
        self.assertIn("text", e["message"])
        view.dc.send({"type": "chat", "text": "x" * (MAX_WS + 10)})
        e = await view.dc.wait("error")
        self.assertEqual(e["code"], "too-large")
        # over the 64 KiB the SDP announced: dropped by the media plane, counted
        view.dc.ch.send("y" * 100000)
        self.assertTrue(await wait_until(lambda: self.stat("drop_sctp") > drops0),
                        "oversized message not counted")
        before = view.counter.video
        self.assertEqual((await view.dc.req({"type": "ping"}))["type"], "pong")
        self.assertTrue(await view.counter.wait_for(video=before + 10, timeout=DC_TIMEOUT),
                        "media stopped")
        ws_errors = [m for m in ws.inbox if m.get("type") == "error"]
        self.assertEqual(ws_errors, [])
        self.assertGreater(await asyncio.to_thread(self.stat, "dc_messages_rx"), 5)
        self.assertGreater(await asyncio.to_thread(self.stat, "dc_messages_tx"), 5)

        # a channel closed by the peer leaves the audience; the media stays
        aud = await pub.dc.req({"type": "audience"})
        self.assertEqual(aud["type"], "audience", aud)
        self.assertIn("view-2", json.dumps(aud))
        late.dc.ch.close()
        ok = False
        deadline = time.monotonic() + DC_TIMEOUT
        while time.monotonic() < deadline:
            aud = await pub.dc.req({"type": "audience"})
            if "view-2" not in json.dumps(aud):
                ok = True
                break
            await asyncio.sleep(0.1)
        self.assertTrue(ok, "closed channel still in the audience: %r" % aud)

        # a kick over the channel ends the kicked user's session
        before_sessions = await asyncio.to_thread(self.stat, "sessions")
        k = await pub.dc.req({"type": "kick", "user_id": "view-1"})
        self.assertEqual(k["type"], "ok", k)
        kicked = await view.dc.wait("kicked")
        self.assertEqual(kicked["reason"], "kicked")
        self.assertTrue(await wait_until(lambda: self.stat("sessions") == before_sessions - 1),
                        "kicked session still open")

        for peer in (late, pub):
            r = await peer.close()
            self.assertEqual(r.status, 200, r)
        view.counter.cancel()
        await view.pc.close()
        await asyncio.to_thread(ws.close)
        self.assertTrue(await wait_until(lambda: self.stat("sessions") == sessions0),
                        "sessions left open")
        self.assertTrue(srv.alive())

    # ---- every interaction over a channel too (issue 5 follow-ups) -------------

    def test_qa_lottery_checkin_over_channels(self):
        asyncio.run(self._qa_lottery_checkin())

    async def _qa_lottery_checkin(self):
        srv, room = self.srv, "dc-more"
        pub = await Peer.open(srv, "whip", room, "presenter", "Host", "m-host")
        await pub.dc.wait("joined")
        viewers = []
        for i in range(4):
            v = await Peer.open(srv, "whep", room, "viewer", "V%d" % i, "m-v%d" % i)
            await v.dc.wait("joined")
            viewers.append(v)
        a, b, c, d = viewers

        # Q&A: ask, vote (once), answer; everyone sees the answered question
        q = await a.dc.req({"type": "question_ask", "text": "When is the break?"})
        self.assertEqual(q["type"], "sent", q)
        qid = q["question"]
        await pub.dc.wait(lambda m: m.get("type") == "question" and m["id"] == qid)
        self.assertEqual((await b.dc.req({"type": "question_vote", "question": qid}))["type"],
                         "ok")
        self.assertEqual((await c.dc.req({"type": "question_vote", "question": qid}))["type"],
                         "ok")
        self.assertEqual((await b.dc.req({"type": "question_vote", "question": qid}))["code"],
                         "already-voted")
        self.assertEqual((await b.dc.req({"type": "question_answer", "question": qid,
                                          "text": "no"}))["code"], "forbidden")
        r = await pub.dc.req({"type": "question_answer", "question": qid, "text": "At 3 pm"})
        self.assertEqual(r["type"], "ok", r)
        ans = await d.dc.wait(lambda m: m.get("type") == "question" and m["id"] == qid
                              and m["answered"])
        self.assertEqual((ans["answer"], ans["votes"]), ("At 3 pm", 2))
        lst = (await d.dc.req({"type": "question_list"}))["questions"]
        self.assertEqual([(x["id"], x["votes"], x["answered"]) for x in lst], [(qid, 2, True)])

        # check-in: a and c check in (c twice), then the export has exactly them
        ck = await pub.dc.req({"type": "checkin_open", "duration_s": 60})
        self.assertEqual(ck["type"], "ok", ck)
        ckid = ck["checkin"]
        await a.dc.wait(lambda m: m.get("type") == "checkin" and m["state"] == "open")
        for v in (a, c):
            r = await v.dc.req({"type": "checkin"})
            self.assertEqual((r["type"], r["checkin"], r["already"]), ("checked_in", ckid, False))
        self.assertTrue((await c.dc.req({"type": "checkin"}))["already"])
        self.assertEqual((await b.dc.req({"type": "checkin_list"}))["code"], "forbidden")
        cl = await pub.dc.req({"type": "checkin_list"})
        self.assertEqual(sorted(u["user_id"] for u in cl["users"]), ["m-v0", "m-v2"])
        self.assertEqual((await pub.dc.req({"type": "checkin_close"}))["type"], "ok")
        self.assertEqual((await d.dc.req({"type": "checkin"}))["code"], "not-open")
        tok = srv.token(room, "presenter", "H")
        ex = await asyncio.to_thread(http_get, srv, "/api/rooms/%s/checkins" % room, tok)
        self.assertEqual(ex.status, 200)
        rows = ex.json()["checkins"]
        self.assertEqual(sorted((x["checkin"], x["user_id"]) for x in rows),
                         [(ckid, "m-v0"), (ckid, "m-v2")])
        csv = await asyncio.to_thread(http_get, srv, "/api/rooms/%s/checkins.csv" % room, tok)
        lines = csv.body.decode().splitlines()
        self.assertEqual(lines[0], "checkin,user_id,name,ts,media_ms")
        self.assertEqual(sorted(ln.split(",")[1] for ln in lines[1:]), ['"m-v0"', '"m-v2"'])

        # lottery among the checked-in: both win, nobody else
        lo = await pub.dc.req({"type": "lottery_draw", "count": 5, "among": "checked_in",
                               "prize": "book", "exclude_winners": False})
        self.assertEqual(lo["type"], "ok", lo)
        drawn = await d.dc.wait(lambda m: m.get("type") == "lottery" and m["id"] == lo["lottery"])
        self.assertEqual(drawn["eligible"], 2)
        self.assertEqual(sorted(w["user_id"] for w in drawn["winners"]), ["m-v0", "m-v2"])
        one = await pub.dc.req({"type": "lottery_draw", "count": 1, "among": "checked_in",
                                "exclude_winners": False})
        got = await b.dc.wait(lambda m: m.get("type") == "lottery" and m["id"] == one["lottery"])
        self.assertEqual(len(got["winners"]), 1)
        self.assertIn(got["winners"][0]["user_id"], ("m-v0", "m-v2"))
        self.assertEqual((await a.dc.req({"type": "lottery_draw", "count": 1}))["code"],
                         "forbidden")

        for p in [pub] + viewers:
            self.assertEqual((await p.close()).status, 200)

    def test_preapproval_and_words_over_channels(self):
        asyncio.run(self._preapproval_words())

    async def _preapproval_words(self):
        srv, room = self.srv, "dc-mod"
        pub = await Peer.open(srv, "whip", room, "presenter", "Host", "p-host")
        ann = await Peer.open(srv, "whep", room, "viewer", "Ann", "p-ann")
        bob = await Peer.open(srv, "whep", room, "viewer", "Bob", "p-bob")
        for p in (pub, ann, bob):
            await p.dc.wait("chat_history")

        # the word filter on mixed Chinese/English text
        r = await pub.dc.req({"type": "words_set", "words": ["内幕", "pump"]})
        self.assertEqual((r["count"], r["refused"]), (2, 0))
        r = await ann.dc.req({"type": "chat", "text": "他说有内幕, PUMP it! pumpkin 南瓜"})
        self.assertEqual(r["type"], "sent", r)
        m = await bob.dc.wait_batched(lambda m: m.get("from", {}).get("user_id") == "p-ann")
        self.assertEqual(m["text"], "他说有**, **** it! pumpkin 南瓜")

        # pre-approval: held, seen by the moderator, approved, then shown
        self.assertEqual((await pub.dc.req({"type": "room_settings", "preapprove": True}))["type"],
                         "ok")
        await ann.dc.wait(lambda m: m.get("type") == "room_settings" and m["preapprove"])
        h = await ann.dc.req({"type": "chat", "text": "请批准 please"})
        self.assertEqual(h["type"], "held", h)
        rid = h["review_id"]
        item = await pub.dc.wait(lambda m: m.get("type") == "review"
                                 and m["item"]["review_id"] == rid)
        self.assertEqual(item["item"]["message"]["text"], "请批准 please")
        await asyncio.sleep(0.3)
        self.assertFalse([x for x in bob.dc.batched() if x.get("text") == "请批准 please"])
        self.assertEqual((await bob.dc.req({"type": "review", "review_id": rid,
                                            "approve": True}))["code"], "forbidden")
        self.assertEqual((await pub.dc.req({"type": "review", "review_id": rid,
                                            "approve": True}))["type"], "ok")
        shown = await bob.dc.wait_batched(lambda m: m.get("text") == "请批准 please")
        self.assertEqual(shown["from"]["user_id"], "p-ann")
        done = await ann.dc.wait("review_done")
        self.assertEqual((done["review_id"], done["approved"], done["msg_id"]),
                         (rid, True, shown["id"]))
        for p in (pub, ann, bob):
            self.assertEqual((await p.close()).status, 200)


class DataChannelBanTest(unittest.TestCase):
    def test_ban_survives_restart_on_a_channel(self):
        srv = stagecast.Server(workers=1)
        srv.start()
        try:
            asyncio.run(self._ban(srv))
        finally:
            rc = srv.stop()
            srv.cleanup()
        self.assertEqual(rc, 0)

    async def _ban(self, srv):
        room = "dc-ban"
        pub = await Peer.open(srv, "whip", room, "presenter", "Host", "bn-host")
        eve = await Peer.open(srv, "whep", room, "viewer", "Eve", "bn-eve")
        await eve.dc.wait("joined")
        r = await pub.dc.req({"type": "ban", "user_id": "bn-eve", "reason": "abuse"})
        self.assertEqual((r["type"], r["closed"]), ("ok", 1))
        self.assertEqual((await eve.dc.wait("kicked"))["reason"], "banned")
        bans = (await pub.dc.req({"type": "bans"}))["bans"]
        self.assertEqual([(b["user_id"], b["reason"]) for b in bans], [("bn-eve", "abuse")])
        eve.counter.cancel()
        await eve.pc.close()
        await pub.close()

        self.assertEqual(await asyncio.to_thread(srv.stop), 0)
        await asyncio.to_thread(srv.start)
        # after the restart a new channel of the banned user is refused
        again = await Peer.open(srv, "whep", room, "viewer", "Eve", "bn-eve")
        e = await again.dc.wait("error")
        self.assertEqual(e["code"], "banned")
        self.assertFalse([m for m in again.dc.inbox if m.get("type") == "joined"])
        # others still get in, and the list survived too
        host = await Peer.open(srv, "whep", room, "presenter", "Host", "bn-host")
        await host.dc.wait("joined")
        bans = (await host.dc.req({"type": "bans"}))["bans"]
        self.assertEqual([b["user_id"] for b in bans], ["bn-eve"])
        again.counter.cancel()
        await again.pc.close()
        await host.close()


if __name__ == "__main__":
    unittest.main()

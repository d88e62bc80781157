"""Moderation: the word filter on mixed Chinese/English text (global list
file and room list, also on names), pre-approval, mute, kick, bans that
survive a restart, permission refusals, and the export with media time."""

import socket
import unittest

import wsclient
from ic import Client, http_get, join, start_server

GLOBAL_WORDS = ["scam", "赌博", "# a comment line"]


class ModerationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = start_server(words=GLOBAL_WORDS)

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        cls.srv.cleanup()
        assert rc == 0, "server exit status %r" % rc

    def test_word_filter_mixed_text(self):
        room = "words"
        host = join(self.srv, room, "presenter", "Host", "w-host")
        ann = join(self.srv, room, "viewer", "Ann", "w-ann")
        self.assertEqual(ann.req({"type": "words_set", "words": ["x"]})["code"], "forbidden")
        r = host.req({"type": "words_set", "words": ["内幕", "Pump", "", 7]})
        self.assertEqual((r["count"], r["refused"]), (2, 2))
        self.assertEqual(host.req({"type": "words_get"})["words"], ["内幕", "Pump"])
        text = "这不是scam吧? Scammer说赌博有内幕, pump it! PUMP."
        ann.req({"type": "chat", "text": text})
        got = host.wait_batched(lambda m: m.get("type") == "chat")
        self.assertEqual(got["text"], "这不是****吧? Scammer说**有**, **** it! ****.")
        # danmaku and questions too
        ann.req({"type": "danmaku", "text": "赌博scam"})
        d = host.wait_batched(lambda m: m.get("type") == "danmaku")
        # next to a CJK character a Latin word is still a whole word
        self.assertEqual(d["text"], "******")
        q = ann.req({"type": "question_ask", "text": "is it a SCAM?"})
        qm = host.wait(lambda m: m.get("type") == "question" and m["id"] == q["question"])
        self.assertEqual(qm["text"], "is it a ****?")
        # display names are filtered where they are shown
        bad = join(self.srv, room, "viewer", "scam小王", "w-bad")
        bad.req({"type": "chat", "text": "hi"})
        m = host.wait_batched(lambda m: m.get("from", {}).get("user_id") == "w-bad")
        self.assertEqual(m["from"]["name"], "****小王")
        for c in (host, ann, bad):
            c.close()

    def test_preapproval(self):
        room = "review"
        host = join(self.srv, room, "presenter", "Host", "r-host")
        ann = join(self.srv, room, "viewer", "Ann", "r-ann")
        bob = join(self.srv, room, "viewer", "Bob", "r-bob")
        host.req({"type": "room_settings", "preapprove": True})
        ann.wait(lambda m: m.get("type") == "room_settings" and m["preapprove"])
        h1 = ann.req({"type": "chat", "text": "please approve"})
        h2 = ann.req({"type": "chat", "text": "please reject"})
        hq = bob.req({"type": "question_ask", "text": "held question?"})
        self.assertEqual([h1["type"], h2["type"], hq["type"]], ["held"] * 3)
        # moderators see the queue (live and on request); viewers do not
        item = host.wait(lambda m: m.get("type") == "review"
                         and m["item"]["review_id"] == h2["review_id"])
        self.assertEqual(item["item"]["message"]["text"], "please reject")
        self.assertNotIn("_uid", item["item"])
        queue = host.req({"type": "review_list"})["items"]
        self.assertEqual([i["review_id"] for i in queue],
                         [h1["review_id"], h2["review_id"], hq["review_id"]])
        self.assertEqual(bob.req({"type": "review_list"})["code"], "forbidden")
        self.assertEqual(bob.req({"type": "review", "review_id": h1["review_id"],
                                  "approve": True})["code"], "forbidden")
        self.assertEqual(host.req({"type": "review", "review_id": h2["review_id"],
                                   "approve": False})["type"], "ok")
        self.assertEqual(host.req({"type": "review", "review_id": h1["review_id"],
                                   "approve": True})["type"], "ok")
        self.assertEqual(host.req({"type": "review", "review_id": hq["review_id"],
                                   "approve": True})["type"], "ok")
        self.assertEqual(host.req({"type": "review", "review_id": h1["review_id"],
                                   "approve": True})["code"], "not-found")
        bob.wait_batched(lambda m: m.get("text") == "please approve")
        bob.wait(lambda m: m.get("type") == "question" and m["text"] == "held question?")
        done = ann.wait(lambda m: m.get("type") == "review_done" and not m["approved"])
        self.assertEqual(done["review_id"], h2["review_id"])
        # moderators are not held
        self.assertEqual(host.req({"type": "chat", "text": "from the host"})["type"], "sent")
        bob.wait_batched(lambda m: m.get("text") == "from the host")
        bob.drain(0.3)
        self.assertFalse([m for m in bob.batched() if m.get("text") == "please reject"])
        self.assertFalse([m for m in bob.inbox if m.get("type") == "review"])
        late = join(self.srv, room, "viewer", "Late", "r-late")
        hist = [m["text"] for m in late.wait("chat_history")["messages"]]
        self.assertEqual(hist, ["please approve", "from the host"])
        for c in (host, ann, bob, late):
            c.close()

    def test_mute_and_kick(self):
        room = "mute"
        host = join(self.srv, room, "presenter", "Host", "m-host")
        ann = join(self.srv, room, "viewer", "Ann", "m-ann")
        bob = join(self.srv, room, "viewer", "Bob", "m-bob")
        self.assertEqual(bob.req({"type": "mute", "user_id": "m-ann"})["code"], "forbidden")
        self.assertEqual(host.req({"type": "mute", "user_id": "m-ann"})["type"], "ok")
        self.assertTrue(ann.wait("muted")["muted"])
        self.assertEqual(ann.req({"type": "chat", "text": "hello?"})["code"], "muted")
        self.assertEqual(bob.req({"type": "chat", "text": "bob talks"})["type"], "sent")
        host.req({"type": "mute", "user_id": "m-ann", "muted": False})
        self.assertEqual(ann.req({"type": "chat", "text": "back"})["type"], "sent")
        # kick: the connection closes, the others stay
        self.assertEqual(bob.req({"type": "kick", "user_id": "m-ann"})["code"], "forbidden")
        self.assertEqual(host.req({"type": "kick", "user_id": "nobody"})["code"], "not-found")
        r = host.req({"type": "kick", "user_id": "m-ann", "reason": "spam"})
        self.assertEqual((r["type"], r["closed"]), ("ok", 1))
        kicked = ann.wait("kicked")
        self.assertEqual(kicked["reason"], "kicked")
        # the server closes the connection: a deadline, not a duration
        with self.assertRaises(wsclient.WsClosed):
            ann.wait("never", timeout=20)
        self.assertEqual(bob.req({"type": "chat", "text": "still on"})["type"], "sent")
        aud = host.req({"type": "audience"})
        self.assertEqual({u["user_id"] for u in aud["users"]}, {"m-host", "m-bob"})
        for c in (host, ann, bob):
            c.close()

    def test_ban_survives_restart_and_export(self):
        room = "banroom"
        srv = start_server()
        try:
            host = join(srv, room, "presenter", "Host", "b-host")
            eve = join(srv, room, "viewer", "Eve", "b-eve")
            eve.req({"type": "chat", "text": "before the ban"})
            self.assertEqual(eve.req({"type": "ban", "user_id": "b-host"})["code"], "forbidden")
            r = host.req({"type": "ban", "user_id": "b-eve", "reason": "abuse"})
            self.assertEqual(r["closed"], 1)
            self.assertEqual(eve.wait("kicked")["reason"], "banned")
            refused = Client(srv, room, "viewer", "Eve", "b-eve")
            self.assertEqual(refused.joined["code"], "banned")
            # not joined: room messages are refused
            self.assertEqual(refused.req({"type": "chat", "text": "x"})["code"], "not-joined")
            other = Client(srv, "elsewhere", "viewer", "Eve", "b-eve")
            self.assertEqual(other.joined["type"], "joined")   # bans are per room
            for c in (host, eve, refused, other):
                c.close()

            self.assertEqual(srv.stop(), 0)
            srv.start()
            again = Client(srv, room, "viewer", "Eve", "b-eve")
            self.assertEqual(again.joined["code"], "banned")
            again.close()
            host = join(srv, room, "presenter", "Host", "b-host")
            # history survives the restart too
            hist = host.wait("chat_history")["messages"]
            self.assertEqual([m["text"] for m in hist], ["before the ban"])
            self.assertEqual(host.req({"type": "unban", "user_id": "b-eve"})["type"], "ok")
            self.assertEqual(host.req({"type": "unban", "user_id": "b-eve"})["code"],
                             "not-found")
            back = join(srv, room, "viewer", "Eve", "b-eve")
            back.close()
            host.close()
            ex = http_get(srv, "/api/rooms/%s/interactions" % room,
                          srv.token(room, "presenter", "H"))
            self.assertEqual(ex.status, 200)
            rows = ex.json()["interactions"]
            chat = [r for r in rows if r["kind"] == "chat"][0]
            self.assertEqual((chat["user_id"], chat["data"]["text"]), ("b-eve", "before the ban"))
            self.assertGreaterEqual(chat["media_ms"], 0)
            actions = [r["data"]["action"] for r in rows if r["kind"] == "moderation"]
            self.assertEqual(actions, ["ban", "unban"])
            self.assertEqual(http_get(srv, "/api/rooms/%s/interactions" % room,
                                      srv.token(room, "viewer", "V")).status, 403)
        finally:
            srv.stop()
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()

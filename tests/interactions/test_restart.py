"""A restart loses no interaction state (docs/RELIABILITY.md, 24): a room
with open, closed and draft polls and their votes, questions with votes and
an answer, an open check-in with its entries, a lottery, likes and a mute is
used over /ws; the server is stopped (SIGKILL in one test, SIGTERM in the
other) and started again on the same data directory; everyone reconnects
and finds the room as it was: the same lists, the same counts, a second
vote refused, the mute still on, the check-in open with its deadline, new
ids above the old ones.  A check-in whose time ran out while the server was
down comes back closed as of its end."""

import os
import signal
import time
import unittest

from ic import http_get, join, start_server

ROOM = "keep"
LATE = "keep-late"      # a room whose check-in ends while the server is down
HELD = "keep-held"      # a room in pre-approval with messages awaiting review


def by_id(items):
    return sorted(items, key=lambda x: x["id"])


class RestartTest(unittest.TestCase):
    def setUp(self):
        self.srv = start_server()
        self.clients = []

    def tearDown(self):
        self.close_all()
        rc = self.srv.stop()
        self.srv.cleanup()
        self.assertEqual(rc, 0, "server exit status %r" % rc)

    def join(self, room, role, name, sub):
        c = join(self.srv, room, role, name, sub)
        self.clients.append(c)
        return c

    def close_all(self):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        self.clients = []

    def restart(self, sig, open_until_ms):
        """Stops the server with sig (before open_until_ms, so the late
        check-in is still open) and starts it again on its data dir once
        that time has passed."""
        proc = self.srv.proc
        self.assertLess(time.time() * 1000, open_until_ms - 500,
                        "the machine is too slow: the 5 s check-in ran out before the stop")
        proc.send_signal(sig)
        proc.wait(15)
        if sig == signal.SIGTERM:
            self.assertEqual(proc.returncode, 0, self.srv.log_tail())
        else:
            self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.srv.stop()     # closes the log; the process is gone already
        os.replace(self.srv.log_path, self.srv.log_path + ".1")
        self.close_all()
        left = open_until_ms / 1000.0 + 0.3 - time.time()
        if left > 0:
            time.sleep(left)
        self.srv.start()

    # -- before: a room in use -------------------------------------------------

    def use_the_room(self, wait_for_likes):
        s = {}
        host = self.join(ROOM, "presenter", "Host", "k-host")
        a = self.join(ROOM, "viewer", "Ann", "k-a")
        b = self.join(ROOM, "viewer", "Bob", "k-b")
        c = self.join(ROOM, "viewer", "Cat", "k-c")

        # Polls: one open with two votes, a quiz closed after two votes, a draft.
        p1 = host.req({"type": "poll_create", "question": "Lunch?",
                       "options": ["pizza", "salad", "soup"], "open": True})
        p2 = host.req({"type": "poll_create", "question": "2+2?", "options": ["3", "4"],
                       "quiz": True, "correct": [1], "open": True})
        p3 = host.req({"type": "poll_create", "question": "Later?", "options": ["yes", "no"]})
        s["p1"], s["p2"], s["p3"] = p1["id"], p2["id"], p3["id"]
        for v, poll, ch in ((a, p1, [0]), (b, p1, [2]), (a, p2, [1]), (b, p2, [0])):
            self.assertEqual(v.req({"type": "poll_vote", "poll": poll["id"],
                                    "choices": ch})["type"], "voted")
        self.assertEqual(host.req({"type": "poll_close", "poll": p2["id"]})["type"], "ok")

        # Questions: two, three votes, one answered.
        q1 = a.req({"type": "question_ask", "text": "When is the launch?"})
        q2 = b.req({"type": "question_ask", "text": "Price?", "anonymous": True})
        s["q1"], s["q2"] = q1["question"], q2["question"]
        for v, q in ((a, s["q2"]), (b, s["q2"]), (b, s["q1"])):
            self.assertEqual(v.req({"type": "question_vote", "question": q})["type"], "ok")
        self.assertEqual(host.req({"type": "question_answer", "question": s["q1"],
                                   "text": "In May."})["type"], "ok")

        # An open check-in (ten minutes) with two entries, and a draw among them.
        r = host.req({"type": "checkin_open", "duration_s": 600})
        s["ck"] = r["checkin"]
        s["ck_open"] = a.wait(lambda m: m.get("type") == "checkin" and m["id"] == s["ck"])
        for v in (a, b):
            self.assertEqual(v.req({"type": "checkin"})["already"], False)
        self.assertEqual(host.req({"type": "lottery_draw", "count": 1,
                                   "among": "checked_in"})["type"], "ok")
        s["winner"] = a.wait("lottery")["winners"][0]["user_id"]

        # Likes: 5 + 3, each acknowledged.
        for v, n in ((a, 5), (b, 3)):
            for _ in range(n):
                self.assertEqual(v.req({"type": "like"})["type"], "ok")
        if wait_for_likes:
            # The tick has stored them once the room sees the total.
            host.wait_batched(lambda m: m.get("type") == "likes" and m["total"] == 8)

        # Cat is muted.
        self.assertEqual(host.req({"type": "mute", "user_id": "k-c"})["type"], "ok")
        self.assertTrue(c.wait("muted")["muted"])
        self.assertEqual(c.req({"type": "chat", "text": "hello?"})["code"], "muted")

        # What the host sees now, to compare after the restart.
        s["polls"] = by_id(host.req({"type": "poll_list"})["polls"])
        s["questions"] = host.req({"type": "question_list"})["questions"]
        s["checkins"] = host.req({"type": "checkin_list"})
        s["scores"] = host.req({"type": "quiz_scores"})
        self.assertEqual([p["voters"] for p in s["polls"]], [2, 2, 0])
        self.assertEqual([(q["id"], q["votes"]) for q in s["questions"]],
                         [(s["q2"], 2), (s["q1"], 1)])
        self.assertEqual(len(s["checkins"]["users"]), 2)

        # The late room's check-in (the shortest there is) opens last: still
        # open when the server stops, over when it starts again.
        lh = self.join(LATE, "presenter", "Host", "k-host")
        lv = self.join(LATE, "viewer", "Ann", "k-a")
        r = lh.req({"type": "checkin_open", "duration_s": 5})
        self.assertEqual(r["type"], "ok", r)
        s["late_id"] = r["checkin"]
        s["late_ends"] = lv.wait(lambda m: m.get("type") == "checkin")["ends_at"]
        self.assertEqual(lv.req({"type": "checkin"})["already"], False)

        # Pre-approval: three held messages, one approved, one rejected,
        # one still waiting when the server stops.
        hh = self.join(HELD, "presenter", "Host", "k-host")
        hv = self.join(HELD, "viewer", "Ann", "k-a")
        self.assertEqual(hh.req({"type": "room_settings", "preapprove": True})["type"], "ok")
        ids = []
        for text in ("first", "second", "third"):
            r = hv.req({"type": "chat", "text": text})
            self.assertEqual(r["type"], "held", r)
            ids.append(r["review_id"])
        self.assertEqual(hh.req({"type": "review", "review_id": ids[0], "approve": True})["type"], "ok")
        self.assertEqual(hh.req({"type": "review", "review_id": ids[1], "approve": False})["type"], "ok")
        s["held"] = ids
        return s

    # -- after: the same room ---------------------------------------------------

    def check_the_room(self, s):
        host = self.join(ROOM, "presenter", "Host", "k-host")
        a = self.join(ROOM, "viewer", "Ann", "k-a")
        b = self.join(ROOM, "viewer", "Bob", "k-b")
        c = self.join(ROOM, "viewer", "Cat", "k-c")
        d = self.join(ROOM, "viewer", "Dan", "k-d")   # new since the restart

        # On join: the likes total, the open poll with its counts, the open
        # check-in with its deadline, and the mute to the muted user only.
        self.assertEqual(a.wait("likes")["total"], 8)
        open_poll = a.wait(lambda m: m.get("type") == "poll")
        self.assertEqual((open_poll["id"], open_poll["state"], open_poll["counts"],
                          open_poll["voters"]), (s["p1"], "open", [1, 0, 1], 2))
        ck = a.wait(lambda m: m.get("type") == "checkin")
        self.assertEqual((ck["id"], ck["state"], ck["ends_at"], ck["count"]),
                         (s["ck"], "open", s["ck_open"]["ends_at"], 2))
        self.assertTrue(c.wait("muted")["muted"])
        a.drain(0.3)
        self.assertEqual([m for m in a.inbox if m.get("type") in ("muted", "poll")], [])

        # The host's lists are what they were.
        self.assertEqual(by_id(host.req({"type": "poll_list"})["polls"]), s["polls"])
        self.assertEqual(host.req({"type": "question_list"})["questions"], s["questions"])
        self.assertEqual(self.without_re(host.req({"type": "checkin_list"})),
                         self.without_re(s["checkins"]))
        self.assertEqual(self.without_re(host.req({"type": "quiz_scores"})),
                         self.without_re(s["scores"]))

        # Polls: a second vote is refused, a new voter counts, the closed
        # quiz stays closed, the draft can still be opened.
        for v in (a, b):
            self.assertEqual(v.req({"type": "poll_vote", "poll": s["p1"],
                                    "choices": [1]})["code"], "already-voted")
        self.assertEqual(d.req({"type": "poll_vote", "poll": s["p1"], "choices": [1]})["type"],
                         "voted")
        res = host.wait(lambda m: m.get("type") == "poll_results" and m["poll"] == s["p1"])
        self.assertEqual((res["counts"], res["voters"]), ([1, 1, 1], 3))
        self.assertEqual(a.req({"type": "poll_vote", "poll": s["p2"], "choices": [1]})["code"],
                         "not-open")
        self.assertEqual(host.req({"type": "poll_open", "poll": s["p3"]})["type"], "ok")

        # Questions: a second vote is refused, a new one counts.
        self.assertEqual(a.req({"type": "question_vote", "question": s["q2"]})["code"],
                         "already-voted")
        self.assertEqual(b.req({"type": "question_vote", "question": s["q1"]})["code"],
                         "already-voted")
        self.assertEqual(d.req({"type": "question_vote", "question": s["q1"]})["type"], "ok")
        q1 = host.wait(lambda m: m.get("type") == "question" and m["id"] == s["q1"])
        self.assertEqual((q1["votes"], q1["answered"], q1["answer"]), (2, True, "In May."))

        # Check-in: still open, entries kept, a new one added.
        self.assertEqual(a.req({"type": "checkin"})["already"], True)
        self.assertEqual(d.req({"type": "checkin"})["already"], False)
        self.assertEqual(host.req({"type": "checkin_open"})["code"], "conflict")
        users = host.req({"type": "checkin_list"})["users"]
        self.assertEqual(sorted(u["user_id"] for u in users), ["k-a", "k-b", "k-d"])

        # The lottery still excludes its earlier winner.
        self.assertEqual(host.req({"type": "lottery_draw", "count": 3,
                                   "among": "checked_in"})["type"], "ok")
        draw = a.wait("lottery")
        self.assertEqual(draw["eligible"], 2)
        self.assertNotIn(s["winner"], [w["user_id"] for w in draw["winners"]])

        # Likes go on from the total; the mute holds.
        self.assertEqual(a.req({"type": "like"})["type"], "ok")
        host.wait_batched(lambda m: m.get("type") == "likes" and m["total"] == 9)
        self.assertEqual(c.req({"type": "chat", "text": "still muted?"})["code"], "muted")
        aud = host.req({"type": "audience"})["users"]
        self.assertEqual({u["user_id"]: u["muted"] for u in aud if u["user_id"] in ("k-a", "k-c")},
                         {"k-a": False, "k-c": True})

        # New ids come after every old one.
        old = max(s["p1"], s["p2"], s["p3"], s["q1"], s["q2"], s["ck"], s["late_id"])
        p4 = host.req({"type": "poll_create", "question": "New?", "options": ["a", "b"]})
        self.assertGreater(p4["id"], old)
        q3 = a.req({"type": "question_ask", "text": "And now?"})
        self.assertGreater(q3["question"], p4["id"])

        # The late room: its check-in ended while the server was down.
        lh = self.join(LATE, "presenter", "Host", "k-host")
        lv = self.join(LATE, "viewer", "Ann", "k-a")
        late = lh.req({"type": "checkin_list"})
        self.assertEqual((late["checkin"], late["state"], [u["user_id"] for u in late["users"]]),
                         (s["late_id"], "closed", ["k-a"]))
        self.assertEqual(lv.req({"type": "checkin"})["code"], "not-open")
        lv.drain(0.3)
        self.assertEqual([m for m in lv.inbox if m.get("type") == "checkin"], [])
        export = http_get(self.srv, "/api/rooms/%s/interactions" % LATE,
                          self.srv.admin_token()).json()["interactions"]
        closes = [i["data"] for i in export if i["kind"] == "checkin_close"]
        self.assertEqual([(x["id"], x["closed_ms"]) for x in closes],
                         [(s["late_id"], s["late_ends"])])

    def check_the_review_queue(self, s):
        """The message still held comes back, with its id; approving it
        works; new ones are numbered after it."""
        hh = self.join(HELD, "presenter", "Host", "k-host")
        hv = self.join(HELD, "viewer", "Ann", "k-a")
        queue = hh.req({"type": "review_list"})["items"]
        self.assertEqual([(q["review_id"], q["message"]["text"]) for q in queue],
                         [(s["held"][2], "third")])
        r = hv.req({"type": "chat", "text": "fourth"})
        self.assertEqual(r["type"], "held", r)
        self.assertGreater(r["review_id"], s["held"][2])
        self.assertEqual(hh.req({"type": "review", "review_id": s["held"][0],
                                 "approve": True})["code"], "not-found")
        self.assertEqual(hh.req({"type": "review", "review_id": s["held"][2],
                                 "approve": True})["type"], "ok")
        self.assertEqual([q["review_id"] for q in hh.req({"type": "review_list"})["items"]],
                         [r["review_id"]])

    @staticmethod
    def without_re(reply):
        return {k: v for k, v in reply.items() if k != "re"}

    def test_sigkill(self):
        s = self.use_the_room(wait_for_likes=True)
        self.restart(signal.SIGKILL, s["late_ends"])
        self.check_the_room(s)
        self.check_the_review_queue(s)

    def test_sigterm(self):
        # No wait for the likes' tick: a clean stop stores them itself.
        s = self.use_the_room(wait_for_likes=False)
        self.restart(signal.SIGTERM, s["late_ends"])
        self.check_the_room(s)
        self.check_the_review_queue(s)


if __name__ == "__main__":
    unittest.main()

"""Breakout groups (issue 17) against bad input and misuse, over /ws: an
unknown group, a user who is not in the class, a participant trying to run
the groups or move others, values out of range, malformed messages.  Each
gets its clear error, and the class goes on undisturbed: the participants
stay where they were, the state is unchanged.  Also: a connection that
comes back mid-breakout lands in its group by itself.

Run by tests/badinput/run inside a network namespace with only loopback."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import wsclient  # noqa: E402

ROOM = "bad-class"


class Client:
    def __init__(self, server, role, sub, room):
        self.c = wsclient.WsClient("127.0.0.1", server.port)
        self.n = 0
        self.seen = []
        tok = server.token(room, role, sub, ("--sub", sub))
        self.joined = self.req({"type": "join", "token": tok})
        assert self.joined["type"] == "joined", self.joined

    def req(self, msg):
        self.n += 1
        msg = dict(msg, id=self.n)
        self.c.send_json(msg)
        deadline = time.monotonic() + 10
        while True:
            m = self.c.recv_json(max(0.01, deadline - time.monotonic()))
            if m.get("re") == self.n:
                return m
            self.seen.append(m)

    def wait(self, pred, timeout=10):
        for m in self.seen:
            if pred(m):
                return m
        deadline = time.monotonic() + timeout
        while True:
            m = self.c.recv_json(max(0.01, deadline - time.monotonic()))
            self.seen.append(m)
            if pred(m):
                return m

    def last(self, t):
        got = [m for m in self.seen if m.get("type") == t]
        return got[-1] if got else None

    def close(self):
        self.c.close()


class GroupsBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = stagecast.Server(workers=1).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    def client(self, role, sub, room=ROOM):
        c = Client(self.server, role, sub, room)
        self.clients.append(c)
        return c

    def err(self, client, msg, code):
        r = client.req(msg)
        self.assertEqual((r.get("type"), r.get("code")), ("error", code), "%r -> %r" % (msg, r))
        self.assertTrue(r.get("message"), r)
        return r

    def test_refusals_leave_the_class_as_it_was(self):
        trainer = self.client("presenter", "t-1")
        p1 = self.client("viewer", "p-1")
        p2 = self.client("viewer", "p-2")
        self.assertEqual(trainer.joined["view_slots"], 13)
        self.assertEqual(trainer.joined["group_size"], 12)
        # Nothing to open yet.
        self.err(trainer, {"type": "groups_open"}, "not-found")
        self.err(trainer, {"type": "groups_assign", "mode": "auto"}, "not-found")
        # Malformed creation.
        self.err(trainer, {"type": "groups_create"}, "bad-request")
        self.err(trainer, {"type": "groups_create", "count": 0}, "bad-request")
        self.err(trainer, {"type": "groups_create", "count": 51}, "too-many-groups")
        self.err(trainer, {"type": "groups_create", "names": ["ok", ""]}, "bad-request")
        self.err(trainer, {"type": "groups_create", "names": ["x" * 41]}, "bad-request")
        self.err(trainer, {"type": "groups_create", "names": [7]}, "bad-request")
        self.assertEqual(trainer.req({"type": "groups_create", "names": ["A", "B"]})["type"], "ok")
        self.assertEqual(trainer.req({"type": "groups_assign", "mode": "manual",
                                      "assignments": {"p-1": 1, "p-2": 2}})["type"], "ok")
        # Participants may not run the groups or move anyone.
        for m in ({"type": "groups_create", "count": 2}, {"type": "groups_open"},
                  {"type": "group_move", "user_id": "p-2", "group": 1},
                  {"type": "groups_assign", "mode": "auto"},
                  {"type": "groups_broadcast", "text": "hi"},
                  {"type": "group_visit", "group": 1},
                  {"type": "groups_close"}):
            self.err(p1, m, "forbidden")
        # Unknown groups and users, values out of range, wrong types.
        self.err(trainer, {"type": "group_move", "user_id": "p-1", "group": 99}, "not-found")
        self.err(trainer, {"type": "group_move", "user_id": "nobody", "group": 1}, "not-found")
        self.err(trainer, {"type": "group_move", "user_id": "p-1", "with": "nobody"}, "not-found")
        self.err(trainer, {"type": "group_move"}, "bad-request")
        self.err(trainer, {"type": "group_rename", "group": 99, "name": "x"}, "not-found")
        self.err(trainer, {"type": "group_remove", "group": "1"}, "bad-request")
        self.err(trainer, {"type": "groups_assign", "mode": "manual",
                           "assignments": {"p-1": 42}}, "not-found")
        self.err(trainer, {"type": "groups_assign", "mode": "sideways"}, "bad-request")
        self.err(trainer, {"type": "groups_assign", "mode": "choose", "cap": 13}, "bad-request")
        self.err(trainer, {"type": "groups_open", "duration": -1}, "bad-request")
        self.err(trainer, {"type": "groups_open", "duration": 86401}, "bad-request")
        self.err(trainer, {"type": "groups_open", "duration": "60"}, "bad-request")
        self.err(trainer, {"type": "groups_extend", "seconds": 60}, "groups-idle")
        self.err(trainer, {"type": "groups_close"}, "groups-idle")
        self.err(trainer, {"type": "groups_broadcast", "text": ""}, "bad-request")
        self.err(trainer, {"type": "groups_broadcast", "text": "x" * 2001}, "bad-request")
        self.err(trainer, {"type": "groups_talk", "on": True}, "groups-idle")
        self.err(trainer, {"type": "group_choose", "group": 1}, "forbidden")
        self.err(p1, {"type": "group_choose", "group": 1}, "forbidden")  # not choose mode
        self.err(p1, {"type": "help"}, "forbidden")                       # not in a group

        # Open: each participant is in its group; then more refusals.
        self.assertEqual(trainer.req({"type": "groups_open", "duration": 600})["type"], "ok")
        g1 = p1.wait(lambda m: m.get("type") == "group" and m.get("group"))
        g2 = p2.wait(lambda m: m.get("type") == "group" and m.get("group"))
        self.assertEqual((g1["group"]["name"], g1["room"]), ("A", ROOM + "~g1"))
        self.assertEqual((g2["group"]["name"], g2["room"]), ("B", ROOM + "~g2"))
        self.assertTrue(g1["publish"])
        self.err(trainer, {"type": "groups_open"}, "groups-open")
        self.err(trainer, {"type": "groups_create", "count": 3}, "groups-open")
        self.err(trainer, {"type": "groups_reuse"}, "groups-open")
        self.err(trainer, {"type": "groups_extend", "seconds": 3601}, "bad-request")
        self.err(trainer, {"type": "groups_close", "grace": 121}, "bad-request")
        self.err(trainer, {"type": "groups_close", "group": 99}, "not-found")
        self.err(trainer, {"type": "group_visit", "group": 1, "mode": "dance"}, "bad-request")
        self.err(trainer, {"type": "groups_talk", "on": True}, "not-found")  # not publishing
        self.err(p1, {"type": "group_move", "user_id": "p-1", "group": 2}, "forbidden")
        # The class is as it was: nobody moved, the timer unchanged.
        state = trainer.req({"type": "groups_extend", "seconds": 0})
        self.assertEqual(state["type"], "ok")
        st = trainer.wait(lambda m: m.get("type") == "groups" and m["state"] == "open")
        self.assertEqual([[u["user_id"] for u in g["members"]] for g in st["groups"]],
                         [["p-1"], ["p-2"]])
        self.assertEqual(len([m for m in p1.seen if m.get("type") == "group"]), 1)
        self.assertEqual(len([m for m in p2.seen if m.get("type") == "group"]), 1)
        # Help works from a group, and a chat message stays in the group.
        self.assertEqual(p1.req({"type": "help"})["type"], "ok")
        trainer.wait(lambda m: m.get("type") == "groups" and m.get("help")
                     and m["help"][0]["user_id"] == "p-1" and m["help"][0]["group"] == 1)
        self.assertTrue([g for g in trainer.last("groups")["groups"] if g["help"]])
        self.assertEqual(trainer.req({"type": "groups_close", "grace": 0})["type"], "ok")
        p1.wait(lambda m: m.get("type") == "group" and m.get("group") is None)

    def test_reconnect_lands_in_the_group(self):
        room = ROOM + "-2"
        trainer = self.client("presenter", "t-2", room)
        p = self.client("viewer", "p-9", room)
        self.assertEqual(trainer.req({"type": "groups_create", "count": 2})["type"], "ok")
        self.assertEqual(trainer.req({"type": "groups_assign", "mode": "manual",
                                      "assignments": {"p-9": 2}})["type"], "ok")
        self.assertEqual(trainer.req({"type": "groups_open"})["type"], "ok")
        p.wait(lambda m: m.get("type") == "group" and m.get("group"))
        p.close()
        self.clients.remove(p)
        again = self.client("viewer", "p-9", room)
        g = again.wait(lambda m: m.get("type") == "group" and m.get("group"))
        self.assertEqual(g["group"]["id"], 2)
        self.assertEqual(g["room"], room + "~g2")
        # A user the trainer never placed joins mid-breakout: main room, listed as unassigned.
        late = self.client("viewer", "p-late", room)
        st = trainer.wait(lambda m: m.get("type") == "groups" and
                          [u for u in m.get("unassigned", []) if u["user_id"] == "p-late"])
        self.assertTrue(st)
        self.assertFalse([m for m in late.seen if m.get("type") == "group"])
        # Choose mode: the cap holds.
        self.assertEqual(trainer.req({"type": "groups_assign", "mode": "choose",
                                      "cap": 1})["type"], "ok")
        self.err(late, {"type": "group_choose", "group": 2}, "group-full")
        self.assertEqual(late.req({"type": "group_choose", "group": 1})["type"], "ok")
        late.wait(lambda m: m.get("type") == "group" and m.get("group")
                  and m["group"]["id"] == 1)
        self.assertEqual(trainer.req({"type": "groups_close", "grace": 0})["type"], "ok")

    def test_extend_keeps_the_close_the_trainer_asked_for(self):
        # Extending the time calls off the timer's countdown only: a group
        # the trainer is closing (here one, with a grace) still closes.
        room = ROOM + "-3"
        trainer = self.client("presenter", "t-3", room)
        p1 = self.client("viewer", "p-31", room)
        p2 = self.client("viewer", "p-32", room)
        self.assertEqual(trainer.req({"type": "groups_create", "names": ["A", "B"]})["type"], "ok")
        self.assertEqual(trainer.req({"type": "groups_assign", "mode": "manual",
                                      "assignments": {"p-31": 1, "p-32": 2}})["type"], "ok")
        self.assertEqual(trainer.req({"type": "groups_open", "duration": 600})["type"], "ok")
        p1.wait(lambda m: m.get("type") == "group" and m.get("group"))
        p2.wait(lambda m: m.get("type") == "group" and m.get("group"))
        self.assertEqual(trainer.req({"type": "groups_close", "group": 1, "grace": 2})["type"], "ok")
        self.assertEqual(trainer.req({"type": "groups_extend", "seconds": 60})["type"], "ok")
        st = trainer.wait(lambda m: m.get("type") == "groups" and m["ends_at"]
                          and m["started_at"] and m["ends_at"] - m["started_at"] == 660000)
        self.assertTrue(st["groups"][0]["closing_at"], st)
        self.assertIsNone(st["groups"][1]["closing_at"], st)
        back = p1.wait(lambda m: m.get("type") == "group" and m.get("group") is None)
        self.assertEqual(back["room"], room)
        self.assertFalse([m for m in p2.seen if m.get("type") == "group" and m.get("group") is None])
        self.assertEqual(trainer.req({"type": "groups_close", "grace": 0})["type"], "ok")
        p2.wait(lambda m: m.get("type") == "group" and m.get("group") is None)

    def test_move_someone_who_joined_before_the_groups(self):
        # Participants in the room before the trainer first made groups are
        # listed as unassigned, and each can be moved by hand.
        room = ROOM + "-4"
        p = self.client("viewer", "p-41", room)
        trainer = self.client("presenter", "t-4", room)
        self.assertEqual(trainer.req({"type": "groups_create", "count": 2})["type"], "ok")
        st = trainer.wait(lambda m: m.get("type") == "groups" and m.get("groups"))
        self.assertEqual([u["user_id"] for u in st["unassigned"]], ["p-41"])
        self.assertEqual(trainer.req({"type": "group_move", "user_id": "p-41", "group": 2})["type"], "ok")
        st = trainer.wait(lambda m: m.get("type") == "groups" and m["groups"][1]["members"])
        self.assertEqual([(u["user_id"], u["online"]) for u in st["groups"][1]["members"]],
                         [("p-41", True)])
        self.assertEqual(st["unassigned"], [])
        self.assertEqual(trainer.req({"type": "groups_open"})["type"], "ok")
        g = p.wait(lambda m: m.get("type") == "group" and m.get("group"))
        self.assertEqual(g["group"]["id"], 2)
        self.assertEqual(trainer.req({"type": "groups_close", "grace": 0})["type"], "ok")


if __name__ == "__main__":
    unittest.main()

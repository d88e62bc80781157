"""Issue 5 follow-ups: a muted user is told again on join, the likes total
on join, `muted` in the audience list, the moderators' `bans` list, and
the interaction limits as `serve` options (--chat-rate, --chat-burst,
--action-rate, --chat-history)."""

import itertools
import subprocess
import unittest

from ic import join, start_server

import stagecast  # noqa: E402  (ic puts tests/lib on the path)

_ids = itertools.count(100000)


def burst(client, objs):
    """Send objs in one TCP write (read in one service turn, so no token
    refills between them) and return their replies in order."""
    objs = [dict(o, id=next(_ids)) for o in objs]
    client.send_many(objs)
    want = {o["id"] for o in objs}
    got = {}
    while want - set(got):
        m = client.wait(lambda m: m.get("re") in want)
        got[m["re"]] = m
    return [got[o["id"]] for o in objs]


class JoinStateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = start_server()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        cls.srv.cleanup()
        assert rc == 0, "server exit status %r" % rc

    def test_muted_again_on_join_and_in_audience(self):
        room = "remute"
        host = join(self.srv, room, "presenter", "Host", "rm-host")
        ann = join(self.srv, room, "viewer", "Ann", "rm-ann")
        bob = join(self.srv, room, "viewer", "Bob", "rm-bob")
        # nobody is told they are muted before a mute
        ann.drain(0.3)
        self.assertFalse([m for m in ann.inbox if m.get("type") == "muted"])
        self.assertEqual(host.req({"type": "mute", "user_id": "rm-ann"})["type"], "ok")
        self.assertTrue(ann.wait("muted")["muted"])
        aud = {u["user_id"]: u for u in host.req({"type": "audience"})["users"]}
        self.assertEqual({k: u["muted"] for k, u in aud.items()},
                         {"rm-host": False, "rm-ann": True, "rm-bob": False})
        ann.close()
        # the page reloads: a new connection learns the mute again
        ann2 = join(self.srv, room, "viewer", "Ann", "rm-ann")
        self.assertTrue(ann2.wait("muted")["muted"])
        self.assertEqual(ann2.req({"type": "chat", "text": "hi"})["code"], "muted")
        # others are not told anything
        bob2 = join(self.srv, room, "viewer", "Bob", "rm-bob")
        bob2.drain(0.3)
        self.assertFalse([m for m in bob2.inbox if m.get("type") == "muted"])
        # unmuted: the next join carries no mute
        host.req({"type": "mute", "user_id": "rm-ann", "muted": False})
        self.assertFalse(ann2.wait("muted")["muted"])
        ann3 = join(self.srv, room, "viewer", "Ann", "rm-ann")
        ann3.drain(0.3)
        self.assertFalse([m for m in ann3.inbox if m.get("type") == "muted"])
        aud = {u["user_id"]: u["muted"] for u in host.req({"type": "audience"})["users"]}
        self.assertFalse(aud["rm-ann"])
        for c in (host, ann2, ann3, bob, bob2):
            c.close()

    def test_likes_total_on_join(self):
        room = "liketotal"
        first = join(self.srv, room, "viewer", "First", "lt-1")
        z = first.wait("likes")
        self.assertEqual((z["delta"], z["total"]), (0, 0))
        for _ in range(3):
            self.assertEqual(first.req({"type": "like"})["type"], "ok")
        first.wait_batched(lambda m: m.get("type") == "likes" and m["total"] == 3)
        late = join(self.srv, room, "viewer", "Late", "lt-2")
        lk = late.wait("likes")
        self.assertEqual((lk["delta"], lk["total"]), (0, 3))
        for c in (first, late):
            c.close()

    def test_bans_list(self):
        room = "banlist"
        host = join(self.srv, room, "presenter", "Host", "bl-host")
        view = join(self.srv, room, "viewer", "View", "bl-view")
        self.assertEqual(view.req({"type": "bans"})["code"], "forbidden")
        self.assertEqual(host.req({"type": "bans"})["bans"], [])
        host.req({"type": "ban", "user_id": "bl-eve", "reason": "spam links"})
        host.req({"type": "ban", "user_id": "bl-mal"})
        host.req({"type": "ban", "user_id": "bl-tom", "reason": "abuse"})
        self.assertEqual(host.req({"type": "unban", "user_id": "bl-tom"})["type"], "ok")
        bans = host.req({"type": "bans"})["bans"]
        self.assertEqual([(b["user_id"], b["reason"]) for b in bans],
                         [("bl-eve", "spam links"), ("bl-mal", None)])
        self.assertTrue(all(isinstance(b["ts"], int) and b["ts"] > 0 for b in bans))
        # per room
        other = join(self.srv, "banlist2", "presenter", "Host", "bl-host")
        self.assertEqual(other.req({"type": "bans"})["bans"], [])
        # banned again after an unban: listed again with the new reason
        host.req({"type": "ban", "user_id": "bl-tom", "reason": "again"})
        bans = host.req({"type": "bans"})["bans"]
        self.assertEqual([(b["user_id"], b["reason"]) for b in bans],
                         [("bl-eve", "spam links"), ("bl-mal", None), ("bl-tom", "again")])
        for c in (host, view, other):
            c.close()


class LimitOptionsTest(unittest.TestCase):
    def test_help_lists_the_options(self):
        out = subprocess.run([stagecast.binary(), "serve", "--help"], capture_output=True,
                             text=True, timeout=10).stdout
        for flag, default in (("--chat-rate", "5"), ("--chat-burst", "5"),
                              ("--action-rate", "20"), ("--chat-history", "50")):
            line = [ln for ln in out.splitlines() if flag + " " in ln]
            self.assertEqual(len(line), 1, out)
            self.assertIn("(default: %s)" % default, line[0])
        bad = subprocess.run([stagecast.binary(), "serve", "--chat-rate", "0"],
                             capture_output=True, text=True, timeout=10)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--chat-rate", bad.stderr + bad.stdout)

    def run_burst(self, extra, n):
        srv = stagecast.Server(workers=1, extra_args=extra).start()
        try:
            c = join(srv, "rate", "viewer", "Ann", "rt-ann")
            replies = burst(c, [{"type": "chat", "text": "m%d" % i} for i in range(n)])
            c.close()
            return [r["type"] if r["type"] != "error" else r["code"] for r in replies]
        finally:
            self.assertEqual(srv.stop(), 0)
            srv.cleanup()

    def test_lower_chat_rate_refuses_sooner(self):
        default = self.run_burst([], 6)
        self.assertEqual(default, ["sent"] * 5 + ["rate-limited"])
        low = self.run_burst(["--chat-rate", "1", "--chat-burst", "2"], 6)
        self.assertEqual(low, ["sent"] * 2 + ["rate-limited"] * 4)

    def test_action_rate_and_history(self):
        srv = stagecast.Server(workers=1, extra_args=["--action-rate", "3",
                                                      "--chat-history", "2"]).start()
        try:
            c = join(srv, "act", "viewer", "Ann", "ar-ann")
            likes = burst(c, [{"type": "like"} for _ in range(5)])
            self.assertEqual([r.get("code", r["type"]) for r in likes],
                             ["ok"] * 3 + ["rate-limited"] * 2)
            for i in range(4):
                burst(c, [{"type": "chat", "text": "h%d" % i}])
                c.wait_batched(lambda m, i=i: m.get("text") == "h%d" % i)
            late = join(srv, "act", "viewer", "Late", "ar-late")
            hist = late.wait("chat_history")["messages"]
            self.assertEqual([m["text"] for m in hist], ["h2", "h3"])
            for x in (c, late):
                x.close()
            # after a restart the history loaded from SQLite is cut the same way
            self.assertEqual(srv.stop(), 0)
            srv.start()
            again = join(srv, "act", "viewer", "Again", "ar-again")
            hist = again.wait("chat_history")["messages"]
            self.assertEqual([m["text"] for m in hist], ["h2", "h3"])
            again.close()
        finally:
            srv.stop()
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()

"""Events and the watch link (issue 18, first part), from outside over HTTP
and the WebSocket, with a real aiortc publisher where media matters:

- the organiser API: create (slug from the title, room from the slug),
  list, get, PATCH, template, delete, presenter links whose token works;
- bad input: unknown fields, slugs with path characters, empty or
  over-long titles, times out of order, bad colours, malformed JSON, a slug
  or room already taken: 400/409 naming the problem, nothing stored;
- HTML in a title is stored and returned as the literal text;
- the watch link: the public landing never shows the password hash or the
  room; a wrong password is refused (401) and counted, the right one admits
  with a viewer token for the event's room only; ten wrong passwords a
  minute from one address get 429; an ended event and a full one refuse;
  renewing keeps the viewer's identity; a token for another room cannot
  renew;
- a publisher going live makes the event live;
- an event with recording forbidden is never recorded: the host's record
  gets recording-forbidden and a publisher leaves no file even with
  --record-by-default.

Run by tests/badinput/run inside a network namespace with only loopback.
"""

import asyncio
import glob
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import rtc  # noqa: E402
import stagecast  # noqa: E402
import wsclient  # noqa: E402
import wsclient  # noqa: E402


def jwt_claims(token):
    import base64
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Events(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A high guess limit: the tests here share one address; the limit
        # itself has its own server (test_password_guessing_is_limited).
        cls.server = stagecast.Server(workers=1, extra_args=["--record-by-default",
                                                             "--max-wrong-attempts", "1000"]).start()
        cls.admin = cls.server.admin_token()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def api(self, method, path, body=None, token=None, raw=None):
        headers = {"Content-Type": "application/json"}
        tok = self.admin if token is None else token
        if tok:
            headers["Authorization"] = "Bearer " + tok
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return self.server.request(method, path, data, headers)

    def create(self, **fields):
        fields.setdefault("starts_at", int(time.time()) + 600)
        r = self.api("POST", "/api/v1/events", fields)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def stats(self):
        return self.server.stats(self.admin)

    def test_organiser_api(self):
        ev = self.create(title="Q1 Town Hall: <b>Plans</b>", description="All staff")
        self.assertEqual(ev["slug"], "q1-town-hall-b-plans-b")
        self.assertEqual(ev["room"], ev["slug"])
        self.assertEqual(ev["title"], "Q1 Town Hall: <b>Plans</b>")  # text, as given
        self.assertEqual(ev["state"], "scheduled")
        self.assertEqual(ev["watch"], {"type": "public"})
        self.assertEqual(ev["ends_at"], ev["starts_at"] + 3600)
        got = self.api("GET", "/api/v1/events/%d" % ev["id"]).json()
        self.assertEqual(got, ev)
        listed = [e["id"] for e in self.api("GET", "/api/v1/events").json()["events"]]
        self.assertIn(ev["id"], listed)

        r = self.api("PATCH", "/api/v1/events/%d" % ev["id"],
                     {"title": "Q1 Town Hall", "viewer_cap": 50, "branding": {"color": "#112233"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["title"], r.json()["viewer_cap"], r.json()["branding"]["color"]),
                         ("Q1 Town Hall", 50, "#112233"))
        self.assertEqual(r.json()["slug"], ev["slug"], "a new title keeps the slug")

        # A template copies settings, not identity.
        t = self.create(title="Q2 Town Hall", template=ev["id"])
        self.assertEqual((t["viewer_cap"], t["branding"].get("color")), (50, "#112233"))
        self.assertNotEqual(t["id"], ev["id"])
        self.assertEqual(t["slug"], "q2-town-hall")

        # The presenter link works for that room, and only it.
        r = self.api("POST", "/api/v1/events/%d/links" % ev["id"], {"role": "presenter", "name": "Ann"})
        self.assertEqual(r.status, 200, r)
        link = r.json()
        self.assertTrue(link["url"].startswith("/presenter.html#room=%s&token=" % ev["room"]))
        claims = jwt_claims(link["token"])
        self.assertEqual((claims["room"], claims["role"], claims["name"]), (ev["room"], "presenter", "Ann"))
        self.assertGreater(link["expires_at"], ev["ends_at"])
        self.assertEqual(self.api("POST", "/api/v1/events/%d/links" % ev["id"], {"role": "admin"}).status, 400)

        self.assertEqual(self.api("DELETE", "/api/v1/events/%d" % t["id"]).status, 204)
        self.assertEqual(self.api("GET", "/api/v1/events/%d" % t["id"]).error_code(), "no-such-event")
        # Without the admin token: nothing.
        self.assertEqual(self.api("GET", "/api/v1/events", token="").status, 401)
        viewer = self.server.token(ev["room"], "viewer")
        self.assertEqual(self.api("GET", "/api/v1/events", token=viewer).status, 403)

    def test_link_revoked(self):
        """A presenter link the organiser revokes: its /ws connection is
        closed, its media session ended, and the token refused from then on
        (join, WHIP, any API), while other links of the event still work."""
        ev = self.create(title="Revocable")
        a = self.api("POST", "/api/v1/events/%d/links" % ev["id"],
                     {"role": "presenter", "name": "Ann"}).json()
        b = self.api("POST", "/api/v1/events/%d/links" % ev["id"],
                     {"role": "cohost", "name": "Bob"}).json()
        self.assertEqual(jwt_claims(a["token"])["sub"], "link-" + a["id"])
        links = self.api("GET", "/api/v1/events/%d/links" % ev["id"]).json()["links"]
        self.assertEqual([(l["id"], l["role"], l["name"], l["revoked"]) for l in links],
                         [(a["id"], "presenter", "Ann", False), (b["id"], "cohost", "Bob", False)])
        self.assertNotIn("token", links[0])
        ws = wsclient.WsClient("127.0.0.1", self.server.port)
        ws.send_json({"type": "join", "token": a["token"], "id": 1})
        self.assertEqual(ws.recv_type(("joined", "error"))["type"], "joined")
        offer = asyncio.run(rtc.recvonly_offer(2))
        ws.send_json({"type": "subscribe", "sdp": offer, "id": 2})
        self.assertEqual(ws.recv_type(("answer", "error"))["type"], "answer")
        self.assertEqual(self.api("DELETE", "/api/v1/events/%d/links?id=%s" % (ev["id"], a["id"])).status,
                         204)
        # Cut off now: the connection is closed (its session with it).
        closed = False
        deadline = time.time() + 10
        while time.time() < deadline and not closed:
            try:
                ws.recv_json(timeout=1)
            except (wsclient.WsClosed, ConnectionError, OSError):
                closed = True
            except TimeoutError:
                pass
        self.assertTrue(closed, "the revoked link's connection stayed open")
        self.assertIn("revoked", self.server.log_text())
        # And refused from now on, everywhere; the other link still works.
        ws = wsclient.WsClient("127.0.0.1", self.server.port)
        r = ws.request({"type": "join", "token": a["token"], "id": 1})
        self.assertEqual((r["type"], r.get("code")), ("error", "token-revoked"), r)
        ws.close()
        r = self.server.whip(ev["room"], offer, a["token"])
        self.assertEqual((r.status, r.error_code()), (401, "token-revoked"), r)
        ws = wsclient.WsClient("127.0.0.1", self.server.port)
        self.assertEqual(ws.request({"type": "join", "token": b["token"], "id": 1})["type"], "joined")
        ws.close()
        links = self.api("GET", "/api/v1/events/%d/links" % ev["id"]).json()["links"]
        self.assertEqual([l["revoked"] for l in links], [True, False])
        # Bad revocations: clear errors, nothing changed.
        path = "/api/v1/events/%d/links" % ev["id"]
        self.assertEqual(self.api("DELETE", path + "?id=" + a["id"]).error_code(), "not-found")
        self.assertEqual(self.api("DELETE", path + "?id=zz").error_code(), "bad-request")
        self.assertEqual(self.api("DELETE", path).error_code(), "bad-request")
        self.assertEqual(self.api("DELETE", path + "?id=" + b["id"], token="").status, 401)
        self.assertEqual(self.api("DELETE", "/api/v1/events/%d/links?id=%s" % (ev["id"] + 999, b["id"]))
                         .error_code(), "no-such-event")
        self.assertEqual([l["revoked"] for l in self.api("GET", path).json()["links"]], [True, False])

    def test_bad_input_stores_nothing(self):
        before = len(self.api("GET", "/api/v1/events").json()["events"])
        now = int(time.time())
        cases = [
            ({"title": "x", "starts_at": now, "bogus": 1}, 400, "bogus"),
            ({"title": "x", "slug": "../etc/passwd", "starts_at": now}, 400, "slug"),
            ({"title": "x", "slug": "a/b", "starts_at": now}, 400, "slug"),
            ({"title": "", "starts_at": now}, 400, "title"),
            ({"title": "t" * 201, "starts_at": now}, 400, "title"),
            ({"title": "x"}, 400, "starts_at"),
            ({"title": "x", "starts_at": now, "ends_at": now - 1}, 400, "ends_at"),
            ({"title": "x", "starts_at": "tomorrow"}, 400, "starts_at"),
            ({"title": "x", "starts_at": now, "branding": {"color": "red"}}, 400, "branding"),
            ({"title": "x", "starts_at": now, "watch": {"type": "password"}}, 400, "watch"),
            ({"title": "x", "starts_at": now, "watch": {"type": "password", "password": "ab"}}, 400, "watch"),
            ({"title": "x", "starts_at": now, "watch": {"type": "sso"}}, 400, "watch"),
            ({"title": "x", "starts_at": now, "room": "no spaces"}, 400, "room"),
            ({"title": "x", "starts_at": now, "recording": "maybe"}, 400, "recording"),
        ]
        for body, status, field in cases:
            r = self.api("POST", "/api/v1/events", body)
            self.assertEqual(r.status, status, (body, r))
            self.assertEqual(r.error_code(), "bad-request", r)
            self.assertIn(field, r.json()["error"]["message"], (body, r))
            if field != "bogus":
                self.assertEqual(r.json()["error"].get("field"), field, (body, r))
        for raw in (b"{", b"[1,2]", b"\xff\xfe", b'{"title":"a","title":"b"}'):
            r = self.api("POST", "/api/v1/events", raw=raw)
            self.assertEqual((r.status, r.error_code()), (400, "bad-request"), (raw, r))
        a = self.create(title="Dup", slug="dup-slug")
        r = self.api("POST", "/api/v1/events", {"title": "Dup 2", "slug": "dup-slug", "starts_at": now})
        self.assertEqual((r.status, r.error_code()), (409, "slug-taken"), r)
        r = self.api("POST", "/api/v1/events", {"title": "Dup 3", "room": a["room"], "starts_at": now})
        self.assertEqual((r.status, r.error_code()), (409, "room-taken"), r)
        # A refused PATCH changes nothing.
        r = self.api("PATCH", "/api/v1/events/%d" % a["id"], {"title": "New", "ends_at": 1})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.api("GET", "/api/v1/events/%d" % a["id"]).json()["title"], "Dup")
        after = len(self.api("GET", "/api/v1/events").json()["events"])
        self.assertEqual(after, before + 1)

    def test_watch_link_password(self):
        ev = self.create(title="Board briefing", watch={"type": "password", "password": "s3cret-pw"})
        self.assertEqual(ev["watch"], {"type": "password"})
        self.assertNotIn("password", json.dumps(ev["watch"]).replace('"type": "password"', ""))
        landing = self.api("GET", "/api/v1/watch/board-briefing", token="")
        self.assertEqual(landing.status, 200, landing)
        body = landing.json()
        self.assertEqual((body["title"], body["state"], body["watch"]), ("Board briefing", "scheduled", {"type": "password"}))
        for hidden in ("room", "id", "password_hash", "viewer_cap"):
            self.assertNotIn(hidden, body)
        self.assertNotIn("pbkdf2", landing.body.decode())
        self.assertEqual(self.api("GET", "/api/v1/watch/no-such", token="").error_code(), "no-such-event")
        self.assertEqual(self.api("GET", "/api/v1/watch/..%2Fetc", token="").status, 404)

        refused_before = stagecast.find_counter(self.stats(), "events_refused")
        wrong = self.api("POST", "/api/v1/watch/board-briefing/join", {"password": "guess"}, token="")
        self.assertEqual((wrong.status, wrong.error_code()), (401, "wrong-password"), wrong)
        self.assertNotIn("token", wrong.json())
        self.assertEqual(stagecast.find_counter(self.stats(), "events_refused"), refused_before + 1)
        ok = self.api("POST", "/api/v1/watch/board-briefing/join", {"password": "s3cret-pw"}, token="")
        self.assertEqual(ok.status, 200, ok)
        admitted = ok.json()
        claims = jwt_claims(admitted["token"])
        self.assertEqual((claims["room"], claims["role"]), (ev["room"], "viewer"))
        self.assertLessEqual(claims["exp"] - claims["iat"], 2 * 3600)
        self.assertEqual(admitted["viewer_url"],
                         "/e/%s/view#room=%s&token=%s&event=%s" % (ev["slug"], ev["room"], admitted["token"], ev["slug"]))

        # The token joins the room on /ws, and no other room.
        ws = wsclient.WsClient("127.0.0.1", self.server.port)
        self.assertEqual(ws.request({"type": "join", "id": 1, "token": admitted["token"]},
                                    want=("joined", "error"))["type"], "joined")
        ws.close()
        ws = wsclient.WsClient("127.0.0.1", self.server.port)
        other = ws.request({"type": "join", "id": 1, "room": "elsewhere", "token": admitted["token"]},
                           want=("joined", "error"))
        self.assertTrue(other["type"] == "error" or other.get("room") == ev["room"], other)
        ws.close()

        # Renewal keeps who the viewer is; a token of another room cannot renew.
        renewed = self.api("POST", "/api/v1/watch/board-briefing/renew", {}, token=admitted["token"])
        self.assertEqual(renewed.status, 200, renewed)
        self.assertEqual(jwt_claims(renewed.json()["token"])["sub"], claims["sub"])
        stranger = self.server.token("another-room", "viewer")
        self.assertEqual(self.api("POST", "/api/v1/watch/board-briefing/renew", {}, token=stranger).status, 403)
        self.assertEqual(self.api("POST", "/api/v1/watch/board-briefing/renew", {}, token="").status, 401)

    def test_password_guessing_is_limited(self):
        # Its own server: the limit is per address, across events, and the
        # other tests share this address.
        server = stagecast.Server(workers=1).start()
        self.addCleanup(server.cleanup)
        self.addCleanup(server.stop)
        admin = server.admin_token()
        h = {"Authorization": "Bearer " + admin, "Content-Type": "application/json"}
        r = server.request("POST", "/api/v1/events", json.dumps(
            {"title": "Guarded", "starts_at": int(time.time()),
             "watch": {"type": "password", "password": "right-one"}}), h)
        self.assertEqual(r.status, 201, r)
        join = lambda pw: server.request("POST", "/api/v1/watch/guarded/join",  # noqa: E731
                                         json.dumps({"password": pw}))
        codes = [join("w%d" % i).error_code() for i in range(12)]
        self.assertEqual(codes[:10], ["wrong-password"] * 10)
        self.assertEqual(codes[10:], ["too-many-attempts"] * 2)
        r = join("right-one")
        self.assertEqual((r.status, r.error_code()), (429, "too-many-attempts"), "even the right one waits")
        self.assertEqual(r.headers.get("retry-after") or r.headers.get("Retry-After"), "60")

    def test_public_ended_full(self):
        ev = self.create(title="Open day", viewer_cap=1)
        r = self.api("POST", "/api/v1/watch/open-day/join", {}, token="")
        self.assertEqual(r.status, 200, r)

        async def fill():
            pc, resp, _ = await rtc.view(self.server, ev["room"], r.json()["token"])
            self.assertEqual(resp.status, 201, resp)
            try:
                full = await asyncio.to_thread(self.api, "POST", "/api/v1/watch/open-day/join", {}, "")
                self.assertEqual((full.status, full.error_code()), (409, "event-full"), full)
            finally:
                await pc.close()
        asyncio.run(fill())
        # Ending the event ends the sessions in its room (the viewer's
        # /ws session is told why).
        ws = wsclient.WsClient("127.0.0.1", self.server.port)
        self.assertEqual(ws.request({"type": "join", "id": 1, "token": r.json()["token"]},
                                    want=("joined", "error"))["type"], "joined")
        sub = ws.request({"type": "subscribe", "id": 2, "sdp": asyncio.run(rtc.recvonly_offer())},
                         want=("answer", "error"))
        self.assertEqual(sub.get("type"), "answer", sub)
        self.assertEqual(self.api("PATCH", "/api/v1/events/%d" % ev["id"], {"state": "ended"}).status, 200)
        closed = ws.recv_type(("session_closed",), timeout=10)
        self.assertEqual((closed["session"], closed["reason"]), (sub["session"], "event-ended"), closed)
        ws.close()
        r = self.api("POST", "/api/v1/watch/open-day/join", {}, token="")
        self.assertEqual((r.status, r.error_code()), (403, "event-ended"), r)

    def join(self, slug, body, peer_token=""):
        return self.api("POST", "/api/v1/watch/%s/join" % slug, body, token=peer_token)

    def test_whitelist(self):
        ev = self.create(title="Staff only", watch={"type": "whitelist"})
        path = "/api/v1/events/%d/whitelist" % ev["id"]
        csv = ("email,name\r\n"
               "Alice@Example.com,Alice\r\n"
               "\"bob@example.com\",\"Bob, Jr.\"\n"
               "+1 (555) 010-2030,Carol\n"
               "\n"
               "E1234\n"
               "alice@example.com,dup\n")
        r = self.api("POST", path, raw=csv.encode(), token=None)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["added"], r.json()["duplicates"], r.json()["entries"]), (4, 1, 4))
        # A batch with a broken line adds nothing and names the lines.
        r = self.api("POST", path, raw=b"dave@example.com\n\"unterminated,x\n\x01bad\n")
        self.assertEqual(r.status, 400, r)
        self.assertEqual([x["line"] for x in r.json()["rejected"]], [2, 3])
        self.assertEqual(self.api("GET", path).json()["entries"], 4)

        self.assertEqual(self.join(ev["slug"], {"id": "mallory@example.com"}).error_code(), "not-on-whitelist")
        self.assertEqual(self.join(ev["slug"], {}).status, 400)
        first = self.join(ev["slug"], {"id": "  ALICE@example.COM "})
        self.assertEqual(first.status, 200, first)
        again = self.join(ev["slug"], {"id": "alice@example.com"})
        a, b = jwt_claims(first.json()["token"]), jwt_claims(again.json()["token"])
        self.assertEqual(a["sub"], b["sub"], "one person, one identity on every device")
        self.assertEqual(a["name"], "alice@example.com")
        self.assertEqual(self.join(ev["slug"], {"id": "+15550102030"}).status, 200, "phone formats match")
        self.assertEqual(self.join(ev["slug"], {"id": "e1234"}).status, 200, "staff numbers ignore case")
        # One entry: looked up, removed.
        import urllib.parse
        q = path + "?entry=" + urllib.parse.quote("BOB@example.com")
        self.assertEqual(self.api("GET", q).json(), {"entry": "bob@example.com", "listed": True})
        self.assertEqual(self.api("DELETE", q).status, 204)
        self.assertEqual(self.api("GET", q).json()["listed"], False)
        self.assertEqual(self.api("DELETE", q).error_code(), "not-listed")
        self.assertEqual(self.join(ev["slug"], {"id": "bob@example.com"}).error_code(), "not-on-whitelist")
        self.assertEqual(self.api("GET", path).json()["entries"], 3)
        self.assertEqual(self.api("DELETE", path).status, 204)
        self.assertEqual(self.join(ev["slug"], {"id": "alice@example.com"}).error_code(), "not-on-whitelist")

    def test_invite_codes(self):
        ev = self.create(title="Partners", watch={"type": "invite"})
        path = "/api/v1/events/%d/invites" % ev["id"]
        for bad in ({"count": 0}, {"count": 10001}, {"count": 2, "uses": 0}, {"count": "5"}):
            self.assertEqual(self.api("POST", path, bad).status, 400, bad)
        r = self.api("POST", path, {"count": 3, "uses": 2})
        self.assertEqual(r.status, 201, r)
        codes = r.json()["codes"]
        self.assertEqual(len(set(codes)), 3)
        self.assertTrue(all(len(c) == 12 and c.isalnum() for c in codes), codes)
        csv = self.api("GET", path + "?format=csv")
        self.assertEqual(csv.status, 200)
        self.assertEqual(csv.body.decode().splitlines()[0], "code,uses,used")
        self.assertEqual(sorted(l.split(",")[0] for l in csv.body.decode().splitlines()[1:]), sorted(codes))
        code = codes[0]
        pretty = "%s-%s-%s" % (code[:4].lower(), code[4:8], code[8:])
        self.assertEqual(self.join(ev["slug"], {"code": code}).status, 200)
        self.assertEqual(self.join(ev["slug"], {"code": pretty}).status, 200, "dashes and case do not matter")
        self.assertEqual(self.join(ev["slug"], {"code": code}).error_code(), "code-used-up")
        self.assertEqual(self.join(ev["slug"], {"code": "AAAABBBBCCCC"}).error_code(), "invalid-code")
        used = {i["code"]: i["used"] for i in self.api("GET", path).json()["invites"]}
        self.assertEqual(used[code], 2)
        self.assertEqual(used[codes[1]], 0)
        # Revoked codes admit nobody; unknown ones are skipped.
        r = self.api("POST", path, {"revoke": [codes[1], "NOSUCHCODE00"]})
        self.assertEqual(r.json(), {"revoked": 1})
        self.assertEqual(self.join(ev["slug"], {"code": codes[1]}).error_code(), "invalid-code")
        self.assertEqual(self.join(ev["slug"], {"code": codes[2]}).status, 200)
        self.assertEqual(self.api("POST", path, {"revoke": []}).status, 400)

    def test_networks(self):
        ev = self.create(title="Office only", networks={"allow": ["10.0.0.0/8", "fd00::/8"]})
        self.assertEqual(ev["networks"], {"allow": ["10.0.0.0/8", "fd00::/8"], "deny": []})
        r = self.join(ev["slug"], {})
        self.assertEqual((r.status, r.error_code()), (403, "network-not-allowed"), r)
        r = self.api("PATCH", "/api/v1/events/%d" % ev["id"], {"networks": {"allow": ["127.0.0.1/32"]}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.join(ev["slug"], {}).status, 200)
        r = self.api("PATCH", "/api/v1/events/%d" % ev["id"],
                     {"networks": {"allow": [], "deny": ["127.0.0.0/8"]}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.join(ev["slug"], {}).error_code(), "network-not-allowed")
        for bad in (["10.0.0.0/33"], ["999.1.1.1"], ["::/129"], "10.0.0.0/8", ["a"] * 65):
            r = self.api("PATCH", "/api/v1/events/%d" % ev["id"], {"networks": {"allow": bad}})
            self.assertEqual(r.status, 400, (bad, r))
            self.assertIn("networks", r.json()["error"]["message"])

    def test_registration_with_approval(self):
        form = {"fields": [
            {"name": "company", "label": "Company", "type": "text", "required": True},
            {"name": "role", "label": "Your role", "type": "choice", "required": True,
             "options": ["Engineering", "Sales", "Other"]},
            {"name": "email", "label": "E-mail", "type": "email", "required": False},
            {"name": "phone", "label": "Phone", "type": "phone"}],
            "approval": True, "capacity": 2}
        for bad in ({"fields": "x"}, {"fields": [{"name": "A B", "label": "x", "type": "text"}]},
                    {"fields": [{"name": "a", "label": "x", "type": "choice"}]},
                    {"fields": [{"name": "a", "label": "x", "type": "date"}]},
                    {"fields": [{"name": "a", "label": "x", "type": "text"},
                                {"name": "a", "label": "y", "type": "text"}]},
                    {"fields": [], "capacity": -1}):
            r = self.api("POST", "/api/v1/events", {"title": "Bad form", "starts_at": 5,
                                                    "watch": {"type": "registration"}, "registration": bad})
            self.assertEqual(r.status, 400, (bad, r))
            self.assertIn("registration", r.json()["error"]["message"])
        ev = self.create(title="Launch webinar", watch={"type": "registration"}, registration=form)
        self.assertEqual(ev["registration"]["fields"][1]["options"], ["Engineering", "Sales", "Other"])
        landing = self.api("GET", "/api/v1/watch/launch-webinar", token="").json()
        self.assertEqual([f["name"] for f in landing["registration"]["fields"]],
                         ["company", "role", "email", "phone"])
        reg = lambda body: self.api("POST", "/api/v1/watch/launch-webinar/register", body, token="")  # noqa: E731
        poll = lambda key: self.api("POST", "/api/v1/watch/launch-webinar/registration",  # noqa: E731
                                    {"key": key}, token="")
        self.assertEqual(self.join(ev["slug"], {}).error_code(), "registration-required")
        for bad, why in (({"answers": {"company": "ACME", "role": "Sales"}}, "name"),
                         ({"name": "Ann", "answers": {"role": "Sales"}}, "company"),
                         ({"name": "Ann", "answers": {"company": "ACME", "role": "CEO"}}, "role"),
                         ({"name": "Ann", "answers": {"company": "ACME", "role": "Sales",
                                                      "email": "not-an-address"}}, "email"),
                         ({"name": "Ann", "answers": {"company": "ACME", "role": "Sales",
                                                      "phone": "call me"}}, "phone"),
                         ({"name": "Ann", "answers": {"company": "x" * 201, "role": "Sales"}}, "company"),
                         ({"name": "Ann", "answers": {"company": "ACME", "role": "Sales", "age": "3"}}, "age")):
            r = reg(bad)
            self.assertEqual(r.status, 400, (bad, r))
            self.assertIn(why, r.json()["error"]["message"], r)
            if why in ("company", "role", "email", "phone"):
                self.assertEqual(r.json()["error"].get("field"), why, r)
        r = reg({"name": "Ann", "answers": {"company": "=HYPERLINK(1)", "role": "Sales",
                                            "email": "ann@example.com", "phone": "+44 20 7946 0000"}})
        self.assertEqual(r.status, 202, r)
        ann = r.json()["registration"]
        self.assertEqual(ann["state"], "pending")
        self.assertNotIn("token", r.json())
        self.assertEqual(poll(ann["key"]).status, 202)
        bob = reg({"name": "Bob", "answers": {"company": "Initech", "role": "Other"}}).json()["registration"]
        r = reg({"name": "Cy", "answers": {"company": "Hooli", "role": "Other"}})
        self.assertEqual((r.status, r.error_code()), (409, "registration-full"), r)

        # The organiser sees both, decides; the answers export as CSV with
        # formulas defused.
        path = "/api/v1/events/%d/registrations" % ev["id"]
        listed = self.api("GET", path).json()["registrations"]
        self.assertEqual([(x["name"], x["state"]) for x in listed], [("Ann", "pending"), ("Bob", "pending")])
        self.assertEqual(listed[0]["answers"]["company"], "=HYPERLINK(1)")
        self.assertNotIn("key", listed[0])
        csv = self.api("GET", path + "?format=csv").body.decode()
        self.assertTrue(csv.startswith('"id","state","name","registered_at","Company","Your role","E-mail","Phone"'), csv)
        self.assertIn('"\'=HYPERLINK(1)"', csv)
        r = self.api("POST", path, {"ids": [ann["id"], 999999], "state": "approved"})
        self.assertEqual((r.status, r.error_code()), (404, "no-such-registration"), r)
        self.assertEqual(poll(ann["key"]).status, 202, "a refused batch changed nothing")
        self.assertEqual(self.api("POST", path, {"ids": [ann["id"]], "state": "approved"}).json()["changed"], 1)
        self.assertEqual(self.api("POST", path, {"ids": [bob["id"]], "state": "rejected"}).status, 200)
        admitted = poll(ann["key"])
        self.assertEqual(admitted.status, 200, admitted)
        claims = jwt_claims(admitted.json()["token"])
        self.assertEqual((claims["room"], claims["name"], claims["sub"]), (ev["room"], "Ann", "reg-%d" % ann["id"]))
        self.assertEqual(poll(bob["key"]).error_code(), "registration-rejected")
        only = lambda state: [x["name"] for x in self.api("GET", path + "?state=" + state).json()["registrations"]]  # noqa: E731
        self.assertEqual((only("approved"), only("rejected"), only("pending")), (["Ann"], ["Bob"], []))
        self.assertEqual(self.api("GET", path + "?state=maybe").status, 400)
        self.assertEqual(poll("0" * 32).error_code(), "no-such-registration")
        # A rejected registration frees a place; a declined one cannot renew.
        self.assertEqual(reg({"name": "Cy", "answers": {"company": "Hooli", "role": "Other"}}).status, 202)
        renewed = self.api("POST", "/api/v1/watch/launch-webinar/renew", {}, token=admitted.json()["token"])
        self.assertEqual(renewed.status, 200, renewed)
        self.api("POST", path, {"ids": [ann["id"]], "state": "rejected"})
        renewed = self.api("POST", "/api/v1/watch/launch-webinar/renew", {}, token=admitted.json()["token"])
        self.assertEqual(renewed.error_code(), "registration-rejected")

    def test_registration_without_approval(self):
        ev = self.create(title="Open registration", watch={"type": "registration"},
                         registration={"fields": [{"name": "team", "label": "Team", "type": "text"}]})
        r = self.api("POST", "/api/v1/watch/open-registration/register", {"name": "Dee", "answers": {}}, token="")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["registration"]["state"], "approved")
        self.assertEqual(jwt_claims(r.json()["token"])["room"], ev["room"])
        # Pages of the list: ?limit= after ?after=, "next" while more follow.
        for name in ("Eve", "Fay", "Gus", "Hal"):
            self.assertEqual(self.api("POST", "/api/v1/watch/open-registration/register",
                                      {"name": name, "answers": {}}, token="").status, 201)
        path = "/api/v1/events/%d/registrations" % ev["id"]
        names, after, pages = [], None, 0
        while True:
            r = self.api("GET", path + "?limit=2" + ("&after=%d" % after if after else ""))
            self.assertEqual(r.status, 200, r)
            page = r.json()
            self.assertLessEqual(len(page["registrations"]), 2)
            names += [x["name"] for x in page["registrations"]]
            pages += 1
            if page["next"] is None:
                break
            self.assertEqual(page["next"], page["registrations"][-1]["id"])
            after = page["next"]
        self.assertEqual((names, pages), (["Dee", "Eve", "Fay", "Gus", "Hal"], 3))
        self.assertIsNone(self.api("GET", path).json()["next"])  # without limit: everything
        self.assertEqual(len(self.api("GET", path).json()["registrations"]), 5)
        for bad in ("?limit=0", "?limit=1001", "?limit=x", "?after=-1", "?after=1x"):
            self.assertEqual(self.api("GET", path + bad).error_code(), "bad-request", bad)

    def test_regions_load_debian_data_when_needed(self):
        """Without --geoip the server does not parse Debian's 25 MB of ranges
        at start, only when an event first has region rules."""
        self.assertNotIn("country database", self.server.log_text())
        ev = self.create(title="Germany only", regions={"allow": ["DE"]})
        if os.path.exists("/usr/share/tor/geoip"):  # scripts/setup installs tor-geoipdb
            self.assertTrue(stagecast.wait_for(lambda: "country database" in self.server.log_text(), 10),
                            self.server.log_tail())
        # Loopback is in no country: an allow list refuses it.
        self.assertEqual(self.join(ev["slug"], {}).error_code(), "region-not-allowed")

    def test_regions(self):
        """Viewers from two countries of a country file built here (in the
        format of Debian's tor-geoipdb), on addresses of this test's own
        network namespace: 10.61.1.0/24 is DE, 10.61.2.0/24 FR, 10.61.3.0/24
        is in no range."""
        import http.client
        import subprocess
        import tempfile
        geo = tempfile.NamedTemporaryFile("w", suffix=".geoip", delete=False)
        geo.write("# test ranges\n171770112,171770367,DE\n171770368,171770623,FR\n")
        geo.close()
        self.addCleanup(os.unlink, geo.name)
        addrs = ["10.61.1.5", "10.61.2.5", "10.61.3.5"]
        for a in addrs:
            subprocess.run(["ip", "addr", "add", a + "/32", "dev", "lo"], check=True)
            self.addCleanup(subprocess.run, ["ip", "addr", "del", a + "/32", "dev", "lo"])
        server = stagecast.Server(workers=1, extra_args=["--geoip", geo.name]).start()
        self.addCleanup(server.cleanup)
        self.addCleanup(server.stop)
        self.assertIn("country database: 2 ranges", server.log_text())
        admin = server.admin_token()

        def call(method, path, body, source=None, token=admin):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10,
                                              source_address=(source, 0) if source else None)
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = "Bearer " + token
            conn.request(method, path, json.dumps(body), headers)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            return r.status, json.loads(data) if data else None

        status, ev = call("POST", "/api/v1/events", {"title": "DACH launch", "starts_at": int(time.time()),
                                                     "regions": {"allow": ["de", "AT", "CH"]}})
        self.assertEqual(status, 201, ev)
        self.assertEqual(ev["regions"], {"allow": ["DE", "AT", "CH"], "deny": []})
        join = lambda source: call("POST", "/api/v1/watch/dach-launch/join", {}, source, token=None)  # noqa: E731
        self.assertEqual(join("10.61.1.5")[0], 200, "a viewer in DE is admitted")
        status, err = join("10.61.2.5")
        self.assertEqual((status, err["error"]["code"]), (403, "region-not-allowed"), "FR is not allowed")
        self.assertEqual(join("10.61.3.5")[1]["error"]["code"], "region-not-allowed",
                         "an address in no range fails an allow list")
        status, _ = call("PATCH", "/api/v1/events/%d" % ev["id"], {"regions": {"allow": [], "deny": ["FR"]}})
        self.assertEqual(status, 200)
        self.assertEqual(join("10.61.2.5")[1]["error"]["code"], "region-not-allowed", "FR denied")
        self.assertEqual(join("10.61.1.5")[0], 200)
        self.assertEqual(join("10.61.3.5")[0], 200, "an unknown address passes a deny list")
        # tor-geoipdb has countries only: a subdivision rule matches nobody.
        status, _ = call("PATCH", "/api/v1/events/%d" % ev["id"], {"regions": {"allow": ["DE-BY"], "deny": []}})
        self.assertEqual(status, 200)
        self.assertEqual(join("10.61.1.5")[1]["error"]["code"], "region-not-allowed", "DE, province unknown")
        for bad in (["DEU"], ["1A"], "DE", [5]):
            status, err = call("PATCH", "/api/v1/events/%d" % ev["id"], {"regions": {"allow": bad}})
            self.assertEqual(status, 400, (bad, err))
            self.assertIn("regions", err["error"]["message"])
        # An unreadable database given on purpose stops the server.
        bad_server = stagecast.Server(workers=1, extra_args=["--geoip", "/nonexistent/geoip"])
        self.addCleanup(bad_server.cleanup)
        with self.assertRaises(RuntimeError) as ctx:
            bad_server.start(timeout=10)
        self.assertIn("cannot read /nonexistent/geoip", str(ctx.exception))

    def test_branding(self):
        ev = self.create(title="Brand", branding={
            "color": "#0A66C2", "logo_url": "https://cdn.example.com/logo.png",
            "cover_url": "/brand/cover.jpg", "page_title": "ACME Live <3", "end_text": "Thanks!",
            "end_link": "https://example.com/next", "marquee": True})
        b = ev["branding"]
        self.assertEqual((b["color"], b["logo_url"], b["cover_url"], b["page_title"], b["marquee"]),
                         ("#0A66C2", "https://cdn.example.com/logo.png", "/brand/cover.jpg", "ACME Live <3", True))
        landing = self.api("GET", "/api/v1/watch/brand", token="").json()
        self.assertEqual(landing["branding"]["end_link"], "https://example.com/next")
        for bad in ({"logo_url": "javascript:alert(1)"}, {"logo_url": "//evil.example/x.png"},
                    {"cover_url": "https://x/a b.png"}, {"background_url": "https://x/a\".png"},
                    {"end_link": "http://plain.example.com"}, {"marquee": "yes"},
                    {"page_title": "t" * 101}, {"font": "Comic Sans"}):
            r = self.api("PATCH", "/api/v1/events/%d" % ev["id"], {"branding": bad})
            self.assertEqual((r.status, r.json()["error"].get("field")), (400, "branding"), (bad, r))
        r = self.api("PATCH", "/api/v1/events/%d" % ev["id"], {"branding": {"logo_url": "", "color": ""}})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("logo_url", r.json()["branding"])
        self.assertNotIn("color", r.json()["branding"])
        self.assertEqual(r.json()["branding"]["page_title"], "ACME Live <3", "other keys kept")

    def test_default_branding(self):
        """The deployment's default branding: every event's watch link
        shows it, an event's own keys win, the organiser API shows only the
        event's own; bad values are refused and change nothing."""
        try:
            r = self.api("PATCH", "/api/v1/branding",
                         {"color": "#112233", "logo_url": "/brand/logo.svg",
                          "page_title": "ACME Live", "landing_text": "Welcome to ACME."})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["branding"]["logo_url"], "/brand/logo.svg")
            plain = self.create(title="Plain")
            own = self.create(title="Own colour", branding={"color": "#aa0000"})
            self.assertEqual(plain["branding"], {}, "the API shows the event's own branding")
            b = self.api("GET", "/api/v1/watch/plain", token="").json()["branding"]
            self.assertEqual((b["color"], b["logo_url"], b["page_title"], b["landing_text"]),
                             ("#112233", "/brand/logo.svg", "ACME Live", "Welcome to ACME."))
            b = self.api("GET", "/api/v1/watch/own-colour", token="").json()["branding"]
            self.assertEqual((b["color"], b["logo_url"]), ("#aa0000", "/brand/logo.svg"))
            for bad in ({"logo_url": "javascript:alert(1)"}, {"color": "red"}, {"font": "x"},
                        {"page_title": "t" * 101}):
                r = self.api("PATCH", "/api/v1/branding", bad)
                self.assertEqual((r.status, r.json()["error"].get("field")), (400, "branding"),
                                 (bad, r))
            self.assertEqual(self.api("PATCH", "/api/v1/branding", raw=b"[1]").status, 400)
            self.assertEqual(self.api("GET", "/api/v1/branding", token="").status, 401)
            viewer = self.server.token(own["room"], "viewer")
            self.assertEqual(self.api("PATCH", "/api/v1/branding", {"color": "#000000"},
                                      token=viewer).status, 403)
            self.assertEqual(self.api("GET", "/api/v1/branding").json()["branding"]["color"],
                             "#112233", "refusals changed nothing")
            r = self.api("PATCH", "/api/v1/branding", {"logo_url": ""})
            self.assertNotIn("logo_url", r.json()["branding"])
            b = self.api("GET", "/api/v1/watch/plain", token="").json()["branding"]
            self.assertNotIn("logo_url", b)
        finally:
            self.api("PATCH", "/api/v1/branding", {"color": "", "page_title": "",
                                                   "landing_text": "", "logo_url": ""})

    def test_embedding(self):
        ev = self.create(title="Embedded", embed_origins=["https://intranet.example.com",
                                                          "http://localhost:8081"])
        self.assertEqual(ev["embed_origins"], ["https://intranet.example.com", "http://localhost:8081"])
        for path in ("/e/embedded", "/e/embedded/view"):
            r = self.server.request("GET", path)
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.headers["content-type"].startswith("text/html"), r.headers)
            self.assertEqual(r.headers.get("content-security-policy"),
                             "frame-ancestors 'self' https://intranet.example.com http://localhost:8081")
        self.assertEqual(self.server.request("GET", "/e/embedded/other").status, 404)
        # Every other page, and an event without origins: this server only.
        plain = self.create(title="Not embedded")
        self.assertEqual(self.server.request("GET", "/e/not-embedded").headers.get("content-security-policy"),
                         "frame-ancestors 'self'")
        self.assertEqual(self.server.request("GET", "/viewer.html").headers.get("content-security-policy"),
                         "frame-ancestors 'self'")
        for bad in (["intranet.example.com"], ["https://a.example.com/path"], ["https://a b"],
                    ["https://a.example.com;script-src *"], ["ftp://a.example.com"], ["https://"],
                    ["https://x.example.com"] * 21, "https://a.example.com"):
            r = self.api("PATCH", "/api/v1/events/%d" % plain["id"], {"embed_origins": bad})
            self.assertEqual((r.status, r.json()["error"].get("field")), (400, "embed_origins"), (bad, r))

    def test_single_session(self):
        ev = self.create(title="One screen", watch={"type": "whitelist"}, single_session=True)
        self.assertTrue(ev["single_session"])
        self.api("POST", "/api/v1/events/%d/whitelist" % ev["id"], raw=b"erin@example.com\nfrank@example.com\n")
        laptop = self.join(ev["slug"], {"id": "erin@example.com"}).json()["token"]
        phone = self.join(ev["slug"], {"id": "erin@example.com"}).json()["token"]
        other = self.join(ev["slug"], {"id": "frank@example.com"}).json()["token"]
        offer = asyncio.run(rtc.recvonly_offer())

        def watch(token):
            ws = wsclient.WsClient("127.0.0.1", self.server.port)
            self.assertEqual(ws.request({"type": "join", "id": 1, "token": token},
                                        want=("joined", "error"))["type"], "joined")
            r = ws.request({"type": "subscribe", "id": 2, "sdp": offer}, want=("answer", "error"))
            self.assertEqual(r.get("type"), "answer", r)
            return ws, r["session"]
        ws_laptop, first = watch(laptop)
        ws_frank, franks = watch(other)
        ws_phone, second = watch(phone)
        closed = ws_laptop.recv_type(("session_closed",), timeout=10)
        self.assertEqual((closed["session"], closed["reason"]), (first, "replaced"), closed)
        # Frank's session is his own; Erin's new one stays.
        with self.assertRaises(Exception):
            ws_frank.recv_type(("session_closed",), timeout=1.5)
        with self.assertRaises(Exception):
            ws_phone.recv_type(("session_closed",), timeout=0.5)
        for ws in (ws_laptop, ws_frank, ws_phone):
            ws.close()

    def recordings_of(self, room):
        r = self.api("GET", "/api/recordings?room=" + room)
        self.assertEqual(r.status, 200, r)
        return r.json()["recordings"]

    def publish_a_while(self, ev, token):
        async def publish():
            pc, resp = await rtc.publish(self.server, ev["room"], token)
            self.assertEqual(resp.status, 201, resp)
            try:
                self.assertTrue(await rtc.wait_connected(pc), "publisher did not connect")
                live = await asyncio.to_thread(
                    stagecast.wait_for,
                    lambda: self.api("GET", "/api/v1/events/%d" % ev["id"]).json()["state"] == "live", 15)
                self.assertTrue(live, "the event went live with its publisher")
                # Until the recorder has had media for a while: the allowed
                # event's recording shows in the catalog meanwhile.
                await asyncio.sleep(3.0)
                return await asyncio.to_thread(self.recordings_of, ev["room"])
            finally:
                await pc.close()
        return asyncio.run(publish())

    def test_live_and_recording_forbidden(self):
        # The control: an event that allows recording is recorded (the
        # server records every room by default here).
        allowed = self.create(title="Tape on")
        token = self.api("POST", "/api/v1/events/%d/links" % allowed["id"], {"role": "presenter"}).json()["token"]
        self.publish_a_while(allowed, token)
        self.assertTrue(stagecast.wait_for(lambda: self.recordings_of(allowed["room"]), 20),
                        "the allowed event was recorded")

        ev = self.create(title="No tape", recording="forbidden")
        host = wsclient.WsClient("127.0.0.1", self.server.port)
        link = self.api("POST", "/api/v1/events/%d/links" % ev["id"], {"role": "presenter"}).json()
        joined = host.request({"type": "join", "id": 1, "token": link["token"]}, want=("joined", "error"))
        self.assertEqual(joined["type"], "joined", joined)
        refused = host.request({"type": "record", "id": 2, "on": True}, want=("ok", "error"))
        self.assertEqual(refused.get("code"), "recording-forbidden", refused)
        during = self.publish_a_while(ev, link["token"])
        host.close()
        self.assertEqual(during, [], "nothing recorded while it was live")
        self.assertEqual(self.recordings_of(ev["room"]), [])
        self.assertEqual(glob.glob(os.path.join(self.server.data, "recordings", ev["room"], "*")), [])

if __name__ == "__main__":
    unittest.main()

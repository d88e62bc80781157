"""TURN credentials (docs/protocol.md, "TURN"): who gets them and where.
A WHIP/WHEP 201 carries one Link header per --turn URL (RFC 9725 section
4.6) and nothing else does; GET /api/ice-servers needs a token; the /ws
`joined` message carries `ice_servers`.  Every credential is checked the way
coturn checks it: base64(HMAC-SHA1(secret, username)), the username being
"<expiry>:<user id>" with the expiry --turn-ttl ahead.  Driven by aiortc over
WHIP/WHEP.  Run by tests/badinput/run inside a network namespace with only
loopback."""

import asyncio
import base64
import hashlib
import hmac
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import rtc  # noqa: E402
import stagecast  # noqa: E402
import wsclient  # noqa: E402

URLS = ["turn:127.0.0.1:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"]
TTL = 600
SECRET = "b3f1c0ffee0123456789abcdef-turn-secret"
LINK = re.compile(r'^<([^>]+)>; rel="ice-server"; username="([^"]+)"; credential="([^"]+)"; '
                  r'credential-type="password"$')
SERVER = None
PLAIN = None
SECRET_DIR = None


def setUpModule():
    global SERVER, PLAIN, SECRET_DIR
    SECRET_DIR = tempfile.mkdtemp(prefix="stagecast-turn-")
    path = os.path.join(SECRET_DIR, "turn-secret")
    with open(path, "w") as f:
        f.write(SECRET + "\n")
    args = ["--turn-secret-file", path, "--turn-ttl", str(TTL)]
    for u in URLS:
        args += ["--turn", u]
    SERVER = stagecast.Server(workers=1, extra_args=args).start()
    PLAIN = stagecast.Server(workers=1).start()


def tearDownModule():
    try:
        SERVER.stop_checked()
        PLAIN.stop_checked()
    finally:
        shutil.rmtree(SECRET_DIR, ignore_errors=True)


def auth(token):
    return {"Authorization": "Bearer " + token}


class Checks:
    """What coturn checks of a credential, for both kinds of test case."""

    def check_pair(self, username, credential, sub=None):
        """What coturn does with use-auth-secret: the HMAC, then the expiry."""
        expiry, _, user = username.partition(":")
        now = time.time()
        self.assertTrue(now + TTL - 30 <= int(expiry) <= now + TTL + 30, username)
        if sub is not None:
            self.assertEqual(user, sub)
        want = base64.b64encode(hmac.new(SECRET.encode(), username.encode(),
                                         hashlib.sha1).digest()).decode()
        self.assertEqual(credential, want)

    def check_ice_servers(self, servers, sub=None):
        self.assertEqual(len(servers), 1, servers)
        s = servers[0]
        self.assertEqual(s["urls"], URLS)
        self.check_pair(s["username"], s["credential"], sub)


class Credentials(Checks, unittest.TestCase):
    def test_api_ice_servers_needs_a_token(self):
        r = SERVER.request("GET", "/api/ice-servers")
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.error_code(), "token-missing")
        self.assertNotIn(b"credential", r.body)
        r = SERVER.request("GET", "/api/ice-servers", None, auth("not.a.token"))
        self.assertEqual(r.status, 401, r)
        self.assertNotIn(b"credential", r.body)
        # Signed with another server's secret: refused too.
        r = SERVER.request("GET", "/api/ice-servers", None, auth(PLAIN.token("t-room", "viewer")))
        self.assertEqual(r.status, 401, r)
        self.assertNotIn(b"credential", r.body)
        self.assertEqual(SERVER.request("POST", "/api/ice-servers", "{}").status, 405)

    def test_api_ice_servers_any_role_any_room(self):
        for room, role in (("t-room", "viewer"), ("other", "presenter"), ("*", "admin")):
            tok = SERVER.token(room, role)
            r = SERVER.request("GET", "/api/ice-servers", None, auth(tok))
            self.assertEqual(r.status, 200, (room, role, r))
            self.assertEqual(r.headers["cache-control"], "no-store")
            self.check_ice_servers(r.json()["ice_servers"], stagecast.jwt_claims(tok)["sub"])

    def test_without_turn_the_list_is_empty(self):
        r = PLAIN.request("GET", "/api/ice-servers", None, auth(PLAIN.token("t-room", "viewer")))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"ice_servers": []})

    def test_joined_carries_ice_servers(self):
        tok = SERVER.token("t-ws", "viewer")
        ws = wsclient.WsClient("127.0.0.1", SERVER.port)
        self.addCleanup(ws.close)
        joined = ws.request({"type": "join", "id": "j", "token": tok}, want=("joined", "error"))
        self.assertEqual(joined["type"], "joined", joined)
        self.check_ice_servers(joined["ice_servers"], joined["user_id"])
        # A refused join says nothing of TURN.
        ws2 = wsclient.WsClient("127.0.0.1", SERVER.port)
        self.addCleanup(ws2.close)
        err = ws2.request({"type": "join", "id": "j", "token": tok[:-4] + "AAAA"},
                          want=("joined", "error"))
        self.assertEqual(err["type"], "error", err)
        self.assertNotIn("ice_servers", err)
        # No TURN configured: no key at all.
        ws3 = wsclient.WsClient("127.0.0.1", PLAIN.port)
        self.addCleanup(ws3.close)
        joined = ws3.request({"type": "join", "id": "j", "token": PLAIN.token("t-ws", "viewer")},
                             want=("joined", "error"))
        self.assertEqual(joined["type"], "joined", joined)
        self.assertNotIn("ice_servers", joined)


class Quiet(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)


class LinkHeaders(Checks, Quiet):
    room = "t-link"

    def check_links(self, resp, sub):
        links = resp.all("link")
        self.assertEqual(len(links), len(URLS), resp.header_list)
        for url, value in zip(URLS, links):
            m = LINK.match(value)
            self.assertIsNotNone(m, value)
            self.assertEqual(m.group(1), url)
            self.check_pair(m.group(2), m.group(3), sub)
        self.assertIn("Link", resp.headers["access-control-expose-headers"])

    async def test_201_carries_links_only_with_a_valid_token(self):
        pcs = []
        try:
            ptok = SERVER.token(self.room, "presenter")
            pub, presp = await rtc.publish(SERVER, self.room, ptok)
            pcs.append(pub)
            self.assertEqual(presp.status, 201, presp)
            self.check_links(presp, stagecast.jwt_claims(ptok)["sub"])
            vtok = SERVER.token(self.room, "viewer")
            viewer, vresp, counter = await rtc.view(SERVER, self.room, vtok)
            pcs.append(viewer)
            counter.cancel()
            self.assertEqual(vresp.status, 201, vresp)
            self.check_links(vresp, stagecast.jwt_claims(vtok)["sub"])
            offer = pub.localDescription.sdp
            # Refused requests carry no Link: no token, a forged one, a
            # token for another room, a viewer trying to publish.
            for token, status in ((None, 401), (vtok[:-4] + "AAAA", 401),
                                  (SERVER.token("elsewhere", "presenter"), 403),
                                  (vtok, 403)):
                r = await asyncio.to_thread(SERVER.whip, self.room, offer, token)
                self.assertEqual(r.status, status, r)
                self.assertEqual(r.all("link"), [], r.header_list)
            # The session's PATCH and DELETE replies carry none either.
            r = await asyncio.to_thread(SERVER.delete, presp.headers["location"], ptok)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.all("link"), [])
            # A server without TURN sends no Link on its 201.
            ptok2 = PLAIN.token(self.room, "presenter")
            pub2, presp2 = await rtc.publish(PLAIN, self.room, ptok2)
            pcs.append(pub2)
            self.assertEqual(presp2.status, 201, presp2)
            self.assertEqual(presp2.all("link"), [])
        finally:
            for pc in pcs:
                await pc.close()


class BadConfig(unittest.TestCase):
    def test_refused_at_start(self):
        short = os.path.join(SECRET_DIR, "short")
        with open(short, "w") as f:
            f.write("short\n")
        for args, why in (
                (["--turn", "turn:127.0.0.1"], "--turn-secret-file"),
                (["--turn", "http://127.0.0.1", "--turn-secret-file", short], "not a turn"),
                (["--turn", "turn:127.0.0.1", "--turn-secret-file", short], "printable"),
                (["--turn", "turn:127.0.0.1", "--turn-secret-file",
                  os.path.join(SECRET_DIR, "missing")], "No such file")):
            s = stagecast.Server(workers=1, extra_args=args)
            try:
                with self.assertRaises(RuntimeError) as ctx:
                    s.start(timeout=10)
                self.assertIn(why, str(ctx.exception))
            finally:
                s.cleanup()


if __name__ == "__main__":
    unittest.main()

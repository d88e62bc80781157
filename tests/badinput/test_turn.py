"""TURN credentials (docs/protocol.md, "TURN"): who gets them and where.
A WHIP/WHEP 201 carries one Link header per --turn URL (RFC 9725 section
4.6) and nothing else does; GET /api/ice-servers needs a token; the /ws
`joined` message carries `ice_servers`.  Every credential is checked the way
coturn checks it: base64(HMAC-SHA1(secret, username)), the username being
"<expiry>:<user id>" with the expiry --turn-ttl ahead.  Driven by aiortc over
WHIP/WHEP.  And coturn as scripts/turn/configure sets it up relays for such a
credential to the media address and refuses every other peer (403).  Run by tests/badinput/run inside a network namespace with only
loopback."""

import asyncio
import base64
import hashlib
import hmac
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import rtc  # noqa: E402
import stagecast  # noqa: E402
import turnclient  # noqa: E402
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


class CoturnPeers(unittest.TestCase):
    """coturn as scripts/turn/configure writes it relays to the SFU's media
    address and to nothing else, for anyone holding a credential: a TURN
    client (tests/lib/turnclient.py) with a credential this server minted
    asks coturn for permissions and channels.  The media address and one
    more address of "this host" live on lo; coturn listens on 127.0.0.1."""

    MEDIA_IP = "10.96.1.1"
    HOST_IP = "10.96.0.1"    # another address of the host (as a veth would be)
    FORBIDDEN = ["127.0.0.1", HOST_IP, "10.0.0.1", "172.16.0.1", "192.168.0.1",
                 "169.254.169.254", "100.64.0.1", "192.0.2.1", "224.0.0.1",
                 "255.255.255.255", "0.0.0.0"]

    @classmethod
    def setUpClass(cls):
        cls.addrs = []
        for ip in (cls.MEDIA_IP, cls.HOST_IP):
            subprocess.run(["ip", "addr", "add", ip + "/32", "dev", "lo"], check=True)
            cls.addrs.append(ip)
        cls.dir = tempfile.mkdtemp(prefix="stagecast-coturn-")
        cls.port = stagecast.free_udp_range(1)
        conf = os.path.join(cls.dir, "turnserver.conf")
        subprocess.run([os.path.join(stagecast.REPO, "scripts", "turn", "configure"),
                        "--secret-file", os.path.join(SECRET_DIR, "turn-secret"),
                        "--media-ip", cls.MEDIA_IP, "--listen-ip", "127.0.0.1",
                        "--port", str(cls.port), "--realm", "stagecast-test",
                        "--min-port", "40000", "--max-port", "40999", "--out", conf],
                       check=True)
        cls.log_path = os.path.join(cls.dir, "coturn.log")
        cls.log = open(cls.log_path, "wb")
        try:
            cls.coturn = subprocess.Popen(["turnserver", "-c", conf], stdout=cls.log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise AssertionError("turnserver is missing: scripts/setup installs it (coturn)")
        # Up once it answers an Allocate (with a 401: no credential yet).
        def answers():
            c = turnclient.TurnClient(("127.0.0.1", cls.port), "x", "y", timeout=0.2)
            try:
                c.allocate()
            except turnclient.TurnError as e:
                return e.code == 401
            except OSError:
                return False
            finally:
                c.close()
        if not stagecast.wait_for(answers, 20, 0.1):
            raise AssertionError("coturn did not start:\n" + cls.coturn_log())

    @classmethod
    def tearDownClass(cls):
        cls.coturn.terminate()
        try:
            cls.coturn.wait(10)
        except subprocess.TimeoutExpired:
            cls.coturn.kill()
            cls.coturn.wait()
        cls.log.close()
        for ip in cls.addrs:
            subprocess.run(["ip", "addr", "del", ip + "/32", "dev", "lo"], check=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def coturn_log(cls):
        with open(cls.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def client(self, username=None, credential=None):
        """A TURN client holding a credential this Stagecast minted."""
        if username is None:
            r = SERVER.request("GET", "/api/ice-servers", None,
                               auth(SERVER.token("t-peers", "viewer")))
            self.assertEqual(r.status, 200, r)
            s = r.json()["ice_servers"][0]
            username, credential = s["username"], s["credential"]
        c = turnclient.TurnClient(("127.0.0.1", self.port), username, credential)
        self.addCleanup(c.close)
        return c

    def udp(self, ip):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip, 0))
        s.settimeout(5)
        self.addCleanup(s.close)
        return s

    def test_a_forged_credential_gets_no_allocation(self):
        c = self.client("%d:someone" % (time.time() + 600), "bm90IHRoZSBjcmVkZW50aWFs")
        with self.assertRaises(turnclient.TurnError) as ctx:
            c.allocate()
        self.assertEqual(ctx.exception.code, 401)

    def test_only_the_media_address_is_a_peer(self):
        c = self.client()
        relayed = c.allocate()
        self.assertEqual(relayed[0], self.MEDIA_IP, "relay-ip is the media address")
        # Every other address is refused: loopback, the host's other
        # addresses, private and link-local ranges (cloud metadata), public
        # ones, multicast and broadcast.
        for ip in self.FORBIDDEN:
            with self.assertRaises(turnclient.TurnError, msg=ip) as ctx:
                c.create_permission(ip)
            self.assertEqual(ctx.exception.code, 403, (ip, ctx.exception.reason))
        for n, ip in enumerate(("127.0.0.1", self.HOST_IP)):
            with self.assertRaises(turnclient.TurnError, msg=ip) as ctx:
                c.channel_bind(0x4000 + n, ip, 9)
            self.assertEqual(ctx.exception.code, 403, (ip, ctx.exception.reason))
        # The media address is allowed, and relaying to it works both ways.
        c.create_permission(self.MEDIA_IP)
        media = self.udp(self.MEDIA_IP)
        c.channel_bind(0x4010, self.MEDIA_IP, media.getsockname()[1])
        # Send indications to forbidden peers that are listening, then one
        # to the media address: coturn handles them in order, so by the
        # time the last one arrives the others would have.
        listening = [self.udp("127.0.0.1"), self.udp(self.HOST_IP)]
        for s in listening:
            c.send(s.getsockname()[0], s.getsockname()[1], b"must not arrive")
        c.send(self.MEDIA_IP, media.getsockname()[1], b"to the sfu")
        data, source = media.recvfrom(2048)
        self.assertEqual((data, source), (b"to the sfu", relayed))
        for s in listening:
            s.setblocking(False)
            with self.assertRaises(BlockingIOError, msg=s.getsockname()):
                s.recvfrom(2048)
        media.sendto(b"from the sfu", relayed)
        self.assertEqual(c.receive(), (media.getsockname(), b"from the sfu"))
        c.release()


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

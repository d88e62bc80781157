"""The external check of events (docs/protocol.md, "Events", "External
check"): the organiser's own system admits or refuses each viewer.

A small HTTP(S) server written here plays the organiser's system on
loopback, answering by the code the viewer typed: allow (with a name and a
user id), deny (with a message), slow (past the timeout), 500, bad JSON, a
JSON without a boolean allow, a body over 16 KiB, a chunked answer, an
interim 100 before the answer; another event points at a port nobody
listens on.  The tests check:

- the settings: URL, secret, timeout and fields are validated with
  error.field; the secret is never returned; the landing shows the fields
  and nothing else of it;
- admission: the token names the viewer and its id as the organiser's
  system said (sanitised), and joins the room on /ws; the request carried
  the fields, the address, a timestamp and a nonce, signed as documented
  (the signature verifies with the secret);
- refusals: external-denied with the organiser's message (control
  characters dropped, cut at 200 characters); external-unavailable (504 on
  a timeout, 502 otherwise) with error.reason; all counted in /api/stats
  and /metrics; denials count toward --max-wrong-attempts, and an address
  over it is refused without a callback;
- limits: at most --max-external-checks in flight, an address a quarter of
  them; more get 503 external-busy;
- a viewer who leaves while its check runs costs nothing; the server
  keeps serving; HTTPS with a CA given by --external-check-ca, and a
  certificate it does not trust refused as reason tls.

Run by tests/badinput/run inside a network namespace with only loopback.
"""

import hashlib
import hmac
import http.client
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import wsclient  # noqa: E402

SECRET = "s3cret-shared-with-the-customer"


class Customer:
    """The organiser's system: answers POSTs by the "code" field."""

    def __init__(self, tls_cert=None):
        self.requests = []          # (headers dict, raw body bytes)
        self.lock = threading.Lock()
        self.release = threading.Event()  # "hold" answers once it is set
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                with outer.lock:
                    outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                code = json.loads(raw).get("fields", {}).get("code", "")
                try:
                    outer.answer(self, code)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server gave up waiting (the slow answers)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls_cert)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/check"):
        scheme = "https" if isinstance(self.httpd.socket, ssl.SSLSocket) else "http"
        return "%s://127.0.0.1:%d%s" % (scheme, self.port, path)

    def count(self):
        with self.lock:
            return len(self.requests)

    def last(self):
        with self.lock:
            return self.requests[-1]

    @staticmethod
    def send(h, status, body, ctype="application/json", raw=None):
        if raw is not None:
            h.wfile.write(raw)
            h.wfile.flush()
            h.close_connection = True
            return
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)

    def answer(self, h, code):
        if code.startswith("allow"):
            self.send(h, 200, {"allow": True, "name": "Ann\x07 Example " + "x" * 80,
                               "user_id": "u-123@example.com"})
        elif code == "plain":
            self.send(h, 200, {"allow": True})
        elif code == "weird-id":
            self.send(h, 200, {"allow": True, "name": "Bo", "user_id": "CN=Bo,O=Corp/" + "z" * 100})
        elif code == "deny":
            self.send(h, 200, {"allow": False, "message": "Badge\x00 expired:\n renew at the desk. " + "y" * 300})
        elif code == "deny-plain":
            self.send(h, 200, {"allow": False})
        elif code == "slow":
            time.sleep(2.0)
            self.send(h, 200, {"allow": True})
        elif code == "hold":
            self.release.wait(20)
            self.send(h, 200, {"allow": True})
        elif code == "500":
            self.send(h, 500, {"allow": True})
        elif code == "badjson":
            self.send(h, 200, b"{allow: true")
        elif code == "notbool":
            self.send(h, 200, {"allow": "yes"})
        elif code == "big":
            self.send(h, 200, b'{"allow": true, "pad": "' + b"p" * 17000 + b'"}')
        elif code == "chunked":
            body = json.dumps({"allow": True, "name": "Chunky"}).encode()
            parts = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                             for i in range(0, len(body), 7))
            self.send(h, 0, None, raw=b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                      + parts + b"0\r\n\r\n")
        elif code == "interim":
            body = json.dumps({"allow": True, "name": "After 100"}).encode()
            self.send(h, 0, None, raw=b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
                                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        else:
            self.send(h, 404, {"error": "unknown code"})

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def verify(headers, raw, secret=SECRET):
    ts = headers["x-stagecast-timestamp"]
    want = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-stagecast-signature"], want)


def self_signed(directory, name):
    key, cert = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-days", "2", "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class Base(unittest.TestCase):
    server_args = []

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="stagecast-extcheck-")
        cls.customer = Customer()
        cls.server = stagecast.Server(workers=1, extra_args=cls.server_args + cls.more_args()).start()
        cls.admin = cls.server.admin_token()

    @classmethod
    def more_args(cls):
        return []

    @classmethod
    def tearDownClass(cls):
        cls.customer.stop()
        rc = cls.server.stop()
        cls.server.cleanup()
        subprocess.run(["rm", "-rf", cls.tmp])
        assert rc == 0, "stagecast exited with %r" % rc

    def api(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        tok = self.admin if token is None else token
        if tok:
            headers["Authorization"] = "Bearer " + tok
        return self.server.request(method, path, json.dumps(body).encode() if body is not None else None,
                                   headers, timeout=30)

    def create(self, slug, url=None, fields=({"name": "code", "label": "Access code"},), **more):
        ext = {"url": url or self.customer.url(), "secret": SECRET, "fields": list(fields)}
        ext.update(more.pop("external", {}))
        r = self.api("POST", "/api/v1/events", dict({"title": slug, "slug": slug,
                                                     "starts_at": int(time.time()) + 600,
                                                     "watch": {"type": "external"}, "external": ext}, **more))
        self.assertEqual(r.status, 201, r)
        return r.json()

    def join(self, slug, body, source="127.0.0.1", timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout,
                                          source_address=(source, 0))
        try:
            data = json.dumps(body).encode()
            conn.request("POST", "/api/v1/watch/%s/join" % slug, data,
                         {"Content-Type": "application/json", "Content-Length": str(len(data))})
            resp = conn.getresponse()
            return stagecast.Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def counters(self):
        st = self.server.stats(self.admin)
        return {k: st[k] for k in ("external_checks_allowed", "external_checks_denied",
                                   "external_checks_failed", "external_checks_busy",
                                   "events_refused")}


class Settings(Base):
    def test_validation_names_the_field(self):
        now = int(time.time())
        base = {"title": "x", "starts_at": now, "watch": {"type": "external"}}
        good = {"url": "https://sso.example.com/check", "secret": SECRET}
        cases = [
            ({}, "external"),
            ({"external": {"url": "https://sso.example.com/check"}}, "external"),
            ({"external": {"secret": SECRET}}, "external"),
            ({"external": dict(good, url="ftp://sso.example.com/")}, "external.url"),
            ({"external": dict(good, url="https://")}, "external.url"),
            ({"external": dict(good, url="https://user:pw@sso.example.com/")}, "external.url"),
            ({"external": dict(good, url="https://sso.example.com/#frag")}, "external.url"),
            ({"external": dict(good, url="https://sso example.com/")}, "external.url"),
            ({"external": dict(good, url="https://sso.example.com/a\r\nX-Evil: 1")}, "external.url"),
            ({"external": dict(good, url="https://sso.example.com:99999/")}, "external.url"),
            ({"external": dict(good, url="https://sso.example.com/" + "a" * 1100)}, "external.url"),
            ({"external": dict(good, secret="short")}, "external.secret"),
            ({"external": dict(good, secret="x" * 257)}, "external.secret"),
            ({"external": dict(good, timeout_ms=20000)}, "external.timeout_ms"),
            ({"external": dict(good, timeout_ms=50)}, "external.timeout_ms"),
            ({"external": dict(good, fields=[{"name": "name", "label": "Name"}])}, "external.fields"),
            ({"external": dict(good, fields=[{"name": "Code", "label": "Code"}])}, "external.fields"),
            ({"external": dict(good, fields=[{"name": "code", "label": ""}])}, "external.fields"),
            ({"external": dict(good, fields=[{"name": "c", "label": "C", "type": "choice"}])}, "external.fields"),
            ({"external": dict(good, fields=[{"name": "c", "label": "C", "extra": 1}])}, "external.fields"),
            ({"external": dict(good, fields=[{"name": "a", "label": "A"}, {"name": "a", "label": "B"}])},
             "external.fields"),
            ({"external": dict(good, fields=[{"name": "f%d" % i, "label": "F"} for i in range(6)])},
             "external.fields"),
            ({"external": dict(good, bogus=1)}, "external"),
        ]
        before = len(self.api("GET", "/api/v1/events").json()["events"])
        for extra, field in cases:
            r = self.api("POST", "/api/v1/events", dict(base, **extra))
            self.assertEqual((r.status, r.error_code()), (400, "bad-request"), (extra, r))
            self.assertEqual(r.json()["error"].get("field"), field, (extra, r))
            self.assertIn(field, r.json()["error"]["message"], (extra, r))
        self.assertEqual(len(self.api("GET", "/api/v1/events").json()["events"]), before, "nothing stored")

    def test_secret_is_write_only_and_settings_merge(self):
        ev = self.create("settings", fields=[{"name": "code", "label": "Access code"},
                                             {"name": "email", "label": "Work e-mail", "type": "email"},
                                             {"name": "pin", "label": "PIN", "type": "secret"}])
        self.assertNotIn(SECRET, json.dumps(ev))
        self.assertEqual(ev["external"], {"url": self.customer.url(), "timeout_ms": 3000, "secret_set": True,
                                          "fields": [{"name": "code", "label": "Access code", "type": "text"},
                                                     {"name": "email", "label": "Work e-mail", "type": "email"},
                                                     {"name": "pin", "label": "PIN", "type": "secret"}]})
        r = self.api("PATCH", "/api/v1/events/%d" % ev["id"], {"external": {"timeout_ms": 5000}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["external"]["timeout_ms"], r.json()["external"]["url"],
                          r.json()["external"]["secret_set"]), (5000, self.customer.url(), True))
        for got in (self.api("GET", "/api/v1/events/%d" % ev["id"]), self.api("GET", "/api/v1/events")):
            self.assertNotIn(SECRET, got.body.decode())
        landing = self.api("GET", "/api/v1/watch/settings", token="")
        self.assertEqual(landing.status, 200, landing)
        self.assertEqual(landing.json()["watch"], {"type": "external"})
        self.assertEqual(landing.json()["external"], {"fields": ev["external"]["fields"]})
        self.assertNotIn("127.0.0.1:%d" % self.customer.port, landing.body.decode())
        self.assertNotIn(SECRET, landing.body.decode())
        # Another condition: the landing says nothing of the settings kept.
        r = self.api("PATCH", "/api/v1/events/%d" % ev["id"], {"watch": {"type": "public"}})
        self.assertEqual(r.json()["external"]["secret_set"], True)
        self.assertIsNone(self.api("GET", "/api/v1/watch/settings", token="").json()["external"])
        # null clears them; an external event cannot do without.
        r = self.api("PATCH", "/api/v1/events/%d" % ev["id"], {"external": None})
        self.assertIsNone(r.json()["external"])
        r = self.api("PATCH", "/api/v1/events/%d" % ev["id"], {"watch": {"type": "external"}})
        self.assertEqual((r.status, r.json()["error"].get("field")), (400, "external"), r)


class Checks(Base):
    server_args = ["--max-wrong-attempts", "1000"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        fields = [{"name": "code", "label": "Access code"}]
        for slug, url, timeout in (("ext", None, 1000), ("ext-refused", "http://127.0.0.1:%d/x" % closed_port(), 3000)):
            ext = {"url": url or cls.customer.url(), "secret": SECRET, "fields": fields, "timeout_ms": timeout}
            r = cls.server.request("POST", "/api/v1/events", json.dumps(
                {"title": slug, "slug": slug, "starts_at": int(time.time()) + 600,
                 "watch": {"type": "external"}, "external": ext}),
                {"Authorization": "Bearer " + cls.admin, "Content-Type": "application/json"})
            assert r.status == 201, r

    def test_allow_admits_with_the_organisers_name_and_id(self):
        before = self.counters()
        t0 = time.monotonic()
        r = self.join("ext", {"code": "allow-1", "name": "typed by the viewer"})
        took = time.monotonic() - t0
        self.assertEqual(r.status, 200, r)
        print("\n    external check on loopback, join answered in %.1f ms" % (took * 1000), file=sys.stderr)
        claims = stagecast.jwt_claims(r.json()["token"])
        self.assertEqual(claims["room"], "ext")
        self.assertEqual(claims["role"], "viewer")
        self.assertEqual(claims["name"], "Ann Example " + "x" * 20, "control characters dropped, 32 characters")
        self.assertEqual(claims["sub"], "ext-u-123@example.com")
        self.assertEqual(r.json()["viewer_url"], "/e/ext/view#room=ext&token=%s&event=ext" % r.json()["token"])
        after = self.counters()
        self.assertEqual(after["external_checks_allowed"], before["external_checks_allowed"] + 1)

        # What the organiser's system got, and that it can check it.
        headers, raw = self.customer.last()
        self.assertTrue(verify(headers, raw), "the signature verifies with the shared secret")
        self.assertFalse(verify(headers, raw, secret="another-secret-of-16+"))
        self.assertFalse(verify(headers, raw + b" "), "a changed body does not verify")
        sent = json.loads(raw)
        self.assertEqual(sent["event"]["slug"], "ext")
        self.assertIsInstance(sent["event"]["id"], int)
        self.assertEqual(sent["fields"], {"code": "allow-1"})
        self.assertEqual(sent["name"], "typed by the viewer")
        self.assertEqual(sent["address"], "127.0.0.1")
        self.assertEqual(str(sent["timestamp"]), headers["x-stagecast-timestamp"])
        self.assertLess(abs(sent["timestamp"] - time.time()), 300)
        self.assertRegex(sent["nonce"], r"^[0-9a-f]{32}$")
        self.assertEqual(headers["content-type"], "application/json")
        self.assertTrue(headers["user-agent"].startswith("stagecast/"))
        self.join("ext", {"code": "allow-2"})
        self.assertNotEqual(json.loads(self.customer.last()[1])["nonce"], sent["nonce"])

        # The token joins the event's room.
        ws = wsclient.WsClient("127.0.0.1", self.server.port)
        self.assertEqual(ws.request({"type": "join", "id": 1, "token": r.json()["token"]},
                                    want=("joined", "error"))["type"], "joined")
        ws.close()

    def test_answers_without_name_or_with_odd_ids(self):
        plain = self.join("ext", {"code": "plain", "name": "Viewer Typed"})
        self.assertEqual(plain.status, 200, plain)
        self.assertEqual(stagecast.jwt_claims(plain.json()["token"])["name"], "Viewer Typed")
        self.assertTrue(stagecast.jwt_claims(plain.json()["token"])["sub"].startswith("u-"), "a random one")
        odd = self.join("ext", {"code": "weird-id"})
        sub = stagecast.jwt_claims(odd.json()["token"])["sub"]
        self.assertRegex(sub, r"^ext-h[0-9a-f]{32}$", "an id that is not plain is hashed")
        self.assertEqual(stagecast.jwt_claims(self.join("ext", {"code": "weird-id"}).json()["token"])["sub"], sub)
        for code, name in (("chunked", "Chunky"), ("interim", "After 100")):
            r = self.join("ext", {"code": code})
            self.assertEqual(r.status, 200, (code, r))
            self.assertEqual(stagecast.jwt_claims(r.json()["token"])["name"], name)

    def test_deny_shows_the_organisers_message(self):
        before = self.counters()
        r = self.join("ext", {"code": "deny"})
        self.assertEqual((r.status, r.error_code()), (403, "external-denied"), r)
        msg = r.json()["error"]["message"]
        self.assertTrue(msg.startswith("Badge expired: renew at the desk. yyy"), msg)
        self.assertEqual(len(msg), 200)
        self.assertNotIn("token", r.json())
        r = self.join("ext", {"code": "deny-plain"})
        self.assertEqual((r.status, r.error_code()), (403, "external-denied"), r)
        self.assertEqual(r.json()["error"]["message"], "the organiser's system did not admit you")
        after = self.counters()
        self.assertEqual(after["external_checks_denied"], before["external_checks_denied"] + 2)
        self.assertEqual(after["events_refused"], before["events_refused"] + 2)

    def test_failures_are_unavailable_and_counted(self):
        before = self.counters()
        cases = [("slow", "ext", 504, "timeout"), ("500", "ext", 502, "status"),
                 ("badjson", "ext", 502, "answer"), ("notbool", "ext", 502, "answer"),
                 ("big", "ext", 502, "too-large"), ("unknown", "ext", 502, "status"),
                 ("allow", "ext-refused", 502, "unreachable")]
        for code, slug, status, reason in cases:
            t0 = time.monotonic()
            r = self.join(slug, {"code": code})
            took = time.monotonic() - t0
            self.assertEqual((r.status, r.error_code()), (status, "external-unavailable"), (code, r))
            self.assertEqual(r.json()["error"]["reason"], reason, (code, r))
            self.assertNotIn("token", r.json())
            if code == "slow":
                self.assertGreaterEqual(took, 0.9, "answered at the timeout (1 s), not before")
        after = self.counters()
        self.assertEqual(after["external_checks_failed"], before["external_checks_failed"] + len(cases))
        self.assertEqual(after["external_checks_allowed"], before["external_checks_allowed"])
        self.assertEqual(self.server.health().status, 200)
        # The log says why, once a check.
        log = self.server.log_text()
        self.assertIn("external check for 127.0.0.1 failed", log)
        self.assertIn("connection refused", log)

    def test_missing_or_bad_fields(self):
        count = self.customer.count()
        for body, why in (({}, "is required"), ({"code": ""}, "is required"), ({"code": 5}, "is required"),
                          ({"code": "a\nb"}, "2048"), ({"code": "c" * 2049}, "2048")):
            r = self.join("ext", body)
            self.assertEqual((r.status, r.error_code()), (400, "bad-request"), (body, r))
            self.assertEqual(r.json()["error"]["field"], "code")
            self.assertIn(why, r.json()["error"]["message"])
        self.assertEqual(self.customer.count(), count, "no callback for a refused form")

    def test_viewer_leaving_midway(self):
        before = self.counters()
        s = socket.create_connection(("127.0.0.1", self.server.port))
        body = json.dumps({"code": "slow"}).encode()
        s.sendall(b"POST /api/v1/watch/ext/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        time.sleep(0.3)
        s.close()
        self.assertIsNotNone(stagecast.wait_for(
            lambda: self.counters()["external_checks_failed"] > before["external_checks_failed"], 10))
        self.assertEqual(self.join("ext", {"code": "allow-after"}).status, 200)

    def test_metrics(self):
        self.join("ext", {"code": "allow-m"})
        r = self.server.request("GET", "/metrics", None, {"Authorization": "Bearer " + self.admin})
        text = r.body.decode()
        for name in ("allowed", "denied", "failed", "busy"):
            self.assertIn("# HELP stagecast_external_checks_%s_total " % name, text)
            self.assertIn("\nstagecast_external_checks_%s_total " % name, text)
        self.assertIn("stagecast_external_check_seconds_count ", text)
        self.assertIn("stagecast_external_checks_in_flight ", text)


class Limits(Base):
    server_args = ["--max-external-checks", "4", "--max-wrong-attempts", "3"]

    def test_in_flight_caps(self):
        # The organiser's system holds its answers until the test is done
        # looking: four checks stay out however slow this machine is.
        self.create("capped", external={"timeout_ms": 10000})
        results = {}

        def go(src):
            results[src] = self.join("capped", {"code": "hold"}, source=src)

        first = [threading.Thread(target=go, args=(src,)) for src in ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")]
        for t in first:
            t.start()
        self.assertIsNotNone(stagecast.wait_for(lambda: self.customer.count() >= 4, 10), "four checks out")
        before = self.counters()
        same = self.join("capped", {"code": "slow"}, source="127.0.0.1")
        self.assertEqual((same.status, same.error_code()), (503, "external-busy"), "an address: a quarter")
        other = self.join("capped", {"code": "slow"}, source="127.0.0.5")
        self.assertEqual((other.status, other.error_code()), (503, "external-busy"), "four in all")
        self.assertEqual(other.headers.get("retry-after"), "1")
        self.assertEqual(self.counters()["external_checks_busy"], before["external_checks_busy"] + 2)
        self.customer.release.set()
        for t in first:
            t.join()
        self.assertEqual({r.status for r in results.values()}, {200})
        # The slots are free again once the answers are in.
        self.assertEqual(self.join("capped", {"code": "allow-again"}, source="127.0.0.6").status, 200)

    def test_denials_count_as_wrong_attempts(self):
        self.create("guarded")
        src = "127.0.0.9"
        codes = [self.join("guarded", {"code": "deny"}, source=src).error_code() for _ in range(3)]
        self.assertEqual(codes, ["external-denied"] * 3)
        count = self.customer.count()
        r = self.join("guarded", {"code": "allow"}, source=src)
        self.assertEqual((r.status, r.error_code()), (429, "too-many-attempts"), r)
        self.assertEqual(self.customer.count(), count, "refused without a callback")
        self.assertEqual(self.join("guarded", {"code": "allow"}, source="127.0.0.10").status, 200,
                         "other addresses go on")


class Https(Base):
    @classmethod
    def more_args(cls):
        cls.cert = self_signed(cls.tmp, "trusted")
        cls.untrusted = self_signed(cls.tmp, "untrusted")
        return ["--external-check-ca", cls.cert[0]]

    def test_https_with_the_ca_given(self):
        trusted = Customer(tls_cert=self.cert)
        untrusted = Customer(tls_cert=self.untrusted)
        self.addCleanup(trusted.stop)
        self.addCleanup(untrusted.stop)
        self.create("tls-ok", url=trusted.url())
        self.create("tls-bad", url=untrusted.url())
        r = self.join("tls-ok", {"code": "allow"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(verify(*trusted.last()))
        r = self.join("tls-bad", {"code": "allow"})
        self.assertEqual((r.status, r.error_code(), r.json()["error"]["reason"]),
                         (502, "external-unavailable", "tls"), r)
        self.assertEqual(untrusted.count(), 0, "nothing sent to a server that is not trusted")
        self.assertIn("certificate not trusted", self.server.log_text())

    def test_unreadable_ca_stops_the_start(self):
        p = subprocess.run([stagecast.binary(), "serve", "--listen", "127.0.0.1:0", "--data", self.tmp,
                            "--external-check-ca", os.path.join(self.tmp, "missing.pem")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("missing.pem", p.stdout.decode())


if __name__ == "__main__":
    unittest.main()

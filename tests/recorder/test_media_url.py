"""Signed media URLs for recordings, against a real `stagecast serve` whose
catalog holds WebM files ffmpeg made (the start-up scan lists them, so no
publisher is needed):

- POST /api/recordings/{id}/media-url (token in the Authorization header)
  returns a URL that plays the file with Range requests (206) and a
  download URL that names the file in Content-Disposition;
- a URL for recording A is refused on recording B, and a play URL as a
  download; a tampered signature, expiry or scope is refused (401
  url-invalid), as are URLs missing a part;
- with --media-url-ttl 1, once the server's clock has passed the URL's exp
  the URL is refused with 401 url-expired;
- a token in the query string is refused on the media and the timeline
  (401 token-in-url), whether or not a header comes with it;
- a viewer gets a URL only once the recording is published, for their room,
  and it stops working as soon as the recording is unpublished; an admin's
  keeps working.
"""

import calendar
import os
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402

ROOM = "signed"
OTHER_ROOM = "elsewhere"


def make_webm(path, seconds):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=duration=%d:size=160x120:rate=15" % seconds, "-f", "lavfi", "-i",
                    "sine=duration=%d" % seconds, "-c:v", "libvpx", "-b:v", "200k", "-c:a",
                    "libopus", "-shortest", path], check=True, capture_output=True)


def auth(token):
    return {"Authorization": "Bearer " + token} if token else {}


def with_arg(url, name, value):
    """url with query argument `name` set to value (None: removed)."""
    parts = urllib.parse.urlsplit(url)
    args = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != name]
    if value is not None:
        args.append((name, value))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(args)))


def arg(url, name):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))[name]


class MediaUrlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = stagecast.Server(workers=1)
        rec = os.path.join(cls.server.data, "recordings")
        cls.paths = {
            "a": os.path.join(rec, ROOM, "20240101T100000Z-slot0.webm"),
            "b": os.path.join(rec, ROOM, "20240101T110000Z-slot0.webm"),
            "other": os.path.join(rec, OTHER_ROOM, "20240101T120000Z-slot0.webm"),
        }
        for name, path in cls.paths.items():
            make_webm(path, 3 if name != "b" else 2)
        cls.server.start()
        cls.admin = cls.server.admin_token()
        cls.viewer = cls.server.token(ROOM, "viewer")
        r = cls.server.request("GET", "/api/recordings", None, auth(cls.admin))
        assert r.status == 200, r
        # The scan dates each row by its file's name.
        by_start = {row["started_at"]: row for row in r.json()["recordings"]}
        cls.rows = {name: by_start[calendar.timegm((2024, 1, 1, hour, 0, 0)) * 1000]
                    for name, hour in (("a", 10), ("b", 11), ("other", 12))}

    @classmethod
    def tearDownClass(cls):
        cls.server.stop_checked()

    def get(self, path, token=None, headers=None):
        h = dict(auth(token))
        h.update(headers or {})
        return self.server.request("GET", path, None, h)

    def mint(self, name, purpose=None, token=None):
        q = "?purpose=" + purpose if purpose else ""
        return self.server.request("POST", "/api/recordings/%s/media-url%s"
                                   % (self.rows[name]["id"], q), None,
                                   auth(token or self.admin))

    def url(self, name, purpose=None, token=None):
        r = self.mint(name, purpose, token)
        self.assertEqual(r.status, 200, r)
        return r.json()["url"]

    def content(self, name):
        with open(self.paths[name], "rb") as f:
            return f.read()

    def assert_refused(self, resp, status, code):
        self.assertEqual((resp.status, resp.error_code()), (status, code), resp)
        self.assertTrue(resp.json()["error"]["message"])

    def test_signed_url_plays_with_range(self):
        content = self.content("a")
        r = self.mint("a")
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["purpose"], "play")
        self.assertEqual(body["ttl_s"], 300)
        url = body["url"]
        # One recording's media, not the token.
        self.assertTrue(url.startswith(self.rows["a"]["media_url"] + "?"), url)
        self.assertNotIn(self.admin, url)
        self.assertEqual(int(arg(url, "exp")), body["exp"])
        self.assertLessEqual(body["exp"], time.time() + 300 + 1)

        r = self.get(url, headers={"Range": "bytes=0-99"})
        self.assertEqual((r.status, r.body), (206, content[:100]))
        self.assertEqual(r.headers.get("content-range"), "bytes 0-99/%d" % len(content))
        self.assertEqual(r.headers.get("content-type"), "video/webm")
        self.assertIsNone(r.headers.get("content-disposition"))
        r = self.get(url, headers={"Range": "bytes=%d-" % (len(content) - 10)})
        self.assertEqual((r.status, r.body), (206, content[-10:]))
        r = self.get(url)
        self.assertEqual((r.status, r.body), (200, content))
        r = self.get(url, headers={"Range": "bytes=%d-" % len(content)})
        self.assertEqual(r.status, 416)

        # Download: the same bytes, named for saving.
        dl = self.url("a", "download")
        r = self.get(dl)
        self.assertEqual((r.status, r.body), (200, content))
        self.assertEqual(r.headers.get("content-disposition"),
                         'attachment; filename="%s-%s.webm"' % (ROOM, self.rows["a"]["id"]))
        r = self.get(dl, headers={"Range": "bytes=10-19"})
        self.assertEqual((r.status, r.body), (206, content[10:20]))

        # The bearer header still works for API clients.
        r = self.get(self.rows["a"]["media_url"], self.admin, {"Range": "bytes=0-9"})
        self.assertEqual((r.status, r.body), (206, content[:10]))

    def test_refused_for_another_recording_or_purpose(self):
        url = self.url("a")
        a, b = self.rows["a"]["id"], self.rows["b"]["id"]
        r = self.get(url.replace(a, b), headers={"Range": "bytes=0-9"})
        self.assert_refused(r, 401, "url-invalid")
        r = self.get(url.replace(a, self.rows["other"]["id"]))
        self.assert_refused(r, 401, "url-invalid")
        # A play URL is not a download URL, nor the reverse.
        self.assert_refused(self.get(with_arg(url, "purpose", "download")), 401, "url-invalid")
        dl = self.url("a", "download")
        self.assert_refused(self.get(with_arg(dl, "purpose", "play")), 401, "url-invalid")
        # The genuine URL still plays.
        self.assertEqual(self.get(url, headers={"Range": "bytes=0-9"}).status, 206)

    def test_tampered_refused(self):
        url = self.url("a")
        sig, exp = arg(url, "sig"), int(arg(url, "exp"))
        self.assertEqual(arg(url, "scope"), "any")
        flipped = ("B" if sig[0] == "A" else "A") + sig[1:]
        cases = {
            "signature altered": with_arg(url, "sig", flipped),
            "signature of another length": with_arg(url, "sig", sig + "A"),
            "later expiry": with_arg(url, "exp", str(exp + 3600)),
            "earlier expiry": with_arg(url, "exp", str(exp - 1)),
            "expiry spelt otherwise": with_arg(url, "exp", "0" + str(exp)),
            "scope changed": with_arg(url, "scope", "published"),
            "no sig value": with_arg(url, "sig", ""),
            "no exp": with_arg(url, "exp", None),
            "no purpose": with_arg(url, "purpose", None),
            "no scope": with_arg(url, "scope", None),
            "unknown purpose": with_arg(url, "purpose", "stream"),
        }
        for what, bad in cases.items():
            with self.subTest(what):
                self.assert_refused(self.get(bad, headers={"Range": "bytes=0-9"}), 401,
                                    "url-invalid")
        # An admin token in the header does not rescue a bad signature.
        r = self.get(cases["signature altered"], self.admin)
        self.assert_refused(r, 401, "url-invalid")

    def test_token_in_query_refused(self):
        media = self.rows["a"]["media_url"]
        q = "?token=" + urllib.parse.quote(self.admin)
        for headers in ({}, auth(self.admin)):
            r = self.get(media + q, headers=headers)
            self.assert_refused(r, 401, "token-in-url")
            self.assertIn("signed URL", r.json()["error"]["message"])
            r = self.get("/api/recordings/%s/timeline%s" % (self.rows["a"]["id"], q),
                         headers=headers)
            self.assert_refused(r, 401, "token-in-url")
        # Even next to a valid signature.
        r = self.get(self.url("a") + "&token=" + urllib.parse.quote(self.admin))
        self.assert_refused(r, 401, "token-in-url")
        # Without any credential, the error points at signed URLs too.
        r = self.get(media)
        self.assert_refused(r, 401, "token-missing")
        self.assertIn("signed URL", r.json()["error"]["message"])

    def test_minting_needs_a_reader(self):
        rid = self.rows["b"]["id"]
        path = "/api/recordings/%s/media-url" % rid
        self.assert_refused(self.server.request("POST", path), 401, "token-missing")
        self.assert_refused(self.server.request("POST", path + "?purpose=stream", None,
                                                auth(self.admin)), 400, "bad-request")
        r = self.server.request("GET", path, None, auth(self.admin))
        self.assertEqual(r.status, 405)
        self.assert_refused(self.mint("b", token=self.viewer), 403, "forbidden")
        r = self.server.request("POST", "/api/recordings/%s/media-url" % ("0" * 32), None,
                                auth(self.admin))
        self.assert_refused(r, 404, "not-found")

        # Published: the room's viewer gets a URL, another room's does not.
        admin_url = self.url("b")
        r = self.server.request("POST", "/api/recordings/%s/publish" % rid, None,
                                auth(self.admin))
        self.assertEqual(r.status, 200, r)
        try:
            vurl = self.url("b", token=self.viewer)
            self.assertEqual(arg(vurl, "scope"), "published")
            self.assertEqual(arg(admin_url, "scope"), "any")
            self.assertNotIn(self.viewer, vurl)
            r = self.get(vurl, headers={"Range": "bytes=0-9"})
            self.assertEqual((r.status, r.body), (206, self.content("b")[:10]))
            r = self.mint("b", token=self.server.token(OTHER_ROOM, "viewer"))
            self.assert_refused(r, 403, "wrong-room")
        finally:
            r = self.server.request("POST", "/api/recordings/%s/unpublish" % rid, None,
                                    auth(self.admin))
            self.assertEqual(r.status, 200, r)
        # Unpublished: the viewer's URL stops at once; the admin's plays on.
        self.assert_refused(self.get(vurl), 403, "forbidden")
        self.assertEqual(self.get(admin_url, headers={"Range": "bytes=0-9"}).status, 206)


class MediaUrlExpiryTest(unittest.TestCase):
    def test_expired_url_refused(self):
        server = stagecast.Server(workers=1, extra_args=["--media-url-ttl", "1"])
        make_webm(os.path.join(server.data, "recordings", ROOM, "20240101T100000Z-slot0.webm"),
                  1)
        server.start()
        try:
            admin = server.admin_token()
            r = server.request("GET", "/api/recordings", None, auth(admin))
            rec = r.json()["recordings"][0]
            r = server.request("POST", "/api/recordings/%s/media-url" % rec["id"], None,
                               auth(admin))
            self.assertEqual(r.status, 200, r)
            body = r.json()
            self.assertEqual(body["ttl_s"], 1)
            # The condition, not a duration: the server's clock (this
            # machine's) has reached exp.
            self.assertTrue(stagecast.wait_for(lambda: time.time() >= body["exp"], 10.0))
            r = server.request("GET", body["url"], None, {"Range": "bytes=0-9"})
            self.assertEqual((r.status, r.error_code()), (401, "url-expired"), r)
            # An expired URL with its expiry moved on is forged, not renewed.
            r = server.request("GET", with_arg(body["url"], "exp", str(body["exp"] + 60)))
            self.assertEqual((r.status, r.error_code()), (401, "url-invalid"), r)
            # A fresh one plays.
            r = server.request("POST", "/api/recordings/%s/media-url" % rec["id"], None,
                               auth(admin))
            fresh = r.json()
            r = server.request("GET", fresh["url"], None, {"Range": "bytes=0-9"})
            # Checked only when the answer came well before exp (then the
            # server checked before it too): a slow machine skips it.
            if time.time() < fresh["exp"] - 0.5:
                self.assertEqual(r.status, 206, r)
        finally:
            server.stop_checked()


if __name__ == "__main__":
    unittest.main()

"""Recording statuses, room sessions and their composite, chapters, the
replay timeline and disk-quota failures, driven by an aiortc WHIP publisher
against a real `stagecast serve`:

- a slot's row is listed as `recording` while the file is written, then
  `ready`, with its tracks and a session id;
- when the session ends a composite row (same session) appears as
  `processing` and ends `ready`, a VP8 + Opus file ffprobe reads;
- a chapter the host marks during the recording is stored, broadcast, and
  shows in GET /api/recordings/{id}/timeline with the chat sent meanwhile,
  `t_ms` the server's clock between sending it and its reply, inside the
  file; viewers may read the timeline only once the recording is
  published;
- a tiny --recordings-quota stops the file: the row is `failed` (reason
  `quota`), the host gets `recording_error`, the stats count it; a real
  full disk (a small tmpfs) does the same with `disk-full`;
- a server killed mid-recording resolves the row at the next start and
  makes the session's composite then.
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stagecast  # noqa: E402
import rtc  # noqa: E402
import sent  # noqa: E402
import wsclient  # noqa: E402


def ffprobe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                          "-show_streams", path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def auth(token):
    return {"Authorization": "Bearer " + token} if token else {}


class ReplayTest(unittest.IsolatedAsyncioTestCase):
    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)

    def get(self, server, path, token):
        return server.request("GET", path, None, auth(token))

    async def rows(self, server, admin, query=""):
        r = await asyncio.to_thread(self.get, server, "/api/recordings" + query, admin)
        self.assertEqual(r.status, 200, r)
        return r.json()["recordings"]

    async def wait_rows(self, server, admin, query, pred, what, timeout=40.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = await self.rows(server, admin, query)
            if pred(last):
                return last
            await asyncio.sleep(0.2)
        self.fail("timed out waiting for %s; rows: %s\n%s"
                  % (what, json.dumps(last)[:2000], server.log_tail()))

    def join(self, server, room, role, name):
        ws = wsclient.WsClient("127.0.0.1", server.port)
        joined = ws.request({"type": "join", "id": 1, "token": server.token(room, role, name)},
                            want=("joined", "error"))
        self.assertEqual(joined["type"], "joined", joined)
        return ws

    async def test_statuses_chapters_timeline_and_composite(self):
        server = stagecast.Server(extra_args=["--record-by-default"]).start()
        host = viewer = None
        try:
            room = "replay"
            admin = server.admin_token()
            host = self.join(server, room, "presenter", "Host")
            viewer = self.join(server, room, "viewer", "Vera")

            # Nobody live yet: no chapter.
            r = host.request({"type": "chapter", "id": 5, "title": "too early"})
            self.assertEqual((r["type"], r.get("code")), ("error", "not-live"), r)

            token = server.token(room, "presenter", "Encoder")
            pc, resp = await rtc.publish(server, room, token)
            self.assertEqual(resp.status, 201, resp)
            self.assertTrue(await rtc.wait_connected(pc), "publisher did not connect")

            # Listed while it is written.
            live = await self.wait_rows(server, admin, "?kind=track",
                                        lambda l: len(l) == 1 and l[0]["status"] == "recording",
                                        "a row in status recording")
            rec = live[0]
            self.assertEqual((rec["kind"], rec["room"], rec["slot"]), ("track", room, 0))
            self.assertRegex(rec["session"] or "", "^[0-9a-f]{32}$")
            # Not deletable while the writer has it open.
            r = server.request("DELETE", "/api/recordings/" + rec["id"], None, auth(admin))
            self.assertEqual((r.status, r.error_code()), (409, "conflict"))

            await asyncio.sleep(2.0)
            chat = viewer.request({"type": "chat", "id": 7, "text": "hello from the audience"})
            self.assertEqual(chat["type"], "sent", chat)
            await asyncio.sleep(1.5)
            # Only moderators mark chapters.
            r = viewer.request({"type": "chapter", "id": 8, "title": "nope"})
            self.assertEqual(r.get("code"), "forbidden", r)
            r = host.request({"type": "chapter", "id": 9, "title": ""})
            self.assertEqual(r.get("code"), "bad-request", r)
            chapter_sent_ms = time.time() * 1000
            ok = host.request({"type": "chapter", "id": 10, "title": "Questions"})
            chapter_ok_ms = time.time() * 1000
            self.assertEqual(ok["type"], "ok", ok)
            self.assertIsInstance(ok.get("chapter"), int)
            seen = viewer.recv_type(("chapter",))
            self.assertEqual((seen["title"], seen["id"]), ("Questions", ok["chapter"]))
            # Publish on until the media sent runs 2 s past the chapter (and
            # 5 s in all), however long a busy machine's encoders take.
            chapter_at = chapter_ok_ms / 1000
            before = await sent.until(
                pc, lambda s: s.audio_s >= 5.0 and s.video_s >= 5.0
                and (s.covered_until() or 0) >= chapter_at + 2.0, 90.0)
            self.assertIsNotNone(before, "the publisher did not send 2 s of media after the "
                                 "chapter")

            # While live the timeline reaches up to now.
            r = self.get(server, "/api/recordings/%s/timeline" % rec["id"], admin)
            self.assertEqual(r.status, 200, r)
            self.assertEqual([c["title"] for c in r.json()["chapters"]], ["Questions"])

            await asyncio.to_thread(server.delete, resp.headers["location"], token)
            await pc.close()

            done = await self.wait_rows(server, admin, "?kind=track",
                                        lambda l: l and l[0]["status"] != "recording",
                                        "the track row to finish")
            track = done[0]
            self.assertEqual(track["id"], rec["id"])
            self.assertEqual(track["status"], "ready", track)
            self.assertIsNone(track["reason"])
            self.assertEqual(sorted(track["tracks"]), ["audio", "video"])
            self.assertEqual(track["session"], rec["session"])
            # At least 5 s of media went out before the DELETE; 1 s of
            # margin for what the server could not record (ahead of the
            # file's opening, on its way at the DELETE).
            self.assertGreater(track["duration_s"], before.audio_s - 1.0,
                               (track, before))

            # The timeline: the chat and the chapter, placed in the file.
            r = self.get(server, "/api/recordings/%s/timeline" % rec["id"], admin)
            self.assertEqual(r.status, 200, r)
            tl = r.json()
            kinds = [i["kind"] for i in tl["items"]]
            self.assertIn("chat", kinds, tl)
            self.assertIn("chapter", kinds, tl)
            chat_item = next(i for i in tl["items"] if i["kind"] == "chat")
            self.assertEqual(chat_item["data"]["text"], "hello from the audience")
            chap = tl["chapters"][0]
            self.assertEqual(chap["title"], "Questions")
            # Times are relative to what the page plays: this file, or the
            # session's composite once ready (both start with this file).
            self.assertEqual(tl["play"]["session"], rec["session"])
            self.assertLess(abs(tl["play"]["started_at"] - track["started_at"]), 1000)
            # The server stamps the chapter when it takes it: between the
            # request and its reply on the same clock (1 ms for rounding).
            sent_at = chapter_sent_ms - tl["play"]["started_at"]
            ok_at = chapter_ok_ms - tl["play"]["started_at"]
            self.assertTrue(sent_at - 1 <= chap["t_ms"] <= ok_at + 1,
                            "chapter at %d ms, sent at %d ms, acknowledged at %d ms"
                            % (chap["t_ms"], sent_at, ok_at))
            # Inside the file: 2 s of media were sent after it.
            self.assertLess(chap["t_ms"], track["duration_s"] * 1000)
            self.assertLess(chat_item["t_ms"], chap["t_ms"])
            for item in tl["items"]:
                self.assertFalse([k for k in item["data"] if k.startswith("_")], item)

            # Who may read it.
            vtok = server.token(room, "viewer")
            r = self.get(server, "/api/recordings/%s/timeline" % rec["id"], vtok)
            self.assertEqual((r.status, r.error_code()), (403, "forbidden"))
            r = self.get(server, "/api/recordings/%s/timeline" % rec["id"], None)
            self.assertEqual(r.status, 401)
            r = self.get(server, "/api/recordings/%s/timeline" % ("0" * 32), admin)
            self.assertEqual((r.status, r.error_code()), (404, "not-found"))
            r = self.get(server, "/api/recordings/nope/timeline", admin)
            self.assertEqual(r.status, 404)
            r = server.request("POST", "/api/recordings/%s/publish" % rec["id"], None, auth(admin))
            self.assertEqual(r.status, 200, r)
            r = self.get(server, "/api/recordings/%s/timeline" % rec["id"], vtok)
            self.assertEqual(r.status, 200, r)
            # A token in the URL is refused (it would be logged and kept).
            r = self.get(server, "/api/recordings/%s/timeline?token=%s" % (rec["id"], vtok), None)
            self.assertEqual((r.status, r.error_code()), (401, "token-in-url"), r)
            other = server.token("elsewhere", "viewer")
            r = self.get(server, "/api/recordings/%s/timeline" % rec["id"], other)
            self.assertEqual(r.status, 403)

            # The session's composite: one row, same session, then a result.
            comp = await self.wait_rows(server, admin, "?kind=composite",
                                        lambda l: len(l) == 1, "the composite row")
            c = comp[0]
            self.assertEqual((c["session"], c["room"], c["tracks"]), (rec["session"], room, [0]))
            final = await self.wait_rows(server, admin, "?kind=composite",
                                         lambda l: l[0]["status"] in ("ready", "failed"),
                                         "the composite to finish", timeout=120.0)
            c = final[0]
            self.check_composite(server, admin, c, track)
            # The replay now plays the composite, for admins; a viewer sees
            # it once it is published too.
            r = self.get(server, "/api/recordings/%s/timeline" % rec["id"], admin)
            self.assertEqual(r.json()["play"]["id"], c["id"])
            r = self.get(server, "/api/recordings/%s/timeline" % rec["id"], vtok)
            self.assertEqual(r.json()["play"]["id"], rec["id"])
            r = server.request("POST", "/api/recordings/%s/publish" % c["id"], None, auth(admin))
            self.assertEqual(r.status, 200, r)
            r = self.get(server, "/api/recordings/%s/timeline" % rec["id"], vtok)
            self.assertEqual(r.json()["play"]["id"], c["id"])
            self.assertEqual([x["title"] for x in r.json()["chapters"]], ["Questions"])

            # Filters: kind, status, session; bad values refused.
            self.assertEqual(len(await self.rows(server, admin, "?session=" + rec["session"])), 2)
            self.assertEqual([x["id"] for x in await self.rows(server, admin, "?status=ready&kind=track")],
                             [rec["id"]])
            # Over-long values are refused too, never dropped (dropping a
            # filter would answer with every recording).
            for q in ("?kind=movie", "?status=done", "?session=xyz", "?kind=" + "t" * 20,
                      "?status=" + "r" * 40, "?session=" + "a" * 80, "?room=" + "r" * 100,
                      "?from=" + "1" * 40, "?to=" + "9" * 40):
                r = self.get(server, "/api/recordings" + q, admin)
                self.assertEqual((r.status, r.error_code()), (400, "bad-request"), q)
        finally:
            for ws in (host, viewer):
                if ws:
                    ws.close()
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)

    def check_composite(self, server, admin, c, track):
        """The composite ends `ready` with a file ffprobe reads, as long as
        the session's slot file (one slot: the same duration)."""
        self.assertEqual(c["status"], "ready", c)
        r = self.get(server, c["media_url"], admin)
        self.assertEqual(r.status, 200)
        path = os.path.join(server.data, "composite-check.webm")
        with open(path, "wb") as f:
            f.write(r.body)
        info = ffprobe(path)
        self.assertEqual(sorted(s["codec_name"] for s in info["streams"]), ["opus", "vp8"])
        self.assertLess(abs(float(info["format"]["duration"]) - track["duration_s"]), 1.0)

    async def test_quota_failure(self):
        # The quota (1 MiB, the smallest) is nearly used up by an older file,
        # so the new recording stops after a few hundred KiB.
        server = stagecast.Server(extra_args=["--record-by-default", "--recordings-quota", "1"])
        pad = os.path.join(server.data, "recordings", "filler")
        os.makedirs(pad)
        with open(os.path.join(pad, "old.bin"), "wb") as f:
            f.write(b"\0" * (1024 * 1024 - 200 * 1024))
        server.start()
        host = None
        try:
            room = "full"
            admin = server.admin_token()
            host = self.join(server, room, "presenter", "Host")
            token = server.token(room, "presenter", "Encoder")
            pc, resp = await rtc.publish(server, room, token)
            self.assertEqual(resp.status, 201, resp)
            self.assertTrue(await rtc.wait_connected(pc), "publisher did not connect")
            err = await asyncio.to_thread(host.recv_type, ("recording_error",), 60.0)
            self.assertEqual(err["code"], "quota", err)
            self.assertTrue(err["message"])
            rows = await self.wait_rows(server, admin, "?kind=track",
                                        lambda l: l and l[0]["status"] == "failed",
                                        "the row to fail")
            self.assertTrue(rows[0]["reason"].startswith("quota"), rows[0])
            # What was written still plays.
            r = self.get(server, rows[0]["media_url"], admin)
            self.assertEqual(r.status, 200)
            self.assertGreater(len(r.body), 1000)
            st = self.get(server, "/api/recordings/stats", admin).json()
            self.assertGreaterEqual(st["failed_quota"], 1, st)
            self.assertGreaterEqual(st["recorder"]["errors"], 1, st)
            await asyncio.to_thread(server.delete, resp.headers["location"], token)
            await pc.close()
            # The media plane and the signalling keep serving.
            self.assertEqual(server.health().status, 200)
            r = host.request({"type": "ping", "id": 3}, want=("pong",))
            self.assertEqual(r["type"], "pong")
            # Stats are for admins only.
            r = self.get(server, "/api/recordings/stats", server.token(room, "presenter"))
            self.assertEqual(r.status, 403)
        finally:
            if host:
                host.close()
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)

    async def test_disk_full(self):
        """A real full disk: the server runs in its own mount namespace with
        a 512 KiB tmpfs over its recordings directory."""
        real = stagecast.binary()
        wrapper_dir = tempfile.mkdtemp(prefix="stagecast-diskfull-")
        wrapper = os.path.join(wrapper_dir, "stagecast")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    "if [ \"$1\" = serve ]; then\n"
                    "  exec unshare --mount sh -c 'mount -t tmpfs -o size=512k tmpfs \"$0\" &&"
                    " exec \"$@\"' \"$RECDIR\" \"$REAL\" \"$@\"\n"
                    "fi\n"
                    "exec \"$REAL\" \"$@\"\n")
        os.chmod(wrapper, 0o755)
        server = stagecast.Server(extra_args=["--record-by-default"])
        os.makedirs(os.path.join(server.data, "recordings"))
        env = {"REAL": real, "RECDIR": os.path.join(server.data, "recordings"),
               "STAGECAST_BIN": wrapper}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        host = None
        try:
            server.start()
            room = "tiny"
            admin = server.admin_token()
            host = self.join(server, room, "presenter", "Host")
            token = server.token(room, "presenter", "Encoder")
            pc, resp = await rtc.publish(server, room, token)
            self.assertEqual(resp.status, 201, resp)
            self.assertTrue(await rtc.wait_connected(pc), "publisher did not connect")
            err = await asyncio.to_thread(host.recv_type, ("recording_error",), 60.0)
            self.assertEqual(err["code"], "disk-full", err)
            rows = await self.wait_rows(server, admin, "?kind=track",
                                        lambda l: l and l[0]["status"] == "failed",
                                        "the row to fail")
            self.assertTrue(rows[0]["reason"].startswith("disk-full"), rows[0])
            st = self.get(server, "/api/recordings/stats", admin).json()
            self.assertGreaterEqual(st["failed_disk_full"], 1, st)
            # The live stream goes on: a WHEP viewer still receives media.
            vpc, vresp, counter = await rtc.view(server, room, server.token(room, "viewer"))
            self.assertEqual(vresp.status, 201, vresp)
            self.assertTrue(await rtc.wait_connected(vpc), "viewer did not connect")
            deadline = time.monotonic() + 20.0
            while counter.video < 10 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            self.assertGreaterEqual(counter.video, 10, "the viewer decodes no video")
            await vpc.close()
            await asyncio.to_thread(server.delete, resp.headers["location"], token)
            await pc.close()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            if host:
                host.close()
            rc = server.stop()
            server.cleanup()
            shutil.rmtree(wrapper_dir, ignore_errors=True)
            self.assertEqual(rc, 0)

    async def test_killed_server_resolves_rows(self):
        server = stagecast.Server(extra_args=["--record-by-default"]).start()
        try:
            room = "crash"
            admin = server.admin_token()
            token = server.token(room, "presenter")
            pc, resp = await rtc.publish(server, room, token)
            self.assertTrue(await rtc.wait_connected(pc), "publisher did not connect")
            live = await self.wait_rows(server, admin, "?kind=track",
                                        lambda l: len(l) == 1 and l[0]["status"] == "recording",
                                        "a row in status recording")
            # 3 s of media sent, however long the publisher takes.
            before = await sent.publish_media(pc, 3.0)
            self.assertIsNotNone(before, "the publisher did not send 3 s of media")
            server.proc.kill()
            server.proc.wait()
            server._log.close()
            await pc.close()
            server.start()
            admin = server.admin_token()
            rows = await self.rows(server, admin, "?kind=track")
            self.assertEqual([(x["id"], x["status"]) for x in rows], [(live[0]["id"], "ready")],
                             server.log_tail())
            # Up to the last complete cluster (at most 1 s lost), and 1 s
            # more for what the server had not recorded by the kill.
            self.assertGreater(rows[0]["duration_s"], before.audio_s - 2.0, (rows[0], before))
            comp = await self.wait_rows(server, admin, "?kind=composite",
                                        lambda l: len(l) == 1 and l[0]["status"] != "processing",
                                        "the composite made at restart", timeout=120.0)
            self.assertEqual(comp[0]["session"], live[0]["session"])
            self.check_composite(server, admin, comp[0], rows[0])
        finally:
            rc = server.stop()
            server.cleanup()
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()

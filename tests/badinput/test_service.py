"""Running as a service (docs/operations.md, "Running as a service"): the
systemd readiness protocol over a real NOTIFY_SOCKET (READY once the server
answers, RELOADING/READY around a certificate reload, STOPPING on SIGTERM),
the watchdog (WATCHDOG=1 while every media worker turns, none while one is
stuck, again once it turns),
the JSON log format (a room's and a session's lines carry them as fields,
no token or TURN credential in any line), and what `meson install` puts
where (the binary, the pages, a hardened Type=notify unit).  Run by tests/badinput/run inside a
network namespace with only loopback."""

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import rtc  # noqa: E402
import stagecast  # noqa: E402
import wsclient  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


class Notify(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="stagecast-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.addCleanup(self.sock.close)
        self.messages = []

    def next_message(self, want, timeout=15.0):
        """Notification datagrams until one holds the line `want`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.messages.append(data)
            if want in data.split("\n"):
                return data
        self.fail("no %s from the server; got %r" % (want, self.messages))

    def test_ready_reloading_stopping(self):
        os.environ["NOTIFY_SOCKET"] = self.path
        try:
            server = stagecast.Server(workers=1, extra_args=["--tls-self-signed"])
            # start() polls /api/health over plain HTTP, which a TLS server
            # does not answer: start by hand and wait for READY instead.
            server.port = stagecast.free_tcp_port()
            server.udp_port = stagecast.free_udp_range(1)
            server._log = open(server.log_path, "wb")
            server.proc = subprocess.Popen(
                [stagecast.binary(), "serve", "--listen", "127.0.0.1:%d" % server.port,
                 "--udp-port", str(server.udp_port), "--data", server.data, "--workers", "1",
                 "--drain-timeout", "0", "--tls-self-signed"],
                stdout=server._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            del os.environ["NOTIFY_SOCKET"]
        self.addCleanup(server.cleanup)
        ready = self.next_message("READY=1")
        self.assertIn("STATUS=serving on port %d" % server.port, ready)
        # Ready means serving: a TLS connection is answered right away.
        ctx = ssl.create_default_context(
            cafile=os.path.join(server.data, "tls", "cert.pem"))
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
                self.assertTrue(tls.recv(200).startswith(b"HTTP/1.1 200"))
        server.proc.send_signal(signal.SIGHUP)
        self.next_message("RELOADING=1")
        self.next_message("READY=1")
        server.proc.send_signal(signal.SIGTERM)
        self.next_message("STOPPING=1")
        self.assertEqual(server.stop(), 0)
        # Not asked for a watchdog (no WATCHDOG_USEC): no pings.
        self.assertFalse([m for m in self.messages if "WATCHDOG=1" in m.split("\n")],
                         self.messages)

    def drain(self):
        """The notifications that have arrived, without waiting: every one
        the server sent before this call (a Unix datagram is queued when
        it is sent)."""
        got = []
        self.sock.setblocking(False)
        try:
            while True:
                got.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        self.messages += got
        return got

    def test_watchdog_pings_only_while_every_worker_turns(self):
        interval_us = 1000000  # WatchdogSec=1s: a ping every 0.5 s
        stall = os.path.join(self.dir, "stall")
        server = stagecast.Server(workers=2)
        server.port = stagecast.free_tcp_port()
        server.udp_port = stagecast.free_udp_range(2)
        server._log = open(server.log_path, "wb")
        env = dict(os.environ, NOTIFY_SOCKET=self.path, WATCHDOG_USEC=str(interval_us),
                   STAGECAST_TEST_STALL_FILE=stall)
        # WATCHDOG_PID names the process systemd watches: the shell's pid,
        # which exec hands on to the server.
        server.proc = subprocess.Popen(
            ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh",
             stagecast.binary(), "serve", "--listen", "127.0.0.1:%d" % server.port,
             "--udp-port", str(server.udp_port), "--data", server.data, "--workers", "2",
             "--drain-timeout", "0"],
            env=env, stdout=server._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.addCleanup(server.cleanup)
        self.next_message("READY=1")
        # Periodic pings while healthy.
        self.next_message("WATCHDOG=1")
        self.next_message("WATCHDOG=1")
        self.assertEqual(server.request("GET", "/healthz").status, 200)

        def healthz():
            return server.request("GET", "/healthz").status

        # Worker 1 sleeps 5 s on its next media datagram: stuck (/healthz
        # 503) from 2 s into the sleep until it wakes.
        with open(stall + ".tmp", "w") as f:
            f.write("1 5000000\n")
        os.replace(stall + ".tmp", stall)
        self.assertTrue(stagecast.wait_for(
            lambda: "worker 1: test stall 5000000" in server.log_text(), 10, 0.05),
            server.log_tail())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\x80" + b"\x00" * 40, ("127.0.0.1", server.udp_port + 1))
        self.assertTrue(stagecast.wait_for(lambda: healthz() == 503, 15, 0.05),
                        "/healthz never said stuck")
        first_stuck = time.monotonic()
        self.drain()  # pings sent before the first 503 answer
        during, last_stuck = [], first_stuck
        while True:
            got = self.drain()
            if healthz() != 503:
                break
            # Still stuck: whatever arrived was sent while stuck.
            during += got
            last_stuck = time.monotonic()
            time.sleep(0.05)
        os.unlink(stall)
        self.assertFalse([m for m in during if "WATCHDOG=1" in m.split("\n")],
                         "pinged while /healthz said stuck: %r" % during)
        # The window held at least two pings' worth (half the interval each).
        self.assertGreaterEqual(last_stuck - first_stuck, interval_us / 1e6,
                                "the stuck window was too short to tell")
        self.assertIn("watchdog: media worker(s) 1 stuck, not pinging systemd",
                      server.log_text())
        self.assertTrue([m for m in self.messages if "STATUS=media worker(s) 1 stuck" in m],
                        self.messages)
        # The worker turns again: so do the pings.
        self.next_message("WATCHDOG=1")
        self.next_message("WATCHDOG=1")
        self.assertIn("watchdog: every media worker turns again", server.log_text())
        server.proc.send_signal(signal.SIGTERM)
        self.next_message("STOPPING=1")
        self.assertEqual(server.stop(), 0)


class JsonLog(unittest.TestCase):
    ROOM = "json-log"
    TURN_SECRET = "json-log-turn-secret-5f0c2a9e"

    async def publish_until_connected(self, server, tok):
        """A real WHIP session (aiortc) until the server's DTLS is up, then
        DELETE.  Returns the 201."""
        pc, resp = await rtc.publish(server, self.ROOM, tok)
        try:
            self.assertEqual(resp.status, 201, resp)
            self.assertTrue(await rtc.wait_connected(pc), "the publisher did not connect")
            hex_id = resp.headers["location"].rsplit("/", 1)[1]
            # The signalling side's line for DTLS up comes from the media
            # plane's event; wait for it rather than for a time.
            deadline = time.monotonic() + 15
            while ('"session":"%s","msg":"session %s (publish, room %s) connected"'
                   % (hex_id, hex_id, self.ROOM)) not in server.log_text():
                self.assertLess(time.monotonic(), deadline, server.log_tail())
                await asyncio.sleep(0.05)
            d = await asyncio.to_thread(server.delete, resp.headers["location"], tok)
            self.assertEqual(d.status, 200, d)
        finally:
            await pc.close()
        return resp

    def test_every_line_is_an_object_with_its_room_and_session_and_no_secret(self):
        secret_dir = tempfile.mkdtemp(prefix="stagecast-json-turn-")
        self.addCleanup(shutil.rmtree, secret_dir, True)
        turn_secret = os.path.join(secret_dir, "turn-secret")
        with open(turn_secret, "w") as f:
            f.write(self.TURN_SECRET + "\n")
        server = stagecast.Server(workers=1, extra_args=[
            "--log-format", "json", "--turn", "turn:127.0.0.1:3478?transport=udp",
            "--turn-secret-file", turn_secret]).start()
        self.addCleanup(server.cleanup)
        tok = server.token(self.ROOM, "viewer")
        ptok = server.token(self.ROOM, "presenter")
        ws = wsclient.WsClient("127.0.0.1", server.port)
        joined = ws.request({"type": "join", "id": 1, "token": tok}, want=("joined", "error"))
        self.assertEqual(joined.get("type"), "joined", joined)
        turn_creds = [(s["username"], s["credential"]) for s in joined["ice_servers"]]
        # A quote, a backslash and a control character in what gets logged.
        ws.request({"type": "no\"such\\type\u0001", "id": 2})
        resp = asyncio.run(self.publish_until_connected(server, ptok))
        hex_id = resp.headers["location"].rsplit("/", 1)[1]
        for link in resp.all("link"):
            m = re.search(r'username="([^"]+)"; credential="([^"]+)"', link)
            turn_creds.append((m.group(1), m.group(2)))
        self.assertEqual(len(turn_creds), 2, "TURN credentials in joined and in the 201")
        ws.close()
        self.assertEqual(server.stop(), 0)
        lines = [l for l in server.log_text().splitlines()
                 if not l.startswith("stagecast listening on ")]
        self.assertGreater(len(lines), 3)
        modules, session_modules, joined_lines = set(), set(), 0
        secrets = [tok, tok.split(".")[2], ptok, ptok.split(".")[2], self.TURN_SECRET]
        for user, cred in turn_creds:
            secrets += [user, cred]
        for line in lines:
            obj = json.loads(line)
            self.assertLessEqual({"ts", "level", "module", "msg"}, set(obj), line)
            self.assertLessEqual(set(obj), {"ts", "level", "module", "msg", "room", "session"},
                                 line)
            self.assertEqual(list(obj)[:3], ["ts", "level", "module"], line)
            self.assertEqual(list(obj)[-1], "msg", line)
            self.assertRegex(obj["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(obj["level"], ("error", "warn", "info", "debug"))
            modules.add(obj["module"])
            for secret in secrets:
                self.assertNotIn(secret, line)
            if "session" in obj:
                self.assertRegex(obj["session"], r"^[0-9a-f]{16}$", line)
                self.assertIn("room", obj, line)
            # Every line about the session carries it and its room.
            if hex_id in obj["msg"]:
                self.assertEqual((obj.get("room"), obj.get("session")), (self.ROOM, hex_id), line)
                session_modules.add(obj["module"])
            if "joined room %s" % self.ROOM in obj["msg"]:
                self.assertEqual(obj.get("room"), self.ROOM, line)
                self.assertNotIn("session", obj, line)
                joined_lines += 1
        self.assertIn("ws", modules)
        self.assertIn("main", modules)
        self.assertEqual(joined_lines, 1)
        # Created (the media plane and WHIP), DTLS up (transport, then the
        # signalling side), closed (ws).
        self.assertLessEqual({"sfu", "http", "transport", "ws"}, session_modules)


class Permissions(unittest.TestCase):
    def test_open_data_dir_is_closed_and_an_open_secret_is_named(self):
        """A data directory made beforehand with open permissions is closed
        (and the database in it is the service's alone); an operator's
        secret file readable by others is named in a warning."""
        server = stagecast.Server(workers=1)
        os.chmod(server.data, 0o777)
        secret = os.path.join(tempfile.mkdtemp(prefix="stagecast-secret-"), "secret")
        with open(secret, "w") as f:
            f.write("ab" * 32 + "\n")
        os.chmod(secret, 0o644)
        server.extra_args = ["--secret-file", secret]
        server.start()
        self.addCleanup(server.cleanup)
        self.assertEqual(server.stop(), 0)
        self.assertEqual(os.stat(server.data).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(os.path.join(server.data, "stagecast.db")).st_mode & 0o077, 0)
        rec = os.path.join(server.data, "recordings")
        self.assertTrue(os.path.isdir(rec), "the recorder makes its directory at start")
        self.assertEqual(os.stat(rec).st_mode & 0o077, 0)
        log = server.log_text()
        self.assertIn("was open to other users (mode 777): now 700", log)
        self.assertIn("the token secret %s is readable by other users" % secret, log)
        self.assertEqual(os.stat(secret).st_mode & 0o777, 0o644, "the operator's file is left as is")


class Install(unittest.TestCase):
    def test_meson_install_lays_out_a_service(self):
        build = os.environ.get("STAGECAST_BUILD_DIR", os.path.join(REPO, "build"))
        dest = tempfile.mkdtemp(prefix="stagecast-install-")
        out = subprocess.run(["meson", "install", "-C", build, "--destdir", dest, "--quiet"],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        units = []
        for root, _, files in os.walk(dest):
            units += [os.path.join(root, f) for f in files if f == "stagecast.service"]
        self.assertEqual(len(units), 1, units)
        unit = open(units[0]).read()
        for line in ("Type=notify", "WatchdogSec=15s", "DynamicUser=yes", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                     "LimitNOFILE=65536", "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertIn(line + "\n", unit)
        exec_start = next(l for l in unit.splitlines() if l.startswith("ExecStart="))
        binary = exec_start.split("=", 1)[1].split()[0]
        ui_dir = exec_start.split("--ui-dir ", 1)[1].split()[0]
        self.assertTrue(os.access(dest + binary, os.X_OK), binary)
        self.assertTrue(os.path.isfile(dest + ui_dir + "/presenter.html"), ui_dir)
        self.assertTrue(os.path.isfile(dest + ui_dir + "/js/peer.js"), ui_dir)
        # The installed binary is the server: it knows its options.
        helped = subprocess.run([dest + binary, "serve", "--help"], capture_output=True,
                                text=True, timeout=30)
        self.assertIn("--drain-timeout", helped.stdout + helped.stderr)


if __name__ == "__main__":
    unittest.main()

"""Running as a service (docs/operations.md, "Running as a service"): the
systemd readiness protocol over a real NOTIFY_SOCKET (READY once the server
answers, RELOADING/READY around a certificate reload, STOPPING on SIGTERM),
the JSON log format, and what `meson install` puts where (the binary, the
pages, a hardened Type=notify unit).  Run by tests/badinput/run inside a
network namespace with only loopback."""

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

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


class JsonLog(unittest.TestCase):
    def test_every_line_is_an_object_and_no_token_leaks(self):
        server = stagecast.Server(workers=1, extra_args=["--log-format", "json"]).start()
        self.addCleanup(server.cleanup)
        tok = server.token("json-log", "viewer")
        ws = wsclient.WsClient("127.0.0.1", server.port)
        joined = ws.request({"type": "join", "id": 1, "token": tok}, want=("joined", "error"))
        self.assertEqual(joined.get("type"), "joined", joined)
        # A quote, a backslash and a control character in what gets logged.
        ws.request({"type": "no\"such\\type\u0001", "id": 2})
        ws.close()
        self.assertEqual(server.stop(), 0)
        lines = [l for l in open(server.log_path, encoding="utf-8").read().splitlines()
                 if not l.startswith("stagecast listening on ")]
        self.assertGreater(len(lines), 3)
        modules = set()
        for line in lines:
            obj = json.loads(line)
            self.assertEqual(set(obj), {"ts", "level", "module", "msg"}, line)
            self.assertRegex(obj["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(obj["level"], ("error", "warn", "info", "debug"))
            modules.add(obj["module"])
            self.assertNotIn(tok, line)
            self.assertNotIn(tok.split(".")[2], line)
        self.assertIn("ws", modules)
        self.assertIn("main", modules)


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
        for line in ("Type=notify", "DynamicUser=yes", "NoNewPrivileges=yes",
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

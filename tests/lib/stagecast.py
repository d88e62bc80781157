"""Start a real `stagecast serve` for the Python suites and talk HTTP to it.

Only the standard library is used here (Debian's /usr/bin/python3), so the
helpers work in every suite whether or not aiortc is importable.  All traffic
goes to 127.0.0.1; the suites run inside `unshare --net` with only `lo` up.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = "127.0.0.1"


def binary():
    """STAGECAST_BIN, else build/stagecast, else where meson puts it
    (build/signaling/stagecast)."""
    if os.environ.get("STAGECAST_BIN"):
        return os.path.abspath(os.environ["STAGECAST_BIN"])
    top = os.path.join(REPO, "build", "stagecast")
    if os.path.exists(top):
        return top
    return os.path.join(REPO, "build", "signaling", "stagecast")


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def free_udp_range(count):
    """A first port such that `count` consecutive ports are free for both UDP
    and TCP (each media worker listens on both: ICE-TCP has the same
    numbers by default)."""
    for _ in range(200):
        first = random.randint(20000, 60000 - count)
        socks = []
        try:
            for i in range(count):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind((HOST, first + i))
            return first
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free UDP port range")


class Response:
    def __init__(self, status, headers, body, header_list=()):
        self.status = status
        self.headers = headers          # dict, lower-case names
        self.body = body                # bytes
        self.header_list = list(header_list)  # [(name, value)]: repeated headers too

    def all(self, name):
        """Every value of header `name` (e.g. one Link header per TURN URL)."""
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def error_code(self):
        """The `error.code` of a protocol error body, or None."""
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


class Server:
    """One `stagecast serve` process with its own data dir and ports."""

    def __init__(self, workers=2, extra_args=(), nofile=None, listen_host=HOST):
        self.workers = workers
        self.extra_args = list(extra_args)
        # "::" listens on every address of both families (IPv4 peers then
        # show as ::ffff:a.b.c.d); requests still go to 127.0.0.1.
        self.listen_host = listen_host
        self.nofile = nofile            # the server's descriptor limit (ulimit -n)
        self.data = tempfile.mkdtemp(prefix="stagecast-test-")
        self.port = None
        self.udp_port = None
        self.proc = None
        self.log_path = os.path.join(self.data, "server.log")
        self._log = None

    # -- life cycle -------------------------------------------------------

    def start(self, timeout=15.0):
        self.port = free_tcp_port()
        self.udp_port = free_udp_range(self.workers)
        cmd = [binary(), "serve",
               "--listen", ("[%s]:%d" if ":" in self.listen_host else "%s:%d")
               % (self.listen_host, self.port),
               "--udp-port", str(self.udp_port),
               "--data", self.data,
               "--workers", str(self.workers),
               # stop at once on SIGTERM (tests/badinput/test_drain.py
               # passes its own --drain-timeout, which comes later and wins)
               "--drain-timeout", "0"] + self.extra_args
        self._log = open(self.log_path, "wb")
        limit = None
        if self.nofile:
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE,  # noqa: E731
                                               (self.nofile, self.nofile))
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=limit)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("stagecast exited with %d during start-up:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            try:
                r = self.request("GET", "/api/health", timeout=1.0)
                if r.status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("stagecast did not answer /api/health in %.0f s:\n%s"
                           % (timeout, self.log_tail()))

    def stop(self, timeout=15.0):
        """SIGTERM; returns the exit status (the suites assert it is 0)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._log.close()
                return "did not exit within %.0f s of SIGTERM" % timeout
        self._log.close()
        return self.proc.returncode

    def stop_checked(self):
        """stop() and cleanup(); AssertionError (with the log's tail) unless
        the server exited 0 on SIGTERM.  For tearDownModule."""
        try:
            rc = self.stop()
            if rc != 0:
                raise AssertionError("stagecast exited with %r after SIGTERM; log tail:\n%s"
                                     % (rc, self.log_tail()))
        finally:
            self.cleanup()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        if self._log and not self._log.closed:
            self._log.close()
        if os.environ.get("STAGECAST_KEEP_DATA"):
            return
        shutil.rmtree(self.data, ignore_errors=True)

    def log_tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- tokens -----------------------------------------------------------

    def token(self, room, role, name=None, extra=()):
        cmd = [binary(), "token", "--data", self.data, "--room", room, "--role", role]
        if name:
            cmd += ["--name", name]
        cmd += list(extra)
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=10)
        lines = [l.strip() for l in out.stdout.decode().splitlines() if l.strip()]
        if not lines:
            raise RuntimeError("stagecast token printed nothing: %r" % out.stderr)
        return lines[-1]

    def admin_token(self):
        return self.token("*", "admin")

    def secret(self):
        """The HMAC key, recovered from data/secret by matching a minted
        token's signature (so the suite does not depend on the file's
        encoding).  Needed only to forge tokens that lack `exp`."""
        with open(os.path.join(self.data, "secret"), "rb") as f:
            raw = f.read()
        candidates = [raw, raw.strip()]
        try:
            candidates.append(bytes.fromhex(raw.strip().decode()))
        except ValueError:
            pass
        for dec in (base64.b64decode, b64url_decode):
            try:
                candidates.append(dec(raw.strip().decode()))
            except (ValueError, TypeError):
                pass
        tok = self.token("probe", "viewer")
        head, payload, sig = tok.split(".")
        for key in candidates:
            if jwt_signature(key, head + "." + payload) == sig:
                return key
        raise RuntimeError("cannot recover the signing key from data/secret")

    # -- HTTP -------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if body is not None and isinstance(body, str):
                body = body.encode("utf-8")
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body:
                try:
                    conn.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    # A server may answer (413) and close before reading an
                    # over-long body; the answer is still readable.
                    pass
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data,
                            resp.getheaders())
        finally:
            conn.close()

    def post_sdp(self, kind, room, sdp, token, content_type="application/sdp"):
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        return self.request("POST", "/%s/%s" % (kind, room), sdp, headers)

    def whip(self, room, sdp, token, **kw):
        return self.post_sdp("whip", room, sdp, token, **kw)

    def whep(self, room, sdp, token, **kw):
        return self.post_sdp("whep", room, sdp, token, **kw)

    def delete(self, location, token):
        return self.request("DELETE", location, None, {"Authorization": "Bearer " + token})

    def stats(self, admin_token):
        r = self.request("GET", "/api/stats", None, {"Authorization": "Bearer " + admin_token})
        if r.status != 200:
            raise AssertionError("GET /api/stats: %r" % r)
        return r.json()

    def health(self):
        return self.request("GET", "/api/health", timeout=5.0)


def wait_for(pred, timeout, interval=0.1):
    """pred()'s first truthy value within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return None


# -- stats ------------------------------------------------------------------

def find_counter(stats, name):
    """/api/stats nests the media plane's counters somewhere (the protocol
    does not fix where): find the first numeric field called `name`."""
    if isinstance(stats, dict):
        v = stats.get(name)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
        for sub in stats.values():
            found = find_counter(sub, name)
            if found is not None:
                return found
    elif isinstance(stats, list):
        for sub in stats:
            found = find_counter(sub, name)
            if found is not None:
                return found
    return None


def counter(stats, name):
    v = find_counter(stats, name)
    if v is None:
        raise AssertionError("/api/stats has no counter %r: %s" % (name, json.dumps(stats)[:2000]))
    return v


# -- SDP --------------------------------------------------------------------

def sdp_candidates(sdp):
    """(ip, port) of every host UDP candidate in an SDP."""
    out = []
    for line in sdp.splitlines():
        m = re.match(r"a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host", line, re.I)
        if m:
            out.append((m.group(1), int(m.group(2))))
    return out


def sdp_attr(sdp, name):
    for line in sdp.splitlines():
        if line.startswith("a=%s:" % name):
            return line.split(":", 1)[1].strip()
    return None


# -- JWT (for forged tokens) -------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_signature(key, signing_input):
    return b64url(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


def jwt_make(claims, key=None, alg="HS256", signature=None):
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    si = head + "." + body
    if signature is None:
        signature = jwt_signature(key, si) if key is not None else ""
    return si + "." + signature


def jwt_claims(token):
    return json.loads(b64url_decode(token.split(".")[1]))

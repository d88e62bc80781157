"""A small blocking RFC 6455 client for the signalling tests.

Debian's Python here has neither aiohttp nor websockets, so this speaks the
protocol over a raw socket: client frames are masked (RFC 6455 5.3), text
messages may arrive fragmented, pings are answered.  Enough to drive /ws;
not a general-purpose library.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WsClosed(Exception):
    pass


class WsClient:
    def __init__(self, host, port, path="/ws", timeout=10.0, source=None):
        """source: the local address to connect from (another loopback
        address, say), else the kernel's choice."""
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""
        self.closed = False
        try:
            self._handshake(host, port, path)
        except BaseException:
            self.sock.close()
            raise

    def _handshake(self, host, port, path):
        key = base64.b64encode(os.urandom(16))
        req = (b"GET " + path.encode() + b" HTTP/1.1\r\n"
               b"Host: " + ("%s:%d" % (host, port)).encode() + b"\r\n"
               b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: " + key + b"\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req)
        head = self._read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise ConnectionError("WebSocket upgrade refused: %r" % head[:500])
        headers = {}
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise ConnectionError("bad Sec-WebSocket-Accept: %r" % headers)

    def _read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WsClosed("connection closed during handshake")
            self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                self.closed = True
                raise WsClosed("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload, fin=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        # XOR via int arithmetic: fast enough for the ~100 KiB test messages.
        reps = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(reps, "big")).to_bytes(n, "big") if n else b""
        self.sock.sendall(head + mask + masked)

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode("utf-8") if isinstance(text, str) else text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def _read_frame(self):
        b0, b1 = self._read_exact(2)
        fin, opcode = bool(b0 & 0x80), b0 & 0x0F
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        mask = self._read_exact(4) if b1 & 0x80 else None
        data = self._read_exact(n)
        if mask:
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
        return fin, opcode, data

    def recv_text(self, timeout=10.0):
        """Next complete text message, or raises socket.timeout / WsClosed."""
        deadline = time.monotonic() + timeout
        parts = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no WebSocket message within %.1f s" % timeout)
            self.sock.settimeout(left)
            fin, opcode, data = self._read_frame()
            if opcode == OP_PING:
                self.send_frame(OP_PONG, data)
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                self.closed = True
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                raise WsClosed("server closed the WebSocket (code %r, %r)" % (code, data[2:]))
            parts.append(data)
            if fin:
                return b"".join(parts).decode("utf-8")

    def recv_json(self, timeout=10.0):
        return json.loads(self.recv_text(timeout))

    def recv_type(self, types, timeout=10.0):
        """Skip notifications (viewers, publisher_joined, ...) until a message
        whose type is in `types` arrives; returns it."""
        if isinstance(types, str):
            types = (types,)
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv_json(max(0.01, deadline - time.monotonic()))
            if msg.get("type") in types:
                return msg

    def request(self, obj, want=("error",), timeout=10.0):
        """Send obj (with an id) and return the reply that carries it back
        as `re`, or the first message of a type in `want`."""
        self.send_json(obj)
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv_json(max(0.01, deadline - time.monotonic()))
            if "id" in obj and msg.get("re") == obj["id"]:
                return msg
            if msg.get("type") in want and "re" not in msg:
                return msg

    def close(self):
        if not self.closed:
            try:
                self.send_frame(OP_CLOSE, struct.pack("!H", 1000))
            except OSError:
                pass
        self.closed = True
        self.sock.close()


class ThreadedWs:
    """A /ws client with a reader thread: requests by id, an inbox of the rest."""

    def __init__(self, server, token):
        self.c = WsClient("127.0.0.1", server.port)
        self.inbox = []
        self.replies = {}
        self.lock = threading.Lock()
        self.next_id = 1
        self.stop = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self.joined = self.request({"type": "join", "token": token})

    def _read(self):
        while not self.stop:
            try:
                m = self.c.recv_json(timeout=0.5)
            except TimeoutError:
                continue
            except Exception:
                return
            with self.lock:
                if "re" in m:
                    self.replies[m["re"]] = m
                else:
                    self.inbox.append(m)

    def request(self, msg, timeout=20.0):
        with self.lock:
            i = self.next_id
            self.next_id += 1
        self.c.send_json(dict(msg, id=i))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if i in self.replies:
                    return self.replies.pop(i)
            time.sleep(0.02)
        raise AssertionError("no reply to %r" % msg)

    def of_type(self, t):
        with self.lock:
            return [m for m in self.inbox if m.get("type") == t]

    def close(self):
        self.stop = True
        self.c.close()

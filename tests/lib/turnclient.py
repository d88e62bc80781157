"""A small TURN client (RFC 5766 over UDP, long-term credentials of RFC
5389 section 10.2) for the suites that check what coturn lets a holder of a
credential do: Allocate, CreatePermission, ChannelBind, Send and Data
indications, Refresh.  Only the standard library; the STUN framing is
tests/lib/rawstun.py's."""

import hashlib
import os
import socket
import struct

import rawstun
from rawstun import COOKIE, attr, header

ALLOCATE = 0x0003
REFRESH = 0x0004
SEND = 0x0016
DATA_IND = 0x0017
CREATE_PERMISSION = 0x0008
CHANNEL_BIND = 0x0009
SUCCESS = 0x0100
ERROR = 0x0110

CHANNEL_NUMBER = 0x000C
LIFETIME = 0x000D
XOR_PEER_ADDRESS = 0x0012
DATA = 0x0013
REALM = 0x0014
NONCE = 0x0015
XOR_RELAYED_ADDRESS = 0x0016
REQUESTED_TRANSPORT = 0x0019
ERROR_CODE = 0x0009


class TurnError(Exception):
    """A TURN error response: code (e.g. 403) and reason phrase."""

    def __init__(self, method, code, reason):
        super().__init__("%s: %d %s" % (method, code, reason))
        self.code = code
        self.reason = reason


def xor_address(ip, port):
    """XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS value for an IPv4 address."""
    raw = struct.unpack("!I", socket.inet_aton(ip))[0]
    return struct.pack("!BBHI", 0, 1, port ^ (COOKIE >> 16), raw ^ COOKIE)


def error_code(value):
    code = (value[2] & 0x07) * 100 + value[3]
    return code, value[4:].decode("utf-8", "replace")


class TurnClient:
    """One allocation's client: a UDP socket talking to server (ip, port)."""

    def __init__(self, server, username, password, timeout=5.0):
        self.server = server
        self.username = username.encode()
        self.password = password.encode()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)
        self.sock.connect(server)
        self.realm = None
        self.nonce = None
        self.key = None
        self.received = []      # ((peer ip, port), data) relayed to us, not yet taken
        self.channels = {}      # channel number -> (peer ip, port)

    def close(self):
        self.sock.close()

    def _message(self, method, attrs, auth=True):
        txid = os.urandom(12)
        if auth and self.nonce is not None:
            attrs = attrs + [attr(rawstun.USERNAME, self.username), attr(REALM, self.realm),
                             attr(NONCE, self.nonce)]
            body = rawstun._with_integrity(method, txid, attrs, self.key)
        else:
            body = b"".join(attrs)
        body = rawstun._with_fingerprint(method, txid, body)
        return txid, header(method, len(body), txid) + body

    def _read(self):
        """One datagram: a STUN response (type, txid, attrs), or None when it
        was relayed data (a Data indication, ChannelData), kept for
        receive(), or not STUN."""
        msg = self.sock.recv(65536)
        if len(msg) >= 4 and msg[0] & 0xC0 == 0x40:  # ChannelData
            channel, length = struct.unpack("!HH", msg[:4])
            if channel in self.channels:
                self.received.append((self.channels[channel], msg[4:4 + length]))
            return None
        got = rawstun.parse(msg)
        if got and got[0] == DATA_IND:
            self.received.append((rawstun.xor_mapped(got[2][XOR_PEER_ADDRESS]), got[2][DATA]))
            return None
        return got

    def _wait(self, txid):
        while True:
            got = self._read()
            if got and got[1] == txid:
                return got[0], got[2]

    def request(self, method, attrs, name):
        """Send a request (authenticating as the server asks: a 401 or a
        438 stale nonce gives the realm and nonce to retry with) and return
        the success response's attributes; a TurnError otherwise."""
        for _ in range(3):
            txid, msg = self._message(method, attrs)
            self.sock.send(msg)
            mtype, rattrs = self._wait(txid)
            if mtype == method | SUCCESS:
                return rattrs
            if mtype != method | ERROR or ERROR_CODE not in rattrs:
                raise AssertionError("%s: unexpected response type %#06x" % (name, mtype))
            code, reason = error_code(rattrs[ERROR_CODE])
            if code in (401, 438) and NONCE in rattrs:
                self.realm = rattrs.get(REALM, self.realm)
                self.nonce = rattrs[NONCE]
                self.key = hashlib.md5(self.username + b":" + self.realm + b":"
                                       + self.password).digest()
                continue
            raise TurnError(name, code, reason)
        raise TurnError(name, code, reason)

    def allocate(self):
        """The relayed address (ip, port) of a new UDP allocation."""
        a = self.request(ALLOCATE, [attr(REQUESTED_TRANSPORT, struct.pack("!B3x", 17))],
                         "Allocate")
        return rawstun.xor_mapped(a[XOR_RELAYED_ADDRESS])

    def create_permission(self, ip):
        self.request(CREATE_PERMISSION, [attr(XOR_PEER_ADDRESS, xor_address(ip, 0))],
                     "CreatePermission %s" % ip)

    def channel_bind(self, channel, ip, port):
        self.request(CHANNEL_BIND, [attr(CHANNEL_NUMBER, struct.pack("!HH", channel, 0)),
                                    attr(XOR_PEER_ADDRESS, xor_address(ip, port))],
                     "ChannelBind %s:%d" % (ip, port))
        self.channels[channel] = (ip, port)

    def send(self, ip, port, data):
        """A Send indication: data for the peer, from the relayed address."""
        _, msg = self._message(SEND, [attr(XOR_PEER_ADDRESS, xor_address(ip, port)),
                                      attr(DATA, data)], auth=False)
        self.sock.send(msg)

    def receive(self):
        """The next data relayed from a peer (a Data indication, or
        ChannelData on a bound channel): ((peer ip, port), data)."""
        while not self.received:
            self._read()
        return self.received.pop(0)

    def release(self):
        """Refresh with lifetime 0: the allocation ends now."""
        self.request(REFRESH, [attr(LIFETIME, struct.pack("!I", 0))], "Refresh")

"""Hand-built STUN (RFC 5389 / 8445) and DTLS records for the bad-input
suite.  A valid Binding request is built first and checked against the
server; every malformed variant then differs from it in one named way, so a
refusal can only come from that defect."""

import binascii
import hashlib
import hmac
import os
import socket
import struct

COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101

USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
XOR_MAPPED_ADDRESS = 0x0020
PRIORITY = 0x0024
USE_CANDIDATE = 0x0025
FINGERPRINT = 0x8028
ICE_CONTROLLING = 0x802A


def attr(atype, value, declared_len=None):
    n = len(value) if declared_len is None else declared_len
    return struct.pack("!HH", atype, n) + value + b"\0" * (-len(value) % 4)


def header(mtype, body_len, txid, cookie=COOKIE):
    return struct.pack("!HHI", mtype, body_len, cookie) + txid


def _with_integrity(msg_type, txid, attrs, key, bad_mi=False):
    """Append MESSAGE-INTEGRITY (HMAC-SHA1 over the message with the length
    field already counting MI, RFC 5389 15.4)."""
    body = b"".join(attrs)
    head = header(msg_type, len(body) + 24, txid)
    mac = hmac.new(key, head + body, hashlib.sha1).digest()
    if bad_mi:
        mac = bytes(b ^ 0x5A for b in mac)
    return body + attr(MESSAGE_INTEGRITY, mac)


def _with_fingerprint(msg_type, txid, body, bad_fp=False):
    head = header(msg_type, len(body) + 8, txid)
    crc = (binascii.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
    if bad_fp:
        crc ^= 0xFFFF
    return body + attr(FINGERPRINT, struct.pack("!I", crc))


def binding_request(server_ufrag, server_pwd, client_ufrag="abcd", txid=None,
                    use_candidate=False, bad_mi=False, bad_fp=False, after_mi=None,
                    fingerprint=True):
    """An ICE connectivity check as a controlling agent would send it."""
    txid = txid or os.urandom(12)
    attrs = [attr(USERNAME, ("%s:%s" % (server_ufrag, client_ufrag)).encode()),
             attr(PRIORITY, struct.pack("!I", 0x6E7F1EFF)),
             attr(ICE_CONTROLLING, os.urandom(8))]
    if use_candidate:
        attrs.append(attr(USE_CANDIDATE, b""))
    body = _with_integrity(BINDING_REQUEST, txid, attrs, server_pwd.encode(), bad_mi)
    if after_mi is not None:
        body += after_mi
    if fingerprint:
        body = _with_fingerprint(BINDING_REQUEST, txid, body, bad_fp)
    return header(BINDING_REQUEST, len(body), txid) + body


def parse(msg):
    """(type, txid, {attr type: value}) or None when not STUN."""
    if len(msg) < 20:
        return None
    mtype, length, cookie = struct.unpack("!HHI", msg[:8])
    if cookie != COOKIE or 20 + length > len(msg):
        return None
    attrs = {}
    pos = 20
    while pos + 4 <= 20 + length:
        atype, alen = struct.unpack("!HH", msg[pos:pos + 4])
        attrs[atype] = msg[pos + 4:pos + 4 + alen]
        pos += 4 + alen + (-alen % 4)
    return mtype, msg[8:20], attrs


def xor_mapped(value):
    family, xport = struct.unpack("!xBH", value[:4])
    port = xport ^ (COOKIE >> 16)
    ip = struct.unpack("!I", value[4:8])[0] ^ COOKIE
    return socket.inet_ntoa(struct.pack("!I", ip)), port


def malformed_stun(server_ufrag, server_pwd):
    """(name, datagram) pairs, each a Binding request broken in one way.
    All are >= 20 bytes and start with 0x00 so they demux as STUN."""
    good = binding_request(server_ufrag, server_pwd)
    txid = os.urandom(12)
    user = attr(USERNAME, ("%s:abcd" % server_ufrag).encode())
    cases = []
    # An attribute whose length runs past the end of the message.
    body = struct.pack("!HH", USERNAME, 400) + b"ab:c"
    cases.append(("attr-length-overrun", header(BINDING_REQUEST, len(body), txid) + body))
    # The header's length claims more than the datagram holds.
    cases.append(("msg-length-overrun",
                  header(BINDING_REQUEST, len(good) - 20 + 64, txid) + good[20:]))
    # Message length not a multiple of 4.
    cases.append(("msg-length-unaligned",
                  header(BINDING_REQUEST, len(good) - 20 - 3, txid) + good[20:-3]))
    # Wrong magic cookie.
    cases.append(("bad-cookie", header(BINDING_REQUEST, len(good) - 20, txid, 0xDEADBEEF)
                  + good[20:]))
    # Something other than FINGERPRINT after MESSAGE-INTEGRITY.
    cases.append(("attr-after-integrity",
                  binding_request(server_ufrag, server_pwd,
                                  after_mi=attr(PRIORITY, struct.pack("!I", 1)))))
    cases.append(("bad-fingerprint", binding_request(server_ufrag, server_pwd, bad_fp=True)))
    cases.append(("bad-integrity", binding_request(server_ufrag, server_pwd, bad_mi=True)))
    cases.append(("unknown-ufrag", binding_request("zzzzzzzzunknown", server_pwd)))
    # MESSAGE-INTEGRITY of 16 bytes instead of 20.
    body = user + attr(MESSAGE_INTEGRITY, os.urandom(16))
    cases.append(("short-integrity", header(BINDING_REQUEST, len(body), txid) + body))
    # Zero-length USERNAME with integrity.
    body = _with_integrity(BINDING_REQUEST, txid, [attr(USERNAME, b"")], server_pwd.encode())
    cases.append(("empty-username", header(BINDING_REQUEST, len(body), txid) + body))
    return cases


# -- DTLS (RFC 6347) ------------------------------------------------------------

def dtls_record(content_type, payload, epoch=0, seq=0, version=0xFEFD):
    return (struct.pack("!BHH", content_type, version, epoch) + seq.to_bytes(6, "big")
            + struct.pack("!H", len(payload)) + payload)


def dtls_handshake(msg_type, body, msg_seq=0, frag_offset=0, frag_len=None, total_len=None):
    total = len(body) if total_len is None else total_len
    flen = len(body) if frag_len is None else frag_len
    return (struct.pack("!B", msg_type) + total.to_bytes(3, "big")
            + struct.pack("!H", msg_seq) + frag_offset.to_bytes(3, "big")
            + flen.to_bytes(3, "big") + body)


def client_hello(seq=0):
    """A plausible DTLS 1.2 ClientHello offering use_srtp."""
    body = struct.pack("!H", 0xFEFD) + os.urandom(32)
    body += b"\x00"                      # session id
    body += b"\x00"                      # cookie
    suites = [0xC02B, 0xC02F, 0xC00A]
    body += struct.pack("!H", 2 * len(suites)) + b"".join(struct.pack("!H", s) for s in suites)
    body += b"\x01\x00"                  # compression: null
    srtp = struct.pack("!H", 4) + struct.pack("!HH", 0x0001, 0x0007) + b"\x00"
    exts = struct.pack("!HH", 0x000E, len(srtp)) + srtp
    exts += struct.pack("!HH", 0x000A, 4) + struct.pack("!HH", 2, 23)   # groups: P-256
    body += struct.pack("!H", len(exts)) + exts
    return dtls_record(22, dtls_handshake(1, body), seq=seq)


def zero_length_fragment(seq=0):
    """A handshake record whose fragment carries no bytes of a message that
    claims 300 (the zero-length fragment case of RELIABILITY 13)."""
    return dtls_record(22, dtls_handshake(1, b"", frag_len=0, total_len=300), seq=seq)

"""Bad datagrams at the media port (RELIABILITY 9, 12, 13) while an aiortc
publisher and viewer keep a session flowing.  Each attack must be dropped,
counted in /api/stats under its cause, and must not disturb the good viewer.
Run by tests/badinput/run inside a network namespace with only loopback."""

import asyncio
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import stagecast  # noqa: E402
import rawstun  # noqa: E402
import rtc  # noqa: E402
import wsclient  # noqa: E402
from aiortc import RTCPeerConnection  # noqa: E402

SERVER = None
# Deadlines, not durations: every wait below ends as soon as its condition
# holds, so these only bound how long a failure takes to be reported.  They
# are generous because CI machines are 2-core, sometimes busy, and one run
# has `stress-ng --cpu 1` beside it (issue 13).
MEDIA_TIMEOUT = 30.0
CONNECT_TIMEOUT = 30.0
# How long the workers get to read and count what a test sent them.
COUNT_TIMEOUT = 20.0
# A valid Binding request is retried (each is answered) for this long.
BINDING_TIMEOUT = 10.0
# Floods go out in chunks of this many datagrams per port, each chunk sent
# once the workers have counted the previous ones: a few dozen small
# datagrams fit any socket's receive buffer (the control socket asks for
# 1 MB, which net.core.rmem_max may cap at ~200 KB, and each queued datagram
# costs its truesize, ~1-2 KB), so nothing is lost to the kernel and every
# datagram must show up in its drop counter.
FLOOD_CHUNK = 40


def setUpModule():
    global SERVER
    SERVER = stagecast.Server(workers=2).start()


def tearDownModule():
    SERVER.stop_checked()


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def drain(sock, wait=0.3):
    """Every datagram that arrives within `wait` seconds.  Used only after
    the server has provably handled what was sent (its counters rose), so a
    reply it made is already queued on `sock`: the wait is a grace period
    for a negative check, never what a positive assertion relies on."""
    got = []
    sock.settimeout(wait)
    try:
        while True:
            got.append(sock.recvfrom(65536)[0])
    except socket.timeout:
        pass
    return got


class Quiet(unittest.IsolatedAsyncioTestCase):
    """IsolatedAsyncioTestCase runs its loop in debug mode, which floods the
    output with slow-callback notes from aiortc's codecs."""

    def _setupAsyncioRunner(self):
        super()._setupAsyncioRunner()
        self._asyncioRunner.get_loop().set_debug(False)


class MediaPlaneAttack(Quiet):
    """Each test starts a fresh good publisher + viewer in its own room."""

    room_seq = 0

    async def asyncSetUp(self):
        MediaPlaneAttack.room_seq += 1
        self.room = "bad-media-%d" % MediaPlaneAttack.room_seq
        self.server = SERVER
        self.admin = SERVER.admin_token()
        self.pcs = []
        pub, presp = await rtc.publish(SERVER, self.room, SERVER.token(self.room, "presenter"))
        self.pcs.append(pub)
        self.assertEqual(presp.status, 201, "%r\n%s" % (presp, SERVER.log_tail()))
        viewer, vresp, self.counter = await rtc.view(SERVER, self.room,
                                                     SERVER.token(self.room, "viewer"))
        self.pcs.append(viewer)
        self.assertEqual(vresp.status, 201, "%r\n%s" % (vresp, SERVER.log_tail()))
        self.viewer_answer = vresp.body.decode()
        self.publisher_answer = presp.body.decode()
        ok = await self.counter.wait_for(video=30, audio=50, timeout=MEDIA_TIMEOUT)
        self.assertTrue(ok, "good session never flowed: %d video / %d audio frames"
                        % (self.counter.video, self.counter.audio))
        # Every port a worker listens on, plus the ones the answers name.
        ports = {SERVER.udp_port + i for i in range(SERVER.workers)}
        for sdp in (self.viewer_answer, self.publisher_answer):
            ports.update(p for _, p in stagecast.sdp_candidates(sdp))
        self.ports = sorted(ports)

    async def asyncTearDown(self):
        self.counter.cancel()
        for pc in self.pcs:
            await pc.close()

    def stats(self):
        return SERVER.stats(self.admin)

    async def astats(self):
        """/api/stats without blocking the event loop the aiortc peers run on."""
        return await asyncio.to_thread(self.stats)

    @staticmethod
    def delta(after, before, names):
        """The rise of the sum of the counters `names` (a name or a tuple)."""
        if isinstance(names, str):
            names = (names,)
        return sum(stagecast.counter(after, n) - stagecast.counter(before, n) for n in names)

    async def wait_counted(self, before, targets, timeout=COUNT_TIMEOUT):
        """Polls /api/stats until each counter (or tuple of counters, summed)
        in `targets` rose by at least its target since `before`, or until
        `timeout`.  Counters only rise, so this ends as soon as the server
        has handled everything.  Returns (ok, {names: rise}, stats)."""
        deadline = time.monotonic() + timeout
        while True:
            s = await self.astats()
            rises = {n: self.delta(s, before, n) for n in targets}
            ok = all(rises[n] >= t for n, t in targets.items())
            if ok or time.monotonic() >= deadline:
                return ok, rises, s
            await asyncio.sleep(0.1)

    async def assert_counted(self, before, name, at_least, what, timeout=COUNT_TIMEOUT):
        ok, rises, s = await self.wait_counted(before, {name: at_least}, timeout)
        delta = rises[name]
        self.assertGreaterEqual(delta, at_least, "%s: %s rose by %d within %.0f s, expected "
                                ">= %d (socket drops: control +%d, media +%d)"
                                % (what, name, delta, timeout, at_least,
                                   self.delta(s, before, "socket_drops_control"),
                                   self.delta(s, before, "socket_drops_media")))
        print("\n  %s: %s +%d (sent %d)" % (what, name, delta, at_least), file=sys.stderr)

    async def send_paced(self, sock, datagrams, before, name, already=0):
        """Sends every datagram to every port, FLOOD_CHUNK at a time, each
        chunk once `name` has counted all sent so far (`already` of them
        before this call).  Returns the number of datagrams sent.  If the
        count falls behind for COUNT_TIMEOUT the rest goes out unpaced: the
        caller's assertion then reports the shortfall."""
        sent = already
        paced = True
        for i in range(0, len(datagrams), FLOOD_CHUNK):
            if sent and paced:
                paced, _, _ = await self.wait_counted(before, {name: sent})
            sent += self.send_all(sock, datagrams[i:i + FLOOD_CHUNK])
        return sent

    async def assert_still_serving(self):
        v = self.counter.video
        ok = await self.counter.wait_for(video=v + 30, timeout=MEDIA_TIMEOUT)
        self.assertTrue(ok, "good viewer stalled after the attack: %d -> %d video frames"
                        % (v, self.counter.video))
        self.assertEqual((await asyncio.to_thread(SERVER.health)).status, 200)
        self.assertTrue(SERVER.alive(), SERVER.log_tail())

    def send_all(self, sock, datagrams):
        for d in datagrams:
            for port in self.ports:
                sock.sendto(d, ("127.0.0.1", port))
        return len(datagrams) * len(self.ports)

    async def test_malformed_stun(self):
        ufrag = stagecast.sdp_attr(self.viewer_answer, "ice-ufrag")
        pwd = stagecast.sdp_attr(self.viewer_answer, "ice-pwd")
        self.assertTrue(ufrag and pwd, self.viewer_answer)
        cases = rawstun.malformed_stun(ufrag, pwd)
        before = await self.astats()
        sock = udp_socket()
        try:
            sent = self.send_all(sock, [d for _, d in cases])
            # Once all are counted the server is done with them: any answer
            # it made is already on its way to `sock`.
            await self.wait_counted(before, {"drop_stun_invalid": sent})
            replies = await asyncio.to_thread(drain, sock, 0.3)
        finally:
            sock.close()
        for r in replies:
            p = rawstun.parse(r)
            self.assertFalse(p and p[0] == rawstun.BINDING_SUCCESS,
                             "a malformed Binding request was answered with success")
        await self.assert_counted(before, "drop_stun_invalid", sent,
                                  "malformed STUN (%s)" % ", ".join(n for n, _ in cases))
        await self.assert_still_serving()

    async def test_unbound_sources(self):
        """DTLS, RTP, RTCP and junk from addresses no STUN check validated."""
        datagrams = [
            rawstun.client_hello(),
            rawstun.zero_length_fragment(),
            # RTP: version 2, PT 96, then junk.
            b"\x80\x60\x00\x01" + b"\x00\x00\x10\x00" + b"\x12\x34\x56\x78" + os.urandom(160),
            # RTCP SR with a length field far larger than the datagram.
            b"\x80\xc8\xff\xff" + os.urandom(24),
            # RTCP RR with report count 31 and length 0.
            b"\x9f\xc9\x00\x00" + os.urandom(8),
            # Bytes that demux as nothing (RFC 7983 leaves 192..255 unused).
            b"\xff" + os.urandom(99),
        ]
        before = await self.astats()
        sock = udp_socket()
        try:
            sent = self.send_all(sock, datagrams)
            # A DTLS handshake flood from the same unvalidated address:
            # 200 ClientHellos per port, paced in chunks (FLOOD_CHUNK) so the
            # kernel never drops any and each must be counted.
            sent = await self.send_paced(sock, [rawstun.client_hello(seq=i + 1)
                                                for i in range(200)],
                                         before, "drop_unknown_source", sent)
            await self.wait_counted(before, {"drop_unknown_source": sent})
            replies = await asyncio.to_thread(drain, sock, 0.3)
        finally:
            sock.close()
        self.assertEqual(replies, [], "the server answered an unvalidated address")
        await self.assert_counted(before, "drop_unknown_source", sent,
                                  "unbound DTLS/RTP/RTCP/junk")
        await self.assert_still_serving()

    async def test_oversize(self):
        datagrams = [b"\x80\x60" + os.urandom(1598),   # RTP-looking, 1600 bytes
                     b"\x00\x01" + os.urandom(3998),   # STUN-looking, 4000 bytes
                     b"\x16\xfe\xfd" + os.urandom(8997),  # DTLS-looking, 9000 bytes
                     os.urandom(60000)]
        before = await self.astats()
        sock = udp_socket()
        try:
            sent = self.send_all(sock, datagrams)
        finally:
            sock.close()
        await self.assert_counted(before, "drop_oversize", sent, "datagrams over 1500 bytes")
        await self.assert_still_serving()

    async def test_validated_address_bad_dtls(self):
        """An attacker that completes ICE for a session of its own (it knows
        its own credentials) then sends zero-length handshake fragments and a
        ClientHello flood: its session may fail, nobody else's may."""
        offer = await rtc.recvonly_offer()
        vtok = SERVER.token(self.room, "viewer")
        resp = await asyncio.to_thread(SERVER.whep, self.room, offer, vtok)
        self.assertEqual(resp.status, 201, resp)
        answer = resp.body.decode()
        ufrag = stagecast.sdp_attr(answer, "ice-ufrag")
        pwd = stagecast.sdp_attr(answer, "ice-pwd")
        client_ufrag = stagecast.sdp_attr(offer, "ice-ufrag")
        ip, port = stagecast.sdp_candidates(answer)[0]

        before = await self.astats()
        sock = udp_socket()
        try:
            # A correct check must be answered: this proves rawstun builds
            # what the malformed cases are derived from.  Like an ICE agent,
            # retransmit until answered (each check is answered on its own).
            txids = set()
            ok = []
            replies = []
            deadline = time.monotonic() + BINDING_TIMEOUT
            while not ok and time.monotonic() < deadline:
                req = rawstun.binding_request(ufrag, pwd, client_ufrag, use_candidate=True)
                txids.add(req[8:20])
                sock.sendto(req, (ip, port))
                got = await asyncio.to_thread(drain, sock, 0.5)
                replies += got
                answers = [rawstun.parse(r) for r in got]
                ok = [a for a in answers if a and a[0] == rawstun.BINDING_SUCCESS
                      and a[1] in txids]
            self.assertTrue(ok, "no Binding success for a valid check within %.0f s (%d sent): "
                            "%r" % (BINDING_TIMEOUT, len(txids), replies[:3]))
            mapped = rawstun.xor_mapped(ok[0][2][rawstun.XOR_MAPPED_ADDRESS])
            self.assertEqual(mapped, sock.getsockname())

            for i in range(50):
                sock.sendto(rawstun.zero_length_fragment(seq=i), (ip, port))
            for i in range(300):
                sock.sendto(rawstun.client_hello(seq=100 + i), (ip, port))
            # Some of the 350 hostile records must be refused (drop_dtls) or
            # fail the handshake (dtls_failed); wait until that is counted.
            _, _, after = await self.wait_counted(before, {("drop_dtls", "dtls_failed"): 1})
        finally:
            sock.close()
        print("\n  validated attacker: drop_dtls +%d, dtls_failed +%d, sessions %d -> %d"
              % tuple([stagecast.counter(after, n) - stagecast.counter(before, n)
                       for n in ("drop_dtls", "dtls_failed")]
                      + [stagecast.counter(before, "sessions"),
                         stagecast.counter(after, "sessions")]), file=sys.stderr)
        # 350 hostile records cannot all vanish: refused records count in
        # drop_dtls, or the handshake fails and dtls_failed counts it.
        self.assertGreater(stagecast.counter(after, "drop_dtls") + stagecast.counter(after, "dtls_failed"),
                           stagecast.counter(before, "drop_dtls") + stagecast.counter(before, "dtls_failed"))
        r = await asyncio.to_thread(SERVER.delete, resp.headers["location"], vtok)
        # The session may already have been closed for its DTLS failure.
        self.assertIn(r.status, (200, 404), r)
        await self.assert_still_serving()

    async def test_malformed_rtp_rtcp_inside_srtp(self):
        """RELIABILITY 1-11 need a peer that holds SRTP keys: a second aiortc
        publisher (stage slot 1) with trackless senders, so its SSRCs and
        sequence space are ours, pushes hand-made RTP/RTCP through its real
        SRTP session."""
        tok = SERVER.token(self.room, "cohost", name="Mallory")
        pc = RTCPeerConnection()
        self.pcs.append(pc)
        pc.addTransceiver("audio", direction="sendonly")
        pc.addTransceiver("video", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        resp = await asyncio.to_thread(SERVER.whip, self.room, pc.localDescription.sdp, tok)
        self.assertEqual(resp.status, 201, resp)
        from aiortc import RTCSessionDescription
        await pc.setRemoteDescription(RTCSessionDescription(sdp=resp.body.decode(),
                                                            type="answer"))
        self.assertTrue(await rtc.wait_connected(pc, CONNECT_TIMEOUT), pc.connectionState)
        video = pc.getTransceivers()[1].sender
        transport = video.transport
        ssrc, rtx_ssrc = video._ssrc, video._rtx_ssrc
        vp8_pt = rtx_pt = None
        for line in resp.body.decode().splitlines():
            if line.startswith("a=rtpmap:") and "VP8/90000" in line:
                vp8_pt = int(line[9:].split()[0])
        for line in resp.body.decode().splitlines():
            if line.startswith("a=fmtp:") and ("apt=%d" % vp8_pt) in line:
                rtx_pt = int(line[7:].split()[0])
        self.assertIsNotNone(vp8_pt, resp.body)
        seq = [1000]

        def rtp(payload, pt=None, s=None, flags=0x80, ext=b"", pad=None, marker=0):
            seq[0] = (seq[0] + 1) & 0xFFFF
            head = struct.pack("!BBHII", flags, (marker << 7) | (pt or vp8_pt), seq[0],
                               90 * seq[0], s or ssrc) + ext
            return head + payload + (pad or b"")

        vp8_key = b"\x90\x80\x00\x01" + b"\x10\x02\x00\x9d\x01\x2a" + os.urandom(40)
        malformed_rtp = [
            # Padding bit with a pad length of 0, then one larger than the payload.
            rtp(b"\x10" + os.urandom(20), flags=0xA0, pad=b"\x00"),
            rtp(b"\x10" + os.urandom(20), flags=0xA0, pad=b"\x00\x00\xff"),
            # Padding bit on a packet that is nothing but the header.
            rtp(b"", flags=0xA0),
            # One-byte header extension whose element claims 16 bytes of a 4-byte block.
            rtp(b"\x10" + os.urandom(20), flags=0x90,
                ext=struct.pack("!HH", 0xBEDE, 1) + b"\x1f\x00\x00\x00"),
            # Two-byte header extension whose element length runs past the block.
            rtp(b"\x10" + os.urandom(20), flags=0x90,
                ext=struct.pack("!HH", 0x1000, 1) + b"\x01\xff\x00\x00"),
        ]
        other = [
            # Truncated VP8 payload descriptors.
            rtp(b"\x81\x81\x94"), rtp(b"\x90"), rtp(b"\x80\x80"), rtp(b""),
            # RTX with payloads under 2 bytes.
            rtp(b"", pt=rtx_pt, s=rtx_ssrc), rtp(b"\x01", pt=rtx_pt, s=rtx_ssrc),
        ]
        rtcp = [
            ("second packet length 0",
             struct.pack("!BBHI", 0x80, 201, 1, ssrc) + struct.pack("!BBHI", 0x80, 200, 0, ssrc)),
            ("second packet length past the end",
             struct.pack("!BBHI", 0x80, 201, 1, ssrc) + struct.pack("!BBHI", 0x80, 200, 400, ssrc)),
            ("RR report count 31 with room for 1",
             struct.pack("!BBHI", 0x9F, 201, 7, ssrc) + os.urandom(24)),
            ("NACK length past the end",
             struct.pack("!BBHII", 0x81, 205, 40, ssrc, ssrc) + b"\x00\x01\xff\xff"),
            ("REMB num-ssrc 255 with room for 1",
             struct.pack("!BBHII", 0x8F, 206, 5, ssrc, 0) + b"REMB" + b"\xff\x00\x10\x00"
             + struct.pack("!I", ssrc)),
            ("transport-cc status count 65535, truncated chunks",
             struct.pack("!BBHII", 0x8F, 205, 5, ssrc, ssrc) + struct.pack("!HHI", 1, 0xFFFF, 0)
             + b"\x20\x01"),
            ("PLI shorter than its fixed part",
             struct.pack("!BBHI", 0x81, 206, 1, ssrc) + b"\x00\x00"),
            ("FIR with a truncated FCI",
             struct.pack("!BBHII", 0x84, 206, 3, ssrc, 0) + b"\x00\x00\x00\x00\x01"),
            ("APP length past the end",
             struct.pack("!BBHI", 0x80, 204, 100, ssrc) + b"name"),
        ]

        before = await self.astats()
        sent_rtp_bad = 0
        # A valid keyframe-looking packet first, so a stream exists.
        await transport._send_rtp(rtp(vp8_key, marker=1))
        for pkt in malformed_rtp:
            await transport._send_rtp(pkt)
            sent_rtp_bad += 1
        for pkt in other:
            await transport._send_rtp(pkt)
        # Sequence jumps and wrap-around.
        # (forward only: libsrtp refuses to protect an index it thinks is old)
        for jump in (30000, 30000, 10000, 1, 20000):
            seq[0] = (seq[0] + jump) & 0xFFFF
            await transport._send_rtp(rtp(b"\x10" + os.urandom(30)))
        # A flood of random SSRCs (one SRTP stream each, if nothing capped it),
        # paced in chunks so the media socket's buffer never overflows: each
        # chunk goes out once the previous ones are counted as dropped.
        flood0 = await self.astats()
        unknown = ("drop_unknown_ssrc", "drop_srtp")
        paced = True
        for i in range(300):
            if i and i % FLOOD_CHUNK == 0 and paced:
                paced, _, _ = await self.wait_counted(flood0, {unknown: i})
            await transport._send_rtp(rtp(b"\x10" + os.urandom(30), s=1 + i * 7919))
        # RTCP from the publisher side.
        # One at a time, so a failure names the compound that went uncounted:
        # each gets 10 s to show up (only a case that goes uncounted waits
        # that long).
        uncounted = []
        for name, pkt in rtcp:
            b0 = await self.astats()
            await transport._send_rtp(pkt)
            ok, _, _ = await self.wait_counted(b0, {"drop_rtcp_invalid": 1}, 10.0)
            if not ok:
                uncounted.append(name)
        # RELIABILITY 10 from the viewer side: NACK everything back to 65,535.
        vtransport = self.pcs[1].getTransceivers()[1].receiver.transport
        media_ssrc = 0
        nack = struct.pack("!BBHII", 0x81, 205, 2 + 16, 1, media_ssrc)
        nack += b"".join(struct.pack("!HH", (i * 17) & 0xFFFF, 0xFFFF) for i in range(16))
        await vtransport._send_rtp(nack)
        _, _, after = await self.wait_counted(before, {
            "drop_rtp_invalid": sent_rtp_bad, "drop_rtcp_invalid": len(rtcp),
            unknown: 300})
        d = {n: stagecast.counter(after, n) - stagecast.counter(before, n)
             for n in ("drop_rtp_invalid", "drop_rtcp_invalid", "drop_unknown_ssrc",
                       "drop_srtp")}
        print("\n  inside SRTP: %s" % d, file=sys.stderr)
        self.assertGreaterEqual(d["drop_rtp_invalid"], sent_rtp_bad, d)
        self.assertEqual(uncounted, [], "RTCP accepted or dropped uncounted "
                         "(expected drop_rtcp_invalid +1 each)")
        self.assertGreaterEqual(d["drop_rtcp_invalid"], len(rtcp), d)
        self.assertGreaterEqual(d["drop_unknown_ssrc"] + d["drop_srtp"], 300, d)
        await self.assert_still_serving()

    async def test_signalling_attacks_during_flow(self):
        """The signalling thread also drives the media plane's events: hostile
        HTTP and WebSocket input handled on it must not stall the flow."""
        room = self.room

        def burst():
            seen = []
            tok = SERVER.token(room, "presenter")
            seen.append(("413", SERVER.whip(room, "a" * (200 * 1024), tok).error_code()))
            seen.append(("10001 lines",
                         SERVER.whip(room, "v=0\r\n" + "a=x\r\n" * 10001, tok).error_code()))
            bad = tok.rsplit(".", 1)[0] + ".AAAA"
            seen.append(("bad signature", SERVER.whip(room, "v=0\r\n", bad).error_code()))
            ws = wsclient.WsClient("127.0.0.1", SERVER.port)
            try:
                ws.send_text("[" * 10000 + "]" * 10000)
                seen.append(("nested", ws.recv_type("error").get("code")))
                ws.send_text('{"type":"ping","pad":"%s"}' % ("x" * (100 * 1024)))
                seen.append(("ws too large", ws.recv_type("error").get("code")))
            finally:
                ws.close()
            return seen

        seen = []
        for _ in range(3):
            seen += await asyncio.to_thread(burst)
        self.assertEqual(sorted(set(seen)), sorted({
            ("413", "too-large"), ("10001 lines", "bad-sdp"),
            ("bad signature", "token-invalid"), ("nested", "bad-json"),
            ("ws too large", "too-large")}))
        await self.assert_still_serving()


if __name__ == "__main__":
    unittest.main()

"""aiortc peers for the interop and bad-input suites: a WHIP publisher with a
generated sine tone and a moving test pattern, and a WHEP viewer that counts
the frames it decodes.  aiortc is an independent WebRTC stack, so a viewer
that decodes frames proves ICE, DTLS-SRTP, RTP forwarding and VP8/Opus
framing all agree with someone other than ourselves."""

import asyncio
import fractions
import math
import time

import numpy
import av
import aioice.ice
import aiortc.rtp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack

# aioice leaves 127.0.0.1 out of its host candidates; the suites run in a
# namespace that has nothing but loopback, so offer exactly that address.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []


def _tolerant_extensions(get):
    """aiortc 1.4 keeps one header-extension map per BUNDLE transport, so
    when audio's id 2 is ssrc-audio-level and video's id 2 is abs-send-time
    (its own default offer) a 1-byte audio-level element fails to unpack as
    abs-send-time and kills the transport's receive loop.  Parse element by
    element and drop the ones that do not fit, as a conforming stack would."""
    def safe_get(self, profile, value):
        try:
            return get(self, profile, value)
        except Exception:
            pass
        merged = aiortc.rtp.HeaderExtensions()
        for x_id, x_value in aiortc.rtp.unpack_header_extensions(profile, value):
            one_profile, one = aiortc.rtp.pack_header_extensions([(x_id, x_value)])
            try:
                got = get(self, one_profile, one)
            except Exception:
                continue
            for field, v in vars(got).items():
                if v is not None:
                    setattr(merged, field, v)
        return merged
    return safe_get


aiortc.rtp.HeaderExtensionsMap.get = _tolerant_extensions(aiortc.rtp.HeaderExtensionsMap.get)

AUDIO_RATE = 48000
AUDIO_PTIME = 0.020


class SineTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms s16 mono frames, paced in real time."""
    kind = "audio"

    def __init__(self, freq=440.0, amplitude=8000):
        super().__init__()
        self.freq = freq
        self.amplitude = amplitude
        self._start = None
        self._ts = 0

    async def recv(self):
        samples = int(AUDIO_RATE * AUDIO_PTIME)
        if self._start is None:
            self._start = time.time()
        else:
            self._ts += samples
            wait = self._start + self._ts / AUDIO_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (numpy.arange(samples) + self._ts) / AUDIO_RATE
        pcm = (numpy.sin(2 * math.pi * self.freq * t) * self.amplitude).astype(numpy.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._ts
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


class PatternTrack(VideoStreamTrack):
    """320x240 frames at 30 fps with a bar that moves, so each frame differs
    and the encoder produces real inter frames."""

    def __init__(self, width=320, height=240):
        super().__init__()
        self.width, self.height = width, height
        self.n = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        img = numpy.zeros((self.height, self.width, 3), numpy.uint8)
        img[:, :, 1] = 64
        x = (self.n * 4) % self.width
        img[:, x:x + 16, :] = 255
        self.n += 1
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts = pts
        frame.time_base = time_base
        return frame


class FrameCounter:
    """Counts frames decoded from every remote track of a peer connection."""

    def __init__(self):
        self.video = 0
        self.audio = 0
        self.video_sizes = set()
        self.tasks = []

    def attach(self, pc):
        @pc.on("track")
        def on_track(track):
            self.tasks.append(asyncio.ensure_future(self._drain(track)))

    async def _drain(self, track):
        while True:
            try:
                frame = await track.recv()
            except Exception:  # MediaStreamError when the track ends
                return
            if track.kind == "video":
                self.video += 1
                self.video_sizes.add((frame.width, frame.height))
            else:
                self.audio += 1

    async def wait_for(self, video=0, audio=0, timeout=20.0):
        """True once at least the given counts were decoded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.video >= video and self.audio >= audio:
                return True
            await asyncio.sleep(0.1)
        return self.video >= video and self.audio >= audio

    def cancel(self):
        for t in self.tasks:
            t.cancel()


async def _negotiate(pc, post):
    """Offer (after gathering: aiortc does not trickle), POST it through
    `post(offer_sdp) -> Response` in a thread, apply the answer."""
    offer = await pc.createOffer()
    await pc.setLocalDescription(offer)
    resp = await asyncio.to_thread(post, pc.localDescription.sdp)
    if resp.status == 201:
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=resp.body.decode(), type="answer"))
    return resp


async def publish(server, room, token, audio=None):
    """A WHIP publisher (audio: a SineTrack, default a 440 Hz tone).  Returns
    (pc, response); the caller checks the response and closes pc."""
    pc = RTCPeerConnection()
    pc.addTransceiver(audio or SineTrack(), direction="sendonly")
    pc.addTransceiver(PatternTrack(), direction="sendonly")
    resp = await _negotiate(pc, lambda sdp: server.whip(room, sdp, token))
    return pc, resp


async def view(server, room, token, pairs=1):
    """A WHEP viewer with `pairs` recvonly audio+video pairs.  Returns
    (pc, response, counter)."""
    pc = RTCPeerConnection()
    counter = FrameCounter()
    counter.attach(pc)
    for _ in range(pairs):
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
    resp = await _negotiate(pc, lambda sdp: server.whep(room, sdp, token))
    return pc, resp, counter


async def recvonly_offer(pairs=1):
    """A viewer's offer (`pairs` recvonly audio+video pairs) from a peer that
    is closed at once: for requests that only need a real offer."""
    pc = RTCPeerConnection()
    for _ in range(pairs):
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def wait_connected(pc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pc.connectionState == "connected":
            return True
        if pc.connectionState in ("failed", "closed"):
            return False
        await asyncio.sleep(0.05)
    return False

"""What an aiortc publisher has actually sent, so that the recording tests
compare a file with the media that went out rather than with the wall
clock.  On a slow or busy machine aiortc's encoders fall behind real time
(its tracks then catch up in bursts), so "published for 6 s" may be 5 s of
media; the packets and frames it sent are what the server could record.

- audio: the sender's `packetsSent`; every packet is one 20 ms Opus frame
  (rtc.SineTrack), so packets x 20 ms is the audio sent.
- video: aiortc's sender asks its track for frame n+1 only once it has
  encoded and sent every packet of frame n, so when the track has handed
  out the frame with pts P, the frames before it (P seconds of video at
  30 fps) are on the wire.
"""

import asyncio
import time
from dataclasses import dataclass

AUDIO_PTIME = 0.020
VIDEO_CLOCK = 90000


@dataclass
class Sent:
    audio_packets: int      # RTP packets of the audio track sent
    audio_s: float          # seconds of audio sent (packets x 20 ms)
    video_s: float          # seconds of video sent (whole frames)
    start: float            # time.time() of the first frame either track made, or None
    audio_start: float      # time.time() of the first audio frame (None before)
    video_start: float      # time.time() of the first video frame (None before)

    def covered_until(self):
        """The wall-clock time up to which both tracks have sent media:
        each track's first frame was made at its start, and its media runs
        in real time from there (None before both started)."""
        if self.audio_start is None or self.video_start is None:
            return None
        return min(self.audio_start + self.audio_s, self.video_start + self.video_s)


async def sent(pc):
    """What pc's senders have put on the wire so far (after pc.close(): in
    all, if sent(pc) was called once before)."""
    packets = 0
    audio_start = video_start = None
    video_s = 0.0
    for s in pc.getSenders():
        # A closed connection's senders drop their tracks: keep them.
        if s.track is not None:
            s.sent_track = s.track
        track = getattr(s, "sent_track", None)
        if s.kind == "audio":
            stats = await s.getStats()
            packets = sum(x.packetsSent for x in stats.values() if x.type == "outbound-rtp")
            audio_start = getattr(track, "_start", None)
        elif s.kind == "video":
            # aiortc's VideoStreamTrack.next_timestamp: _start is when it
            # made the first frame, _timestamp the pts of the last one made
            # (in 1/90000 s); the frames before that one were sent.
            video_start = getattr(track, "_start", None)
            video_s = getattr(track, "_timestamp", 0) / VIDEO_CLOCK if track else 0.0
    starts = [t for t in (audio_start, video_start) if t is not None]
    return Sent(packets, packets * AUDIO_PTIME, video_s, min(starts) if starts else None,
                audio_start, video_start)


async def until(pc, pred, timeout):
    """Poll sent(pc) until pred(Sent) holds; returns that Sent, or None once
    `timeout` seconds pass without it."""
    deadline = time.monotonic() + timeout
    while True:
        s = await sent(pc)
        if pred(s):
            return s
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.05)


async def publish_media(pc, seconds, timeout=None):
    """Wait until pc has sent at least `seconds` of audio and of video (as
    long as that takes on a busy machine: by default 60 s plus four times
    `seconds`).  Returns the Sent, or None when the deadline passed."""
    return await until(pc, lambda s: s.audio_s >= seconds and s.video_s >= seconds,
                       60.0 + 4 * seconds if timeout is None else timeout)


def note_first_sends(pc):
    """Record, per kind, the time.time() at which pc sent the first RTP
    packet of that track (before any could reach the server).  Call it
    right after the offer/answer, before the connection is up.  Returns a
    dict that fills in as packets go out."""
    first = {}
    ssrcs = {s._ssrc: s.kind for s in pc.getSenders()}
    wrapped = set()
    for s in pc.getSenders():
        transport = s.transport
        if id(transport) in wrapped:
            continue
        wrapped.add(id(transport))
        orig = transport._send_rtp

        async def send_rtp(data, orig=orig):
            if len(data) >= 12:
                kind = ssrcs.get(int.from_bytes(data[8:12], "big"))
                if kind and kind not in first:
                    first[kind] = time.time()
            return await orig(data)

        transport._send_rtp = send_rtp
    return first

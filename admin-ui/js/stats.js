// Receive-side statistics from RTCPeerConnection.getStats(), and the small
// overlay the viewer page draws over a tile.
//
// Latency here is an estimate a viewer can check without clocks in sync:
// time frames wait in the jitter buffer (jitterBufferDelay /
// jitterBufferEmittedCount) plus half the round-trip time of the selected
// ICE candidate pair.  It leaves out capture, encode and decode time, so it
// is a lower bound of glass-to-glass latency.

function selectedPair(report) {
    let pair = null;
    for (const s of report.values()) {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
            pair = report.get(s.selectedCandidatePairId) || null;
            if (pair) return pair;
        }
    }
    for (const s of report.values()) {
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') return s;
    }
    return null;
}

// Raw counters, one entry per inbound RTP stream, keyed by m-line `mid`
// so the page can map them to stage slots.
export async function readInbound(pc) {
    const report = await pc.getStats();
    const video = [];
    const audio = [];
    for (const s of report.values()) {
        if (s.type !== 'inbound-rtp') continue;
        const entry = {
            mid: s.mid ?? null,
            trackIdentifier: s.trackIdentifier ?? null,
            timestamp: s.timestamp,
            packetsReceived: s.packetsReceived ?? 0,
            packetsLost: s.packetsLost ?? 0,
            bytesReceived: s.bytesReceived ?? 0,
            jitterBufferDelay: s.jitterBufferDelay ?? 0,
            jitterBufferEmittedCount: s.jitterBufferEmittedCount ?? 0,
        };
        if (s.kind === 'video') {
            Object.assign(entry, {
                framesDecoded: s.framesDecoded ?? 0,
                framesReceived: s.framesReceived ?? 0,
                framesPerSecond: s.framesPerSecond ?? null,
                frameWidth: s.frameWidth ?? 0,
                frameHeight: s.frameHeight ?? 0,
                keyFramesDecoded: s.keyFramesDecoded ?? 0,
                framesDropped: s.framesDropped ?? 0,
                freezeCount: s.freezeCount ?? 0,
                pliCount: s.pliCount ?? 0,
                codec: report.get(s.codecId)?.mimeType ?? null,
            });
            video.push(entry);
        } else if (s.kind === 'audio') {
            Object.assign(entry, {
                totalSamplesReceived: s.totalSamplesReceived ?? 0,
                audioLevel: s.audioLevel ?? null,
                codec: report.get(s.codecId)?.mimeType ?? null,
            });
            audio.push(entry);
        }
    }
    const pair = selectedPair(report);
    const rttMs = pair && typeof pair.currentRoundTripTime === 'number'
        ? pair.currentRoundTripTime * 1000 : null;
    return { video, audio, rttMs };
}

// Turns successive readings into rates (bitrate, fps) and a latency
// estimate.  One meter per PeerConnection; sample() about once a second.
export class StatsMeter {
    constructor(pc) {
        this.pc = pc;
        this.prev = new Map();   // mid -> previous raw entry
    }

    derive(entry, rttMs) {
        const prev = this.prev.get(entry.mid);
        const dt = prev ? (entry.timestamp - prev.timestamp) / 1000 : 0;
        let bitrateKbps = null;
        let fps = entry.framesPerSecond ?? null;
        // Prefer the jitter buffer delay of the last interval: the
        // cumulative average would hide a buffer that is growing now.
        let jbMs = null;
        if (prev && dt > 0) {
            bitrateKbps = ((entry.bytesReceived - prev.bytesReceived) * 8) / dt / 1000;
            if (fps === null && entry.framesDecoded !== undefined) {
                fps = (entry.framesDecoded - prev.framesDecoded) / dt;
            }
            const emitted = entry.jitterBufferEmittedCount - prev.jitterBufferEmittedCount;
            if (emitted > 0) {
                jbMs = ((entry.jitterBufferDelay - prev.jitterBufferDelay) / emitted) * 1000;
            }
        }
        if (jbMs === null && entry.jitterBufferEmittedCount > 0) {
            jbMs = (entry.jitterBufferDelay / entry.jitterBufferEmittedCount) * 1000;
        }
        const latencyMs = jbMs === null ? null : jbMs + (rttMs ?? 0) / 2;
        const flowing = prev ? entry.packetsReceived > prev.packetsReceived : false;
        return { ...entry, bitrateKbps, fps, jitterBufferMs: jbMs, latencyMs, flowing };
    }

    async sample() {
        const raw = await readInbound(this.pc);
        const video = raw.video.map((e) => this.derive(e, raw.rttMs));
        const audio = raw.audio.map((e) => this.derive(e, raw.rttMs));
        this.prev = new Map([...raw.video, ...raw.audio].map((e) => [e.mid, e]));
        return { video, audio, rttMs: raw.rttMs };
    }
}

function fmt(value, digits, unit) {
    return value === null || value === undefined || Number.isNaN(value)
        ? '–' : `${value.toFixed(digits)}${unit}`;
}

// Writes one video stream's figures into an overlay element.
export function renderOverlay(el, video, rttMs) {
    if (!video) {
        el.textContent = 'no video';
        return;
    }
    const rows = [
        ['Latency', fmt(video.latencyMs, 0, ' ms')],
        ['Bitrate', video.bitrateKbps === null ? '–'
            : video.bitrateKbps >= 1000 ? fmt(video.bitrateKbps / 1000, 2, ' Mb/s')
                : fmt(video.bitrateKbps, 0, ' kb/s')],
        ['Resolution', video.frameWidth ? `${video.frameWidth}×${video.frameHeight}` : '–'],
        ['Frame rate', fmt(video.fps, 0, ' fps')],
        ['RTT', fmt(rttMs, 0, ' ms')],
    ];
    const dl = document.createElement('dl');
    for (const [label, value] of rows) {
        const dt = document.createElement('dt');
        dt.textContent = label;
        const dd = document.createElement('dd');
        dd.textContent = value;
        dd.dataset.stat = label.toLowerCase().replace(/\s+/g, '-');
        dl.append(dt, dd);
    }
    el.replaceChildren(dl);
}

// A viewer on stage: publishes camera + microphone (or the microphone
// only) with the ordinary `publish` message once the host's invitation was
// accepted and the server granted `publish` (docs/protocol.md, "Stage").
// A participant in a breakout group publishes the same way (js/groups-participant.js).
//
//   const guest = new GuestPublisher(sig, { audioOnly, onChange });
//   await guest.start();          // opens the devices and publishes
//   guest.applyMute(audio, video) // the host's mute order
//   guest.park(true)              // back in the main room: tracks off, connection kept
//   guest.stop();                 // unpublish, release the devices
//
// The connection itself (retries, the server's session events) is a
// PeerSession (js/peer.js).

import { PeerSession } from './peer.js';
import { preferCodec } from './util.js';

export class GuestPublisher {
    constructor(sig, { audioOnly = false, videoCodec = 'vp8', onChange = () => {} } = {}) {
        this.sig = sig;
        this.videoCodec = videoCodec;
        this.audioOnly = audioOnly;
        this.onChange = onChange;
        this.stream = null;
        this.state = 'idle';       // idle | connecting | live | stopped | error
        this.error = null;
        this.retrying = null;      // {reason, delayMs} while waiting to publish again
        this.muted = { audio: false, video: false };
        this.parked = false;       // the server parked the session (a group member back in the main room)
        // The publish connection (js/peer.js): it retries by itself; a
        // refusal such as `forbidden` (taken off stage meanwhile) or
        // `room-full`, or `replaced`, ends it.
        this.peer = new PeerSession(sig, { kind: 'publish', setup: (conn) => this.setup(conn) });
        this.peer.on('connecting', () => this.setState('connecting'));
        this.peer.on('connected', () => this.setState('live'));
        this.peer.on('retrying', (r) => this.setState('connecting', null, r));
        this.peer.on('failed', ({ code, message }) => this.setState('error', code === 'replaced'
            ? 'Another connection of your account took this stage place' : message));
    }

    get pc() {
        return this.peer.pc;
    }

    get session() {
        return this.peer.session;
    }

    setState(state, error = null, retrying = null) {
        this.state = state;
        this.error = error;
        this.retrying = retrying;
        this.onChange(this);
    }

    async start() {
        this.setState('connecting');
        try {
            this.stream = await navigator.mediaDevices.getUserMedia({
                audio: true,
                video: this.audioOnly ? false : { width: { ideal: 640 }, height: { ideal: 360 } },
            });
        } catch (err) {
            this.setState('error', `Could not open ${this.audioOnly ? 'the microphone' : 'camera/microphone'}: ${err.message}`);
            throw err;
        }
        this.applyTracks();
        if (this.state !== 'stopped') await this.peer.start();
    }

    setup(conn) {
        const audio = this.stream.getAudioTracks()[0];
        const video = this.stream.getVideoTracks()[0];
        conn.addTransceiver(audio || 'audio', { direction: 'sendonly', streams: [this.stream] });
        // Audio only still offers a (silent) video m-line, like every publisher.
        const vt = conn.addTransceiver(video || 'video', { direction: 'sendonly', streams: [this.stream] });
        preferCodec(vt, this.videoCodec);
    }

    applyMute(audio, video) {
        this.muted = { audio: !!audio, video: !!video };
        this.applyTracks();
    }

    // A parked session forwards nothing, but the camera and microphone are
    // still open: turn them off so the person knows, and on again when the
    // session is moved into a group.
    park(parked) {
        this.parked = !!parked;
        this.applyTracks();
    }

    applyTracks() {
        for (const t of this.stream?.getAudioTracks() || []) t.enabled = !this.parked && !this.muted.audio;
        for (const t of this.stream?.getVideoTracks() || []) t.enabled = !this.parked && !this.muted.video;
        this.onChange(this);
    }

    stop(unpublish = true) {
        this.peer.stop({ release: unpublish });
        for (const t of this.stream?.getTracks() || []) t.stop();
        this.stream = null;
        this.setState('stopped');
    }
}

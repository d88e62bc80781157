// A viewer on stage: publishes camera + microphone (or the microphone
// only) with the ordinary `publish` message once the host's invitation was
// accepted and the server granted `publish` (docs/protocol.md, "Stage").
//
//   const guest = new GuestPublisher(sig, { audioOnly, onChange });
//   await guest.start();          // opens the devices and publishes
//   guest.applyMute(audio, video) // the host's mute order
//   guest.stop();                 // unpublish, release the devices

import { SignalingError } from './signaling.js';
import { backoffDelay, preferCodec, waitForIceGathering } from './util.js';

// Errors that another attempt would only repeat (forbidden: we were taken
// off stage meanwhile).
const FATAL = new Set(['forbidden', 'unsupported', 'bad-sdp', 'room-full']);

export class GuestPublisher {
    constructor(sig, { audioOnly = false, videoCodec = 'vp8', onChange = () => {} } = {}) {
        this.sig = sig;
        this.videoCodec = videoCodec;
        this.audioOnly = audioOnly;
        this.onChange = onChange;
        this.stream = null;
        this.pc = null;
        this.session = null;
        this.state = 'idle';       // idle | connecting | live | stopped | error
        this.error = null;
        this.muted = { audio: false, video: false };
        this.generation = 0;
        this.retryAttempt = 0;
        this.retryTimer = null;
    }

    setState(state, error = null) {
        this.state = state;
        this.error = error;
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
        this.applyMute(this.muted.audio, this.muted.video);
        await this.publish();
    }

    teardownPc() {
        this.generation++;
        if (this.pc) {
            this.pc.onconnectionstatechange = null;
            this.pc.close();
        }
        this.pc = null;
        this.session = null;
    }

    async publish() {
        if (this.state === 'stopped' || !this.stream) return;
        this.teardownPc();
        const gen = this.generation;
        this.setState('connecting');
        try {
            const conn = new RTCPeerConnection();
            this.pc = conn;
            conn.onconnectionstatechange = () => {
                if (conn !== this.pc) return;
                if (conn.connectionState === 'connected') {
                    this.retryAttempt = 0;
                    this.setState('live');
                } else if (conn.connectionState === 'failed') {
                    this.retry('connection failed');
                }
            };
            const audio = this.stream.getAudioTracks()[0];
            const video = this.stream.getVideoTracks()[0];
            conn.addTransceiver(audio || 'audio', { direction: 'sendonly', streams: [this.stream] });
            // Audio only still offers a (silent) video m-line, like every publisher.
            const vt = conn.addTransceiver(video || 'video', { direction: 'sendonly', streams: [this.stream] });
            preferCodec(vt, this.videoCodec);
            await conn.setLocalDescription(await conn.createOffer());
            await waitForIceGathering(conn, 1000);
            if (gen !== this.generation) return;
            const answer = await this.sig.request({ type: 'publish', sdp: conn.localDescription.sdp });
            if (gen !== this.generation) {
                this.sig.send({ type: 'unpublish', session: answer.session });
                return;
            }
            this.session = answer.session;
            await conn.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
        } catch (err) {
            if (gen !== this.generation) return;
            if (err instanceof SignalingError && FATAL.has(err.code)) {
                this.teardownPc();
                this.setState('error', `The server refused to publish (${err.code}): ${err.message}`);
            } else {
                this.retry(err.message);
            }
        }
    }

    retry(reason) {
        if (this.state === 'stopped' || this.retryTimer) return;
        this.teardownPc();
        this.setState('connecting', reason);
        this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.publish();
        }, backoffDelay(this.retryAttempt++));
    }

    // The server told us one of our sessions ended.
    onSessionClosed(msg) {
        if (msg.session !== this.session) return;
        this.session = null;
        if (msg.reason === 'replaced') {
            this.teardownPc();
            this.setState('error', 'Another connection of your account took this stage place');
        } else {
            this.retry(`session ended (${msg.reason})`);
        }
    }

    // The socket dropped: the server ended our session and forgot the seat.
    onSocketClosed() {
        this.stop(false);
    }

    applyMute(audio, video) {
        this.muted = { audio: !!audio, video: !!video };
        for (const t of this.stream?.getAudioTracks() || []) t.enabled = !this.muted.audio;
        for (const t of this.stream?.getVideoTracks() || []) t.enabled = !this.muted.video;
        this.onChange(this);
    }

    stop(unpublish = true) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        if (unpublish && this.session && this.sig.isJoined) {
            this.sig.request({ type: 'unpublish', session: this.session }).catch(() => {});
        }
        this.teardownPc();
        for (const t of this.stream?.getTracks() || []) t.stop();
        this.stream = null;
        this.setState('stopped');
    }
}

// Stagecast signalling client (docs/protocol.md, "WebSocket /ws").
//
// One instance per page.  It connects, sends `join` with the token, and
// reconnects with backoff when the socket drops.  Every successful (re)join
// emits `joined`; since the server ends a socket's sessions when the socket
// closes, pages publish or subscribe again from their `joined` handler.
//
//   const sig = new SignalingClient(wsUrl(), token);
//   sig.on('joined', (msg) => ...);
//   sig.on('viewers', (msg) => ...);
//   sig.start();
//   const answer = await sig.request({ type: 'subscribe', sdp });
//
// The interactions may travel over the PeerConnection's data channel
// instead: js/datachannel.js's attachDataChannel(pc, sig) sets
// `sig.channel`, which then picks the transport of each interaction
// request and which copy of each interaction broadcast the handlers see.
// Handlers registered with on() do not need to know which one it was.

import { Backoff, Emitter } from './util.js';

// Join errors that retrying cannot fix: the page must show them and stop.
const FATAL_CODES = new Set([
    'token-missing', 'token-invalid', 'token-expired', 'token-revoked', 'wrong-room', 'forbidden', 'bad-room',
]);

export class SignalingError extends Error {
    constructor(code, message) {
        super(message || code);
        this.name = 'SignalingError';
        this.code = code;
    }
}

export class SignalingClient extends Emitter {
    constructor(url, token, opts = {}) {
        super('signalling');
        this.url = url;
        this.token = token;
        this.requestTimeoutMs = opts.requestTimeoutMs ?? 10000;
        this.pingIntervalMs = opts.pingIntervalMs ?? 15000;
        this.ws = null;
        this.joined = null;          // the last `joined` message, null while not joined
        this.pending = new Map();    // id -> { resolve, reject, timer }
        this.nextId = 1;
        this.backoff = new Backoff();
        this.stopped = true;
        this.pingTimer = null;
        this.channel = null;         // a ChannelRouter (js/datachannel.js), or null: all on /ws
    }

    // Which transport carries the interactions now: "datachannel" or "websocket".
    get interactionTransport() {
        return this.channel?.usable ? 'datachannel' : 'websocket';
    }

    get isJoined() {
        return this.joined !== null && this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    }

    start() {
        this.stopped = false;
        this.connect();
    }

    stop() {
        this.stopped = true;
        this.backoff.cancel();
        if (this.ws) this.ws.close(1000, 'bye');
    }

    connect() {
        this.backoff.cancel();
        let ws;
        try {
            ws = new WebSocket(this.url);
        } catch (err) {
            this.emit('transport-error', err);
            this.scheduleReconnect();
            return;
        }
        this.ws = ws;
        ws.onopen = () => this.onOpen(ws);
        ws.onmessage = (ev) => this.onMessage(ws, ev);
        ws.onclose = (ev) => this.onClose(ws, ev);
        // onerror is always followed by onclose, where recovery happens.
        ws.onerror = () => this.emit('transport-error', new Error('WebSocket error'));
    }

    async onOpen(ws) {
        this.emit('open');
        try {
            const joined = await this.request({ type: 'join', token: this.token });
            if (ws !== this.ws) return;
            this.joined = joined;
            this.backoff.reset();
            this.startPing(ws);
            this.emit('joined', joined);
        } catch (err) {
            if (ws !== this.ws) return;
            if (err instanceof SignalingError && FATAL_CODES.has(err.code)) {
                this.stopped = true;
                this.emit('fatal', err);
            } else {
                this.emit('transport-error', err);
            }
            ws.close();
        }
    }

    onMessage(ws, ev) {
        if (ws !== this.ws) return;
        let msg;
        try {
            msg = JSON.parse(ev.data);
        } catch {
            this.emit('transport-error', new Error('server sent invalid JSON'));
            return;
        }
        if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;

        if (msg.re !== undefined && this.pending.has(msg.re)) {
            const p = this.pending.get(msg.re);
            this.pending.delete(msg.re);
            clearTimeout(p.timer);
            if (msg.type === 'error') p.reject(new SignalingError(msg.code, msg.message));
            else p.resolve(msg);
            return;
        }
        if (this.channel) this.channel.route(msg);
        else this.emit(msg.type, msg);
    }

    onClose(ws, ev) {
        if (ws !== this.ws) return;
        this.ws = null;
        this.joined = null;
        clearInterval(this.pingTimer);
        this.pingTimer = null;
        for (const [, p] of this.pending) {
            clearTimeout(p.timer);
            p.reject(new SignalingError('closed', 'connection closed'));
        }
        this.pending.clear();
        this.emit('close', { code: ev.code, reason: ev.reason, willRetry: !this.stopped });
        if (!this.stopped) this.scheduleReconnect();
    }

    scheduleReconnect() {
        if (this.stopped || this.backoff.pending) return;
        const delay = this.backoff.schedule(() => {
            if (!this.stopped) this.connect();
        });
        this.emit('reconnecting', { delay, attempt: this.backoff.attempt });
    }

    // A ping that goes unanswered means the TCP connection is dead without
    // the browser noticing yet; closing it starts the reconnect at once.
    startPing(ws) {
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => {
            if (ws !== this.ws) return;
            this.request({ type: 'ping' }).catch(() => {
                if (ws === this.ws) ws.close();
            });
        }, this.pingIntervalMs);
    }

    // Send a request and resolve with its reply (the message whose `re` is
    // our `id`); an `error` reply rejects with a SignalingError.  An
    // interaction goes over the data channel while it is usable.
    request(msg, timeoutMs = this.requestTimeoutMs) {
        if (this.channel?.carries(msg)) return this.channel.request(msg, timeoutMs);
        return this.socketRequest(msg, timeoutMs);
    }

    socketRequest(msg, timeoutMs = this.requestTimeoutMs) {
        const ws = this.ws;
        if (!ws || ws.readyState !== WebSocket.OPEN) {
            return Promise.reject(new SignalingError('closed', 'not connected'));
        }
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(id);
                reject(new SignalingError('timeout', `no reply to ${msg.type}`));
            }, timeoutMs);
            this.pending.set(id, { resolve, reject, timer });
            ws.send(JSON.stringify({ ...msg, id }));
        });
    }

    // Fire-and-forget, for requests whose reply nobody waits for.
    send(msg) {
        if (this.channel?.carries(msg) && this.channel.send(msg)) return;
        if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
    }
}

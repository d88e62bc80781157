// The media connection of a page: one RTCPeerConnection at a time,
// negotiated with `publish` or `subscribe` over the /ws signalling
// (docs/protocol.md), watched, and made again with back-off when it dies.
// The presenter page, the viewer page and a guest on stage (js/guest.js)
// each hold one; what they send or receive stays in their own files.
//
//   const peer = new PeerSession(sig, {
//       kind: 'subscribe',             // or 'publish'
//       setup: async (pc) => { ... },  // transceivers, tracks, data channel
//   });
//   peer.on('connected', () => ...);
//   peer.on('retrying', (r) => status(retryText(r)));
//   sig.on('joined', () => peer.start());
//
// start() (re)connects now; the page calls it again from its `joined`
// handler, since the server ends a socket's sessions with the socket.
// stop() gives the connection up (and tells the server, unless asked not
// to).  In between the PeerSession decides on its own when the connection
// is dead and makes a new one:
//
//   - connectionState or iceConnectionState "failed";
//   - iceConnectionState "disconnected" for longer than graceMs (it is
//     "interrupted" meanwhile and may come back by itself);
//   - the server's `session_closed` for our session (`shutdown`: the server
//     is restarting); `replaced` ends a publish session for good, since
//     another connection of the same account took the stage slot;
//   - a `publish`/`subscribe` refused with a code another attempt may get
//     past (timeout, overloaded, a seat freeing up...);
//   - the /ws socket closing: the connection is dropped at once and the
//     page's next start() (on `joined`) makes it again; meanwhile the
//     socket's own back-off is reported as `retrying`.
//
// Attempts wait backoffDelay(attempt) between them (util.js: exponential,
// capped at 10 s, with jitter); a connection that reaches "connected", or
// that the server reports with `session_connected`, resets the count.
//
// Events (on(type, fn), like SignalingClient):
//   connecting  {attempt}                 a new PeerConnection is being negotiated
//   session     {session, pc}             the answer is applied
//   connected   {session}                 media flows (again)
//   interrupted {}                        ICE disconnected; may recover within graceMs
//   retrying    {reason, delayMs, attempt} the connection is dead; next try in delayMs
//   failed      {code, message}           given up: another attempt would only repeat it
//   closed      {why}                     the PeerConnection was closed ('retry',
//                                         'restart', 'socket', 'stop', 'failed')
// `state` is one of idle | waiting (for the socket) | connecting | connected
// | interrupted | retrying | failed | stopped; `retrying` holds the last
// retrying event while the state is "retrying".

import { SignalingError } from './signaling.js';
import { Backoff, Emitter } from './util.js';

// Refusals that another attempt would only repeat.  A full room refuses a
// publisher for good (the stage is full) but a viewer only until a seat
// frees up.
const FATAL = new Set(['forbidden', 'unsupported', 'bad-sdp', 'bad-room']);
const FATAL_PUBLISH = new Set([...FATAL, 'room-full']);

// "Connection lost; reconnecting in 2.5 s": how every page shows a retry.
// The server's notice that it is shutting down (`server_draining`): what is
// live goes on until it stops, then the page reconnects by itself (to the
// same address once the server is back, or wherever it points).
export function showServerNotices(sig, el) {
    sig.on('server_draining', () => {
        el.textContent = 'This server is restarting soon. Your stream continues for now; '
            + 'if it stops, this page reconnects by itself.';
        el.hidden = false;
    });
    sig.on('joined', () => { el.hidden = true; });
}

export function retryText({ reason, delayMs }) {
    return `${reason}; reconnecting in ${(delayMs / 1000).toFixed(1)} s`;
}

// Resolve when ICE gathering completes, or after timeoutMs: the server is
// ICE-lite and only needs our ufrag/pwd and fingerprint; the host
// candidates are a courtesy, not worth waiting long for.
export function waitForIceGathering(pc, timeoutMs = 1000) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
        const done = () => {
            clearTimeout(timer);
            pc.removeEventListener('icegatheringstatechange', onChange);
            resolve();
        };
        const onChange = () => {
            if (pc.iceGatheringState === 'complete') done();
        };
        const timer = setTimeout(done, timeoutMs);
        pc.addEventListener('icegatheringstatechange', onChange);
    });
}

export class PeerSession extends Emitter {
    // opts: kind ('publish' | 'subscribe'), setup(pc) (may be async),
    // config (RTCConfiguration; the server's TURN servers are added to its
    // iceServers, see rtcConfig), graceMs (how long ICE may stay
    // "disconnected", 4000), gatherMs (how long to wait for host
    // candidates, 1000), fatal (a Set of refusal codes not to retry),
    // request(sdp) (the message that carries the offer, default
    // {type: kind, sdp}: e.g. a trainer's `group_watch`; its `answer` is
    // read alike and the session is ended with `un${kind}`).
    constructor(sig, opts) {
        super('peer');
        this.sig = sig;
        this.kind = opts.kind;
        this.setup = opts.setup || (() => {});
        this.config = opts.config;
        this.graceMs = opts.graceMs ?? 4000;
        this.gatherMs = opts.gatherMs ?? 1000;
        this.fatal = opts.fatal || (this.kind === 'publish' ? FATAL_PUBLISH : FATAL);
        this.offerMessage = opts.request || ((sdp) => ({ type: this.kind, sdp }));
        this.pc = null;
        this.session = null;
        this.state = 'idle';
        this.retrying = null;
        this.wanted = false;
        this.generation = 0;       // bumps on every teardown; stale async work checks it
        this.backoff = new Backoff();
        this.graceTimer = null;
        this.unwatch = [];         // removes our handlers from sig
    }

    setState(state) {
        this.state = state;
        if (state !== 'retrying') this.retrying = null;
    }

    // Want the connection, and make it afresh now (or, while the socket is
    // not joined, at the next start() from the page's `joined` handler).
    start() {
        this.wanted = true;
        this.watchSignaling();
        return this.connect();
    }

    // Give the connection up; release: tell the server to end the session.
    stop({ release = true } = {}) {
        this.wanted = false;
        this.backoff.cancel();
        this.backoff.reset();
        this.release(release);
        this.teardown('stop');
        this.unwatchSignaling();
        this.setState('stopped');
    }

    // The connection is dead: drop it and try again after the back-off.
    retry(reason) {
        if (!this.wanted || this.backoff.pending) return;
        this.teardown('retry');
        const attempt = this.backoff.attempt + 1;
        const delayMs = this.backoff.schedule(() => this.connect());
        this.setState('retrying');
        this.retrying = { reason, delayMs, attempt };
        this.emit('retrying', this.retrying);
    }

    fail(code, message) {
        this.wanted = false;
        this.backoff.cancel();
        this.release(true);
        this.teardown('failed');
        this.unwatchSignaling();
        this.setState('failed');
        this.emit('failed', { code, message });
    }

    release(tell) {
        if (tell && this.session && this.sig.isJoined) this.end(this.session);
    }

    // Ask the server to end a session of ours.  A refusal means it is gone
    // already (the server ended it meanwhile), nothing to show the user.
    end(session) {
        this.sig.request({ type: `un${this.kind}`, session }).catch(() => {});
    }

    teardown(why) {
        this.generation++;
        clearTimeout(this.graceTimer);
        this.graceTimer = null;
        const old = this.pc;
        this.pc = null;
        this.session = null;
        if (!old) return;
        old.onconnectionstatechange = null;
        old.oniceconnectionstatechange = null;
        old.close();
        this.emit('closed', { why });
    }

    async connect() {
        this.backoff.cancel();
        this.teardown('restart');
        if (!this.wanted) return;
        if (!this.sig.isJoined) {
            if (this.state !== 'retrying') this.setState('waiting');
            return;
        }
        const gen = this.generation;
        this.setState('connecting');
        this.emit('connecting', { attempt: this.backoff.attempt });
        try {
            const config = await this.rtcConfig();
            if (gen !== this.generation) return;
            const conn = new RTCPeerConnection(config);
            this.pc = conn;
            this.watch(conn);
            await this.setup(conn);
            if (gen !== this.generation) return;
            await conn.setLocalDescription(await conn.createOffer());
            await waitForIceGathering(conn, this.gatherMs);
            if (gen !== this.generation) return;
            const answer = await this.sig.request(this.offerMessage(conn.localDescription.sdp));
            if (gen !== this.generation) {
                // We gave up on this attempt meanwhile; release its session.
                this.end(answer.session);
                return;
            }
            this.session = answer.session;
            await conn.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
            if (gen !== this.generation) return;
            this.emit('session', { session: this.session, pc: conn });
        } catch (err) {
            if (gen !== this.generation) return;
            if (!(err instanceof SignalingError)) {
                this.fail(null, err?.message || String(err));
            } else if (this.fatal.has(err.code)) {
                this.fail(err.code, `The server refused to ${this.kind} (${err.code}): ${err.message}`);
            } else {
                this.retry(err.code === 'overloaded' ? 'The server is at capacity'
                    : `${this.kind === 'publish' ? 'Publish' : 'Subscribe'} failed (${err.code})`);
            }
        }
    }

    // The page's RTCConfiguration with the server's TURN servers (`ice_servers`
    // in `joined`, docs/protocol.md) added: a client whose network cannot
    // reach the media address relays through them.  Credentials handed out
    // at join expire (the username starts with the expiry time); a socket
    // joined for longer than that asks /api/ice-servers for fresh ones.
    async rtcConfig() {
        let turn = this.sig.joined?.ice_servers;
        if (!turn?.length) return this.config;
        const expiry = Math.min(...turn.map((s) => Number(String(s.username).split(':')[0]) || Infinity));
        if (expiry * 1000 < Date.now() + 60000) {
            try {
                const res = await fetch('/api/ice-servers', { headers: { Authorization: `Bearer ${this.sig.token}` } });
                if (res.ok) {
                    turn = (await res.json()).ice_servers;
                    this.sig.joined.ice_servers = turn;
                }
            } catch {
                // Keep the old ones: the direct path may still work.
            }
        }
        return { ...this.config, iceServers: [...(this.config?.iceServers || []), ...turn] };
    }

    connected() {
        this.backoff.reset();
        if (this.state === 'connected') return;
        this.setState('connected');
        this.emit('connected', { session: this.session });
    }

    watch(conn) {
        conn.onconnectionstatechange = () => {
            if (conn !== this.pc) return;
            if (conn.connectionState === 'connected') this.connected();
            else if (conn.connectionState === 'failed') this.retry('Connection failed');
        };
        conn.oniceconnectionstatechange = () => {
            if (conn !== this.pc) return;
            const s = conn.iceConnectionState;
            if (s === 'disconnected') {
                this.setState('interrupted');
                this.emit('interrupted', {});
                clearTimeout(this.graceTimer);
                this.graceTimer = setTimeout(() => {
                    if (conn === this.pc && conn.iceConnectionState === 'disconnected') this.retry('Connection lost');
                }, this.graceMs);
            } else if (s === 'connected' || s === 'completed') {
                clearTimeout(this.graceTimer);
                if (conn.connectionState === 'connected') this.connected();
            } else if (s === 'failed') {
                this.retry('Connection failed');
            }
        };
    }

    // What the server says about our session and the socket it lives on.
    watchSignaling() {
        if (this.unwatch.length) return;
        this.unwatch = [
            this.sig.on('session_connected', (msg) => {
                if (this.pc && msg.session === this.session) this.connected();
            }),
            this.sig.on('session_closed', (msg) => {
                if (!this.session || msg.session !== this.session) return;
                if (msg.reason === 'replaced' && this.kind === 'publish') {
                    this.session = null;   // the server ended it already
                    this.fail('replaced', 'Another connection of your account took over this stage slot');
                } else {
                    this.retry(msg.reason === 'shutdown' ? 'Server is restarting' : `Session ended (${msg.reason})`);
                }
            }),
            this.sig.on('close', () => {
                // The server ends a socket's sessions with the socket.
                if (!this.wanted) return;
                this.backoff.cancel();
                this.teardown('socket');
                this.setState('waiting');
            }),
            this.sig.on('reconnecting', ({ delay, attempt }) => {
                if (!this.wanted) return;
                this.setState('retrying');
                this.retrying = { reason: 'Lost the connection to the server', delayMs: delay, attempt };
                this.emit('retrying', this.retrying);
            }),
        ];
    }

    unwatchSignaling() {
        for (const off of this.unwatch) off();
        this.unwatch = [];
    }
}

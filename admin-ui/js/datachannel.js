// Interactions over the media connection's data channel (docs/protocol.md,
// "Data channels"): chat, bullet comments, likes, Q&A, polls, check-in and
// the host's tools travel on the PeerConnection the page already has, and
// fall back to the /ws WebSocket whenever the channel cannot carry them
// (not negotiated, not open yet, closed, the page reconnecting).
//
//   attachDataChannel(pc, sig);   // before pc.createOffer()
//
// Signalling (join, publish, subscribe, layer, viewport, stage, ping)
// always stays on /ws.
//
// Why the page cannot simply listen to both transports: the server treats
// the channel as a second client of the same user.  It gets its own
// `joined`, chat history and state, and every room broadcast (batches,
// polls, questions, `review_done`, `muted` ...) goes to the WebSocket AND to
// the channel.  The handlers the panels registered with sig.on() must see
// each broadcast once, whichever transport carried it, so:
//
//   - Events with an id (chat and bullet comments in batches, lottery
//     draws) are taken from whichever transport brings them first; a
//     second copy (same type and id) is dropped.  This holds however the
//     two streams interleave, switch-overs included.
//   - Everything else is a snapshot (a poll, a question, a total, the
//     settings, the review queue) and comes from ONE transport, the
//     leader: the channel from its own `joined` until it stops being
//     open, the WebSocket otherwise.  When the channel takes over, its
//     join sends fresh snapshots (open polls, check-in, announcement,
//     settings, likes, mute, review queue).  While it leads, the
//     WebSocket's copies of the last REPLAY_MS are kept and replayed when
//     it goes away, so a broadcast that died with the channel is not lost;
//     they are a contiguous, ordered piece of the server's stream, so
//     replaying what was seen already ends in the same state.
//
// The channel's `joined` and its signalling broadcasts (stage, viewers,
// publishers) are not passed on: the page's `joined` handlers resubscribe,
// and /ws already tells it all of that.

import { SignalingError } from './signaling.js';

export const CHANNEL_LABEL = 'stagecast';

// Client-to-server types of "Interactions": everything the panels send.
const OUTGOING = new Set([
    'chat', 'danmaku', 'like', 'chat_history',
    'question_ask', 'question_vote', 'question_answer', 'question_list',
    'poll_create', 'poll_open', 'poll_close', 'poll_vote', 'poll_list', 'quiz_scores',
    'lottery_draw', 'checkin_open', 'checkin_close', 'checkin', 'checkin_list',
    'announce', 'announce_clear', 'mute', 'kick', 'ban', 'unban', 'room_settings',
    'words_set', 'words_get', 'review_list', 'review', 'audience', 'bans',
]);

// Server-to-client interaction broadcasts: each reaches the handlers once,
// from the transport chosen as the comment at the top says.
const INCOMING = new Set([
    'batch', 'chat_history', 'likes', 'question', 'poll', 'poll_results', 'quiz_scores',
    'lottery', 'checkin', 'checkin_count', 'announcement', 'room_settings',
    'review', 'review_queue', 'review_done', 'muted',
]);

// What a non-leading transport may still deliver: the events with ids.
function eventsOnly(msg) {
    if (msg.type === 'lottery') return msg;
    if (msg.type !== 'batch' || !Array.isArray(msg.messages)) return null;
    const events = msg.messages.filter((m) => m && m.id !== undefined && m.id !== null);
    return events.length ? { ...msg, messages: events } : null;
}

const REPLAY_MS = 5000;
const REPLAY_MAX = 500;
const SEEN_MAX = 2000;
// pc.close() need not fire the channel's close event: look now and then.
const CHECK_MS = 1000;

// #dc=0 (or ?dc=0) keeps everything on /ws: for tests and debugging.
export function channelsEnabled(loc = window.location) {
    const hash = new URLSearchParams(loc.hash.replace(/^#/, ''));
    const v = hash.get('dc') ?? new URLSearchParams(loc.search).get('dc');
    return !(v === '0' || v === 'off' || v === 'false');
}

// Give the page's PeerConnection a channel for the interactions and hand it
// to the signalling client.  Call it before createOffer so the offer carries
// the data section.  Returns the channel, or null when switched off or the
// browser cannot make one (then everything stays on /ws).
export function attachDataChannel(pc, sig) {
    const router = sig.channel || (sig.channel = new ChannelRouter(sig));
    if (!channelsEnabled()) {
        router.attach(null);
        return null;
    }
    let dc = null;
    try {
        dc = pc.createDataChannel(CHANNEL_LABEL);   // reliable and ordered
    } catch (err) {
        console.warn('no data channel; interactions stay on the WebSocket', err);
    }
    router.attach(dc);
    return dc;
}

// Decides, message by message, which transport carries an interaction.
// sig (a SignalingClient) calls carries()/request()/send() for outgoing
// messages and route() for every broadcast from its socket.
export class ChannelRouter {
    constructor(sig) {
        this.sig = sig;
        this.dc = null;
        this.dcJoined = false;   // the channel's own `joined` came
        this.leader = 'websocket';
        this.pending = new Map();   // id -> {resolve, reject, timer}
        this.held = [];             // [{at, msg}]: the socket's copies while the channel leads
        this.seen = new Map();      // "type:id" of shown chat, danmaku, lottery
        this.timer = null;
        this.pinned = false;        // pinSocket(): everything on /ws for now
        // For tests and the console: what went over the channel.
        this.counts = { sent: 0, received: 0, replies: 0, fallbacks: 0, replayed: 0, duplicates: 0 };
    }

    // The channel can carry interactions now.
    get usable() {
        return !this.pinned && this.dc !== null && this.dc.readyState === 'open' && this.dcJoined;
    }

    // Keep every interaction on /ws, both ways, while the page's socket is
    // in another room than its channel: a trainer visiting a breakout group
    // moves its WebSocket into the group, while the channel of its publish
    // session stays with the session in the main room.
    pinSocket(on) {
        this.pinned = !!on;
        this.sync();
    }

    attach(dc) {
        const old = this.dc;
        this.dc = null;
        clearInterval(this.timer);
        this.timer = null;
        this.dcJoined = false;
        if (old) {
            old.onopen = old.onclose = old.onerror = old.onmessage = null;
            if (old.readyState !== 'closed') old.close();
        }
        this.sync();
        if (!dc) return;
        this.dc = dc;
        dc.onmessage = (ev) => { if (dc === this.dc) this.onChannelMessage(ev.data); };
        dc.onclose = () => { if (dc === this.dc) this.sync(); };
        dc.onerror = () => { if (dc === this.dc) this.sync(); };
        this.timer = setInterval(() => {
            this.sync();
            if (this.dc?.readyState === 'closed') {
                clearInterval(this.timer);
                this.timer = null;
            }
        }, CHECK_MS);
    }

    // Follow the channel's state; called on every event and message, so a
    // switch-over happens before the message that noticed it is routed.
    sync() {
        const now = this.usable ? 'datachannel' : 'websocket';
        if (now === this.leader) return;
        this.leader = now;
        if (now === 'websocket') {
            this.failPending();
            this.replay();
        } else {
            this.held = [];
        }
        this.sig.emit('interaction-transport', { transport: now });
    }

    // Requests the channel took and will never answer.  Whether the server
    // got them is unknown, so they are not resent (a chat line could show
    // twice); the panels tell the user to try again.
    failPending() {
        for (const [, p] of this.pending) {
            clearTimeout(p.timer);
            p.reject(new SignalingError('closed', 'the data channel closed'));
        }
        this.pending.clear();
    }

    replay() {
        const cutoff = Date.now() - REPLAY_MS;
        const held = this.held.filter((h) => h.at >= cutoff);
        this.held = [];
        for (const h of held) {
            this.counts.replayed++;
            this.deliver(h.msg);
        }
    }

    carries(msg) {
        this.sync();
        return this.usable && OUTGOING.has(msg?.type);
    }

    request(msg, timeoutMs) {
        const id = this.sig.nextId++;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(id);
                reject(new SignalingError('timeout', `no reply to ${msg.type}`));
            }, timeoutMs);
            this.pending.set(id, { resolve, reject, timer });
            try {
                this.dc.send(JSON.stringify({ ...msg, id }));
                this.counts.sent++;
            } catch {
                // Not sent at all (the channel closed under us): the socket
                // may take it without any risk of a double.
                clearTimeout(timer);
                this.pending.delete(id);
                this.counts.fallbacks++;
                this.sig.socketRequest(msg, timeoutMs).then(resolve, reject);
            }
        });
    }

    // Fire-and-forget; false when the caller should use the socket.
    send(msg) {
        try {
            this.dc.send(JSON.stringify(msg));
            this.counts.sent++;
            return true;
        } catch {
            this.counts.fallbacks++;
            return false;
        }
    }

    onChannelMessage(data) {
        if (typeof data !== 'string') return;
        let msg;
        try {
            msg = JSON.parse(data);
        } catch {
            return;
        }
        if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
        this.counts.received++;
        if (msg.re !== undefined && this.pending.has(msg.re)) {
            const p = this.pending.get(msg.re);
            this.pending.delete(msg.re);
            clearTimeout(p.timer);
            this.counts.replies++;
            if (msg.type === 'error') p.reject(new SignalingError(msg.code, msg.message));
            else p.resolve(msg);
            return;
        }
        if (msg.type === 'joined') {
            this.dcJoined = true;
            this.sync();
            return;
        }
        this.sync();
        if (msg.type === 'error') {
            // E.g. `banned` as the channel opens: /ws hears the same and the
            // page acts on that one.
            console.warn('data channel error', msg.code, msg.message);
            return;
        }
        this.broadcast(msg, 'datachannel');
    }

    // A broadcast from the socket (its replies were matched already).
    route(msg) {
        this.sync();
        this.broadcast(msg, 'websocket');
    }

    broadcast(msg, from) {
        if (this.pinned && from === 'datachannel') return;   // the other room's
        if (!INCOMING.has(msg.type)) {
            // Signalling, which /ws alone reports.
            if (from === 'websocket') this.sig.emit(msg.type, msg);
            return;
        }
        if (from !== this.leader) {
            if (from === 'websocket') {
                this.held.push({ at: Date.now(), msg });
                if (this.held.length > REPLAY_MAX) this.held.shift();
            }
            msg = eventsOnly(msg);
            if (!msg) return;
        }
        this.deliver(msg);
    }

    // Emit an interaction broadcast unless its id was shown already.
    deliver(msg) {
        if (msg.type === 'batch' && Array.isArray(msg.messages)) {
            const fresh = msg.messages.filter((m) => this.firstTime(m));
            if (fresh.length === 0) return;
            msg = fresh.length === msg.messages.length ? msg : { ...msg, messages: fresh };
        } else if (msg.type === 'lottery' && !this.firstTime(msg)) {
            return;
        }
        this.sig.emit(msg.type, msg);
    }

    firstTime(m) {
        if (!m || m.id === undefined || m.id === null || typeof m.type !== 'string') return true;
        const key = `${m.type}:${m.id}`;
        if (this.seen.has(key)) {
            this.counts.duplicates++;
            return false;
        }
        this.seen.set(key, true);
        if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.keys().next().value);
        return true;
    }
}

// Small helpers shared by every Stagecast page.

// Room and token come from the fragment (#room=demo&token=eyJ...) because a
// fragment never reaches the server's access logs or a Referer header; the
// query string is accepted as a fallback for hand-written links.
export function readParams(loc = window.location) {
    const hash = new URLSearchParams(loc.hash.replace(/^#/, ''));
    const query = new URLSearchParams(loc.search);
    const pick = (key) => hash.get(key) || query.get(key) || '';
    return {
        room: pick('room'), token: pick('token'), name: pick('name'), codec: pick('codec'),
        degrade: pick('degrade'), event: pick('event'),
    };
}

// The claims of a token (docs/protocol.md, "Tokens"), read from its payload
// without checking the signature (the server does that): {} when it is not
// a JWT.  Names are UTF-8.
export function tokenClaims(token) {
    try {
        const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const claims = JSON.parse(new TextDecoder().decode(bytes));
        return claims && typeof claims === 'object' ? claims : {};
    } catch {
        return {};
    }
}

// A refusal of the HTTP API, from its JSON body {"error": {"code", "message"}}
// (docs/protocol.md, "Errors"); field is the request field it names, when
// the server says which.
export class ApiError extends Error {
    constructor(status, code, message, field = null) {
        super(message || code || `HTTP ${status}`);
        this.name = 'ApiError';
        this.status = status;
        this.code = code || '';
        this.field = field;
        this.retryAfter = null;   // seconds, from a Retry-After header
    }
}

// The ApiError for a refused answer res (its JSON body already read, or null).
function refusal(res, answer, method, path) {
    const e = answer?.error || {};
    const err = new ApiError(res.status, e.code, e.message || `${method} ${path}: HTTP ${res.status}`,
        typeof e.field === 'string' ? e.field : null);
    err.body = answer;   // the whole answer: some refusals carry more (a whitelist's rejected lines)
    const wait = Number(res.headers.get('Retry-After'));
    if (wait > 0) err.retryAfter = wait;
    return err;
}

// One request to our API: the token (if any) as Bearer, a JSON body (if
// any) or a text body of its own type (text, type: a CSV); resolves with the
// parsed answer (null for 204), rejects with an ApiError.
export async function apiRequest(method, path, { token, body, text, type } = {}) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload;
    if (text !== undefined) {
        headers['Content-Type'] = type || 'text/plain; charset=utf-8';
        payload = text;
    } else if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
    }
    const res = await fetch(path, { method, headers, body: payload });
    if (res.status === 204) return null;
    const answer = await res.json().catch(() => null);
    if (!res.ok) throw refusal(res, answer, method, path);
    return answer;
}

// A file from our API (a CSV export) with the token in the Authorization
// header, never in the address: {blob, filename} (the server's
// Content-Disposition name, else fallback); rejects with an ApiError.
export async function apiDownload(path, { token, fallback = 'download' } = {}) {
    const res = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    if (!res.ok) throw refusal(res, await res.json().catch(() => null), 'GET', path);
    const named = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
    return { blob: await res.blob(), filename: named ? named[1] : fallback };
}

// Hand a Blob to the browser as a file to save.
export function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    // The download has its own copy once it starts; give it a moment.
    setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// A page opened from another of ours (the recordings console's Replay link)
// gets the token by message rather than in its address, which is copied
// with the link and kept in history.  Same origin only, both ways.
export function lendToken(token) {
    window.addEventListener('message', (ev) => {
        if (ev.origin !== window.location.origin || !ev.source || ev.data?.type !== 'token-request') return;
        ev.source.postMessage({ type: 'token', token }, window.location.origin);
    });
}

// The opener's token (lendToken), or '' when there is no opener of ours to
// ask or it does not answer within timeoutMs.
export function borrowToken(timeoutMs = 3000) {
    const { opener } = window;
    if (!opener) return Promise.resolve('');
    return new Promise((resolve) => {
        let timer = null;
        const onMessage = (ev) => {
            if (ev.origin !== window.location.origin || ev.source !== opener) return;
            if (ev.data?.type === 'token' && typeof ev.data.token === 'string') done(ev.data.token);
        };
        const done = (token) => {
            clearTimeout(timer);
            window.removeEventListener('message', onMessage);
            resolve(token);
        };
        timer = setTimeout(() => done(''), timeoutMs);
        window.addEventListener('message', onMessage);
        opener.postMessage({ type: 'token-request' }, window.location.origin);
    });
}

// The signalling endpoint lives on the same host and port as the page.
export function wsUrl(path = '/ws', loc = window.location) {
    const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${loc.host}${path}`;
}

// An element with properties (textContent, className, ...) and children;
// text goes in as text, never parsed as HTML.
export function el(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    Object.assign(e, props);
    e.append(...children);
    return e;
}

export function $(selector, root = document) {
    const el = root.querySelector(selector);
    if (!el) throw new Error(`missing element ${selector}`);
    return el;
}

export function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

// Exponential backoff with jitter, so a room full of viewers does not
// reconnect in lock-step after a server restart.
export function backoffDelay(attempt, baseMs = 500, maxMs = 10000) {
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 10));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

// on(type, fn) / emit(type, payload) for the pages' long-lived objects
// (the signalling client, the media connection).  on() returns a function
// that removes the handler.
export class Emitter {
    constructor(what) {
        this.what = what;           // named in the console when a handler throws
        this.listeners = new Map(); // type -> Set of handlers
    }

    on(type, fn) {
        if (!this.listeners.has(type)) this.listeners.set(type, new Set());
        this.listeners.get(type).add(fn);
        return () => this.listeners.get(type)?.delete(fn);
    }

    emit(type, payload) {
        for (const fn of this.listeners.get(type) || []) {
            try {
                fn(payload);
            } catch (err) {
                // One broken handler must not stop the others or the caller.
                console.error(`${this.what} handler for ${type} failed`, err);
            }
        }
    }
}

// The retry schedule of one reconnecting thing (the /ws socket, a page's
// PeerConnection): one timer at a time, backoffDelay(attempt) long, and an
// attempt count that success resets.
export class Backoff {
    constructor(baseMs = 500, maxMs = 10000) {
        this.baseMs = baseMs;
        this.maxMs = maxMs;
        this.attempt = 0;
        this.timer = null;
    }

    get pending() {
        return this.timer !== null;
    }

    // Run fn after the next delay; returns the delay, or null when a retry
    // is pending already.
    schedule(fn) {
        if (this.timer) return null;
        const delay = backoffDelay(this.attempt++, this.baseMs, this.maxMs);
        this.timer = setTimeout(() => {
            this.timer = null;
            fn();
        }, delay);
        return delay;
    }

    cancel() {
        clearTimeout(this.timer);
        this.timer = null;
    }

    reset() {
        this.attempt = 0;
    }
}

export function setState(state) {
    document.body.dataset.state = state;
}

// Errors are shown in the page (an element with role="alert"), not only in
// the console, because presenters rarely have devtools open.
export function showError(el, err) {
    const msg = typeof err === 'string' ? err : (err && (err.message || String(err))) || 'unknown error';
    el.textContent = msg;
    el.hidden = false;
}

export function clearError(el) {
    el.textContent = '';
    el.hidden = true;
}

// Put the room's video codec ('vp8' or 'h264', from the server's `joined`
// message or the page's #codec= parameter) first in a video transceiver's
// codec list.  Viewers can take either; the SFU forwards what is sent.
export function preferCodec(transceiver, codec = 'vp8') {
    if (typeof RTCRtpSender === 'undefined' || !RTCRtpSender.getCapabilities) return;
    if (!transceiver.setCodecPreferences) return;
    const caps = RTCRtpSender.getCapabilities('video');
    if (!caps) return;
    const want = `video/${codec === 'h264' ? 'h264' : 'vp8'}`;
    // H.264: packetization-mode 1 only (the SFU forwards that), constrained
    // baseline first.
    const rank = (c) => (c.sdpFmtpLine?.includes('profile-level-id=42e0') ? 0 : 1);
    const wanted = caps.codecs
        .filter((c) => c.mimeType.toLowerCase() === want
            && (want !== 'video/h264' || c.sdpFmtpLine?.includes('packetization-mode=1')))
        .sort((a, b) => rank(a) - rank(b));
    const codecs = [...wanted, ...caps.codecs.filter((c) => !wanted.includes(c))];
    try {
        transceiver.setCodecPreferences(codecs);
    } catch (err) {
        // Some browsers refuse send-side codec lists; the default order
        // still includes VP8, so the offer stays acceptable.
        console.warn('setCodecPreferences failed', err);
    }
}

// The codecs the SFU forwards (docs/protocol.md, "WHIP and WHEP"): Opus;
// VP8 and H.264 packetization-mode 1, with their retransmissions.
function forwarded(kind, codec) {
    const mime = codec.mimeType.toLowerCase();
    if (kind === 'audio') return mime === 'audio/opus';
    return mime === 'video/vp8' || mime === 'video/rtx'
        || (mime === 'video/h264' && /packetization-mode=1/.test(codec.sdpFmtpLine || ''));
}

// How many recvonly pairs a subscribe offer holds, from `joined`:
// `view_slots` (the stage's and a breakout group's slots), `stage_size` from
// an older server, at least one.
export function pairsToOffer(joined) {
    const n = Number.isInteger(joined?.view_slots) && joined.view_slots > 0 ? joined.view_slots : joined?.stage_size;
    return Number.isInteger(n) && n > 0 ? n : 1;
}

// Add `count` recvonly (audio, video) pairs to a subscribe connection: pair
// i receives slot i.  Each offers only what the SFU forwards: Chrome lists
// some twenty video codecs, and a pair per slot of a breakout group (13)
// with all of them makes a `subscribe` of about 90 KB, over the
// signalling's 64 KiB message limit; this way it is about 50 KB.
export function addReceivePairs(conn, count) {
    const caps = {};
    for (const kind of ['audio', 'video']) {
        const all = typeof RTCRtpReceiver !== 'undefined' && RTCRtpReceiver.getCapabilities?.(kind)?.codecs;
        caps[kind] = all ? all.filter((c) => forwarded(kind, c)) : null;
    }
    for (let slot = 0; slot < count; slot++) {
        for (const kind of ['audio', 'video']) {
            const t = conn.addTransceiver(kind, { direction: 'recvonly' });
            if (!caps[kind]?.length || !t.setCodecPreferences) continue;
            try {
                t.setCodecPreferences(caps[kind]);
            } catch (err) {
                // The full list still works where the offer is small enough.
                console.warn('setCodecPreferences (receive) failed', err);
            }
        }
    }
}

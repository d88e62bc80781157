// Small helpers shared by every Stagecast page.

// Room and token come from the fragment (#room=demo&token=eyJ...) because a
// fragment never reaches the server's access logs or a Referer header; the
// query string is accepted as a fallback for hand-written links.
export function readParams(loc = window.location) {
    const hash = new URLSearchParams(loc.hash.replace(/^#/, ''));
    const query = new URLSearchParams(loc.search);
    const pick = (key) => hash.get(key) || query.get(key) || '';
    return { room: pick('room'), token: pick('token'), name: pick('name') };
}

// The signalling endpoint lives on the same host and port as the page.
export function wsUrl(path = '/ws', loc = window.location) {
    const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${loc.host}${path}`;
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

// Put VP8 first in a video transceiver's codec list: it is the codec the
// SFU forwards to every viewer, so no viewer needs another one.
export function preferVp8(transceiver) {
    if (typeof RTCRtpSender === 'undefined' || !RTCRtpSender.getCapabilities) return;
    if (!transceiver.setCodecPreferences) return;
    const caps = RTCRtpSender.getCapabilities('video');
    if (!caps) return;
    const isVp8 = (c) => c.mimeType.toLowerCase() === 'video/vp8';
    const codecs = [...caps.codecs.filter(isVp8), ...caps.codecs.filter((c) => !isVp8(c))];
    try {
        transceiver.setCodecPreferences(codecs);
    } catch (err) {
        // Some browsers refuse send-side codec lists; the default order
        // still includes VP8, so the offer stays acceptable.
        console.warn('setCodecPreferences failed', err);
    }
}

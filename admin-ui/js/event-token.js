// A viewer admitted through an event's watch link (viewer.html#...&event=SLUG)
// holds a token of a few hours: renew it while the page plays, every 30
// minutes and at the latest 2 minutes before it expires, through POST
// /api/v1/watch/{slug}/renew (docs/protocol.md, "Events").  The fresh token
// replaces the signalling client's (its next join, a reconnect, uses it)
// and the one in the address, so a reload still gets in.
import { apiRequest, tokenClaims } from './util.js';

const EVERY_MS = 30 * 60 * 1000;
const BEFORE_EXP_MS = 2 * 60 * 1000;
const RETRY_MS = 30 * 1000;

// The token's `exp` in Unix ms, or null.
function expiryOf(token) {
    const { exp } = tokenClaims(token);
    return Number.isFinite(exp) ? exp * 1000 : null;
}

export class EventTokenRenewal {
    // sig: the SignalingClient whose `token` is renewed; onFail(err): a
    // renewal was refused (the token is no longer accepted).
    constructor(slug, sig, onFail) {
        this.slug = slug;
        this.sig = sig;
        this.onFail = onFail;
        this.timer = null;
        this.renewals = 0;
    }

    start() {
        this.schedule(EVERY_MS);
    }

    stop() {
        clearTimeout(this.timer);
        this.timer = null;
    }

    // The next renewal in inMs, or earlier if the token expires sooner.
    schedule(inMs) {
        const exp = expiryOf(this.sig.token);
        const latest = exp === null ? inMs : exp - BEFORE_EXP_MS - Date.now();
        this.at(Math.max(0, Math.min(inMs, latest)));
    }

    at(delayMs) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.renew().catch(() => {}), delayMs);
    }

    async renew() {
        const exp = expiryOf(this.sig.token);
        try {
            const fresh = await apiRequest('POST', `/api/v1/watch/${encodeURIComponent(this.slug)}/renew`,
                { token: this.sig.token });
            this.sig.token = fresh.token;
            const hash = new URLSearchParams(window.location.hash.slice(1));
            hash.set('token', fresh.token);
            window.history.replaceState(null, '', `#${hash}`);
            this.renewals++;
            this.schedule(EVERY_MS);
            return fresh;
        } catch (err) {
            // 401 (not this event's, or expired) and 403 (the event has
            // ended): never renewed.  Anything else (the network, a
            // restarting server): again shortly, while the token lasts.
            if (err.status === 401 || err.status === 403 || (exp !== null && exp <= Date.now())) {
                this.stop();
                this.onFail(err);
            } else {
                this.at(RETRY_MS);
            }
            throw err;
        }
    }
}

// The viewer page of an event's viewer (opened from the watch link,
// #...&event=SLUG): the event's landing (GET /api/v1/watch/{slug}) gives
// the page its title and the organiser's logo, runs the viewer's name
// across the video when the branding asks for the marquee, and tells the
// page when the event has ended.  The landing is asked again every half
// minute or so, and at once when the server ends the page's session or
// its connection (the end may be why).
import { pageTitle, showLogo } from './branding.js';
import { Marquee } from './marquee.js';
import { apiRequest, tokenClaims } from './util.js';

const CHECK_MS = 30000;
const SOON_MS = 1000;     // a check asked for by a closed session, debounced

export class ViewerEvent {
    // topbar: the page's header; stage: the element the videos are in;
    // token(): the viewer's token now (renewed while the page plays);
    // onEnded(info): the event has ended (called once).
    constructor(slug, { topbar, stage, token, onEnded }) {
        this.slug = slug;
        this.topbar = topbar;
        this.stage = stage;
        this.token = token;
        this.onEnded = onEnded;
        this.info = null;
        this.marquee = null;
        this.timer = null;
        this.ended = false;
    }

    start() {
        this.check();
    }

    stop() {
        clearTimeout(this.timer);
        this.timer = null;
        this.marquee?.stop();
        this.marquee = null;
    }

    // Ask the landing again shortly (a session or the connection closed).
    soon() {
        if (this.ended) return;
        this.schedule(SOON_MS);
    }

    schedule(ms) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.check(), ms);
    }

    async check() {
        if (this.ended) return;
        try {
            this.info = await apiRequest('GET', `/api/v1/watch/${encodeURIComponent(this.slug)}`);
        } catch (err) {
            // Deleted: nothing to show or wait for; the renewal says what
            // became of the viewer's access.  Anything else: later.
            if (err.status === 404) return;
            this.schedule(CHECK_MS);
            return;
        }
        if (this.ended) return;
        this.apply();
        if (this.info.state === 'ended') this.end();
        // Jitter, so a room full of viewers does not ask in step.
        else this.schedule(CHECK_MS * (0.8 + Math.random() * 0.4));
    }

    apply() {
        document.title = pageTitle(this.info);
        showLogo(this.topbar, this.info);
        const name = tokenClaims(this.token()).name;
        if (this.info.branding?.marquee === true && typeof name === 'string' && name) {
            if (this.marquee) this.marquee.text = name;
            else this.marquee = new Marquee(this.stage, name);
        } else {
            this.marquee?.stop();
            this.marquee = null;
        }
    }

    // The event is over (its landing says so, or the server refused to
    // renew the viewer's access because it ended): once.
    end(info = this.info) {
        if (this.ended) return;
        this.ended = true;
        this.stop();
        this.onEnded(info || { title: '', branding: {} });
    }

    // The renewal was refused because the event ended: the end text and
    // link come from the landing, asked once more.
    async endedByServer() {
        if (this.ended) return;
        try {
            this.info = await apiRequest('GET', `/api/v1/watch/${encodeURIComponent(this.slug)}`);
        } catch { /* the landing as last seen */ }
        this.end();
    }
}

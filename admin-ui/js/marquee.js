// The leak-tracing marquee (an event's branding `marquee`): the viewer's
// name runs slowly across the video, each pass at another height, so a
// recording of the screen shows whose screen it was.  It lies over the
// stage, hidden from screen readers and passing every click through to
// the video below.
import { el } from './util.js';

const PASS_MS = 20000;        // one pass from the right edge to the left
const TOP_MIN = 6, TOP_SPAN = 80;   // percent of the stage's height

export class Marquee {
    // stage: the element the videos are in (position: relative).
    constructor(stage, text) {
        this.item = el('span', { className: 'marquee', textContent: text });
        this.layer = el('div', { className: 'marquee-layer' }, this.item);
        this.layer.setAttribute('aria-hidden', 'true');
        stage.append(this.layer);
        this.animation = null;
        this.stopped = false;
        this.pass();
    }

    get text() {
        return this.item.textContent;
    }

    set text(value) {
        if (this.item.textContent !== value) this.item.textContent = value;
    }

    pass() {
        if (this.stopped) return;
        this.item.style.top = `${(TOP_MIN + Math.random() * TOP_SPAN).toFixed(1)}%`;
        // Less motion asked for: the name moves in a few jumps instead of
        // gliding, and still never stays in one place.
        const still = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
        this.animation = this.item.animate([
            { left: '100%', transform: 'translateX(0)' },
            { left: '0%', transform: 'translateX(-100%)' },
        ], { duration: PASS_MS, easing: still ? 'steps(5, jump-none)' : 'linear' });
        this.animation.finished.then(() => this.pass(), () => {});
    }

    stop() {
        this.stopped = true;
        this.animation?.cancel();
        this.layer.remove();
    }
}

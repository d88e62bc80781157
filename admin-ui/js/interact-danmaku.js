// Bullet comments (danmaku) and likes (docs/protocol.md, "Interactions").
// Comments arrive in the server's 100 ms batches and fly over the video:
// `scroll` ones right to left in the first free lane, `top` / `bottom`
// ones centred for a few seconds.  A toggle hides them.

import { el, explain, hasPerm } from './interact-ui.js';

const LANE_PX = 30;
const SCROLL_MS = 8000;
const FIXED_MS = 4000;
const MAX_ON_SCREEN = 60;
const COLOR_RE = /^#[0-9a-fA-F]{6}$/;

export const DANMAKU_COLORS = [
    ['#ffffff', 'White'], ['#ff5a5f', 'Red'], ['#ffd43b', 'Yellow'],
    ['#51cf66', 'Green'], ['#4dabf7', 'Blue'], ['#f783ac', 'Pink'],
];

export class DanmakuLayer {
    // stage: the element the video is in (position: relative); toggle: a
    // checkbox that shows or hides the comments.
    constructor(stage, sig, toggle) {
        this.layer = el('div', { class: 'danmaku-layer', id: 'danmaku-layer', 'aria-hidden': 'true' });
        stage.append(this.layer);
        this.toggle = toggle;
        // lane -> time it frees up.  Top comments share the scrolling
        // lanes (both count from the top), so they never cover each other.
        const fromTop = [];
        this.lanes = { scroll: fromTop, top: fromTop, bottom: [] };
        toggle?.addEventListener('change', () => {
            this.layer.hidden = !toggle.checked;
            if (!toggle.checked) this.layer.replaceChildren();
        });
        sig.on('batch', (msg) => (msg.messages || []).forEach((m) => {
            if (m.type === 'danmaku') this.show(m);
        }));
    }

    laneFor(kind, now, freeAt) {
        const count = Math.max(1, Math.floor((this.layer.clientHeight * 0.8) / LANE_PX));
        const lanes = this.lanes[kind];
        let best = 0;
        for (let i = 0; i < count; i++) {
            const t = lanes[i] ?? 0;
            if (t <= now) {
                best = i;
                break;
            }
            if (t < (lanes[best] ?? 0)) best = i;
        }
        lanes[best] = freeAt;
        return best;
    }

    show(m) {
        if (this.toggle && !this.toggle.checked) return;
        if (this.layer.childElementCount >= MAX_ON_SCREEN) return;   // a flood: drop, do not pile up
        const kind = ['top', 'bottom'].includes(m.position) ? m.position : 'scroll';
        const item = el('span', { class: `danmaku danmaku-${kind}`, text: m.text ?? '' });
        if (typeof m.color === 'string' && COLOR_RE.test(m.color)) item.style.color = m.color;
        item.title = m.from?.name || '';
        this.layer.append(item);
        const now = performance.now();
        const width = this.layer.clientWidth;
        const own = item.offsetWidth;
        let done;
        if (kind === 'scroll') {
            // The lane is free again once this comment's tail has entered.
            const lane = this.laneFor(kind, now, now + (SCROLL_MS * own) / Math.max(1, width + own));
            item.style.top = `${lane * LANE_PX}px`;
            done = item.animate([{ transform: 'translateX(0)' }, { transform: `translateX(-${width + own}px)` }],
                { duration: SCROLL_MS, easing: 'linear' }).finished;
        } else {
            const lane = this.laneFor(kind, now, now + FIXED_MS);
            item.style[kind] = `${lane * LANE_PX}px`;
            done = new Promise((r) => setTimeout(r, FIXED_MS));
        }
        done.catch(() => {}).then(() => item.remove());
    }
}

// The box to send one.  root: an empty element.
export class DanmakuForm {
    constructor(root, sig) {
        this.sig = sig;
        this.input = el('input', {
            id: 'danmaku-input', maxlength: 100, autocomplete: 'off', placeholder: 'Send a bullet comment…',
            'aria-label': 'Bullet comment',
        });
        this.color = el('select', { id: 'danmaku-color', 'aria-label': 'Colour' },
            ...DANMAKU_COLORS.map(([value, text]) => el('option', { value, text })));
        this.position = el('select', { id: 'danmaku-position', 'aria-label': 'Position' },
            el('option', { value: 'scroll', text: 'Scrolling' }),
            el('option', { value: 'top', text: 'Top' }),
            el('option', { value: 'bottom', text: 'Bottom' }));
        this.button = el('button', { type: 'submit', text: 'Fly' });
        this.status = el('span', { class: 'note danmaku-status', role: 'status' });
        this.held = new Set();
        const form = el('form', { class: 'danmaku-form', id: 'danmaku-form', 'aria-label': 'Bullet comment' },
            this.input, this.color, this.position, this.button, this.status);
        root.append(form);
        form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.send();
        });
        sig.on('joined', (msg) => {
            const can = hasPerm(msg, 'chat');
            this.input.disabled = this.button.disabled = !can;
        });
        sig.on('review_done', (msg) => {
            if (this.held.delete(msg.review_id)) {
                this.status.textContent = msg.approved ? 'Your comment was approved.' : 'Your comment was not approved.';
            }
        });
    }

    async send() {
        const text = this.input.value.trim();
        if (!text) return;
        this.status.textContent = '';
        try {
            const reply = await this.sig.request({
                type: 'danmaku', text, color: this.color.value, position: this.position.value,
            });
            this.input.value = '';
            if (reply.type === 'held') {
                this.held.add(reply.review_id);
                this.status.textContent = 'Waiting for a moderator to approve.';
            }
        } catch (err) {
            this.status.textContent = explain(err);
        }
    }
}

// The like button with the room's live total.  Likes come back only as
// the room's total in the batches.
export class LikeButton {
    constructor(root, sig) {
        this.sig = sig;
        this.total = el('span', { class: 'likes-total', id: 'likes-total', 'aria-live': 'off', text: '0' });
        this.button = el('button', { type: 'button', id: 'like-button', class: 'like', 'aria-label': 'Like' },
            el('span', { 'aria-hidden': 'true', text: '♥ ' }), 'Like');
        this.status = el('span', { class: 'note', role: 'status' });
        root.append(this.button, el('span', { class: 'likes' }, this.total, ' likes'), this.status);
        this.button.addEventListener('click', async () => {
            this.button.classList.remove('pop');
            void this.button.offsetWidth;   // restart the animation
            this.button.classList.add('pop');
            try {
                await sig.request({ type: 'like' });
                this.status.textContent = '';
            } catch (err) {
                this.status.textContent = explain(err);
            }
        });
        sig.on('batch', (msg) => (msg.messages || []).forEach((m) => {
            if (m.type === 'likes' && typeof m.total === 'number') this.total.textContent = String(m.total);
        }));
        // On join the server sends the total alone (delta 0), outside a batch.
        sig.on('likes', (m) => {
            if (typeof m.total === 'number') this.total.textContent = String(m.total);
        });
    }
}

// Check-in (docs/protocol.md, "Interactions").  The host opens one for a
// fixed time; the audience gets a prompt with a countdown and checks in
// with one tap; the host watches the count and the list and exports it as
// CSV (GET /api/rooms/{room}/checkins.csv, the page's token as Bearer).

import { actionButton, el, explain, hasPerm, setOff, timeOf } from './interact-ui.js';
import { apiDownload, saveBlob } from './util.js';

// Seconds left of an open check-in.  ends_at is the server's clock; when
// ours disagrees by more than the check-in's length we trust its duration.
function secondsLeft(ck, receivedAt) {
    const dur = (ck.duration_s ?? 60) * 1000;
    let end = ck.ends_at;
    if (typeof end !== 'number' || end - Date.now() > dur || end < receivedAt - 1000) end = receivedAt + dur;
    return Math.max(0, Math.ceil((end - Date.now()) / 1000));
}

// The audience's prompt.  root: an empty element the page placed where a
// prompt should appear.
export class CheckinPrompt {
    constructor(root, sig) {
        this.root = root;
        this.sig = sig;
        this.moderator = false;
        this.current = null;
        this.mine = new Set();   // check-in ids I checked in to
        this.timer = null;
        root.classList.add('notice-card', 'checkin-prompt');
        root.setAttribute('role', 'region');
        root.setAttribute('aria-label', 'Check-in');
        root.hidden = true;
        this.text = el('p', { class: 'notice-title' });
        this.countdown = el('span', { class: 'countdown', id: 'checkin-countdown', 'aria-live': 'off' });
        this.state = el('p', { class: 'note', role: 'status', id: 'checkin-state' });
        this.button = el('button', { type: 'button', class: 'primary', id: 'checkin-button', text: 'Check in' });
        this.dismiss = el('button', { type: 'button', text: 'Dismiss', onclick: () => { root.hidden = true; } });
        root.append(this.text, this.countdown, this.state, el('div', { class: 'actions' }, this.button, this.dismiss));
        this.button.addEventListener('click', () => this.checkIn());
        sig.on('joined', (msg) => { this.moderator = hasPerm(msg, 'moderate'); });
        sig.on('checkin', (ck) => this.show(ck));
    }

    show(ck) {
        if (this.moderator) return;   // hosts and assistants run it from their panel
        this.current = { ...ck, receivedAt: Date.now() };
        clearInterval(this.timer);
        const done = this.mine.has(ck.id);
        this.root.hidden = false;
        this.root.dataset.state = ck.state;
        if (ck.state === 'open') {
            this.text.textContent = 'The host asks everyone to check in.';
            this.button.hidden = done;
            this.button.disabled = false;
            this.dismiss.hidden = true;
            this.state.textContent = done ? '✓ You are checked in.' : '';
            this.tick();
            this.timer = setInterval(() => this.tick(), 1000);
        } else {
            this.text.textContent = 'Check-in closed.';
            this.countdown.textContent = '';
            this.button.hidden = true;
            this.dismiss.hidden = false;
            this.state.textContent = done ? '✓ You checked in.' : 'You did not check in.';
        }
    }

    tick() {
        const ck = this.current;
        if (!ck || ck.state !== 'open') return;
        const s = secondsLeft(ck, ck.receivedAt);
        this.countdown.textContent = s > 0 ? `${s} s left` : 'closing…';
    }

    async checkIn() {
        const ck = this.current;
        if (!ck) return;
        this.button.disabled = true;
        try {
            const reply = await this.sig.request({ type: 'checkin' });
            this.mine.add(reply.checkin ?? ck.id);
            this.button.hidden = true;
            this.state.textContent = '✓ You are checked in.';
        } catch (err) {
            this.button.disabled = false;
            this.state.textContent = explain(err);
        }
    }
}

// The moderators' panel.  getRoom() and token give the CSV export its URL
// and credentials.
export class CheckinAdmin {
    constructor(root, sig, { token, getRoom }) {
        this.sig = sig;
        this.token = token;
        this.getRoom = getRoom;
        this.current = null;
        this.listing = null;     // the checkin_list request in flight
        this.again = false;
        this.timer = null;
        this.duration = el('input', { type: 'number', id: 'checkin-duration', min: 5, max: 3600, value: 60 });
        this.status = el('p', { class: 'note', role: 'status' });
        this.summary = el('p', { class: 'checkin-summary', id: 'checkin-summary', 'aria-live': 'polite', text: 'No check-in yet.' });
        this.count = el('span', { class: 'big-count', id: 'checkin-count', text: '0' });
        this.list = el('ol', { class: 'plain-list', id: 'checkin-list', 'aria-label': 'Checked in' });
        this.openButton = actionButton('Open check-in', () => this.open(), { statusEl: this.status, cls: 'primary' });
        this.closeButton = actionButton('Close check-in', () => sig.request({ type: 'checkin_close' }),
            { statusEl: this.status });
        this.csv = actionButton('Download CSV', () => this.download(), { statusEl: this.status });
        root.append(
            el('div', { class: 'form-row' },
                el('label', { class: 'field', for: 'checkin-duration', text: 'Duration (seconds)' }), this.duration),
            el('div', { class: 'actions' }, this.openButton, this.closeButton),
            this.status,
            el('p', {}, 'Checked in: ', this.count), this.summary,
            this.list, this.csv);
        setOff(this.closeButton, true);
        sig.on('checkin', (ck) => {
            this.current = { ...ck, receivedAt: Date.now() };
            this.setCount(ck.count);
            this.render();
            this.refreshList();
        });
        sig.on('checkin_count', (m) => {
            if (this.current && m.checkin !== this.current.id) return;
            this.setCount(m.count);
            this.refreshList();
        });
    }

    async open() {
        const d = Number(this.duration.value);
        if (!Number.isInteger(d) || d < 5 || d > 3600) throw new Error('The duration is 5 to 3600 seconds.');
        await this.sig.request({ type: 'checkin_open', duration_s: d });
        this.list.replaceChildren();
    }

    setCount(n) {
        if (typeof n === 'number') this.count.textContent = String(n);
    }

    render() {
        clearInterval(this.timer);
        const ck = this.current;
        if (!ck) return;
        const open = ck.state === 'open';
        setOff(this.openButton, open);
        setOff(this.closeButton, !open);
        const tick = () => {
            this.summary.textContent = open
                ? `Check-in #${ck.id} open · ${secondsLeft(ck, ck.receivedAt)} s left`
                : `Check-in #${ck.id} closed`;
        };
        tick();
        if (open) this.timer = setInterval(tick, 1000);
    }

    // One list request at a time; changes meanwhile ask for one more.
    refreshList() {
        if (this.listing) {
            this.again = true;
            return;
        }
        this.listing = this.sig.request({ type: 'checkin_list' }).then((reply) => {
            const users = reply.users || [];
            users.sort((a, b) => a.ts - b.ts);
            this.list.replaceChildren(...users.map((u) => el('li', {},
                el('span', { class: 'who', text: u.name || u.user_id }),
                el('span', { class: 'detail', text: ` ${timeOf(u.ts)}` }))));
            this.setCount(users.length);
        }).catch((err) => {
            if (err.code !== 'not-found') this.status.textContent = explain(err);
        }).finally(() => {
            this.listing = null;
            if (this.again) {
                this.again = false;
                this.refreshList();
            }
        });
    }

    // A link cannot carry the Authorization header, so fetch the file
    // and hand the browser a blob to save.
    async download() {
        const room = this.getRoom();
        let file;
        try {
            file = await apiDownload(`/api/rooms/${encodeURIComponent(room)}/checkins.csv`, { token: this.token });
        } catch (err) {
            throw new Error(`Export failed: ${err.message}${err.code ? ` (${err.code})` : ''}`);
        }
        saveBlob(file.blob, `checkins-${room}.csv`);
        this.status.textContent = 'CSV downloaded.';
    }
}

// A participant's side of breakout groups (docs/protocol.md, "Breakout
// groups"): the bar over the stage while in a group (its name, the time
// left, the closing countdown, "Ask for help"), the list to pick a group
// from when the trainer lets participants choose, the trainer's broadcasts,
// and the camera and microphone the group sees.
//
// Moving into a group, between groups and back moves this page's sessions
// inside the server: the subscribe connection stays and receives the
// group's publishers (the viewer page re-maps its tiles from the `group`
// message's `publishers`, see onMove), and the publish connection made at
// the first group is parked, not closed, while back in the main room: its
// tracks are turned off and on again at the next group.
//
//   const groups = new GroupParticipant(root, sig, { broadcastRoot, videoCodec, onMove, onChange });
//   groups.place      // the last `group` message (null: the main room)
//   groups.publisher  // the GuestPublisher (js/guest.js) once the first group asked to publish
//
// document.body.dataset.group is the group's id while in one, else empty.

import { GuestPublisher } from './guest.js';
import { actionButton, clockText, el, secondsUntil } from './interact-ui.js';
import { retryText } from './peer.js';

const TICK_MS = 500;

// Whether a group's `help` (a count, a flag, or the requests) may still
// hold this user's request.
function helpStillAsked(help, userId) {
    if (Array.isArray(help)) return help.some((h) => h === userId || h?.user_id === userId);
    return !!help;
}

export class GroupParticipant {
    // root: the page's empty #group-view; broadcastRoot: where broadcasts
    // show (they reach the main room too); videoCodec(): what to publish;
    // onMove(msg): the connection moved (msg: `group`); onChange(): the
    // own camera appeared or changed (the page redraws its own tile).
    constructor(root, sig, { broadcastRoot, videoCodec, onMove, onChange }) {
        this.root = root;
        this.sig = sig;
        this.videoCodec = videoCodec;
        this.onMove = onMove;
        this.onChange = onChange;
        this.place = null;       // the last `group` message while in a group
        this.groups = null;      // the last `groups` message
        this.publisher = null;   // GuestPublisher, kept for the whole class
        this.helpAsked = false;
        this.timer = null;
        this.build(broadcastRoot);
        sig.on('joined', () => {
            // A new connection: the server sends `groups` (and `group` if
            // this user is in an open group) right after.
            this.place = null;
            this.groups = null;
            this.render();
        });
        sig.on('groups', (msg) => {
            this.groups = msg;
            // A visit of the trainer answers the group's requests.
            const mine = (msg.groups || []).find((x) => x.id === this.place?.group?.id);
            if (mine && !helpStillAsked(mine.help, sig.joined?.user_id)) this.helpAsked = false;
            this.render();
        });
        sig.on('group', (msg) => this.move(msg));
        sig.on('broadcast', (msg) => this.showBroadcast(msg));
        sig.on('close', () => {
            // The server ended this socket's sessions, the publish one too;
            // the next group publishes anew.
            const p = this.publisher;
            this.publisher = null;
            p?.stop(false);
            this.place = null;
            this.render();
        });
    }

    build(broadcastRoot) {
        this.name = el('strong', { id: 'group-name' });
        this.timeLeft = el('span', { class: 'countdown', id: 'group-timer', 'aria-live': 'off' });
        this.grace = el('span', { class: 'countdown', id: 'group-grace', role: 'status', hidden: true });
        this.status = el('p', { class: 'note', id: 'group-status', role: 'status' });
        this.help = actionButton('Ask for help', () => this.toggleHelp(), { statusEl: this.status });
        this.help.id = 'group-help';
        this.help.setAttribute('aria-pressed', 'false');
        this.talking = el('span', { class: 'group-talking', id: 'group-talking', role: 'status', hidden: true,
            text: '🔊 The trainer is speaking to all groups' });
        this.bar = el('div', { class: 'group-bar' },
            el('span', {}, 'Your group: ', this.name), this.timeLeft, this.grace, this.talking, this.help);
        this.chooseList = el('ul', { class: 'group-choices', id: 'group-choose', 'aria-label': 'Groups to choose from' });
        this.choose = el('div', { class: 'group-choose', hidden: true },
            el('p', { class: 'notice-title', text: 'Choose your group' }), this.chooseList);
        this.root.classList.add('notice-card', 'group-view');
        this.root.setAttribute('aria-label', 'Breakout group');
        this.root.append(this.bar, this.choose, this.status);
        this.root.hidden = true;

        this.broadcast = broadcastRoot;
        this.broadcastText = el('span', { class: 'broadcast-text', id: 'group-broadcast-text' });
        this.broadcastBy = el('span', { class: 'announcement-by' });
        broadcastRoot.classList.add('announcement', 'broadcast');
        broadcastRoot.setAttribute('role', 'status');
        broadcastRoot.setAttribute('aria-label', 'Message from the trainer');
        broadcastRoot.append(el('span', { 'aria-hidden': 'true', text: '📣' }), this.broadcastText, this.broadcastBy,
            el('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss the message', text: '×',
                onclick: () => { broadcastRoot.hidden = true; } }));
        broadcastRoot.hidden = true;
    }

    get inGroup() {
        return !!this.place?.group;
    }

    // The `group` message: this connection is now in a group or back in
    // the main room.  Publishing starts at the first group that allows it;
    // later moves only turn the tracks on and off.
    move(msg) {
        const before = this.place?.group?.id ?? null;
        this.place = msg.group ? msg : null;
        if ((msg.group?.id ?? null) !== before) this.helpAsked = false;
        const publish = !!msg.group && msg.publish === true;
        if (publish && (!this.publisher || ['error', 'stopped'].includes(this.publisher.state))) {
            this.publisher = new GuestPublisher(this.sig, {
                videoCodec: this.videoCodec(),
                onChange: (g) => {
                    if (g === this.publisher) this.showPublisher();
                },
            });
            this.publisher.park(false);
            this.publisher.start().catch(() => {});   // its state says why
        } else {
            this.publisher?.park(!publish);
        }
        this.onMove(msg);
        this.render();
    }

    showPublisher() {
        const g = this.publisher;
        if (g && this.inGroup) {
            this.status.textContent = g.state === 'error' ? g.error
                : g.state === 'connecting' ? (g.retrying ? retryText(g.retrying) : 'Starting your camera…') : '';
        }
        this.onChange();
    }

    render() {
        clearInterval(this.timer);
        this.timer = null;
        const g = this.groups;
        const place = this.place;
        document.body.dataset.group = place?.group ? String(place.group.id) : '';
        const choosing = !place && g?.mode === 'choose' && g.state !== 'closing' && (g.groups || []).length > 0;
        this.root.hidden = !place && !choosing;
        this.bar.hidden = !place;
        this.choose.hidden = !choosing;
        if (!place) this.status.textContent = '';
        if (choosing) this.renderChoices(g);
        if (!place) return;
        this.name.textContent = place.group.name || `Group ${place.group.id}`;
        this.talking.hidden = !g?.talking;
        this.help.textContent = this.helpAsked ? 'Cancel help request' : 'Ask for help';
        this.help.setAttribute('aria-pressed', String(this.helpAsked));
        this.tick();
        this.timer = setInterval(() => this.tick(), TICK_MS);
    }

    // The times: the `groups` message's are the newest (an extension or a
    // close changes only them), this group's closing_at in its list (one
    // group may close alone); the `group` message's count until one arrives.
    tick() {
        const place = this.place;
        if (!place) return;
        const g = this.groups;
        const mine = (g?.groups || []).find((x) => x.id === place.group.id);
        const endsAt = g?.ends_at ?? place.ends_at ?? null;
        const closingAt = mine?.closing_at ?? (g?.state === 'closing' ? g.closing_at : null) ?? place.closing_at ?? null;
        const left = secondsUntil(endsAt);
        const warning = typeof g?.warning === 'number' ? g.warning : 60;
        this.timeLeft.hidden = left === null || closingAt !== null;
        this.timeLeft.textContent = left === null ? '' : `${clockText(left)} left`;
        this.timeLeft.classList.toggle('warning', left !== null && left <= warning);
        this.timeLeft.dataset.warning = left !== null && left <= warning ? '1' : '';
        const grace = secondsUntil(closingAt);
        this.grace.hidden = grace === null;
        this.grace.textContent = grace === null ? '' : `Groups close: back to the main room in ${grace} s`;
    }

    renderChoices(g) {
        const cap = typeof g.cap === 'number' ? g.cap : null;
        const mine = (g.groups || []).find((x) => (x.members || []).some((m) => m.user_id === this.sig.joined?.user_id));
        this.chooseList.replaceChildren(...(g.groups || []).map((grp) => {
            const name = grp.name || `Group ${grp.id}`;
            const count = (grp.members || []).length;
            const full = cap !== null && count >= cap;
            const here = mine?.id === grp.id;
            const button = actionButton(here ? 'Chosen' : 'Join', () => this.sig.request({ type: 'group_choose', group: grp.id }),
                { label: `Join ${name}`, statusEl: this.status, cls: here ? '' : 'primary' });
            button.disabled = here || (full && !here);
            return el('li', { dataset: { groupId: String(grp.id) } },
                el('span', { class: 'who', text: name }),
                el('span', { class: 'detail', text: cap !== null ? `${count} / ${cap}` : `${count}` }),
                button);
        }));
    }

    async toggleHelp() {
        const cancel = this.helpAsked;
        await this.sig.request(cancel ? { type: 'help', cancel: true } : { type: 'help' });
        this.helpAsked = !cancel;
        this.status.textContent = this.helpAsked ? 'The trainer has been asked to come to your group.' : '';
        this.render();
    }

    showBroadcast(msg) {
        if (typeof msg.text !== 'string' || !msg.text) return;
        this.broadcastText.textContent = msg.text;
        this.broadcastBy.textContent = msg.by ? ` — ${msg.by}` : '';
        this.broadcast.hidden = false;
    }
}

// The trainer's side of breakout groups (docs/protocol.md, "Breakout
// groups") on the presenter page, for a token with `moderate`: make the
// groups (a number or names), assign the participants (automatically, by
// hand with a select or by dragging a name onto a group, or let them
// choose), open them for a time, extend or close them (all, with a grace
// countdown, or one), write to every group, answer help requests, listen
// to or join a group, and hold "Talk to all" to speak into every group.
// Once the groups are closed a member can be brought on stage (`invite`,
// docs/protocol.md "Stage").
//
// Listening to or joining a group needs something to receive it with: the
// panel makes a subscribe connection (js/peer.js) before its first visit
// and the server moves that session into the group; it is given up when
// the trainer is back in the main room.  While the groups are open the
// wall (js/groups-wall.js) shows every group at a glance.
//
//   const groups = new GroupsTrainer(root, sig, { visitRoot, wallRoot, isLive });
//   groups.state      // the last `groups` message
//   groups.place      // the trainer's last `group` message while visiting, else null
//   groups.visitPc    // the visit's RTCPeerConnection, or null
//   groups.wall       // the GroupsWall
//
// document.body.dataset.groups is the groups' state (idle, open, closing).

import { GroupsWall } from './groups-wall.js';
import { actionButton, clockText, el, hasPerm, secondsUntil, timeOf } from './interact-ui.js';
import { PeerSession } from './peer.js';
import { addReceivePairs, pairsToOffer } from './util.js';

const TICK_MS = 500;
const SUBSCRIBE_TIMEOUT_MS = 20000;

const groupName = (g) => g?.name || (g ? `Group ${g.id}` : 'the main room');

export class GroupsTrainer {
    // root: the page's (hidden) #groups-admin section; visitRoot: where a
    // visited group's tiles go; wallRoot: where the wall goes; isLive():
    // whether the page publishes now (talking to all groups needs the
    // trainer's publish session).
    constructor(root, sig, { visitRoot, wallRoot, isLive }) {
        this.root = root;
        this.sig = sig;
        this.isLive = isLive;
        this.state = null;      // the last `groups`
        this.place = null;      // the trainer's `group` while visiting
        this.talking = false;
        this.timer = null;
        this.visit = new VisitView(visitRoot, sig);
        this.build();
        this.wall = new GroupsWall(wallRoot, sig, {
            visit: (group, mode) => this.visitGroup(group, mode),
            statusEl: this.status,
        });
        root.hidden = true;
        sig.on('joined', (msg) => {
            root.hidden = !hasPerm(msg, 'moderate');
            this.place = null;
            sig.channel?.pinSocket(false);
            this.visit.leave();
        });
        sig.on('groups', (msg) => {
            this.state = msg;
            this.render();
        });
        // A channel made while visiting (the page went live meanwhile).
        sig.on('interaction-transport', ({ transport }) => {
            if (transport === 'datachannel' && this.place) sig.channel.pinSocket(true);
        });
        sig.on('group', (msg) => {
            this.place = msg.group ? msg : null;
            // The socket is in the group now, the publish session's data
            // channel still in the main room: interactions follow the socket.
            sig.channel?.pinSocket(!!msg.group);
            if (msg.group) this.visit.show(msg, sig.joined?.user_id);
            else this.visit.leave();
            this.wall.setVisiting(msg.group?.id ?? null);
            this.renderVisiting();
        });
    }

    get visitPc() {
        return this.visit.peer?.pc ?? null;
    }

    build() {
        const input = (attrs) => el('input', attrs);
        this.status = el('p', { class: 'note', role: 'status', id: 'groups-status' });
        this.stateLine = el('p', { class: 'groups-state', id: 'groups-state', 'aria-live': 'polite' });

        // Before the groups open: make them, assign, open.
        this.count = input({ type: 'number', id: 'groups-count', min: 1, max: 50, value: 2 });
        this.names = el('textarea', { id: 'groups-names', rows: 2, placeholder: 'or their names, one per line' });
        this.mode = el('select', { id: 'groups-mode' },
            el('option', { value: 'auto', text: 'Automatic' }),
            el('option', { value: 'manual', text: 'Manual' }),
            el('option', { value: 'choose', text: 'Participants choose' }));
        this.cap = input({ type: 'number', id: 'groups-cap', min: 1, max: 12, placeholder: '12' });
        this.capRow = el('div', { class: 'form-row', hidden: true },
            el('label', { class: 'field', for: 'groups-cap', text: 'Places per group' }), this.cap);
        this.mode.addEventListener('change', () => { this.capRow.hidden = this.mode.value !== 'choose'; });
        this.duration = input({ type: 'number', id: 'groups-duration', min: 0, max: 1440, step: 'any', value: 15 });
        const act = (text, fn, opts = {}) => actionButton(text, fn, { statusEl: this.status, ...opts });
        this.setup = el('div', { class: 'stack' },
            el('div', { class: 'form-row' },
                el('label', { class: 'field', for: 'groups-count', text: 'Number of groups' }), this.count),
            el('label', { class: 'field', for: 'groups-names', text: 'Group names (optional)' }), this.names,
            el('div', { class: 'actions' }, act('Create groups', () => this.create(), { cls: 'primary' })),
            el('div', { class: 'form-row' },
                el('label', { class: 'field', for: 'groups-mode', text: 'Assignment' }), this.mode),
            this.capRow,
            el('div', { class: 'actions' },
                act('Assign', () => this.assign()),
                act('Reuse last grouping', () => this.sig.request({ type: 'groups_reuse' }))),
            el('div', { class: 'form-row' },
                el('label', { class: 'field', for: 'groups-duration', text: 'Duration (minutes, 0: no timer)' }),
                this.duration),
            el('div', { class: 'actions' }, act('Open groups', () => this.open(), { cls: 'primary' })));

        // While they are open.
        this.grace = input({ type: 'number', id: 'groups-grace', min: 0, max: 120, value: 10 });
        this.broadcastText = input({ type: 'text', id: 'groups-broadcast-text', maxLength: 500,
            placeholder: 'A message to every group' });
        this.talk = el('button', { type: 'button', id: 'groups-talk', 'aria-pressed': 'false',
            text: 'Hold to talk to all groups' });
        this.watchTalk();
        this.running = el('div', { class: 'stack' },
            el('div', { class: 'actions' },
                act('+1 min', () => this.extend(60), { label: 'Extend by one minute' }),
                act('+5 min', () => this.extend(300), { label: 'Extend by five minutes' })),
            el('div', { class: 'form-row' },
                el('label', { class: 'field', for: 'groups-grace', text: 'Grace before closing (s)' }), this.grace),
            el('div', { class: 'actions' }, act('Close all groups', () => this.close(null), { cls: 'danger' })),
            el('label', { class: 'field', for: 'groups-broadcast-text', text: 'Broadcast' }),
            el('div', { class: 'form-row' }, this.broadcastText,
                act('Send', () => this.broadcast(), { label: 'Send to all groups' })),
            this.talk);

        this.visiting = el('p', { class: 'note', id: 'groups-visiting', role: 'status' });
        this.back = act('Back to main room', () => this.sig.request({ type: 'group_visit', group: null }));
        this.visitRow = el('div', { class: 'form-row', hidden: true }, this.visiting, this.back);

        this.help = el('ul', { id: 'groups-help', 'aria-labelledby': 'groups-help-heading' });
        this.helpEmpty = el('p', { class: 'note', text: 'No requests.' });
        this.list = el('ul', { id: 'groups-list', 'aria-label': 'Groups' });
        this.unassigned = el('ul', { id: 'groups-unassigned', 'aria-labelledby': 'groups-unassigned-heading' });
        this.dropZone(this.unassigned, null);
        this.root.classList.add('people', 'groups-admin');
        this.root.append(
            el('h2', { id: 'groups-heading', text: 'Breakout groups' }),
            this.stateLine, this.status, this.visitRow, this.setup, this.running,
            el('h2', { id: 'groups-help-heading', text: 'Help requests' }), this.help, this.helpEmpty,
            this.list,
            el('h2', { id: 'groups-unassigned-heading', text: 'Not in a group' }), this.unassigned);
        this.render();
    }

    // ---- requests --------------------------------------------------------

    create() {
        const names = this.names.value.split('\n').map((n) => n.trim()).filter(Boolean);
        if (names.length) return this.sig.request({ type: 'groups_create', names });
        const count = Number(this.count.value);
        if (!Number.isInteger(count) || count < 1) throw new Error('Give a number of groups.');
        return this.sig.request({ type: 'groups_create', count });
    }

    assign() {
        const mode = this.mode.value;
        const msg = { type: 'groups_assign', mode };
        if (mode === 'manual') msg.assignments = {};
        if (mode === 'choose' && this.cap.value) msg.cap = Number(this.cap.value);
        return this.sig.request(msg);
    }

    open() {
        const minutes = Number(this.duration.value || 0);
        if (!(minutes >= 0)) throw new Error('Give the duration in minutes.');
        return this.sig.request({ type: 'groups_open', duration: Math.round(minutes * 60) });
    }

    extend(seconds) {
        return this.sig.request({ type: 'groups_extend', seconds });
    }

    close(group) {
        const msg = { type: 'groups_close', grace: Number(this.grace.value || 0) };
        if (group !== null) msg.group = group;
        return this.sig.request(msg);
    }

    async broadcast() {
        const text = this.broadcastText.value.trim();
        if (!text) throw new Error('Type the message first.');
        await this.sig.request({ type: 'groups_broadcast', text });
        this.broadcastText.value = '';
    }

    move(userId, group) {
        return this.sig.request({ type: 'group_move', user_id: userId, group });
    }

    // Listen to or join a group: the visit's subscribe session first, so
    // the server has a session to move into it.
    async visitGroup(group, mode) {
        await this.visit.subscribe();
        await this.sig.request({ type: 'group_visit', group, mode });
    }

    // "Talk to all": on while the button is held (mouse, touch or keys).
    watchTalk() {
        const set = (on) => {
            if (on === this.talking) return;
            this.talking = on;
            this.talk.setAttribute('aria-pressed', String(on));
            this.sig.request({ type: 'groups_talk', on }).catch((err) => {
                this.status.textContent = `Talk to all (${err.code || 'error'}): ${err.message}`;
                this.talking = false;
                this.talk.setAttribute('aria-pressed', 'false');
            });
        };
        this.talk.addEventListener('pointerdown', () => set(true));
        for (const type of ['pointerup', 'pointerleave', 'pointercancel', 'blur']) {
            this.talk.addEventListener(type, () => set(false));
        }
        this.talk.addEventListener('keydown', (ev) => {
            if ((ev.key === ' ' || ev.key === 'Enter') && !ev.repeat) set(true);
        });
        this.talk.addEventListener('keyup', (ev) => {
            if (ev.key === ' ' || ev.key === 'Enter') set(false);
        });
    }

    // ---- drawing ---------------------------------------------------------

    render() {
        const g = this.state;
        const state = g?.state || 'idle';
        const groups = g?.groups || [];
        document.body.dataset.groups = state;
        const open = state === 'open' || state === 'closing';
        this.setup.hidden = open;
        this.running.hidden = !open;
        this.talk.hidden = !this.isLive();
        this.talk.classList.toggle('on', !!g?.talking);
        this.renderHelp(g?.help || [], groups);
        this.list.replaceChildren(...groups.map((grp) => this.groupCard(grp, groups, state)));
        this.unassigned.replaceChildren(...(g?.unassigned || []).map((m) => this.memberItem(m, null, groups, state)));
        // Only staff may watch the groups.
        this.wall?.update(this.root.hidden ? null : g);
        clearInterval(this.timer);
        this.timer = null;
        this.tick();
        if (open) this.timer = setInterval(() => this.tick(), TICK_MS);
        this.renderVisiting();
    }

    tick() {
        const g = this.state;
        const state = g?.state || 'idle';
        const n = (g?.groups || []).length;
        let text;
        if (state === 'closing') {
            const s = secondsUntil(g.closing_at);
            text = `Closing: everyone back in the main room in ${s ?? '…'} s`;
        } else if (state === 'open') {
            const s = secondsUntil(g.ends_at);
            text = `Open · ${s === null ? 'no timer' : `${clockText(s)} left`}`;
        } else {
            text = n ? `${n} group${n === 1 ? '' : 's'}, not open${g?.mode ? ` · ${g.mode}` : ''}` : 'No groups yet.';
        }
        this.stateLine.textContent = text;
        this.stateLine.classList.toggle('warning', state === 'open'
            && (secondsUntil(g.ends_at) ?? Infinity) <= (g.warning ?? 60));
        this.talk.hidden = !this.isLive() || !(state === 'open' || state === 'closing');
        this.wall?.tick();
    }

    renderVisiting() {
        const p = this.place;
        this.visitRow.hidden = !p;
        this.visiting.textContent = p ? `${p.mode === 'join' ? 'In' : 'Listening to'} ${groupName(p.group)}` : '';
    }

    renderHelp(requests, groups) {
        const byId = new Map(groups.map((grp) => [grp.id, grp]));
        this.help.replaceChildren(...requests.map((h) => {
            const grp = byId.get(h.group) || { id: h.group };
            const who = h.name || h.user_id;
            return el('li', { dataset: { userId: h.user_id, groupId: String(h.group) } },
                el('span', { class: 'who', text: who }),
                el('span', { class: 'detail', text: `${groupName(grp)} · since ${timeOf(h.since)}` }),
                el('span', { class: 'row-actions' },
                    actionButton('Join', () => this.visitGroup(h.group, 'join'),
                        { label: `Join ${groupName(grp)} to help ${who}`, statusEl: this.status })));
        }));
        this.helpEmpty.hidden = requests.length > 0;
    }

    groupCard(grp, groups, state) {
        const name = groupName(grp);
        const members = grp.members || [];
        const online = members.filter((m) => m.online).length;
        const help = Array.isArray(grp.help) ? grp.help.length > 0 : !!grp.help;
        const open = state === 'open' || state === 'closing';
        const actions = el('span', { class: 'row-actions' });
        if (open) {
            actions.append(
                actionButton('Listen', () => this.visitGroup(grp.id, 'listen'), { label: `Listen to ${name}`, statusEl: this.status }),
                actionButton('Join', () => this.visitGroup(grp.id, 'join'), { label: `Join ${name}`, statusEl: this.status }),
                actionButton('Close', () => this.close(grp.id), { label: `Close ${name}`, statusEl: this.status }));
        }
        const card = el('li', { class: 'group-card', dataset: { groupId: String(grp.id) } },
            el('span', { class: 'who' }, name, ' ',
                el('span', { class: 'count', text: `(${members.length}, ${online} online)` }),
                help ? el('span', { class: 'help-badge', text: 'help' }) : null),
            // Who talks there now, or a group nobody has spoken in for a while.
            grp.speaker || grp.quiet ? el('span', { class: `detail${grp.quiet ? ' quiet' : ''}`,
                text: grp.quiet ? 'quiet' : `speaking: ${grp.speaker}` }) : null,
            grp.closing_at ? el('span', { class: 'detail', text: 'closing…' }) : null,
            actions,
            el('ul', { class: 'group-members', 'aria-label': `Members of ${name}` },
                ...members.map((m) => this.memberItem(m, grp.id, groups, state))));
        this.dropZone(card, grp.id);
        return card;
    }

    // One participant: online state, where to move them (a select, or drag
    // the row onto a group), and once the groups are closed, the stage.
    memberItem(m, groupId, groups, state) {
        const who = m.name || m.user_id;
        const select = el('select', { 'aria-label': `Move ${who} to` },
            el('option', { value: '', text: 'Main room' }),
            ...groups.map((grp) => el('option', { value: String(grp.id), text: groupName(grp) })));
        select.value = groupId === null ? '' : String(groupId);
        select.addEventListener('change', () => {
            const to = select.value === '' ? null : Number(select.value);
            this.move(m.user_id, to).catch((err) => {
                this.status.textContent = `Moving ${who} failed (${err.code || 'error'}): ${err.message}`;
            });
        });
        const actions = el('span', { class: 'row-actions' }, select);
        // After the groups (they ran, and are closed): up on the stage.
        if (state === 'idle' && groupId !== null && this.state?.started_at) {
            actions.append(actionButton('Bring to stage', () => this.sig.request({ type: 'invite', user_id: m.user_id }),
                { label: `Bring ${who} to stage`, statusEl: this.status }));
        }
        const li = el('li', { draggable: 'true', dataset: { userId: m.user_id } },
            el('span', { class: 'who' },
                m.online === undefined ? null : el('span', {
                    class: `presence ${m.online ? 'online' : 'offline'}`,
                    title: m.online ? 'online' : 'offline',
                    'aria-label': m.online ? 'online' : 'offline',
                }), who),
            actions);
        li.addEventListener('dragstart', (ev) => {
            ev.dataTransfer.setData('text/x-stagecast-user', m.user_id);
            ev.dataTransfer.effectAllowed = 'move';
        });
        return li;
    }

    dropZone(target, groupId) {
        target.addEventListener('dragover', (ev) => {
            if (!ev.dataTransfer.types.includes('text/x-stagecast-user')) return;
            ev.preventDefault();
            target.classList.add('drop-target');
        });
        target.addEventListener('dragleave', () => target.classList.remove('drop-target'));
        target.addEventListener('drop', (ev) => {
            target.classList.remove('drop-target');
            const userId = ev.dataTransfer.getData('text/x-stagecast-user');
            if (!userId) return;
            ev.preventDefault();
            ev.stopPropagation();
            this.move(userId, groupId).catch((err) => {
                this.status.textContent = `Moving failed (${err.code || 'error'}): ${err.message}`;
            });
        });
    }
}

// The tiles of the group the trainer visits: its publishers (the trainer's
// own, when joined, left out: the preview shows it), sound on.
class VisitView {
    constructor(root, sig) {
        this.root = root;
        this.sig = sig;
        this.peer = null;
        this.slotStreams = [];
        this.publishers = new Map();   // slot -> publisher
        this.tiles = new Map();        // slot -> {root, video, label}
        this.speaker = null;
        this.self = null;
        this.title = el('h2', { id: 'group-visit-title' });
        this.grid = el('div', { class: 'tiles', id: 'group-visit-tiles', dataset: { layout: 'grid' } });
        root.append(this.title, this.grid);
        root.hidden = true;
        const active = () => this.root.hidden === false;
        sig.on('publisher_joined', (msg) => {
            const p = msg.publisher;
            if (!active() || !p || !Number.isInteger(p.slot)) return;
            this.publishers.set(p.slot, p);
            this.render();
        });
        sig.on('publisher_left', (msg) => {
            const p = msg.publisher;
            if (!active() || !p) return;
            if (this.publishers.get(p.slot)?.session === p.session) this.publishers.delete(p.slot);
            this.render();
        });
        sig.on('active_speaker', (msg) => {
            this.speaker = Number.isInteger(msg.speaker?.slot) ? msg.speaker.slot : null;
            if (active()) this.render();
        });
    }

    // The subscribe session the server moves into a visited group; resolves
    // once it has its answer.
    subscribe() {
        if (!this.peer) {
            this.peer = new PeerSession(this.sig, { kind: 'subscribe', setup: (pc) => this.setup(pc) });
            this.peer.on('failed', ({ message }) => { this.title.textContent = message; });
        }
        if (this.peer.session) return Promise.resolve();
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                off();
                reject(new Error('no answer to subscribe'));
            }, SUBSCRIBE_TIMEOUT_MS);
            const offs = [
                this.peer.on('session', () => { off(); resolve(); }),
                this.peer.on('failed', ({ message }) => { off(); reject(new Error(message)); }),
            ];
            const off = () => {
                clearTimeout(timer);
                offs.forEach((f) => f());
            };
            this.peer.start();
        });
    }

    setup(pc) {
        const slots = pairsToOffer(this.sig.joined);
        this.slotStreams = [];
        for (let slot = 0; slot < slots; slot++) this.slotStreams.push(new MediaStream());
        addReceivePairs(pc, slots);
        for (const tile of this.tiles.values()) tile.video.srcObject = null;
        pc.ontrack = (ev) => {
            // Pairs in order: pair i is slot i.
            const index = pc.getTransceivers().indexOf(ev.transceiver);
            const ms = this.slotStreams[Math.floor(index / 2)];
            if (index < 0 || !ms) return;
            for (const old of ms.getTracks().filter((t) => t.kind === ev.track.kind)) ms.removeTrack(old);
            ms.addTrack(ev.track);
            this.render();
        };
    }

    show(place, selfId) {
        this.self = selfId ?? null;
        this.publishers = new Map((place.publishers || []).filter((p) => Number.isInteger(p.slot)).map((p) => [p.slot, p]));
        this.speaker = null;
        this.title.textContent = `${place.mode === 'join' ? 'In' : 'Listening to'} ${groupName(place.group)}`;
        this.root.hidden = false;
        this.render();
    }

    // Back in the main room: the visit's session is given up.
    leave() {
        this.root.hidden = true;
        this.publishers.clear();
        this.render();
        if (this.peer?.wanted) this.peer.stop();
    }

    render() {
        const shown = [...this.publishers.values()].filter((p) => p.user_id !== this.self);
        const slots = new Set(shown.map((p) => p.slot));
        for (const [slot, tile] of this.tiles) {
            if (slots.has(slot)) continue;
            tile.video.srcObject = null;
            tile.root.remove();
            this.tiles.delete(slot);
        }
        for (const p of shown) {
            let tile = this.tiles.get(p.slot);
            if (!tile) {
                const video = el('video', { autoplay: true, playsInline: true });
                const label = el('span', { class: 'tile-label' });
                tile = { root: el('div', { class: 'tile', dataset: { slot: String(p.slot) } }, video, label), video, label };
                this.tiles.set(p.slot, tile);
                this.grid.append(tile.root);
            }
            tile.label.textContent = p.name || p.user_id;
            tile.root.dataset.userId = p.user_id;
            tile.video.setAttribute('aria-label', `Video of ${p.name || p.user_id}`);
            tile.root.classList.toggle('tile-speaking', p.slot === this.speaker && shown.length > 1);
            tile.root.style.order = String(p.slot);
            const src = this.slotStreams[p.slot];
            if (src && tile.video.srcObject !== src) {
                tile.video.srcObject = src;
                tile.video.play().catch(() => {});
            }
        }
    }
}

// The trainer's wall of breakout groups (docs/protocol.md, "Breakout
// groups", Pages): while the groups are open, one tile per open group on
// the presenter page, a small mosaic of its members' cameras with its name,
// member count, the time left, who is talking, a "quiet" mark and a "help"
// mark.  A click on a tile listens to the group, its Join button joins it
// (both `group_visit`, through the panel, js/groups-trainer.js).
//
// Each tile receives its group on a session of its own (`group_watch`:
// one recvonly RTCPeerConnection per group, `view_slots` pairs), which the
// server leaves in the group whatever the trainer's own connection does.
// It asks for the lowest simulcast layer of every member slot (`layer`
// `low`; `viewport` would only bound `auto`), plays no sound (listening
// does that) and makes a <video> only for a slot that carries video now.
// The sessions are made when the groups open and ended (`unsubscribe`)
// when they close or a group goes away.
//
//   const wall = new GroupsWall(root, sig, { visit: (id, mode) => ..., statusEl });
//   wall.update(groupsMsg);   // each `groups`
//   wall.tick();              // the countdowns, from the panel's timer
//   wall.setVisiting(id);     // the group the trainer visits, or null
//   wall.tiles                // Map group id -> WallTile (tile.peer: its PeerSession)

import { actionButton, clockText, el, secondsUntil } from './interact-ui.js';
import { PeerSession } from './peer.js';
import { addReceivePairs, pairsToOffer } from './util.js';

// How often the wall looks which slots of its sessions carry video, and
// after how many looks without a new byte a slot's picture goes away.
const POLL_MS = 2000;
const IDLE_POLLS = 2;
const GROUP_SIZE = 12;   // joined.group_size from an older server

const groupName = (g) => g?.name || `Group ${g.id}`;

export class GroupsWall {
    // root: the page's (hidden) #group-wall; visit(id, mode): listen to or
    // join a group; statusEl: where a refused click is said.
    constructor(root, sig, { visit, statusEl }) {
        this.root = root;
        this.sig = sig;
        this.visit = visit;
        this.statusEl = statusEl;
        this.tiles = new Map();   // group id -> WallTile
        this.visiting = null;
        this.poller = null;
        this.title = el('h2', { id: 'group-wall-title', text: 'Groups' });
        this.grid = el('ul', { class: 'wall-tiles', id: 'group-wall-tiles', 'aria-labelledby': 'group-wall-title' });
        root.append(this.title, this.grid);
        root.hidden = true;
        // A new socket: the server ended the old one's sessions; the
        // `groups` that follows `joined` makes them again.
        sig.on('joined', () => this.clear(false));
    }

    // A `groups` message: a tile (and a session) for each open group, none
    // once they are closed.
    update(state) {
        const running = state?.state === 'open' || state?.state === 'closing';
        const open = running ? (state.groups || []).filter((g) => g.open) : [];
        const ids = new Set(open.map((g) => g.id));
        for (const [id, tile] of this.tiles) {
            if (ids.has(id)) continue;
            tile.close(true);
            this.tiles.delete(id);
        }
        for (const grp of open) {
            let tile = this.tiles.get(grp.id);
            if (!tile) {
                tile = new WallTile(this, grp.id);
                this.tiles.set(grp.id, tile);
                this.grid.append(tile.root);
            }
            tile.render(grp, state);
        }
        this.root.hidden = this.tiles.size === 0;
        if (this.tiles.size && !this.poller) this.poller = setInterval(() => this.poll(), POLL_MS);
        if (!this.tiles.size) this.stopPolling();
        this.tick();
    }

    tick() {
        for (const tile of this.tiles.values()) tile.tick();
    }

    setVisiting(groupId) {
        this.visiting = groupId;
        for (const [id, tile] of this.tiles) tile.root.classList.toggle('wall-visiting', id === groupId);
    }

    poll() {
        for (const tile of this.tiles.values()) tile.poll();
    }

    stopPolling() {
        clearInterval(this.poller);
        this.poller = null;
    }

    // Every tile gone; release: tell the server to end the sessions.
    clear(release) {
        for (const tile of this.tiles.values()) tile.close(release);
        this.tiles.clear();
        this.stopPolling();
        this.root.hidden = true;
    }
}

// One group on the wall: its session, its mosaic and its marks.
class WallTile {
    constructor(wall, groupId) {
        this.wall = wall;
        this.id = groupId;
        this.group = null;
        this.state = null;
        this.tracks = [];          // slot -> its video track
        this.cells = new Map();    // slot -> {root, video}
        this.bytes = new Map();    // slot -> video bytes received at the last look
        this.idle = new Map();     // slot -> looks without a new byte
        this.polling = false;

        this.name = el('span', { class: 'wall-name' });
        this.count = el('span', { class: 'count' });
        this.timer = el('span', { class: 'countdown wall-timer' });
        this.help = el('span', { class: 'help-badge', text: 'help', hidden: true });
        this.quiet = el('span', { class: 'quiet-badge', text: 'quiet', hidden: true });
        this.mosaic = el('span', { class: 'wall-mosaic' });
        this.empty = el('span', { class: 'wall-empty', text: 'No video' });
        this.listen = el('button', { type: 'button', class: 'wall-listen' },
            this.mosaic, this.empty,
            el('span', { class: 'wall-head' }, this.name, ' ', this.count, this.help, this.quiet),
            this.timer);
        this.listen.addEventListener('click', () => this.act('listen'));
        this.members = el('ul', { class: 'wall-members' });
        this.join = actionButton('Join', () => wall.visit(this.id, 'join'), { statusEl: wall.statusEl });
        this.root = el('li', { class: 'wall-tile', dataset: { groupId: String(groupId) } },
            this.listen, el('div', { class: 'wall-foot' }, this.members, this.join));

        const sig = wall.sig;
        this.peer = new PeerSession(sig, {
            kind: 'subscribe',
            request: (sdp) => ({ type: 'group_watch', group: this.id, sdp }),
            setup: (pc) => this.setup(pc),
        });
        this.peer.on('session', ({ session }) => this.pinLow(session));
        this.peer.on('failed', ({ message }) => { this.empty.textContent = message; });
        this.peer.start();
    }

    async act(mode) {
        try {
            await this.wall.visit(this.id, mode);
        } catch (err) {
            if (this.wall.statusEl) this.wall.statusEl.textContent = `${groupName(this.group)}: ${err.message}`;
        }
    }

    setup(pc) {
        addReceivePairs(pc, pairsToOffer(this.wall.sig.joined));
        this.tracks = [];
        this.bytes.clear();
        this.idle.clear();
        for (const slot of [...this.cells.keys()]) this.dropCell(slot);
        pc.ontrack = (ev) => {
            if (ev.track.kind !== 'video') return;   // the wall is silent: listening plays the group
            const index = pc.getTransceivers().indexOf(ev.transceiver);
            if (index >= 0) this.tracks[Math.floor(index / 2)] = ev.track;
        };
    }

    // The lowest simulcast layer of every member slot (the slots after
    // group_size carry the trainer's voice only).
    pinLow(session) {
        const size = this.wall.sig.joined?.group_size ?? GROUP_SIZE;
        for (let slot = 0; slot < size; slot++) {
            this.wall.sig.request({ type: 'layer', session, slot, layer: 'low' })
                .catch((err) => console.warn(`wall: layer low for slot ${slot}`, err));
        }
    }

    // Which slots carry video now: a cell for each, none for the others.
    async poll() {
        const pc = this.peer.pc;
        if (!pc || this.polling) return;
        this.polling = true;
        try {
            const tr = pc.getTransceivers();
            const seen = new Set();
            (await pc.getStats()).forEach((r) => {
                if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
                const index = tr.findIndex((t) => t.mid === r.mid);
                if (index < 0) return;
                const slot = Math.floor(index / 2);
                const bytes = r.bytesReceived ?? 0;
                if (bytes > (this.bytes.get(slot) ?? 0)) seen.add(slot);
                this.bytes.set(slot, bytes);
            });
            if (pc !== this.peer.pc) return;
            for (const slot of seen) {
                this.idle.set(slot, 0);
                if (!this.cells.has(slot) && this.tracks[slot]) this.addCell(slot);
            }
            for (const slot of [...this.cells.keys()]) {
                if (seen.has(slot)) continue;
                const n = (this.idle.get(slot) ?? 0) + 1;
                this.idle.set(slot, n);
                if (n >= IDLE_POLLS) this.dropCell(slot);
            }
            this.layout();
        } catch (err) {
            console.warn('wall: stats', err);
        } finally {
            this.polling = false;
        }
    }

    addCell(slot) {
        const video = el('video', { autoplay: true, muted: true, playsInline: true });
        video.srcObject = new MediaStream([this.tracks[slot]]);
        const root = el('span', { class: 'wall-cell', dataset: { slot: String(slot) } }, video);
        root.style.order = String(slot);
        this.cells.set(slot, { root, video });
        this.mosaic.append(root);
        video.play().catch(() => {});
    }

    dropCell(slot) {
        const cell = this.cells.get(slot);
        if (!cell) return;
        cell.video.srcObject = null;
        cell.root.remove();
        this.cells.delete(slot);
    }

    layout() {
        const n = this.cells.size;
        this.mosaic.style.setProperty('--cols', String(Math.max(1, Math.ceil(Math.sqrt(n)))));
        this.empty.hidden = n > 0;
    }

    render(grp, state) {
        this.group = grp;
        this.state = state;
        const name = groupName(grp);
        const members = grp.members || [];
        const help = Array.isArray(grp.help) ? grp.help.length > 0 : !!grp.help;
        this.name.textContent = name;
        this.count.textContent = `${members.length} member${members.length === 1 ? '' : 's'}`;
        this.help.hidden = !help;
        this.quiet.hidden = !grp.quiet;
        this.listen.setAttribute('aria-label', `${name}: listen${help ? ' (help requested)' : ''}${grp.quiet ? ' (quiet)' : ''}`);
        this.join.setAttribute('aria-label', `${name}: join`);
        this.root.classList.toggle('wall-help', help);
        this.root.classList.toggle('wall-quiet', !!grp.quiet);
        // Silence keeps the server's last speaker: no one is highlighted
        // while the group is quiet.
        const speaker = grp.quiet ? null : grp.speaker;
        this.root.dataset.speaker = speaker || '';
        this.members.replaceChildren(...members.map((m) => el('li', {
            class: `${m.name === speaker ? 'speaking' : ''}${m.online ? '' : ' offline'}`.trim() || null,
            dataset: { userId: m.user_id },
            text: m.name || m.user_id,
        })));
        this.layout();
    }

    // The group's own closing countdown, else the class's time left.
    tick() {
        const closing = secondsUntil(this.group?.closing_at);
        const left = secondsUntil(this.state?.ends_at);
        this.timer.textContent = closing !== null ? `closing in ${closing} s`
            : left !== null ? `${clockText(left)} left` : '';
        this.timer.classList.toggle('warning', closing !== null
            || (left !== null && left <= (this.state?.warning ?? 60)));
    }

    close(release) {
        this.peer.stop({ release });
        for (const slot of [...this.cells.keys()]) this.dropCell(slot);
        this.root.remove();
    }
}

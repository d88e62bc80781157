// The moderators' tools (docs/protocol.md, "Interactions"): room settings
// (chat off, slow mode, pre-approval), the review queue of held messages,
// the audience with mute / kick / ban, the room's bans with Unban buttons,
// and the room's sensitive-word list.

import { actionButton, el, explain, hasPerm, setOff, timeOf } from './interact-ui.js';

const AUDIENCE_REFRESH_MS = 1500;

function heldText(item) {
    const m = item.message || {};
    const who = m.anonymous || !m.from ? 'Anonymous' : (m.from.name || m.from.user_id);
    const kind = { chat: 'Chat', danmaku: 'Bullet comment', question: 'Question' }[item.kind] || item.kind;
    return { who, kind, text: m.text ?? '' };
}

export class ModerationAdmin {
    constructor(root, sig, { onNew } = {}) {
        this.sig = sig;
        this.onNew = onNew;
        this.selfId = null;
        this.active = false;
        this.muted = new Map();      // user_id -> muted (as this page set it)
        this.queue = new Map();      // review_id -> item
        this.status = el('p', { class: 'note', role: 'status', id: 'moderation-status' });
        root.append(this.status, this.buildSettings(), this.buildReview(), this.buildAudience(), this.buildBans(), this.buildWords());

        sig.on('joined', (msg) => {
            this.active = hasPerm(msg, 'moderate');
            this.selfId = msg.user_id ?? null;
            if (!this.active) return;
            this.queue.clear();
            this.renderQueue();
            sig.request({ type: 'review_list' }).then((r) => this.setQueue(r.items)).catch(() => {});
            sig.request({ type: 'words_get' }).then((r) => {
                this.words.value = (r.words || []).join('\n');
            }).catch(() => {});
            this.refreshAudience();
            this.refreshBans();
        });
        sig.on('room_settings', (s) => this.showSettings(s));
        sig.on('review_queue', (m) => this.setQueue(m.items));
        sig.on('review', (m) => {
            if (!m.item) return;
            this.queue.set(m.item.review_id, m.item);
            this.renderQueue();
            this.onNew?.();
        });
        sig.on('review_done', (m) => {
            if (this.queue.delete(m.review_id)) this.renderQueue();
        });
        sig.on('viewers', () => {
            if (!this.active) return;
            clearTimeout(this.audienceTimer);
            this.audienceTimer = setTimeout(() => this.refreshAudience(), AUDIENCE_REFRESH_MS);
        });
    }

    // ---- room settings -------------------------------------------------------

    buildSettings() {
        this.chatOff = el('input', { type: 'checkbox', id: 'mod-chat-off' });
        this.slow = el('input', { type: 'number', id: 'mod-slow', min: 0, max: 3600, value: 0 });
        this.preapprove = el('input', { type: 'checkbox', id: 'mod-preapprove' });
        this.settingsNote = el('p', { class: 'note', role: 'status', id: 'settings-note' });
        const apply = async () => {
            const slow = Number(this.slow.value);
            if (!Number.isInteger(slow) || slow < 0 || slow > 3600) {
                this.settingsNote.textContent = 'Slow mode is 0 to 3600 seconds.';
                return;
            }
            try {
                await this.sig.request({
                    type: 'room_settings', chat_off: this.chatOff.checked, slow_mode_s: slow,
                    preapprove: this.preapprove.checked,
                });
                this.settingsNote.textContent = 'Saved.';
            } catch (err) {
                this.settingsNote.textContent = explain(err);
            }
        };
        for (const input of [this.chatOff, this.slow, this.preapprove]) input.addEventListener('change', apply);
        return el('section', { class: 'mod-section', 'aria-labelledby': 'mod-settings-h' },
            el('h3', { id: 'mod-settings-h', text: 'Room settings' }),
            el('label', { class: 'toggle' }, this.chatOff, ' Chat off (only moderators may write)'),
            el('div', { class: 'form-row' },
                el('label', { class: 'field', for: 'mod-slow', text: 'Slow mode: seconds between messages (0 = off)' }),
                this.slow),
            el('label', { class: 'toggle' }, this.preapprove, ' Pre-approval (hold messages for review)'),
            this.settingsNote);
    }

    showSettings(s) {
        this.chatOff.checked = !!s.chat_off;
        if (document.activeElement !== this.slow) this.slow.value = String(s.slow_mode_s ?? 0);
        this.preapprove.checked = !!s.preapprove;
    }

    // ---- review queue ------------------------------------------------------------

    buildReview() {
        this.reviewCount = el('span', { class: 'count', id: 'review-count' });
        this.reviewList = el('ul', { class: 'people review-list', id: 'review-list', 'aria-label': 'Held messages' });
        this.reviewEmpty = el('p', { class: 'note', text: 'Nothing waiting for review.' });
        return el('section', { class: 'mod-section', 'aria-labelledby': 'mod-review-h' },
            el('h3', { id: 'mod-review-h' }, 'Review queue ', this.reviewCount), this.reviewList, this.reviewEmpty);
    }

    setQueue(items) {
        this.queue.clear();
        for (const item of items || []) this.queue.set(item.review_id, item);
        this.renderQueue();
    }

    renderQueue() {
        const items = [...this.queue.values()].sort((a, b) => a.review_id - b.review_id);
        this.reviewList.replaceChildren(...items.map((item) => {
            const { who, kind, text } = heldText(item);
            const decide = (approve) => async () => {
                await this.sig.request({ type: 'review', review_id: item.review_id, approve });
                this.queue.delete(item.review_id);
                this.renderQueue();
            };
            return el('li', { dataset: { reviewId: item.review_id } },
                el('span', { class: 'who', text: who }), ' ',
                el('span', { class: 'held-text', text }), ' ',
                el('span', { class: 'detail', text: `${kind} · held at ${timeOf(item.held_ms)}` }),
                el('span', { class: 'row-actions' },
                    actionButton('Approve', decide(true), { statusEl: this.status, label: `Approve: ${text}` }),
                    actionButton('Reject', decide(false), { statusEl: this.status, label: `Reject: ${text}` })));
        }));
        this.reviewEmpty.hidden = items.length > 0;
        this.reviewCount.textContent = items.length ? `(${items.length})` : '';
    }

    // ---- audience --------------------------------------------------------------

    buildAudience() {
        this.reason = el('input', { id: 'mod-reason', maxlength: 200, placeholder: 'Reason (optional, for kick and ban)' });
        this.audienceInfo = el('span', { class: 'count', id: 'audience-count' });
        this.audienceList = el('ul', { class: 'people audience-list', id: 'audience-list', 'aria-label': 'Audience' });
        const unbanId = el('input', { id: 'mod-unban-id', placeholder: 'User id', 'aria-label': 'User id to unban' });
        const unban = actionButton('Unban', async () => {
            const id = unbanId.value.trim();
            if (!id) throw new Error('Type the user id to unban.');
            await this.sig.request({ type: 'unban', user_id: id });
            unbanId.value = '';
            this.status.textContent = `${id} may come back.`;
            await this.refreshBans();
        }, { statusEl: this.status });
        return el('section', { class: 'mod-section', 'aria-labelledby': 'mod-audience-h' },
            el('h3', { id: 'mod-audience-h' }, 'Audience ', this.audienceInfo),
            actionButton('Refresh', () => this.refreshAudience(true), { label: 'Refresh the audience list', statusEl: this.status }),
            this.reason, this.audienceList,
            el('div', { class: 'form-row' }, unbanId, unban));
    }

    async refreshAudience(throwErrors = false) {
        try {
            const r = await this.sig.request({ type: 'audience' });
            this.renderAudience(r);
        } catch (err) {
            if (throwErrors) throw err;
        }
    }

    renderAudience(r) {
        const users = (r.users || []).filter((u) => u.user_id !== this.selfId);
        this.audienceInfo.textContent = `(${r.count ?? users.length} people, ${r.connections ?? 0} connections)`;
        this.audienceList.replaceChildren(...users.map((u) => {
            const name = u.name || u.user_id;
            // The server says who is muted (also mutes set from another page).
            const muted = typeof u.muted === 'boolean' ? u.muted : this.muted.get(u.user_id) === true;
            const li = el('li', { dataset: { userId: u.user_id } },
                el('span', { class: 'who', text: name }), ' ',
                el('span', { class: 'detail', text: `${u.role}${muted ? ' · muted' : ''}` }));
            const mute = actionButton(muted ? 'Unmute' : 'Mute', async () => {
                await this.sig.request({ type: 'mute', user_id: u.user_id, muted: !muted });
                this.muted.set(u.user_id, !muted);
                u.muted = !muted;
                this.renderAudience(r);
            }, { statusEl: this.status, label: `${muted ? 'Unmute' : 'Mute'} ${name}` });
            const kick = actionButton('Kick', async () => {
                await this.sig.request({ type: 'kick', user_id: u.user_id, reason: this.reason.value.trim() || undefined });
                this.status.textContent = `${name} was removed.`;
                await this.refreshAudience();
            }, { statusEl: this.status, label: `Kick ${name}` });
            // A ban outlives the session: it takes a second, deliberate click.
            const ban = el('button', { type: 'button', class: 'danger', text: 'Ban', 'aria-label': `Ban ${name}` });
            ban.addEventListener('click', async () => {
                if (ban.dataset.armed !== '1') {
                    ban.dataset.armed = '1';
                    ban.textContent = 'Confirm ban';
                    return;
                }
                setOff(ban, true);
                try {
                    await this.sig.request({ type: 'ban', user_id: u.user_id, reason: this.reason.value.trim() || undefined });
                    this.status.textContent = `${name} is banned (user id ${u.user_id}).`;
                    await this.refreshAudience();
                    await this.refreshBans();
                } catch (err) {
                    this.status.textContent = explain(err);
                    setOff(ban, false);
                }
            });
            li.append(el('span', { class: 'row-actions' }, mute, kick, ban));
            return li;
        }));
    }

    // ---- bans ---------------------------------------------------------------------

    buildBans() {
        this.banCount = el('span', { class: 'count', id: 'bans-count' });
        this.banList = el('ul', { class: 'people bans-list', id: 'bans-list', 'aria-label': 'Banned users' });
        this.banEmpty = el('p', { class: 'note', text: 'Nobody is banned from this room.' });
        return el('section', { class: 'mod-section', 'aria-labelledby': 'mod-bans-h' },
            el('h3', { id: 'mod-bans-h' }, 'Banned ', this.banCount), this.banList, this.banEmpty);
    }

    async refreshBans() {
        try {
            const r = await this.sig.request({ type: 'bans' });
            this.renderBans(r.bans || []);
        } catch (err) {
            this.status.textContent = explain(err);
        }
    }

    renderBans(bans) {
        this.banList.replaceChildren(...bans.map((b) => el('li', { dataset: { userId: b.user_id } },
            el('span', { class: 'who', text: b.user_id }), ' ',
            el('span', { class: 'detail', text: `${b.reason ? b.reason + ' · ' : ''}since ${timeOf(b.ts)}` }),
            el('span', { class: 'row-actions' },
                actionButton('Unban', async () => {
                    await this.sig.request({ type: 'unban', user_id: b.user_id });
                    this.status.textContent = `${b.user_id} may come back.`;
                    await this.refreshBans();
                }, { statusEl: this.status, label: `Unban ${b.user_id}` })))));
        this.banEmpty.hidden = bans.length > 0;
        this.banCount.textContent = bans.length ? `(${bans.length})` : '';
    }

    // ---- sensitive words ------------------------------------------------------------

    buildWords() {
        this.words = el('textarea', { id: 'words-input', rows: 5, placeholder: 'One word or phrase per line' });
        const note = el('p', { class: 'note', role: 'status', id: 'words-note' });
        const save = actionButton('Save word list', async () => {
            const words = this.words.value.split('\n').map((w) => w.trim()).filter(Boolean);
            const r = await this.sig.request({ type: 'words_set', words });
            note.textContent = `${r.count} word${r.count === 1 ? '' : 's'} in the list`
                + (r.refused ? `, ${r.refused} refused` : '') + '.';
        }, { statusEl: note });
        return el('section', { class: 'mod-section', 'aria-labelledby': 'mod-words-h' },
            el('h3', { id: 'mod-words-h', text: 'Sensitive words' }),
            el('p', { class: 'note', text: 'Matches are shown as * in chat, comments, questions and names. The server\'s global list applies too.' }),
            el('label', { class: 'visually-hidden', for: 'words-input', text: 'Sensitive words' }), this.words, save, note);
    }
}

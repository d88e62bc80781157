// The pinned announcement (docs/protocol.md, "Interactions"): a banner at
// the top of every page of the room while one is set; moderators set and
// clear it from their panel.

import { actionButton, el } from './interact-ui.js';

export class AnnouncementBanner {
    // root: the page's (empty, hidden) #announcement element.
    constructor(root, sig) {
        this.root = root;
        root.classList.add('announcement');
        root.setAttribute('role', 'status');
        root.setAttribute('aria-label', 'Announcement');
        this.text = el('span', { class: 'announcement-text', id: 'announcement-text' });
        this.by = el('span', { class: 'announcement-by' });
        root.append(el('span', { class: 'announcement-icon', 'aria-hidden': 'true', text: '📌' }), this.text, this.by);
        root.hidden = true;
        // Every (re)join sends the current one, if any: start from nothing.
        sig.on('joined', () => this.show(null));
        sig.on('announcement', (m) => this.show(m));
    }

    show(m) {
        const text = typeof m?.text === 'string' ? m.text : '';
        this.root.hidden = !text;
        this.text.textContent = text;
        this.by.textContent = text && m.by?.name ? ` — ${m.by.name}` : '';
    }
}

export class AnnounceAdmin {
    constructor(root, sig) {
        const input = el('textarea', { id: 'announce-input', rows: 3, maxlength: 1000, placeholder: 'Pinned at the top of every page' });
        const status = el('p', { class: 'note', role: 'status' });
        const current = el('p', { class: 'announce-current note', id: 'announce-current', text: 'No announcement.' });
        const set = actionButton('Pin announcement', async () => {
            const text = input.value.trim();
            if (!text) throw new Error('Type the announcement first.');
            await sig.request({ type: 'announce', text });
            input.value = '';
        }, { statusEl: status, cls: 'primary' });
        const clear = actionButton('Clear announcement', () => sig.request({ type: 'announce_clear' }), { statusEl: status });
        root.append(el('label', { class: 'field', for: 'announce-input', text: 'Announcement' }), input,
            el('div', { class: 'actions' }, set, clear), status, current);
        const show = (m) => {
            current.textContent = typeof m?.text === 'string' && m.text ? `Pinned now: ${m.text}` : 'No announcement.';
        };
        sig.on('joined', () => show(null));
        sig.on('announcement', show);
    }
}

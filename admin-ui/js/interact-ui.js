// DOM helpers shared by the interaction panels (js/interact-*.js).
//
// Every piece of text that came from the server or another user goes in
// through textContent (el()'s string children): nothing here ever parses
// HTML from a message.

// el('li', {class: 'x', dataset: {id: 1}}, 'text', child, ...)
export function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') node.className = v;
        else if (k === 'dataset') Object.assign(node.dataset, v);
        else if (k === 'text') node.textContent = v;
        else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
        else if (k in node && typeof v !== 'string') node[k] = v;
        else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
        if (c === null || c === undefined || c === false) continue;
        node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
}

// What a refused request means, in words for the person who sent it.
const EXPLAIN = {
    muted: 'You are muted: a moderator stopped your messages.',
    'chat-off': 'Chat is turned off in this room.',
    'rate-limited': 'Slow down: too many messages at once.',
    banned: 'You are banned from this room.',
    'already-voted': 'You already voted.',
    'not-open': 'This is not open any more.',
    busy: 'The review queue is full; try again later.',
    forbidden: 'You are not allowed to do that.',
    'too-large': 'That is too long.',
    closed: 'Not connected; try again in a moment.',
};

export function explain(err) {
    if (!err) return 'unknown error';
    // The server's own words say how long to wait.
    if (err.code === 'slow-mode' && err.message) return `${err.message[0].toUpperCase()}${err.message.slice(1)}.`;
    return EXPLAIN[err.code] || `${err.message || String(err)}${err.code ? ` (${err.code})` : ''}`;
}

// A button running an async action: disabled while it runs, its error
// shown in `statusEl` (a role=status element) when given.  Whoever wants
// such a button off uses setOff(), so the end of a click does not turn it
// back on.
export function actionButton(text, onClick, { label, statusEl, cls } = {}) {
    const b = el('button', { type: 'button', class: cls, 'aria-label': label, text });
    b.addEventListener('click', async () => {
        b.dataset.busy = '1';
        b.disabled = true;
        try {
            await onClick();
            if (statusEl) statusEl.textContent = '';
        } catch (err) {
            if (statusEl) statusEl.textContent = explain(err);
            else console.warn(text, err);
        } finally {
            delete b.dataset.busy;
            b.disabled = b.dataset.off === '1';
        }
    });
    return b;
}

export function setOff(button, off) {
    button.dataset.off = off ? '1' : '';
    if (!button.dataset.busy) button.disabled = off;
}

// A labelled result bar: "Option — 3 (60 %)".
export function resultBar(label, count, total, { correct = false, mine = false } = {}) {
    const pct = total > 0 ? Math.round((count / total) * 100) : 0;
    const bar = el('span', { class: 'bar-fill' });
    bar.style.width = `${pct}%`;
    const flags = [correct ? '✓ correct' : null, mine ? 'your choice' : null].filter(Boolean).join(' · ');
    return el('li', { class: `result${correct ? ' result-correct' : ''}${mine ? ' result-mine' : ''}` },
        el('span', { class: 'result-label' },
            el('span', { class: 'result-option', text: label }), ' ',
            el('span', { class: 'result-count', text: `${count} (${pct} %)` }),
            flags ? ' ' : null, flags ? el('span', { class: 'result-flags', text: flags }) : null),
        el('span', { class: 'bar', role: 'presentation' }, bar));
}

// A tab bar over panels.  tabs: [{id, label, panel (element)}]; the first
// visible tab is selected.  Arrow keys move between tabs (WAI-ARIA tabs).
export class Tabs {
    constructor(root, label) {
        this.list = el('div', { class: 'tab-list', role: 'tablist', 'aria-label': label });
        this.body = el('div', { class: 'tab-panels' });
        root.append(this.list, this.body);
        this.tabs = new Map();
        this.selected = null;
        this.list.addEventListener('keydown', (ev) => {
            if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
            const visible = [...this.tabs.values()].filter((t) => !t.button.hidden);
            const at = visible.findIndex((t) => t.id === this.selected);
            const next = visible[(at + (ev.key === 'ArrowRight' ? 1 : visible.length - 1)) % visible.length];
            if (next) {
                this.select(next.id);
                next.button.focus();
            }
        });
    }

    add(id, label, panel) {
        const button = el('button', {
            type: 'button', role: 'tab', id: `tab-${id}`, class: 'tab',
            'aria-controls': `tabpanel-${id}`, 'aria-selected': 'false', tabindex: '-1',
        }, el('span', { class: 'tab-label', text: label }), el('span', { class: 'tab-dot', hidden: true }));
        const wrap = el('div', {
            role: 'tabpanel', id: `tabpanel-${id}`, class: 'tab-panel', 'aria-labelledby': `tab-${id}`,
            hidden: true,
        }, panel);
        button.addEventListener('click', () => this.select(id));
        this.list.append(button);
        this.body.append(wrap);
        this.tabs.set(id, { id, button, wrap, dot: button.querySelector('.tab-dot') });
        if (!this.selected) this.select(id);
        return panel;
    }

    show(id, visible) {
        const t = this.tabs.get(id);
        if (!t) return;
        t.button.hidden = !visible;
        if (!visible) t.wrap.hidden = true;
        if (!visible && this.selected === id) {
            const first = [...this.tabs.values()].find((x) => !x.button.hidden);
            if (first) this.select(first.id);
        }
    }

    select(id) {
        for (const t of this.tabs.values()) {
            const on = t.id === id;
            t.button.setAttribute('aria-selected', String(on));
            t.button.tabIndex = on ? 0 : -1;
            t.wrap.hidden = !on;
            if (on) t.dot.hidden = true;
        }
        this.selected = id;
        this.onSelect?.(id);
    }

    // Something new arrived on a tab that is not in view.
    notify(id) {
        const t = this.tabs.get(id);
        if (t && this.selected !== id) t.dot.hidden = false;
    }
}

export function hasPerm(joined, perm) {
    return Array.isArray(joined?.perms) && joined.perms.includes(perm);
}

export function timeOf(ms) {
    return typeof ms === 'number' ? new Date(ms).toLocaleTimeString() : '';
}

// Whole seconds from now until the server's Unix-ms time `at` (0 once it
// passed), or null when there is none.
export function secondsUntil(at) {
    if (typeof at !== 'number') return null;
    return Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

// 754 -> "12:34", 3754 -> "1:02:34".
export function clockText(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const two = (n) => String(n).padStart(2, '0');
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

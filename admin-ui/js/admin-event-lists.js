// The lists of one event, each in its own box of the console's Events tab
// (docs/protocol.md, "Organiser API"): its whitelist (a CSV file imported
// in parts), its invite codes (made in batches, exported) and its
// registrations (approved or rejected, exported).  Exports are fetched
// with the token in the Authorization header and saved from a Blob: no
// token in any address.  Entries, names and answers are shown as text.
import { $, apiDownload, apiRequest, clearError, el, saveBlob, showError } from './util.js';
import { copyText, localTime, plural } from './console-ui.js';

// One whitelist request's body at most: under the server's default
// --max-body (64 KiB), with room to spare.
export const PART_BYTES = 60 * 1024;
const REGISTRATIONS_POLL_MS = 10000;
const CODES_SHOWN = 200;
const DECIDE_MAX = 10000;   // registration ids in one decision

// Bytes of s in UTF-8.
function utf8Length(s) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x80) n += 1;
        else if (c < 0x800) n += 2;
        else if (c >= 0xd800 && c < 0xdc00) {
            n += 4;   // a surrogate pair: one 4-byte character
            i++;
        } else n += 3;
    }
    return n;
}

// A list's text cut at line boundaries into parts of at most maxBytes:
// {parts: [{text, first, last}] (the file's line numbers), tooLong: [line]}.
// A line that does not fit in a part by itself cannot be sent: it is
// listed, and the parts around it end and start beside it so each part's
// lines stay consecutive (the server numbers a part's lines from 1).
export function splitParts(text, maxBytes = PART_BYTES) {
    const parts = [];
    const tooLong = [];
    let chunk = '';
    let bytes = 0;
    let first = 0;
    let last = 0;
    const flush = () => {
        if (chunk.trim()) parts.push({ text: chunk, first, last });
        chunk = '';
        bytes = 0;
        first = 0;
    };
    let at = 0;
    for (let line = 1; at < text.length; line++) {
        const nl = text.indexOf('\n', at);
        const end = nl < 0 ? text.length : nl + 1;
        const s = text.slice(at, end);
        at = end;
        const n = utf8Length(s);
        if (n > maxBytes) {
            flush();
            tooLong.push(line);
            continue;
        }
        if (bytes + n > maxBytes) flush();
        if (!first) first = line;
        chunk += s;
        bytes += n;
        last = line;
    }
    flush();
    return { parts, tooLong };
}

// "ABCDEFGHJKMN" -> "ABCD-EFGH-JKMN": easier to read out; viewers may type
// the dashes or not.
export const groupCode = (code) => code.match(/.{1,4}/g).join('-');

const lines = (a, b) => (a === b ? `line ${a.toLocaleString()}` : `lines ${a.toLocaleString()}–${b.toLocaleString()}`);

// What every box does: open for an event, close, call the event's API,
// save an export.
class ListBox {
    constructor(root, token) {
        this.root = root;
        this.token = token;
        this.event = null;
        this.error = $('.error', root);
        $('[data-action="close"]', root).addEventListener('click', () => this.close());
    }

    api(method, sub, opts = {}) {
        return apiRequest(method, `/api/v1/events/${this.event.id}/${sub}`, { token: this.token, ...opts });
    }

    open(ev) {
        this.event = ev;
        this.root.dataset.id = String(ev.id);
        clearError(this.error);
        this.root.hidden = false;
        this.root.scrollIntoView({ block: 'nearest' });
    }

    // The console's list was read again: the same event, maybe changed.
    update(ev) {
        this.event = ev;
    }

    close() {
        this.event = null;
        this.root.hidden = true;
        delete this.root.dataset.id;
    }

    pause() {}

    resume() {}

    async download(sub, btn) {
        clearError(this.error);
        btn.disabled = true;
        try {
            const { blob, filename } = await apiDownload(`/api/v1/events/${this.event.id}/${sub}?format=csv`,
                { token: this.token, fallback: `${this.event.slug}-${sub}.csv` });
            saveBlob(blob, filename);
        } catch (err) {
            showError(this.error, `Could not download the CSV: ${err.message}`);
        } finally {
            btn.disabled = false;
        }
    }
}

// ---- the whitelist -------------------------------------------------------

export class WhitelistBox extends ListBox {
    constructor(root, token) {
        super(root, token);
        this.ui = {
            title: $('#whitelist-title', root),
            count: $('#whitelist-count', root),
            file: $('#whitelist-file', root),
            import: $('#whitelist-import', root),
            clear: $('#whitelist-clear', root),
            progress: $('#whitelist-progress', root),
            bar: $('#whitelist-progress-bar', root),
            step: $('#whitelist-progress-text', root),
            result: $('#whitelist-result', root),
            rejected: $('#whitelist-rejected', root),
            rejectedList: $('#whitelist-rejected-list', root),
        };
        this.importing = false;
        this.ui.import.addEventListener('click', () => this.import());
        this.ui.clear.addEventListener('click', () => this.clear());
    }

    open(ev) {
        const other = this.event?.id !== ev.id;
        super.open(ev);
        this.ui.title.textContent = `Whitelist of “${ev.title}”`;
        if (other && !this.importing) this.reset();
        this.loadCount();
    }

    reset() {
        this.ui.file.value = '';
        this.ui.progress.hidden = true;
        this.ui.result.textContent = '';
        this.ui.rejected.hidden = true;
        this.ui.rejectedList.replaceChildren();
        delete this.root.dataset.added;
        delete this.root.dataset.duplicates;
        delete this.root.dataset.import;
    }

    showCount(n) {
        this.root.dataset.entries = String(n);
        this.ui.count.textContent = n ? `${plural(n, 'entry', 'entries')} on the list.` : 'The list is empty.';
    }

    async loadCount() {
        const id = this.event.id;
        try {
            const { entries } = await this.api('GET', 'whitelist');
            if (this.event?.id === id) this.showCount(entries);
        } catch (err) {
            if (this.event?.id === id) showError(this.error, err);
        }
    }

    // The chosen file, in parts of at most PART_BYTES sent one after the
    // other.  A part with an unusable line is refused whole by the server
    // (nothing of it added): the others still go, and the refused parts'
    // lines are listed with their numbers in the file, to fix and import
    // the file again (what is on the list already counts as a duplicate).
    async import() {
        const file = this.ui.file.files[0];
        clearError(this.error);
        if (!file) {
            showError(this.error, 'Choose a CSV file first.');
            this.ui.file.focus();
            return;
        }
        if (this.importing) return;
        this.importing = true;
        this.reset();
        this.root.dataset.import = 'running';
        this.ui.import.disabled = this.ui.clear.disabled = true;
        const ev = this.event;
        const text = (await file.text()).replace(/^\uFEFF/, '');   // a spreadsheet's byte-order mark
        const { parts, tooLong } = splitParts(text);
        const total = { added: 0, duplicates: 0 };
        const refused = [];
        let failed = null;
        this.ui.bar.max = Math.max(parts.length, 1);
        this.ui.bar.value = 0;
        this.ui.progress.hidden = false;
        for (const [i, part] of parts.entries()) {
            this.ui.step.textContent = `Part ${i + 1} of ${parts.length} (${lines(part.first, part.last)})…`;
            try {
                const r = await apiRequest('POST', `/api/v1/events/${ev.id}/whitelist`,
                    { token: this.token, text: part.text, type: 'text/csv; charset=utf-8' });
                total.added += r.added;
                total.duplicates += r.duplicates;
                if (this.event?.id === ev.id) this.showCount(r.entries);
            } catch (err) {
                if (err.status === 400 && Array.isArray(err.body?.rejected)) {
                    refused.push({ index: i, part, count: err.body.rejected_count ?? err.body.rejected.length,
                        rejected: err.body.rejected.map((r) => ({ line: part.first + r.line - 1, why: r.why })) });
                } else {
                    failed = { index: i, err };
                    break;
                }
            }
            this.ui.bar.value = i + 1;
        }
        this.importing = false;
        this.ui.import.disabled = this.ui.clear.disabled = false;
        if (this.event?.id !== ev.id) return;   // another event's box now
        this.ui.step.textContent = failed ? `Stopped at part ${failed.index + 1} of ${parts.length}.`
            : `${plural(parts.length, 'part')} sent.`;
        this.report(total, refused, tooLong, parts.length, failed);
        this.loadCount();
    }

    report(total, refused, tooLong, nParts, failed) {
        this.root.dataset.added = String(total.added);
        this.root.dataset.duplicates = String(total.duplicates);
        this.root.dataset.import = failed ? 'failed' : refused.length || tooLong.length ? 'partial' : 'done';
        let text = `Added ${plural(total.added, 'new entry', 'new entries')}; `
            + `${plural(total.duplicates, 'duplicate')} (on the list already, or twice in the file).`;
        if (refused.length) text += ` ${refused.length} of ${plural(nParts, 'part')} refused: nothing of ${refused.length === 1 ? 'it' : 'them'} was added.`;
        this.ui.result.textContent = text;
        if (failed) {
            showError(this.error, `Part ${failed.index + 1} could not be sent (${failed.err.message}). `
                + 'The parts before it are imported; import the file again to finish '
                + '(entries already on the list count as duplicates).');
        }
        const items = [];
        for (const r of refused) {
            const more = r.count - r.rejected.length;
            items.push(el('li', {},
                `Part ${r.index + 1} (${lines(r.part.first, r.part.last)}) was refused:`,
                el('ul', {}, ...r.rejected.map((x) => el('li', { textContent: `Line ${x.line.toLocaleString()}: ${x.why}` })),
                    ...(more > 0 ? [el('li', { textContent: `and ${plural(more, 'more line')} in this part` })] : []))));
        }
        for (const line of tooLong) {
            items.push(el('li', { textContent: `Line ${line.toLocaleString()}: longer than ${PART_BYTES / 1024} KiB, not sent` }));
        }
        this.ui.rejectedList.replaceChildren(...items);
        this.ui.rejected.hidden = items.length === 0;
    }

    async clear() {
        const ev = this.event;
        if (!window.confirm(`Empty the whitelist of “${ev.title}”? Nobody on it can join until a list is imported again.`)) return;
        clearError(this.error);
        try {
            await this.api('DELETE', 'whitelist');
            this.reset();
            this.ui.result.textContent = 'The list was emptied.';
        } catch (err) {
            showError(this.error, err);
        }
        this.loadCount();
    }
}

// ---- invite codes ----------------------------------------------------------

export class InvitesBox extends ListBox {
    constructor(root, token) {
        super(root, token);
        this.ui = {
            title: $('#invites-title', root),
            summary: $('#invites-summary', root),
            form: $('#invites-form', root),
            count: $('#invites-count', root),
            uses: $('#invites-uses', root),
            generate: $('#invites-generate', root),
            fresh: $('#invites-new', root),
            codes: $('#invites-codes', root),
            rows: $('#invite-rows', root),
            more: $('#invites-more', root),
        };
        this.ui.form.addEventListener('submit', (e) => {
            e.preventDefault();
            this.generate();
        });
        $('#invites-copy', root).addEventListener('click', (e) =>
            copyText(this.ui.codes.value, this.ui.codes, e.currentTarget));
        const csv = $('#invites-csv', root);
        csv.addEventListener('click', () => this.download('invites', csv));
    }

    open(ev) {
        if (this.event?.id !== ev.id) {
            this.ui.fresh.hidden = true;
            this.ui.codes.value = '';
        }
        super.open(ev);
        this.ui.title.textContent = `Invite codes of “${ev.title}”`;
        this.load();
    }

    async load() {
        const id = this.event.id;
        try {
            const { invites } = await this.api('GET', 'invites');
            if (this.event?.id !== id) return;
            const usedUp = invites.filter((c) => c.used >= c.uses).length;
            const left = invites.reduce((n, c) => n + Math.max(0, c.uses - c.used), 0);
            this.root.dataset.codes = String(invites.length);
            this.ui.summary.textContent = invites.length
                ? `${plural(invites.length, 'code')}: ${usedUp.toLocaleString()} used up, ${plural(left, 'use')} left.`
                : 'No codes yet.';
            this.ui.rows.replaceChildren(...invites.slice(0, CODES_SHOWN).map((c) => {
                const tr = el('tr', {},
                    el('td', { className: 'code', textContent: groupCode(c.code) }),
                    el('td', { textContent: `${c.used.toLocaleString()} of ${c.uses.toLocaleString()}` }));
                tr.dataset.code = c.code;
                tr.dataset.used = String(c.used);
                return tr;
            }));
            this.ui.more.hidden = invites.length <= CODES_SHOWN;
            this.ui.more.textContent = `The first ${CODES_SHOWN} of ${invites.length.toLocaleString()}: download the CSV for all.`;
        } catch (err) {
            if (this.event?.id === id) showError(this.error, err);
        }
    }

    async generate() {
        clearError(this.error);
        const count = Number(this.ui.count.value);
        const uses = Number(this.ui.uses.value);
        if (!Number.isInteger(count) || count < 1 || count > 10000) {
            showError(this.error, 'Codes: make 1 to 10,000 at a time.');
            this.ui.count.focus();
            return;
        }
        if (!Number.isInteger(uses) || uses < 1 || uses > 100000) {
            showError(this.error, 'Uses per code: 1 to 100,000.');
            this.ui.uses.focus();
            return;
        }
        this.ui.generate.disabled = true;
        try {
            const made = await this.api('POST', 'invites', { body: { count, uses } });
            this.ui.codes.value = made.codes.map(groupCode).join('\n');
            this.ui.codes.rows = Math.min(12, Math.max(3, made.codes.length));
            this.ui.fresh.hidden = false;
            this.root.dataset.made = String(made.codes.length);
        } catch (err) {
            showError(this.error, err);
        } finally {
            this.ui.generate.disabled = false;
        }
        await this.load();
    }
}

// ---- registrations ---------------------------------------------------------

export class RegistrationsBox extends ListBox {
    constructor(root, token) {
        super(root, token);
        this.ui = {
            title: $('#registrations-title', root),
            summary: $('#registrations-summary', root),
            rows: $('#registration-rows', root),
            empty: $('#registrations-empty', root),
            all: $('#registrations-all', root),
            approve: $('#registrations-approve', root),
            reject: $('#registrations-reject', root),
        };
        this.list = [];
        this.seen = '';              // the last answer, to leave unchanged rows (and focus) alone
        this.selected = new Set();   // registration ids
        this.timer = null;
        this.loads = 0;
        this.paused = false;
        this.ui.approve.addEventListener('click', () => this.decide('approved'));
        this.ui.reject.addEventListener('click', () => this.decide('rejected'));
        this.ui.all.addEventListener('change', () => {
            for (const r of this.list) {
                if (this.ui.all.checked) this.selected.add(r.id);
                else this.selected.delete(r.id);
            }
            this.render();
        });
        $('#registrations-refresh', root).addEventListener('click', () => this.load());
        const csv = $('#registrations-csv', root);
        csv.addEventListener('click', () => this.download('registrations', csv));
    }

    open(ev) {
        if (this.event?.id !== ev.id) {
            this.selected.clear();
            this.list = [];
            this.seen = '';
            this.ui.rows.replaceChildren();
        }
        super.open(ev);
        this.ui.title.textContent = `Registrations for “${ev.title}”`;
        this.load();
    }

    close() {
        clearTimeout(this.timer);
        super.close();
    }

    pause() {
        this.paused = true;
        clearTimeout(this.timer);
    }

    resume() {
        this.paused = false;
        if (this.event) this.load();
    }

    // Read the list again; while the box is open, again every few seconds
    // (new registrations arrive by themselves).
    async load() {
        clearTimeout(this.timer);
        if (!this.event) return;
        const n = ++this.loads;
        const id = this.event.id;
        try {
            const { registrations } = await this.api('GET', 'registrations');
            if (n !== this.loads || this.event?.id !== id) return;
            const seen = JSON.stringify(registrations);
            if (seen !== this.seen) {
                this.seen = seen;
                this.list = registrations;
                const ids = new Set(registrations.map((r) => r.id));
                for (const sel of [...this.selected]) if (!ids.has(sel)) this.selected.delete(sel);
                this.render();
            }
            this.root.dataset.state = 'ready';
        } catch (err) {
            if (n !== this.loads || this.event?.id !== id) return;
            showError(this.error, err);
        }
        if (n === this.loads && this.event && !this.paused && !document.hidden) {
            this.timer = setTimeout(() => this.load(), REGISTRATIONS_POLL_MS);
        }
    }

    labels() {
        const fields = this.event?.registration?.fields || [];
        return new Map(fields.map((f) => [f.name, f.label]));
    }

    render() {
        const labels = this.labels();
        const counts = { pending: 0, approved: 0, rejected: 0 };
        for (const r of this.list) counts[r.state] = (counts[r.state] || 0) + 1;
        this.root.dataset.count = String(this.list.length);
        this.ui.summary.textContent = this.list.length
            ? `${plural(this.list.length, 'registration')}: ${counts.pending} pending, ${counts.approved} approved, ${counts.rejected} rejected.`
            : '';
        this.ui.empty.hidden = this.list.length > 0;
        this.ui.rows.replaceChildren(...this.list.map((r) => this.row(r, labels)));
        this.showSelection();
    }

    row(r, labels) {
        const tr = el('tr');
        tr.dataset.id = String(r.id);
        tr.dataset.state = r.state;
        const box = el('input', { type: 'checkbox', checked: this.selected.has(r.id) });
        box.setAttribute('aria-label', `Select ${r.name}`);
        box.addEventListener('change', () => {
            if (box.checked) this.selected.add(r.id);
            else this.selected.delete(r.id);
            this.showSelection();
        });
        const badge = el('span', { className: 'event-state', textContent: r.state });
        badge.dataset.state = r.state;
        const answers = el('dl', { className: 'answers' });
        for (const [name, value] of Object.entries(r.answers || {})) {
            answers.append(el('dt', { textContent: labels.get(name) || name }), el('dd', { textContent: String(value) }));
        }
        const when = el('time', { dateTime: new Date(r.created_at * 1000).toISOString(), textContent: localTime(r.created_at) });
        tr.append(el('td', {}, box), el('td', { className: 'reg-name', textContent: r.name }),
            el('td', {}, badge), el('td', {}, answers), el('td', {}, when));
        return tr;
    }

    showSelection() {
        const n = this.selected.size;
        this.ui.approve.disabled = this.ui.reject.disabled = n === 0;
        this.ui.approve.textContent = n ? `Approve ${n}` : 'Approve';
        this.ui.reject.textContent = n ? `Reject ${n}` : 'Reject';
        this.ui.all.checked = n > 0 && n === this.list.length;
        this.ui.all.indeterminate = n > 0 && n < this.list.length;
    }

    async decide(state) {
        const ids = [...this.selected];
        if (!ids.length) return;
        const approved = this.list.filter((r) => ids.includes(r.id) && r.state === 'approved').length;
        if (state === 'rejected' && !window.confirm(`Reject ${plural(ids.length, 'registration')}?`
            + (approved ? ` ${approved} approved already: their viewers lose access when their tokens run out.` : ''))) return;
        clearError(this.error);
        this.ui.approve.disabled = this.ui.reject.disabled = true;
        try {
            for (let at = 0; at < ids.length; at += DECIDE_MAX) {
                await this.api('POST', 'registrations', { body: { ids: ids.slice(at, at + DECIDE_MAX), state } });
            }
            this.selected.clear();
        } catch (err) {
            showError(this.error, err.code === 'no-such-registration'
                ? 'Some of these registrations are gone; nothing was changed. The list is read again.' : err);
        }
        await this.load();
        this.showSelection();
    }
}

// The external check of the console's event form (docs/protocol.md,
// "Events", "External check"): the address of the organiser's own system,
// the shared secret (write-only: the server only says whether one is set),
// the timeout, and the fields the viewer fills in (a label, a name for the
// request, a type), which the watch page asks for.
import { $, el } from './util.js';
import { button } from './console-ui.js';
import { nameFromLabel } from './admin-event-regform.js';

const TYPES = [['text', 'Text'], ['email', 'E-mail'], ['secret', 'Secret (hidden as typed)']];
const FIELDS_MAX = 5;
const NAME_MAX = 32;
export const TIMEOUT_DEFAULT = 3000;

// The settings in the API's terms, keys in the server's order, so stored
// settings and the form's compare as JSON (the secret is never in them).
export function normalExternal(ext) {
    return {
        url: ext?.url || '',
        timeout_ms: Number(ext?.timeout_ms) || TIMEOUT_DEFAULT,
        fields: (ext?.fields || []).map((f) => ({ name: f.name, label: f.label, type: f.type || 'text' })),
    };
}

export class ExternalCheckForm {
    // root: the fieldset holding #ev-ext-url, -secret, -timeout, -fields, -add.
    constructor(root) {
        this.root = root;
        this.url = $('#ev-ext-url', root);
        this.secret = $('#ev-ext-secret', root);
        this.secretHelp = $('#ev-ext-secret-help', root);
        this.timeout = $('#ev-ext-timeout', root);
        this.list = $('#ev-ext-fields', root);
        this.addButton = $('#ev-ext-add', root);
        this.made = 0;   // numbers the rows' ids, never reused
        this.addButton.addEventListener('click', () => {
            this.add();
            this.part(this.rows().at(-1), 'label').focus();
        });
    }

    rows() {
        return [...this.list.children];
    }

    part(row, name) {
        return row.querySelector(`[data-part="${name}"]`);
    }

    // The event's settings (secret left empty: typing one replaces it).
    fill(ext) {
        const n = normalExternal(ext);
        this.url.value = n.url;
        this.secret.value = '';
        this.timeout.value = String(n.timeout_ms);
        this.list.replaceChildren();
        for (const f of n.fields) this.add(f);
        this.addButton.disabled = this.rows().length >= FIELDS_MAX;
    }

    // How the secret box reads: keeping the event's (editing), the
    // template's, or a new one to choose.
    explain(keeps, from) {
        this.secretHelp.hidden = !keeps;
        this.secretHelp.textContent = from
            ? `Leave it empty to use the secret of “${from}”.`
            : 'A secret is set: leave it empty to keep it, or type a new one to replace it.';
    }

    add(f = { label: '', name: '', type: 'text' }) {
        const id = `ev-ext-${++this.made}`;
        const field = (text, input) => {
            input.id = `${id}-${input.dataset.part}`;
            return el('label', { className: 'field', htmlFor: input.id }, text, input);
        };
        const label = el('input', { type: 'text', maxLength: 100, value: f.label || '' });
        label.dataset.part = 'label';
        const name = el('input', { type: 'text', maxLength: NAME_MAX, value: f.name || '',
            placeholder: 'made from the label', pattern: '[a-z0-9_]{1,32}', spellcheck: false });
        name.dataset.part = 'name';
        const type = el('select', {}, ...TYPES.map(([value, text]) => el('option', { value, textContent: text })));
        type.dataset.part = 'type';
        type.value = f.type || 'text';
        const legend = el('legend');
        const remove = button('Remove', () => {
            const at = this.rows().indexOf(row);
            row.remove();
            this.renumber();
            const next = this.rows()[Math.min(at, this.rows().length - 1)];
            (next ? this.part(next, 'label') : this.addButton).focus();
        }, 'danger');
        remove.dataset.part = 'remove';
        const row = el('li', { className: 'reg-field' }, el('fieldset', {}, legend,
            field('Label', label), field('Name (a–z, 0–9, _)', name), field('Type', type), remove));
        this.list.append(row);
        this.renumber();
        return row;
    }

    renumber() {
        this.rows().forEach((row, i) => {
            row.querySelector('legend').textContent = `Field ${i + 1}`;
            this.part(row, 'remove').setAttribute('aria-label', `Remove field ${i + 1}`);
        });
        this.addButton.disabled = this.rows().length >= FIELDS_MAX;
    }

    // The settings as the API takes them, without the secret; a name left
    // empty is made from the label (and made unique).
    read() {
        const taken = new Set(this.rows().map((row) => this.part(row, 'name').value.trim()).filter(Boolean));
        const fields = this.rows().map((row, i) => {
            const label = this.part(row, 'label').value.trim();
            let name = this.part(row, 'name').value.trim();
            if (!name) {
                const base = nameFromLabel(label) || `field_${i + 1}`;
                name = base === 'name' ? 'name_1' : base;
                for (let n = 2; taken.has(name); n++) name = `${base.slice(0, NAME_MAX - String(n).length - 1)}_${n}`;
                taken.add(name);
            }
            return { name, label, type: this.part(row, 'type').value };
        });
        return normalExternal({ url: this.url.value.trim(), timeout_ms: this.timeout.value, fields });
    }

    // What the page can tell before asking the server: [input, message] or
    // null.  hasSecret: the event (or its template) has one already.
    check(hasSecret) {
        if (!this.url.value.trim()) return [this.url, 'give the address of your system’s check'];
        if (!/^https?:\/\//.test(this.url.value.trim())) return [this.url, 'the address starts with https:// (or http://)'];
        if (!hasSecret && !this.secret.value) return [this.secret, 'choose a shared secret for your system'];
        if (this.secret.value && this.secret.value.length < 16) return [this.secret, 'the secret needs at least 16 characters'];
        for (const [i, row] of this.rows().entries()) {
            if (!this.part(row, 'label').value.trim()) return [this.part(row, 'label'), `field ${i + 1} needs a label`];
        }
        return null;
    }

    // The input a refusal of `external.fields` is about: "field 2: ..."
    // names the second row; anything else the list's add button.
    inputFor(message) {
        const m = /field (\d+)/.exec(message || '');
        const row = m && this.rows()[Number(m[1]) - 1];
        return row ? this.part(row, 'name') : this.addButton;
    }
}

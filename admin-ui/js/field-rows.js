// The fields an organiser defines in the console's event form, one row
// each: a registration form's questions (js/admin-event-regform.js) and an
// external check's fields (js/admin-event-external.js).  A row has a
// label, a name for the API (made from the label when left empty) and a
// type, then whatever its form adds; rows are added, removed and numbered
// here.
import { el } from './util.js';
import { button } from './console-ui.js';

export const NAME_MAX = 32;

// A field's name from its label, as the API wants it ([a-z0-9_], 1..32):
// "Job title" -> "job_title"; "" when nothing is left.
export function nameFromLabel(label) {
    return label.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '_')
        .replace(/^_+|_+$/g, '').slice(0, NAME_MAX).replace(/_+$/, '');
}

export class FieldRows {
    // list: the <ol> of rows; addButton: the button that adds one.
    // noun: what a row is ("Question"); types: [[value, text]...];
    // max: rows at most (the button is disabled there); extra(f, field,
    // type): the form's own parts of a row, after the type (field(text,
    // input, cls) labels an input whose dataset.part is set).
    constructor(list, addButton, { idPrefix, noun, types, max = Infinity, extra = () => [] }) {
        this.list = list;
        this.addButton = addButton;
        this.opts = { idPrefix, noun, types, max, extra };
        this.made = 0;   // numbers the rows' ids, never reused
        addButton.addEventListener('click', () => {
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

    clear() {
        this.list.replaceChildren();
        this.renumber();
    }

    add(f = { label: '', name: '', type: this.opts.types[0][0] }) {
        const id = `${this.opts.idPrefix}-${++this.made}`;
        const field = (text, input, cls = 'field') => {
            input.id = `${id}-${input.dataset.part}`;
            return el('label', { className: cls, htmlFor: input.id }, text, input);
        };
        const label = el('input', { type: 'text', maxLength: 100, value: f.label || '' });
        label.dataset.part = 'label';
        const name = el('input', { type: 'text', maxLength: NAME_MAX, value: f.name || '',
            placeholder: 'made from the label', pattern: '[a-z0-9_]{1,32}', spellcheck: false });
        name.dataset.part = 'name';
        const type = el('select', {}, ...this.opts.types.map(([value, text]) => el('option', { value, textContent: text })));
        type.dataset.part = 'type';
        type.value = f.type || this.opts.types[0][0];
        const remove = button('Remove', () => {
            const rows = this.rows();
            const at = rows.indexOf(row);
            row.remove();
            this.renumber();
            // Keep the keyboard in the list: the next row's, else the add button.
            const next = this.rows()[Math.min(at, rows.length - 2)];
            (next ? this.part(next, 'label') : this.addButton).focus();
        }, 'danger');
        remove.dataset.part = 'remove';
        const row = el('li', { className: 'reg-field' }, el('fieldset', {}, el('legend'),
            field('Label', label), field('Name (a–z, 0–9, _)', name), field('Type', type),
            ...this.opts.extra(f, field, type), remove));
        this.list.append(row);
        this.renumber();
        return row;
    }

    renumber() {
        const { noun, max } = this.opts;
        this.rows().forEach((row, i) => {
            row.querySelector('legend').textContent = `${noun} ${i + 1}`;
            this.part(row, 'remove').setAttribute('aria-label', `Remove ${noun.toLowerCase()} ${i + 1}`);
        });
        this.addButton.disabled = this.rows().length >= max;
    }

    // Each row's name: as typed, or made from its label (else "<noun>_N"),
    // unique and none of reserved.
    names(reserved = []) {
        const taken = new Set([...reserved, ...this.rows().map((row) => this.part(row, 'name').value.trim()).filter(Boolean)]);
        return this.rows().map((row, i) => {
            const typed = this.part(row, 'name').value.trim();
            if (typed) return typed;
            const base = nameFromLabel(this.part(row, 'label').value.trim()) || `${this.opts.noun.toLowerCase()}_${i + 1}`;
            let name = base;
            for (let n = 2; taken.has(name); n++) name = `${base.slice(0, NAME_MAX - String(n).length - 1)}_${n}`;
            taken.add(name);
            return name;
        });
    }

    // The first row whose label is empty: [input, message] or null.
    checkLabels() {
        for (const [i, row] of this.rows().entries()) {
            if (!this.part(row, 'label').value.trim()) {
                return [this.part(row, 'label'), `${this.opts.noun.toLowerCase()} ${i + 1} needs a label`];
            }
        }
        return null;
    }

    // The row a refusal names ("field 2: ..." is the second), or null.
    rowOf(message) {
        const m = /field (\d+)/.exec(message || '');
        return (m && this.rows()[Number(m[1]) - 1]) || null;
    }
}

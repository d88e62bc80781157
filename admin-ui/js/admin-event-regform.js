// The registration form of the console's event form (docs/protocol.md,
// "Events", `registration`): the questions a registration event asks
// besides the viewer's name (a label, a name for the API and the CSV, a
// type, required or not, the options of a choice), whether the organiser
// approves each registration, and how many registrations it takes.
import { $, el } from './util.js';
import { button } from './console-ui.js';

const TYPES = [['text', 'Text'], ['choice', 'Choice'], ['phone', 'Phone'], ['email', 'E-mail']];
const NAME_MAX = 32;

// A field's name from its label, as the API wants it ([a-z0-9_], 1..32):
// "Job title" -> "job_title"; "" when nothing is left.
export function nameFromLabel(label) {
    return label.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '_')
        .replace(/^_+|_+$/g, '').slice(0, NAME_MAX).replace(/_+$/, '');
}

// A form in the API's terms, keys in the server's order, so a stored form
// and one read from the page compare as JSON.
export function normalForm(form) {
    if (!form) return null;
    return {
        fields: (form.fields || []).map((f) => {
            const o = { name: f.name, label: f.label, type: f.type, required: !!f.required };
            if (f.type === 'choice') o.options = [...(f.options || [])];
            return o;
        }),
        approval: !!form.approval,
        capacity: Number(form.capacity) || 0,
    };
}

export class RegistrationFormBuilder {
    // root: the fieldset holding #ev-reg-fields, #ev-reg-add,
    // #ev-reg-approval and #ev-reg-capacity.
    constructor(root) {
        this.root = root;
        this.list = $('#ev-reg-fields', root);
        this.approval = $('#ev-reg-approval', root);
        this.capacity = $('#ev-reg-capacity', root);
        this.made = 0;   // numbers the rows' ids, never reused
        $('#ev-reg-add', root).addEventListener('click', () => {
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

    fill(form) {
        this.list.replaceChildren();
        for (const f of form?.fields || []) this.add(f);
        this.approval.checked = !!form?.approval;
        this.capacity.value = String(form?.capacity ?? 0);
    }

    add(f = { label: '', name: '', type: 'text', required: false }) {
        const id = `ev-reg-${++this.made}`;
        const field = (text, input, cls = 'field') => {
            input.id = `${id}-${input.dataset.part}`;
            return el('label', { className: cls, htmlFor: input.id }, text, input);
        };
        const label = el('input', { type: 'text', maxLength: 100, value: f.label || '' });
        label.dataset.part = 'label';
        const name = el('input', { type: 'text', maxLength: NAME_MAX, value: f.name || '',
            placeholder: 'made from the label', pattern: '[a-z0-9_]{1,32}', spellcheck: false });
        name.dataset.part = 'name';
        const type = el('select', {}, ...TYPES.map(([value, text]) => el('option', { value, textContent: text })));
        type.dataset.part = 'type';
        type.value = f.type || 'text';
        const required = el('input', { type: 'checkbox', checked: !!f.required });
        required.dataset.part = 'required';
        const options = el('textarea', { rows: 3, value: (f.options || []).join('\n') });
        options.dataset.part = 'options';
        const optionsField = field('Options (one per line)', options, 'field wide');
        optionsField.dataset.part = 'options-field';
        const legend = el('legend');
        const remove = button('Remove', () => {
            const rows = this.rows();
            const at = rows.indexOf(row);
            row.remove();
            this.renumber();
            // Keep the keyboard in the list: the next row's, else the add button.
            const next = this.rows()[Math.min(at, rows.length - 2)];
            (next ? this.part(next, 'label') : $('#ev-reg-add', this.root)).focus();
        }, 'danger');
        remove.dataset.part = 'remove';
        const row = el('li', { className: 'reg-field' }, el('fieldset', {}, legend,
            field('Label', label), field('Name (a–z, 0–9, _)', name), field('Type', type),
            field('Required', required, 'toggle'), optionsField, remove));
        const showOptions = () => { optionsField.hidden = type.value !== 'choice'; };
        type.addEventListener('change', showOptions);
        showOptions();
        this.list.append(row);
        this.renumber();
        return row;
    }

    renumber() {
        this.rows().forEach((row, i) => {
            row.querySelector('legend').textContent = `Question ${i + 1}`;
            this.part(row, 'remove').setAttribute('aria-label', `Remove question ${i + 1}`);
        });
    }

    // The form as the API takes it; a name left empty is made from the
    // label (and made unique).
    read() {
        const taken = new Set(this.rows().map((row) => this.part(row, 'name').value.trim()).filter(Boolean));
        const fields = this.rows().map((row, i) => {
            const label = this.part(row, 'label').value.trim();
            let name = this.part(row, 'name').value.trim();
            if (!name) {
                const base = nameFromLabel(label) || `question_${i + 1}`;
                name = base;
                for (let n = 2; taken.has(name); n++) name = `${base.slice(0, NAME_MAX - String(n).length - 1)}_${n}`;
                taken.add(name);
            }
            const type = this.part(row, 'type').value;
            const f = { name, label, type, required: this.part(row, 'required').checked };
            if (type === 'choice') {
                f.options = this.part(row, 'options').value.split('\n').map((o) => o.trim()).filter(Boolean);
            }
            return f;
        });
        return normalForm({ fields, approval: this.approval.checked, capacity: this.capacity.value });
    }

    // What the page can tell before asking the server: [input, message] or null.
    check() {
        for (const [i, row] of this.rows().entries()) {
            if (!this.part(row, 'label').value.trim()) return [this.part(row, 'label'), `question ${i + 1} needs a label`];
            if (this.part(row, 'type').value === 'choice' && !this.part(row, 'options').value.trim()) {
                return [this.part(row, 'options'), `question ${i + 1} is a choice: give its options, one per line`];
            }
        }
        return null;
    }

    // The input a refusal of `registration` is about: "field 2: ..." names
    // the second question (labels and options are checked here first, so
    // its name is what is left); anything else is about the form as a whole.
    inputFor(message) {
        const m = /field (\d+)/.exec(message || '');
        const row = m && this.rows()[Number(m[1]) - 1];
        return row ? this.part(row, 'name') : this.capacity;
    }
}

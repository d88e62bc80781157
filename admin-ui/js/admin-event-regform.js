// The registration form of the console's event form (docs/protocol.md,
// "Events", `registration`): the questions a registration event asks
// besides the viewer's name (a label, a name for the API and the CSV, a
// type, required or not, the options of a choice), whether the organiser
// approves each registration, and how many registrations it takes.
import { $, el } from './util.js';
import { FieldRows } from './field-rows.js';

const TYPES = [['text', 'Text'], ['choice', 'Choice'], ['phone', 'Phone'], ['email', 'E-mail']];

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

// A question's parts after its type: required or not, and a choice's
// options (shown for a choice only).
function questionParts(f, field, type) {
    const required = el('input', { type: 'checkbox', checked: !!f.required });
    required.dataset.part = 'required';
    const options = el('textarea', { rows: 3, value: (f.options || []).join('\n') });
    options.dataset.part = 'options';
    const optionsField = field('Options (one per line)', options, 'field wide');
    optionsField.dataset.part = 'options-field';
    const showOptions = () => { optionsField.hidden = type.value !== 'choice'; };
    type.addEventListener('change', showOptions);
    showOptions();
    return [field('Required', required, 'toggle'), optionsField];
}

export class RegistrationFormBuilder {
    // root: the fieldset holding #ev-reg-fields, #ev-reg-add,
    // #ev-reg-approval and #ev-reg-capacity.
    constructor(root) {
        this.root = root;
        this.approval = $('#ev-reg-approval', root);
        this.capacity = $('#ev-reg-capacity', root);
        this.fields = new FieldRows($('#ev-reg-fields', root), $('#ev-reg-add', root),
            { idPrefix: 'ev-reg', noun: 'Question', types: TYPES, extra: questionParts });
    }

    rows() {
        return this.fields.rows();
    }

    part(row, name) {
        return this.fields.part(row, name);
    }

    fill(form) {
        this.fields.clear();
        for (const f of form?.fields || []) this.add(f);
        this.approval.checked = !!form?.approval;
        this.capacity.value = String(form?.capacity ?? 0);
    }

    add(f) {
        return this.fields.add(f);
    }

    // The form as the API takes it; a name left empty is made from the
    // label (and made unique).
    read() {
        const names = this.fields.names();
        const fields = this.rows().map((row, i) => {
            const type = this.part(row, 'type').value;
            const f = { name: names[i], label: this.part(row, 'label').value.trim(), type,
                required: this.part(row, 'required').checked };
            if (type === 'choice') {
                f.options = this.part(row, 'options').value.split('\n').map((o) => o.trim()).filter(Boolean);
            }
            return f;
        });
        return normalForm({ fields, approval: this.approval.checked, capacity: this.capacity.value });
    }

    // What the page can tell before asking the server: [input, message] or null.
    check() {
        const unlabelled = this.fields.checkLabels();
        if (unlabelled) return unlabelled;
        for (const [i, row] of this.rows().entries()) {
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
        const row = this.fields.rowOf(message);
        return row ? this.part(row, 'name') : this.capacity;
    }
}

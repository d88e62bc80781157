// The external check of the console's event form (docs/protocol.md,
// "Events", "External check"): the address of the organiser's own system,
// the shared secret (write-only: the server only says whether one is set),
// the timeout, and the fields the viewer fills in (a label, a name for the
// request, a type), which the watch page asks for.
import { $ } from './util.js';
import { FieldRows } from './field-rows.js';

const TYPES = [['text', 'Text'], ['email', 'E-mail'], ['secret', 'Secret (hidden as typed)']];
const FIELDS_MAX = 5;
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
        this.fields = new FieldRows($('#ev-ext-fields', root), $('#ev-ext-add', root),
            { idPrefix: 'ev-ext', noun: 'Field', types: TYPES, max: FIELDS_MAX });
    }

    // The event's settings (secret left empty: typing one replaces it).
    fill(ext) {
        const n = normalExternal(ext);
        this.url.value = n.url;
        this.secret.value = '';
        this.timeout.value = String(n.timeout_ms);
        this.fields.clear();
        for (const f of n.fields) this.add(f);
    }

    add(f) {
        return this.fields.add(f);
    }

    // How the secret box reads: keeping the event's (editing), the
    // template's, or a new one to choose.
    explain(keeps, from) {
        this.secretHelp.hidden = !keeps;
        this.secretHelp.textContent = from
            ? `Leave it empty to use the secret of “${from}”.`
            : 'A secret is set: leave it empty to keep it, or type a new one to replace it.';
    }

    // The settings as the API takes them, without the secret; a name left
    // empty is made from the label (unique, never "name", which is the
    // viewer's own).
    read() {
        const names = this.fields.names(['name']);
        const fields = this.fields.rows().map((row, i) => ({ name: names[i],
            label: this.fields.part(row, 'label').value.trim(), type: this.fields.part(row, 'type').value }));
        return normalExternal({ url: this.url.value.trim(), timeout_ms: this.timeout.value, fields });
    }

    // What the page can tell before asking the server: [input, message] or
    // null.  hasSecret: the event (or its template) has one already.
    check(hasSecret) {
        const url = this.url.value.trim();
        if (!url) return [this.url, 'give the address of your system’s check'];
        if (!/^https?:\/\//.test(url)) return [this.url, 'the address starts with https:// (or http://)'];
        if (!hasSecret && !this.secret.value) return [this.secret, 'choose a shared secret for your system'];
        if (this.secret.value && this.secret.value.length < 16) return [this.secret, 'the secret needs at least 16 characters'];
        return this.fields.checkLabels();
    }

    // The input a refusal of `external.fields` is about: "field 2: ..."
    // names the second row; anything else the list's add button.
    inputFor(message) {
        const row = this.fields.rowOf(message);
        return row ? this.fields.part(row, 'name') : this.fields.addButton;
    }
}

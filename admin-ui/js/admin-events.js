// The admin console's Events tab (docs/protocol.md, "Events"): the events
// by start time with their state and watch link; a form that creates one,
// edits one, or creates one from another ("Create from this": the server
// copies the template's settings, its password included, then applies the
// form); presenter links; ending and deleting an event.  Titles and texts
// are what organisers typed: shown as text, never as HTML.
import { $, apiRequest, clearError, showError } from './util.js';

const POLL_MS = 5000;   // the list follows states (scheduled -> live) by itself

// The API's field names and the form's inputs.  A refusal names a field
// in `error.field`, or in its message ("ends_at must be after starts_at").
const FIELDS = {
    title: { input: '#ev-title', label: 'Title' },
    slug: { input: '#ev-slug', label: 'Slug' },
    room: { input: '#ev-room', label: 'Room' },
    description: { input: '#ev-description', label: 'Description' },
    starts_at: { input: '#ev-starts', label: 'Starts' },
    ends_at: { input: '#ev-ends', label: 'Ends' },
    viewer_cap: { input: '#ev-cap', label: 'Viewer cap' },
    recording: { input: '#ev-recording', label: 'Recording' },
    password: { input: '#ev-password', label: 'Password' },
    watch: { input: '#ev-password', label: 'Who may watch' },
    color: { input: '#ev-color', label: 'Colour' },
    landing_text: { input: '#ev-landing', label: 'Landing text' },
    branding: { input: '#ev-landing', label: 'Branding' },
};
const CODE_FIELD = { 'slug-taken': 'slug', 'room-taken': 'room' };

// The field an API refusal is about, or null.
export function fieldOf(err) {
    const named = err.field && err.field.split('.').pop();
    if (named && FIELDS[named]) return named;
    if (CODE_FIELD[err.code]) return CODE_FIELD[err.code];
    if (err.status !== 400) return null;
    let best = null;
    let at = Infinity;
    for (const name of Object.keys(FIELDS)) {
        const m = new RegExp(`(^|[^a-z_])${name}([^a-z_]|$)`).exec(err.message || '');
        if (m && m.index < at) {
            best = name;
            at = m.index;
        }
    }
    // "branding color must be #rrggbb", "watch the password must be ...":
    // the input is the part named after the object.
    const msg = err.message || '';
    if (best === 'branding') return msg.includes('color') ? 'color' : 'landing_text';
    if (best === 'watch' && msg.includes('password')) return 'password';
    return best;
}

const pad = (n) => String(n).padStart(2, '0');

// Unix seconds <-> the value of a datetime-local input, in the viewer's zone.
export function toLocalInput(unix) {
    const d = new Date(unix * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value) {
    if (!value) return null;
    const ms = new Date(value).getTime();   // no offset in the string: local time
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

export function localTime(unix) {
    return new Date(unix * 1000).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function el(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    Object.assign(e, props);
    e.append(...children);
    return e;
}

function button(label, onClick, cls, ariaLabel) {
    const b = el('button', { type: 'button', textContent: label });
    if (cls) b.className = cls;
    if (ariaLabel) b.setAttribute('aria-label', ariaLabel);
    b.addEventListener('click', onClick);
    return b;
}

// To the clipboard; where the Clipboard API is refused, the old way
// through a selected input.
async function copyText(text, input, btn) {
    let ok = false;
    try {
        await navigator.clipboard.writeText(text);
        ok = true;
    } catch {
        if (input) {
            input.select();
            ok = document.execCommand('copy');
        }
    }
    if (btn) {
        const label = btn.textContent;
        btn.textContent = ok ? 'Copied' : 'Select and copy';
        setTimeout(() => { btn.textContent = label; }, 2000);
    }
    return ok;
}

const absolute = (path) => new URL(path, window.location.origin).href;

export class EventsConsole {
    constructor(root, token, onSummary) {
        this.root = root;
        this.token = token;
        this.onSummary = onSummary;
        this.events = [];
        this.timer = null;
        this.shown = false;
        this.loads = 0;           // numbers the list requests, so a late answer is dropped
        this.mode = null;         // form: null (closed) | {kind: 'new'|'edit'|'template', event}
        this.ui = {
            error: $('#events-error', root),
            rows: $('#event-rows', root),
            empty: $('#events-empty', root),
            form: $('#event-form', root),
            formTitle: $('#event-form-title', root),
            formError: $('#event-form-error', root),
            save: $('#event-save', root),
            password: $('#ev-password', root),
            passwordField: $('#ev-password-field', root),
            passwordHelp: $('#ev-password-help', root),
            listHelp: $('#ev-list-help', root),
            colorOn: $('#ev-color-on', root),
            color: $('#ev-color', root),
            link: $('#presenter-link', root),
            linkNote: $('#presenter-link-note', root),
            linkUrl: $('#presenter-link-url', root),
            linkOpen: $('#presenter-link-open', root),
        };
        $('#event-new', root).addEventListener('click', () => this.openForm('new'));
        $('#events-refresh', root).addEventListener('click', () => this.refresh());
        $('#event-cancel', root).addEventListener('click', () => this.closeForm());
        $('#presenter-link-copy', root).addEventListener('click', (ev) =>
            copyText(this.ui.linkUrl.value, this.ui.linkUrl, ev.currentTarget));
        this.ui.form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.save();
        });
        for (const radio of root.querySelectorAll('input[name="watch"]')) {
            radio.addEventListener('change', () => this.showPassword());
        }
        this.ui.colorOn.addEventListener('change', () => { this.ui.color.disabled = !this.ui.colorOn.checked; });
        document.addEventListener('visibilitychange', () => {
            if (this.shown && !document.hidden) this.refresh();
        });
    }

    api(method, path, body) {
        return apiRequest(method, path, { token: this.token, body });
    }

    show() {
        this.shown = true;
        this.refresh();
    }

    hide() {
        this.shown = false;
        clearTimeout(this.timer);
    }

    // ---- the list ----------------------------------------------------------

    async refresh() {
        clearTimeout(this.timer);
        const n = ++this.loads;
        if (!this.root.dataset.count) this.root.dataset.state = 'loading';
        try {
            const { events } = await this.api('GET', '/api/v1/events');
            if (n !== this.loads) return;
            // Unchanged: keep the rows (and the keyboard focus in them).
            if (JSON.stringify(events) !== JSON.stringify(this.events) || !this.root.dataset.count) {
                this.events = events;
                this.render();
            }
            clearError(this.ui.error);
            this.root.dataset.state = 'ready';
        } catch (err) {
            if (n !== this.loads) return;
            showError(this.ui.error, err);
            this.root.dataset.state = 'error';
        }
        if (this.shown && n === this.loads) this.timer = setTimeout(() => this.refresh(), POLL_MS);
    }

    render() {
        this.ui.rows.replaceChildren(...this.events.map((ev) => this.row(ev)));
        this.ui.empty.hidden = this.events.length > 0;
        this.root.dataset.count = String(this.events.length);
        const live = this.events.filter((e) => e.state === 'live').length;
        const n = this.events.length;
        this.onSummary(`${n} event${n === 1 ? '' : 's'}${live ? ` · ${live} live` : ''}`);
    }

    row(ev) {
        const tr = el('tr');
        tr.dataset.id = String(ev.id);
        tr.dataset.slug = ev.slug;
        tr.dataset.state = ev.state;
        tr.append(el('td', { className: 'event-title', textContent: ev.title }));
        const when = el('time', { dateTime: new Date(ev.starts_at * 1000).toISOString(), textContent: localTime(ev.starts_at) });
        when.title = `until ${localTime(ev.ends_at)}`;
        tr.append(el('td', { className: 'starts' }, when));
        const badge = el('span', { className: 'event-state', textContent: ev.state });
        badge.dataset.state = ev.state;
        tr.append(el('td', { className: 'state' }, badge));
        tr.append(el('td', { className: 'watch-type', textContent: ev.watch?.type || '' }));

        const url = absolute(ev.watch_url || `/e/${ev.slug}`);
        const link = el('a', { href: url, target: '_blank', rel: 'noopener', textContent: url });
        const copy = button('Copy', (e) => copyText(url, null, e.currentTarget), null,
            `Copy the watch link of ${ev.title}`);
        tr.append(el('td', {}, el('span', { className: 'watch-link' }, link, copy)));

        const actions = el('td', { className: 'actions' });
        actions.append(
            button('Edit', () => this.openForm('edit', ev)),
            button('Create from this', () => this.openForm('template', ev)),
            button('Presenter link', () => this.presenterLink(ev)),
        );
        if (ev.state !== 'ended') {
            actions.append(button('End event', () => {
                if (!window.confirm(`End “${ev.title}” now? Nobody can join it afterwards.`)) return;
                this.act(() => this.api('PATCH', `/api/v1/events/${ev.id}`, { state: 'ended' }));
            }));
        }
        actions.append(button('Delete', () => {
            if (!window.confirm(`Delete “${ev.title}”? Its watch link stops working.`)) return;
            this.act(async () => {
                await this.api('DELETE', `/api/v1/events/${ev.id}`);
                if (this.mode?.event?.id === ev.id && this.mode.kind === 'edit') this.closeForm();
                if (this.ui.link.dataset.id === String(ev.id)) this.ui.link.hidden = true;
            });
        }, 'danger'));
        tr.append(actions);
        return tr;
    }

    async act(fn) {
        clearError(this.ui.error);
        try {
            await fn();
        } catch (err) {
            showError(this.ui.error, err);
        }
        await this.refresh();
    }

    async presenterLink(ev) {
        clearError(this.ui.error);
        try {
            const link = await this.api('POST', `/api/v1/events/${ev.id}/links`, { role: 'presenter', name: 'Presenter' });
            const url = absolute(link.url);
            this.ui.link.dataset.id = String(ev.id);
            this.ui.linkNote.textContent = `For “${ev.title}” (room ${ev.room}), valid until ${localTime(link.expires_at)}. `
                + 'Whoever holds it can present: send it privately.';
            this.ui.linkUrl.value = url;
            this.ui.linkOpen.href = url;
            this.ui.link.hidden = false;
            this.ui.link.scrollIntoView({ block: 'nearest' });
        } catch (err) {
            showError(this.ui.error, err);
        }
    }

    // ---- the form ----------------------------------------------------------

    input(name) {
        return $(FIELDS[name].input, this.root);
    }

    // The form's values, in the form's own terms (strings; times as the
    // inputs' local values), so a form and an event compare field by field.
    read() {
        const f = (name) => this.input(name).value;
        return {
            title: f('title').trim(),
            slug: f('slug').trim(),
            room: f('room').trim(),
            description: f('description'),
            starts_at: f('starts_at'),
            ends_at: f('ends_at'),
            viewer_cap: f('viewer_cap') || '0',
            recording: f('recording'),
            watch: this.root.querySelector('input[name="watch"]:checked')?.value
                || this.mode?.event?.watch?.type || 'public',
            password: f('password'),
            color: this.ui.colorOn.checked ? this.ui.color.value.toLowerCase() : '',
            landing_text: f('landing_text'),
        };
    }

    static formOf(ev) {
        return {
            title: ev.title,
            slug: ev.slug,
            room: ev.room,
            description: ev.description || '',
            starts_at: toLocalInput(ev.starts_at),
            ends_at: toLocalInput(ev.ends_at),
            viewer_cap: String(ev.viewer_cap ?? 0),
            recording: ev.recording || 'allowed',
            watch: ev.watch?.type || 'public',
            password: '',
            color: (ev.branding?.color || '').toLowerCase(),
            landing_text: ev.branding?.landing_text || '',
        };
    }

    fill(v) {
        for (const name of ['title', 'slug', 'room', 'description', 'starts_at', 'ends_at', 'viewer_cap',
            'recording', 'password', 'landing_text']) {
            this.input(name).value = v[name];
        }
        // A condition this form does not know is left alone (read() keeps it).
        for (const radio of this.root.querySelectorAll('input[name="watch"]')) radio.checked = radio.value === v.watch;
        this.ui.colorOn.checked = !!v.color;
        this.ui.color.disabled = !v.color;
        if (v.color) this.ui.color.value = v.color;
        this.showPassword();
    }

    showPassword() {
        const { watch } = this.read();
        const wantsPassword = watch === 'password';
        // The list and the codes are managed through the API, not (yet) here.
        const id = this.mode?.kind === 'edit' ? this.mode.event.id : '{id}';
        this.ui.listHelp.hidden = watch !== 'whitelist' && watch !== 'invite';
        this.ui.listHelp.textContent = watch === 'whitelist'
            ? `Viewers give an e-mail, phone or staff number on the event’s list: import it with POST /api/v1/events/${id}/whitelist.`
            : `Viewers give an invite code: make codes with POST /api/v1/events/${id}/invites.`;
        // Passwords are never returned: editing keeps the current one unless
        // a new one is typed.
        const hasOne = this.mode && this.mode.kind !== 'new' && this.mode.event?.watch?.type === 'password';
        this.ui.passwordField.hidden = !wantsPassword;
        this.ui.passwordHelp.hidden = !(wantsPassword && hasOne);
        this.ui.passwordHelp.textContent = this.mode?.kind === 'template'
            ? `Leave it empty to use the password of “${this.mode.event.title}”.`
            : 'Leave it empty to keep the current password.';
    }

    openForm(kind, ev = null) {
        this.mode = { kind, event: ev };
        this.clearFieldErrors();
        clearError(this.ui.formError);
        if (kind === 'new') {
            // An hour from the next full hour, as a starting point.
            const start = new Date();
            start.setMinutes(0, 0, 0);
            start.setHours(start.getHours() + 1);
            const s = Math.floor(start.getTime() / 1000);
            this.fill({ title: '', slug: '', room: '', description: '', starts_at: toLocalInput(s),
                ends_at: toLocalInput(s + 3600), viewer_cap: '0', recording: 'allowed', watch: 'public',
                password: '', color: '', landing_text: '' });
        } else if (kind === 'edit') {
            this.fill(EventsConsole.formOf(ev));
        } else {
            // A copy of the settings; the slug and room must be new ones.
            this.fill({ ...EventsConsole.formOf(ev), slug: '', room: '' });
        }
        this.ui.formTitle.textContent = kind === 'new' ? 'New event'
            : kind === 'edit' ? `Edit “${ev.title}”` : `New event from “${ev.title}”`;
        this.ui.save.textContent = kind === 'edit' ? 'Save changes' : 'Create event';
        this.ui.form.hidden = false;
        this.ui.form.scrollIntoView({ block: 'nearest' });
        this.input('title').focus();
    }

    closeForm() {
        this.mode = null;
        this.ui.form.hidden = true;
        this.clearFieldErrors();
        clearError(this.ui.formError);
    }

    // The request body: everything for a new event; what changed for an
    // edit (PATCH); for a template, everything but a password left empty
    // (the server copies the template's).
    body(v) {
        const { kind, event } = this.mode;
        const base = kind === 'edit' ? EventsConsole.formOf(event) : null;
        const changed = (k) => !base || v[k] !== base[k];
        const body = kind === 'template' ? { template: event.id } : {};
        for (const k of ['title', 'description', 'recording']) if (changed(k)) body[k] = v[k];
        // Empty: made by the server from the title (new) or kept (edit).
        for (const k of ['slug', 'room']) if (v[k] && changed(k)) body[k] = v[k];
        for (const k of ['starts_at', 'ends_at']) if (changed(k)) body[k] = fromLocalInput(v[k]);
        if (changed('viewer_cap')) body.viewer_cap = Number(v.viewer_cap);
        if (v.watch === 'password') {
            if (v.password) body.watch = { type: 'password', password: v.password };
        } else if (changed('watch') || kind === 'template') {
            body.watch = { type: v.watch };
        }
        if (changed('color') || changed('landing_text')) {
            body.branding = { landing_text: v.landing_text };
            if (v.color) body.branding.color = v.color;
        }
        return body;
    }

    // What the page can tell before asking the server: [field, message] or null.
    check(v) {
        const { kind, event } = this.mode;
        if (!v.title) return ['title', 'give the event a title'];
        if (!v.starts_at) return ['starts_at', 'choose when it starts'];
        if (!v.ends_at) return ['ends_at', 'choose when it ends'];
        if (fromLocalInput(v.ends_at) <= fromLocalInput(v.starts_at)) return ['ends_at', 'it must end after it starts'];
        const keeps = kind !== 'new' && event?.watch?.type === 'password';
        if (v.watch === 'password' && !v.password && !keeps) return ['password', 'choose a password for the viewers'];
        // The API changes a colour but has no way to remove one.
        if (kind === 'edit' && event.branding?.color && !v.color) return ['color', 'a brand colour can be changed, not removed'];
        return null;
    }

    async save() {
        if (!this.mode) return;
        this.clearFieldErrors();
        clearError(this.ui.formError);
        const v = this.read();
        const problem = this.check(v);
        if (problem) {
            this.fieldError(problem[0], problem[1]);
            return;
        }
        const { kind, event } = this.mode;
        const body = this.body(v);
        this.ui.save.disabled = true;
        try {
            if (kind === 'edit') {
                if (Object.keys(body).length) await this.api('PATCH', `/api/v1/events/${event.id}`, body);
            } else {
                await this.api('POST', '/api/v1/events', body);
            }
            this.closeForm();
            await this.refresh();
        } catch (err) {
            const field = fieldOf(err);
            if (field) this.fieldError(field, err.message);
            else showError(this.ui.formError, err);
        } finally {
            this.ui.save.disabled = false;
        }
    }

    // The refusal beside the form, naming the field, and under the field.
    fieldError(name, message) {
        const { label } = FIELDS[name];
        showError(this.ui.formError, `${label}: ${message}`);
        const input = this.input(name);
        input.setAttribute('aria-invalid', 'true');
        const note = el('span', { className: 'field-error', id: `${input.id}-error`, textContent: message });
        input.after(note);
        input.dataset.describedby = input.getAttribute('aria-describedby') || '';
        input.setAttribute('aria-describedby', `${note.id} ${input.dataset.describedby}`.trim());
        if (name === 'password') this.ui.passwordField.hidden = false;
        if (!input.disabled) input.focus();
    }

    clearFieldErrors() {
        for (const note of this.root.querySelectorAll('.field-error')) note.remove();
        for (const input of this.root.querySelectorAll('[aria-invalid="true"]')) {
            input.removeAttribute('aria-invalid');
            if (input.dataset.describedby) input.setAttribute('aria-describedby', input.dataset.describedby);
            else input.removeAttribute('aria-describedby');
            delete input.dataset.describedby;
        }
    }
}

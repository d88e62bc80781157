// The admin console's Events tab (docs/protocol.md, "Events"): the events
// by start time with their state and watch link; a form that creates one,
// edits one, or creates one from another ("Create from this": the server
// copies the template's settings, its password included, then applies the
// form), with who may watch (a registration event's questions in
// js/admin-event-regform.js, an external check's settings in
// js/admin-event-external.js) and from where (networks, countries, one
// device at a time) and how its pages look (colour, texts, images, end page,
// marquee); presenter and co-host links; an event's whitelist,
// invite codes and registrations (js/admin-event-lists.js); ending and
// deleting an event.  Titles and texts are what organisers typed: shown as
// text, never as HTML.
import { $, apiRequest, clearError, el, showError } from './util.js';
import { absolute, button, copyText, localTime } from './console-ui.js';
import { RegistrationFormBuilder, normalForm } from './admin-event-regform.js';
import { ExternalCheckForm, normalExternal } from './admin-event-external.js';
import { InvitesBox, RegistrationsBox, WhitelistBox } from './admin-event-lists.js';

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
    logo_url: { input: '#ev-logo', label: 'Logo' },
    cover_url: { input: '#ev-cover', label: 'Cover image' },
    background_url: { input: '#ev-background', label: 'Background image' },
    page_title: { input: '#ev-page-title', label: 'Browser tab name' },
    end_text: { input: '#ev-end-text', label: 'End text' },
    end_link: { input: '#ev-end-link', label: 'End link' },
    marquee: { input: '#ev-marquee', label: 'Marquee' },
    branding: { input: '#ev-landing', label: 'Branding' },
    registration: { input: '#ev-reg-capacity', label: 'Registration form' },
    networks: { input: '#ev-nets-allow', label: 'Networks' },
    regions: { input: '#ev-regions-allow', label: 'Countries' },
    single_session: { input: '#ev-single-session', label: 'One device at a time' },
    external: { input: '#ev-ext-url', label: 'Your system’s check' },
    'external.url': { input: '#ev-ext-url', label: 'Check URL' },
    'external.secret': { input: '#ev-ext-secret', label: 'Shared secret' },
    'external.timeout_ms': { input: '#ev-ext-timeout', label: 'Timeout' },
    'external.fields': { input: '#ev-ext-add', label: 'Fields' },
};
const CODE_FIELD = { 'slug-taken': 'slug', 'room-taken': 'room' };
// The branding's keys the form sets as text ("" removes one); and all of
// them, as a refusal of `branding` names them ("logo_url must be ...").
const BRAND_TEXT = ['logo_url', 'cover_url', 'background_url', 'page_title', 'end_text', 'end_link'];
const BRAND_KEYS = ['color', 'landing_text', ...BRAND_TEXT, 'marquee'];
const NO_BRANDING = { color: '', landing_text: '', ...Object.fromEntries(BRAND_TEXT.map((k) => [k, ''])), marquee: false };

// The first of `names` the message names as a word, or null.
function firstNamed(names, message) {
    let best = null;
    let at = Infinity;
    for (const name of names) {
        const m = new RegExp(`(^|[^a-z_])${name}([^a-z_]|$)`).exec(message || '');
        if (m && m.index < at) {
            best = name;
            at = m.index;
        }
    }
    return best;
}

// The field an API refusal is about, or null.
export function fieldOf(err) {
    // "external.url" is a field of its own; "branding.x" is branding's.
    const named = err.field && (FIELDS[err.field] ? err.field : err.field.split('.').pop());
    // "branding logo_url must be ...": the input is the key's.
    if (named === 'branding') return firstNamed(BRAND_KEYS, err.message) || 'branding';
    if (named && FIELDS[named]) return named;
    if (CODE_FIELD[err.code]) return CODE_FIELD[err.code];
    if (err.status !== 400) return null;
    const best = firstNamed(Object.keys(FIELDS), err.message);
    // "branding color must be #rrggbb", "watch the password must be ...":
    // the input is the part named after the object.
    const msg = err.message || '';
    if (best === 'branding') return firstNamed(BRAND_KEYS, msg) || 'branding';
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

// "10.0.0.0/8\n\n 192.168.1.7 " -> ['10.0.0.0/8', '192.168.1.7']
const linesOf = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);
// "de, at;FR" -> ['DE', 'AT', 'FR']
const codesOf = (text) => text.split(/[\s,;]+/).map((c) => c.trim().toUpperCase()).filter(Boolean);

const HOW = {
    whitelist: 'Viewers give an e-mail, phone or staff number on the event’s list: import it with the event’s “Whitelist” button once the event is saved.',
    invite: 'Viewers give an invite code: make codes with the event’s “Invite codes” button once the event is saved.',
    registration: 'Viewers fill in a form: their name and the questions below. Approve or reject them with the event’s “Registrations” button.',
    external: 'Viewers fill in the fields below; your system admits or refuses each of them, and names them.',
};
const LISTS = { whitelist: 'Whitelist', invite: 'Invite codes', registration: 'Registrations' };
const ROLES = { presenter: 'Presenter', cohost: 'Co-host' };

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
            registration: $('#ev-registration', root),
            external: $('#ev-external', root),
            netsAllow: $('#ev-nets-allow', root),
            netsDeny: $('#ev-nets-deny', root),
            regionsAllow: $('#ev-regions-allow', root),
            regionsDeny: $('#ev-regions-deny', root),
            singleSession: $('#ev-single-session', root),
            colorOn: $('#ev-color-on', root),
            color: $('#ev-color', root),
            marquee: $('#ev-marquee', root),
            link: $('#presenter-link', root),
            linkTitle: $('#presenter-link-title', root),
            linkForm: $('#link-form', root),
            linkRole: $('#link-role', root),
            linkName: $('#link-name', root),
            linkNote: $('#presenter-link-note', root),
            linkUrl: $('#presenter-link-url', root),
            linkOpen: $('#presenter-link-open', root),
        };
        this.questions = new RegistrationFormBuilder(this.ui.registration);
        this.external = new ExternalCheckForm(this.ui.external);
        this.lists = {
            whitelist: new WhitelistBox($('#whitelist-box', root), token),
            invite: new InvitesBox($('#invites-box', root), token),
            registration: new RegistrationsBox($('#registrations-box', root), token),
        };
        $('#event-new', root).addEventListener('click', () => this.openForm('new'));
        $('#events-refresh', root).addEventListener('click', () => this.refresh());
        $('#event-cancel', root).addEventListener('click', () => this.closeForm());
        $('#presenter-link-copy', root).addEventListener('click', (ev) =>
            copyText(this.ui.linkUrl.value, this.ui.linkUrl, ev.currentTarget));
        this.ui.linkForm.addEventListener('submit', (ev) => {
            ev.preventDefault();
            const event = this.events.find((e) => String(e.id) === this.ui.link.dataset.id);
            if (event) this.hostLink(event, this.ui.linkRole.value, this.ui.linkName.value.trim());
        });
        this.ui.form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.save();
        });
        for (const radio of root.querySelectorAll('input[name="watch"]')) {
            radio.addEventListener('change', () => this.showWatch());
        }
        this.ui.colorOn.addEventListener('change', () => { this.ui.color.disabled = !this.ui.colorOn.checked; });
        document.addEventListener('visibilitychange', () => {
            if (!this.shown || document.hidden) return;
            this.refresh();
            for (const box of Object.values(this.lists)) box.resume();
        });
    }

    api(method, path, body) {
        return apiRequest(method, path, { token: this.token, body });
    }

    show() {
        this.shown = true;
        this.refresh();
        for (const box of Object.values(this.lists)) box.resume();
    }

    hide() {
        this.shown = false;
        clearTimeout(this.timer);
        for (const box of Object.values(this.lists)) box.pause();
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
        // An open list box follows its event's changes, and goes with it.
        for (const box of Object.values(this.lists)) {
            if (!box.event) continue;
            const ev = this.events.find((e) => e.id === box.event.id);
            if (ev) box.update(ev);
            else box.close();
        }
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
            button('Presenter link', () => this.hostLink(ev, 'presenter', 'Presenter')),
        );
        const list = LISTS[ev.watch?.type];
        if (list) actions.append(button(list, () => this.openList(ev)));
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

    // The box of the event's list (whitelist, invite codes or
    // registrations); one box open at a time.
    openList(ev) {
        const type = ev.watch?.type;
        for (const [kind, box] of Object.entries(this.lists)) if (kind !== type && box.event) box.close();
        this.lists[type]?.open(ev);
    }

    // A presenter or co-host link for the event, shown to copy or open;
    // the box's own form issues others (another role, another name).
    async hostLink(ev, role, name) {
        clearError(this.ui.error);
        try {
            const link = await this.api('POST', `/api/v1/events/${ev.id}/links`, name ? { role, name } : { role });
            const url = absolute(link.url);
            const what = ROLES[role] || role;
            this.ui.link.dataset.id = String(ev.id);
            this.ui.link.dataset.role = role;
            this.ui.linkTitle.textContent = `${what} link`;
            this.ui.linkRole.value = role;
            this.ui.linkName.value = name;
            this.ui.linkNote.textContent = `For “${ev.title}” (room ${ev.room})${name ? `, as “${name}”` : ''}, `
                + `valid until ${localTime(link.expires_at)}. Whoever holds it can `
                + `${role === 'cohost' ? 'join the stage as a co-host' : 'present'}: send it privately.`;
            this.ui.linkUrl.value = url;
            this.ui.linkUrl.setAttribute('aria-label', `${what} link`);
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

    // The input a refusal of `name` is about: for a list, the one holding
    // the value the message quotes; for the registration form, the
    // question it names.
    inputFor(name, message) {
        if (name === 'registration') return this.questions.inputFor(message);
        if (name === 'external.fields') return this.external.inputFor(message);
        const quoted = /'([^']*)'/.exec(message || '')?.[1]?.toUpperCase();
        if (name === 'networks' && quoted && linesOf(this.ui.netsDeny.value).some((l) => l.toUpperCase() === quoted)) return this.ui.netsDeny;
        if (name === 'regions' && quoted && codesOf(this.ui.regionsDeny.value).includes(quoted)) return this.ui.regionsDeny;
        return this.input(name);
    }

    // The form's values, in the form's own terms (strings; times as the
    // inputs' local values), so a form and an event compare field by field.
    read() {
        const f = (name) => this.input(name).value;
        const watch = this.root.querySelector('input[name="watch"]:checked')?.value
            || this.mode?.event?.watch?.type || 'public';
        return {
            title: f('title').trim(),
            slug: f('slug').trim(),
            room: f('room').trim(),
            description: f('description'),
            starts_at: f('starts_at'),
            ends_at: f('ends_at'),
            viewer_cap: f('viewer_cap') || '0',
            recording: f('recording'),
            watch,
            password: f('password'),
            registration: watch === 'registration' ? JSON.stringify(this.questions.read()) : '',
            external: watch === 'external' ? JSON.stringify(this.external.read()) : '',
            external_secret: watch === 'external' ? this.external.secret.value : '',
            nets_allow: linesOf(this.ui.netsAllow.value).join('\n'),
            nets_deny: linesOf(this.ui.netsDeny.value).join('\n'),
            regions_allow: codesOf(this.ui.regionsAllow.value).join(', '),
            regions_deny: codesOf(this.ui.regionsDeny.value).join(', '),
            single_session: this.ui.singleSession.checked,
            color: this.ui.colorOn.checked ? this.ui.color.value.toLowerCase() : '',
            landing_text: f('landing_text'),
            ...Object.fromEntries(BRAND_TEXT.map((k) => [k, k === 'end_text' ? f(k) : f(k).trim()])),
            marquee: this.ui.marquee.checked,
        };
    }

    static formOf(ev) {
        const watch = ev.watch?.type || 'public';
        return {
            title: ev.title,
            slug: ev.slug,
            room: ev.room,
            description: ev.description || '',
            starts_at: toLocalInput(ev.starts_at),
            ends_at: toLocalInput(ev.ends_at),
            viewer_cap: String(ev.viewer_cap ?? 0),
            recording: ev.recording || 'allowed',
            watch,
            password: '',
            registration: watch === 'registration' ? JSON.stringify(normalForm(ev.registration || { fields: [] })) : '',
            external: watch === 'external' ? JSON.stringify(normalExternal(ev.external)) : '',
            external_secret: '',
            nets_allow: (ev.networks?.allow || []).join('\n'),
            nets_deny: (ev.networks?.deny || []).join('\n'),
            regions_allow: (ev.regions?.allow || []).join(', '),
            regions_deny: (ev.regions?.deny || []).join(', '),
            single_session: !!ev.single_session,
            color: (ev.branding?.color || '').toLowerCase(),
            landing_text: ev.branding?.landing_text || '',
            ...Object.fromEntries(BRAND_TEXT.map((k) => [k, ev.branding?.[k] || ''])),
            marquee: ev.branding?.marquee === true,
        };
    }

    fill(v, form = null, external = null) {
        for (const name of ['title', 'slug', 'room', 'description', 'starts_at', 'ends_at', 'viewer_cap',
            'recording', 'password', 'landing_text', ...BRAND_TEXT]) {
            this.input(name).value = v[name];
        }
        this.ui.marquee.checked = v.marquee;
        // A condition this form does not know is left alone (read() keeps it).
        for (const radio of this.root.querySelectorAll('input[name="watch"]')) radio.checked = radio.value === v.watch;
        // The questions of the event (kept when it is switched to another
        // condition and back), or one to start from.
        this.questions.fill(form || { fields: [], approval: false, capacity: 0 });
        if (!this.questions.rows().length) this.questions.add();
        // The external check's settings (kept likewise), or one field to start from.
        this.external.fill(external);
        if (!external) this.external.add({ label: 'Access code', name: 'code', type: 'text' });
        this.ui.netsAllow.value = v.nets_allow;
        this.ui.netsDeny.value = v.nets_deny;
        this.ui.regionsAllow.value = v.regions_allow;
        this.ui.regionsDeny.value = v.regions_deny;
        this.ui.singleSession.checked = v.single_session;
        this.ui.colorOn.checked = !!v.color;
        this.ui.color.disabled = !v.color;
        if (v.color) this.ui.color.value = v.color;
        this.showWatch();
    }

    showWatch() {
        const { watch } = this.read();
        const wantsPassword = watch === 'password';
        this.ui.listHelp.hidden = !HOW[watch];
        this.ui.listHelp.textContent = HOW[watch] || '';
        this.ui.registration.hidden = watch !== 'registration';
        this.ui.external.hidden = watch !== 'external';
        // The secret is never returned: editing keeps it unless one is typed.
        const secretFrom = this.mode && this.mode.kind !== 'new' && this.mode.event?.external?.secret_set;
        this.external.explain(!!secretFrom, this.mode?.kind === 'template' ? this.mode.event.title : null);
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
                password: '', external: '', external_secret: '', nets_allow: '', nets_deny: '',
                regions_allow: '', regions_deny: '', single_session: false, ...NO_BRANDING });
        } else if (kind === 'edit') {
            this.fill(EventsConsole.formOf(ev), ev.registration, ev.external);
        } else {
            // A copy of the settings; the slug and room must be new ones.
            this.fill({ ...EventsConsole.formOf(ev), slug: '', room: '' }, ev.registration, ev.external);
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
        for (const k of ['title', 'description', 'recording', 'single_session']) if (changed(k)) body[k] = v[k];
        // Empty: made by the server from the title (new) or kept (edit).
        for (const k of ['slug', 'room']) if (v[k] && changed(k)) body[k] = v[k];
        for (const k of ['starts_at', 'ends_at']) if (changed(k)) body[k] = fromLocalInput(v[k]);
        if (changed('viewer_cap')) body.viewer_cap = Number(v.viewer_cap);
        if (v.watch === 'password') {
            if (v.password) body.watch = { type: 'password', password: v.password };
        } else if (changed('watch') || kind === 'template') {
            body.watch = { type: v.watch };
        }
        if (v.watch === 'registration' && (changed('registration') || changed('watch'))) {
            body.registration = JSON.parse(v.registration);
        }
        if (v.watch === 'external' && (changed('external') || changed('watch') || v.external_secret)) {
            body.external = JSON.parse(v.external);
            if (v.external_secret) body.external.secret = v.external_secret;
        }
        if (changed('nets_allow') || changed('nets_deny')) {
            body.networks = { allow: linesOf(v.nets_allow), deny: linesOf(v.nets_deny) };
        }
        if (changed('regions_allow') || changed('regions_deny')) {
            body.regions = { allow: codesOf(v.regions_allow), deny: codesOf(v.regions_deny) };
        }
        // Only the keys that changed: "" removes one; the server keeps the others.
        const branding = {};
        for (const k of BRAND_KEYS) if (changed(k)) branding[k] = v[k];
        if (Object.keys(branding).length) body.branding = branding;
        return body;
    }

    // What the page can tell before asking the server: [field, message,
    // input?] or null.
    check(v) {
        const { kind, event } = this.mode;
        if (!v.title) return ['title', 'give the event a title'];
        if (!v.starts_at) return ['starts_at', 'choose when it starts'];
        if (!v.ends_at) return ['ends_at', 'choose when it ends'];
        if (fromLocalInput(v.ends_at) <= fromLocalInput(v.starts_at)) return ['ends_at', 'it must end after it starts'];
        const keeps = kind !== 'new' && event?.watch?.type === 'password';
        if (v.watch === 'password' && !v.password && !keeps) return ['password', 'choose a password for the viewers'];
        if (v.watch === 'registration') {
            const problem = this.questions.check();
            if (problem) return ['registration', problem[1], problem[0]];
        }
        if (v.watch === 'external') {
            const problem = this.external.check(kind !== 'new' && !!event?.external?.secret_set);
            if (problem) return ['external', problem[1], problem[0]];
        }
        return null;
    }

    async save() {
        if (!this.mode) return;
        this.clearFieldErrors();
        clearError(this.ui.formError);
        const v = this.read();
        const problem = this.check(v);
        if (problem) {
            this.fieldError(problem[0], problem[1], problem[2]);
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
    fieldError(name, message, at = null) {
        const { label } = FIELDS[name];
        showError(this.ui.formError, `${label}: ${message}`);
        const input = at || this.inputFor(name, message);
        input.setAttribute('aria-invalid', 'true');
        const note = el('span', { className: 'field-error', id: `${input.id}-error`, textContent: message });
        // After the input's label when the label wraps a checkbox, so the
        // note is not read as part of the label.
        (input.type === 'checkbox' ? input.closest('label') || input : input).after(note);
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

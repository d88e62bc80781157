// The watch page, served at /e/{slug} (docs/protocol.md, "Events"): the
// event's landing page (title, description, landing text, start time, a
// live countdown, the organiser's colour, title, logo, cover and background
// from its branding) and the form its watch condition needs (a
// registration event's: the viewer's name and the organiser's questions;
// an external check's: the fields the organiser's own system asks for);
// once admitted, the viewer page with the token the server minted; once
// the event has ended, the organiser's end text and link instead of the
// form.  No token here: the link itself is the invitation.  Everything
// the organiser typed is shown as text (textContent), never as HTML.
//
// A registration the organiser approves is waited for here: its key (the
// only way back to it) is kept in the tab's sessionStorage, never in the
// address, and asked about every few seconds; a page reopened in the same
// tab carries on waiting.
//
// document.body.dataset.state: loading | ready | joining | pending
// (registered, waiting for approval) | rejected | admitted | missing (no
// such event) | error; dataset.event: the event's state.
import { pageTitle, showBackground, showCover, showEnd, showLogo } from './branding.js';
import { $, apiRequest, clearError, el, setState, showError } from './util.js';

const SOON_S = 5 * 60;                          // "Starting soon" from here
const POLL_MS = 60000, POLL_SOON_MS = 15000;    // look again for live / ended
const REGISTRATION_POLL_MS = 4000;              // a pending registration: approved yet?
const slug = /^\/e\/([a-z0-9-]{1,64})\/?$/.exec(window.location.pathname)?.[1] || '';
const KEPT = `stagecast.registration.${slug}`;  // sessionStorage: {key, name}

const ui = {
    topbar: $('.topbar'),
    status: $('#status'),
    error: $('#error'),
    card: $('#event'),
    missing: $('#missing'),
    title: $('#title'),
    starts: $('#starts'),
    countdown: $('#countdown'),
    description: $('#description'),
    landing: $('#landing-text'),
    form: $('#join-form'),
    credentialField: $('#credential-field'),
    credentialLabel: $('#credential-label'),
    credential: $('#credential'),
    nameField: $('#name-field'),
    nameLabel: $('#name-label'),
    name: $('#viewer-name'),
    questions: $('#questions'),
    requiredNote: $('#required-note'),
    watch: $('#watch'),
    joinError: $('#join-error'),
    waiting: $('#waiting'),
    waitingTitle: $('#waiting-title'),
    waitingText: $('#waiting-text'),
    end: $('#end'),
    endText: $('#end-text'),
    endLink: $('#end-link'),
};

let info = null;      // GET /api/v1/watch/{slug}
let skewMs = 0;       // the server's clock minus ours
let pollTimer = null;
let tickTimer = null;
let lockTimer = null; // the Watch button's pause after too many attempts
let regTimer = null;  // the next look at a pending registration
let registered = 'no';  // no | pending | rejected: this tab's registration
let questionsShown = null;  // the form the questions were made from (JSON)
let keptInPage = null;  // this tab's registration, should sessionStorage refuse it

const pad = (n) => String(n).padStart(2, '0');

// What the countdown says for an event in `state` starting at startsAt
// (Unix s), at nowS: {phase: countdown | soon | live | ended, text}.
export function countdown(state, startsAt, nowS) {
    if (state === 'live') return { phase: 'live', text: 'Live now' };
    if (state === 'ended') return { phase: 'ended', text: 'This event has ended' };
    const left = Math.floor(startsAt - nowS);
    // Past the start and not live yet: the presenter is on the way.
    if (left <= SOON_S) return { phase: 'soon', text: 'Starting soon' };
    const d = Math.floor(left / 86400);
    const hms = `${pad(Math.floor((left % 86400) / 3600))}:${pad(Math.floor((left % 3600) / 60))}:${pad(left % 60)}`;
    return { phase: 'countdown', text: `Starts in ${d ? `${d} d ` : ''}${hms}` };
}

const STATUS = { countdown: 'Scheduled', soon: 'Starting soon', live: 'Live', ended: 'Ended' };

// What each watch condition asks the viewer for: the join request's key,
// the field's label and input attributes, and what to say when it is empty.
const ASKS = {
    password: { key: 'password', label: 'Password', type: 'password', autocomplete: 'current-password',
        empty: 'Enter the password you were given.' },
    whitelist: { key: 'id', label: 'Your e-mail, phone or staff number', type: 'text', autocomplete: 'username',
        empty: 'Enter the e-mail, phone or staff number the organiser has on the list.' },
    invite: { key: 'code', label: 'Invite code', type: 'text', autocomplete: 'off',
        empty: 'Enter the invite code you were given.' },
};

// A question's input by its type; a choice is a select.  An external
// check's fields are text, email or secret (not shown as typed).
const INPUT = {
    text: { type: 'text', autocomplete: 'off' },
    phone: { type: 'tel', autocomplete: 'tel' },
    email: { type: 'email', autocomplete: 'email' },
    secret: { type: 'password', autocomplete: 'off' },
};
const VALUE_MAX = { registration: 200, external: 2048 };

// A required field's star; its input says "required" to a screen reader.
function requiredMark() {
    const star = el('span', { className: 'required', textContent: ' *' });
    star.setAttribute('aria-hidden', 'true');
    return star;
}

function question(f) {
    let input;
    if (f.type === 'choice') {
        input = el('select', {}, el('option', { value: '', textContent: 'Choose…' }),
            ...(f.options || []).map((o) => el('option', { value: o, textContent: o })));
    } else {
        const kind = INPUT[f.type] || INPUT.text;
        input = el('input', { type: kind.type, autocomplete: kind.autocomplete,
            maxLength: VALUE_MAX[info.watch?.type] || 200 });
    }
    input.id = `q-${f.name}`;
    input.name = f.name;
    input.required = !!f.required;
    input.dataset.question = f.name;
    const label = el('span', { textContent: f.label });
    if (f.required) label.append(requiredMark());
    return el('label', { className: 'field', htmlFor: input.id }, label, input);
}

// The fields the viewer fills in: a registration form's questions, or
// what an external check asks for (every one required); [] for others.
function askedFields() {
    switch (info.watch?.type) {
    case 'registration': return info.registration?.fields || [];
    case 'external': return (info.external?.fields || []).map((f) => ({ ...f, required: true }));
    default: return [];
    }
}

// The questions, made again only when the organiser changed them (what was
// typed in a question that stays is kept).
function renderQuestions(fields) {
    const shown = JSON.stringify(fields);
    if (shown === questionsShown) return;
    questionsShown = shown;
    const typed = new Map([...ui.questions.querySelectorAll('[data-question]')].map((i) => [i.name, i.value]));
    ui.questions.replaceChildren(...fields.map(question));
    for (const input of ui.questions.querySelectorAll('[data-question]')) {
        const value = typed.get(input.name);
        if (value && (input.tagName !== 'SELECT' || [...input.options].some((o) => o.value === value))) input.value = value;
    }
}

function phaseNow() {
    return countdown(info.state, info.starts_at, (Date.now() + skewMs) / 1000);
}

function tick() {
    const { phase, text } = phaseNow();
    if (ui.countdown.textContent !== text) ui.countdown.textContent = text;
    ui.countdown.dataset.phase = phase;
    ui.status.textContent = STATUS[phase];
}

// Black or white, whichever contrasts more with #rrggbb (WCAG luminance).
function textOn(hex) {
    const lin = (i) => {
        const c = parseInt(hex.slice(i, i + 2), 16) / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const l = 0.2126 * lin(1) + 0.7152 * lin(3) + 0.0722 * lin(5);
    return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? '#000' : '#fff';
}

function render() {
    document.title = pageTitle(info);
    document.body.dataset.event = info.state;
    ui.title.textContent = info.title;
    showLogo(ui.topbar, info);
    showCover(ui.card, ui.title, info);
    showBackground(document.body, info);
    const start = new Date(info.starts_at * 1000);
    ui.starts.dateTime = start.toISOString();
    ui.starts.textContent = start.toLocaleString([], { dateStyle: 'full', timeStyle: 'short' });
    ui.description.textContent = info.description || '';
    ui.landing.textContent = info.branding?.landing_text || '';
    const color = info.branding?.color;
    if (typeof color === 'string' && /^#[0-9a-fA-F]{6}$/.test(color)) {
        document.body.style.setProperty('--brand', color);
        document.body.style.setProperty('--brand-text', textOn(color));
    }
    const type = info.watch?.type;
    const registration = type === 'registration';
    const fields = askedFields();
    // A whitelisted viewer is named by the list; a registration asks for a
    // name; anyone else may give one.
    ui.nameField.hidden = type === 'whitelist';
    ui.name.required = registration;
    ui.nameLabel.replaceChildren(registration ? 'Your name' : 'Your name (optional)', ...(registration ? [requiredMark()] : []));
    ui.questions.hidden = !fields.length;
    renderQuestions(fields);
    ui.requiredNote.hidden = !fields.some((f) => f.required);
    ui.watch.textContent = registration ? 'Register' : 'Watch';
    const ask = ASKS[type];
    ui.credentialField.hidden = !ask;
    ui.credential.required = !!ask;
    if (ask) {
        // The organiser changed the condition: what was typed is for another.
        if (ui.credentialLabel.textContent !== ask.label) ui.credential.value = '';
        ui.credentialLabel.textContent = ask.label;
        ui.credential.type = ask.type;
        ui.credential.autocomplete = ask.autocomplete;
    }
    // An ended event admits nobody: no form to fill in.  A registration
    // made in this tab is waited for instead of the form.
    const ended = info.state === 'ended';
    ui.form.hidden = ended || registered !== 'no';
    ui.waiting.hidden = ended || registered === 'no';
    showEnd(ui.endText, ui.endLink, info);
    ui.end.hidden = !ended || (ui.endText.hidden && ui.endLink.parentElement.hidden);
    tick();
}

function showMissing() {
    clearTimeout(pollTimer);
    clearTimeout(regTimer);
    clearInterval(tickTimer);
    document.title = 'No such event · Stagecast';
    ui.card.hidden = true;
    ui.missing.hidden = false;
    ui.status.textContent = 'No such event';
    clearError(ui.error);
    setState('missing');
}

function schedulePoll() {
    clearTimeout(pollTimer);
    const soon = info && ['soon', 'live'].includes(phaseNow().phase);
    const base = soon ? POLL_SOON_MS : POLL_MS;
    // Jitter, so a crowd on one landing page does not ask in step.
    pollTimer = setTimeout(load, base * (0.8 + Math.random() * 0.4));
}

async function load() {
    const first = info === null;
    try {
        const answer = await apiRequest('GET', `/api/v1/watch/${slug}`);
        if (Number.isFinite(answer.server_time)) skewMs = answer.server_time * 1000 - Date.now();
        info = answer;
        render();
        if (first) {
            ui.card.hidden = false;
            clearError(ui.error);
            setState('ready');
            tickTimer = setInterval(tick, 1000);
            // Reopened in the tab that registered: carry on waiting.
            if (info.watch?.type === 'registration' && kept()) waitForApproval(kept().name, true);
        }
    } catch (err) {
        if (err.status === 404) {
            showMissing();
            return;
        }
        // A passing failure while the page shows the event goes unsaid.
        if (first) {
            showError(ui.error, `Could not load the event (${err.message}). Trying again…`);
            ui.status.textContent = 'Error';
            setState('error');
        }
    }
    schedulePoll();
}

// The credential was not accepted: say so at the field, ready to retype.
function refuseCredential(message) {
    showError(ui.joinError, message);
    ui.credential.setAttribute('aria-invalid', 'true');
    ui.credential.select();
    ui.credential.focus();
}

// The Watch button rests for the seconds the server asked (Retry-After).
function pauseWatch(seconds) {
    ui.watch.disabled = true;
    clearTimeout(lockTimer);
    lockTimer = setTimeout(() => { ui.watch.disabled = false; }, seconds * 1000);
}

function joinRefused(err) {
    setState('ready');
    ui.watch.disabled = false;
    switch (err.code) {
    case 'wrong-password':
        refuseCredential('Wrong password. Check it and try again.');
        break;
    case 'not-on-whitelist':
        refuseCredential('That is not on this event’s list of viewers. Check it, or ask the organiser.');
        break;
    case 'invalid-code':
        refuseCredential('That invite code is not valid. Check it and try again.');
        break;
    case 'code-used-up':
        refuseCredential('That invite code has been used as many times as it allows.');
        break;
    case 'network-not-allowed':
        showError(ui.joinError, 'This event cannot be watched from your network. Ask the organiser.');
        break;
    case 'region-not-allowed':
        showError(ui.joinError, 'This event cannot be watched from your country. Ask the organiser.');
        break;
    case 'registration-required':
        // The organiser switched the event to registration: show its form.
        load();
        break;
    case 'not-found':
        // The event takes no registrations any more: show what it asks now.
        load();
        break;
    case 'registration-full':
        showError(ui.joinError, 'This event takes no more registrations.');
        break;
    case 'event-ended':
        info.state = 'ended';
        render();
        break;
    case 'event-full':
        showError(ui.joinError, 'This event is full: as many viewers as it admits are watching. Try again in a few minutes.');
        break;
    case 'external-denied':
        // The organiser's own words (text), at the first of its fields.
        refuseFields(err.message);
        break;
    case 'external-unavailable':
        showError(ui.joinError, 'The organiser’s sign-in service did not answer. Try again in a moment.');
        break;
    case 'external-busy':
        showError(ui.joinError, 'Many viewers are joining right now. Try again in a few seconds.');
        pauseWatch(err.retryAfter || 5);
        break;
    case 'too-many-attempts':
        showError(ui.joinError, 'Too many wrong attempts from your network. Wait a minute, then try again.');
        pauseWatch(err.retryAfter || 60);
        break;
    case 'no-such-event':
        showMissing();
        break;
    case 'bad-request':
        // A field of the form refused (an external check's): at its input.
        if (err.field && askedFields().some((f) => f.name === err.field)) {
            refuseAnswer(err);
            break;
        }
        // falls through
    default:
        showError(ui.joinError, err.status
            ? `Could not join (${err.code || `HTTP ${err.status}`}): ${err.message}`
            : 'Could not reach the server. Check your connection and try again.');
    }
}

// Onward to the viewer page: only a page of ours (the answer names a path
// on this server).
function admit(admitted) {
    const next = new URL(admitted.viewer_url, window.location.origin);
    if (next.origin !== window.location.origin) throw new Error('the server sent a link to another site');
    setState('admitted');
    clearTimeout(pollTimer);
    clearTimeout(regTimer);
    window.location.assign(next.href);
}

// Refused for what was filled in as a whole: say so, at the first field.
function refuseFields(message) {
    const first = ui.questions.querySelector('[data-question]');
    showError(ui.joinError, message ? `${message[0].toUpperCase()}${message.slice(1)}` : 'Not admitted.');
    if (!first) return;
    first.setAttribute('aria-invalid', 'true');
    first.setAttribute('aria-describedby', ui.joinError.id);
    first.select?.();
    first.focus();
}

// What the viewer filled in of the asked fields ({name: value}), or null
// when a required one is empty (said at it).
function answered() {
    const answers = {};
    for (const input of ui.questions.querySelectorAll('[data-question]')) {
        const value = input.type === 'password' ? input.value : input.value.trim();
        if (value) answers[input.name] = value;
        else if (input.required) {
            const label = askedFields().find((f) => f.name === input.name)?.label || input.name;
            showError(ui.joinError, `Fill in ${label}.`);
            input.setAttribute('aria-invalid', 'true');
            input.focus();
            return null;
        }
    }
    return answers;
}

async function join() {
    const ask = ASKS[info.watch?.type];
    const given = ask?.type === 'password' ? ui.credential.value : ui.credential.value.trim();
    if (ask && !given) {
        showError(ui.joinError, ask.empty);
        ui.credential.focus();
        return;
    }
    const fields = info.watch?.type === 'external' ? answered() : {};
    if (!fields) return;
    const body = ask ? { [ask.key]: given } : { ...fields };
    const name = ui.name.value.trim();
    if (name && !ui.nameField.hidden) body.name = name;
    ui.watch.disabled = true;
    setState('joining');
    try {
        admit(await apiRequest('POST', `/api/v1/watch/${slug}/join`, { body }));
    } catch (err) {
        joinRefused(err);
    }
}

// ---- registration ----------------------------------------------------------

function kept() {
    try {
        const v = JSON.parse(window.sessionStorage.getItem(KEPT));
        return v && typeof v.key === 'string' ? v : null;
    } catch {
        return null;
    }
}

function keep(key, name) {
    try {
        window.sessionStorage.setItem(KEPT, JSON.stringify({ key, name }));
    } catch {
        // Storage refused (a private window's quota): the page still waits
        // while it stays open.
    }
    keptInPage = { key, name };
}

function forget() {
    keptInPage = null;
    try {
        window.sessionStorage.removeItem(KEPT);
    } catch { /* nothing kept */ }
}

// A refusal of the form names a field first: "company is required" -> the
// input of the question named company, and "Company is required" to read.
function refuseAnswer(err) {
    const named = err.field || /^([a-z0-9_]+) /.exec(err.message || '')?.[1];
    const input = named === 'name' ? ui.name
        : [...ui.questions.querySelectorAll('[data-question]')].find((i) => i.name === named);
    if (!input) {
        showError(ui.joinError, `Could not register: ${err.message}`);
        return;
    }
    const label = input === ui.name ? 'Your name'
        : askedFields().find((f) => f.name === named)?.label || named;
    const message = err.message.startsWith(`${named} `) ? `${label}${err.message.slice(named.length)}` : err.message;
    showError(ui.joinError, `${message[0].toUpperCase()}${message.slice(1)}.`);
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', ui.joinError.id);
    input.focus();
}

async function register() {
    const name = ui.name.value.trim();
    const answers = {};
    for (const input of ui.questions.querySelectorAll('[data-question]')) {
        const value = input.value.trim();
        if (value) answers[input.name] = value;
    }
    ui.watch.disabled = true;
    setState('joining');
    try {
        const answer = await apiRequest('POST', `/api/v1/watch/${slug}/register`, { body: { name, answers } });
        if (answer.registration?.key) keep(answer.registration.key, name);
        if (answer.viewer_url) admit(answer);   // no approval needed
        else waitForApproval(name, false);
    } catch (err) {
        if (err.status === 400) {
            setState('ready');
            ui.watch.disabled = false;
            refuseAnswer(err);
        } else {
            joinRefused(err);
        }
    }
}

function showWaiting(title, text) {
    ui.waitingTitle.textContent = title;
    ui.waitingText.textContent = text;
    render();
}

// Registered and not approved yet: say so, and ask again every few seconds
// (at once when the page was reopened: it may be decided already).
function waitForApproval(name, now) {
    registered = 'pending';
    setState('pending');
    showWaiting('Waiting for the organiser’s approval',
        `You are registered${name ? ` as ${name}` : ''}. This page opens the event by itself once the organiser `
        + 'approves your registration: keep it open.');
    clearTimeout(regTimer);
    regTimer = setTimeout(checkRegistration, now ? 0 : REGISTRATION_POLL_MS);
}

function showRejected() {
    clearTimeout(regTimer);
    registered = 'rejected';
    setState('rejected');
    showWaiting('Your registration was declined',
        'The organiser did not approve your registration, so you cannot watch this event with it. '
        + 'If you think this is a mistake, contact the organiser.');
}

async function checkRegistration() {
    const mine = kept() || keptInPage;
    if (!mine || registered !== 'pending') return;
    let again = REGISTRATION_POLL_MS * (0.8 + Math.random() * 0.4);
    try {
        const answer = await apiRequest('POST', `/api/v1/watch/${slug}/registration`, { body: { key: mine.key } });
        if (answer.viewer_url) {
            admit(answer);
            return;
        }
    } catch (err) {
        switch (err.code) {
        case 'registration-rejected':
            showRejected();
            return;
        case 'no-such-registration':
            // Not this event's (it was made anew): register again.
            forget();
            registered = 'no';
            setState('ready');
            render();
            ui.watch.disabled = false;
            showError(ui.joinError, 'Your registration was not found: the event may have been set up again. Please register again.');
            return;
        case 'event-ended':
            info.state = 'ended';
            render();
            return;
        case 'no-such-event':
            showMissing();
            return;
        default:
            // The network, a restarting server, too many attempts: later.
            if (err.retryAfter) again = err.retryAfter * 1000;
        }
    }
    regTimer = setTimeout(checkRegistration, again);
}

function submit(ev) {
    ev.preventDefault();
    clearError(ui.joinError);
    for (const input of ui.form.querySelectorAll('[aria-invalid="true"]')) {
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-describedby');
    }
    if (info.watch?.type === 'registration') register();
    else join();
}

ui.form.addEventListener('submit', submit);
if (slug) load();
else showMissing();

// The watch page, served at /e/{slug} (docs/protocol.md, "Events"): the
// event's landing page (title, description, landing text, start time, a
// live countdown, the organiser's colour) and the form its watch condition
// needs; once admitted, the viewer page with the token the server minted.
// No token here: the link itself is the invitation.  Everything the
// organiser typed is shown as text (textContent), never as HTML.
//
// document.body.dataset.state: loading | ready | joining | admitted |
// missing (no such event) | error; dataset.event: the event's state.
import { $, apiRequest, clearError, setState, showError } from './util.js';

const SOON_S = 5 * 60;                          // "Starting soon" from here
const POLL_MS = 60000, POLL_SOON_MS = 15000;    // look again for live / ended
const slug = /^\/e\/([a-z0-9-]{1,64})\/?$/.exec(window.location.pathname)?.[1] || '';

const ui = {
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
    watch: $('#watch'),
    joinError: $('#join-error'),
};

let info = null;      // GET /api/v1/watch/{slug}
let skewMs = 0;       // the server's clock minus ours
let pollTimer = null;
let tickTimer = null;
let lockTimer = null; // the Watch button's pause after too many attempts

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
    document.title = `${info.title} · Stagecast`;
    document.body.dataset.event = info.state;
    ui.title.textContent = info.title;
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
    const ask = ASKS[info.watch?.type];
    ui.credentialField.hidden = !ask;
    ui.credential.required = !!ask;
    if (ask) {
        // The organiser changed the condition: what was typed is for another.
        if (ui.credentialLabel.textContent !== ask.label) ui.credential.value = '';
        ui.credentialLabel.textContent = ask.label;
        ui.credential.type = ask.type;
        ui.credential.autocomplete = ask.autocomplete;
    }
    // An ended event admits nobody: no form to fill in.
    ui.form.hidden = info.state === 'ended';
    tick();
}

function showMissing() {
    clearTimeout(pollTimer);
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
    case 'event-ended':
        info.state = 'ended';
        render();
        break;
    case 'event-full':
        showError(ui.joinError, 'This event is full: as many viewers as it admits are watching. Try again in a few minutes.');
        break;
    case 'too-many-attempts': {
        const wait = err.retryAfter || 60;
        showError(ui.joinError, 'Too many wrong attempts from your network. Wait a minute, then try again.');
        ui.watch.disabled = true;
        clearTimeout(lockTimer);
        lockTimer = setTimeout(() => { ui.watch.disabled = false; }, wait * 1000);
        break;
    }
    case 'no-such-event':
        showMissing();
        break;
    default:
        showError(ui.joinError, err.status
            ? `Could not join (${err.code || `HTTP ${err.status}`}): ${err.message}`
            : 'Could not reach the server. Check your connection and try again.');
    }
}

async function join(ev) {
    ev.preventDefault();
    clearError(ui.joinError);
    ui.credential.removeAttribute('aria-invalid');
    const ask = ASKS[info.watch?.type];
    const given = ask?.type === 'password' ? ui.credential.value : ui.credential.value.trim();
    if (ask && !given) {
        showError(ui.joinError, ask.empty);
        ui.credential.focus();
        return;
    }
    ui.watch.disabled = true;
    setState('joining');
    try {
        const admitted = await apiRequest('POST', `/api/v1/watch/${slug}/join`,
            { body: ask ? { [ask.key]: given } : {} });
        // Only a page of ours: the answer names a path on this server.
        const next = new URL(admitted.viewer_url, window.location.origin);
        if (next.origin !== window.location.origin) throw new Error('the server sent a link to another site');
        setState('admitted');
        clearTimeout(pollTimer);
        window.location.assign(next.href);
    } catch (err) {
        joinRefused(err);
    }
}

ui.form.addEventListener('submit', join);
if (slug) load();
else showMissing();

// The admin console: two tabs, Recordings (here) and Events
// (js/admin-events.js).  Recordings: list (filter by room, date and kind)
// with status badges and failure reasons, play with seeking beside the
// recording's timeline (chat, Q&A, polls, chapters; a click seeks), open
// the replay page, publish / unpublish, download, delete.  Needs an admin
// token in the fragment: admin.html#token=...  The token goes in the
// Authorization header only: the player and downloads use signed media
// URLs, and the replay page opened from here borrows it by message.
import { $, apiRequest, readParams, setState, showError, clearError, lendToken } from './util.js';
import { SignedPlayer, downloadRecording } from './recording-media.js';
import { EventsConsole } from './admin-events.js';

const { token } = readParams();
const rows = $('#recording-rows');
const errorEl = $('#error');
const statusEl = $('#status');
const video = $('#video');
let current = null;   // id of the recording in the player
let poll = null;      // refresh timer while rows are recording / processing
const player = new SignedPlayer(video, token, (err) => showError(errorEl, err));
const KIND_LABEL = { track: 'stage slot', composite: 'composite' };

function api(method, path) {
    return apiRequest(method, path, { token });
}

// ---- tabs ----------------------------------------------------------------

// The top bar names the open tab and shows its summary ("3 recordings").
const tabs = {
    recordings: { tab: $('#tab-recordings'), panel: $('#panel-recordings'), title: 'Recordings', summary: 'Loading…' },
    events: { tab: $('#tab-events'), panel: $('#panel-events'), title: 'Events', summary: '' },
};
let openTab = 'recordings';
let events = null;   // the EventsConsole, made when its tab is first opened

function setSummary(name, text) {
    tabs[name].summary = text;
    if (name === openTab) statusEl.textContent = text;
}

function showTab(name) {
    openTab = name;
    for (const [key, t] of Object.entries(tabs)) {
        const on = key === name;
        t.tab.setAttribute('aria-selected', String(on));
        t.tab.tabIndex = on ? 0 : -1;
        t.panel.hidden = !on;
    }
    $('#admin-title').textContent = tabs[name].title;
    statusEl.textContent = tabs[name].summary;
    if (name === 'events') {
        events ??= new EventsConsole(tabs.events.panel, token, (text) => setSummary('events', text));
        events.show();
    } else {
        events?.hide();
    }
}

for (const [name, t] of Object.entries(tabs)) {
    t.tab.addEventListener('click', () => showTab(name));
    // Arrow keys move between tabs (the WAI-ARIA tabs pattern).
    t.tab.addEventListener('keydown', (ev) => {
        if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
        const next = name === 'recordings' ? 'events' : 'recordings';
        showTab(next);
        tabs[next].tab.focus();
    });
}

function fmtDuration(s) {
    const t = Math.round(s);
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
    const mm = String(m).padStart(h ? 2 : 1, '0'), ss = String(sec).padStart(2, '0');
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function fmtBytes(n) {
    if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
    if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
    if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
    return `${n} B`;
}

function cell(text) {
    const td = document.createElement('td');
    td.textContent = text;
    return td;
}

function button(label, onClick, cls) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener('click', onClick);
    return b;
}

function query() {
    const p = new URLSearchParams();
    const room = $('#filter-room').value.trim();
    const from = $('#filter-from').value;
    const to = $('#filter-to').value;
    const kind = $('#filter-kind').value;
    if (room) p.set('room', room);
    if (kind) p.set('kind', kind);
    if (from) p.set('from', String(Date.parse(`${from}T00:00:00Z`)));
    if (to) p.set('to', String(Date.parse(`${to}T23:59:59.999Z`)));
    const s = p.toString();
    return s ? `?${s}` : '';
}

function fmtAt(ms) {
    return fmtDuration(Math.max(0, ms) / 1000);
}

// What an interaction says, as text (it is what users typed: never HTML).
function describe(it) {
    const d = it.data || {};
    const who = d.from && d.from.name ? `${d.from.name}: ` : '';
    switch (it.kind) {
    case 'chat': case 'danmaku': return `${who}${d.text || ''}`;
    case 'question': return `Question: ${d.text || ''}`;
    case 'answer': return `Answer: ${d.text || '(marked answered)'}`;
    case 'poll': return `Poll: ${d.question || ''}`;
    case 'poll_open': return 'Poll opened';
    case 'poll_close': return 'Poll closed';
    case 'lottery': return `Lottery: ${Array.isArray(d.winners) ? d.winners.length : 0} winner(s)`;
    case 'announcement': return d.text == null ? 'Announcement cleared' : `Announcement: ${d.text}`;
    case 'chapter': return `Chapter: ${d.title || ''}`;
    default: return it.kind;
    }
}

async function showTimeline(rec) {
    const list = $('#player-timeline');
    list.replaceChildren();
    $('#player-timeline-empty').hidden = true;
    const tl = await api('GET', `/api/recordings/${rec.id}/timeline`);
    if (current !== rec.id) return;
    // Times are relative to what the replay plays (the session's composite
    // once ready); the admin player shows this row's own file.
    const shift = tl.play.started_at - rec.started_at;
    list.replaceChildren(...tl.items.map((it) => {
        const li = document.createElement('li');
        li.dataset.kind = it.kind;
        const t = it.t_ms + shift;
        const b = document.createElement('button');
        b.type = 'button';
        const at = document.createElement('span');
        at.className = 'at';
        at.textContent = fmtAt(t);
        b.append(at, document.createTextNode(describe(it)));
        b.addEventListener('click', () => { video.currentTime = Math.max(0, t) / 1000; });
        li.appendChild(b);
        return li;
    }));
    $('#player-timeline-empty').hidden = tl.items.length > 0;
}

function play(rec) {
    current = rec.id;
    $('#player').hidden = false;
    $('#player').dataset.id = rec.id;
    $('#player-title').textContent = rec.title;
    player.load(rec.id).then((loaded) => {
        if (loaded) video.play().catch(() => { /* autoplay may be refused; the controls remain */ });
    }).catch((err) => showError(errorEl, err));
    showTimeline(rec).catch((err) => showError(errorEl, err));
}

function statusCell(rec) {
    const td = document.createElement('td');
    const badge = document.createElement('span');
    badge.className = 'rec-status';
    badge.dataset.status = rec.status;
    badge.textContent = rec.status;
    td.appendChild(badge);
    if (rec.reason) {
        const why = document.createElement('span');
        why.className = 'rec-reason';
        why.textContent = rec.reason;
        td.appendChild(why);
    }
    return td;
}

async function act(fn) {
    clearError(errorEl);
    try {
        await fn();
        await refresh();
    } catch (err) {
        showError(errorEl, err);
    }
}

function row(rec) {
    const tr = document.createElement('tr');
    tr.dataset.id = rec.id;
    tr.dataset.status = rec.status;
    tr.appendChild(cell(rec.title));
    tr.appendChild(cell(rec.room));
    tr.appendChild(cell(new Date(rec.started_at).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'));
    tr.appendChild(cell(fmtDuration(rec.duration_s)));
    tr.appendChild(cell(fmtBytes(rec.bytes)));
    tr.appendChild(statusCell(rec));
    const kind = cell(KIND_LABEL[rec.kind] || rec.kind);
    kind.className = 'kind';
    if (rec.kind === 'composite' && Array.isArray(rec.tracks)) kind.title = `slots ${rec.tracks.join(', ')}`;
    tr.appendChild(kind);
    tr.appendChild(cell(rec.published ? 'yes' : 'no'));
    const actions = document.createElement('td');
    actions.className = 'actions';
    const ready = rec.status === 'ready' || rec.status === 'failed';
    const playBtn = button('Play', () => play(rec), 'primary');
    playBtn.disabled = !ready;
    actions.appendChild(playBtn);
    // The replay page (video + timeline + chapters).  Opened from here it
    // borrows this page's token (lendToken); viewers open the same link with
    // their own room token (#token=) once the recording is published.
    const replay = document.createElement('a');
    replay.href = `replay.html#rec=${rec.id}`;
    replay.target = '_blank';
    replay.rel = 'opener';
    replay.textContent = 'Replay';
    replay.className = 'replay';
    if (!ready) replay.setAttribute('aria-disabled', 'true');
    actions.appendChild(replay);
    actions.appendChild(button(rec.published ? 'Unpublish' : 'Publish', () => act(() =>
        api('POST', `/api/recordings/${rec.id}/${rec.published ? 'unpublish' : 'publish'}`))));
    // A signed URL made at the click: one made with the list would expire.
    actions.appendChild(button('Download', () => {
        clearError(errorEl);
        downloadRecording(rec.id, token).catch((err) => showError(errorEl, err));
    }, 'download'));
    actions.appendChild(button('Delete', () => {
        if (!window.confirm(`Delete "${rec.title}"? The file is removed for good.`)) return;
        act(async () => {
            await api('DELETE', `/api/recordings/${rec.id}`);
            if (current === rec.id) {
                player.stop();
                $('#player').hidden = true;
                current = null;
            }
        });
    }, 'danger'));
    tr.appendChild(actions);
    return tr;
}

async function refresh() {
    const { recordings } = await api('GET', `/api/recordings${query()}`);
    rows.replaceChildren(...recordings.map(row));
    $('#empty').hidden = recordings.length > 0;
    setSummary('recordings', `${recordings.length} recording${recordings.length === 1 ? '' : 's'}`);
    document.body.dataset.count = String(recordings.length);
    setState('ready');
    // Rows being written or composed change on their own: look again soon.
    clearTimeout(poll);
    if (recordings.some((r) => r.status === 'recording' || r.status === 'processing')) {
        poll = setTimeout(() => refresh().catch((err) => showError(errorEl, err)), 2000);
    }
}

$('#filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(async () => {});
});
$('#refresh').addEventListener('click', () => act(async () => {}));

if (!token) {
    setState('error');
    showError(errorEl, 'This page needs an admin token: admin.html#token=…');
} else {
    lendToken(token);
    refresh().catch((err) => {
        setState('error');
        showError(errorEl, err);
    });
}

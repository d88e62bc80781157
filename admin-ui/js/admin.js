// Admin review of recordings: list (filter by room and date), play with
// seeking, publish / unpublish, download, delete.  Needs an admin token in
// the fragment: admin.html#token=...
import { $, readParams, setState, showError, clearError } from './util.js';

const { token } = readParams();
const rows = $('#recording-rows');
const errorEl = $('#error');
const statusEl = $('#status');
const video = $('#video');
let current = null;   // id of the recording in the player

async function api(method, path) {
    const res = await fetch(path, { method, headers: { Authorization: `Bearer ${token}` } });
    if (res.status === 204) return null;
    const body = await res.json().catch(() => null);
    if (!res.ok) {
        const msg = body?.error?.message || `${method} ${path}: HTTP ${res.status}`;
        throw new Error(msg);
    }
    return body;
}

// <video> and download links cannot send an Authorization header, so the
// media URL carries the token as ?token= (same origin, never logged).
function mediaUrl(rec) {
    return `${rec.media_url}?token=${encodeURIComponent(token)}`;
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
    if (room) p.set('room', room);
    if (from) p.set('from', String(Date.parse(`${from}T00:00:00Z`)));
    if (to) p.set('to', String(Date.parse(`${to}T23:59:59.999Z`)));
    const s = p.toString();
    return s ? `?${s}` : '';
}

function play(rec) {
    current = rec.id;
    $('#player').hidden = false;
    $('#player-title').textContent = rec.title;
    video.src = mediaUrl(rec);
    video.play().catch(() => { /* autoplay may be refused; the controls remain */ });
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
    tr.appendChild(cell(rec.status));
    tr.appendChild(cell(rec.published ? 'yes' : 'no'));
    const actions = document.createElement('td');
    actions.className = 'actions';
    const ready = rec.status === 'ready' || rec.status === 'failed';
    const playBtn = button('Play', () => play(rec), 'primary');
    playBtn.disabled = !ready;
    actions.appendChild(playBtn);
    actions.appendChild(button(rec.published ? 'Unpublish' : 'Publish', () => act(() =>
        api('POST', `/api/recordings/${rec.id}/${rec.published ? 'unpublish' : 'publish'}`))));
    const dl = document.createElement('a');
    dl.href = mediaUrl(rec);
    dl.download = `${rec.room}-${rec.id}.webm`;
    dl.textContent = 'Download';
    dl.className = 'download';
    actions.appendChild(dl);
    actions.appendChild(button('Delete', () => {
        if (!window.confirm(`Delete "${rec.title}"? The file is removed for good.`)) return;
        act(async () => {
            await api('DELETE', `/api/recordings/${rec.id}`);
            if (current === rec.id) {
                video.removeAttribute('src');
                video.load();
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
    statusEl.textContent = `${recordings.length} recording${recordings.length === 1 ? '' : 's'}`;
    document.body.dataset.count = String(recordings.length);
    setState('ready');
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
    refresh().catch((err) => {
        setState('error');
        showError(errorEl, err);
    });
}

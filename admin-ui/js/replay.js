// Replay of a recording: the video (the session's composite once it is
// ready, else this file) with seeking, and beside it what happened in the
// room meanwhile: chat, Q&A, polls, announcements and chapters, revealed
// as the media time passes, the latest one highlighted; clicking an item or
// a chapter seeks there.  replay.html#rec=<id>&token=<token> (an admin
// token, or a room token once the recording is published); opened from the
// recordings console, replay.html#rec=<id> and the token is borrowed from
// it.  The video plays through signed media URLs (recording-media.js).
import { $, readParams, setState, showError, borrowToken } from './util.js';
import { SignedPlayer } from './recording-media.js';

let { token } = readParams();
let rec = new URLSearchParams(window.location.hash.replace(/^#/, '')).get('rec')
    || new URLSearchParams(window.location.search).get('rec') || '';
const video = $('#video');
const list = $('#timeline');
const errorEl = $('#error');
let items = [];        // [{t, li}] in time order
let shownUpTo = -1;    // index of the last item revealed
let current = -1;      // index of the highlighted item

function fmtTime(ms) {
    const t = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    const mm = String(m).padStart(h ? 2 : 1, '0'), ss = String(s).padStart(2, '0');
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function span(cls, text) {
    const el = document.createElement('span');
    el.className = cls;
    el.textContent = text;
    return el;
}

// Who and what an item says, as text (never HTML: it is what users typed).
function describe(kind, d) {
    const who = d.from && d.from.name ? d.from.name : '';
    switch (kind) {
    case 'chat':
    case 'danmaku':
        return [who, d.text || ''];
    case 'question':
        return [d.anonymous || !who ? 'Anonymous' : who, `asked: ${d.text || ''}`];
    case 'answer':
        return ['Host', d.text ? `answered: ${d.text}` : 'marked a question answered'];
    case 'poll':
        return ['Poll', d.question || ''];
    case 'poll_open':
        return ['Poll', 'opened'];
    case 'poll_close':
        return ['Poll', 'closed'];
    case 'lottery': {
        const n = Array.isArray(d.winners) ? d.winners.length : 0;
        return ['Lottery', `${n} winner${n === 1 ? '' : 's'}${d.prize ? ` of ${d.prize}` : ''}`];
    }
    case 'announcement':
        return ['Announcement', d.text == null ? 'cleared' : d.text];
    case 'chapter':
        return ['Chapter', d.title || ''];
    default:
        return [kind, ''];
    }
}

function seek(ms) {
    video.currentTime = ms / 1000;
    if (video.paused) video.play().catch(() => { /* the controls remain */ });
}

function itemRow(it) {
    const li = document.createElement('li');
    li.dataset.kind = it.kind;
    li.dataset.t = String(it.t_ms);
    li.hidden = true;
    const b = document.createElement('button');
    b.type = 'button';
    const [who, what] = describe(it.kind, it.data || {});
    b.append(span('at', fmtTime(it.t_ms)), span('who', who), span('what', what));
    b.addEventListener('click', () => seek(it.t_ms));
    li.appendChild(b);
    return li;
}

function chapterRow(ch) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.t = String(ch.t_ms);
    b.append(span('at', fmtTime(ch.t_ms)), span('what', ch.title));
    b.addEventListener('click', () => seek(ch.t_ms));
    li.appendChild(b);
    return li;
}

// Reveal the items up to the media time (hide later ones after a seek
// back) and highlight the latest.
function sync() {
    // A seek lands on the frame nearest the asked time, a few ms either
    // side: an item clicked must count as reached.
    const now = video.currentTime * 1000 + 250;
    let last = -1;
    while (last + 1 < items.length && items[last + 1].t <= now) last++;
    if (last !== shownUpTo) {
        items.forEach((it, i) => { it.li.hidden = i > last; });
        shownUpTo = last;
    }
    if (last !== current) {
        if (current >= 0) items[current].li.removeAttribute('aria-current');
        if (last >= 0) {
            items[last].li.setAttribute('aria-current', 'true');
            items[last].li.scrollIntoView({ block: 'nearest' });
        }
        current = last;
    }
    $('#timeline-empty').hidden = last >= 0;
    document.body.dataset.shown = String(last + 1);
}

async function load() {
    const player = new SignedPlayer(video, token, (err) => showError(errorEl, err));
    const res = await fetch(`/api/recordings/${encodeURIComponent(rec)}/timeline`, {
        headers: { Authorization: `Bearer ${token}` },
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
        const code = body?.error?.code;
        if (code === 'forbidden') throw new Error('This recording is not published (or not for this token).');
        throw new Error(body?.error?.message || `HTTP ${res.status}`);
    }
    const play = body.play;
    $('#title').textContent = play.title;
    $('#meta').textContent = `${play.room} · ${new Date(play.started_at).toISOString().replace('T', ' ').slice(0, 16)} UTC`
        + (play.kind === 'composite' ? ' · full stage' : '');
    document.body.dataset.playing = play.id;
    document.body.dataset.kind = play.kind;
    await player.load(play.id);

    items = body.items.map((it) => ({ t: it.t_ms, li: itemRow(it) }));
    list.replaceChildren(...items.map((it) => it.li));
    document.body.dataset.items = String(items.length);
    if (body.chapters.length) {
        $('#chapter-list').replaceChildren(...body.chapters.map(chapterRow));
        $('#chapters').hidden = false;
    }
    // A class's breakout groups recorded meanwhile: each opens here, with
    // the same token (kept in memory, never put in the link).
    const groups = body.groups || [];
    $('#group-list').replaceChildren(...groups.map((g) => {
        const li = document.createElement('li');
        const a = document.createElement('a');
        a.href = `#rec=${g.recording.id}`;
        a.dataset.rec = g.recording.id;
        a.textContent = `${g.group} · ${Math.round(g.recording.duration_s || 0)} s`
            + (g.recording.kind === 'composite' ? ' · full group' : '');
        li.append(a);
        return li;
    }));
    $('#groups').hidden = groups.length === 0;
    document.body.dataset.groups = String(groups.length);
    $('#status').textContent = `${body.chapters.length} chapter${body.chapters.length === 1 ? '' : 's'}, `
        + `${items.length} event${items.length === 1 ? '' : 's'}`;
    for (const ev of ['timeupdate', 'seeked', 'loadedmetadata']) video.addEventListener(ev, sync);
    sync();
    setState('ready');
}

async function start() {
    if (!token && /^[0-9a-f]{32}$/.test(rec)) token = await borrowToken();
    if (!token || !/^[0-9a-f]{32}$/.test(rec)) {
        setState('error');
        showError(errorEl, 'This page needs a recording and a token: replay.html#rec=…&token=…');
        return;
    }
    await load();
}

// Following a group's link: the same page plays that recording.
window.addEventListener('hashchange', () => {
    const next = new URLSearchParams(window.location.hash.replace(/^#/, '')).get('rec');
    if (!next || next === rec || !/^[0-9a-f]{32}$/.test(next)) return;
    rec = next;
    items = [];
    shownUpTo = -1;
    current = -1;
    setState('loading');
    load().catch((err) => {
        setState('error');
        showError(errorEl, err);
    });
});

start().catch((err) => {
    setState('error');
    showError(errorEl, err);
});

// Viewer page: subscribe to every stage slot of the room and show a tile
// per slot that has a publisher.
//
// document.body.dataset.state is "connecting" | "waiting" (joined, nobody
// on stage) | "live" (video frames are being decoded) | "error".
// window.stagecast exposes the PeerConnection and stats() for tests.

import { SignalingClient, SignalingError } from './signaling.js';
import { StatsMeter, readInbound, renderOverlay } from './stats.js';
import {
    $, backoffDelay, clearError, readParams, setState, showError, waitForIceGathering, wsUrl,
} from './util.js';

const FATAL_SUBSCRIBE = new Set(['forbidden', 'unsupported', 'bad-sdp', 'bad-room']);
const DISCONNECT_GRACE_MS = 4000;
const STATS_INTERVAL_MS = 1000;

const ui = {
    status: $('#status'),
    error: $('#error'),
    room: $('#room-name'),
    live: $('#live-indicator'),
    tiles: $('#tiles'),
    placeholder: $('#placeholder'),
    unmute: $('#unmute'),
    showStats: $('#show-stats'),
    viewers: $('#viewer-count'),
};

const params = readParams();
let sig = null;
let pc = null;
let meter = null;
let session = null;
let stageSize = 1;
let generation = 0;
let retryAttempt = 0;
let retryTimer = null;
let disconnectTimer = null;
let muted = true;
let pinnedSlot = null;        // slot the user clicked to enlarge
let decoding = false;         // video frames advanced in the last sample
const publishers = new Map(); // slot -> {session, slot, name, user_id}
const slotStreams = [];       // slot -> MediaStream fed by pair `slot`
const tiles = new Map();      // slot -> {root, video, label, stats}
const lastFrames = new Map(); // video mid -> framesDecoded at the last sample

function status(state, text) {
    setState(state);
    ui.status.textContent = text;
    ui.live.hidden = state !== 'live';
}

// The page's state follows what the viewer sees, so it is recomputed
// from the facts whenever one of them changes.
function refreshStatus() {
    if (document.body.dataset.state === 'error') return;
    if (!sig?.isJoined) status('connecting', 'Connecting…');
    else if (publishers.size === 0) status('waiting', 'Waiting for the presenter');
    else if (decoding) status('live', 'Live');
    else status('connecting', 'Starting video…');
}

function fail(err) {
    teardownPc();
    sig?.stop();
    showError(ui.error, err);
    status('error', 'Error');
}

// ---- tiles -------------------------------------------------------------

function mainSlot() {
    if (pinnedSlot !== null && publishers.has(pinnedSlot)) return pinnedSlot;
    const slots = [...publishers.keys()].sort((a, b) => a - b);
    return slots.length ? slots[0] : null;
}

function makeTile(slot) {
    const root = document.createElement('div');
    root.className = 'tile';
    root.dataset.slot = String(slot);
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = muted;
    const label = document.createElement('span');
    label.className = 'tile-label';
    const stats = document.createElement('div');
    stats.className = 'stats';
    stats.setAttribute('aria-label', 'Stream statistics');
    root.append(video, label, stats);
    root.addEventListener('click', () => {
        pinnedSlot = slot;
        renderTiles();
    });
    return { root, video, label, stats };
}

function renderTiles() {
    for (const [slot, tile] of tiles) {
        if (!publishers.has(slot)) {
            tile.video.srcObject = null;
            tile.root.remove();
            tiles.delete(slot);
        }
    }
    const main = mainSlot();
    const ordered = [...publishers.keys()].sort((a, b) => a - b);
    for (const slot of ordered) {
        let tile = tiles.get(slot);
        if (!tile) {
            tile = makeTile(slot);
            tiles.set(slot, tile);
        }
        const pub = publishers.get(slot);
        tile.label.textContent = pub.name || `Slot ${slot + 1}`;
        tile.video.setAttribute('aria-label', `Video of ${pub.name || `slot ${slot + 1}`}`);
        if (slotStreams[slot] && tile.video.srcObject !== slotStreams[slot]) {
            tile.video.srcObject = slotStreams[slot];
            tile.video.play().catch(() => {});
        }
        tile.root.classList.toggle('tile-main', slot === main);
        // The main tile goes first; the others follow as thumbnails.
        if (slot === main) ui.tiles.prepend(tile.root);
        else ui.tiles.append(tile.root);
    }
    ui.placeholder.hidden = publishers.size > 0;
    refreshStatus();
}

function setMuted(value) {
    muted = value;
    for (const tile of tiles.values()) {
        tile.video.muted = muted;
        if (!muted) tile.video.play().catch(() => {});
    }
    ui.unmute.textContent = muted ? 'Unmute' : 'Mute';
    ui.unmute.setAttribute('aria-pressed', String(!muted));
}

// ---- subscription ------------------------------------------------------

function teardownPc() {
    generation++;
    clearTimeout(disconnectTimer);
    disconnectTimer = null;
    if (pc) {
        pc.ontrack = null;
        pc.onconnectionstatechange = null;
        pc.oniceconnectionstatechange = null;
        pc.close();
    }
    pc = null;
    meter = null;
    session = null;
    decoding = false;
    lastFrames.clear();
}

function scheduleResubscribe(reason) {
    if (retryTimer || document.body.dataset.state === 'error') return;
    teardownPc();
    const delay = backoffDelay(retryAttempt++);
    status('connecting', `${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    retryTimer = setTimeout(() => {
        retryTimer = null;
        subscribe();
    }, delay);
}

function watchConnection(conn) {
    conn.oniceconnectionstatechange = () => {
        if (conn !== pc) return;
        const s = conn.iceConnectionState;
        if (s === 'failed') {
            scheduleResubscribe('Connection failed');
        } else if (s === 'disconnected') {
            clearTimeout(disconnectTimer);
            disconnectTimer = setTimeout(() => {
                if (conn === pc && conn.iceConnectionState === 'disconnected') {
                    scheduleResubscribe('Connection lost');
                }
            }, DISCONNECT_GRACE_MS);
        } else if (s === 'connected' || s === 'completed') {
            clearTimeout(disconnectTimer);
            retryAttempt = 0;
        }
    };
    conn.onconnectionstatechange = () => {
        if (conn === pc && conn.connectionState === 'failed') scheduleResubscribe('Connection failed');
    };
}

function onTrack(conn, ev) {
    // Transceivers were added as (audio, video) pairs: pair i is slot i.
    const index = conn.getTransceivers().indexOf(ev.transceiver);
    if (index < 0) return;
    const slot = Math.floor(index / 2);
    const ms = slotStreams[slot];
    for (const old of ms.getTracks().filter((t) => t.kind === ev.track.kind)) ms.removeTrack(old);
    ms.addTrack(ev.track);
    renderTiles();
}

async function subscribe() {
    if (!sig?.isJoined) return;   // the `joined` handler calls us again
    teardownPc();
    const gen = generation;
    clearTimeout(retryTimer);
    retryTimer = null;
    refreshStatus();
    try {
        const conn = new RTCPeerConnection();
        pc = conn;
        meter = new StatsMeter(conn);
        watchConnection(conn);
        // Fresh streams per PeerConnection, so no ended track lingers.
        slotStreams.length = 0;
        for (let slot = 0; slot < stageSize; slot++) {
            slotStreams.push(new MediaStream());
            conn.addTransceiver('audio', { direction: 'recvonly' });
            conn.addTransceiver('video', { direction: 'recvonly' });
        }
        for (const tile of tiles.values()) tile.video.srcObject = null;
        conn.ontrack = (ev) => onTrack(conn, ev);
        await conn.setLocalDescription(await conn.createOffer());
        await waitForIceGathering(conn, 1000);
        if (gen !== generation) return;
        const answer = await sig.request({ type: 'subscribe', sdp: conn.localDescription.sdp });
        if (gen !== generation) {
            sig.send({ type: 'unsubscribe', session: answer.session });
            return;
        }
        session = answer.session;
        await conn.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
        renderTiles();
    } catch (err) {
        if (gen !== generation) return;
        if (err instanceof SignalingError && FATAL_SUBSCRIBE.has(err.code)) {
            fail(`The server refused to subscribe (${err.code}): ${err.message}`);
        } else if (err instanceof SignalingError) {
            // Includes room-full: a seat may free up.
            scheduleResubscribe(`Subscribe failed (${err.code})`);
        } else {
            fail(err);
        }
    }
}

// ---- stats -------------------------------------------------------------

function slotOfMid(conn, mid) {
    const index = conn.getTransceivers().findIndex((t) => t.mid === mid);
    return index < 0 ? null : Math.floor(index / 2);
}

async function sampleStats() {
    const conn = pc;
    if (!conn || !meter) return;
    let sample;
    try {
        sample = await meter.sample();
    } catch {
        return;   // the PeerConnection closed under us
    }
    if (conn !== pc) return;
    let advanced = false;
    for (const v of sample.video) {
        const slot = slotOfMid(conn, v.mid);
        if (slot === null || !publishers.has(slot)) continue;
        const before = lastFrames.get(v.mid) ?? 0;
        if (v.framesDecoded > before) advanced = true;
        lastFrames.set(v.mid, v.framesDecoded);
        const tile = tiles.get(slot);
        if (tile) renderOverlay(tile.stats, v, sample.rttMs);
    }
    decoding = advanced;
    refreshStatus();
}

// ---- signalling --------------------------------------------------------

function setPublishers(list) {
    publishers.clear();
    for (const p of list || []) {
        if (Number.isInteger(p.slot) && p.slot >= 0) publishers.set(p.slot, p);
    }
}

function startSignaling() {
    sig = new SignalingClient(wsUrl(), params.token);
    sig.on('joined', (msg) => {
        clearError(ui.error);
        ui.room.textContent = msg.room;
        stageSize = Number.isInteger(msg.stage_size) && msg.stage_size > 0 ? msg.stage_size : 1;
        if (typeof msg.viewers === 'number') ui.viewers.textContent = String(msg.viewers);
        setPublishers(msg.publishers);
        renderTiles();
        subscribe();
    });
    sig.on('viewers', (msg) => {
        if (typeof msg.count === 'number') ui.viewers.textContent = String(msg.count);
    });
    sig.on('publisher_joined', (msg) => {
        const p = msg.publisher;
        if (p && Number.isInteger(p.slot) && p.slot >= 0) publishers.set(p.slot, p);
        renderTiles();
    });
    sig.on('publisher_left', (msg) => {
        const p = msg.publisher;
        // A publisher that rejoined already took the slot again under a new session.
        if (p && publishers.get(p.slot)?.session === p.session) publishers.delete(p.slot);
        renderTiles();
    });
    sig.on('session_connected', (msg) => {
        if (msg.session === session) retryAttempt = 0;
    });
    sig.on('session_closed', (msg) => {
        if (msg.session === session) scheduleResubscribe(`Session ended (${msg.reason})`);
    });
    sig.on('close', () => {
        // The server ended our session with the socket; `joined` resubscribes.
        teardownPc();
        refreshStatus();
    });
    sig.on('fatal', (err) => fail(`Cannot join the room (${err.code}): ${err.message}`));
    sig.on('error', (msg) => showError(ui.error, `${msg.code}: ${msg.message}`));
    sig.start();
}

function init() {
    ui.room.textContent = params.room;
    ui.unmute.addEventListener('click', () => setMuted(!muted));
    ui.showStats.addEventListener('change', () => {
        ui.tiles.classList.toggle('hide-stats', !ui.showStats.checked);
    });
    window.addEventListener('pagehide', () => sig?.stop());
    setInterval(sampleStats, STATS_INTERVAL_MS);

    window.stagecast = {
        get pc() { return pc; },
        get session() { return session; },
        get signaling() { return sig; },
        get publishers() { return [...publishers.values()]; },
        // Raw inbound counters: {video: [{mid, framesDecoded, ...}], audio: [...], rttMs}.
        stats: () => (pc ? readInbound(pc) : Promise.resolve({ video: [], audio: [], rttMs: null })),
    };

    if (!params.token) {
        showError(ui.error, 'No token in the link. Ask the organiser for a viewer link '
            + '(…/viewer.html#room=ROOM&token=TOKEN).');
        status('error', 'No token');
        return;
    }
    status('connecting', 'Connecting…');
    startSignaling();
}

init();

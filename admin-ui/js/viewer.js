// Viewer page: subscribe to every stage slot of the room and show a tile
// per slot that has a publisher; raise a hand, accept the host's
// invitation and publish as a guest on stage (docs/protocol.md, "Stage").
//
// document.body.dataset.state is "connecting" | "waiting" (joined, nobody
// on stage) | "live" (video frames are being decoded) | "error".
// document.body.dataset.stage is "audience" | "hand" (raised) | "invited" |
// "on-stage".  #tiles has data-layout "speaker" (one main tile and
// thumbnails) or "grid" (three or more on stage, nobody pinned).
// window.stagecast exposes the PeerConnection and stats() for tests.
// The interactions (docs/protocol.md, "Interactions"): bullet comments over
// the stage, likes, the tabbed panel (chat, Q&A, polls; the host's tools
// for a token with `moderate`), the check-in prompt, lottery results, the
// pinned announcement, and the notices a moderator's actions cause.
// Opened from an event's watch link (#...&event=SLUG), it renews its
// token while it plays (js/event-token.js), takes the event's title, logo
// and marquee from its landing, and shows the organiser's end page once
// the event has ended (js/viewer-event.js); document.body.dataset.state is
// then "ended".
// Breakout groups (docs/protocol.md, "Breakout groups"): in a group the
// tiles are the group's members (a grid, the own camera in its tile), over
// the bar of js/groups-participant.js; the subscribe connection is the same
// one throughout, only what its slots carry changes.

import { showEnd } from './branding.js';
import { attachDataChannel } from './datachannel.js';
import { EventTokenRenewal } from './event-token.js';
import { GroupParticipant } from './groups-participant.js';
import { GuestPublisher } from './guest.js';
import { AnnouncementBanner } from './interact-announce.js';
import { CheckinPrompt } from './interact-checkin.js';
import { DanmakuForm, DanmakuLayer, LikeButton } from './interact-danmaku.js';
import { LotteryNotice } from './interact-lottery.js';
import { InteractPanel } from './interact-panel.js';
import { PeerSession, retryText, showServerNotices } from './peer.js';
import { SignalingClient } from './signaling.js';
import { StatsMeter, readInbound, renderOverlay } from './stats.js';
import { $, addReceivePairs, clearError, pairsToOffer, readParams, setState, showError, wsUrl } from './util.js';
import { ViewerEvent } from './viewer-event.js';

const STATS_INTERVAL_MS = 1000;
// A remote audio level (0..1) above this counts as speaking when the server
// sends no active_speaker events.
const SPEAKING_LEVEL = 0.02;

const ui = {
    status: $('#status'),
    error: $('#error'),
    room: $('#room-name'),
    live: $('#live-indicator'),
    tiles: $('#tiles'),
    placeholder: $('#placeholder'),
    unmute: $('#unmute'),
    showStats: $('#show-stats'),
    quality: $('#quality'),
    layerInfo: $('#layer-info'),
    viewers: $('#viewer-count'),
    raiseHand: $('#raise-hand'),
    invitation: $('#invitation'),
    invitationText: $('#invitation-text'),
    audioOnly: $('#audio-only'),
    accept: $('#accept'),
    decline: $('#decline'),
    onStage: $('#on-stage'),
    selfPreview: $('#self-preview'),
    guestStatus: $('#guest-status'),
    muteNote: $('#mute-note'),
    leaveStage: $('#leave-stage'),
    mutedNotice: $('#muted-notice'),
    layout: $('#viewer-layout'),
    talkAudio: $('#talk-audio'),
    end: $('#event-end'),
    endText: $('#event-end-text'),
    endLink: $('#event-end-link'),
};

const params = readParams();
let sig = null;
let renewal = null;           // EventTokenRenewal, for a viewer of an event
let viewerEvent = null;       // ViewerEvent: the event's landing, branding and end
let interact = null;   // the interaction panel (chat, Q&A, polls, host tools)
let peer = null;            // the subscribe connection (js/peer.js)
let meter = null;
let viewSlots = 1;          // audio+video pairs offered in `subscribe`
let groupSize = null;       // a breakout group's publishers; the slot after them is the trainer's "talk to all"
let videoCodec = 'vp8';     // what this page sends if it goes on stage
let muted = true;
let pinnedSlot = null;        // slot the user clicked to enlarge
let decoding = false;         // video frames advanced in the last sample
const publishers = new Map(); // slot -> {session, slot, name, user_id}
const slotStreams = [];       // slot -> MediaStream fed by pair `slot`
const tiles = new Map();      // slot -> {root, video, label, stats}
const lastFrames = new Map(); // video mid -> framesDecoded at the last sample
let myUserId = null;
let stageState = 'audience';  // audience | hand | invited | on-stage
let stageMembers = new Map(); // user_id -> {name, audio_muted, video_muted, ...}
let guest = null;             // GuestPublisher while on stage
let groups = null;            // GroupParticipant: breakout groups
let speakerSlot = null;       // who talks, from active_speaker or audio levels
let serverSpeaker = false;    // the server sends active_speaker events

function status(state, text) {
    setState(state);
    ui.status.textContent = text;
    ui.live.hidden = state !== 'live';
}

// The page's state follows what the viewer sees, so it is recomputed
// from the facts whenever one of them changes.
function refreshStatus() {
    if (['error', 'ended'].includes(document.body.dataset.state)) return;
    if (peer?.retrying) status('connecting', retryText(peer.retrying));
    else if (!sig?.isJoined) status('connecting', 'Connecting…');
    // Nobody to watch but, perhaps, our own camera.
    else if (![...publishers.values()].some((p) => p.user_id !== myUserId)) {
        status('waiting', groups?.inGroup ? 'Waiting for your group' : 'Waiting for the presenter');
    }
    else if (decoding) status('live', 'Live');
    else status('connecting', 'Starting video…');
}

function fail(err) {
    if (peer?.wanted) peer.stop({ release: false });
    sig?.stop();
    showError(ui.error, err);
    status('error', 'Error');
}

// The event this page was opened for has ended: the organiser's end page
// (their text and link) instead of the stage, and nothing more to play.
function eventEnded(info) {
    renewal?.stop();
    stopGuest(false);
    if (peer?.wanted) peer.stop({ release: false });
    sig?.stop();
    for (const tile of tiles.values()) tile.video.srcObject = null;
    showEnd(ui.endText, ui.endLink, info);
    ui.layout.hidden = true;
    ui.end.hidden = false;
    clearError(ui.error);
    status('ended', 'Ended');
}

// ---- tiles -------------------------------------------------------------

// The main tile: the one the user pinned, else who speaks, else the host
// (a publisher who is not a guest), else the first slot.
function mainSlot() {
    if (pinnedSlot !== null && publishers.has(pinnedSlot)) return pinnedSlot;
    if (speakerSlot !== null && publishers.has(speakerSlot)) return speakerSlot;
    const slots = [...publishers.keys()].sort((a, b) => a - b);
    const host = slots.find((s) => !stageMembers.has(publishers.get(s).user_id));
    if (host !== undefined) return host;
    return slots.length ? slots[0] : null;
}

function isOwnSlot(slot) {
    return myUserId !== null && publishers.get(slot)?.user_id === myUserId;
}

// The camera this page sends: as a guest on stage, or in a breakout group.
function ownStream() {
    return guest?.stream || groups?.publisher?.stream || null;
}

function tileLabel(pub) {
    const m = stageMembers.get(pub.user_id);
    let text = pub.user_id === myUserId ? 'You' : (pub.name || `Slot ${pub.slot + 1}`);
    if (m?.audio_muted) text += ' · mic off';
    if (m?.video_muted) text += ' · camera off';
    return text;
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
    // The size the slot is shown at caps what Auto sends it (a thumbnail
    // does not need the 720p layer).
    if (window.ResizeObserver) new ResizeObserver(() => scheduleViewports()).observe(video);
    // Clicking the pinned tile again unpins it.
    root.addEventListener('click', () => {
        pinnedSlot = pinnedSlot === slot ? null : slot;
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
    ui.tiles.dataset.layout = (ordered.length >= 3 || groups?.inGroup) && pinnedSlot === null ? 'grid' : 'speaker';
    for (const slot of ordered) {
        let tile = tiles.get(slot);
        if (!tile) {
            tile = makeTile(slot);
            tiles.set(slot, tile);
            ui.tiles.append(tile.root);
        }
        const pub = publishers.get(slot);
        tile.label.textContent = tileLabel(pub);
        tile.video.setAttribute('aria-label', `Video of ${pub.name || `slot ${slot + 1}`}`);
        // Our own slot shows the local camera: no delay, and no echo of
        // our own voice.
        const own = isOwnSlot(slot) && ownStream();
        const src = own || slotStreams[slot];
        tile.root.classList.toggle('tile-own', !!own);
        tile.video.muted = own ? true : muted;
        if (src && tile.video.srcObject !== src) {
            tile.video.srcObject = src;
            tile.video.play().catch(() => {});
        }
        tile.root.classList.toggle('tile-main', slot === main);
        tile.root.classList.toggle('tile-speaking', slot === speakerSlot && ordered.length > 1);
        // The main tile goes first; the others follow as thumbnails.  CSS
        // order, not DOM moves, so a playing video is never re-inserted.
        tile.root.style.order = slot === main ? '-1' : String(slot);
    }
    ui.placeholder.hidden = publishers.size > 0;
    playTalk();
    refreshStatus();
}

// In a group, the trainer's "talk to all" voice comes on the slot after
// the group's (docs/protocol.md, "Breakout groups"); it has no publisher
// and no tile, so it plays here.
function playTalk() {
    const slot = Number.isInteger(groupSize) && groupSize < viewSlots ? groupSize : null;
    const want = groups?.inGroup && slot !== null && !publishers.has(slot) ? slotStreams[slot] ?? null : null;
    ui.talkAudio.muted = muted;
    if (ui.talkAudio.srcObject !== want) {
        ui.talkAudio.srcObject = want;
        if (want) ui.talkAudio.play().catch(() => {});
    }
}

function setMuted(value) {
    muted = value;
    for (const tile of tiles.values()) {
        tile.video.muted = muted || tile.root.classList.contains('tile-own');
        if (!muted) tile.video.play().catch(() => {});
    }
    playTalk();
    if (!muted) ui.talkAudio.play().catch(() => {});
    ui.unmute.textContent = muted ? 'Unmute' : 'Mute';
    ui.unmute.setAttribute('aria-pressed', String(!muted));
}

// ---- subscription ------------------------------------------------------

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

// The transceivers of one subscribe attempt (js/peer.js makes the
// PeerConnection, negotiates it and retries).
function setupSubscribe(conn) {
    meter = new StatsMeter(conn);
    // Fresh streams per PeerConnection, so no ended track lingers.
    slotStreams.length = 0;
    for (let slot = 0; slot < viewSlots; slot++) slotStreams.push(new MediaStream());
    addReceivePairs(conn, viewSlots);
    for (const tile of tiles.values()) tile.video.srcObject = null;
    conn.ontrack = (ev) => onTrack(conn, ev);
    // The interactions' data channel (js/datachannel.js); signalling stays on /ws.
    attachDataChannel(conn, sig);
}

function watchPeer() {
    peer = new PeerSession(sig, { kind: 'subscribe', setup: setupSubscribe });
    peer.on('session', () => {
        applyQuality();
        sendViewports(true);
        renderTiles();
    });
    peer.on('closed', () => {
        meter = null;
        decoding = false;
        lastFrames.clear();
    });
    for (const type of ['connecting', 'connected', 'retrying']) peer.on(type, () => refreshStatus());
    peer.on('failed', ({ message }) => fail(message));
}

// ---- quality (simulcast layer) ------------------------------------------

// The chosen quality applies to every stage slot; the SFU switches at the
// next keyframe of that layer, so the picture never breaks.
function applyQuality() {
    const session = peer?.session;
    if (!sig?.isJoined || !session) return;
    const layer = ui.quality.value;
    for (let slot = 0; slot < viewSlots; slot++) {
        sig.request({ type: 'layer', session, slot, layer }).catch((err) => {
            console.warn('layer choice refused', err);
        });
    }
}

ui.quality.addEventListener('change', applyQuality);

// {"type":"viewport"}: each slot's rendered width in device pixels, sent
// when it changes by more than a tenth (or for a new session: force).
const sentWidths = new Map();
let viewportTimer = null;

function scheduleViewports() {
    clearTimeout(viewportTimer);
    viewportTimer = setTimeout(() => sendViewports(false), 400);
}

function sendViewports(force) {
    const session = peer?.session;
    if (!sig?.isJoined || !session) return;
    if (force) sentWidths.clear();
    for (const [slot, tile] of tiles) {
        const width = Math.round(tile.video.clientWidth * (window.devicePixelRatio || 1));
        if (!width) continue;
        const last = sentWidths.get(slot);
        if (last && Math.abs(width - last) <= last / 10) continue;
        sentWidths.set(slot, width);
        sig.request({ type: 'viewport', session, slot, width }).catch((err) => {
            console.warn('viewport refused', err);
        });
    }
}

// ---- stats -------------------------------------------------------------

function slotOfMid(conn, mid) {
    const index = conn.getTransceivers().findIndex((t) => t.mid === mid);
    return index < 0 ? null : Math.floor(index / 2);
}

async function sampleStats() {
    const conn = peer?.pc;
    if (!conn || !meter) return;
    let sample;
    try {
        sample = await meter.sample();
    } catch {
        return;   // the PeerConnection closed under us
    }
    if (conn !== peer.pc) return;
    let advanced = false;
    for (const v of sample.video) {
        const slot = slotOfMid(conn, v.mid);
        if (slot === null || !publishers.has(slot)) continue;
        const before = lastFrames.get(v.mid) ?? 0;
        if (v.framesDecoded > before) advanced = true;
        lastFrames.set(v.mid, v.framesDecoded);
        const tile = tiles.get(slot);
        if (tile) renderOverlay(tile.stats, v, sample.rttMs);
        if (slot === mainSlot() && v.frameWidth)
            ui.layerInfo.textContent = `${v.frameWidth}×${v.frameHeight}`;
    }
    decoding = advanced;
    if (!serverSpeaker) pickSpeaker(conn, sample.audio);
    refreshStatus();
}

// Without active_speaker events from the server: the loudest remote slot
// above SPEAKING_LEVEL; silence keeps the last speaker.
function pickSpeaker(conn, audio) {
    let best = null;
    let bestLevel = SPEAKING_LEVEL;
    for (const a of audio) {
        const slot = slotOfMid(conn, a.mid);
        if (slot === null || !publishers.has(slot) || isOwnSlot(slot)) continue;
        if (typeof a.audioLevel === 'number' && a.audioLevel > bestLevel) {
            best = slot;
            bestLevel = a.audioLevel;
        }
    }
    if (best !== null && best !== speakerSlot) {
        speakerSlot = best;
        renderTiles();
    }
}

// ---- the stage ---------------------------------------------------------

function setStage(state) {
    stageState = state;
    document.body.dataset.stage = state;
    const joined = !!sig?.isJoined;
    // The stage is the main room's: not while in a breakout group.
    ui.raiseHand.disabled = !joined || state === 'invited' || state === 'on-stage' || !!groups?.inGroup;
    ui.raiseHand.textContent = state === 'hand' ? 'Lower hand' : 'Raise hand';
    ui.raiseHand.setAttribute('aria-pressed', String(state === 'hand'));
    ui.invitation.hidden = state !== 'invited';
    ui.onStage.hidden = state !== 'on-stage';
    if (state !== 'on-stage') {
        ui.selfPreview.srcObject = null;
        ui.muteNote.hidden = true;
    }
}

function onGuestChange(g) {
    if (g !== guest) return;
    ui.guestStatus.textContent = g.state === 'live' ? 'Your camera is live.'
        : g.state === 'error' ? g.error
            : g.state === 'connecting' ? (g.retrying ? retryText(g.retrying) : 'Connecting…') : '';
    if (g.stream && ui.selfPreview.srcObject !== g.stream) ui.selfPreview.srcObject = g.stream;
    const off = [g.muted.audio && 'microphone', g.muted.video && 'camera'].filter(Boolean);
    ui.muteNote.hidden = off.length === 0;
    ui.muteNote.textContent = off.length ? `The host turned off your ${off.join(' and ')}.` : '';
    renderTiles();
}

function stopGuest(unpublish) {
    const g = guest;
    guest = null;
    g?.stop(unpublish);
}

async function toggleHand() {
    const raise = stageState === 'audience';
    ui.raiseHand.disabled = true;
    try {
        await sig.request({ type: raise ? 'raise_hand' : 'lower_hand' });
        if (stageState === 'audience' || stageState === 'hand') setStage(raise ? 'hand' : 'audience');
    } catch (err) {
        showError(ui.error, `Could not ${raise ? 'raise' : 'lower'} your hand (${err.code || 'error'}): ${err.message}`);
        setStage(stageState);
    }
}

async function acceptInvitation() {
    const audioOnly = ui.audioOnly.checked;
    ui.accept.disabled = ui.decline.disabled = true;
    try {
        await sig.request({ type: 'accept', audio_only: audioOnly });
    } catch (err) {
        showError(ui.error, `Could not join the stage (${err.code || 'error'}): ${err.message}`);
        setStage('audience');
        return;
    } finally {
        ui.accept.disabled = ui.decline.disabled = false;
    }
    clearError(ui.error);
    setStage('on-stage');
    guest = new GuestPublisher(sig, { audioOnly, videoCodec, onChange: onGuestChange });
    guest.start().catch(() => {
        // The devices could not be opened: give the place back.
        sig.request({ type: 'leave_stage' }).catch(() => {});
    });
}

async function declineInvitation() {
    await sig.request({ type: 'decline' }).catch(() => {});
    setStage('audience');
}

async function leaveStage() {
    ui.leaveStage.disabled = true;
    // The server ends our publish session itself.
    await sig.request({ type: 'leave_stage' }).catch(() => {});
    ui.leaveStage.disabled = false;
    stopGuest(false);
    setStage('audience');
    renderTiles();
}

function watchStage() {
    sig.on('stage', (msg) => {
        stageMembers = new Map((msg.members || []).map((m) => [m.user_id, m]));
        renderTiles();
    });
    sig.on('invited', (msg) => {
        if (stageState === 'on-stage') return;
        ui.invitationText.textContent = `${msg.by || 'The host'} invites you on stage.`;
        setStage('invited');
    });
    sig.on('invite_cancelled', () => {
        if (stageState === 'invited') setStage('audience');
    });
    sig.on('mute', (msg) => guest?.applyMute(msg.audio, msg.video));
    sig.on('stage_removed', (msg) => {
        stopGuest(false);
        setStage('audience');
        if (msg.reason === 'removed') {
            ui.guestStatus.textContent = '';
            showError(ui.error, `${msg.by || 'The host'} moved you back to the audience.`);
        }
        renderTiles();
    });
    sig.on('active_speaker', (msg) => {
        serverSpeaker = true;
        const slot = msg.speaker?.slot;
        speakerSlot = Number.isInteger(slot) ? slot : null;
        renderTiles();
    });
}

// ---- interactions ------------------------------------------------------

// The connection moved into a group, to another or back to the main room
// (`group`): the same subscribe session now carries that room's
// publishers; only the tiles are re-mapped.
function watchGroups() {
    groups = new GroupParticipant($('#group-view'), sig, {
        broadcastRoot: $('#group-broadcast'),
        videoCodec: () => videoCodec,
        onMove: (msg) => {
            setPublishers(msg.publishers);
            pinnedSlot = null;
            speakerSlot = null;
            lastFrames.clear();
            if (typeof msg.viewers === 'number') ui.viewers.textContent = String(msg.viewers);
            ui.placeholder.textContent = msg.group ? 'Nobody in your group is on camera yet…' : 'Waiting for the presenter…';
            setStage(stageState);
            renderTiles();
            sendViewports(true);
        },
        onChange: () => renderTiles(),
    });
}

function watchInteractions() {
    interact = new InteractPanel($('#interact'), sig, { chatRoot: $('#chat'), token: params.token });
    new AnnouncementBanner($('#announcement'), sig);
    new CheckinPrompt($('#checkin-prompt'), sig);
    new LotteryNotice($('#lottery-notice'), sig);
    new DanmakuLayer($('#stage'), sig, $('#show-danmaku'));
    new DanmakuForm($('#danmaku-box'), sig);
    new LikeButton($('#like-box'), sig);
    sig.on('muted', (msg) => {
        ui.mutedNotice.hidden = !msg.muted;
        ui.mutedNotice.textContent = msg.muted
            ? 'A moderator muted you: your messages, comments and questions are refused until you are unmuted.' : '';
    });
    // A new connection is not muted until the server says so.
    sig.on('joined', () => { ui.mutedNotice.hidden = true; });
    // Kicked or banned: the server closes the socket; coming back at once
    // would be rude (kick) or refused (ban), so the page stops here.
    sig.on('kicked', (msg) => {
        const why = msg.reason === 'banned' ? 'You were banned from this room' : 'A moderator removed you from the room';
        fail(`${why}${msg.message ? `: ${msg.message}` : '.'}`);
    });
    sig.on('transport-error', (err) => {
        if (err?.code === 'banned') fail('You are banned from this room.');
    });
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
    showServerNotices(sig, $('#server-notice'));
    watchPeer();
    watchGroups();
    watchInteractions();
    sig.on('joined', (msg) => {
        clearError(ui.error);
        ui.room.textContent = msg.room;
        myUserId = msg.user_id ?? null;
        videoCodec = params.codec || msg.video_codec || 'vp8';
        // A new connection starts in the audience and the main room: the
        // server forgot the old one's hand and seat, and sends `group` after
        // this if this user is in an open group.
        ui.placeholder.textContent = 'Waiting for the presenter…';
        stopGuest(false);
        setStage('audience');
        // Enough pairs for the stage and for a breakout group, so a move
        // into a group needs no new offer.
        viewSlots = pairsToOffer(msg);
        groupSize = Number.isInteger(msg.group_size) ? msg.group_size : null;
        if (typeof msg.viewers === 'number') ui.viewers.textContent = String(msg.viewers);
        setPublishers(msg.publishers);
        renderTiles();
        peer.start();
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
    sig.on('close', () => {
        // The server ended our sessions with the socket (js/peer.js drops
        // the connection); `joined` subscribes again.
        stopGuest(false);
        setStage('audience');
        refreshStatus();
    });
    watchStage();
    sig.on('fatal', (err) => fail(`Cannot join the room (${err.code}): ${err.message}`));
    sig.on('error', (msg) => showError(ui.error, `${msg.code}: ${msg.message}`));
    sig.start();
    if (params.event) {
        viewerEvent = new ViewerEvent(params.event, {
            topbar: $('.topbar'), stage: $('#stage'), token: () => sig.token, onEnded: eventEnded,
        });
        renewal = new EventTokenRenewal(params.event, sig, (err) => {
            if (err.code === 'event-ended') {
                viewerEvent.endedByServer();
                return;
            }
            showError(ui.error, `Your access to this event could not be renewed (${err.code || err.message}): `
                + 'open the event\'s watch link again to keep watching.');
        });
        renewal.start();
        // The end of a session or of the connection may be the event's.
        for (const type of ['session_closed', 'close', 'fatal']) sig.on(type, () => viewerEvent.soon());
        viewerEvent.start();
    }
}

function init() {
    ui.room.textContent = params.room;
    ui.unmute.addEventListener('click', () => setMuted(!muted));
    ui.raiseHand.addEventListener('click', toggleHand);
    ui.accept.addEventListener('click', acceptInvitation);
    ui.decline.addEventListener('click', declineInvitation);
    ui.leaveStage.addEventListener('click', leaveStage);
    ui.showStats.addEventListener('change', () => {
        ui.tiles.classList.toggle('hide-stats', !ui.showStats.checked);
    });
    window.addEventListener('pagehide', () => sig?.stop());
    setInterval(sampleStats, STATS_INTERVAL_MS);

    window.stagecast = {
        get pc() { return peer?.pc ?? null; },
        get session() { return peer?.session ?? null; },
        get connection() { return peer?.state ?? null; },
        get signaling() { return sig; },
        get publishers() { return [...publishers.values()]; },
        get userId() { return myUserId; },
        get stage() { return { state: stageState, members: [...stageMembers.values()] }; },
        get guest() { return guest; },
        get group() { return groups?.place ?? null; },
        get groupPublisher() { return groups?.publisher ?? null; },
        get interact() { return interact; },
        get renewal() { return renewal; },
        get event() { return viewerEvent; },
        // Raw inbound counters: {video: [{mid, framesDecoded, ...}], audio: [...], rttMs}.
        stats: () => (peer?.pc ? readInbound(peer.pc) : Promise.resolve({ video: [], audio: [], rttMs: null })),
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

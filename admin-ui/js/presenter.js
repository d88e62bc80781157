// Presenter page: pick a source, preview it, publish it to the room.
//
// document.body.dataset.state is "idle" | "connecting" | "live" | "error"
// and #viewer-count holds the room's subscriber count; tests read both.
// With the moderate permission it also runs the stage: the hand queue with
// Invite buttons, the guests with mute and remove buttons
// (docs/protocol.md, "Stage"), the recording switch, the interaction
// panel's host tabs (js/interact-panel.js) and the breakout groups
// (js/groups-trainer.js).

import { attachDataChannel } from './datachannel.js';
import { GroupsTrainer } from './groups-trainer.js';
import { AnnouncementBanner } from './interact-announce.js';
import { DanmakuLayer } from './interact-danmaku.js';
import { InteractPanel } from './interact-panel.js';
import { PeerSession, retryText, showServerNotices } from './peer.js';
import { SignalingClient } from './signaling.js';
import { $, clearError, preferCodec, readParams, setState, showError, wsUrl } from './util.js';

// Low to high: the SFU ranks layers by the width of their keyframes.
const SIMULCAST_LAYERS = [
    { rid: 'l', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
    { rid: 'm', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
    { rid: 'h', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

// The video codec to send: the server's choice for the room, or #codec=.
let videoCodec = 'vp8';

const ui = {
    preview: $('#preview'),
    status: $('#status'),
    error: $('#error'),
    room: $('#room-name'),
    camera: $('#camera-select'),
    mic: $('#mic-select'),
    goLive: $('#go-live'),
    stop: $('#stop'),
    viewers: $('#viewer-count'),
    session: $('#session-id'),
    liveBadge: $('#live-badge'),
    stageAdmin: $('#stage-admin'),
    stageCount: $('#stage-count'),
    stageMembers: $('#stage-members'),
    stageEmpty: $('#stage-empty'),
    hands: $('#hands'),
    handsCount: $('#hands-count'),
    handsEmpty: $('#hands-empty'),
    recordRow: $('#record-row'),
    recordState: $('#record-state'),
    recordToggle: $('#record-toggle'),
    likes: $('#likes-total'),
};

const params = readParams();
let sig = null;
let interact = null;   // the interaction panel (chat, Q&A, polls, host tools)
let groups = null;     // the breakout groups panel
let stream = null;        // the local MediaStream being previewed / sent
let peer = null;          // the publish connection (js/peer.js)
let wantLive = false;     // the user pressed Go live and not Stop

function status(state, text) {
    setState(state);
    ui.status.textContent = text;
    ui.status.dataset.state = state;
    ui.liveBadge.hidden = state !== 'live';
    ui.goLive.disabled = wantLive || !params.token;
    ui.stop.disabled = !wantLive;
}

function fail(err) {
    wantLive = false;
    if (peer?.wanted) peer.stop({ release: false });
    showError(ui.error, err);
    status('error', 'Error');
}

function source() {
    return document.querySelector('input[name="source"]:checked').value;
}

// ---- devices -----------------------------------------------------------

function fillSelect(select, devices, fallbackLabel) {
    const previous = select.value;
    select.replaceChildren(...devices.map((d, i) => {
        const opt = document.createElement('option');
        opt.value = d.deviceId;
        opt.textContent = d.label || `${fallbackLabel} ${i + 1}`;
        return opt;
    }));
    if (devices.some((d) => d.deviceId === previous)) select.value = previous;
}

async function refreshDevices() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    fillSelect(ui.camera, devices.filter((d) => d.kind === 'videoinput'), 'Camera');
    fillSelect(ui.mic, devices.filter((d) => d.kind === 'audioinput'), 'Microphone');
    selectCurrentDevices();
}

// Show the devices actually in use once permission revealed their ids.
function selectCurrentDevices() {
    if (!stream) return;
    const a = stream.getAudioTracks()[0]?.getSettings().deviceId;
    const v = stream.getVideoTracks()[0]?.getSettings().deviceId;
    if (a && [...ui.mic.options].some((o) => o.value === a)) ui.mic.value = a;
    if (v && source() === 'camera' && [...ui.camera.options].some((o) => o.value === v)) {
        ui.camera.value = v;
    }
}

function audioConstraints() {
    return ui.mic.value ? { deviceId: { exact: ui.mic.value } } : true;
}

async function acquire() {
    if (!navigator.mediaDevices) {
        throw new Error('media devices are unavailable: open this page over https or from localhost');
    }
    if (source() === 'screen') {
        const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
        let mic = null;
        try {
            mic = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints() });
        } catch (err) {
            screen.getTracks().forEach((t) => t.stop());
            throw err;
        }
        const combined = new MediaStream([...screen.getVideoTracks(), ...mic.getAudioTracks()]);
        // The browser's own "Stop sharing" button ends the track.
        screen.getVideoTracks()[0]?.addEventListener('ended', () => {
            if (wantLive) stopLive('Screen sharing ended');
        });
        return combined;
    }
    return navigator.mediaDevices.getUserMedia({
        audio: audioConstraints(),
        video: {
            deviceId: ui.camera.value ? { exact: ui.camera.value } : undefined,
            width: { ideal: 1280 },
            height: { ideal: 720 },
        },
    });
}

// Serialise source switches: a Go live click during the first preview must
// reuse that preview instead of opening the camera twice.
let switching = Promise.resolve(true);
function switchSource() {
    switching = switching.then(doSwitchSource, doSwitchSource);
    return switching;
}

async function doSwitchSource() {
    ui.camera.disabled = source() === 'screen';
    let next;
    try {
        next = await acquire();
    } catch (err) {
        showError(ui.error, `Could not open ${source() === 'screen' ? 'the screen' : 'camera/microphone'}: ${err.message}`);
        return false;
    }
    const old = stream;
    stream = next;
    ui.preview.srcObject = stream;
    // While live, swap tracks in place: no renegotiation, viewers see no gap.
    if (peer?.pc) {
        for (const t of peer.pc.getTransceivers()) {
            const kind = t.receiver.track?.kind;
            const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
            if (track) await t.sender.replaceTrack(track).catch((e) => console.warn('replaceTrack', e));
        }
    }
    old?.getTracks().forEach((t) => t.stop());
    clearError(ui.error);
    await refreshDevices().catch(() => {});
    return true;
}

// ---- publishing --------------------------------------------------------

// What the encoder gives up when it is short of CPU or bandwidth: the
// browser's default (balanced, for a camera) unless the link says otherwise
// (#degrade=maintain-resolution, maintain-framerate or balanced).  With
// maintain-resolution a busy machine lowers the frame rate and every
// simulcast layer keeps its size, so each layer stays what its rid says
// (the browser tests pin it so); balanced lets a starved encoder shrink all
// three layers instead.  A shared screen already keeps its resolution.
const DEGRADATION = new Set(['maintain-resolution', 'maintain-framerate', 'balanced']);

async function setDegradation(sender) {
    if (!params.degrade) return;
    if (!DEGRADATION.has(params.degrade)) {
        console.warn(`ignoring #degrade=${params.degrade}`);
        return;
    }
    const p = sender.getParameters();
    p.degradationPreference = params.degrade;
    try {
        await sender.setParameters(p);
    } catch (err) {
        console.warn('degradationPreference refused', err);
    }
}

// The transceivers of one publish attempt (js/peer.js makes the
// PeerConnection, negotiates it and retries).
async function setupPublish(conn) {
    await switching;
    if (!stream) throw new Error('no camera or screen to send');
    const audio = stream.getAudioTracks()[0];
    const video = stream.getVideoTracks()[0];
    conn.addTransceiver(audio || 'audio', { direction: 'sendonly', streams: [stream] });
    // A camera goes out as three simulcast layers (quarter, half and full
    // size); the SFU gives each viewer the one it asks for or can take.
    // A shared screen is sent whole: its detail matters more than its size.
    const vt = conn.addTransceiver(video || 'video', {
        direction: 'sendonly',
        streams: [stream],
        // VP8 with three temporal layers per simulcast layer: the SFU
        // can shave frame rate for a viewer before giving up a size.
        sendEncodings: source() === 'screen' ? undefined
            : SIMULCAST_LAYERS.map((e) => (videoCodec === 'vp8' ? { ...e, scalabilityMode: 'L1T3' } : e)),
    });
    preferCodec(vt, videoCodec);
    await setDegradation(vt.sender);
    attachDataChannel(conn, sig);
}

function watchPeer() {
    peer = new PeerSession(sig, { kind: 'publish', setup: setupPublish });
    peer.on('connecting', () => status('connecting', 'Connecting…'));
    peer.on('session', ({ session }) => { ui.session.textContent = session; });
    peer.on('connected', () => status('live', 'Live'));
    peer.on('interrupted', () => status('connecting', 'Connection interrupted…'));
    peer.on('retrying', (r) => status('connecting', retryText(r)));
    peer.on('closed', () => { ui.session.textContent = '–'; });
    peer.on('failed', ({ code, message }) => fail(code === 'replaced'
        ? 'This stage slot was taken over by another connection with the same account' : message));
}

async function goLive() {
    clearError(ui.error);
    wantLive = true;
    status('connecting', sig.isJoined ? 'Connecting…' : 'Connecting to server…');
    await switching;
    if (!stream && !(await switchSource())) {
        wantLive = false;
        status('error', 'Error');
        return;
    }
    if (wantLive) peer.start();
}

function stopLive(message) {
    wantLive = false;
    peer.stop();
    status('idle', message || 'Idle');
}

// ---- the stage ---------------------------------------------------------

let canModerate = false;
let stageSize = null;

function button(text, label, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', async () => {
        b.disabled = true;
        try {
            await onClick();
            clearError(ui.error);
        } catch (err) {
            showError(ui.error, `${label} failed (${err.code || 'error'}): ${err.message}`);
        } finally {
            b.disabled = false;
        }
    });
    return b;
}

function personItem(name, detail) {
    const li = document.createElement('li');
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = name;
    const info = document.createElement('span');
    info.className = 'detail';
    info.textContent = detail;
    const actions = document.createElement('span');
    actions.className = 'row-actions';
    li.append(who, info, actions);
    return { li, actions };
}

function renderStage(members) {
    ui.stageMembers.replaceChildren(...members.map((m) => {
        const name = m.name || m.user_id;
        const flags = [m.audio_only ? 'audio only' : null, m.audio_muted ? 'mic off' : null,
            m.video_muted ? 'camera off' : null].filter(Boolean).join(' · ');
        const { li, actions } = personItem(name, flags);
        li.dataset.userId = m.user_id;
        const mute = (fields) => () => sig.request({ type: 'stage_mute', user_id: m.user_id, ...fields });
        actions.append(
            button(m.audio_muted ? 'Unmute mic' : 'Mute mic', `${m.audio_muted ? 'Unmute' : 'Mute'} ${name}'s microphone`,
                mute({ audio: !m.audio_muted })),
        );
        if (!m.audio_only) {
            actions.append(button(m.video_muted ? 'Camera on' : 'Camera off',
                `Turn ${m.video_muted ? 'on' : 'off'} ${name}'s camera`, mute({ video: !m.video_muted })));
        }
        actions.append(button('Remove', `Remove ${name} from the stage`,
            () => sig.request({ type: 'stage_remove', user_id: m.user_id })));
        return li;
    }));
    ui.stageEmpty.hidden = members.length > 0;
    ui.stageCount.textContent = stageSize ? `(${members.length} guest${members.length === 1 ? '' : 's'}, stage of ${stageSize})` : '';
}

function renderHands(queue) {
    ui.hands.replaceChildren(...queue.map((h) => {
        const name = h.name || h.user_id;
        const since = new Date(h.since).toLocaleTimeString();
        const { li, actions } = personItem(name, h.invited ? `invited · since ${since}` : `since ${since}`);
        li.dataset.userId = h.user_id;
        actions.append(button(h.invited ? 'Invite again' : 'Invite', `Invite ${name} on stage`,
            () => sig.request({ type: 'invite', user_id: h.user_id })));
        return li;
    }));
    ui.handsEmpty.hidden = queue.length > 0;
    ui.handsCount.textContent = queue.length ? `(${queue.length})` : '';
}

function watchStage() {
    sig.on('stage', (msg) => {
        if (Number.isInteger(msg.size)) stageSize = msg.size;
        renderStage(msg.members || []);
    });
    sig.on('hands', (msg) => renderHands(msg.queue || []));
    sig.on('invite_declined', (msg) => {
        showError(ui.error, `${msg.name || msg.user_id} declined the invitation.`);
    });
}

// ---- recording -----------------------------------------------------------

let recording = false;

function showRecording(on) {
    recording = !!on;
    ui.recordState.textContent = recording ? '● Recording' : 'Not recording';
    ui.recordState.classList.toggle('on', recording);
    ui.recordToggle.textContent = recording ? 'Stop recording' : 'Start recording';
    ui.recordToggle.setAttribute('aria-pressed', String(recording));
}

async function toggleRecording() {
    ui.recordToggle.disabled = true;
    try {
        await sig.request({ type: 'record', on: !recording });
        clearError(ui.error);
    } catch (err) {
        showError(ui.error, err.code === 'unsupported'
            ? 'This server does not record (it was started without a recorder).'
            : `Recording could not be switched (${err.code || 'error'}): ${err.message}`);
    } finally {
        ui.recordToggle.disabled = false;
    }
}

// ---- signalling --------------------------------------------------------

function setViewers(n) {
    if (typeof n === 'number' && n >= 0) ui.viewers.textContent = String(n);
}

// Dynacast: the server says which simulcast layers some viewer takes; the
// others are paused at the encoder (saving this uplink and CPU) until a
// viewer wants them again.  The flags follow SIMULCAST_LAYERS' order.
// Updates can come a few milliseconds apart while setParameters() of the
// previous one is still pending; they are applied one at a time, always
// ending on the newest (a stale getParameters() would otherwise leave a
// layer paused that a viewer wants).
let layersWanted = null;
let layersBusy = false;

function applyLayers(msg) {
    if (msg.session !== peer.session || !Array.isArray(msg.active)) return;
    layersWanted = msg.active;
    if (!layersBusy) syncLayers();
}

async function syncLayers() {
    layersBusy = true;
    try {
        for (;;) {
            const want = layersWanted;
            const sender = peer.pc?.getSenders().find((s) => s.track && s.track.kind === 'video');
            if (!sender) return;
            const params = sender.getParameters();
            if (!params.encodings || params.encodings.length < 2) return;
            let changed = false;
            params.encodings.forEach((enc, i) => {
                const on = want[i] !== false;
                if (enc.active !== on) {
                    enc.active = on;
                    changed = true;
                }
            });
            if (changed) {
                try {
                    await sender.setParameters(params);
                } catch (err) {
                    console.warn('pausing layers refused', err);
                    return;
                }
            }
            if (want === layersWanted) return; // nothing newer arrived meanwhile
        }
    } finally {
        layersBusy = false;
    }
}

function startSignaling() {
    sig = new SignalingClient(wsUrl(), params.token);
    showServerNotices(sig, $('#server-notice'));
    watchPeer();
    interact = new InteractPanel($('#interact'), sig, { chatRoot: $('#chat'), token: params.token });
    groups = new GroupsTrainer($('#groups-admin'), sig, {
        visitRoot: $('#group-visit'),
        wallRoot: $('#group-wall'),
        isLive: () => peer?.state === 'connected',
    });
    peer.on('connected', () => groups.render());
    peer.on('closed', () => groups.render());
    new AnnouncementBanner($('#announcement'), sig);
    new DanmakuLayer($('.stage .tile-main'), sig, $('#show-danmaku'));
    sig.on('batch', (msg) => (msg.messages || []).forEach((m) => {
        if (m.type === 'likes' && typeof m.total === 'number') ui.likes.textContent = String(m.total);
    }));
    sig.on('recording', (msg) => showRecording(msg.on));
    sig.on('layers', (msg) => applyLayers(msg));
    sig.on('room_codec', (msg) => { if (!params.codec) videoCodec = msg.video_codec; });
    sig.on('likes', (m) => { if (typeof m.total === 'number') ui.likes.textContent = String(m.total); });
    sig.on('joined', (msg) => {
        ui.room.textContent = msg.room;
        videoCodec = params.codec || msg.video_codec || 'vp8';
        canModerate = Array.isArray(msg.perms) && msg.perms.includes('moderate');
        ui.stageAdmin.hidden = !canModerate;
        ui.recordRow.hidden = !canModerate;
        setViewers(msg.viewers);
        // The server ended our session with the old socket: publish anew.
        if (peer.wanted) peer.start();
        else if (!wantLive) status('idle', 'Ready');
    });
    sig.on('viewers', (msg) => setViewers(msg.count));
    watchStage();
    sig.on('close', () => {
        // js/peer.js drops the connection and reports the socket's retries.
        if (wantLive) status('connecting', 'Reconnecting to server…');
        else if (document.body.dataset.state !== 'error') status('idle', 'Disconnected; reconnecting…');
    });
    sig.on('fatal', (err) => fail(`Cannot join the room (${err.code}): ${err.message}`));
    sig.on('error', (msg) => showError(ui.error, `${msg.code}: ${msg.message}`));
    sig.start();
}

function init() {
    ui.room.textContent = params.room;
    ui.goLive.addEventListener('click', goLive);
    ui.recordToggle.addEventListener('click', toggleRecording);
    ui.stop.addEventListener('click', () => stopLive());
    for (const radio of document.querySelectorAll('input[name="source"]')) {
        radio.addEventListener('change', () => switchSource());
    }
    ui.camera.addEventListener('change', () => switchSource());
    ui.mic.addEventListener('change', () => switchSource());
    navigator.mediaDevices?.addEventListener?.('devicechange', () => refreshDevices().catch(() => {}));
    window.addEventListener('pagehide', () => sig?.stop());

    // Expose internals for tests and for debugging from the console.
    window.stagecast = {
        get pc() { return peer?.pc ?? null; },
        get session() { return peer?.session ?? null; },
        get connection() { return peer?.state ?? null; },
        get signaling() { return sig; },
        get interact() { return interact; },
        get groups() { return groups; },
        stats: () => (peer?.pc ? peer.pc.getStats() : Promise.resolve(null)),
    };

    if (!params.token) {
        showError(ui.error, 'No token in the link. Ask your administrator for a presenter link '
            + '(…/presenter.html#room=ROOM&token=TOKEN).');
        status('error', 'No token');
    } else {
        status('idle', 'Connecting…');
        startSignaling();
    }
    refreshDevices().catch(() => {});
    if (source() === 'camera') switchSource();
}

init();

// Shared pieces of the browser tests: the stagecast server under test,
// tokens, pages in Debian's Chromium, polling.  Loopback only: the runner
// (tests/browser/run) puts every test in a network namespace with only lo.

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { chromium } from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection',
];
const run = promisify(execFile);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function findBinary() {
    if (process.env.STAGECAST_BIN) return resolve(process.env.STAGECAST_BIN);
    for (const rel of ['build/stagecast', 'build/signaling/stagecast']) {
        const p = join(REPO, rel);
        if (existsSync(p)) return p;
    }
    return join(REPO, 'build/stagecast');
}

export function freePort(kind) {
    if (kind === 'media') return freeMediaPorts();
    return new Promise((res, rej) => {
        if (kind === 'tcp') {
            const srv = createServer();
            srv.once('error', rej);
            srv.listen(0, '127.0.0.1', () => {
                const { port } = srv.address();
                srv.close(() => res(port));
            });
        } else {
            const sock = createSocket('udp4');
            sock.once('error', rej);
            sock.bind(0, '127.0.0.1', () => {
                const { port } = sock.address();
                sock.close(() => res(port));
            });
        }
    });
}

// Whether a port is free for TCP and for UDP on 127.0.0.1.
async function bothFree(port) {
    const tcp = await new Promise((res) => {
        const srv = createServer();
        srv.once('error', () => res(false));
        srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
    });
    if (!tcp) return false;
    return new Promise((res) => {
        const sock = createSocket('udp4');
        sock.once('error', () => { sock.close(); res(false); });
        sock.bind(port, '127.0.0.1', () => sock.close(() => res(true)));
    });
}

// A first media port with 8 consecutive ports free for UDP and TCP (media
// worker i uses the port + i for both; ICE-TCP has the UDP numbers).
async function freeMediaPorts() {
    for (let attempt = 0; attempt < 200; attempt++) {
        const first = 20000 + Math.floor(Math.random() * 40000);
        let ok = true;
        for (let i = 0; i < 8 && ok; i++) ok = await bothFree(first + i);
        if (ok) return first;
    }
    throw new Error('no free media port range');
}

// Poll until fn() returns a truthy value; the timeout only bounds a hang,
// no assertion depends on how fast the machine is.
export async function waitFor(what, fn, timeoutMs = 30000, stepMs = 250) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        try {
            last = await fn();
            if (last) return last;
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
        }
        await sleep(stepMs);
    }
}

// test() that remembers whether one failed, so after() knows to print the
// server's log:  const steps = failureTracking();  steps.step(name, fn);
// ... if (steps.failed) ...
export function failureTracking() {
    const t = { failed: false };
    t.step = (name, fn) => test(name, async () => {
        try {
            await fn();
        } catch (err) {
            t.failed = true;
            throw err;
        }
    });
    return t;
}

// One `stagecast serve` with its own data directory and ports, and a
// headless Chromium to open its pages in.
export class Platform {
    constructor(room, extraArgs = []) {
        this.room = room;
        this.extraArgs = extraArgs;
        this.bin = findBinary();
        this.log = '';
        this.exit = null;
        this.pageErrors = [];
        this.pages = [];   // newPage()'s
    }

    async start() {
        assert.ok(existsSync(this.bin), `no stagecast binary at ${this.bin}`);
        this.dataDir = mkdtempSync(join(tmpdir(), 'stagecast-browser-'));
        this.port = await freePort('tcp');
        this.udpPort = await freePort('media');
        this.base = `http://127.0.0.1:${this.port}`;
        await this.spawnServer();
        this.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        return this;
    }

    async spawnServer() {
        this.exit = null;
        const server = spawn(this.bin, ['serve', '--listen', `127.0.0.1:${this.port}`, '--udp-port',
            String(this.udpPort), '--data', this.dataDir, '--drain-timeout', '0', ...this.extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
        this.server = server;
        const keep = (chunk) => {
            this.log += chunk.toString();
            if (this.log.length > 200000) this.log = this.log.slice(-100000);
        };
        server.stdout.on('data', keep);
        server.stderr.on('data', keep);
        server.on('exit', (code, signal) => { if (server === this.server) this.exit = { code, signal }; });
        await waitFor('GET /api/health', async () => {
            assert.equal(this.exit, null, `stagecast exited early:\n${this.log}`);
            const res = await fetch(`${this.base}/api/health`);
            return res.ok;
        }, 20000);
    }

    // End the server with `signal` (SIGKILL: a crash, no goodbye to any
    // client) and wait until it is gone; the pages stay open.
    async kill(signal = 'SIGKILL') {
        this.server.kill(signal);
        await waitFor('stagecast to exit', () => this.exit !== null, 10000);
    }

    // A new server on the same ports and data (so the pages' tokens hold).
    async restart() {
        await this.spawnServer();
    }

    // sub: the user id (random when not given).
    async token(role, name, sub) {
        const args = ['token', '--data', this.dataDir, '--room', this.room, '--role', role];
        if (name) args.push('--name', name);
        if (sub) args.push('--sub', sub);
        const { stdout } = await run(this.bin, args);
        const lines = stdout.trim().split('\n');
        return lines[lines.length - 1].trim();
    }

    // extra: more #fragment parameters, e.g. 'codec=h264'.
    async open(path, role, label, extra = '') {
        const context = await this.browser.newContext();
        const page = await context.newPage();
        this.watch(page, label);
        const tok = await this.token(role, label);
        await page.goto(`${this.base}/${path}#room=${this.room}&token=${tok}${extra ? `&${extra}` : ''}`);
        return page;
    }

    // A token with chosen permissions (the CLI gives each role its
    // defaults only), e.g. an assistant: a viewer granted `moderate`.  It is
    // signed with the key in DATA/secret, found by checking which reading
    // of the file reproduces a CLI-made token's signature.
    async tokenWithPerms(role, name, perms, sub) {
        const probe = await this.token(role, name);
        const [head, body, sig] = probe.split('.');
        const raw = readFileSync(join(this.dataDir, 'secret'));
        const text = raw.toString('latin1').trim();
        const keys = [raw, Buffer.from(text, 'latin1')];
        if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) keys.push(Buffer.from(text, 'hex'));
        const b64 = (buf) => Buffer.from(buf).toString('base64url');
        const sign = (key, input) => createHmac('sha256', key).update(input).digest('base64url');
        const key = keys.find((k) => sign(k, `${head}.${body}`) === sig);
        assert.ok(key, 'cannot recover the signing key from DATA/secret');
        const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
        claims.perms = perms;
        if (sub) claims.sub = sub;
        const payload = b64(JSON.stringify(claims));
        return `${head}.${payload}.${sign(key, `${head}.${payload}`)}`;
    }

    // Page errors fail the test (see pageErrors); the page's console is
    // kept (the last 50 lines) so a failing test can say what the page saw.
    watch(page, label) {
        page.on('pageerror', (err) => this.pageErrors.push(`${label}: ${err.message}`));
        const lines = [];
        page.on('console', (msg) => {
            lines.push(`${new Date().toISOString().slice(11, 23)} ${msg.type()}: ${msg.text()}`);
            if (lines.length > 50) lines.shift();
        });
        page.consoleLines = lines;
    }

    // A page in a fresh browser context (options: newContext's), watched
    // (see watch()), its confirmations accepted.
    async newPage(label, options = {}) {
        const context = await this.browser.newContext(options);
        const page = await context.newPage();
        this.watch(page, label);
        page.on('dialog', (d) => d.accept());
        this.pages.push(page);
        return page;
    }

    // A test file's end: the server stopped (SIGTERM must end it), no page
    // error; when a step failed, what each open page of newPage()'s shows
    // and the server's log first.
    async finish(failed) {
        if (failed) {
            for (const p of this.pages.filter((p) => !p.isClosed())) console.log(await Platform.describe(p));
        }
        const exit = await this.stop();
        if (failed) console.log(`--- stagecast log (tail) ---\n${this.log.slice(-15000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
        assert.deepEqual(this.pageErrors, []);
    }

    // What a page shows and logged, for a failure message.
    static async describe(page) {
        const shown = await page.evaluate(() => ({
            state: document.body.dataset.state,
            status: document.querySelector('#status')?.textContent ?? null,
            error: document.querySelector('#error')?.textContent ?? null,
            pc: window.stagecast?.pc ? window.stagecast.pc.connectionState : null,
        })).catch((err) => ({ unreadable: err.message }));
        return `page ${JSON.stringify(shown)}; console:\n${(page.consoleLines || []).join('\n')}`;
    }

    // A page of path for the user who ({sub, name}) with a token of role,
    // in a fresh context (newPage), instrumented before its scripts run
    // (instrument(init)).
    async openAs(path, role, who, init = {}) {
        const page = await this.newPage(who.name);
        await page.addInitScript(instrument, init);
        const token = await this.token(role, who.name, who.sub);
        await page.goto(`${this.base}/${path}#room=${this.room}&token=${token}`);
        return page;
    }

    // open() with a token made elsewhere (tokenWithPerms).
    async openWithToken(path, token, label, extra = '') {
        const context = await this.browser.newContext();
        const page = await context.newPage();
        this.watch(page, label);
        await page.goto(`${this.base}/${path}#room=${this.room}&token=${token}${extra ? `&${extra}` : ''}`);
        return page;
    }

    // An admin token for every room (GET /api/stats and the like).
    async adminToken() {
        if (!this.admin) {
            const { stdout } = await run(this.bin, ['token', '--data', this.dataDir, '--room', '*', '--role', 'admin']);
            this.admin = stdout.trim().split('\n').pop().trim();
        }
        return this.admin;
    }

    // GET /api/stats as the admin: the server's counters.
    async stats() {
        const res = await fetch(`${this.base}/api/stats`, { headers: { Authorization: `Bearer ${await this.adminToken()}` } });
        assert.equal(res.status, 200, `GET /api/stats: ${res.status}`);
        return res.json();
    }

    // SIGTERM must end the server by itself; returns its exit.
    async stop() {
        if (this.browser) await this.browser.close().catch(() => {});
        if (this.server && this.exit === null) {
            this.server.kill('SIGTERM');
            const ok = await waitFor('stagecast to exit', () => this.exit !== null, 10000).catch(() => false);
            if (!ok) this.server.kill('SIGKILL');
        }
        if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
        return this.exit;
    }
}

// Runs in every page before its own scripts (page.addInitScript(instrument,
// { rgb, record })): counts RTCPeerConnections (window.__pcs), records the
// session of every `answer` with the type of request it answers
// (window.__answers: {kind, session}), keeps the requests of the types in
// `record` with their replies (window.__requests: {type, msg, reply}, reply
// {type, code} once it came), and (rgb given) makes the camera a canvas of
// that colour with a moving square.  window.__colorOf(video) reads the
// colour at the top left of a video's current frame.
export function instrument({ rgb = null, record = [] } = {}) {
    const NativePC = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends NativePC {
        constructor(...args) {
            super(...args);
            window.__pcs.push(this);
        }
    };
    const NativeWS = window.WebSocket;
    const kinds = new Map();
    const kept = new Map();
    window.__answers = [];
    window.__requests = [];
    window.WebSocket = class extends NativeWS {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', (ev) => {
                let m;
                try { m = JSON.parse(ev.data); } catch { return; }
                if (m?.type === 'answer') window.__answers.push({ kind: kinds.get(m.re) ?? null, session: m.session });
                const r = m?.re !== undefined && kept.get(m.re);
                if (r) r.reply = { type: m.type, code: m.code ?? null };
            });
        }

        send(data) {
            try {
                const m = JSON.parse(data);
                if (['publish', 'subscribe', 'group_watch'].includes(m.type)) kinds.set(m.id, m.type);
                if (record.includes(m.type)) {
                    const { sdp, ...msg } = m;
                    const r = { type: m.type, msg, reply: null };
                    window.__requests.push(r);
                    if (m.id !== undefined) kept.set(m.id, r);
                }
            } catch { /* not ours to judge */ }
            return super.send(data);
        }
    };
    window.__colorOf = (video) => {
        const c = document.createElement('canvas');
        c.width = 32;
        c.height = 18;
        const ctx = c.getContext('2d', { willReadFrequently: true });
        ctx.drawImage(video, 0, 0, 32, 18);
        return [...ctx.getImageData(4, 4, 1, 1).data.slice(0, 3)];
    };
    if (!rgb) return;
    const md = navigator.mediaDevices;
    const real = md.getUserMedia.bind(md);
    md.getUserMedia = async (constraints) => {
        const stream = await real(constraints);
        if (!constraints?.video) return stream;
        const canvas = document.createElement('canvas');
        canvas.width = 320;
        canvas.height = 180;
        const ctx = canvas.getContext('2d');
        let x = 0;
        const draw = () => {
            ctx.fillStyle = `rgb(${rgb.join(',')})`;
            ctx.fillRect(0, 0, 320, 180);
            ctx.fillStyle = '#fff';
            ctx.fillRect(x, 140, 24, 24);
            x = (x + 6) % 296;
        };
        draw();
        setInterval(draw, 50);
        for (const t of stream.getVideoTracks()) {
            stream.removeTrack(t);
            t.stop();
        }
        stream.addTrack(canvas.captureStream(20).getVideoTracks()[0]);
        return stream;
    };
}

// The breakout-group tests' class: a trainer and four participants, each
// participant's camera a canvas of its own colour (instrument's rgb).
export const TRAINER = { sub: 'trainer-1', name: 'Trainer' };
export const PEOPLE = [
    { sub: 'ana-1', name: 'Ana', rgb: [220, 40, 40] },
    { sub: 'ben-1', name: 'Ben', rgb: [200, 40, 200] },
    { sub: 'cem-1', name: 'Cem', rgb: [40, 60, 230] },
    { sub: 'dia-1', name: 'Dia', rgb: [230, 210, 40] },
];

// Whether a colour read with __colorOf is near rgb.
export const near = (a, b) => Array.isArray(a) && a.every((v, i) => Math.abs(v - b[i]) <= 60);

// Go live on the presenter page and wait for it.
export async function goLive(page) {
    await waitFor('local preview', () => page.evaluate(() => {
        const v = document.querySelector('#preview');
        return v.srcObject && v.videoWidth > 0;
    }));
    await page.getByRole('button', { name: 'Go live' }).click();
    await waitFor('presenter live', async () => {
        const state = await page.evaluate(() => document.body.dataset.state);
        assert.notEqual(state, 'error', await page.textContent('#error'));
        return state === 'live';
    });
}

// Video frames a viewer page has decoded so far.
export const framesDecoded = (page) => page.evaluate(async () =>
    (await window.stagecast.stats()).video.reduce((n, v) => n + (v.framesDecoded || 0), 0));

// The value of a datetime-local input `minutes` from now, in the page's
// time zone.
export const localInputIn = (page, minutes) => page.evaluate((m) => {
    const d = new Date(Date.now() + m * 60000);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}, minutes);

// The console (admin.html) on its Events tab, the events listed.
export async function openEventsTab(page, base, adminToken) {
    await page.goto(`${base}/admin.html#token=${adminToken}`);
    await page.getByRole('tab', { name: 'Events' }).click();
    await waitFor('the events listed', () => page.evaluate(() =>
        document.querySelector('#panel-events').dataset.state === 'ready'), 60000);
}

// The #fragment that makes the presenter page keep its picture size when
// short of CPU (it lowers the frame rate instead), so a busy machine does
// not shrink every simulcast layer below its nominal width.
export const KEEP_SIZE = 'degrade=maintain-resolution';

// What a presenter page sends now per simulcast rid, from its video
// sender's outbound-rtp stats: { l: { width, height, framesSent, bytesSent,
// timestamp, active }, m: ..., h: ... }.  Tests compare what a viewer
// decodes with these rather than with the rids' nominal sizes.
export const sentLayers = (page) => page.evaluate(async () => {
    const sender = window.stagecast.pc?.getSenders().find((s) => s.track?.kind === 'video');
    const out = {};
    if (!sender) return out;
    const active = Object.fromEntries(sender.getParameters().encodings.map((e) => [e.rid, e.active !== false]));
    (await sender.getStats()).forEach((r) => {
        if (r.type === 'outbound-rtp' && r.rid) {
            out[r.rid] = { width: r.frameWidth ?? 0, height: r.frameHeight ?? 0, framesSent: r.framesSent ?? 0,
                           bytesSent: r.bytesSent ?? 0, timestamp: r.timestamp,
                           active: active[r.rid] ?? null };
        }
    });
    return out;
});

// Wait until the presenter has sent `n` more frames on layer `rid`: a
// stretch of media however fast or slow this machine makes it.  Returns
// that layer's stats at the end.
export async function sendsFrames(page, rid, n, timeoutMs = 60000) {
    const start = (await sentLayers(page))[rid]?.framesSent ?? 0;
    return waitFor(`${n} more frames sent on layer ${rid}`, async () => {
        const now = (await sentLayers(page))[rid];
        return now && now.framesSent >= start + n ? now : null;
    }, timeoutMs, 250);
}

// Wait until a publishing page has sent `seconds` more of audio: Chrome's
// Opus sends one packet per 20 ms, silence included, so its packet count is
// media time, however fast or slow this machine runs.
export async function sendsAudio(page, seconds, timeoutMs = 60000) {
    const sent = () => page.evaluate(async () => {
        let n = 0;
        (await window.stagecast.pc.getStats()).forEach((r) => {
            if (r.type === 'outbound-rtp' && r.kind === 'audio') n += r.packetsSent ?? 0;
        });
        return n;
    });
    const start = await sent();
    await waitFor(`${seconds} s more of audio sent`, async () => (await sent()) >= start + seconds * 50,
        timeoutMs, 250);
}

// The text of every element matching selector, as a person reads it.
export function texts(page, selector) {
    return page.$$eval(selector, (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));
}

// Poll until some element matching selector reads a text containing
// `needle`; returns that text.
export function waitForText(page, selector, needle, what, timeoutMs) {
    return waitFor(what || `"${needle}" in ${selector}`, async () => {
        const all = await texts(page, selector);
        return all.find((t) => t.includes(needle)) || null;
    }, timeoutMs);
}

// Another machine for a test that needs one beyond loopback: a network
// namespace joined to the runner's by a veth pair (hostIp/24 on this side,
// peerIp/24 on that side), and Chromium launched inside it.  Needs root in
// the runner's namespace (tests/browser/run).
//   const other = await new PeerNamespace('https', '10.91.0.1', '10.91.0.2').create();
//   const browser = await other.launchChromium(dir);  ...  await other.remove();
// The candidate pair carrying a peer connection's media (pcExpr: where the
// page keeps it, e.g. 'window.stagecast.pc'): each side's protocol,
// candidate type and address, and the bytes it carried.
export function selectedPair(page, pcExpr) {
    return page.evaluate(async (expr) => {
        const pc = new Function(`return ${expr}`)();
        const stats = await pc.getStats();
        let selected = null;
        stats.forEach((r) => {
            if (r.type === 'transport' && r.selectedCandidatePairId) selected = stats.get(r.selectedCandidatePairId);
        });
        if (!selected) stats.forEach((r) => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') selected = r; });
        const side = (c) => c && { protocol: c.protocol, type: c.candidateType, address: c.address, port: c.port,
            tcpType: c.tcpType, relayProtocol: c.relayProtocol };
        return { local: side(selected && stats.get(selected.localCandidateId)),
            remote: side(selected && stats.get(selected.remoteCandidateId)),
            bytesSent: selected?.bytesSent, bytesReceived: selected?.bytesReceived };
    }, pcExpr);
}

export class PeerNamespace {
    constructor(tag, hostIp, peerIp) {
        this.ns = `sc-${tag}-${process.pid}`;
        this.veth = `sc${tag[0]}h${process.pid % 100000}`;
        this.vethPeer = `sc${tag[0]}p${process.pid % 100000}`;
        this.hostIp = hostIp;
        this.peerIp = peerIp;
    }

    async create() {
        const ip = (...a) => run('ip', a);
        await ip('netns', 'add', this.ns);
        await ip('link', 'add', this.veth, 'type', 'veth', 'peer', 'name', this.vethPeer);
        await ip('link', 'set', this.vethPeer, 'netns', this.ns);
        await ip('addr', 'add', `${this.hostIp}/24`, 'dev', this.veth);
        await ip('link', 'set', this.veth, 'up');
        await ip('-n', this.ns, 'addr', 'add', `${this.peerIp}/24`, 'dev', this.vethPeer);
        await ip('-n', this.ns, 'link', 'set', this.vethPeer, 'up');
        await ip('-n', this.ns, 'link', 'set', 'lo', 'up');
        return this;
    }

    // A Chromium whose only way out is the veth pair (a wrapper script in
    // dir starts it under `ip netns exec`), with CHROMIUM_ARGS and extraArgs.
    launchChromium(dir, extraArgs = []) {
        const wrapper = join(dir, `chromium-in-${this.ns}`);
        writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${this.ns} ${CHROMIUM} "$@"\n`);
        chmodSync(wrapper, 0o755);
        return chromium.launch({ executablePath: wrapper, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
    }

    async remove() {
        await run('ip', ['link', 'del', this.veth]).catch(() => {});
        await run('ip', ['netns', 'del', this.ns]).catch(() => {});
    }
}

// A child process whose output goes to onData and whose end is kept in
// p.exitInfo ({code, signal}; null while it runs).
export function spawnWatched(cmd, args, onData) {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.exitInfo = null;
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('exit', (code, signal) => { p.exitInfo = { code, signal }; });
    return p;
}

// SIGTERM every process still running and wait for them (SIGKILL after
// 15 s).
export async function stopAll(procs) {
    for (const p of procs) if (p.exitInfo === null) p.kill('SIGTERM');
    await waitFor('the processes to exit', () => procs.every((p) => p.exitInfo !== null), 15000)
        .catch(() => procs.forEach((p) => p.kill('SIGKILL')));
}

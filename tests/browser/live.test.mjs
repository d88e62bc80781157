// End-to-end: a real Chromium presents to a real stagecast server and two
// Chromium viewers watch.  Run through tests/browser/run, which puts it in
// a network namespace with only loopback.
//
// Env: STAGECAST_BIN (default build/stagecast, then build/signaling/stagecast),
//      CHROMIUM (default /usr/bin/chromium),
//      STAGECAST_SCREENSHOTS (a directory: save screenshots there),
//      STAGECAST_LOG (print the server log even when all passes).

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, failureTracking, findBinary, freePort, waitFor } from './harness.mjs';

const ROOM = 'browser-test';
const run = promisify(execFile);
const freeTcpPort = () => freePort('tcp');
const freeUdpPort = () => freePort('media');

const sum = (list, key) => list.reduce((acc, s) => acc + (s[key] || 0), 0);

describe('presenter to two viewers through stagecast', { timeout: 240000 }, () => {
    const bin = findBinary();
    const pageErrors = [];
    let dataDir;
    let server;
    let serverLog = '';
    let serverExit = null;
    let base;
    let browser;
    let presenter;
    let viewers = [];

    const steps = failureTracking();
    const step = steps.step;

    async function token(role) {
        const { stdout } = await run(bin, ['token', '--data', dataDir, '--room', ROOM, '--role', role]);
        const lines = stdout.trim().split('\n');
        const tok = lines[lines.length - 1].trim();
        assert.match(tok, /^[\w-]+\.[\w-]+\.[\w-]+$/, `stagecast token printed no JWT: ${stdout}`);
        return tok;
    }

    async function openPage(path, role, label) {
        const context = await browser.newContext();
        const page = await context.newPage();
        page.on('pageerror', (err) => pageErrors.push(`${label}: ${err.message}`));
        page.on('console', (msg) => {
            if (msg.type() === 'error') console.log(`[${label} console.error] ${msg.text()}`);
        });
        const tok = await token(role);
        await page.goto(`${base}/${path}#room=${ROOM}&token=${tok}`);
        return page;
    }

    function assertServerUp() {
        assert.equal(serverExit, null, `stagecast exited early (${JSON.stringify(serverExit)}):\n${serverLog}`);
    }

    let port;
    let udpPort;

    async function startServer() {
        serverExit = null;
        server = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--udp-port', String(udpPort),
            '--data', dataDir, '--drain-timeout', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
        const keep = (chunk) => {
            serverLog += chunk.toString();
            if (serverLog.length > 200000) serverLog = serverLog.slice(-100000);
        };
        server.stdout.on('data', keep);
        server.stderr.on('data', keep);
        const proc = server;
        proc.on('exit', (code, signal) => {
            if (proc === server) serverExit = { code, signal };
        });
        await waitFor('GET /api/health', async () => {
            assertServerUp();
            const res = await fetch(`${base}/api/health`);
            return res.ok && (await res.json()).status === 'ok';
        }, 20000);
    }

    // SIGTERM must end the server by itself, without a crash.
    async function stopServer() {
        server.kill('SIGTERM');
        const stopped = await waitFor('stagecast to exit after SIGTERM', () => serverExit !== null, 10000)
            .catch(() => false);
        if (!stopped) server.kill('SIGKILL');
        assert.ok(stopped, 'stagecast did not exit within 10 s of SIGTERM');
        assert.ok(serverExit.code === 0 || serverExit.signal === 'SIGTERM',
            `stagecast stopped badly: ${JSON.stringify(serverExit)}`);
    }

    before(async () => {
        assert.ok(existsSync(bin), `no stagecast binary at ${bin} (build it or set STAGECAST_BIN)`);
        dataDir = mkdtempSync(join(tmpdir(), 'stagecast-browser-'));
        port = await freeTcpPort();
        udpPort = await freeUdpPort();
        base = `http://127.0.0.1:${port}`;
        await startServer();
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    });

    after(async () => {
        if (browser) await browser.close().catch(() => {});
        if (server && serverExit === null) await stopServer().catch((err) => console.log(err.message));
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
        if ((steps.failed || process.env.STAGECAST_LOG) && serverLog) console.log(`--- stagecast log (tail) ---\n${serverLog.slice(-20000)}`);
    });

    step('the pages load without errors', async () => {
        const res = await fetch(`${base}/`);
        assert.equal(res.status, 200);
        for (const path of ['presenter.html', 'viewer.html', 'js/signaling.js', 'css/stagecast.css']) {
            const r = await fetch(`${base}/${path}`);
            assert.equal(r.status, 200, `GET /${path}`);
        }
        // Module scripts are refused unless served with a JavaScript type.
        const js = await fetch(`${base}/js/util.js`);
        assert.match(js.headers.get('content-type') || '', /javascript/);
    });

    step('the presenter goes live', async () => {
        presenter = await openPage('presenter.html', 'presenter', 'presenter');
        // The preview shows the fake camera before anything is sent.
        await waitFor('local preview', () => presenter.evaluate(() => {
            const v = document.querySelector('#preview');
            return v.srcObject && v.videoWidth > 0;
        }));
        await presenter.getByRole('button', { name: 'Go live' }).click();
        await waitFor('presenter state live', async () => {
            const state = await presenter.evaluate(() => document.body.dataset.state);
            assert.notEqual(state, 'error', await presenter.textContent('#error'));
            return state === 'live';
        });
        assert.equal(await presenter.isVisible('#live-badge'), true);
        assertServerUp();
    });

    step('two viewers receive audio and video', async () => {
        viewers = [
            await openPage('viewer.html', 'viewer', 'viewer-1'),
            await openPage('viewer.html', 'viewer', 'viewer-2'),
        ];
        for (const [i, page] of viewers.entries()) {
            await waitFor(`viewer-${i + 1} state live`, async () => {
                const state = await page.evaluate(() => document.body.dataset.state);
                assert.notEqual(state, 'error', await page.textContent('#error'));
                return state === 'live';
            });
        }
        const before = await Promise.all(viewers.map((p) => p.evaluate(() => window.stagecast.stats())));
        for (const [i, page] of viewers.entries()) {
            const b = before[i];
            const label = `viewer-${i + 1}`;
            const now = () => page.evaluate(() => window.stagecast.stats());
            await waitFor(`${label}: framesDecoded rising from ${sum(b.video, 'framesDecoded')}`, async () =>
                sum((await now()).video, 'framesDecoded') > sum(b.video, 'framesDecoded'), 20000);
            await waitFor(`${label}: audio packetsReceived rising from ${sum(b.audio, 'packetsReceived')}`, async () =>
                sum((await now()).audio, 'packetsReceived') > sum(b.audio, 'packetsReceived'), 20000);
            assert.ok((await now()).video.some((v) => v.frameWidth > 0 && v.frameHeight > 0),
                `${label}: no decoded resolution`);
            // What a person sees: the LIVE indicator, a playing tile and the stats overlay.
            // (The page shows LIVE while frames advance: on a starved
            // machine a second without a new frame hides it for a moment.)
            await waitFor(`${label}: LIVE indicator shown`, () => page.isVisible('#live-indicator'), 20000);
            await waitFor(`${label}: main tile playing`, () => page.evaluate(() => {
                const v = document.querySelector('.tile-main video');
                return !!v && v.videoWidth > 0 && !v.paused;
            }), 20000);
            // Autoplay starts muted; the Unmute button turns the sound on.
            assert.equal(await page.evaluate(() => document.querySelector('.tile-main video').muted), true);
            await page.getByRole('button', { name: 'Unmute' }).click();
            assert.equal(await page.evaluate(() => document.querySelector('.tile-main video').muted), false,
                `${label}: Unmute left the video muted`);
            await waitFor(`${label} stats overlay`, async () =>
                /\d+×\d+/.test(await page.textContent('.tile-main .stats [data-stat="resolution"]').catch(() => '')));
        }
        assertServerUp();
    });

    step('the presenter counts two viewers, then one', async () => {
        await waitFor('viewer count 2', async () =>
            (await presenter.textContent('#viewer-count')).trim() === '2');
        await viewers[0].context().close();
        viewers.shift();
        await waitFor('viewer count 1', async () =>
            (await presenter.textContent('#viewer-count')).trim() === '1');
        assertServerUp();
    });

    step('presenter and viewer come back after a server restart', async () => {
        await stopServer();
        await startServer();
        await waitFor('presenter live again', async () =>
            (await presenter.evaluate(() => document.body.dataset.state)) === 'live', 60000);
        const page = viewers[0];
        await waitFor('viewer live again', async () =>
            (await page.evaluate(() => document.body.dataset.state)) === 'live', 60000);
        const b = await page.evaluate(() => window.stagecast.stats());
        await waitFor('video resumed', async () => {
            const a = await page.evaluate(() => window.stagecast.stats());
            return sum(a.video, 'framesDecoded') > sum(b.video, 'framesDecoded');
        }, 20000);
        await waitFor('audio resumed', async () => {
            const a = await page.evaluate(() => window.stagecast.stats());
            return sum(a.audio, 'packetsReceived') > sum(b.audio, 'packetsReceived');
        }, 20000);
        await waitFor('viewer count 1 after restart', async () =>
            (await presenter.textContent('#viewer-count')).trim() === '1');
        assertServerUp();
    });

    step('a cohost joins the stage in slot 1 and leaves again', async () => {
        const cohost = await openPage('presenter.html', 'cohost', 'cohost');
        await waitFor('cohost preview', () => cohost.evaluate(() => document.querySelector('#preview').videoWidth > 0));
        await cohost.getByRole('button', { name: 'Go live' }).click();
        await waitFor('cohost live', async () =>
            (await cohost.evaluate(() => document.body.dataset.state)) === 'live');
        const page = viewers[0];
        await waitFor('two tiles on the viewer', async () =>
            (await page.locator('.tile').count()) === 2);
        // Frames decoded on the video m-line of pair 1 (stage slot 1).
        const slotFrames = () => page.evaluate(async () => {
            const mid = window.stagecast.pc.getTransceivers()[3].mid;
            const s = await window.stagecast.stats();
            return s.video.find((v) => v.mid === mid)?.framesDecoded ?? 0;
        });
        const b = await waitFor('slot 1 video decoding', slotFrames);
        await waitFor('slot 1 video going on', async () => (await slotFrames()) > b, 20000);
        assert.equal(await page.locator('.tile-main').count(), 1, 'exactly one main tile');
        if (process.env.STAGECAST_SCREENSHOTS) {
            await page.screenshot({ path: join(process.env.STAGECAST_SCREENSHOTS, 'viewer-two-slots.png') });
            await presenter.screenshot({ path: join(process.env.STAGECAST_SCREENSHOTS, 'presenter.png') });
        }
        await cohost.context().close();
        await waitFor('one tile again', async () => (await page.locator('.tile').count()) === 1);
        await waitFor('the viewer live on the presenter alone', async () =>
            (await page.evaluate(() => document.body.dataset.state)) === 'live', 20000);
        assertServerUp();
    });

    step('the remaining viewer sees the presenter leave', async () => {
        await presenter.getByRole('button', { name: 'Stop' }).click();
        assert.equal(await presenter.evaluate(() => document.body.dataset.state), 'idle');
        await waitFor('viewer state waiting', async () =>
            (await viewers[0].evaluate(() => document.body.dataset.state)) === 'waiting');
        assertServerUp();
    });

    step('no page raised an error', () => {
        assert.deepEqual(pageErrors, []);
    });
});

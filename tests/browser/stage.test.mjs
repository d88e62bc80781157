// End-to-end mic-linking: a viewer raises a hand, the host's page invites
// them, they accept and publish the fake camera, a second viewer sees their
// video decoding, the host mutes and then removes them.  Plus the refusals
// at the WebSocket level (a viewer inviting, accepting uninvited, a full
// stage).  Run through tests/browser/run (a network namespace with only
// loopback).  The server runs with --max-publishers 2: the host and one
// guest fill the stage.
//
// Env: STAGECAST_BIN, CHROMIUM, STAGECAST_SCREENSHOTS, STAGECAST_LOG (as in
// live.test.mjs).

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, failureTracking, findBinary, freePort, sleep, waitFor } from './harness.mjs';

const ROOM = 'stage-test';
const STAGE_SIZE = 2;
const run = promisify(execFile);

// A bare WebSocket client living in a page (Node 20 has no WebSocket):
// join, then request/reply by id, keeping unsolicited messages in an inbox.
async function rawOpen(page, name, token) {
    return page.evaluate(async ({ name, token }) => {
        const ws = new WebSocket(`ws://${location.host}/ws`);
        const c = { ws, inbox: [], nextId: 1 };
        (window.rawClients ||= {})[name] = c;
        ws.onmessage = (ev) => c.inbox.push(JSON.parse(ev.data));
        await new Promise((res, rej) => {
            ws.onopen = res;
            ws.onerror = () => rej(new Error('WebSocket failed'));
        });
        ws.send(JSON.stringify({ type: 'join', token, id: 'join' }));
        for (let i = 0; i < 600; i++) {   // up to 30 s
            const m = c.inbox.find((x) => x.re === 'join');
            if (m) return m;
            await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error('no reply to join');
    }, { name, token });
}

async function rawRequest(page, name, msg) {
    return page.evaluate(async ({ name, msg }) => {
        const c = window.rawClients[name];
        const id = c.nextId++;
        c.ws.send(JSON.stringify({ ...msg, id }));
        for (let i = 0; i < 600; i++) {   // up to 30 s
            const m = c.inbox.find((x) => x.re === id);
            if (m) return m;
            await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`no reply to ${msg.type}`);
    }, { name, msg });
}

// The last unsolicited message of a type a raw client received.
function rawLast(page, name, type) {
    return page.evaluate(({ name, type }) => {
        const list = window.rawClients[name].inbox.filter((m) => m.type === type && m.re === undefined);
        return list.length ? list[list.length - 1] : null;
    }, { name, type });
}

describe('mic-linking: hand, invitation, guest on stage, removal', { timeout: 300000 }, () => {
    const bin = findBinary();
    const pageErrors = [];
    let dataDir;
    let server;
    let serverLog = '';
    let serverExit = null;
    let base;
    let browser;
    let host;
    let alice;      // viewer who goes on stage
    let bob;        // viewer who watches her

    const steps = failureTracking();
    const step = steps.step;

    async function token(role, name, sub) {
        const args = ['token', '--data', dataDir, '--room', ROOM, '--role', role];
        if (name) args.push('--name', name);
        if (sub) args.push('--sub', sub);
        const { stdout } = await run(bin, args);
        const lines = stdout.trim().split('\n');
        const tok = lines[lines.length - 1].trim();
        assert.match(tok, /^[\w-]+\.[\w-]+\.[\w-]+$/, `stagecast token printed no JWT: ${stdout}`);
        return tok;
    }

    async function openPage(path, role, name, sub) {
        const context = await browser.newContext();
        const page = await context.newPage();
        page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
        page.on('console', (msg) => {
            if (msg.type() === 'error') console.log(`[${name} console.error] ${msg.text()}`);
        });
        await page.goto(`${base}/${path}#room=${ROOM}&token=${await token(role, name, sub)}`);
        return page;
    }

    function assertServerUp() {
        assert.equal(serverExit, null, `stagecast exited early (${JSON.stringify(serverExit)}):\n${serverLog}`);
    }

    const state = (page) => page.evaluate(() => document.body.dataset.state);
    const stage = (page) => page.evaluate(() => document.body.dataset.stage);

    // framesDecoded on the video m-line of the slot that carries `user`.
    async function framesOf(page, user) {
        return page.evaluate(async (user) => {
            const sc = window.stagecast;
            const pub = sc.publishers.find((p) => p.user_id === user);
            if (!pub || !sc.pc) return -1;
            const mid = sc.pc.getTransceivers()[pub.slot * 2 + 1]?.mid;
            const s = await sc.stats();
            return s.video.find((v) => v.mid === mid)?.framesDecoded ?? 0;
        }, user);
    }

    before(async () => {
        assert.ok(existsSync(bin), `no stagecast binary at ${bin} (build it or set STAGECAST_BIN)`);
        dataDir = mkdtempSync(join(tmpdir(), 'stagecast-stage-'));
        const port = await freePort('tcp');
        const udpPort = await freePort('media');
        base = `http://127.0.0.1:${port}`;
        server = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--udp-port', String(udpPort),
            '--data', dataDir, '--drain-timeout', '0', '--max-publishers', String(STAGE_SIZE)], { stdio: ['ignore', 'pipe', 'pipe'] });
        const keep = (chunk) => {
            serverLog += chunk.toString();
            if (serverLog.length > 200000) serverLog = serverLog.slice(-100000);
        };
        server.stdout.on('data', keep);
        server.stderr.on('data', keep);
        server.on('exit', (code, signal) => { serverExit = { code, signal }; });
        await waitFor('GET /api/health', async () => {
            assertServerUp();
            const res = await fetch(`${base}/api/health`);
            return res.ok;
        }, 20000);
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    });

    after(async () => {
        if (browser) await browser.close().catch(() => {});
        if (server && serverExit === null) {
            server.kill('SIGTERM');
            const stopped = await waitFor('exit', () => serverExit !== null, 10000).catch(() => false);
            if (!stopped) server.kill('SIGKILL');
        }
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
        if ((steps.failed || process.env.STAGECAST_LOG) && serverLog) console.log(`--- stagecast log (tail) ---\n${serverLog.slice(-20000)}`);
    });

    step('the host goes live and two viewers watch', async () => {
        host = await openPage('presenter.html', 'presenter', 'Hosta', 'host-1');
        await waitFor('host preview', () => host.evaluate(() => document.querySelector('#preview').videoWidth > 0));
        await host.getByRole('button', { name: 'Go live' }).click();
        await waitFor('host live', async () => {
            const s = await state(host);
            assert.notEqual(s, 'error', await host.textContent('#error'));
            return s === 'live';
        });
        // The stage panel is there for a moderator, empty.
        assert.equal(await host.isVisible('#stage-admin'), true);
        assert.equal(await host.isVisible('#hands-empty'), true);
        alice = await openPage('viewer.html', 'viewer', 'Alice', 'alice-1');
        bob = await openPage('viewer.html', 'viewer', 'Bob', 'bob-1');
        for (const [label, page] of [['alice', alice], ['bob', bob]]) {
            await waitFor(`${label} live`, async () => {
                const s = await state(page);
                assert.notEqual(s, 'error', await page.textContent('#error'));
                return s === 'live';
            });
            assert.equal(await stage(page), 'audience');
        }
        assertServerUp();
    });

    step('refusals at the WebSocket: a viewer cannot invite, mute or remove; nobody accepts uninvited', async () => {
        const carol = await token('viewer', 'Carol', 'carol-1');
        const joined = await rawOpen(bob, 'carol', carol);
        assert.equal(joined.type, 'joined');
        for (const msg of [
            { type: 'invite', user_id: 'bob-1' },
            { type: 'stage_mute', user_id: 'alice-1', audio: true },
            { type: 'stage_remove', user_id: 'alice-1' },
        ]) {
            const r = await rawRequest(bob, 'carol', msg);
            assert.equal(r.type, 'error', `${msg.type} by a viewer: ${JSON.stringify(r)}`);
            assert.equal(r.code, 'forbidden', `${msg.type} by a viewer: ${JSON.stringify(r)}`);
        }
        const acc = await rawRequest(bob, 'carol', { type: 'accept' });
        assert.equal(acc.type, 'error');
        assert.ok(['not-found', 'forbidden'].includes(acc.code), JSON.stringify(acc));
        const leave = await rawRequest(bob, 'carol', { type: 'leave_stage' });
        assert.equal(leave.code, 'not-found', JSON.stringify(leave));
        // A viewer's token grants no publish, and nothing above changed that.
        const pub = await rawRequest(bob, 'carol', { type: 'publish', sdp: 'v=0\r\n' });
        assert.equal(pub.code, 'forbidden', JSON.stringify(pub));
        // A moderator's bad requests: unknown user, missing user_id.
        const mod = await token('presenter', 'Moderator', 'mod-1');
        await rawOpen(bob, 'mod', mod);
        const hands = await rawLast(bob, 'mod', 'hands');
        assert.deepEqual(hands?.queue, [], 'a moderator gets the (empty) hand queue on join');
        assert.equal((await rawRequest(bob, 'mod', { type: 'invite', user_id: 'nobody' })).code, 'not-found');
        assert.equal((await rawRequest(bob, 'mod', { type: 'invite' })).code, 'bad-json');
        assert.equal((await rawRequest(bob, 'mod', { type: 'stage_mute', user_id: 'alice-1' })).code, 'bad-json');
        assert.equal((await rawRequest(bob, 'mod', { type: 'stage_remove', user_id: 'alice-1' })).code, 'not-found');
        assertServerUp();
    });

    step('Alice raises a hand and the host sees it', async () => {
        await alice.getByRole('button', { name: 'Raise hand' }).click();
        await waitFor('alice stage state hand', async () => (await stage(alice)) === 'hand');
        await waitFor('hand on the host page', async () =>
            (await host.locator('#hands li', { hasText: 'Alice' }).count()) === 1);
        // The raw moderator connection got the live update too; a viewer never does.
        const hands = await waitFor('hands update', () => rawLast(bob, 'mod', 'hands').then((h) => h?.queue?.length === 1 && h));
        assert.equal(hands.queue[0].user_id, 'alice-1');
        assert.equal(hands.queue[0].name, 'Alice');
        assert.equal(typeof hands.queue[0].since, 'number');
        assert.equal(await rawLast(bob, 'carol', 'hands'), null, 'a viewer received the hand queue');
        // The hand can be lowered and raised again.
        await alice.getByRole('button', { name: 'Lower hand' }).click();
        await waitFor('hand gone from the host page', async () =>
            (await host.locator('#hands li').count()) === 0);
        // Raising again at once is refused (a toggling loop would flood the
        // host).  "At once" must not depend on how fast this machine got
        // here: if more than a second has passed, raise and lower once more,
        // then try again right after the lowering.
        const again = await alice.evaluate(async () => {
            const sig = window.stagecast.signaling;
            const code = (p) => p.then((m) => m.type, (e) => e.code);
            if ((await code(sig.request({ type: 'raise_hand' }))) === 'hand')
                await sig.request({ type: 'lower_hand' });
            return code(sig.request({ type: 'raise_hand' }));
        });
        assert.equal(again, 'rate-limited');
        await waitFor('no hand on the host page', async () =>
            (await host.locator('#hands li').count()) === 0);
        // ...and allowed a second later.
        await sleep(1100);
        await alice.getByRole('button', { name: 'Raise hand' }).click();
        await waitFor('hand back on the host page', async () =>
            (await host.locator('#hands li', { hasText: 'Alice' }).count()) === 1);
    });

    step('the host invites, Alice accepts and goes on stage with her camera', async () => {
        await host.getByRole('button', { name: 'Invite Alice on stage' }).click();
        await waitFor('invitation on Alice\'s page', async () =>
            (await stage(alice)) === 'invited' && alice.isVisible('#invitation'));
        assert.match(await alice.textContent('#invitation-text'), /Hosta invites you/);
        await alice.getByRole('button', { name: 'Accept' }).click();
        await waitFor('alice on stage', async () => (await stage(alice)) === 'on-stage');
        await waitFor('alice publishing', async () => {
            const g = await alice.evaluate(() => window.stagecast.guest && {
                state: window.stagecast.guest.state, error: window.stagecast.guest.error });
            assert.notEqual(g?.state, 'error', g?.error);
            return g?.state === 'live';
        });
        assert.equal(await alice.isVisible('#leave-stage'), true);
        assert.equal(await alice.evaluate(() => document.querySelector('#self-preview').videoWidth > 0), true,
            'no own preview');
        await waitFor('Alice on the host\'s stage list', async () =>
            (await host.locator('#stage-members li', { hasText: 'Alice' }).count()) === 1);
        await waitFor('hand queue emptied', async () => (await host.locator('#hands li').count()) === 0);
        assertServerUp();
    });

    step('Bob sees Alice\'s video decoding in her own tile', async () => {
        await waitFor('two tiles on Bob\'s page', async () => (await bob.locator('.tile').count()) === 2);
        const b = await waitFor('Alice\'s slot decoding', async () => {
            const n = await framesOf(bob, 'alice-1');
            return n > 0 && n;
        });
        await waitFor(`Alice's frames rising on Bob's page (from ${b})`,
            async () => (await framesOf(bob, 'alice-1')) > b, 20000);
        // The stage message reached the audience: Bob knows who the guest is.
        const members = await bob.evaluate(() => window.stagecast.stage.members);
        assert.deepEqual(members.map((m) => m.user_id), ['alice-1']);
        assert.equal(await bob.locator('.tile-main').count(), 1, 'exactly one main tile');
        // On Alice's page her own tile shows her local camera, muted.
        const own = await alice.evaluate(() => {
            const t = document.querySelector('.tile-own video');
            return t && { muted: t.muted, local: t.srcObject === window.stagecast.guest.stream };
        });
        assert.deepEqual(own, { muted: true, local: true });
        if (process.env.STAGECAST_SCREENSHOTS) {
            await bob.screenshot({ path: join(process.env.STAGECAST_SCREENSHOTS, 'stage-viewer.png') });
            await host.screenshot({ path: join(process.env.STAGECAST_SCREENSHOTS, 'stage-host.png') });
            await alice.screenshot({ path: join(process.env.STAGECAST_SCREENSHOTS, 'stage-guest.png') });
        }
    });

    step('the stage is full: another invitation is refused with stage-full', async () => {
        const dave = await token('viewer', 'Dave', 'dave-1');
        await rawOpen(host, 'dave', dave);
        assert.equal((await rawRequest(host, 'dave', { type: 'raise_hand' })).type, 'hand');
        const r = await rawRequest(bob, 'mod', { type: 'invite', user_id: 'dave-1' });
        assert.equal(r.code, 'stage-full', JSON.stringify(r));
        assert.equal((await rawRequest(host, 'dave', { type: 'accept' })).code, 'not-found');
        assert.equal((await rawRequest(host, 'dave', { type: 'lower_hand' })).type, 'hand');
    });

    step('the host mutes Alice\'s microphone and her page obeys', async () => {
        await host.getByRole('button', { name: 'Mute Alice\'s microphone' }).click();
        await waitFor('Alice\'s audio track disabled', () => alice.evaluate(() => {
            const g = window.stagecast.guest;
            return g?.muted.audio && g.stream.getAudioTracks().every((t) => !t.enabled);
        }));
        assert.equal(await alice.isVisible('#mute-note'), true);
        assert.equal(await alice.evaluate(() => window.stagecast.guest.stream.getVideoTracks()[0].enabled), true);
        await waitFor('mute state broadcast', () => bob.evaluate(() =>
            window.stagecast.stage.members[0]?.audio_muted === true));
        await waitFor('host button flips to Unmute', async () =>
            (await host.getByRole('button', { name: 'Unmute Alice\'s microphone' }).count()) === 1);
        // Not only her page: the media plane drops what her (disabled,
        // still sending) microphone track sends, so a page that ignored the
        // order would be muted all the same.
        const { stdout } = await run(bin, ['token', '--data', dataDir, '--room', '*', '--role', 'admin']);
        const admin = stdout.trim().split('\n').pop().trim();
        const muted = async () => (await (await fetch(`${base}/api/stats`,
            { headers: { Authorization: `Bearer ${admin}` } })).json()).muted_packets;
        const before = await muted();
        await waitFor('the SFU dropping Alice\'s audio', async () => (await muted()) >= before + 20,
            20000, 500);
    });

    step('the host removes Alice: her tile goes, her page is back in the audience', async () => {
        await host.getByRole('button', { name: 'Remove Alice from the stage' }).click();
        await waitFor('Alice\'s tile gone on Bob\'s page', async () =>
            (await bob.locator('.tile').count()) === 1
            && !(await bob.evaluate(() => window.stagecast.publishers.some((p) => p.user_id === 'alice-1'))));
        await waitFor('Alice back in the audience', async () => (await stage(alice)) === 'audience');
        assert.equal(await alice.evaluate(() => window.stagecast.guest), null);
        assert.equal(await alice.isVisible('#leave-stage'), false);
        assert.equal(await alice.isVisible('#raise-hand'), true);
        await waitFor('host stage list empty', async () =>
            (await host.locator('#stage-members li').count()) === 0);
        // Her publish permission went with the seat.
        const r = await alice.evaluate(() => window.stagecast.signaling.request({ type: 'publish', sdp: 'v=0\r\n' })
            .then(() => 'accepted', (e) => e.code));
        assert.equal(r, 'forbidden');
        // She still watches the host.
        await waitFor('Alice still live', async () => (await state(alice)) === 'live');
        const b = await framesOf(alice, 'host-1');
        await waitFor('Alice still receiving the host', async () => (await framesOf(alice, 'host-1')) > b, 20000);
        assert.equal(await bob.evaluate(() => window.stagecast.stage.members.length), 0);
        assertServerUp();
    });

    step('Alice comes back audio only and leaves the stage herself', async () => {
        await alice.getByRole('button', { name: 'Raise hand' }).click();
        await host.getByRole('button', { name: 'Invite Alice on stage' }).click();
        await waitFor('second invitation', async () => (await stage(alice)) === 'invited');
        await alice.getByLabel('Audio only').check();
        await alice.getByRole('button', { name: 'Accept' }).click();
        await waitFor('alice live again', () => alice.evaluate(() => window.stagecast.guest?.state === 'live'));
        assert.equal(await alice.evaluate(() => window.stagecast.guest.stream.getVideoTracks().length), 0);
        await waitFor('audio-only guest on Bob\'s page', () => bob.evaluate(() =>
            window.stagecast.publishers.some((p) => p.user_id === 'alice-1')
            && window.stagecast.stage.members[0]?.audio_only === true));
        await alice.getByRole('button', { name: 'Leave stage' }).click();
        await waitFor('Alice left', async () => (await stage(alice)) === 'audience');
        await waitFor('her slot gone on Bob\'s page', async () =>
            !(await bob.evaluate(() => window.stagecast.publishers.some((p) => p.user_id === 'alice-1'))));
        assert.equal(await bob.evaluate(() => window.stagecast.stage.members.length), 0);
        assertServerUp();
    });

    step('the server stops cleanly with a hand raised and pages connected', async () => {
        await bob.getByRole('button', { name: 'Raise hand' }).click();
        await waitFor('Bob\'s hand on the host page', async () =>
            (await host.locator('#hands li', { hasText: 'Bob' }).count()) === 1);
        server.kill('SIGTERM');
        const stopped = await waitFor('stagecast to exit after SIGTERM', () => serverExit !== null, 10000)
            .catch(() => false);
        assert.ok(stopped, 'stagecast did not exit within 10 s of SIGTERM');
        assert.ok(serverExit.code === 0 || serverExit.signal === 'SIGTERM',
            `stagecast stopped badly: ${JSON.stringify(serverExit)}`);
    });

    step('no page raised an error', () => {
        assert.deepEqual(pageErrors, []);
    });
});

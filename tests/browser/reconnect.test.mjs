// Reconnecting (js/peer.js): a presenter and a viewer are live, the server
// dies, the pages say they are reconnecting and when, and once a server is
// back they publish and subscribe again by themselves and frames flow on a
// new session.  Then the server freezes (SIGSTOP) with its sockets open:
// the media stops without any goodbye, the pages notice the dead connection
// themselves, retry, and recover when it runs again (SIGCONT).

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, failureTracking, goLive, waitFor } from './harness.mjs';

const state = (page) => page.evaluate(() => document.body.dataset.state);
const statusText = (page) => page.textContent('#status');

// Video frames the viewer decoded on its current PeerConnection.
const framesDecoded = async (page) => {
    const s = await page.evaluate(() => window.stagecast.stats());
    return s.video.reduce((n, v) => n + (v.framesDecoded || 0), 0);
};

// Every text #status showed since, as a person watching it would have read
// them (a short retry wait may come and go between two polls).
const recordStatus = (page) => page.evaluate(() => {
    const el = document.querySelector('#status');
    window.statusSeen = [el.textContent];
    new MutationObserver(() => window.statusSeen.push(el.textContent))
        .observe(el, { childList: true, characterData: true, subtree: true });
});
const statusSeen = (page) => page.evaluate(() => window.statusSeen);

const RETRY = /reconnecting in \d+\.\d s$/;

describe('the pages reconnect by themselves', { timeout: 300000 }, () => {
    const platform = new Platform('reconnect-test');
    let presenter;
    let viewer;
    before(async () => { await platform.start(); });
    after(async () => {
        if (platform.exit === null) platform.server.kill('SIGCONT');
        const exit = await platform.stop();
        if (steps.failed) {
            for (const [label, page] of [['presenter', presenter], ['viewer', viewer]]) {
                if (page) console.log(`--- ${label}: ${await Platform.describe(page)}`);
            }
            console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-15000)}`);
        }
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
    });

    const steps = failureTracking();
    const step = steps.step;

    // The viewer live on a session other than `old`, frames rising on it.
    async function watchingAgain(old) {
        await waitFor('the presenter live again', async () => (await state(presenter)) === 'live', 90000);
        const session = await waitFor('a new viewer session', () =>
            viewer.evaluate((old) => window.stagecast.session !== old && window.stagecast.session, old), 90000);
        await waitFor('the viewer live again', async () => (await state(viewer)) === 'live', 60000);
        const from = await framesDecoded(viewer);
        await waitFor(`frames rising from ${from} on the new session`, async () =>
            (await framesDecoded(viewer)) > from && (await viewer.evaluate(() => window.stagecast.session)) === session,
        30000);
        assert.equal(await viewer.isVisible('#live-indicator'), true, 'no LIVE indicator after reconnecting');
        assert.equal(await viewer.isVisible('#error'), false, await viewer.textContent('#error'));
        return session;
    }

    step('a viewer watches the presenter', async () => {
        presenter = await platform.open('presenter.html', 'presenter', 'presenter');
        await goLive(presenter);
        viewer = await platform.open('viewer.html', 'viewer', 'viewer');
        await waitFor('the viewer live', async () => (await state(viewer)) === 'live', 60000);
        const from = await framesDecoded(viewer);
        await waitFor('frames rising', async () => (await framesDecoded(viewer)) > from, 30000);
    });

    step('the server is killed: both pages show when they retry, and come back with a new server', async () => {
        const old = await viewer.evaluate(() => window.stagecast.session);
        assert.ok(old, 'the viewer has no session');
        await platform.kill('SIGKILL');
        // Nobody answers now: the pages keep retrying and say so.
        for (const [label, page] of [['viewer', viewer], ['presenter', presenter]]) {
            const text = await waitFor(`${label} showing its retry`, async () => {
                const t = await statusText(page);
                return RETRY.test(t) && t;
            }, 30000);
            assert.notEqual(await state(page), 'live', `${label} still live: ${text}`);
        }
        assert.equal(await viewer.isVisible('#live-indicator'), false, 'LIVE shown without a server');
        // Still retrying a while later: a later attempt failed too and says so.
        const first = await statusText(viewer);
        await waitFor('the viewer retrying again', async () => {
            const t = await statusText(viewer);
            return RETRY.test(t) && t !== first;
        }, 30000);
        await platform.restart();
        await watchingAgain(old);
    });

    step('the server freezes: the pages find the connection dead, retry, and recover', async () => {
        const old = await viewer.evaluate(() => window.stagecast.session);
        await recordStatus(viewer);
        platform.server.kill('SIGSTOP');
        try {
            // The media stops with the sockets still open: ICE goes
            // disconnected, the grace period ends, and the page retries.
            await waitFor('the viewer retrying', async () => (await statusSeen(viewer)).some((t) => RETRY.test(t)),
                60000);
            assert.equal(await viewer.isVisible('#error'), false, await viewer.textContent('#error'));
        } finally {
            platform.server.kill('SIGCONT');
        }
        await watchingAgain(old);
        assert.deepEqual(platform.pageErrors, []);
    });
});

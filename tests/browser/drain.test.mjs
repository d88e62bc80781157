// Graceful drain through the pages: a presenter and a viewer are live, the
// server gets SIGTERM (started with --drain-timeout 120): both pages say the
// server is restarting soon, the viewer keeps decoding frames meanwhile, and
// a second SIGTERM stops the server at once.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, failureTracking, goLive, waitFor } from './harness.mjs';

const framesDecoded = async (page) => {
    const s = await page.evaluate(() => window.stagecast.stats());
    return s.video.reduce((n, v) => n + (v.framesDecoded || 0), 0);
};
const notice = (page) => page.evaluate(() => {
    const el = document.querySelector('#server-notice');
    return el.hidden ? null : el.textContent;
});

describe('the pages during a graceful drain', { timeout: 240000 }, () => {
    // The harness passes --drain-timeout 0; this later one wins.
    const platform = new Platform('drain-test', ['--drain-timeout', '120']);
    const steps = failureTracking();
    const step = steps.step;
    let presenter;
    let viewer;
    before(async () => { await platform.start(); });
    after(async () => {
        const exit = await platform.stop();
        if (steps.failed || process.env.STAGECAST_LOG) console.log(`--- server log ---\n${platform.log}`);
        assert.deepEqual(platform.pageErrors, []);
        assert.equal(exit?.code, 0, `server exit ${JSON.stringify(exit)}`);
    });

    step('presenter and viewer live', async () => {
        presenter = await platform.open('presenter.html', 'presenter', 'Presenter');
        await goLive(presenter);
        viewer = await platform.open('viewer.html', 'viewer', 'Viewer');
        await waitFor('the viewer decoding', async () => (await framesDecoded(viewer)) > 10, 60000);
        assert.equal(await notice(viewer), null);
    });

    step('SIGTERM: both pages say so, and the stream goes on', async () => {
        platform.server.kill('SIGTERM');
        for (const page of [presenter, viewer]) {
            const text = await waitFor('the restart notice', () => notice(page), 15000);
            assert.match(text, /restarting soon/);
        }
        const from = await framesDecoded(viewer);
        await waitFor('frames during the drain', async () => (await framesDecoded(viewer)) >= from + 30, 60000);
        assert.equal(platform.exit, null, 'the server waits for its sessions');
        const ready = await fetch(`${platform.base}/readyz`);
        assert.equal(ready.status, 503);
    });

    step('a second SIGTERM stops the server at once', async () => {
        platform.server.kill('SIGTERM');
        await waitFor('stagecast to exit', () => platform.exit !== null, 20000);
        assert.equal(platform.exit.code, 0);
    });
});

// H.264: a Chromium presenter preferring H.264 (packetization-mode 1)
// reaches viewers that decode it, through the same SFU path as VP8.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, goLive, waitFor } from './harness.mjs';

describe('an H.264 presenter', { timeout: 240000 }, () => {
    const platform = new Platform('h264-test');
    let failed = false;
    before(async () => { await platform.start(); });
    after(async () => {
        const exit = await platform.stop();
        if (failed) console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-15000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
        assert.deepEqual(platform.pageErrors, []);
    });

    test('viewers decode the H.264 stream', async () => {
        try {
            const presenter = await platform.open('presenter.html', 'presenter', 'presenter', 'codec=h264');
            await goLive(presenter);
            const sent = await waitFor('the presenter sending H.264', () => presenter.evaluate(async () => {
                const stats = await window.stagecast.pc.getStats();
                let mime = null;
                stats.forEach((r) => {
                    if (r.type === 'outbound-rtp' && r.kind === 'video' && r.codecId)
                        mime = stats.get(r.codecId)?.mimeType ?? mime;
                });
                return mime;
            }));
            assert.equal(sent.toLowerCase(), 'video/h264');
            const viewer = await platform.open('viewer.html', 'viewer', 'viewer');
            const first = await waitFor('viewer decoding H.264', async () => {
                const s = await viewer.evaluate(() => window.stagecast.stats());
                const v = s.video.find((x) => x.framesDecoded > 0);
                return v && v.codec?.toLowerCase() === 'video/h264' ? v : null;
            }, 60000, 500);
            const v = await waitFor('H.264 frames going on decoding', async () => {
                const later = await viewer.evaluate(() => window.stagecast.stats());
                const x = later.video.find((y) => y.mid === first.mid);
                return x && x.framesDecoded > first.framesDecoded ? x : null;
            }, 20000);
            assert.equal(v.codec?.toLowerCase(), 'video/h264');
            assert.ok(v.frameWidth > 0 && v.frameHeight > 0);
        } catch (err) {
            failed = true;
            throw err;
        }
    });
});

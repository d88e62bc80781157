// VP8 temporal layers: the presenter sends each simulcast layer with three
// temporal layers (L1T3); a viewer limited to the base temporal layer gets
// about a quarter of the frames, still decoding without a new keyframe (the
// SFU closes the gaps in sequence numbers and picture ids), and gets the
// full frame rate back when the limit is lifted.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, goLive, sleep, waitFor } from './harness.mjs';

const video = (page) => page.evaluate(async () => {
    const s = await window.stagecast.stats();
    return s.video.find((v) => v.framesDecoded > 0) || null;
});

// Frames decoded per second over `ms`, and the counters at the end.
async function rate(page, ms) {
    const a = await video(page);
    await sleep(ms);
    const b = await video(page);
    return { fps: (b.framesDecoded - a.framesDecoded) * 1000 / ms, a, b };
}

const limit = (page, temporal) => page.evaluate((t) => {
    const sc = window.stagecast;
    return sc.signaling.request({ type: 'layer', session: sc.session, slot: 0, layer: 'high', temporal: t });
}, temporal);

describe('temporal layers', { timeout: 240000 }, () => {
    const platform = new Platform('temporal-test');
    let failed = false;
    before(async () => { await platform.start(); });
    after(async () => {
        const exit = await platform.stop();
        if (failed) console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-15000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
    });

    test('the base temporal layer only: fewer frames, still decoding, then all again', async () => {
        try {
            const presenter = await platform.open('presenter.html', 'presenter', 'presenter');
            await goLive(presenter);
            const viewer = await platform.open('viewer.html', 'viewer', 'viewer');
            await waitFor('the viewer on the top layer', async () => {
                const v = await video(viewer);
                return v && v.frameWidth === 1280 ? v : null;
            }, 60000, 500);
            const dropped = async () => (await platform.stats()).temporal_dropped;
            await limit(viewer, 3);
            await sleep(1000);
            const full = await rate(viewer, 3000);
            assert.ok(full.fps > 0, 'decoding at the full frame rate');

            await limit(viewer, 0);
            await sleep(1500);
            const d0 = await dropped();
            const base = await rate(viewer, 4000);
            const d1 = await dropped();
            // The SFU drops the upper temporal layers' frames (the page
            // sends L1T3) and the picture goes on without a new keyframe.
            assert.ok(d1 - d0 >= 10, `frames above the base layer dropped (${d1 - d0} packets)`);
            assert.ok(base.fps > 0, 'still decoding on the base layer');
            assert.ok(base.fps < full.fps, `fewer frames (${base.fps.toFixed(1)} vs ${full.fps.toFixed(1)} fps)`);
            assert.equal(base.b.keyFramesDecoded, base.a.keyFramesDecoded,
                'no keyframe was needed while shaving');
            assert.equal(base.b.frameWidth, 1280, 'the same spatial layer');

            await limit(viewer, 3);
            await sleep(1500);
            const d2 = await dropped();
            const again = await rate(viewer, 3000);
            assert.equal(await dropped(), d2, 'nothing dropped once the limit is lifted');
            assert.ok(again.fps > base.fps,
                `the full frame rate is back (${again.fps.toFixed(1)} vs ${base.fps.toFixed(1)} fps)`);
        } catch (err) {
            failed = true;
            throw err;
        }
    });
});
